"""Composing the answer from the gathered calls.

Deterministic for now: each answered call contributes the summary its
micromodel wrote, quoted verbatim, so numbers are never paraphrased wrong.
"""

from __future__ import annotations

import orjson

from slmesh.schemas import CallOutcome, ResponseStatus


def describe_call(call: CallOutcome) -> str:
    args = ", ".join(f"{k}={v}" for k, v in call.arguments.items())
    return f"{call.micromodel}({args})"


def response_status(calls: list[CallOutcome]) -> ResponseStatus:
    answered = sum(c.status == "ok" for c in calls)
    if answered == len(calls):
        return "ok"
    return "partial" if answered else "failed"


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
