"""The polite frame of a reply: an opening and a closing written by code, and the safe
sentence that stands in for a model's middle that cannot be used.

The model writes only the middle. What makes a reply polite to this customer (an
apology for a complaint, thanks for praise) is chosen here from the message's
intent and sentiment, so it is there every time, whatever the model writes. Each
opening names the topic, so the reply is on the customer's topic even when the
middle is not the model's. Every piece comes long and short: the short ones keep a
frame within a tight word bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Mood = Literal["apology", "thanks", "answer", "acknowledge"]

_NEGATIVE: Final = frozenset({"complaint", "negative", "angry", "frustrated", "unhappy"})
_POSITIVE: Final = frozenset({"praise", "positive", "compliment", "thanks", "happy"})
_ASKING: Final = frozenset({"question", "request", "enquiry", "inquiry"})
# The shop's own side: "our staff", not "your staff".
_OURS: Final = frozenset(
    [
        "service", "customer-service", "support", "staff", "team", "website", "site", "app", "shop",
        "store", "company", "agent", "agents", "courier", "driver", "driver's", "helpline", "chat",
        "packaging",
    ]
)  # fmt: skip


# People who served the customer: "the lady", neither "your" nor "our" lady.
_PEOPLE: Final = frozenset(
    [
        "lady", "man", "guy", "woman", "girl", "person", "assistant", "advisor", "adviser",
        "representative", "rep", "employee", "colleague", "manager", "cashier", "gentleman",
    ]
)  # fmt: skip


def mood_of(intent: str | None, sentiment: str | None) -> Mood:
    """How to answer: a complaint or a negative message is apologised for first; then the
    intent decides (praise thanked for, a question answered), as a small classifier's
    sentiment of a plain question is often "positive"; a positive message of no known
    intent is thanked for; anything else acknowledged."""
    said = {(intent or "").strip().lower(), (sentiment or "").strip().lower()}
    if said & _NEGATIVE:
        return "apology"
    wanted = (intent or "").strip().lower()
    if wanted in _POSITIVE:
        return "thanks"
    if wanted in _ASKING:
        return "answer"
    if said & _POSITIVE:
        return "thanks"
    return "acknowledge"


def owned(topic: str) -> str:
    """The topic as the reply names it: "your order", "our staff", "the driver"."""
    head = topic.split()[-1]
    if head in _PEOPLE:
        return f"the {topic}"
    return f"our {topic}" if head in _OURS else f"your {topic}"


@dataclass(frozen=True)
class Frame:
    """An opening and a closing, long and short, and the safe middle (long and short) that
    stands in for a model's middle that cannot be used."""

    opening: str
    short_opening: str
    closing: str
    short_closing: str
    fallback: str
    short_fallback: str


def frame_for(mood: Mood, topic: str | None) -> Frame:
    """The frame of `mood`; its openings and its fallback name the topic (when there is one)."""
    thing = owned(topic) if topic is not None else None
    # " about your order", " with your order", ...: empty without a topic.
    about = f" about {thing}" if thing else ""
    match mood:
        case "apology":
            return Frame(
                opening=(
                    f"We are very sorry to hear about the trouble with {thing}."
                    if thing
                    else "We are very sorry to hear about the trouble you have had."
                ),
                short_opening=f"Sorry about {thing}." if thing else "We are sorry.",
                closing="Thank you for your patience, and sorry again for the trouble.",
                short_closing="Thank you for your patience.",
                fallback=(
                    f"Our team will look into what happened{f' with {thing}' if thing else ''} "
                    "and get back to you as soon as possible."
                ),
                short_fallback="We will look into it.",
            )
        case "thanks":
            return Frame(
                opening=f"Thank you so much for your kind words{about}!",
                short_opening=f"Thanks for the kind words{about}!",
                closing="We hope to see you again soon.",
                short_closing="Thanks again!",
                fallback=f"We will pass your feedback{about} on to the team.",
                short_fallback="We will tell the team.",
            )
        case "answer":
            return Frame(
                opening=f"Thank you for your question{about}.",
                short_opening=f"Thanks for asking{about}.",
                closing="If there is anything else we can help with, just let us know.",
                short_closing="Kind regards.",
                fallback=(
                    f"A member of our team will check the details{f' of {thing}' if thing else ''} "
                    "and get back to you."
                ),
                short_fallback="We will check and reply.",
            )
        case "acknowledge":
            return Frame(
                opening=f"Thank you for getting in touch{about}.",
                short_opening=f"Thanks for your message{about}.",
                closing="If there is anything else we can help with, just let us know.",
                short_closing="Kind regards.",
                fallback=(
                    f"A member of our team will look into {thing or 'it'} and get back to you."
                ),
                short_fallback="We will look into it.",
            )
