"""summarizer: a text in, a short summary out, written by a local small model.

The default model is a 270M *base* model: asked to "summarize" it copies the
text. Asked for a headline after two examples it writes one, so the prompt
is a few-shot headline task; the word bound is kept by the token budget and
a final trim at a word boundary, never by hoping the model stops in time.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from slmesh.runtime.llm import ModelSession, template, untrusted
from slmesh.runtime.micromodel import Micromodel
from slmesh.summarizer.routing import ROUTING

EXAMPLES = """Article: The bakery on Elm Street will close for renovations from May 1 to May 15. \
Customers can still order cakes online and pick them up at the market stall. The owner said \
the new oven will double production.
Headline: Elm Street bakery closes for two weeks of renovations

Article: Heavy rain flooded several roads in the north of the county on Sunday. Firefighters \
rescued two drivers, and the main bridge stays closed until engineers inspect it.
Headline: Floods close roads and a bridge in the north of the county

"""


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=12_000,
        description="The text to summarize.",
        examples=["The city council met on Tuesday to discuss the new bicycle lanes ..."],
    )
    max_words: int = Field(
        default=30, ge=3, le=200, description="Upper bound on the summary's length in words."
    )


class Summary(BaseModel):
    summary: str = Field(description="The summary.", examples=["Council approves bicycle lanes"])
    words: int = Field(ge=0, description="Number of words in the summary.")
    truncated: bool = Field(description="Whether the summary was cut to max_words.")


def summarize(request: SummaryRequest, model: ModelSession) -> Summary:
    article = untrusted(" ".join(request.text.split()))
    prompt = template(f"{EXAMPLES}Article: ") + article + template("\nHeadline:")
    # About 1.5 tokens a word in English text; the trim below makes the bound exact.
    completion = model.complete(prompt, max_tokens=request.max_words * 2, stop=["\n"])
    words = completion.text.split()
    truncated = len(words) > request.max_words
    words = words[: request.max_words]
    return Summary(summary=" ".join(words), words=len(words), truncated=truncated)


def build() -> Micromodel[SummaryRequest, Summary]:
    return Micromodel(
        name="summarizer",
        description="Summarizes a text in at most max_words words.",
        input_model=SummaryRequest,
        output_model=Summary,
        infer=summarize,
        summarize=lambda s: f"Summary: {s.summary}",
        routing=ROUTING,
    )
