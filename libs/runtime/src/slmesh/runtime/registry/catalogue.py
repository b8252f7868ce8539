"""The orchestrator's tool list: every live micromodel, read from the registry topic.

A reader starts from the beginning of the topic, so a new orchestrator learns
every replica at once; a replica not heard of for three heartbeats (and a
grace, for a busy machine) is taken for gone. Only cards `admission` admits
enter the list: proven by the identity that serves the name, dated sanely,
within bounds. The others are refused, logged once per key and kept for
`slmesh registry` to show. When a card was heard is its record's broker
timestamp (`admission.heard_at`), never the card's own time: a card the
broker got late, or read late, is judged by when it reached the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema
import orjson
from aiokafka import TopicPartition

from slmesh.runtime.kafka import groupless_consumer
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.registry.admission import Heard, HeardPipeline, Refused, vet
from slmesh.runtime.registry.announcer import DETERMINISTIC
from slmesh.runtime.registry.memo import CheckMemo
from slmesh.runtime.registry.outputs import OutputCheck
from slmesh.runtime.registry.placement import ON_PREMISE, Placement
from slmesh.schemas import PipelineAnnouncedData, Routing

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

    from slmesh.runtime.settings import MeshSettings
    from slmesh.runtime.trust import MeshParty

logger = logging.getLogger(__name__)

MISSED_HEARTBEATS = 3
# Beyond the missed heartbeats: on a busy machine a heartbeat is produced, appended and
# read seconds late, and a live micromodel dropped fails its calls at once.
LIVENESS_GRACE_S = 5.0
# Refused keys kept for `slmesh registry` (and logged once each): anyone may produce
# records under new keys, so the oldest are forgotten.
MAX_REFUSED_KEYS = 256
READER_WAIT_MS = 1000
# Two answered fetches this far apart: the broker was away in between.
BLIND_GAP_MS = 3000


@dataclass
class Tool:
    """A micromodel as the planner sees it: what it does and what it takes."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] = field(default_factory=dict)
    model: str = "unknown"
    version: str = ""
    # Where its tasks go (its card's): the plain task topic, or a version's own.
    topic: str = ""
    # Where it runs and what it may receive (its card's locality, classification, price).
    placement: Placement = ON_PREMISE
    # The tool it is an alternative for; None: its own name.
    serves: str | None = None
    # How the planner routes to it and reads its arguments (its card's); None: by name.
    routing: Routing | None = None
    # Compiled once per announcement, not once per call.
    validator: jsonschema.Draft202012Validator | None = None
    # replica -> (status, when its last card reached the broker, heartbeat seconds)
    replicas: dict[str, tuple[str, datetime, float]] = field(default_factory=dict)
    # Arguments (as sorted JSON) checked against the current schema -> the problem, if any.
    _checked: CheckMemo = field(default_factory=CheckMemo, repr=False)
    # The output schema, compiled when the first reply is checked against it.
    _outputs: OutputCheck | None = field(default=None, repr=False)

    @property
    def tool(self) -> str:
        """The tool it serves: its own name, or the one it is an alternative for."""
        return self.serves or self.name

    @property
    def runs_model(self) -> bool:
        """Whether its answers come from a model (known from its announcement)."""
        return self.model not in (DETERMINISTIC, "unknown")

    def use_schema(self, input_schema: dict[str, Any]) -> None:
        """A new input schema: compiled once, and what was checked against the old forgotten."""
        self.input_schema = dict(input_schema)
        self.validator = jsonschema.Draft202012Validator(
            orjson.loads(orjson.dumps(self.input_schema))
        )
        self._checked.clear()

    def argument_problem(self, arguments: Any) -> str | None:
        """Why `arguments` fail this tool's input schema, if they do.

        The answer is a function of the schema and the arguments alone, and
        requests repeat arguments (a fan-out over the same countries): a
        validation costs tens of microseconds per call, a memo lookup one.
        """
        if self.validator is None:
            return None
        try:
            key = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not JSON: never memoised
            return self._problem(arguments)
        if not self._checked.keeps(key):
            return self._problem(arguments)
        found, problem = self._checked.get(key)
        if not found:
            problem = self._problem(arguments)
            self._checked.put(key, problem)
        return problem

    def _problem(self, arguments: Any) -> str | None:
        assert self.validator is not None
        errors = sorted(self.validator.iter_errors(arguments), key=lambda e: list(e.path))
        if not errors:
            return None
        return "; ".join(
            f"{'.'.join(map(str, e.path)) or '(arguments)'}: {e.message}" for e in errors[:5]
        )

    def output_problem(self, output: Any) -> str | None:
        """Why a reply's `output` fails this tool's announced output schema, if it does."""
        if not self.output_schema:
            return None
        if self._outputs is None or not self._outputs.is_for(self.output_schema):
            self._outputs = OutputCheck(self.output_schema)
        return self._outputs.problem(output)

    def live_replicas(self, now: datetime) -> list[str]:
        return [
            replica
            for replica, (status, seen, heartbeat) in self.replicas.items()
            if status == "up"
            and (now - seen).total_seconds() < MISSED_HEARTBEATS * heartbeat + LIVENESS_GRACE_S
        ]


