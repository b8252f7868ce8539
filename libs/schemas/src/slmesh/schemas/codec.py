"""Bytes <-> events, with one clear error for every way a record can be wrong."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from slmesh.schemas.envelope import DATASCHEMA_PATTERN, SPEC_VERSION, Envelope, is_valid_id
from slmesh.schemas.events import EVENT_TYPES, ErrorCode

# Large enough for a long document to summarise, small enough that one producer
# cannot make every consumer buffer megabytes; settings may lower or raise it.
DEFAULT_MAX_EVENT_BYTES = 256 * 1024

E = TypeVar("E", bound=Envelope)

_BY_TYPE: dict[str, type[Envelope]] = {cls.type_name(): cls for cls in EVENT_TYPES}


class ContractError(Exception):
    """A record that is not a valid event. `request_id` is set when it could be recovered."""

    def __init__(self, code: ErrorCode, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.request_id = request_id


def encode(event: Envelope) -> bytes:
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def decode(
    raw: bytes,
    expected: tuple[type[E], ...],
    *,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> E:
    """Parse one structured-mode record value (the whole event, as JSON) into one of the
    `expected` event classes. `binding.decode_record` takes a record in either mode.

    Checks run cheapest first so a hostile record costs little: size, JSON,
    envelope version, type, schema version, then the full model.
    """
    if len(raw) > max_bytes:
        raise ContractError(
            "payload_too_large", f"event is {len(raw)} bytes; the limit is {max_bytes} bytes"
        )
    try:
        obj: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError("malformed_event", f"record value is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ContractError(
            "malformed_event", f"an event is a JSON object, got {type(obj).__name__}"
        )
    return validate_event(obj, expected)


def validate_event(obj: dict[str, Any], expected: tuple[type[E], ...]) -> E:
    """One event's attributes and `data`, as a JSON object, into one of the `expected`
    classes: the checks every event passes, whichever content mode it came in.

    Envelope version, type, schema version, then the full model.
    """
    # Only an id that could be answered is passed on: a response to an invalid
    # id would itself be an invalid event.
    request_id = obj.get("requestid") if is_valid_id(obj.get("requestid")) else None

    def fail(code: ErrorCode, message: str) -> ContractError:
        return ContractError(code, message, request_id)

    if obj.get("specversion") != SPEC_VERSION:
        raise fail(
            "unsupported_schema_version",
            f"specversion {obj.get('specversion')!r} is not supported; use {SPEC_VERSION!r}",
        )
    type_name = obj.get("type")
    cls = _BY_TYPE.get(type_name) if isinstance(type_name, str) else None
    wanted = ", ".join(c.type_name() for c in expected)
    if cls is None or cls not in expected:
        raise fail(
            "unknown_event_type", f"event type {type_name!r} is not accepted here; want {wanted}"
        )
    _check_dataschema(cls, obj.get("dataschema"), fail)
    try:
        event = cls.model_validate(obj)
    except ValidationError as exc:
        raise fail(
            "invalid_event", f"{cls.event_name()} is invalid: {describe_errors(exc)}"
        ) from exc
    assert isinstance(event, expected)
    return event


def _check_dataschema(cls: type[Envelope], dataschema: object, fail: Any) -> None:
    expected_uri = cls.dataschema_uri()
    if dataschema == expected_uri:
        return
    match = DATASCHEMA_PATTERN.match(dataschema) if isinstance(dataschema, str) else None
    if match is None or match["event"] != cls.event_name():
        raise fail(
            "unsupported_schema_version",
            f"dataschema {dataschema!r} does not name a {cls.event_name()} schema; "
            f"use {expected_uri!r}",
        )
    raise fail(
        "unsupported_schema_version",
        f"{cls.event_name()} schema version v{match['version']} is not supported; "
        f"this consumer reads v{cls.SCHEMA_VERSION} ({expected_uri!r})",
    )


def describe_errors(exc: ValidationError, limit: int = 8) -> str:
    """Pydantic errors as one line a producer can act on: `data.input: Field required; ...`."""
    parts = []
    for err in exc.errors(include_url=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
