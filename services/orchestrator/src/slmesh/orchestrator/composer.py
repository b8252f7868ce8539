"""Composing the answer from the gathered calls.

The figures and facts are quoted, never rewritten: each answered call
contributes the summary its micromodel wrote, verbatim, and a partial or
failed result is said by a fixed sentence the model cannot soften. The model
writes the sentence that opens the answer, saying in the request's words what
follows. A base 270M model asked to write the whole answer, or to report which
parts failed, got facts and statuses wrong (tried: "Espagne is the VAT rate
for Germany"); copying the request's subject into "Here are ..." it does well.
An opening with a digit in it is dropped: numbers only ever come quoted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

import orjson

from slmesh.orchestrator.planning.decomposition import split_request
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import ContextOverflowError, LocalModel, ModelSession, Usage
from slmesh.schemas import CallOutcome, ModelWork, ResponseStatus, TokenUsage

logger = logging.getLogger(__name__)

LEAD_TOKENS = 40
LEAD_SHOTS = [
    ("What is the VAT rate in Spain?", "Here is the VAT rate in Spain."),
    (
        "Summarize this report and classify it as billing or delivery",
        "Here are the summary of the report and its classification.",
    ),
    (
        "Extract the sender and the date from this letter",
        "Here are the sender and the date from the letter.",
    ),
    (
        "Tell me the VAT in Poland and Malta and give me the gist of this",
        "Here are the VAT rates in Poland and Malta, and the gist of the text.",
    ),
    (
        "Which team should handle this email: sales or support?",
        "Here is the team that should handle the email.",
    ),
]
LEAD_PROMPT = "\n".join(
    [
        "Write the first sentence of each answer: say what follows, in the request's words.",
        "",
        *(f"Request: {asked}\nAnswer: {opening}\n" for asked, opening in LEAD_SHOTS),
    ]
)
FALLBACK_LEAD = "Here is what the micromodels answered."
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Composition:
    answer: str
    composer: str
    work: ModelWork | None = None


class Composer(Protocol):
    """What writes an answer's opening; without one, answers are the template alone."""

    async def opening(self, request: str) -> Composition | None:
        """The answer's opening sentence, written while the calls run; None: none this time."""
        ...


class ModelComposer:
    """The model writes the opening sentence; the results follow it verbatim.

    The opening depends on the request only, so it is written while the calls
    run, off the request's critical path. One model serves planning and
    composing; when more than `queue` calls wait for the model, the fixed
    opening is used rather than making plans and answers wait for prose.
    """

    def __init__(self, model: LocalModel, worker: Worker, *, queue: int = 4) -> None:
        self.model = model
        self.worker = worker
        self.name = f"template+{model.id}"
        self.queue = queue

    async def opening(self, request: str) -> Composition | None:
        if self.worker.pending > self.queue:
            # Planning shares this model and comes first: prose is optional.
            logger.info("model busy (%d calls waiting): fixed opening", self.worker.pending)
            return None
        session = ModelSession(self.model)
        try:
            lead = await session.run_in(
                self.worker, lambda: self._lead(session, request), step="compose.opening"
            )
        except ContextOverflowError as exc:
            logger.warning("composer model failed, answering with the fixed opening: %s", exc)
            return None
        return Composition(lead, self.name, model_work(self.model.id, session.usage))

    def _lead(self, session: ModelSession, request: str) -> str:
        instruction = " ".join(split_request(request)[0].split())[:300]
        generation = session.complete(
            f"{LEAD_PROMPT}Request: {instruction}\nAnswer: Here",
            max_tokens=LEAD_TOKENS,
            stop=["\n"],
        )
        return opening("Here" + generation.text)


def model_work(model: str, usage: Usage) -> ModelWork:
    """What a model did for a request, as the response reports it (planning, composing)."""
    return ModelWork(
        model=model,
        tokens=TokenUsage(prompt=usage.prompt_tokens, completion=usage.completion_tokens),
        latency_ms=round(usage.seconds * 1000, 3),
    )


def compose_answer(calls: list[CallOutcome], opening: Composition | None) -> Composition:
    """The answer: the opening (if any, and if anything answered), then the quoted results."""
    body = compose(calls)
    if opening is None or not any(c.status == "ok" for c in calls):
        # Nothing answered: nothing to introduce; the fixed sentence says it failed.
        return Composition(body, "template")
    return Composition(f"{opening.answer}\n{body}", opening.composer, opening.work)


def opening(written: str) -> str:
    """The model's first sentence, or a fixed one when it is unusable (a digit, too short)."""
    sentence = written.split(".")[0].strip() + "."
    if _DIGIT.search(sentence) or len(sentence.split()) < 3:
        logger.info("composer's opening dropped: %r", sentence)
        return FALLBACK_LEAD
    return sentence


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
