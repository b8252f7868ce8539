"""`slmesh topics apply`: every topic of the mesh made by an operator, not by its services.

In production services create no topics (they only check theirs exist), so
the topics are made once, by this command, run as a one-shot job before the
services: with their partitions, the replication factor and
min.insync.replicas of the settings, and the configs each needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from slmesh.runtime.kafka import TopicSpec, create_topics, list_topics, mesh_topics, topic_configs
from slmesh.runtime.registry import registry_topic_spec
from slmesh.runtime.settings import MeshSettings


def mesh_topic_plan(settings: MeshSettings, micromodels: list[str]) -> list[TopicSpec]:
    """Every topic a mesh with these micromodels uses, as its services would make it."""
    planned = [TopicSpec(name) for name in mesh_topics(settings, micromodels)]
    return [*planned, registry_topic_spec(settings)]


@dataclass(frozen=True)
class AppliedTopic:
    topic: TopicSpec
    created: bool


async def apply_topics(
    settings: MeshSettings, plan: list[TopicSpec], *, dry_run: bool = False
) -> list[AppliedTopic]:
    """Create the planned topics that are missing; existing ones are left as they are."""
    if dry_run:
        existing = await list_topics(settings)
        return [AppliedTopic(topic, topic.name not in existing) for topic in plan]
    # What another job made between the listing and the request counts as there.
    made = set(await create_topics(settings, plan))
    return [AppliedTopic(topic, topic.name in made) for topic in plan]


def format_applied(settings: MeshSettings, applied: list[AppliedTopic], *, dry_run: bool) -> str:
    verb = "would create" if dry_run else "created"
    lines = []
    for item in applied:
        configs = topic_configs(settings, item.topic.configs)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(configs.items()))
        state = verb if item.created else "exists"
        lines.append(
            f"{state:<12} {item.topic.name}  "
            f"partitions={item.topic.partitions or settings.partitions} "
            f"replication={settings.replication} {shown}"
        )
    made = sum(item.created for item in applied)
    lines.append(f"{made} {verb}, {len(applied) - made} already there")
    return "\n".join(lines)
