"""The CloudEvents Kafka binary content mode: attributes in `ce_*` headers, data in the value.

A binary record decodes to the same event as its structured twin, and each way
it can be wrong gives the error a structured record gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from slmesh.schemas import (
    CONTENT_TYPE,
    DEFAULT_MAX_EVENT_BYTES,
    ContractError,
    Envelope,
    RequestSubmitted,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
    decode,
    decode_record,
    encode,
    event_fields,
    is_binary,
)
from slmesh.schemas.binding import BINARY_NOTE
from tests.support.binary_mode import binary_mode

from .test_contract import HAND_WRITTEN_REQUEST, with_changes

Headers = list[tuple[str, bytes | None]]
STRUCTURED: Headers = [("content-type", CONTENT_TYPE.encode())]


def structured_error(event: dict[str, Any], *expected: type[Envelope]) -> ContractError:
    with pytest.raises(ContractError) as info:
        decode_record(orjson.dumps(event), STRUCTURED, expected or (RequestSubmitted,))
    return info.value


def binary_error(
    value: bytes | None, headers: Sequence[tuple[str, bytes | None]], *expected: type[Envelope]
) -> ContractError:
    with pytest.raises(ContractError) as info:
        decode_record(value, headers, expected or (RequestSubmitted,))
    return info.value


def same_error_in_both_modes(event: dict[str, Any]) -> ContractError:
    """The binary mode's error for `event`, after checking it is the structured mode's."""
    expected = structured_error(event)
    error = binary_error(*binary_mode(event))
    assert (error.code, error.message, error.request_id) == (
        expected.code,
        expected.message,
        expected.request_id,
    )
    return error


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in HAND_WRITTEN_REQUEST.items() if k != name}


# --- the same event in either mode -------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", None]
)
def test_a_binary_request_decodes_to_the_event_its_structured_twin_does(
    content_type: str | None,
) -> None:
    structured = decode_record(orjson.dumps(HAND_WRITTEN_REQUEST), STRUCTURED, (RequestSubmitted,))
    value, headers = binary_mode(HAND_WRITTEN_REQUEST, content_type)
    from_binary = decode_record(value, headers, (RequestSubmitted,))
    assert from_binary == structured
    assert encode(from_binary) == encode(structured)
    assert from_binary.data.input == "What are the VAT rates in Germany?"


def test_every_event_the_mesh_sends_reads_the_same_in_binary_mode() -> None:
    request = RequestSubmitted.create(
        data={"input": "hi", "reply_topic": "erp.answers", "metadata": {"tenant": "acme"}},
        source="/erp",
        request_id="r1",
    )
    task = TaskRequested.create(
        data={
            "task_id": "r1:1",
            "micromodel": "vat-rates",
            "arguments": {"country": "DE"},
            "deadline": "2999-01-01T00:00:00Z",
            "reply_topic": "slmesh.replies",
        },
        source="/slmesh/orchestrator/o-1",
        request_id="r1",
        causation_id=request.id,
    )
    completed = TaskCompleted.create(
        data={
            "task_id": "r1:1",
            "micromodel": "vat-rates",
            "output": {"rates": [19.0, 7.0]},
            "model": "deterministic",
            "latency_ms": 0.5,
            "replica": "vat-rates-1",
        },
        source="/slmesh/vat-rates/vat-rates-1",
        request_id="r1",
        causation_id=task.id,
    )
    for event in (request, task, completed):
        # Its datacontenttype is the content-type header.
        value, headers = binary_mode(event)
        expected = (TaskCompleted, TaskFailed) if event is completed else (type(event),)
        assert decode_record(value, headers, expected) == event


def test_extension_and_optional_attributes_travel_as_headers() -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    value, headers = binary_mode(
        with_changes(subject="invoice-7", traceparent=traceparent, partitionkey="req-0001")
    )
    # Header names are matched as the CloudEvents SDKs match them: case aside.
    headers = [(name.upper() if name == "ce_subject" else name, v) for name, v in headers]
    event = decode_record(value, headers, (RequestSubmitted,))
    assert (event.subject, event.traceparent, event.partitionkey) == (
        "invoice-7",
        traceparent,
        "req-0001",
    )


def test_the_mode_is_told_by_the_headers() -> None:
    _, headers = binary_mode(HAND_WRITTEN_REQUEST)
    assert is_binary(headers)
    assert not is_binary(STRUCTURED)
    assert not is_binary(None)
    assert not is_binary([])
    # A CloudEvents content type says structured, whatever else the headers hold.
    assert not is_binary([*headers, ("content-type", b"application/cloudevents+json")])
    assert not is_binary([("Content-Type", b"Application/CloudEvents+JSON"), *headers[1:]])
    # The whole event in the value, with its ce_ headers too: read as structured.
    both = decode_record(
        orjson.dumps(HAND_WRITTEN_REQUEST), [*STRUCTURED, *headers[1:]], (RequestSubmitted,)
    )
    assert both.requestid == "req-0001"
    # No headers at all: structured, as before.
    assert decode_record(orjson.dumps(HAND_WRITTEN_REQUEST), None, (RequestSubmitted,)) == both


def test_an_attribute_given_as_ce_datacontenttype_is_taken_when_content_type_is_missing() -> None:
    value, headers = binary_mode(HAND_WRITTEN_REQUEST, None)
    event = decode_record(
        value, [*headers, ("ce_datacontenttype", b"application/json")], (RequestSubmitted,)
    )
    assert event.datacontenttype == "application/json"
    error = binary_error(value, [*headers, ("ce_datacontenttype", b"text/plain")])
    assert error.code == "invalid_event"
    assert "'text/plain'" in error.message


def test_a_null_header_value_is_no_attribute() -> None:
    value, headers = binary_mode(HAND_WRITTEN_REQUEST)
    event = decode_record(value, [*headers, ("ce_subject", None)], (RequestSubmitted,))
    assert event.subject is None


# --- the same errors in either mode ------------------------------------------------------


def test_a_missing_ce_id_is_the_error_a_missing_id_is() -> None:
    expected = structured_error(without("id"))
    error = binary_error(*binary_mode(without("id")))
    assert (error.code, error.request_id) == (expected.code, expected.request_id)
    assert (error.code, error.request_id) == ("invalid_event", "req-0001")
    assert "id: Field required" in expected.message
    # The same words, and where a binary producer puts the attribute.
    assert error.message == expected.message + BINARY_NOTE


def test_a_missing_request_id_is_named_and_no_request_is_answered() -> None:
    error = binary_error(*binary_mode(without("requestid")))
    assert error.code == "invalid_event"
    assert "requestid: Field required" in error.message
    assert error.request_id is None


def test_a_wrong_ce_specversion_is_the_error_a_wrong_specversion_is() -> None:
    event = with_changes(specversion="0.3")
    error = same_error_in_both_modes(event)
    assert error.code == "unsupported_schema_version"
    assert "specversion '0.3' is not supported; use '1.0'" in error.message


def test_an_unknown_type_is_the_error_an_unknown_type_is() -> None:
    event = with_changes(type="slmesh.Gossip")
    error = same_error_in_both_modes(event)
    assert error.code == "unknown_event_type"
    assert "'slmesh.Gossip'" in error.message
    # A known type on the wrong topic, too.
    expected = structured_error(HAND_WRITTEN_REQUEST, TaskCompleted, TaskFailed)
    error = binary_error(*binary_mode(HAND_WRITTEN_REQUEST), TaskCompleted, TaskFailed)
    assert (error.code, error.message) == (expected.code, expected.message)


def test_a_newer_dataschema_is_the_error_it_is_in_structured_mode() -> None:
    event = with_changes(dataschema="urn:slmesh:RequestSubmitted:v2")
    expected = structured_error(event)
    error = binary_error(*binary_mode(event))
    assert (error.code, error.message) == (expected.code, expected.message)
    assert "v2 is not supported" in error.message


def test_an_unknown_attribute_is_named_by_its_header() -> None:
    event = with_changes(colour="blue")
    expected = structured_error(event)
    error = binary_error(*binary_mode(event))
    assert error.code == expected.code == "invalid_event"
    assert error.message == expected.message + BINARY_NOTE
    assert "colour: Extra inputs are not permitted" in error.message
    assert "ce_<name> header" in error.message


def test_an_unknown_data_field_is_named_as_in_structured_mode() -> None:
    event = with_changes(data={"input": "hi", "inptu": "typo"})
    error = binary_error(*binary_mode(event))
    assert error.code == "invalid_event"
    assert error.message == structured_error(event).message + BINARY_NOTE
    assert "data.inptu" in error.message


def test_data_that_is_not_json_is_malformed_and_its_request_is_still_answerable() -> None:
    _, headers = binary_mode(HAND_WRITTEN_REQUEST)
    error = binary_error(b"input=What are the VAT rates", headers)
    assert error.code == "malformed_event"
    assert error.message.startswith(
        "record value (the event's data, binary content mode) is not valid JSON"
    )
    # The attributes are headers, readable though the data is not.
    assert error.request_id == "req-0001"


def test_data_of_another_content_type_is_refused_by_name() -> None:
    value, headers = binary_mode(HAND_WRITTEN_REQUEST, "text/plain")
    error = binary_error(value, headers)
    assert error.code == "invalid_event"
    assert "datacontenttype 'text/plain' is not accepted" in error.message
    assert error.request_id == "req-0001"


def test_no_data_is_a_missing_field() -> None:
    _, headers = binary_mode(HAND_WRITTEN_REQUEST)
    for value in (None, b""):
        error = binary_error(value, headers)
        assert error.code == "invalid_event"
        assert "data: Field required" in error.message


def test_data_that_is_not_an_object_is_invalid() -> None:
    _, headers = binary_mode(HAND_WRITTEN_REQUEST)
    error = binary_error(b'"What are the VAT rates in Germany?"', headers)
    assert error.code == "invalid_event"
    assert error.message.startswith("RequestSubmitted is invalid: data:")


def test_an_oversized_binary_event_counts_its_headers_too() -> None:
    value, headers = binary_mode(
        with_changes(data={"input": "x" * (DEFAULT_MAX_EVENT_BYTES - 100)})
    )
    assert len(value) < DEFAULT_MAX_EVENT_BYTES
    error = binary_error(value, [*headers, ("ce_subject", b"y" * 200)])
    assert error.code == "payload_too_large"
    assert str(DEFAULT_MAX_EVENT_BYTES) in error.message
    assert error.request_id == "req-0001"


@pytest.mark.parametrize(
    ("header", "value", "code", "words"),
    [
        ("ce_id", b"\xff\xfe", "malformed_event", "header 'ce_id' is not a UTF-8 string"),
        ("ce_id", b"evt-0002", "invalid_event", "attribute 'id' is given twice"),
        ("ce_data", b"{}", "invalid_event", "the data is the record value"),
        ("ce_Bad-Name", b"x", "invalid_event", "names no CloudEvents attribute"),
    ],
)
def test_headers_that_make_no_event_are_refused_by_name(
    header: str, value: bytes, code: str, words: str
) -> None:
    data, headers = binary_mode(HAND_WRITTEN_REQUEST)
    error = binary_error(data, [*headers, (header, value)])
    assert error.code == code
    assert words in error.message
    assert error.request_id == "req-0001"


def test_ce_headers_without_ce_specversion_say_so() -> None:
    """Read as structured (the mode has no other sign), with a hint of what is missing."""
    value, headers = binary_mode(without("specversion"))
    error = binary_error(value, headers)
    assert error.code == "unsupported_schema_version"
    assert error.message.startswith("specversion None is not supported")
    assert "ce_* headers but no ce_specversion header" in error.message
    assert error.request_id == "req-0001"
    # A structured record without ce_ headers gets no such hint.
    plain = structured_error(without("specversion"))
    assert "ce_specversion" not in plain.message
    assert decode(orjson.dumps(HAND_WRITTEN_REQUEST), (RequestSubmitted,)).id == "evt-0001"


def test_event_fields_read_either_mode_unvalidated() -> None:
    value, headers = binary_mode(with_changes(id=""))
    fields = event_fields(value, headers)
    assert fields is not None
    assert (fields["requestid"], fields["id"], fields["data"]["input"]) == (
        "req-0001",
        "",
        "What are the VAT rates in Germany?",
    )
    assert event_fields(orjson.dumps(HAND_WRITTEN_REQUEST), STRUCTURED) == HAND_WRITTEN_REQUEST
    assert event_fields(b"not json", STRUCTURED) is None
    assert event_fields(b"not json", headers) == {
        k: str(v) for k, v in HAND_WRITTEN_REQUEST.items() if k != "data"
    } | {"id": ""}


def test_a_refused_structured_record_keeps_the_error_that_refused_it() -> None:
    with pytest.raises(ContractError) as refused:
        decode_record(
            b"{not json", [("content-type", b"application/cloudevents+json")], (RequestSubmitted,)
        )
    assert refused.value.code == "malformed_event"
    # The parser's error, for the log's traceback: not the contract error itself.
    assert isinstance(refused.value.__cause__, orjson.JSONDecodeError)
