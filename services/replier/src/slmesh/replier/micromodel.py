"""WriteReply: a customer's message in; a short, polite reply on its topic out.

The default model is a 270M *base* model: told to "reply politely" it continues the
customer's text. Shown a few messages, each with its kind, its topic and the
sentence a desk answered it with, it writes such a sentence for the next one. So
the model writes only that middle, and plain code does what must hold every time:
the topic is read from the message (topic), the opening and closing that make the
reply polite are chosen by intent and sentiment (frame), the middle is kept only
where it is safe and on topic (middle), and the word bound is kept by whole
sentences and a final count, never by hoping the model stops in time.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from slmesh.replier.frame import Frame, Mood, frame_for, mood_of
from slmesh.replier.middle import clean_middle
from slmesh.replier.routing import ROUTING
from slmesh.replier.topic import topic_of
from slmesh.runtime.llm import ModelSession, template, untrusted
from slmesh.runtime.micromodel import Micromodel

# What the model reads of a long message: its opening says what it is about, and the
# prompt stays small enough to answer in a second on a laptop's CPU.
PROMPT_MESSAGE_CHARS: Final = 1200
# Two sentences of middle are far below this; the rest would be a new example.
MAX_MIDDLE_TOKENS: Final = 80

# (message, kind, topic, reply) the model is shown, by mood: a base model copies the
# manner of what it is shown, so a complaint is shown complaints answered, a question
# questions. No example holds a number or an amount, nor says sorry or thank you (the
# frame does), nor states a fact a desk would have to look up.
_EXAMPLES: Final[dict[Mood, tuple[tuple[str, str, str, str], ...]]] = {
    "apology": (
        (
            "The zip on my new jacket broke the first time I wore it.",
            "complaint, negative",
            "jacket",
            "Please send us a photo of the broken zip, and our team will arrange a repair or a "
            "new jacket.",
        ),
        (
            "The parcel was left outside in the rain and the box is soaked through.",
            "complaint, negative",
            "parcel",
            "Could you let us know whether anything inside the parcel was damaged, so that we "
            "can put it right?",
        ),
        (
            "Nobody has answered my emails about the missing blender for a week.",
            "complaint, negative",
            "blender",
            "Your emails about the blender are with our team now, and someone will reply to you "
            "shortly.",
        ),
    ),
    "thanks": (
        (
            "I love the coffee machine, it makes the best espresso I have ever had.",
            "praise, positive",
            "coffee machine",
            "We are delighted the coffee machine makes your mornings better, and we will share "
            "your words with the team.",
        ),
        (
            "The driver who brought my sofa was so friendly and careful.",
            "praise, positive",
            "driver",
            "It is lovely to hear that our driver took such good care of you and your sofa.",
        ),
        (
            "Great quality socks, they still look new after months.",
            "praise, positive",
            "socks",
            "We are so glad the socks have lasted so well for you.",
        ),
    ),
    "answer": (
        (
            "Does the desk lamp come with a bulb?",
            "question, neutral",
            "desk lamp",
            "We will check what comes in the box with the desk lamp and reply with the details.",
        ),
        (
            "Is the blue backpack coming back in stock soon?",
            "question, neutral",
            "backpack",
            "Our team will check when the blue backpack is expected back in stock and let you "
            "know by email.",
        ),
        (
            "Can I order the dining table in oak instead of pine?",
            "question, neutral",
            "dining table",
            "Our team will find out whether the dining table can be made in oak and get back to "
            "you.",
        ),
    ),
}
# A message of no known intent or sentiment is shown one of each.
_EXAMPLES["acknowledge"] = tuple(shown[0] for shown in _EXAMPLES.values())


# The things the examples are about, and what they say of them: a middle that names one
# the message does not was copied from an example.
SHOWN_THINGS: Final = frozenset(
    [
        "jacket", "zip", "parcel", "blender", "coffee", "machine", "espresso", "driver", "sofa",
        "socks", "backpack", "desk", "lamp", "bulb", "dining", "table", "oak", "pine",
    ]
)  # fmt: skip


def examples_for(mood: Mood) -> str:
    """The few-shot text for `mood`: each example as the prompt asks the model's turn."""
    return "".join(
        f"Message: {message}\nKind: {kind}\nTopic: {topic}\nReply: {reply}\n\n"
        for message, kind, topic, reply in _EXAMPLES[mood]
    )


