"""The answer's opening sentence, written by a model; the rest of the answer is quoted.

The model writes the sentence that opens the answer, saying in the
request's words what follows; what follows is the micromodels' results,
quoted (composition). A base 270M model asked to write the whole answer,
or to report which parts failed, got facts and statuses wrong (tried:
"Espagne is the VAT rate for Germany"); copying the request's subject into
"Here are ..." it does well. An opening with a digit in it is dropped:
numbers only ever come quoted.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from slmesh.orchestrator.composition import Composition
from slmesh.orchestrator.outcomes import model_work
from slmesh.orchestrator.planning.decomposition import split_request
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import ContextOverflowError, ModelSession, template, untrusted
from slmesh.runtime.llm.errors import RemoteModelError
from slmesh.runtime.llm.kind import Model
from slmesh.runtime.registry.placement import Placement
from slmesh.schemas import Classification

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


class Composer(Protocol):
    """What writes an answer's opening; without one, answers are the template alone."""

    @property
    def placement(self) -> Placement:
        """Where its model runs and what it may read: a request it may not read gets the
        fixed opening."""
        ...

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

    def __init__(
        self,
        model: Model,
        worker: Worker,
        *,
        queue: int = 4,
        max_classification: Classification | None = None,
    ) -> None:
        self.model = model
        self.worker = worker
        self.name = f"template+{model.id}"
        self.queue = queue
        # A remote model reads public requests only, unless its operator says more.
        self._placement = Placement(
            locality=model.locality,
            provider=model.provider,
            max_classification=max_classification
            or ("public" if model.locality == "remote" else "restricted"),
        )

    @property
    def placement(self) -> Placement:
        return self._placement

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
        except (ContextOverflowError, RemoteModelError) as exc:
            logger.warning("composer model failed, answering with the fixed opening: %s", exc)
            return None
        return Composition(lead, self.name, model_work(self.model.id, session.usage))

    def _lead(self, session: ModelSession, request: str) -> str:
        instruction = " ".join(split_request(request)[0].split())[:300]
        generation = session.complete(
            template(f"{LEAD_PROMPT}Request: ")
            + untrusted(instruction)
            + template("\nAnswer: Here"),
            max_tokens=LEAD_TOKENS,
            stop=["\n"],
        )
        return opening("Here" + generation.text)


def opening(written: str) -> str:
    """The model's first sentence, or a fixed one when it is unusable (a digit, too short)."""
    sentence = written.split(".")[0].strip() + "."
    if _DIGIT.search(sentence) or len(sentence.split()) < 3:
        logger.info("composer's opening dropped: %r", sentence)
        return FALLBACK_LEAD
    return sentence
