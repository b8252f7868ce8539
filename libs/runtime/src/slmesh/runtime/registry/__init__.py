"""The live registry: micromodels announce themselves, the orchestrator's tool list follows.

Every replica publishes a MicromodelAnnounced (status up) when it starts and
again every `heartbeat_s`, and status down when it stops on purpose, on a
compacted topic keyed by `<micromodel>/<replica>`. A reader starts from the
beginning of the topic, so a new orchestrator learns every replica at once; a
replica whose last word is older than three heartbeats is taken for gone.
Liveness uses the event's own time, so an old announcement read late is
still old (hosts' clocks are assumed to agree within a heartbeat).
"""

from slmesh.runtime.registry.announcer import DETERMINISTIC, Announcer, registry_topic_spec
from slmesh.runtime.registry.catalogue import Catalogue, Tool

__all__ = ["DETERMINISTIC", "Announcer", "Catalogue", "Tool", "registry_topic_spec"]
