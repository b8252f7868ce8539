"""Routing by classification and locality, and what personal data does to it."""

from __future__ import annotations

from typing import Any

import pytest

from slmesh.orchestrator.policy.routing import (
    Candidate,
    Found,
    ordered,
    pii_classification,
    route_call,
)
from slmesh.runtime.registry.placement import CLASSIFICATIONS, Placement, Price, rank
from slmesh.schemas import Classification

ARGS: dict[str, Any] = {"text": "quarterly revenue grew"}
WITH_EMAIL: dict[str, Any] = {"text": "write to jane@example.org"}


def scan(value: Any) -> Found:
    # The test's own finder: an "@" is an email. The real finder is tested on its own.
    return {"email": 1} if "@" in str(value) else {}


def redact(value: Any) -> tuple[Any, Found]:
    return {"text": "write to [EMAIL]"}, {"email": 1}


def no_scan(value: Any) -> Found:
    raise AssertionError("on-premise payloads are never searched")


def remote(max_classification: Classification = "public", **kw: Any) -> Placement:
    return Placement(
        locality="remote", provider="cloud.example", max_classification=max_classification, **kw
    )


@pytest.mark.parametrize("locality", ["on-premise", "remote"])
@pytest.mark.parametrize("allowed", CLASSIFICATIONS)
@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_every_classification_against_every_locality_and_limit(
    classification: Classification, allowed: Classification, locality: str
) -> None:
    place = Placement(locality=locality, provider="p", max_classification=allowed)  # type: ignore[arg-type]
    routed = route_call(
        "m", ARGS, classification, [Candidate("m", place)], scan=scan, redact=redact
    )
    if rank(classification) <= rank(allowed):
        assert routed.goes
        assert routed.micromodel == "m"
        assert routed.routing.decision == "sent"
        assert routed.routing.classification == classification
        assert routed.routing.locality == locality
    else:
        assert not routed.goes
        assert routed.error_code == "classification_denied"
        assert routed.routing.decision == "denied"
        reason = routed.routing.reason or ""
        assert classification in reason
        assert allowed in reason
        assert "m (" in reason


@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_a_call_the_remote_may_not_receive_goes_to_the_local_alternative(
    classification: Classification,
) -> None:
    candidates = ordered(
        "summarizer-cloud",
        [Candidate("summarizer", Placement()), Candidate("summarizer-cloud", remote())],
        prefer_remote=True,
        named=True,
    )
    routed = route_call(
        "summarizer-cloud", ARGS, classification, candidates, scan=scan, redact=redact
    )
    assert routed.goes
    if classification == "public":
        assert (routed.micromodel, routed.routing.decision) == ("summarizer-cloud", "sent")
        assert routed.routing.locality == "remote"
    else:
        assert (routed.micromodel, routed.routing.decision) == ("summarizer", "rerouted")
        assert routed.routing.locality == "on-premise"


def test_denied_names_the_classification_and_every_candidate() -> None:
    routed = route_call(
        "summarizer-cloud",
        ARGS,
        "confidential",
        [Candidate("summarizer-cloud", remote("internal")), Candidate("other", remote())],
        scan=scan,
        redact=redact,
    )
    assert routed.error_code == "classification_denied"
    reason = routed.routing.reason or ""
    assert "confidential" in reason
    assert "summarizer-cloud (remote at cloud.example, may receive up to internal)" in reason
    assert "other (remote at cloud.example, may receive up to public)" in reason


def test_on_premise_payloads_are_never_searched() -> None:
    routed = route_call(
        "m", WITH_EMAIL, "restricted", [Candidate("m", Placement())], scan=no_scan, redact=redact
    )
    assert routed.routing.decision == "sent"
    assert routed.routing.pii == {}


