"""Default topic names: part of the contract external systems code against.

Every name is a default; deployments override them through settings.
"""

REQUESTS = "slmesh.requests"
# The prefix of each caller's own response topic, `slmesh.responses.<caller>`: nothing
# is answered on this topic itself.
RESPONSES = "slmesh.responses"
REPLIES = "slmesh.replies"
DEAD_LETTERS = "slmesh.deadletter"
TASKS_PREFIX = "slmesh.tasks."
# Compacted: the latest announcement of every micromodel replica.
REGISTRY = "slmesh.registry"


def task_topic(micromodel: str, prefix: str = TASKS_PREFIX, version: str | None = None) -> str:
    """A micromodel's task topic; a version served side by side with others has its own."""
    return f"{prefix}{micromodel}" + (f".v{version}" if version else "")
