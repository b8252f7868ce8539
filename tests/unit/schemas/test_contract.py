"""The event contract: what is accepted, and the error for each way a record can be wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from slmesh.schemas import (
    DEFAULT_MAX_EVENT_BYTES,
    EVENT_TYPES,
    ContractError,
    RequestCompleted,
    RequestSubmitted,
    TaskCompleted,
    TaskFailed,
    decode,
    encode,
)
from slmesh.schemas.export import ASYNCAPI_FILE, schema_file_name, stale_files

CONTRACT_DIR = Path(__file__).parents[3] / "libs" / "schemas" / "contract"

# What a producer in another language writes by hand, following the README.
HAND_WRITTEN_REQUEST: dict[str, Any] = {
    "specversion": "1.0",
    "id": "evt-0001",
    "source": "/erp/invoicing",
    "type": "slmesh.RequestSubmitted",
    "time": "2026-11-22T16:00:00Z",
    "dataschema": "urn:slmesh:RequestSubmitted:v1",
    "requestid": "req-0001",
    "data": {"input": "What are the VAT rates in Germany?", "timeout_ms": 5000},
}


def raw(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**HAND_WRITTEN_REQUEST, **changes}


def rejected(value: bytes, *expected: type[Any]) -> ContractError:
    with pytest.raises(ContractError) as info:
        decode(value, expected or (RequestSubmitted,))
    return info.value


def test_a_hand_written_request_decodes() -> None:
    request = decode(raw(HAND_WRITTEN_REQUEST), (RequestSubmitted,))
    assert request.requestid == "req-0001"
    assert request.data.input == "What are the VAT rates in Germany?"
    assert request.data.classification == "internal"


def test_every_event_round_trips_through_bytes() -> None:
    request = RequestSubmitted.create(data={"input": "hi"}, source="/t", request_id="r1")
    completed = TaskCompleted.create(
        data={
            "task_id": "r1:1",
            "micromodel": "vat-rates",
            "output": {"rates": [1, 2.5, "x", None, {"a": [True]}]},
            "model": "deterministic",
            "latency_ms": 1.5,
            "replica": "vat-rates-1",
        },
        source="/t",
        request_id="r1",
        causation_id=request.id,
    )
    for event in (request, completed):
        assert decode(encode(event), (type(event),)) == event


def test_unknown_field_in_data_is_rejected_by_name() -> None:
    data = {**HAND_WRITTEN_REQUEST["data"], "inptu": "typo"}
    error = rejected(raw(with_changes(data=data)))
    assert error.code == "invalid_event"
    assert "data.inptu" in error.message
    assert "Extra inputs are not permitted" in error.message
    assert error.request_id == "req-0001"


def test_unknown_envelope_attribute_is_rejected() -> None:
    error = rejected(raw(with_changes(colour="blue")))
    assert error.code == "invalid_event"
    assert "colour" in error.message


def test_oversized_payload_is_rejected_before_parsing() -> None:
    huge = with_changes(data={"input": "x" * DEFAULT_MAX_EVENT_BYTES})
    error = rejected(raw(huge))
    assert error.code == "payload_too_large"
    assert str(DEFAULT_MAX_EVENT_BYTES) in error.message
    # Not parsed, so no request id is claimed from it.
    assert error.request_id is None


def test_input_longer_than_the_contract_allows_is_rejected() -> None:
    error = rejected(raw(with_changes(data={"input": "x" * 40_000})))
    assert error.code == "invalid_event"
    assert "data.input" in error.message


def test_bytes_that_are_not_json() -> None:
    error = rejected(b"\x00\xffnot json")
    assert error.code == "malformed_event"
    assert "not valid JSON" in error.message


def test_json_that_is_not_an_object() -> None:
    assert rejected(b"[1, 2]").code == "malformed_event"


def test_wrong_cloudevents_version() -> None:
    error = rejected(raw(with_changes(specversion="0.3")))
    assert error.code == "unsupported_schema_version"
    assert "'0.3'" in error.message


def test_newer_schema_version_is_named_in_the_error() -> None:
    error = rejected(raw(with_changes(dataschema="urn:slmesh:RequestSubmitted:v2")))
    assert error.code == "unsupported_schema_version"
    assert "v2 is not supported" in error.message
    assert error.request_id == "req-0001"


def test_dataschema_of_another_event_is_rejected() -> None:
    error = rejected(raw(with_changes(dataschema="urn:slmesh:TaskRequested:v1")))
    assert error.code == "unsupported_schema_version"


def test_unknown_event_type() -> None:
    error = rejected(raw(with_changes(type="slmesh.Gossip")))
    assert error.code == "unknown_event_type"
    assert "slmesh.Gossip" in error.message


def test_known_type_on_the_wrong_topic_is_refused() -> None:
    error = rejected(raw(HAND_WRITTEN_REQUEST), TaskCompleted, TaskFailed)
    assert error.code == "unknown_event_type"
    assert "slmesh.TaskCompleted" in error.message


def test_missing_request_id() -> None:
    obj = dict(HAND_WRITTEN_REQUEST)
    del obj["requestid"]
    error = rejected(raw(obj))
    assert error.code == "invalid_event"
    assert "requestid: Field required" in error.message
    assert error.request_id is None


def test_reply_topic_must_be_a_legal_topic_name() -> None:
    data = {**HAND_WRITTEN_REQUEST["data"], "reply_topic": "no spaces allowed"}
    assert rejected(raw(with_changes(data=data))).code == "invalid_event"


def test_written_contract_files_match_the_models() -> None:
    assert stale_files(CONTRACT_DIR) == [], "run `make schemas`"


def test_json_schema_file_accepts_what_the_codec_accepts() -> None:
    schema = orjson.loads((CONTRACT_DIR / schema_file_name(RequestSubmitted)).read_bytes())
    jsonschema.validate(HAND_WRITTEN_REQUEST, schema)
    bad = with_changes(data={"input": "hi", "surprise": 1})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert schema["$id"] == "urn:slmesh:RequestSubmitted:v1"


def test_asyncapi_document_describes_every_event_and_channel() -> None:
    doc = orjson.loads((CONTRACT_DIR / ASYNCAPI_FILE).read_bytes())
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["components"]["messages"]) == {cls.event_name() for cls in EVENT_TYPES}
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {"slmesh.requests", "slmesh.responses.{caller}", "slmesh.replies"} <= addresses
    assert "slmesh.tasks.{micromodel}" in addresses
    request_schema = doc["components"]["schemas"]["RequestSubmittedData"]
    assert request_schema["properties"]["input"]["examples"]


def test_response_status_and_calls_are_typed() -> None:
    response = RequestCompleted.create(
        data={
            "status": "partial",
            "answer": "x",
            "planner": "rules",
            "elapsed_ms": 3.0,
            "calls": [{"task_id": "r:1", "micromodel": "m", "arguments": {}, "status": "missing"}],
        },
        source="/t",
        request_id="r",
    )
    assert decode(encode(response), (RequestCompleted,)).data.calls[0].status == "missing"
    bad = orjson.loads(encode(response))
    bad["data"]["status"] = "so-so"
    with pytest.raises(ContractError):
        decode(orjson.dumps(bad), (RequestCompleted,))
