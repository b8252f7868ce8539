"""`slmesh trace <request-id>`: a request's hops as a waterfall, from the topics alone.

Its records (the request, each task, each reply, the response) are found by
their key, the request id, and laid out on the time of their records: when
each task was sent, how long it waited before its micromodel took it, how
long the micromodel worked on it (the reply's `latency_ms`), and the gaps
between hops. No tracing backend is needed; with one, the same request is
one trace (docs/architecture.md).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from slmesh.cli.records import Seen, mesh_topic_names, read_to_end, same_request
from slmesh.runtime.settings import MeshSettings


@dataclass
class CallRow:
    task_id: str
    micromodel: str
    arguments: dict[str, Any]
    sent_ms: int
    round: int = 1
    replied_ms: int | None = None
    status: str = "missing"  # ok, failed, or missing (no reply on the topics)
    code: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    replica: str | None = None
    duplicates: int = 0
    # The pipeline step that made the call, as the response names it.
    step: str | None = None

    @property
    def number(self) -> int:
        tail = self.task_id.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    @property
    def queue_ms(self) -> float | None:
        """From the task's record to the start of the micromodel's work (as its reply says)."""
        if self.replied_ms is None or self.latency_ms is None:
            return None
        return max(self.replied_ms - self.latency_ms - self.sent_ms, 0.0)


@dataclass
class TraceTree:
    request_id: str
    received_ms: int | None = None
    input: str = ""
    calls: list[CallRow] = field(default_factory=list)
    responded_ms: int | None = None
    response: dict[str, Any] | None = None
    # Calls the response names that no task topic holds: refused before they were
    # published (arguments failing the input schema), or deferred and never run.
    unpublished: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start_ms(self) -> int:
        times = [self.received_ms, *(c.sent_ms for c in self.calls), self.responded_ms]
        return min(t for t in times if t is not None)

    @property
    def end_ms(self) -> int:
        times = [
            self.received_ms,
            self.responded_ms,
            *(c.replied_ms or c.sent_ms for c in self.calls),
        ]
        return max(t for t in times if t is not None)


def build(request_id: str, records: Iterable[Seen]) -> TraceTree:
    """The request's tree from its records, in any order."""
    tree = TraceTree(request_id)
    replies: list[Seen] = []
    for seen in sorted(records, key=lambda s: (s.timestamp_ms, s.topic, s.offset)):
        if not same_request(seen, request_id):
            continue
        kind, data = (seen.type or "").rsplit(".", 1)[-1], seen.data
        if kind == "RequestSubmitted" and tree.received_ms is None:
            tree.received_ms, tree.input = seen.timestamp_ms, str(data.get("input", ""))
        elif kind == "TaskRequested" and not any(
            c.task_id == data.get("task_id") for c in tree.calls
        ):
            tree.calls.append(
                CallRow(
                    task_id=str(data.get("task_id")),
                    micromodel=str(data.get("micromodel")),
                    arguments=dict(data.get("arguments") or {}),
                    sent_ms=seen.timestamp_ms,
                )
            )
        elif kind in ("TaskCompleted", "TaskFailed"):
            replies.append(seen)
        elif kind == "RequestCompleted" and tree.response is None:
            tree.responded_ms, tree.response = seen.timestamp_ms, data
    by_id = {c.task_id: c for c in tree.calls}
    for seen in replies:
        _reply(by_id.get(str(seen.data.get("task_id"))), seen)
    tree.calls.sort(key=lambda c: (c.number, c.sent_ms))
    _rounds(tree.calls)
    outcomes = (tree.response or {}).get("calls")
    for outcome in outcomes if isinstance(outcomes, list) else []:
        row = by_id.get(str(outcome.get("task_id"))) if isinstance(outcome, dict) else None
        if row is not None and isinstance(outcome.get("step"), str):
            row.step = outcome["step"]
    tree.unpublished = [
        c
        for c in (outcomes if isinstance(outcomes, list) else [])
        if isinstance(c, dict) and c.get("task_id") not in by_id
    ]
    return tree


