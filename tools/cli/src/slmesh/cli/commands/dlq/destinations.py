"""Where a dead letter may be requeued: the mesh topic it names, if it is one a dead letter
comes from. Pure: it looks at names only.

A dead letter says where it came from in a header (`slmesh-original-topic`), and
anyone who can write to the dead-letter topic can write that header. Requeueing
writes with the operator's credentials, so a letter naming any topic would make
them write anywhere: to a caller's response topic (an answer the orchestrator
never gave), the registry (a card no micromodel announced), or the dead-letter
topic itself (a loop). Only the topics the mesh's consumers read records from,
and dead-letter what they refuse, are destinations: the requests topic, the
replies topic and the task topics of valid micromodel names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from slmesh.runtime.kafka.deadletters import DeadLetter
from slmesh.runtime.settings import MeshSettings

# A micromodel's name, as the contract's MicromodelName has it; matched whole (a `$` would
# let a trailing newline through).
_MICROMODEL = re.compile(r"[a-z][a-z0-9\-]{0,62}")


def refusal(topic: str | None, settings: MeshSettings) -> str | None:
    """Why a dead letter naming `topic` as its origin is not requeued there; None: it may be."""
    if topic is None:
        return "it names no original topic"
    if topic in (settings.requests_topic, settings.replies_topic):
        return None
    # Refusals first: a tasks prefix that overlaps another mesh name (say, configured
    # as `slmesh.`) must not make the registry look like a task topic.
    if topic == settings.deadletter_topic:
        return "it names the dead-letter topic itself"
    if topic == settings.registry_topic:
        return "it names the registry, which only micromodels announce themselves on"
    if topic == settings.responses_topic or topic.startswith(f"{settings.responses_topic}."):
        return "it names a response topic, which only the orchestrator answers on"
    if topic.startswith(settings.tasks_prefix):
        if _MICROMODEL.fullmatch(topic.removeprefix(settings.tasks_prefix)):
            return None
        return "it names a task topic of no valid micromodel name"
    return "it names no mesh topic a dead letter comes from (requests, replies, tasks)"


@dataclass(frozen=True)
class RequeuePlan:
    """The chosen dead letters split: those requeued to their topic, those refused and why."""

    requeued: list[DeadLetter] = field(default_factory=list)
    refused: list[tuple[DeadLetter, str]] = field(default_factory=list)

    def topics(self) -> dict[str, int]:
        """How many letters go to each topic, in the order first named."""
        counts: dict[str, int] = {}
        for letter in self.requeued:
            topic = letter.original_topic or ""
            counts[topic] = counts.get(topic, 0) + 1
        return counts


def plan_requeue(letters: Iterable[DeadLetter], settings: MeshSettings) -> RequeuePlan:
    plan = RequeuePlan()
    for letter in letters:
        why = refusal(letter.original_topic, settings)
        if why is None:
            plan.requeued.append(letter)
        else:
            plan.refused.append((letter, why))
    return plan


def refused_line(letter: DeadLetter, why: str) -> str:
    """What `slmesh dlq requeue` says of a letter it does not requeue."""
    named = letter.original_topic
    # The header's value is anyone's writing: quoted as data, cut to a line.
    shown = "-" if named is None else repr(named[:120])
    return f"skipped {letter.id} (to {shown}): {why}"
