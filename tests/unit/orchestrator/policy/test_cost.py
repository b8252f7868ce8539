"""A request's cost: tokens at the price recorded with each call, and its local share."""

from __future__ import annotations

from typing import Any

import pytest

from slmesh.orchestrator.policy.cost import cost_of, cost_report
from slmesh.schemas import CallOutcome, CallRouting, ModelPrice, ModelWork, TokenUsage

CLOUD = ModelPrice(input_per_mtok=2.0, output_per_mtok=8.0)


def routing(locality: str) -> CallRouting:
    return CallRouting.model_validate(
        {
            "requested": "summarizer",
            "locality": locality,
            "provider": "cloud.example" if locality == "remote" else None,
            "classification": "public",
            "decision": "sent",
        }
    )


def call(n: int, locality: str, tokens: tuple[int, int] | None, **kw: Any) -> CallOutcome:
    spent = TokenUsage(prompt=tokens[0], completion=tokens[1]) if tokens else None
    price = CLOUD if locality == "remote" else None
    return CallOutcome(
        task_id=f"dev:r:{n}",
        micromodel="summarizer-cloud" if locality == "remote" else "summarizer",
        arguments={},
        status=kw.pop("status", "ok"),
        model="big-model" if locality == "remote" else "gemma",
        tokens=spent,
        cost=cost_of(spent, price),
        routing=routing(locality),
        **kw,
    )


def test_cost_of_tokens_at_a_price() -> None:
    assert cost_of(TokenUsage(prompt=1_000_000, completion=500_000), CLOUD) == pytest.approx(6.0)
    assert cost_of(TokenUsage(prompt=10, completion=10), None) == 0.0
    assert cost_of(None, CLOUD) is None


def test_report_sums_calls_and_the_orchestrators_own_model_per_model() -> None:
    report = cost_report(
        [call(1, "remote", (1000, 200)), call(2, "on-premise", (500, 50)), call(3, "remote", None)],
        planning=ModelWork(
            model="planner", tokens=TokenUsage(prompt=300, completion=0), latency_ms=1
        ),
        planning_price=ModelPrice(input_per_mtok=1.0, output_per_mtok=0.0, currency="EUR"),
    )
    assert report.tokens == TokenUsage(prompt=1800, completion=250)
    assert report.by_model == {
        "big-model@cloud.example": pytest.approx(0.0036),
        "gemma": 0.0,
        "planner": pytest.approx(0.0003),
    }
    assert report.total == pytest.approx(0.0039)
    assert report.currency == "EUR"
    assert report.remote_calls == 2
    assert report.local_share == pytest.approx(1 / 3, abs=1e-4)


def test_failed_calls_do_not_count_in_the_local_share() -> None:
    report = cost_report([call(1, "remote", None, status="failed"), call(2, "on-premise", (1, 1))])
    assert report.remote_calls == 0
    assert report.local_share == 1.0
    assert cost_report([]).local_share == 1.0
