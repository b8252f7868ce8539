"""Where a call may go: the classification of its payload against where each candidate runs.

A call names a micromodel; every live micromodel that serves the same tool
(its card's `serves`, else its name) is a candidate. A candidate receives
the call only if its card admits the payload's classification. Before a
payload may leave the premises (a remote candidate) its arguments are
searched for personal data: found, it raises the payload's classification
(`pii_classification`) and, where the remote candidate may not receive that,
its card's `on_pii` decides: `local` sends it to the next on-premise
candidate (no other remote one is tried), `redact` sends the arguments with
the data replaced, `refuse` fails the call.
Nothing is found on-premise, and nothing is searched there: the data stays.

Every decision is recorded (`CallRouting`), never the data itself. Pure: the
search and the redaction are given, so the rules are tested without I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slmesh.runtime.pii import PiiKind
from slmesh.runtime.registry.placement import Placement, Price, highest
from slmesh.schemas import CallRouting, Classification, ErrorCode

# The kinds of personal data found, with counts (slmesh.runtime.pii.scan_arguments).
Found = Mapping[PiiKind, int]
Scan = Callable[[Any], Found]
# The arguments with their personal data replaced, and what was replaced.
Redact = Callable[[Any], tuple[Any, Found]]

# Data that opens accounts or identifies a person to the state is restricted; the rest
# of a person's data confidential.
_RESTRICTED_KINDS = frozenset({"iban", "card", "national_id"})


def pii_classification(found: Found) -> Classification:
    """The classification personal data of these kinds gives a payload that carries it."""
    kinds = {kind for kind, count in found.items() if count > 0}
    if not kinds:
        return "public"
    return "restricted" if kinds & _RESTRICTED_KINDS else "confidential"


@dataclass(frozen=True)
class Candidate:
    """A live micromodel that serves the call's tool, and where it runs."""

    name: str
    placement: Placement


@dataclass(frozen=True)
class Routed:
    """Where a call goes (`micromodel`), with what (`arguments`), and the record of why.

    A call that is `refused` or `denied` goes nowhere: it fails with `error_code`.
    """

    micromodel: str
    arguments: dict[str, Any]
    routing: CallRouting
    # What the micromodel it goes to charges for its tokens (None: free).
    price: Price | None = None

    @property
    def goes(self) -> bool:
        return self.routing.decision in ("sent", "rerouted", "redacted")

    @property
    def error_code(self) -> ErrorCode:
        return failure_code(self.routing)


def failure_code(routing: CallRouting) -> ErrorCode:
    """The error of a call routed nowhere: refused for its personal data, or denied."""
    return "pii_refused" if routing.decision == "refused" else "classification_denied"


def ordered(
    requested: str, candidates: Sequence[Candidate], *, prefer_remote: bool, named: bool
) -> list[Candidate]:
    """The candidates in the order they are tried.

    `named`: the caller named the micromodel itself (explicit calls): it is tried first.
    Else, where the data may leave, a remote model (the bigger one, deployed to be used)
    comes first when `prefer_remote`; then the cheapest; then by name, so that every
    replica routes alike.
    """

    def key(candidate: Candidate) -> tuple[bool, bool, float, str]:
        price = candidate.placement.price
        cost = price.input_per_mtok + price.output_per_mtok if price is not None else 0.0
        first = named and candidate.name == requested
        return (not first, candidate.placement.remote != prefer_remote, cost, candidate.name)

    return sorted(candidates, key=key)


def route_call(
    requested: str,
    arguments: dict[str, Any],
    classification: Classification,
    candidates: Sequence[Candidate],
    *,
    scan: Scan,
    redact: Redact,
) -> Routed:
    """Where a call of `classification` to `requested` goes, trying `candidates` in order.

    `candidates` must not be empty (a call to a micromodel nobody serves fails as unknown
    before it is routed).
    """
    found: dict[PiiKind, int] | None = None
    turned_away: list[str] = []
    # Set when a remote candidate sent the payload's personal data local: it stays here.
    local_only = False
    for candidate in candidates:
        place = candidate.placement
        if local_only and place.remote:
            continue
        if not place.admits(classification):
            turned_away.append(f"{candidate.name} ({place.describe()})")
            continue
        if not place.remote:
            # Personal data found on the way (a remote candidate turned it away) is recorded,
            # and the classification it gives the payload.
            raised = highest(classification, pii_classification(found or {}))
            return _goes(requested, candidate, arguments, raised, found or {})
        if found is None:
            found = {kind: n for kind, n in scan(arguments).items() if n > 0}
        if not found:
            return _goes(requested, candidate, arguments, classification, found)
        raised = highest(classification, pii_classification(found))
        if place.admits(raised):
            return _goes(requested, candidate, arguments, raised, found)
        if place.on_pii == "redact":
            redacted, _ = redact(arguments)
            return Routed(
                candidate.name,
                redacted,
                _record(
                    requested,
                    place,
                    classification,
                    found,
                    "redacted",
                    f"its arguments carry {_kinds(found)}, which {candidate.name} may not "
                    f"receive ({place.describe()}): sent with them replaced",
                ),
                place.price,
            )
        if place.on_pii == "refuse":
            return Routed(
                candidate.name,
                arguments,
                _record(
                    requested,
                    place,
                    raised,
                    found,
                    "refused",
                    f"its arguments carry {_kinds(found)} (making them {raised}), which "
                    f"{candidate.name} may not receive ({place.describe()}) and refuses "
                    "redacted",
                ),
            )
        turned_away.append(
            f"{candidate.name} ({place.describe()}; the arguments carry {_kinds(found)}, "
            f"making them {raised}, which it sends to an on-premise micromodel)"
        )
        local_only = True
    shown = candidates[0]
    denied = highest(classification, pii_classification(found or {}))
    return Routed(
        requested,
        arguments,
        _record(
            requested,
            shown.placement,
            denied,
            found or {},
            "denied",
            f"a {classification} call to {requested} may go to no micromodel serving it: "
            + "; ".join(turned_away),
        ),
    )


def _goes(
    requested: str,
    candidate: Candidate,
    arguments: dict[str, Any],
    classification: Classification,
    found: Found,
) -> Routed:
    rerouted = candidate.name != requested
    return Routed(
        candidate.name,
        arguments,
        _record(
            requested,
            candidate.placement,
            classification,
            found,
            "rerouted" if rerouted else "sent",
            f"to {candidate.name} ({candidate.placement.describe()})" if rerouted else None,
        ),
        candidate.placement.price,
    )


def _record(
    requested: str,
    place: Placement,
    classification: Classification,
    found: Found,
    decision: str,
    reason: str | None,
) -> CallRouting:
    return CallRouting.model_validate(
        {
            "requested": requested,
            "locality": place.locality,
            "provider": place.provider,
            "classification": classification,
            "pii": dict(found),
            "decision": decision,
            "reason": reason,
        }
    )


def _kinds(found: Found) -> str:
    return ", ".join(f"{kind} ({count})" for kind, count in sorted(found.items()))
