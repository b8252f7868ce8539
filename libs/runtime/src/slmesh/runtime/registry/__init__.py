"""The live registry: micromodels announce themselves, the orchestrator's tool list follows.

Every replica publishes a MicromodelAnnounced (status up) when it starts and
again every `heartbeat_s`, and status down when it stops on purpose, on a
compacted topic keyed by `<micromodel>/<replica>`, signed by the identity that
serves the micromodel. A reader starts from the beginning of the topic, so a
new orchestrator learns every replica at once, and admits only cards proven
by their micromodel's owner, dated sanely and within bounds (`admission`); a
replica not heard of for three heartbeats and a grace is taken for gone,
judged by when the broker got its last card, never by the card's own time.

Each orchestrator replica announces the pipelines it runs the same way
(PipelineAnnounced, keyed `pipeline:<name>/<replica>`, signed by an orchestrator
identity): a pipeline is listed and discovered like a micromodel.
"""

from slmesh.runtime.registry.admission import Heard, HeardPipeline, Refused, pipeline_key
from slmesh.runtime.registry.announcer import DETERMINISTIC, Announcer, registry_topic_spec
from slmesh.runtime.registry.catalogue import AnnouncedPipeline, Catalogue, Tool

__all__ = [
    "DETERMINISTIC",
    "AnnouncedPipeline",
    "Announcer",
    "Catalogue",
    "Heard",
    "HeardPipeline",
    "Refused",
    "Tool",
    "pipeline_key",
    "registry_topic_spec",
]
