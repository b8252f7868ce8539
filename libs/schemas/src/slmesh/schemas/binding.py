"""The CloudEvents Kafka protocol binding: a record in either content mode, decoded alike.

Structured mode (what the mesh itself publishes): the whole event, attributes
and `data`, is one JSON object in the record value, with the `content-type`
header `application/cloudevents+json`. Binary mode (what a CloudEvents SDK's
Kafka binding produces by default): every attribute is a `ce_<name>` header
holding a UTF-8 string, the `content-type` header is the `datacontenttype`,
and the record value is the event's `data` alone.

A record is binary when it has a `ce_specversion` header and no
`application/cloudevents` content type; anything else is structured, and
costs no more than that look at its headers. A binary record is put together
into the same JSON object a structured one is parsed into, and validated by
the same code (`codec.validate_event`): the same models, version checks and
error codes. The Kafka key is not mapped to the `partitionkey` extension:
slmesh keys records by request id and needs no such attribute.

https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/kafka-protocol-binding.md
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import orjson

from slmesh.schemas.codec import (
    DEFAULT_MAX_EVENT_BYTES,
    ContractError,
    E,
    decode,
    validate_event,
)
from slmesh.schemas.envelope import is_valid_id
from slmesh.schemas.events import ErrorCode

# A record's headers as Kafka clients hand them out; a header's value may be null.
Headers = Sequence[tuple[str, bytes | None]]

CONTENT_TYPE_HEADER = "content-type"
ATTRIBUTE_PREFIX = "ce_"
SPECVERSION_HEADER = "ce_specversion"
STRUCTURED_MEDIA_TYPE = b"application/cloudevents"
JSON_MEDIA_TYPE = "application/json"

# CloudEvents attribute names are lower-case letters and digits (§3.1.1).
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,64}$")

BINARY_NOTE = (
    " (binary content mode: each attribute is a ce_<name> header, the data is the record value)"
)


def is_binary(headers: Headers | None) -> bool:
    """Whether a record is in binary content mode: a `ce_specversion` header, and no
    `content-type` that names a CloudEvents event format."""
    return _mode(headers) == "binary"


def _mode(headers: Headers | None) -> Literal["structured", "binary", "unmarked"]:
    """How a record's headers say its event is laid out. `unmarked`: read as structured,
    but it has `ce_*` headers without `ce_specversion` (a binary event missing it, likely)."""
    specversion = attributes = False
    for name, value in headers or ():
        lowered = name.lower()
        if lowered == CONTENT_TYPE_HEADER:
            if value is not None and value[: len(STRUCTURED_MEDIA_TYPE)].lower() == (
                STRUCTURED_MEDIA_TYPE
            ):
                return "structured"
        elif lowered.startswith(ATTRIBUTE_PREFIX):
            attributes = True
            specversion = specversion or lowered == SPECVERSION_HEADER
    if specversion:
        return "binary"
    return "unmarked" if attributes else "structured"


def event_headers(headers: Iterable[tuple[str, str | bytes | None]]) -> dict[str, str]:
    """The headers that are part of a record's event, decoded: its `content-type` and, in
    the binary content mode, its `ce_*` attributes (what a dead letter must keep)."""
    kept = {}
    for name, value in headers:
        lowered = name.lower()
        if value and (lowered == CONTENT_TYPE_HEADER or lowered.startswith(ATTRIBUTE_PREFIX)):
            kept[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return kept


def decode_record(
    value: bytes | None,
    headers: Headers | None,
    expected: tuple[type[E], ...],
    *,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> E:
    """A record's event, in either content mode, as one of the `expected` classes.

    Raises ContractError (code and message as for a structured record) when it is none.
    """
    mode = _mode(headers)
    if mode == "binary":
        return _decode_binary(value or b"", headers or (), expected, max_bytes)
    try:
        return decode(value or b"", expected, max_bytes=max_bytes)
    except ContractError as exc:
        if mode == "unmarked":
            raise _unmarked_binary(exc, headers) from exc
        raise


def event_fields(value: bytes | None, headers: Headers | None) -> dict[str, Any] | None:
    """What a record's event says, unvalidated, as far as it can be read: its attributes
    and `data` as one object, in either mode. For answering a record the contract refused."""
    if is_binary(headers):
        fields: dict[str, Any] = {}
        for name, raw in headers or ():
            attribute = _attribute_of(name)
            if attribute is not None and raw is not None:
                with contextlib.suppress(UnicodeDecodeError):
                    fields[attribute] = raw.decode()
        with contextlib.suppress(orjson.JSONDecodeError):
            fields["data"] = orjson.loads(value or b"")
        return fields
    try:
        obj = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _attribute_of(header: str) -> str | None:
    """The attribute a `ce_<name>` header holds, or None for another header."""
    lowered = header.lower()
    return lowered[len(ATTRIBUTE_PREFIX) :] if lowered.startswith(ATTRIBUTE_PREFIX) else None


def _decode_binary(
    body: bytes, headers: Headers, expected: tuple[type[E], ...], max_bytes: int
) -> E:
    try:
        attributes, content_type = _attributes(headers)
    except ContractError as exc:
        raise ContractError(exc.code, exc.message, _header_request_id(headers)) from exc
    request_id = attributes.get("requestid")

    def fail(code: ErrorCode, message: str) -> ContractError:
        return ContractError(code, message, request_id if is_valid_id(request_id) else None)

    size = len(body) + sum(len(name) + len(raw or b"") for name, raw in headers)
    if size > max_bytes:
        raise fail(
            "payload_too_large",
            f"event is {size} bytes (data and headers); the limit is {max_bytes} bytes",
        )
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type != JSON_MEDIA_TYPE:
            raise fail(
                "invalid_event",
                f"datacontenttype {content_type!r} is not accepted: the data of an slmesh "
                f"event is {JSON_MEDIA_TYPE}" + BINARY_NOTE,
            )
        attributes["datacontenttype"] = JSON_MEDIA_TYPE
    if body:
        try:
            attributes["data"] = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise fail(
                "malformed_event",
                f"record value (the event's data, binary content mode) is not valid JSON: {exc}",
            ) from exc
    try:
        return validate_event(attributes, expected)
    except ContractError as exc:
        if exc.code != "invalid_event":
            raise
        # Pydantic names attributes as a structured event has them: say where they are.
        raise ContractError(exc.code, exc.message + BINARY_NOTE, exc.request_id) from exc


def _attributes(headers: Headers) -> tuple[dict[str, Any], str | None]:
    """The event's attributes from its `ce_*` headers, and its data's content type."""
    attributes: dict[str, Any] = {}
    content_type: str | None = None
    fallback_type: str | None = None
    for name, raw in headers:
        lowered = name.lower()
        if lowered == CONTENT_TYPE_HEADER:
            content_type = _text(name, raw)
            continue
        attribute = _attribute_of(name)
        if attribute is None or raw is None:
            continue
        text = _text(name, raw)
        if not _ATTRIBUTE_NAME.match(attribute):
            raise ContractError(
                "invalid_event",
                f"header {name!r} names no CloudEvents attribute "
                "(ce_ and lower-case letters and digits)" + BINARY_NOTE,
            )
        if attribute == "data":
            raise ContractError(
                "invalid_event",
                f"header {name!r}: in binary content mode the data is the record value",
            )
        if attribute == "datacontenttype":
            # The binding maps it to the content-type header; a producer that
            # writes it as an attribute too is taken at its word when that is missing.
            fallback_type = text
            continue
        if attribute in attributes:
            raise ContractError(
                "invalid_event", f"attribute {attribute!r} is given twice (header {name!r})"
            )
        attributes[attribute] = text
    return attributes, content_type if content_type is not None else fallback_type


def _text(name: str, raw: bytes | None) -> str:
    try:
        return (raw or b"").decode()
    except UnicodeDecodeError as exc:
        raise ContractError(
            "malformed_event", f"header {name!r} is not a UTF-8 string: {exc}"
        ) from exc


def _unmarked_binary(exc: ContractError, headers: Headers | None) -> ContractError:
    """A structured decode's error, with a hint: the record has `ce_*` headers but no
    `ce_specversion` (so it was read as structured) and no CloudEvents content type."""
    return ContractError(
        exc.code,
        f"{exc.message}; the record has ce_* headers but no ce_specversion header "
        "(a binary content mode event needs one)",
        exc.request_id or _header_request_id(headers),
    )


def _header_request_id(headers: Headers | None) -> str | None:
    """The `ce_requestid` header, when it is an id that can be answered."""
    for name, raw in headers or ():
        if name.lower() == "ce_requestid" and raw is not None:
            text = raw.decode(errors="replace")
            return text if is_valid_id(text) else None
    return None