class ReplyRequest(BaseModel):
    """Request of WriteReply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = Field(
        min_length=1,
        max_length=4000,
        description="The customer's message.",
        examples=["I'm unhappy with my purchase, what can you do for me?"],
    )
    intent: str | None = Field(
        default=None,
        max_length=60,
        description="Its intent, as a classifier labelled it (complaint, question, praise).",
        examples=["complaint"],
    )
    sentiment: str | None = Field(
        default=None,
        max_length=60,
        description="Its sentiment, as a classifier labelled it (negative, neutral, positive).",
        examples=["negative"],
    )
    max_words: int = Field(
        default=60, ge=10, le=120, description="Upper bound on the reply's length in words."
    )


class Reply(BaseModel):
    """Response of WriteReply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reply: str = Field(
        description="The reply, opening and closing included.",
        examples=[
            "We are very sorry to hear about the trouble with your purchase. Please tell us "
            "what went wrong so that our team can arrange a return or a replacement. Thank "
            "you for your patience, and sorry again for the trouble."
        ],
    )
    words: int = Field(ge=0, description="Number of words in the reply.")
    truncated: bool = Field(description="Whether some of the model's middle was left out to fit.")
    topic: str | None = Field(
        description="What the message is about, in its own words (None: it names nothing).",
        examples=["purchase"],
    )


def _count(text: str) -> int:
    return len(text.split())


def _fit(sentences: list[str], room: int) -> list[str]:
    """The leading whole sentences that fit in `room` words."""
    chosen: list[str] = []
    for sentence in sentences:
        if _count(" ".join([*chosen, sentence])) > room:
            break
        chosen.append(sentence)
    return chosen


def compose(frame: Frame, middle: list[str], max_words: int) -> tuple[str, bool]:
    """The reply within `max_words`, and whether any of the model's middle was left out.

    A reply keeps its opening (which names the topic) and its closing before it keeps
    the model's middle: the richest frame with room for a whole sentence of the middle
    wins, else the frame's safe sentence (long, then short) stands in, and only a bound
    too tight for that drops the closing.
    """
    closed = [
        (frame.opening, frame.closing),
        (frame.short_opening, frame.closing),
        (frame.short_opening, frame.short_closing),
    ]
    safe = [[frame.fallback], [frame.short_fallback]]
    plans = [(o, c, middle) for o, c in closed]
    plans += [(o, c, s) for o, c in closed for s in safe]
    plans += [(frame.short_opening, "", s) for s in (middle, *safe)]
    for opening, closing, sentences in plans:
        chosen = _fit(sentences, max_words - _count(opening) - _count(closing))
        if chosen:
            text = " ".join(part for part in (opening, *chosen, closing) if part)
            used = len(chosen) if sentences is middle else 0
            return text, used < len(middle)
    # Only a bound below every safe sentence gets here: the frame alone, whole sentences
    # first; a short opening longer than the bound (a long topic) is cut at a word.
    for text in (f"{frame.short_opening} {frame.short_closing}", frame.short_opening):
        if _count(text) <= max_words:
            return text, bool(middle)
    cut = " ".join(frame.short_opening.split()[:max_words]).rstrip(".,;:!?")
    return f"{cut}.", bool(middle)


def reply_to(request: ReplyRequest, model: ModelSession) -> Reply:
    message = " ".join(request.message.split())
    topic = topic_of(message)
    mood = mood_of(request.intent, request.sentiment)
    kind = f"{request.intent or 'message'}, {request.sentiment or 'neutral'}"
    prompt = (
        template(examples_for(mood) + "Message: ")
        + untrusted(message[:PROMPT_MESSAGE_CHARS])
        + template("\nKind: ")
        + untrusted(" ".join(kind.split()))
        + template("\nTopic: ")
        + untrusted(topic or "the message")
        + template("\nReply:")
    )
    completion = model.complete(prompt, max_tokens=MAX_MIDDLE_TOKENS, stop=["\n"])
    middle = clean_middle(completion.text, message, topic, SHOWN_THINGS)
    text, truncated = compose(frame_for(mood, topic), middle, request.max_words)
    return Reply(reply=text, words=_count(text), truncated=truncated, topic=topic)


def build() -> Micromodel[ReplyRequest, Reply]:
    return Micromodel(
        name="replier",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "WriteReply: writes a short, polite reply to a customer's message on its topic, "
            "apologising for a complaint and thanking for praise, in at most max_words words."
        ),
        input_model=ReplyRequest,
        output_model=Reply,
        infer=reply_to,
        summarize=lambda r: f"Reply: {r.reply}",
        routing=ROUTING,
    )
