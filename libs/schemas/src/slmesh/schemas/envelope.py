"""The CloudEvents 1.0 envelope every slmesh event travels in.

The mesh sends events in the CloudEvents Kafka *structured* content mode: the
whole event (attributes and data) is the record value, so any producer that
can write JSON — or any CloudEvents SDK — can publish a request, and one JSON
Schema validates everything a consumer reads. Consumers also accept the
*binary* content mode, attributes in `ce_*` headers (`binding`).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

# Extension attribute names must be lower-case alphanumerics (CloudEvents §3.1.1).
# Up to 200: inside the mesh a request id is scoped to its caller (`<caller>:<id>`).
_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,200}$"
_ID = re.compile(_ID_PATTERN)
DATASCHEMA_PATTERN = re.compile(r"^urn:slmesh:(?P<event>[A-Za-z]+):v(?P<version>\d+)$")


class Contract(BaseModel):
    """Base of every contract model: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def is_valid_id(value: object) -> bool:
    """Whether `value` can serve as an event or request id (and so be answered)."""
    return isinstance(value, str) and _ID.match(value) is not None


def dataschema_for(event_name: str, version: int) -> str:
    return f"urn:slmesh:{event_name}:v{version}"


class Envelope(Contract):
    """Attributes shared by all events; subclasses pin `type`, `dataschema` and `data`."""

    # The current major version of this event's data schema. A change that would
    # break a consumer bumps it, and consumers reject versions they do not know.
    SCHEMA_VERSION: ClassVar[int] = 1

    specversion: Literal["1.0"] = Field(
        description="CloudEvents specification version.", examples=["1.0"]
    )
    id: str = Field(
        pattern=_ID_PATTERN,
        description="Unique id of this event; producers must not reuse it.",
        examples=["3f1c2a9e8d7b4c6a9e0f1a2b3c4d5e6f"],
    )
    source: str = Field(
        min_length=1,
        max_length=256,
        description="URI-reference of the producer (service and replica).",
        examples=["/slmesh/orchestrator/host-1234", "/erp/invoicing"],
    )
    time: datetime = Field(
        description="When the event happened (RFC 3339).", examples=["2026-11-22T16:00:00Z"]
    )
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of `data`."
    )
    requestid: str = Field(
        pattern=_ID_PATTERN,
        description="Extension: the request this event belongs to; also the Kafka key.",
        examples=["req-2026-11-22-0001"],
    )
    causationid: str | None = Field(
        default=None,
        pattern=_ID_PATTERN,
        description="Extension: id of the event that caused this one (absent on requests).",
    )
    subject: str | None = Field(
        default=None, max_length=256, description="CloudEvents subject (optional)."
    )
    partitionkey: str | None = Field(
        default=None,
        max_length=256,
        description="CloudEvents Kafka partitioning extension (optional; the key is requestid).",
    )
    traceparent: str | None = Field(
        default=None,
        max_length=128,
        description="W3C trace context (optional; slmesh carries it in Kafka headers).",
    )
    tracestate: str | None = Field(default=None, max_length=512, description="W3C trace state.")

    @classmethod
    def event_name(cls) -> str:
        return cls.__name__

    @classmethod
    def dataschema_uri(cls) -> str:
        return dataschema_for(cls.event_name(), cls.SCHEMA_VERSION)

    @classmethod
    def type_name(cls) -> str:
        return f"slmesh.{cls.event_name()}"

    @classmethod
    def create(
        cls,
        *,
        data: Any,
        source: str,
        request_id: str,
        causation_id: str | None = None,
        event_id: str | None = None,
    ) -> Self:
        """Build an event with a fresh id and the current time."""
        return cls.model_validate(
            {
                "specversion": SPEC_VERSION,
                "id": event_id or uuid.uuid4().hex,
                "source": source,
                "type": cls.type_name(),
                "time": datetime.now(UTC),
                "dataschema": cls.dataschema_uri(),
                "requestid": request_id,
                "causationid": causation_id,
                "data": data,
            }
        )