def _reply(call: CallRow | None, seen: Seen) -> None:
    if call is None:
        return
    if call.replied_ms is not None:
        call.duplicates += 1  # at-least-once: counted once by the mesh, shown once here
        return
    data = seen.data
    call.replied_ms = seen.timestamp_ms
    call.latency_ms = float(data.get("latency_ms") or 0.0)
    call.replica = data.get("replica")
    if (seen.type or "").endswith("TaskCompleted"):
        tokens = data.get("tokens") or {}
        call.status, call.model = "ok", data.get("model")
        call.prompt_tokens, call.completion_tokens = tokens.get("prompt"), tokens.get("completion")
    else:
        call.status, call.code = "failed", (data.get("error") or {}).get("code")


def _rounds(calls: list[CallRow]) -> None:
    """A call sent once every earlier call had its reply belongs to a later round."""
    current, replied_by = 1, 0
    for i, call in enumerate(calls):
        earlier = calls[:i]
        if earlier and all(c.replied_ms is not None for c in earlier):
            replied_by = max(c.replied_ms or 0 for c in earlier)
            if call.sent_ms >= replied_by and calls[i - 1].round == current:
                prior = [c for c in earlier if c.round == current]
                if all((c.replied_ms or 0) <= call.sent_ms for c in prior):
                    current += 1
        call.round = current


def _bar(start: float, end: float, lo: int, span: float, width: int, fill: str = "█") -> str:
    a = int((start - lo) / span * (width - 1)) if span else 0
    b = max(int((end - lo) / span * (width - 1)) if span else 0, a)
    return " " * a + fill * (b - a + 1) + " " * (width - 1 - b)


def _ms(value: float | None) -> str:
    # Six characters at most: tenths below 10 s, whole milliseconds above.
    return "-" if value is None else f"{value:.1f}" if value < 9999.95 else f"{value:.0f}"


def _call_label(call: CallRow, limit: int = 40) -> str:
    args = ", ".join(f"{k}={_short(v)}" for k, v in call.arguments.items())
    step = f"[{call.step}] " if call.step is not None else ""
    label = f"#{call.number} {step}{call.micromodel}({args})"
    return label if len(label) <= limit else label[: limit - 2] + "…)"


def _short(value: object, limit: int = 18) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(tree: TraceTree, width: int | None = None) -> str:
    """The waterfall; its bars `width` characters wide, by default what the terminal leaves."""
    lo, span = tree.start_ms, max(tree.end_ms - tree.start_ms, 1)
    response = tree.response or {}
    status = response.get("status", "no response yet")
    lines = [
        f"request {tree.request_id}: {status}"
        + (f" in {float(response['elapsed_ms']):.1f} ms" if "elapsed_ms" in response else "")
        + (
            f" (planner {response.get('planner')}, composer {response.get('composer')}, "
            f"{response.get('steps', 1)} round(s))"
            if response
            else ""
        ),
        f"input: {_short(' '.join(tree.input.split()), 100)}",
        "",
    ]
    label_width = max([len(_call_label(c)) for c in tree.calls] + [18])
    if width is None:
        # The columns besides the bar take about 60 characters (status, model, tokens).
        columns = shutil.get_terminal_size((120, 24)).columns
        width = max(16, min(60, columns - label_width - 60))
    scale = f"0 ms{' ' * (width - 4 - len(str(span)) - 3)}{span} ms"
    lines.append(
        f"{'':<{label_width}}  {scale}  {'at':>6} {'queue':>6} {'work':>6}  status, model, tokens"
    )
    if tree.received_ms is not None:
        at = tree.received_ms - lo
        lines.append(
            f"{'request received':<{label_width}} |{_bar(at, at, 0, span, width)}| {at:>6}"
        )
    shown_round = 0
    for call in tree.calls:
        if call.round != shown_round:
            shown_round = call.round
            lines.append(f"round {shown_round}")
        start, end = call.sent_ms - lo, (call.replied_ms or call.sent_ms) - lo
        # A call with no reply: the wait from its task to the response (or the end), light.
        fill = "█" if call.replied_ms is not None else "░"
        if call.replied_ms is None:
            end = (tree.responded_ms or tree.end_ms) - lo
        outcome = call.status if call.code is None else f"failed {call.code}"
        detail = [outcome, call.model or ""]
        if call.prompt_tokens is not None:
            detail.append(f"{call.prompt_tokens}+{call.completion_tokens} tokens")
        if call.duplicates:
            detail.append(f"(+{call.duplicates} duplicate reply)")
        lines.append(
            f"{_call_label(call):<{label_width}} |{_bar(start, end, 0, span, width, fill)}| "
            f"{start:>6} "
            f"{_ms(call.queue_ms):>6} {_ms(call.latency_ms):>6}  "
            + ", ".join(d for d in detail if d)
        )
    if tree.responded_ms is not None:
        at = tree.responded_ms - lo
        lines.append(
            f"{'response published':<{label_width}} |{_bar(at, at, 0, span, width)}| {at:>6}"
        )
    if tree.unpublished:
        lines += ["", "never on a task topic (refused before publishing, or not run):"]
        lines += [f"  {_unpublished(c)}" for c in tree.unpublished]
    lines += ["", "gaps: " + "; ".join(gaps(tree))]
    for what in ("planning", "composing"):
        work = response.get(what)
        if work:
            tokens = work.get("tokens") or {}
            lines.append(
                f"{what}: {work.get('model')}, {tokens.get('prompt')}+{tokens.get('completion')} "
                f"tokens, {float(work.get('latency_ms', 0)):.1f} ms"
            )
    return "\n".join(lines)


