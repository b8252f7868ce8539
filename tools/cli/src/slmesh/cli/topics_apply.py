"""`slmesh topics apply`: every topic of the mesh made by an operator, not by its services.

In production services create no topics (they only check theirs exist), so
the topics are made once, by this command, run as a one-shot job before the
services: with their partitions, the replication factor and
min.insync.replicas of the settings, and the configs each needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slmesh.runtime.kafka import ensure_topics, list_topics, mesh_topics, topic_configs
from slmesh.runtime.registry.announcer import REGISTRY_TOPIC_CONFIGS
from slmesh.runtime.settings import MeshSettings


@dataclass(frozen=True)
class PlannedTopic:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def mesh_topic_plan(settings: MeshSettings, micromodels: list[str]) -> list[PlannedTopic]:
    """Every topic a mesh with these micromodels uses, as its services would make it."""
    names = mesh_topics(settings, micromodels)
    planned = [PlannedTopic(name, settings.partitions) for name in names]
    # One partition: every reader of the registry reads all of it anyway.
    planned.append(PlannedTopic(settings.registry_topic, 1, dict(REGISTRY_TOPIC_CONFIGS)))
    return planned


@dataclass(frozen=True)
class AppliedTopic:
    topic: PlannedTopic
    created: bool


async def apply_topics(
    settings: MeshSettings, plan: list[PlannedTopic], *, dry_run: bool = False
) -> list[AppliedTopic]:
    """Create the planned topics that are missing; existing ones are left as they are."""
    existing = await list_topics(settings)
    applied = []
    for topic in plan:
        created = topic.name not in existing
        if created and not dry_run:
            made = await ensure_topics(
                settings, [topic.name], partitions=topic.partitions, configs=topic.configs
            )
            # Another job may have made it between our listing and our request.
            created = bool(made)
        applied.append(AppliedTopic(topic, created))
    return applied


def format_applied(settings: MeshSettings, applied: list[AppliedTopic], *, dry_run: bool) -> str:
    verb = "would create" if dry_run else "created"
    lines = []
    for item in applied:
        configs = topic_configs(settings, item.topic.configs)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(configs.items()))
        state = verb if item.created else "exists"
        lines.append(
            f"{state:<12} {item.topic.name}  partitions={item.topic.partitions} "
            f"replication={settings.replication} {shown}"
        )
    made = sum(item.created for item in applied)
    lines.append(f"{made} {verb}, {len(applied) - made} already there")
    return "\n".join(lines)