def test_personal_data_bound_for_a_remote_goes_local_by_default() -> None:
    candidates = [Candidate("cloud", remote()), Candidate("local", Placement())]
    routed = route_call("cloud", WITH_EMAIL, "public", candidates, scan=scan, redact=redact)
    assert (routed.micromodel, routed.routing.decision) == ("local", "rerouted")
    # Found while the remote was considered: recorded with the call that went local.
    assert routed.routing.pii == {"email": 1}
    assert routed.routing.classification == "confidential"
    assert routed.arguments == WITH_EMAIL


def test_personal_data_with_no_local_alternative_is_denied_at_its_raised_classification() -> None:
    routed = route_call(
        "cloud", WITH_EMAIL, "public", [Candidate("cloud", remote())], scan=scan, redact=redact
    )
    assert routed.error_code == "classification_denied"
    assert routed.routing.classification == "confidential"
    assert "email (1)" in (routed.routing.reason or "")
    assert "jane@example.org" not in (routed.routing.reason or "")


def test_redact_sends_the_arguments_with_the_data_replaced() -> None:
    routed = route_call(
        "cloud",
        WITH_EMAIL,
        "public",
        [Candidate("cloud", remote(on_pii="redact")), Candidate("local", Placement())],
        scan=scan,
        redact=redact,
    )
    assert (routed.micromodel, routed.routing.decision) == ("cloud", "redacted")
    assert routed.arguments == {"text": "write to [EMAIL]"}
    assert routed.routing.classification == "public"
    assert routed.routing.pii == {"email": 1}


def test_refuse_fails_the_call_even_with_a_local_alternative() -> None:
    routed = route_call(
        "cloud",
        WITH_EMAIL,
        "public",
        [Candidate("cloud", remote(on_pii="refuse")), Candidate("local", Placement())],
        scan=scan,
        redact=redact,
    )
    assert not routed.goes
    assert routed.error_code == "pii_refused"
    assert routed.routing.decision == "refused"


def test_a_remote_cleared_for_confidential_data_receives_personal_data() -> None:
    routed = route_call(
        "cloud",
        WITH_EMAIL,
        "internal",
        [Candidate("cloud", remote("confidential"))],
        scan=scan,
        redact=redact,
    )
    assert routed.routing.decision == "sent"
    assert routed.routing.classification == "confidential"


def test_financial_and_national_ids_are_restricted_the_rest_confidential() -> None:
    assert pii_classification({}) == "public"
    assert pii_classification({"email": 0}) == "public"
    assert pii_classification({"person": 2, "phone": 1}) == "confidential"
    assert pii_classification({"person": 1, "iban": 1}) == "restricted"
    assert pii_classification({"card": 1}) == "restricted"
    assert pii_classification({"national_id": 1}) == "restricted"


def test_order_remote_first_when_preferred_named_first_when_named_then_cheapest() -> None:
    cheap = Candidate("b-cloud", remote(price=Price(0.1, 0.2)))
    dear = Candidate("a-cloud", remote(price=Price(1.0, 2.0)))
    local = Candidate("local", Placement())
    both = [local, dear, cheap]
    assert [c.name for c in ordered("local", both, prefer_remote=True, named=False)] == [
        "b-cloud",
        "a-cloud",
        "local",
    ]
    assert [c.name for c in ordered("local", both, prefer_remote=False, named=False)] == [
        "local",
        "b-cloud",
        "a-cloud",
    ]
    assert [c.name for c in ordered("a-cloud", both, prefer_remote=False, named=True)] == [
        "a-cloud",
        "local",
        "b-cloud",
    ]


def test_local_means_on_premise_even_when_another_remote_would_take_it_redacted() -> None:
    candidates = [
        Candidate("cloud", remote()),
        Candidate("cloud-redacting", remote(on_pii="redact")),
        Candidate("local", Placement()),
    ]
    routed = route_call("cloud", WITH_EMAIL, "public", candidates, scan=scan, redact=redact)
    assert (routed.micromodel, routed.routing.decision) == ("local", "rerouted")
    alone = route_call("cloud", WITH_EMAIL, "public", candidates[:2], scan=scan, redact=redact)
    assert alone.error_code == "classification_denied"
    assert "sends to an on-premise micromodel" in (alone.routing.reason or "")
