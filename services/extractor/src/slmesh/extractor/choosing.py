"""The model's part: choosing among a field's candidates, never writing a value.

Each option is scored by its likelihood as the answer to a question about the
document, and calibrated by its likelihood for a content-free document (as the
classifier does): a small model favours short or common strings whatever the text,
and the difference says how much *this* document supports the option.

All questions about one document share its text as their prompt's head, so the model
reads the document once (score_options keeps the prompt's KV cache); the content-free
prompts are short and asked after them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

from slmesh.runtime.llm import ModelSession, Prompt, template, untrusted

CONTENT_FREE: Final = "N/A"
INSTRUCTION: Final = "Answer each question about the document with a value copied from it.\n\n"
# Leaders and runs of blanks ("Total ........ £124.91") cost tokens and say nothing.
_LEADERS: Final = re.compile(r"[.·_]{3,}|[ \t]{2,}")


@dataclass(frozen=True)
class Question:
    """A field's question and the options to choose from (text as the document has it)."""

    asked: str
    options: tuple[str, ...]
    # Spans copied from the document are compared per token (a sum favours the longest
    # copy); labels like an enum's are compared whole, as the classifier does.
    per_token: bool = True


def document_text(text: str, budget_chars: int) -> str:
    compact = "\n".join(_LEADERS.sub(" ", line).strip() for line in text.splitlines())
    compact = re.sub(r"\n{3,}", "\n\n", compact).strip()
    return compact[:budget_chars]


def _prompt(document: str, asked: str) -> Prompt:
    return (
        template(f"{INSTRUCTION}Document:\n")
        + untrusted(document)
        + template("\n\nQuestion: ")
        + untrusted(asked)
        + template("\nAnswer:")
    )


def choose(session: ModelSession, document: str, questions: list[Question]) -> list[list[float]]:
    """For each question, its options' probabilities (calibrated, summing to 1)."""
    given_text = [
        session.score_options(_prompt(document, q.asked), [f" {o}" for o in q.options])
        for q in questions
    ]
    given_nothing = [
        session.score_options(_prompt(CONTENT_FREE, q.asked), [f" {o}" for o in q.options])
        for q in questions
    ]
    bos = session.model.count_tokens("")
    result = []
    for question, text_scores, free_scores in zip(
        questions, given_text, given_nothing, strict=True
    ):
        # Per token: every token of a span copied from the document gains by the
        # document, so a sum would favour the longest option whatever it says.
        lengths = [
            max(1, session.model.count_tokens(f" {o}") - bos) if question.per_token else 1
            for o in question.options
        ]
        calibrated = [
            (a - b) / n for a, b, n in zip(text_scores, free_scores, lengths, strict=True)
        ]
        top = max(calibrated)
        weights = [math.exp(x - top) for x in calibrated]
        total = sum(weights)
        result.append([w / total for w in weights])
    return result
