"""Consumer group names: part of how a deployment is operated (lag, offsets, replay)."""

# The orchestrators' consumer groups: every replica is a member of both.
ORCHESTRATOR_REQUESTS_GROUP = "slmesh.orchestrator.requests"
ORCHESTRATOR_REPLIES_GROUP = "slmesh.orchestrator.replies"


def micromodel_group(name: str, version: str | None = None) -> str:
    """The consumer group of a micromodel's replicas (of one version served side by side
    with others: a group of its own, so each version reads all of its own topic)."""
    return f"slmesh.micromodel.{name}" + (f".v{version}" if version else "")


def shadow_group(name: str) -> str:
    """The consumer group of a micromodel's candidates under shadow evaluation: never the
    live group, so a candidate takes no live task and moves no live offset."""
    return f"slmesh.shadow.{name}"


def caller_group(name: str) -> str:
    """The consumer group a caller may read its own response topic in (its ACLs allow this
    one; a caller that assigns partitions itself, as `slmesh ask` does, needs none)."""
    return f"slmesh.caller.{name}"
