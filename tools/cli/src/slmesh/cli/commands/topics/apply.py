"""`slmesh topics apply`: every topic of the mesh made by an operator, not by its services.

In production services create no topics (they only check theirs exist), so
the topics are made once, by this command, run as a one-shot job before the
services: with their partitions, the replication factor and
min.insync.replicas of the settings, and the configs each needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from slmesh.runtime.kafka import TopicSpec, create_topics, mesh_topics, topic_configs
from slmesh.runtime.registry import registry_topic_spec
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import response_topic


def mesh_topic_plan(
    settings: MeshSettings,
    micromodels: list[str],
    callers: Iterable[str] = (),
    versions: Mapping[str, Sequence[str]] | None = None,
) -> list[TopicSpec]:
    """Every topic a mesh with these micromodels (and their `versions` side by side) and
    callers uses, as its services would make it: the callers' own response topics too
    (the orchestrator answers each there)."""
    planned = [TopicSpec(name) for name in mesh_topics(settings, micromodels, versions=versions)]
    answers = [TopicSpec(response_topic(settings.responses_topic, c)) for c in callers]
    return [*planned, registry_topic_spec(settings), *answers]


@dataclass(frozen=True)
class AppliedTopic:
    topic: TopicSpec
    # None: the broker was not asked (a dry run).
    created: bool | None


async def apply_topics(settings: MeshSettings, plan: list[TopicSpec]) -> list[AppliedTopic]:
    """Create the planned topics that are missing; existing ones are left as they are."""
    # What another job made between the listing and the request counts as there.
    made = set(await create_topics(settings, plan))
    return [AppliedTopic(topic, topic.name in made) for topic in plan]


def planned_topics(plan: list[TopicSpec]) -> list[AppliedTopic]:
    """The plan as a dry run shows it: nothing asked of the broker."""
    return [AppliedTopic(topic, None) for topic in plan]


def format_applied(settings: MeshSettings, applied: list[AppliedTopic]) -> str:
    lines = []
    for item in applied:
        configs = topic_configs(settings, item.topic.configs)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(configs.items()))
        state = {None: "planned", True: "created", False: "exists"}[item.created]
        lines.append(
            f"{state:<8} {item.topic.name}  "
            f"partitions={item.topic.partitions or settings.partitions} "
            f"replication={settings.replication} {shown}"
        )
    if any(item.created is None for item in applied):
        lines.append(f"{len(applied)} topics planned (dry run: the broker was not asked)")
    else:
        made = sum(bool(item.created) for item in applied)
        lines.append(f"{made} created, {len(applied) - made} already there")
    return "\n".join(lines)
