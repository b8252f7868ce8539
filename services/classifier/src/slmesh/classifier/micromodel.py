"""classifier: a text and a set of labels in, the most likely label with its confidence out.

The model never writes the label: each label is scored by its likelihood as
the continuation of a few-shot prompt, so the answer is always one of the
given labels. A small model favours some labels whatever the text (a common
word like "other", the last one listed), so every score is calibrated by the
same label's score for a content-free text (contextual calibration, Zhao et
al. 2021) before the probabilities among the labels are taken.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

from slmesh.classifier.routing import ROUTING
from slmesh.runtime.llm import ModelSession, Prompt, template, untrusted
from slmesh.runtime.micromodel import Micromodel


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)
    label: str = Field(min_length=1, max_length=60)


class ClassificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=8000,
        description="The text to classify.",
        examples=["I was charged twice for the same invoice."],
    )
    labels: list[str] = Field(
        min_length=2,
        max_length=20,
        description="The labels to choose from.",
        examples=[["billing", "delivery", "technical", "other"]],
    )
    examples: list[Example] = Field(
        default_factory=list,
        max_length=10,
        description="Labelled examples that show what each label means.",
    )

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        cleaned = [label.strip() for label in labels]
        if any(not label or len(label) > 60 for label in cleaned):
            raise ValueError("labels must be 1 to 60 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("labels must be distinct")
        return cleaned


class Classification(BaseModel):
    label: str = Field(description="The most likely label.", examples=["billing"])
    confidence: float = Field(ge=0, le=1, description="Its probability among the labels.")
    scores: dict[str, float] = Field(description="Probability of every label.")


CONTENT_FREE = "N/A"


def prompt_for(request: ClassificationRequest, text: str | None = None) -> Prompt:
    """The few-shot prompt; the labels, the examples and the text are the request's."""
    prompt = template("Classify each text as one of: ")
    prompt += untrusted(", ".join(request.labels)) + template(".\n\n")
    for example in request.examples:
        prompt += template("Text: ") + untrusted(" ".join(example.text.split()))
        prompt += template("\nLabel: ") + untrusted(example.label) + template("\n\n")
    asked = " ".join((text or request.text).split())
    return prompt + template("Text: ") + untrusted(asked) + template("\nLabel:")


def classify(request: ClassificationRequest, model: ModelSession) -> Classification:
    options = [f" {label}" for label in request.labels]
    given_text = model.score_options(prompt_for(request), options)
    given_nothing = model.score_options(prompt_for(request, CONTENT_FREE), options)
    log_likelihoods = [a - b for a, b in zip(given_text, given_nothing, strict=True)]
    top = max(log_likelihoods)
    weights = [math.exp(x - top) for x in log_likelihoods]
    total = sum(weights)
    scores = {label: w / total for label, w in zip(request.labels, weights, strict=True)}
    label = max(scores, key=lambda name: scores[name])
    return Classification(label=label, confidence=scores[label], scores=scores)


def build() -> Micromodel[ClassificationRequest, Classification]:
    return Micromodel(
        name="classifier",
        description="Classifies a text into one of the given labels, with a confidence.",
        input_model=ClassificationRequest,
        output_model=Classification,
        infer=classify,
        summarize=lambda c: f"Classification: {c.label} (confidence {c.confidence:.2f})",
        routing=ROUTING,
    )