@dataclass
class AnnouncedPipeline:
    """A declared pipeline as the registry shows it: its last card, and which orchestrator
    replicas run it (each with its own definition's digest)."""

    card: PipelineAnnouncedData
    # replica -> (status, when its last card reached the broker, heartbeat s, digest)
    replicas: dict[str, tuple[str, datetime, float, str]] = field(default_factory=dict)

    def live_replicas(self, now: datetime) -> list[str]:
        return [
            replica
            for replica, (status, seen, heartbeat, _) in self.replicas.items()
            if status == "up"
            and (now - seen).total_seconds() < MISSED_HEARTBEATS * heartbeat + LIVENESS_GRACE_S
        ]

    def digests(self, now: datetime) -> set[str]:
        """The definitions its live replicas run: more than one, and they disagree."""
        live = set(self.live_replicas(now))
        return {digest for r, (_, _, _, digest) in self.replicas.items() if r in live}


class Catalogue(Lifecycle):
    """Every orchestrator replica's copy of the registry, read without a consumer group.

    `party`: the reader (the orchestrator, or the operator's `slmesh registry`), whose
    trust file says who may announce what. `logs`: a service's reader, whose log is read
    later: each refused key is logged once, and each replica taken for gone or back; a
    command that reads the registry shows refusals itself, or not at all.
    """

    def __init__(
        self,
        settings: MeshSettings,
        party: MeshParty,
        *,
        static: Iterable[str] = (),
        logs: bool = True,
    ) -> None:
        self.settings = settings
        self.party = party
        self._logs = logs
        self._tools: dict[str, Tool] = {}
        self._pipelines: dict[str, AnnouncedPipeline] = {}
        # Key -> why its last record was refused (cleared when a card is admitted under it).
        self._refused: OrderedDict[str, Refused] = OrderedDict()
        # Micromodels assumed present without announcing (e.g. served elsewhere).
        self._static = {name: Tool(name=name, description="(configured)") for name in static}
        self._consumer: Any = None
        self._reader: asyncio.Task[None] | None = None
        # The last answered fetch seen (ms), to tell an outage from the reader's waits.
        self._polled_ms: int | None = None
        # The replicas (name, replica) live at the reader's last look: a change is logged.
        self._live_replicas: set[tuple[str, str]] = set()

    async def start(self) -> None:
        """Read the registry up to its current end, then keep following it."""
        # Created here: aiokafka binds a client to the running event loop.
        # Announcements come every few seconds: no need to ask for them every 2 ms.
        self._consumer = groupless_consumer(self.settings, fetch_max_wait_ms=READER_WAIT_MS)
        await self._consumer.start()
        tp = TopicPartition(self.settings.registry_topic, 0)
        self._consumer.assign([tp])
        await self._consumer.seek_to_beginning(tp)
        end = (await self._consumer.end_offsets([tp]))[tp]
        while await self._consumer.position(tp) < end:
            batch = await self._consumer.getmany(tp, timeout_ms=1000)
            received = datetime.now(UTC)
            for record in batch.get(tp, []):
                self._apply(record, received)
        self._reader = asyncio.create_task(self._follow(), name="registry-reader")
        logger.info("registry read: %s", ", ".join(sorted(self.names())) or "no micromodels")

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            received = datetime.now(UTC)
            for records in batches.values():
                for record in records:
                    self._apply(record, received)
            # Keeps the last answered fetch current, so that only a real gap is one.
            if self._logs:
                self._note_liveness(self._known_until())
            else:
                self._known_until()

    def _note_liveness(self, now: datetime) -> None:
        """Log each replica taken for gone by its silence, and each back: a micromodel
        dropped while it runs is told from one that stopped by these lines alone."""
        live: set[tuple[str, str]] = set()
        for tool in self._tools.values():
            live.update((tool.name, replica) for replica in tool.live_replicas(now))
        for name, replica in sorted(self._live_replicas - live):
            status, seen, heartbeat = self._tools[name].replicas[replica]
            if status == "up":
                logger.warning(
                    "replica %s/%s taken for gone: not heard of for %.1f s (last card at %s, "
                    "heartbeat %.1f s, registry known until %s)",
                    name,
                    replica,
                    (now - seen).total_seconds(),
                    seen.isoformat(timespec="milliseconds"),
                    heartbeat,
                    now.isoformat(timespec="milliseconds"),
                )
        for name, replica in sorted(live - self._live_replicas):
            logger.info("replica %s/%s live", name, replica)
        self._live_replicas = live

    def _apply(self, record: ConsumerRecord[bytes, bytes], received: datetime) -> None:
        verdict = vet(
            record, self.party, received=received, max_event_bytes=self.settings.max_event_bytes
        )
        if isinstance(verdict, Refused):
            self._refuse(verdict)
        elif isinstance(verdict, Heard):
            self._refused.pop(verdict.key, None)
            self._admit(verdict)
        elif isinstance(verdict, HeardPipeline):
            self._refused.pop(verdict.key, None)
            self._admit_pipeline(verdict)

    def _refuse(self, refused: Refused) -> None:
        """Kept out of the catalogue; said once per key, not at every heartbeat. No dead
        letter: a refused heartbeat every few seconds would flood the topic."""
        if self._logs and refused.key not in self._refused:
            logger.warning(
                "registry card %s refused%s: %s",
                refused.key,
                f" (signed by {refused.signer})" if refused.signer else "",
                refused.reason,
            )
        self._refused.pop(refused.key, None)
        self._refused[refused.key] = refused
        while len(self._refused) > MAX_REFUSED_KEYS:
            self._refused.popitem(last=False)

    def _key(self, name: str, version: str, topic: str) -> str:
        """Where a card is kept: under its name, or, for a version served side by side on
        a topic of its own, under name@version (both show in `slmesh registry`)."""
        return name if topic == self.settings.task_topic(name) else f"{name}@{version}"

    def _admit(self, heard: Heard) -> None:
        data = heard.card.data
        key = self._key(data.name, data.version, data.topic)
        tool = self._tools.setdefault(key, Tool(name=data.name, topic=data.topic))
        if data.status == "up":
            tool.description = data.description
            if tool.input_schema != data.input_schema:
                tool.use_schema(data.input_schema)
            tool.output_schema = dict(data.output_schema)
            tool.model = data.model
            tool.version = data.version
            tool.serves = data.serves if data.serves != data.name else None
            if tool.routing != data.routing:
                # Kept while unchanged: the planner compiles a card once per object.
                tool.routing = data.routing
            placement = Placement.of(data)
            if placement != tool.placement:
                tool.placement = placement
        # A word read late (queued by the replica while the broker was away)
        # never makes its last word older than what was already counted.
        earlier = tool.replicas.get(data.replica)
        seen = max(heard.at, earlier[1]) if earlier is not None else heard.at
        tool.replicas[data.replica] = (data.status, seen, data.heartbeat_s)

    def _admit_pipeline(self, heard: HeardPipeline) -> None:
        data = heard.card.data
        listed = self._pipelines.get(data.name)
        if listed is None:
            listed = self._pipelines[data.name] = AnnouncedPipeline(data)
        elif data.status == "up":
            listed.card = data
        earlier = listed.replicas.get(data.replica)
        seen = max(heard.at, earlier[1]) if earlier is not None else heard.at
        listed.replicas[data.replica] = (data.status, seen, data.heartbeat_s, data.digest)

    def pipelines(self, *, live: bool = True) -> dict[str, AnnouncedPipeline]:
        """The pipelines some orchestrator replica runs (live), or every one ever announced."""
        now = self._known_until()
        return {
            name: listed
            for name, listed in sorted(self._pipelines.items())
            if not live or listed.live_replicas(now)
        }

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()

    def _known_until(self) -> datetime:
        """Up to when the registry has been read: a replica's silence counts only until then.

        While the broker is away no heartbeat can arrive, and every replica
        would look gone the moment it is back. So replicas are judged as of
        the last fetch the broker answered, and a gap between two answered
        fetches (the outage) is not counted as their silence: their last
        word is moved forward by it, once, when the gap is first seen.
        """
        now = datetime.now(UTC)
        if self._consumer is None:
            return now
        polled_ms = self._consumer.last_poll_timestamp(
            TopicPartition(self.settings.registry_topic, 0)
        )
        if polled_ms is None:
            return now
        if self._polled_ms is not None and polled_ms - self._polled_ms > BLIND_GAP_MS:
            blind = timedelta(milliseconds=polled_ms - self._polled_ms - READER_WAIT_MS)
            logger.info("registry unread for %.0f s: not counted as silence", blind.seconds)
            for tool in self._tools.values():
                tool.replicas = {
                    r: (status, seen + blind, heartbeat)
                    for r, (status, seen, heartbeat) in tool.replicas.items()
                }
        self._polled_ms = max(polled_ms, self._polled_ms or 0)
        # The reader's own fetch wait is no silence of the replicas.
        heard = datetime.fromtimestamp(polled_ms / 1000, UTC) + timedelta(seconds=1)
        return min(now, heard)

    def live(self) -> dict[str, Tool]:
        """The live micromodels by name. Where versions serve side by side, the name's
        face is the one on its plain topic, else the highest version live."""
        now = self._known_until()
        faces: dict[str, Tool] = {}
        live = [(k == t.name, t) for k, t in self._tools.items() if t.live_replicas(now)]
        # The last one sorted wins: the plain topic's, else the highest version.
        for _, tool in sorted(live, key=lambda pt: (pt[0], version_order(pt[1].version))):
            faces[tool.name] = tool
        return {**self._static, **faces}

    def versions(self, name: str) -> dict[str, Tool]:
        """The live versions of micromodel `name`, each with its own topic."""
        now = self._known_until()
        return {
            t.version: t for t in self._tools.values() if t.name == name and t.live_replicas(now)
        }

    def serving(self, name: str) -> list[Tool]:
        """The live micromodels that serve the tool `name` serves (itself among them, if
        live): where a call to `name` may go."""
        live = self.live()
        named = live.get(name) or self._tools.get(name)
        tool = named.tool if named is not None else name
        return [t for t in live.values() if t.tool == tool]

    def names(self) -> list[str]:
        return sorted(self.live())

    def everything(self) -> tuple[dict[str, Tool], datetime]:
        """Every micromodel ever announced, live or gone, and the instant the registry is
        known up to (what `Tool.live_replicas` is judged against): `slmesh registry`."""
        return dict(self._tools), self._known_until()

    def refused(self) -> list[Refused]:
        """The keys whose last record was refused, oldest first: `slmesh registry`."""
        return list(self._refused.values())

    def get(self, name: str, version: str | None = None) -> Tool | None:
        """The live micromodel `name` (its face), or that version of it."""
        if version is not None:
            return self.versions(name).get(version)
        # On every call's path: the plain topic's card, live, is the face without a look
        # at the others.
        plain = self._tools.get(name)
        if plain is not None and plain.live_replicas(self._known_until()):
            return plain
        versions = self.versions(name)
        if versions:
            return versions[max(versions, key=version_order)]
        return self._static.get(name)

    def output_problem(self, name: str, output: Any, version: str | None = None) -> str | None:
        """Why `output` fails the output schema micromodel `name` (that version of it) last
        announced, if it does.

        Live or not: a reply may come just after its micromodel's last replica went.
        """
        known = [t for t in self._tools.values() if t.name == name]
        if version is not None:
            known = [t for t in known if t.version == version] or known
        if not known:
            static = self._static.get(name)
            return static.output_problem(output) if static is not None else None
        # A reply names its micromodel, not its version: an output any of its versions
        # announced is believed.
        problems = [t.output_problem(output) for t in known]
        return None if None in problems else problems[0]

    def gone_since(self, name: str) -> datetime | None:
        """When a known but no longer live micromodel was last heard of."""
        tool = self._tools.get(name)
        if tool is None or name in self.live():
            return None
        return max((seen for _, seen, _ in tool.replicas.values()), default=None)


def version_order(version: str) -> tuple[tuple[int, int, str], ...]:
    """A version as it sorts: its numeric parts as numbers ("0.10.0" after "0.9.1")."""
    parts = re.split(r"[.+\-]", version)
    return tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts)
