"""An event as a CloudEvents SDK's Kafka binding writes it in the binary content mode.

Each attribute is a `ce_<name>` header, the data alone is the record value, and
the `datacontenttype` is the `content-type` header. The tests that read or send
binary-mode records build them here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Any

import orjson

from slmesh.schemas import Envelope, encode

JSON = "application/json"

Headers = list[tuple[str, bytes]]


def binary_mode(
    event: Envelope | Mapping[str, Any] | bytes,
    content_type: str | EllipsisType | None = ...,
) -> tuple[bytes, Headers]:
    """`event` (an event, its JSON object, or its encoded bytes) as a binary-mode record.

    The `content-type` header is `content_type`; left out (`...`), it is the event's
    own `datacontenttype`, or `application/json` if it has none; `None` gives no
    `content-type` header at all. The event's `datacontenttype` is never a
    `ce_datacontenttype` header: the binding carries it as `content-type`.
    """
    if isinstance(event, Envelope):
        event = encode(event)
    attributes = dict(orjson.loads(event) if isinstance(event, bytes) else event)
    data = attributes.pop("data")
    own = attributes.pop("datacontenttype", JSON)
    header = own if isinstance(content_type, EllipsisType) else content_type
    headers: Headers = [] if header is None else [("content-type", str(header).encode())]
    headers += [(f"ce_{name}", str(value).encode()) for name, value in attributes.items()]
    return orjson.dumps(data), headers


def as_text(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """Headers as a FastStream publisher takes them: a dict of strings."""
    return {name: value.decode() for name, value in headers}
