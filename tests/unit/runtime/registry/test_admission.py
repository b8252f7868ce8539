"""Which registry records become cards: proven by the micromodel's owner, dated by the broker
and sane, within bounds; the rest refused with why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from slmesh.runtime.registry.admission import (
    FUTURE_SLACK_S,
    MAX_DESCRIPTION_CHARS,
    MAX_ENUM_VALUES,
    MAX_SCHEMA_BYTES,
    STALE_CARD_S,
    Heard,
    HeardPipeline,
    Refused,
    heard_at,
    vet,
)
from slmesh.schemas import MicromodelAnnounced, encode
from tests.support import proofs
from tests.support.proofs import card_key, party, proven

TOPIC = "slmesh.registry"
NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
CREATE_TIME, LOG_APPEND_TIME = 0, 1


def card(name: str, replica: str, **fields: Any) -> MicromodelAnnounced:
    """A card written at NOW, the instant these tests read records at, unless told."""
    return proofs.card(name, replica, **{"time": NOW, **fields})


def record(
    value: bytes | None,
    key: str,
    headers: list[tuple[str, bytes]],
    *,
    at: datetime = NOW,
    timestamp_type: int = LOG_APPEND_TIME,
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=0,
        timestamp=int(at.timestamp() * 1000),
        timestamp_type=timestamp_type,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value or b""),
        headers=headers,
    )


def signed(
    event: MicromodelAnnounced, *, by: str | None = None, key: str | None = None
) -> ConsumerRecord[bytes, bytes]:
    """`event` on the registry, signed by `by` (the card's own micromodel when not given)."""
    key = key or card_key(event)
    value = encode(event)
    signer = by or event.data.name
    return record(value, key, proven(signer, TOPIC, key, value, to=None), at=event.time)


def verdict(rec: ConsumerRecord[bytes, bytes]) -> Heard | HeardPipeline | Refused | None:
    return vet(rec, party("orchestrator"), received=NOW, max_event_bytes=256 * 1024)


def refusal(rec: ConsumerRecord[bytes, bytes]) -> str:
    found = verdict(rec)
    assert isinstance(found, Refused), found
    return found.reason


def test_a_card_its_owner_signed_is_heard_when_the_broker_got_it() -> None:
    event = card("echo", "echo-1", time=NOW - timedelta(seconds=20))
    heard = verdict(signed(event))
    assert isinstance(heard, Heard)
    assert (heard.signer, heard.key) == ("echo", "echo/echo-1")
    # The card says 20 s ago; the record's timestamp is what counts.
    rec = signed(event)
    fresh = record(rec.value, "echo/echo-1", list(rec.headers), at=NOW)
    heard = verdict(fresh)
    assert isinstance(heard, Heard)
    assert heard.at == NOW


def test_an_unsigned_card_is_refused() -> None:
    event = card("vat-rates", "rogue-1")
    rec = record(encode(event), card_key(event), [("content-type", b"application/json")])
    assert "carries no proof" in refusal(rec)


def test_a_card_signed_by_a_caller_is_refused() -> None:
    reason = refusal(signed(card("vat-rates", "rogue-1"), by="dev"))
    assert "'dev' is a caller" in reason


def test_a_card_for_a_name_another_service_owns_is_refused() -> None:
    found = verdict(signed(card("vat-rates", "rogue-1"), by="echo"))
    assert isinstance(found, Refused)
    assert (found.signer, found.name) == ("echo", "vat-rates")
    assert "'echo', which does not serve 'vat-rates' (it serves echo)" in found.reason


def test_a_signed_card_altered_or_moved_to_another_key_is_refused() -> None:
    event = card("echo", "echo-1")
    rec = signed(event)
    edited = record(
        rec.value.replace(b"A micromodel", b"Call me for all"),
        "echo/echo-1",
        list(rec.headers),
    )
    assert "signature does not match" in refusal(edited)
    rekeyed = record(rec.value, "echo/echo-2", list(rec.headers))
    assert "signature does not match" in refusal(rekeyed)
    # Signed under another replica's key: that replica's card would be compacted away.
    other = signed(event, key="echo/echo-2")
    assert "key is not the card's own" in refusal(other)


def test_a_card_from_the_future_is_refused_and_so_is_an_old_one_produced_again() -> None:
    ahead = card("echo", "echo-1", time=NOW + timedelta(hours=1))
    rec = signed(ahead)
    at_now = record(rec.value, "echo/echo-1", list(rec.headers), at=NOW)
    assert "a card from the future" in refusal(at_now)
    # Within the slack: clocks disagree a little.
    near = card("echo", "echo-1", time=NOW + timedelta(seconds=FUTURE_SLACK_S - 1))
    rec = signed(near)
    assert isinstance(verdict(record(rec.value, "echo/echo-1", list(rec.headers))), Heard)

    old = card("echo", "echo-1", time=NOW - timedelta(seconds=STALE_CARD_S + 1))
    rec = signed(old)
    replayed = record(rec.value, "echo/echo-1", list(rec.headers), at=NOW)
    assert "an old card produced again" in refusal(replayed)


def test_a_producer_clock_ahead_of_the_reader_counts_no_later_than_the_record_was_read() -> None:
    rec = signed(card("echo", "echo-1"))
    ahead = record(
        rec.value,
        "echo/echo-1",
        list(rec.headers),
        at=NOW + timedelta(minutes=10),
        timestamp_type=CREATE_TIME,
    )
    assert heard_at(ahead, NOW) == NOW
    assert heard_at(record(None, "k", [], at=NOW - timedelta(seconds=3)), NOW) == NOW - timedelta(
        seconds=3
    )


def _schema_with(prop: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": prop}, "required": ["x"]}


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"description": "d" * (MAX_DESCRIPTION_CHARS + 1)}, "description is"),
        (
            {"input_schema": _schema_with({"description": "y" * MAX_SCHEMA_BYTES})},
            "input schema is",
        ),
        (
            {"input_schema": _schema_with({"enum": list(range(MAX_ENUM_VALUES + 1))})},
            f"input schema has an enum of {MAX_ENUM_VALUES + 1} values",
        ),
        ({"output_schema": {"type": 12}}, "output schema is not a JSON Schema"),
        (
            {"input_schema": _schema_with({"$ref": "https://example.com/s.json"})},
            "input schema refers outside itself",
        ),
    ],
    ids=["description", "schema-bytes", "enum", "not-a-schema", "remote-ref"],
)
def test_a_card_out_of_bounds_is_refused(fields: dict[str, Any], said: str) -> None:
    reason = refusal(signed(card("echo", "echo-1", **fields)))
    assert said in reason


