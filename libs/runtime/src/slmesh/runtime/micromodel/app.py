"""A micromodel as a service: its settings, its subscriber, its FastStream app, its entry point."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from faststream import FastStream

from slmesh.runtime.kafka import create_broker, fetch_pace, subscribe
from slmesh.runtime.kafka.consumption import ConcurrentConsumption
from slmesh.runtime.kafka.groups import micromodel_group, shadow_group
from slmesh.runtime.micromodel.card import card_of
from slmesh.runtime.micromodel.declare import In, Micromodel, Out
from slmesh.runtime.micromodel.replies import StoredReplies
from slmesh.runtime.micromodel.runner import TaskRunner
from slmesh.runtime.micromodel.settings import MicromodelSettings, side_by_side
from slmesh.runtime.registry import Announcer
from slmesh.runtime.service import (
    configure_logging,
    load_model_or_exit,
    load_settings_or_exit,
    party_or_exit,
    remote_model_or_exit,
    run,
)
from slmesh.runtime.service.skeleton import ServiceSkeleton
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.tracing import configure_tracing
from slmesh.runtime.trust import MeshParty, mesh_party

if TYPE_CHECKING:
    from slmesh.runtime.llm.kind import Model

__all__ = ["MicromodelSettings", "as_named", "build_runner", "create_app", "serve"]

logger = logging.getLogger(__name__)


def as_named(micromodel: Micromodel[In, Out], settings: MeshSettings) -> Micromodel[In, Out]:
    """The declaration as this service runs it: under SLMESH_NAME when that is set, as an
    alternative for the declared micromodel (unless it already is one for another)."""
    if not isinstance(settings, MicromodelSettings):
        return micromodel
    if settings.version is not None:
        micromodel = dataclasses.replace(micromodel, version=settings.version)
    name = settings.name
    if name is None or name == micromodel.name:
        return micromodel
    return dataclasses.replace(micromodel, name=name, serves=micromodel.serves or micromodel.name)


def build_runner(
    micromodel: Micromodel[In, Out],
    settings: MeshSettings,
    model: Model | None = None,
    replies: StoredReplies | None = None,
    party: MeshParty | None = None,
) -> tuple[TaskRunner[In, Out], ConcurrentConsumption]:
    """The broker with the micromodel's subscriber registered, and who handles its records."""
    broker = create_broker(settings, client_id=f"slmesh-{micromodel.name}")
    party = party or mesh_party(settings, micromodel.name)
    runner = TaskRunner(micromodel, settings, broker, party, model, replies)
    # A local model runs one completion at a time: admit only a bounded queue of tasks
    # behind it; a remote one, as many as it has calls in flight. The rest wait in Kafka,
    # where they cost nothing.
    in_flight = model.admitted if model is not None else 64
    # A candidate under shadow evaluation reads its own topic in its own group.
    version = side_by_side(settings)
    topic = settings.shadow_topic or settings.task_topic(micromodel.name, version)
    group = (
        shadow_group(micromodel.name)
        if settings.shadow_topic
        else micromodel_group(micromodel.name, version)
    )
    consumption = ConcurrentConsumption(
        f"{micromodel.name} tasks",
        runner.handle,
        give_up=runner.give_up,
        # Inference takes hundreds of milliseconds; polling every 2 ms for it
        # would only take CPU from the model.
        pace=fetch_pace(settings, for_model=model is not None),
        retries=settings.record_retries,
        max_in_flight=in_flight,
    )
    subscribe(
        broker,
        settings,
        topic,
        group_id=group,
        consumption=consumption,
        title=f"{micromodel.name} tasks",
        description=micromodel.description,
    )
    return runner, consumption


def create_app(
    micromodel: Micromodel[In, Out],
    settings: MeshSettings | None = None,
    model: Model | None = None,
    party: MeshParty | None = None,
) -> FastStream:
    """The micromodel as a FastStream app: one subscriber on its task topic. `party`: who
    the service is in the trust file (from the settings when not given)."""
    settings = settings or MicromodelSettings()
    micromodel = as_named(micromodel, settings)
    party = party or mesh_party(settings, micromodel.name)
    # Replies are kept so that a redelivered task never runs its model again. A
    # deterministic handler is cheaper to run again than a reply to look up:
    # two Redis round trips on every task's path, for nothing. A candidate under
    # shadow evaluation keeps none: it is run to see what its model answers.
    keeps_replies = micromodel.uses_model and settings.shadow_topic is None
    replies = StoredReplies.connect(settings) if keeps_replies else None
    runner, consumption = build_runner(micromodel, settings, model, replies, party)
    broker = runner.broker
    topic = settings.shadow_topic or settings.task_topic(micromodel.name, side_by_side(settings))
    # A shadow candidate stays out of the registry: no orchestrator may plan calls to it.
    announcing = settings.shadow_topic is None

    announcer = Announcer(broker, settings, party, card_of(micromodel, settings, model, topic))
    return ServiceSkeleton(
        broker,
        settings,
        topics=[topic, runner.reply_topic, settings.deadletter_topic],
        ready_line=lambda: (
            f"micromodel {micromodel.name} {micromodel.version} consuming {topic} "
            f"as {settings.replica}"
        ),
        # Redis only keeps replies for redelivered tasks: a micromodel serves
        # without it, and watches it only when it keeps replies there.
        uses_redis=False,
        watch_redis=replies is not None,
        # In the registry only once its consumer is up: an orchestrator may
        # plan calls to it from that moment.
        when_consuming=[announcer.start] if announcing else [],
        stopping=[
            *([announcer.stop] if announcing else []),
            consumption.drain,
            *([replies.close] if replies is not None else []),
        ],
        after_broker=[runner.worker.shutdown],
        consumptions=[consumption],
        workers=[runner.worker],
    ).app()


def serve(micromodel: Micromodel[In, Out]) -> None:
    """Entry point of a micromodel service process.

    The model is loaded before anything connects: a model that does not load
    stops the service at once with the reason, instead of a consumer that
    joins its group and then fails every task.
    """
    settings = load_settings_or_exit(MicromodelSettings, what=f"micromodel {micromodel.name}")
    micromodel = as_named(micromodel, settings)
    configure_logging(
        settings.log_level,
        log_format=settings.log_format,
        service=micromodel.name,
        replica=settings.replica,
    )
    configure_tracing(micromodel.name, settings.replica)
    # Before the model loads: a service that cannot prove its records says so at once.
    party = party_or_exit(settings, micromodel.name)
    model = _model_or_exit(micromodel, settings)
    run(create_app(micromodel, settings, model, party))


def _model_or_exit(micromodel: Micromodel[In, Out], settings: MicromodelSettings) -> Model | None:
    """The service's model: a remote endpoint's when SLMESH_REMOTE__* says where, else a
    local GGUF loaded now (then llama_cpp loads; a remote model never loads it)."""
    what = f"micromodel {micromodel.name}"
    if not micromodel.uses_model:
        if settings.remote is not None:
            logger.warning("%s runs no model: its SLMESH_REMOTE__* settings are unused", what)
        return None
    if settings.remote is not None:
        return remote_model_or_exit(settings.remote, what=what)
    return load_model_or_exit(settings.model, what=what)
