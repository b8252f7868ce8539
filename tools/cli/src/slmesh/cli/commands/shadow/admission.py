"""What a shadow run may copy, where to, and whether it may make the topics it copies to.
Pure: it looks at records and settings already read.

A shadow run copies recorded tasks, their arguments whole, to a candidate's
topic: data leaves the live flow for a process that is not yet trusted with it.
Tasks the orchestrator marked `restricted` (the request's classification, which
travels with every task) stay where they are unless the operator says
otherwise. In production, topics are made by operators (`slmesh topics
apply`), with the replication and retention they decide; a shadow run makes
none there, and names those it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from slmesh.cli.records import SHADOW_PREFIX, Seen
from slmesh.runtime.settings import MeshSettings

RESTRICTED = "restricted"


def is_restricted(task: Seen) -> bool:
    return task.data.get("classification") == RESTRICTED


@dataclass(frozen=True)
class Admission:
    """The selected tasks split: those copied to the candidate, and the restricted left."""

    copied: list[Seen] = field(default_factory=list)
    restricted: list[Seen] = field(default_factory=list)


def admit(tasks: Iterable[Seen], *, include_restricted: bool = False) -> Admission:
    admission = Admission()
    for task in tasks:
        if is_restricted(task) and not include_restricted:
            admission.restricted.append(task)
        else:
            admission.copied.append(task)
    return admission


def candidate_topic_refusal(topic: str, replies_topic: str) -> str | None:
    """Why tasks may not be copied to `topic`; None: they may. Copies outside the shadow
    topics would reach the live flow (a task topic's live consumers, the orchestrator)."""
    if not topic.startswith(SHADOW_PREFIX) or topic == SHADOW_PREFIX:
        return f"a candidate's topic is a shadow topic ({SHADOW_PREFIX}<name>), not {topic!r}"
    if topic == replies_topic:
        return f"{topic} is where candidates reply, not a candidate's topic"
    return None


def may_create_topics(settings: MeshSettings) -> bool:
    """Whether a shadow run makes its missing topics: in dev, where processes make what
    they need, and never in production, whatever else is set."""
    return settings.deployment == "dev" and settings.topics_created_here