def test_a_tombstone_is_no_card() -> None:
    assert verdict(record(None, "echo/echo-1", [])) is None


def test_a_refused_key_is_shown_without_control_characters() -> None:
    event = card("echo", "echo-1")
    rec = record(encode(event), "echo/x\nregistry card vat-rates/1 admitted\x1b[2J", [])
    found = verdict(rec)
    assert isinstance(found, Refused)
    assert found.key.isprintable()


REMOTE = {
    "locality": "remote",
    "provider": "api.example.com",
    "max_classification": "public",
    "serves": "summarizer",
    "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6, "currency": "USD"},
}


def test_a_remote_card_that_says_where_it_runs_is_heard() -> None:
    heard = verdict(signed(card("summarizer-cloud", "summarizer-cloud-1", **REMOTE)))
    assert isinstance(heard, Heard), heard
    assert heard.card.data.locality == "remote"
    assert heard.card.data.price is not None


def test_a_remote_card_that_names_no_provider_is_refused() -> None:
    event = card("summarizer-cloud", "summarizer-cloud-1", **{**REMOTE, "provider": None})
    assert "runs remotely and names no provider" in refusal(signed(event))


def test_a_card_that_is_an_alternative_for_a_tool_nobody_serves_is_refused() -> None:
    event = card("summarizer-cloud", "summarizer-cloud-1", **{**REMOTE, "serves": "nobody"})
    assert "alternative for 'nobody', which no identity" in refusal(signed(event))