def _unpublished(outcome: dict[str, Any]) -> str:
    arguments = outcome.get("arguments")
    args = ", ".join(
        f"{k}={_short(v)}" for k, v in (arguments if isinstance(arguments, dict) else {}).items()
    )
    error = outcome.get("error") if isinstance(outcome.get("error"), dict) else None
    said = f"{outcome.get('task_id')} {outcome.get('micromodel')}({args}): {outcome.get('status')}"
    if error:
        said += f" {error.get('code')}: {_short(str(error.get('message', '')), 80)}"
    return said


def gaps(tree: TraceTree) -> list[str]:
    """The time between hops that no micromodel spent: the mesh's own and the broker's."""
    said = []
    sent = [c.sent_ms for c in tree.calls]
    if tree.received_ms is not None and sent:
        said.append(f"request → first task {min(sent) - tree.received_ms} ms")
    for later in sorted({c.round for c in tree.calls} - {1}):
        before = [c.replied_ms for c in tree.calls if c.round == later - 1 and c.replied_ms]
        first = min(c.sent_ms for c in tree.calls if c.round == later)
        if before:
            said.append(
                f"round {later - 1}'s last reply → round {later}'s first task "
                f"{first - max(before)} ms"
            )
    replied = [c.replied_ms for c in tree.calls if c.replied_ms is not None]
    if tree.responded_ms is not None and replied:
        said.append(f"last reply → response {tree.responded_ms - max(replied)} ms")
    missing = [c.task_id for c in tree.calls if c.status == "missing"]
    if missing:
        said.append(f"no reply on the topics for {', '.join(missing)}")
    return said or ["none to show"]


def as_json(tree: TraceTree) -> dict[str, Any]:
    return {
        "request_id": tree.request_id,
        "input": tree.input,
        "received_ms": tree.received_ms,
        "responded_ms": tree.responded_ms,
        "response": tree.response,
        "calls": [{**asdict(c), "queue_ms": c.queue_ms} for c in tree.calls],
        "unpublished": tree.unpublished,
        "gaps": gaps(tree),
    }


async def collect(settings: MeshSettings, request_id: str) -> TraceTree:
    """Read every mesh topic (and nothing else) for the request's records."""
    topics = await mesh_topic_names(settings)
    found = [s async for s in read_to_end(settings, topics) if same_request(s, request_id)]
    tree = build(request_id, found)
    reply_topic = None
    for seen in found:
        if seen.type and seen.type.endswith("RequestSubmitted"):
            reply_topic = seen.data.get("reply_topic")
    if tree.response is None and isinstance(reply_topic, str) and reply_topic not in topics:
        # Answered on the requester's own topic.
        extra = [s async for s in read_to_end(settings, [reply_topic])]
        tree = build(request_id, [*found, *(s for s in extra if same_request(s, request_id))])
    return tree
