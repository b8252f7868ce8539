"""The answer's text, from the gathered calls: pure functions, no model, no I/O.

The figures and facts are quoted, never rewritten: each answered call
contributes the summary its micromodel wrote, verbatim, and a partial or
failed result is said by a fixed sentence no model can soften. A sentence
written by the composer's model (composer) may open the answer; nothing else
in it is written by a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from slmesh.schemas import CallOutcome, ModelWork


@dataclass(frozen=True)
class Composition:
    answer: str
    composer: str
    work: ModelWork | None = None


def compose_answer(calls: list[CallOutcome], opening: Composition | None) -> Composition:
    """The answer: the opening (if any, and if anything answered), then the quoted results."""
    body = compose(calls)
    if opening is None or not any(c.status == "ok" for c in calls):
        # Nothing answered: nothing to introduce; the fixed sentence says it failed.
        return Composition(body, "template")
    return Composition(f"{opening.answer}\n{body}", opening.composer, opening.work)


def describe_call(call: CallOutcome) -> str:
    args = ", ".join(f"{k}={v}" for k, v in call.arguments.items())
    return f"{call.micromodel}({args})"


def compose(calls: list[CallOutcome]) -> str:
    lines: list[str] = []
    missing = [c for c in calls if c.status == "missing"]
    failed = [c for c in calls if c.status == "failed"]
    answered = [c for c in calls if c.status == "ok"]
    if answered and (missing or failed):
        lines.append(f"Partial answer: {len(answered)} of {len(calls)} calls answered.")
    elif not answered:
        lines.append(f"No answer: none of the {len(calls)} calls succeeded.")
    for call in answered:
        if call.summary:
            lines.append(call.summary)
        else:
            text = orjson.dumps(call.output, option=orjson.OPT_SORT_KEYS).decode()
            lines.append(f"{describe_call(call)}: {text}")
    for call in failed:
        assert call.error is not None
        lines.append(f"Failed: {describe_call(call)}: {call.error.code}: {call.error.message}")
    if missing:
        names = "; ".join(describe_call(c) for c in missing)
        lines.append(f"Missing (no reply before the deadline): {names}")
    return "\n".join(lines)
