"""FastStream decoders: what a subscriber's handler is given for a record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faststream import StreamMessage


async def message_itself(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """Decoder that hands the handler the message itself, with its record and consumer.

    With the broker's `apply_types=False`, FastStream calls the handler with
    whatever the decoder returns and no dependency injection, which would
    otherwise resolve the message in a worker thread on every record.
    """
    return message


async def raw_body(message: StreamMessage[object]) -> bytes:
    """Hand handlers the record's bytes untouched.

    FastStream would otherwise JSON-decode the value before the handler sees it,
    and a malformed record would fail outside our code, where it cannot be
    dead-lettered with a reason.
    """
    body = message.body
    return body if isinstance(body, bytes) else bytes(body)
