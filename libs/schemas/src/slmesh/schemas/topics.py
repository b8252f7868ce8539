"""Default topic names: part of the contract external systems code against.

Every name is a default; deployments override them through settings.
"""

REQUESTS = "slmesh.requests"
RESPONSES = "slmesh.responses"
REPLIES = "slmesh.replies"
DEAD_LETTERS = "slmesh.deadletter"
TASKS_PREFIX = "slmesh.tasks."
# Compacted: the latest announcement of every micromodel replica.
REGISTRY = "slmesh.registry"


def task_topic(micromodel: str, prefix: str = TASKS_PREFIX) -> str:
    return f"{prefix}{micromodel}"
