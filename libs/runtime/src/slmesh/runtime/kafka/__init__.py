"""Kafka plumbing every service shares: one profile per broker, the clients built from it,
topics, subscribing with concurrent handling and in-order commits, fetch waits that
follow the traffic, publishing events and dead letters, consumer group names."""

from slmesh.runtime.kafka.clients import (
    UnknownTopicError,
    admin_kwargs,
    consumer_options,
    create_broker,
    fetch_pace,
    groupless_consumer,
    partitions_of,
    records_to_end,
    subscribe,
)
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.kafka.decoders import message_itself, raw_body
from slmesh.runtime.kafka.groups import (
    ORCHESTRATOR_REPLIES_GROUP,
    ORCHESTRATOR_REQUESTS_GROUP,
    micromodel_group,
)
from slmesh.runtime.kafka.pace import FetchPace
from slmesh.runtime.kafka.profiles import PROFILES, BrokerProfile, profile_for
from slmesh.runtime.kafka.publishing import publish_bytes, publish_dead_letter, publish_event
from slmesh.runtime.kafka.topics import (
    MissingTopicsError,
    TopicCreationError,
    TopicDirectory,
    TopicSpec,
    create_topics,
    ensure_topics,
    list_topics,
    mesh_topics,
    topic_configs,
)

__all__ = [
    "ORCHESTRATOR_REPLIES_GROUP",
    "ORCHESTRATOR_REQUESTS_GROUP",
    "PROFILES",
    "BrokerProfile",
    "ConcurrentConsumption",
    "FetchPace",
    "MissingTopicsError",
    "TopicCreationError",
    "TopicDirectory",
    "TopicSpec",
    "UnknownTopicError",
    "admin_kwargs",
    "consumer_options",
    "create_broker",
    "create_topics",
    "ensure_topics",
    "fetch_pace",
    "groupless_consumer",
    "list_topics",
    "mesh_topics",
    "message_itself",
    "micromodel_group",
    "partitions_of",
    "profile_for",
    "publish_bytes",
    "publish_dead_letter",
    "publish_event",
    "raw_body",
    "records_to_end",
    "subscribe",
    "topic_configs",
]
