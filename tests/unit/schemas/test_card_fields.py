"""A registry card's fields about where a micromodel runs: defaults for a card without them,
and the bounds of each."""

from __future__ import annotations

from typing import Any, get_args

import orjson
import pytest

from slmesh.schemas import ContractError, ErrorCode, ErrorInfo, MicromodelAnnounced, decode

# A card as a replica wrote it before the fields existed.
OLD_CARD: dict[str, Any] = {
    "specversion": "1.0",
    "id": "card-1",
    "source": "/slmesh/summarizer/summarizer-1",
    "type": "slmesh.MicromodelAnnounced",
    "time": "2026-11-22T16:00:00Z",
    "dataschema": "urn:slmesh:MicromodelAnnounced:v1",
    "requestid": "registry",
    "data": {
        "name": "summarizer",
        "version": "0.1.0",
        "description": "Summarizes a text.",
        "input_schema": {"type": "object"},
        "output_schema": {"type": "object"},
        "topic": "slmesh.tasks.summarizer",
        "model": "gemma-3-270m-q4_k_m",
        "replica": "summarizer-1",
        "status": "up",
        "heartbeat_s": 5,
    },
}
PRICE = {"input_per_mtok": 0.15, "output_per_mtok": 0.6, "currency": "EUR"}


def with_data(**fields: Any) -> bytes:
    return orjson.dumps({**OLD_CARD, "data": {**OLD_CARD["data"], **fields}})


def card(**fields: Any) -> MicromodelAnnounced:
    return decode(with_data(**fields), (MicromodelAnnounced,))


def refused(**fields: Any) -> str:
    with pytest.raises(ContractError) as info:
        card(**fields)
    return info.value.message


def test_a_card_without_the_fields_is_an_on_premise_micromodel_that_may_receive_anything() -> None:
    data = card().data
    assert (data.locality, data.provider, data.max_classification) == (
        "on-premise",
        None,
        "restricted",
    )
    assert (data.on_pii, data.serves, data.price) == ("local", None, None)


def test_a_remote_card_says_who_runs_it_what_it_may_receive_and_what_it_costs() -> None:
    data = card(
        name="summarizer-cloud",
        locality="remote",
        provider="api.openai.com",
        max_classification="internal",
        on_pii="redact",
        serves="summarizer",
        price=PRICE,
    ).data
    assert (data.locality, data.provider, data.serves) == ("remote", "api.openai.com", "summarizer")
    assert data.price is not None
    assert (data.price.input_per_mtok, data.price.output_per_mtok) == (0.15, 0.6)
    assert data.price.currency == "EUR"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"locality": "cloud"}, "locality"),
        ({"provider": "x" * 129}, "provider"),
        ({"provider": ""}, "provider"),
        ({"max_classification": "secret"}, "max_classification"),
        ({"on_pii": "send"}, "on_pii"),
        ({"serves": "Not A Name"}, "serves"),
        ({"price": {**PRICE, "input_per_mtok": -1}}, "input_per_mtok"),
        ({"price": {**PRICE, "output_per_mtok": 1e9}}, "output_per_mtok"),
        ({"price": {**PRICE, "currency": "euro"}}, "currency"),
        ({"price": {"input_per_mtok": 1}}, "output_per_mtok"),
        ({"price": {**PRICE, "per_request": 1}}, "per_request"),
    ],
)
def test_each_field_is_bounded(fields: dict[str, Any], said: str) -> None:
    assert said in refused(**fields)


@pytest.mark.parametrize(
    "code", ["remote_unavailable", "remote_timeout", "remote_rate_limited", "remote_error"]
)
def test_a_remote_models_failure_is_a_code_of_the_contract(code: str) -> None:
    assert code in get_args(ErrorCode)
    error = ErrorInfo.about(code, "remote model m at api.example.com: ...", retryable=True)  # type: ignore[arg-type]
    assert ErrorInfo.model_validate_json(error.model_dump_json()) == error
