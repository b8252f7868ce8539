"""AnswerFaq: a customer's message in; the policy's answer out, or no match.

A message matches a topic only when it is a policy question (form) and names the
topic: a keyword of its entry in one of its questions (a related word counts
half), with the entry's phrasings compared word by word to rank close topics. The
score is the topic's strength times how much the message is a question:

    topic = 0.7 * keywords + 0.3 * phrasing
    keywords = 0 without one, else 0.5 + 0.25 per keyword (1 at most)
    phrasing = the best Dice overlap of content words with one of its questions
    score = topic * (1 for a policy question, 0.4 for a statement, 0 for a grievance)

and it matches when the score reaches MATCH_SCORE: one keyword in a question
(0.525) does, a related word alone needs some phrasing too, and a statement or a
grievance never does. Ties go to the entry listed first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from slmesh.faq.form import Form, read_form
from slmesh.faq.policy import Policy, PolicyEntry
from slmesh.faq.words import content, find, mask, phrase, stems

MAX_QUESTION_CHARS: Final = 2000
MATCH_SCORE: Final = 0.5
# How much a message that asks nothing is worth as an FAQ question: never a match.
STATEMENT_FACTOR: Final = 0.4
KEYWORD_WEIGHT: Final = 0.7
RELATED_HIT: Final = 0.5


class FaqQuestion(BaseModel):
    """Request of AnswerFaq."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="The customer's message, as they wrote it.",
        examples=["What's your refund policy?"],
    )


class FaqAnswer(BaseModel):
    """Response of AnswerFaq."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matched: bool = Field(description="Whether the message is a policy question it answers.")
    topic: str | None = Field(description="The policy topic answered (None: no match).")
    answer: str | None = Field(description="The policy's answer, as written (None: no match).")
    score: float = Field(ge=0, le=1, description="How well the best topic matched (0..1).")
    policy_version: str = Field(description="The version of the policy file answered from.")


@dataclass(frozen=True)
class _Topic:
    """An entry made ready to compare: its terms and phrasings as stems."""

    entry: PolicyEntry
    keywords: tuple[tuple[str, ...], ...]
    related: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...]
    phrasings: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, entry: PolicyEntry) -> _Topic:
        return cls(
            entry=entry,
            keywords=tuple(phrase(k) for k in entry.keywords),
            related=tuple(phrase(r) for r in entry.related),
            excluded=tuple(phrase(x) for x in entry.excluded),
            phrasings=tuple(frozenset(content(stems(q))) for q in entry.questions),
        )

    def strength(self, stemmed: list[str]) -> float:
        """How much the words name this topic (0..1)."""
        stemmed = mask(self.excluded, stemmed)
        hits: float = sum(find(k, stemmed) >= 0 for k in self.keywords)
        hits += RELATED_HIT * sum(find(r, stemmed) >= 0 for r in self.related)
        if hits == 0:
            return 0.0
        keywords = min(1.0, 0.5 + 0.25 * hits)
        said = content(stemmed)
        overlap = max(
            (2 * len(p & said) / (len(p) + len(said)) for p in self.phrasings if p or said),
            default=0.0,
        )
        return KEYWORD_WEIGHT * keywords + (1 - KEYWORD_WEIGHT) * overlap


def _form_factor(form: Form) -> float:
    if form.grievance is not None:
        return 0.0
    return 1.0 if form.questions else STATEMENT_FACTOR


class FaqMatcher:
    """The policy's topics, ready to match messages against."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._topics = [_Topic.of(entry) for entry in policy.entries]

    def answer(self, request: FaqQuestion) -> FaqAnswer:
        form = read_form(request.question)
        # Only the asking sentences name the topic: "Thanks for the quick delivery! How do
        # I return a jacket?" asks about returns, not shipping.
        asked = " ".join(form.questions) if form.questions else request.question
        stemmed = stems(asked)
        best: _Topic | None = None
        best_strength = 0.0
        for topic in self._topics:
            strength = topic.strength(stemmed)
            if strength > best_strength:
                best, best_strength = topic, strength
        score = round(min(1.0, best_strength * _form_factor(form)), 3)
        if best is None or score < MATCH_SCORE:
            return FaqAnswer(
                matched=False,
                topic=None,
                answer=None,
                score=score,
                policy_version=self.policy.version,
            )
        return FaqAnswer(
            matched=True,
            topic=best.entry.id,
            answer=best.entry.answer,
            score=score,
            policy_version=self.policy.version,
        )


def describe(answer: FaqAnswer) -> str:
    """One line a composer quotes: the answer, or that the policy has none."""
    if not answer.matched:
        return f"No policy answer (policy {answer.policy_version})."
    return f"{answer.answer} (policy {answer.policy_version}, topic {answer.topic})"
