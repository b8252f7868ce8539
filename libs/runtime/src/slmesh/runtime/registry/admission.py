"""Which registry records become cards in the catalogue: proven, owned, sane, and dated by the
broker.

Anyone who can produce to the registry topic could otherwise announce a
micromodel (its description enters the planner's prompt, its name attracts
clauses and their payloads), or keep one alive for ever with a card dated in
the future. So a record is admitted only when:

- it is proven (an Ed25519 signature, `slmesh.runtime.trust`) by a
  `micromodel` identity of the trust file that `serves` the card's name, and
  its key is the card's own `<name>/<replica>` (a card under another
  replica's key would compact that replica's card away);
- its card's `time` is neither ahead of the record's broker timestamp by more
  than `FUTURE_SLACK_S` nor behind it by more than `STALE_CARD_S`: a card
  copied from an old record and produced again is not a heartbeat;
- its description and schemas are within bounds (below) and its schemas are
  JSON Schemas that refer to nothing outside themselves: they go into every
  planner prompt and are compiled, and a remote `$ref` would be fetched;
- where it says its model runs is whole: a remote micromodel names its provider
  (whom its payloads go to), and the tool it `serves` as an alternative is one
  the trust file has an owner for. Its provider's length, its price (finite, at
  most MAX_PRICE_PER_MTOK a million tokens, an ISO currency) and its closed fields
  (locality, max_classification, on_pii) are bounded by the contract itself.

When a card was heard is the record's timestamp, never the card's own `time`
(`heard_at`): with the topic's `message.timestamp.type=LogAppendTime` it is
the broker's clock; with a producer's CreateTime it is taken no later than the
reader received it, so no clock ahead of the reader's can keep a card alive.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema
import orjson

from slmesh.runtime.trust import Unproven
from slmesh.schemas import ContractError, MicromodelAnnounced, PipelineAnnounced, decode_record

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord

    from slmesh.runtime.trust import MeshParty, TrustPolicy

# A card's own time may run ahead of its record's timestamp by this much: the announcing
# host's clock and the broker's (or the reader's) are assumed to agree within it.
FUTURE_SLACK_S = 30.0
# ...and lag behind it by this much: a producer holds a record a few seconds while the
# broker is away (its delivery timeout, ~40 s), clocks disagree by the slack above. A card
# older than that when it reached the broker was produced again from an old record.
STALE_CARD_S = 120.0
# Every live tool's description is in the routing prompt, whose context is 2048 tokens by
# default: the mesh's own are one sentence (under 100 characters).
MAX_DESCRIPTION_CHARS = 500
# A schema is compiled, kept per tool and walked by the planner: the mesh's own are under
# 3 KiB as JSON. 32 KiB leaves room for a rich one and none for a book.
MAX_SCHEMA_BYTES = 32 * 1024
# A closed choice the planner may rank value by value with the model (argument_writer):
# the 27 EU member states is the largest the mesh has.
MAX_ENUM_VALUES = 256
# How much of a refused record's key and reason is kept and shown.
MAX_SHOWN_CHARS = 200
# Schemas whose verdict is remembered: checking one against the metaschema takes
# milliseconds, and every heartbeat of every replica brings its two schemas again.
SCHEMA_VERDICTS = 128
_REFERENCES = frozenset({"$ref", "$dynamicRef"})


@dataclass(frozen=True)
class Heard:
    """A card admitted: its event, its proven writer and when the broker got it."""

    card: MicromodelAnnounced
    signer: str
    at: datetime

    @property
    def key(self) -> str:
        """Its record's key (admitted only when it is the card's own)."""
        return f"{self.card.data.name}/{self.card.data.replica}"


@dataclass(frozen=True)
class HeardPipeline:
    """A pipeline card admitted: an orchestrator replica runs the pipeline it describes."""

    card: PipelineAnnounced
    signer: str
    at: datetime

    @property
    def key(self) -> str:
        return pipeline_key(self.card.data.name, self.card.data.replica)


def pipeline_key(name: str, replica: str) -> str:
    """A pipeline card's record key. The prefix keeps it apart from a micromodel's card of
    the same name and replica (no micromodel name has a colon): compaction would otherwise
    keep only one of the two."""
    return f"pipeline:{name}/{replica}"


@dataclass(frozen=True)
class Refused:
    """A registry record kept out of the catalogue, and why."""

    key: str
    reason: str
    at: datetime
    # The identity that proved it, if any did; the name it claims, if readable.
    signer: str | None = None
    name: str | None = None


def heard_at(record: ConsumerRecord[bytes, bytes], received: datetime) -> datetime:
    """When the broker got `record`, by the record's timestamp; never later than `received`
    (the reader's clock when the fetch answered). A CreateTime is the producer's clock: one
    ahead of the reader's would keep a card alive past its last heartbeat."""
    if record.timestamp < 0:  # an old-format record carries none
        return received
    stamped = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return min(stamped, received)


def _key_text(key: bytes | None) -> str:
    """A key as logs and `slmesh registry` show it: anyone's bytes, so cut short and
    without line breaks or control characters that could forge a line."""
    if key is None:
        return "(no key)"
    text = key.decode(errors="replace")[:MAX_SHOWN_CHARS]
    return "".join(c if c.isprintable() else "?" for c in text)


def vet(
    record: ConsumerRecord[bytes, bytes],
    party: MeshParty,
    *,
    received: datetime,
    max_event_bytes: int,
) -> Heard | HeardPipeline | Refused | None:
    """The card `record` holds, admitted or refused; None for a tombstone (no value)."""
    if record.value is None:
        return None
    at = heard_at(record, received)
    key = _key_text(record.key)
    headers = list(record.headers or ())
    try:
        proven = party.check(
            record.topic, record.key, record.value, headers, roles=("micromodel", "orchestrator")
        )
    except Unproven as exc:
        return Refused(key, exc.reason, at)
    try:
        event = decode_record(
            record.value,
            headers,
            (MicromodelAnnounced, PipelineAnnounced),
            max_bytes=max_event_bytes,
        )
    except ContractError as exc:
        return Refused(key, f"unreadable card: {exc.message}", at, proven.name)
    if isinstance(event, PipelineAnnounced):
        refusal = _pipeline_problem(event, proven.name, proven.identity.role, key, at)
        if refusal is not None:
            return Refused(key, refusal, at, proven.name, event.data.name)
        return HeardPipeline(event, proven.name, at)
    assert isinstance(event, MicromodelAnnounced)
    data = event.data
    if proven.identity.role != "micromodel":
        # An orchestrator runs pipelines; a micromodel's card is its own replica's word.
        problem: str | None = (
            f"a micromodel's card signed by {proven.name!r}, a {proven.identity.role}: "
            "only a micromodel announces itself"
        )
    else:
        problem = _problem(event, proven.name, proven.identity.serves, key, at, party.policy)
    if problem is not None:
        return Refused(key, problem, at, proven.name, data.name)
    return Heard(event, proven.name, at)


def _problem(
    event: MicromodelAnnounced,
    signer: str,
    serves: list[str],
    key: str,
    at: datetime,
    policy: TrustPolicy,
) -> str | None:
    data = event.data
    if data.name not in serves:
        return (
            f"signed by {signer!r}, which does not serve {data.name!r} "
            f"(it serves {', '.join(serves) or 'nothing'})"
        )
    if key != f"{data.name}/{data.replica}":
        return f"its key is not the card's own <name>/<replica> ({data.name}/{data.replica})"
    problem = _dating_problem(event.time, at) or _card_text_problem(
        data.description, data.input_schema, data.output_schema
    )
    return problem or _placement_problem(event, policy)


def _pipeline_problem(
    event: PipelineAnnounced, signer: str, role: str, key: str, at: datetime
) -> str | None:
    """What keeps a pipeline card out: only an orchestrator runs pipelines, under the
    card's own key, dated and bounded as a micromodel's card is."""
    data = event.data
    if role != "orchestrator":
        return f"a pipeline's card signed by {signer!r}, a {role}: only an orchestrator runs one"
    if key != pipeline_key(data.name, data.replica):
        return (
            "its key is not the card's own pipeline:<name>/<replica> "
            f"({pipeline_key(data.name, data.replica)})"
        )
    return _dating_problem(event.time, at) or _card_text_problem(
        data.description, data.input_schema, data.output_schema
    )


def _dating_problem(time: datetime, at: datetime) -> str | None:
    written = time if time.tzinfo is not None else time.replace(tzinfo=UTC)
    if written - at > timedelta(seconds=FUTURE_SLACK_S):
        return (
            f"dated {(written - at).total_seconds():.0f} s after the broker got it "
            f"(more than {FUTURE_SLACK_S:.0f} s ahead: a card from the future)"
        )
    if at - written > timedelta(seconds=STALE_CARD_S):
        return (
            f"dated {(at - written).total_seconds():.0f} s before the broker got it "
            f"(more than {STALE_CARD_S:.0f} s: an old card produced again)"
        )
    return None


def _card_text_problem(
    description: str, input_schema: dict[str, Any], output_schema: dict[str, Any]
) -> str | None:
    """What the planner and every reader would take in: a bounded description, and schemas
    that compile and refer to nothing outside themselves."""
    if len(description) > MAX_DESCRIPTION_CHARS:
        return (
            f"its description is {len(description)} characters long "
            f"(at most {MAX_DESCRIPTION_CHARS})"
        )
    for which, schema in (("input", input_schema), ("output", output_schema)):
        problem = _schema_problem(schema)
        if problem is not None:
            return f"its {which} schema {problem}"
    return None


def _placement_problem(event: MicromodelAnnounced, policy: TrustPolicy) -> str | None:
    """What is missing from where the card says its model runs, if anything."""
    data = event.data
    if data.locality == "remote" and data.provider is None:
        # Where a payload goes is the first thing an enterprise asks: a remote card says.
        return "it runs remotely and names no provider (whom its payloads go to)"
    if data.serves is not None and data.serves != data.name and not policy.owner_of(data.serves):
        return (
            f"it is an alternative for {data.serves!r}, which no identity of the trust file serves"
        )
    return None


def _schema_problem(schema: dict[str, Any]) -> str | None:
    raw = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    if len(raw) > MAX_SCHEMA_BYTES:
        return f"is {len(raw)} bytes as JSON (at most {MAX_SCHEMA_BYTES})"
    return _schema_verdict(raw)


@functools.lru_cache(maxsize=SCHEMA_VERDICTS)
def _schema_verdict(raw: bytes) -> str | None:
    """What is wrong with the schema `raw` holds (a bounded size: at most
    SCHEMA_VERDICTS * MAX_SCHEMA_BYTES are remembered), if anything."""
    schema = orjson.loads(raw)
    enums, refs = _walk(schema)
    widest = max(map(len, enums), default=0)
    if widest > MAX_ENUM_VALUES:
        return f"has an enum of {widest} values (at most {MAX_ENUM_VALUES})"
    outside = [ref for ref in refs if not ref.startswith("#")]
    if outside:
        # jsonschema would fetch it when an argument is first checked against it.
        return f"refers outside itself ({outside[0][:100]!r}): only '#...' references are kept"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"is not a JSON Schema: {exc.message[:200]}"
    return None


def _walk(schema: Any) -> tuple[list[list[Any]], list[str]]:
    """Every `enum` list and every reference (`$ref`, `$dynamicRef`) anywhere in `schema`
    (bounded: the schema's size is)."""
    enums: list[list[Any]] = []
    refs: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            enum = node.get("enum")
            if isinstance(enum, list):
                enums.append(enum)
            refs += [v for k, v in node.items() if k in _REFERENCES and isinstance(v, str)]
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return enums, refs
