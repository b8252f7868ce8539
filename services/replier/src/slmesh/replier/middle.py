"""The model's middle of a reply: kept only as far as it is safe, polite and on topic.

A 270M base model continues text; it can run on into a new example, invent an order
number or a refund of "$50", drift to another subject, or echo the customer. So its
completion is read sentence by sentence and a sentence is dropped whole when it

- holds a number the message does not (an invented order number, date, amount):
  stripping just the digits would leave "within days" or "order #";
- names money ("£", "dollars", "%"): a reply never promises an amount;
- says something rude or dismissive ("calm down"), or speaks as the customer ("my order", "I want");
- names a thing of the prompt's examples the message does not (copied from one);
- only apologises or thanks (the frame does that already), or is unfinished.

What is left must share a word of substance with the message or name its topic;
else the middle is off topic, and the frame's safe sentence stands in for it.
"""

from __future__ import annotations

import re
from typing import Final

MAX_SENTENCES: Final = 2
_SENTENCE: Final = re.compile(r"[^.!?]+[.!?]+")
_NUMBER: Final = re.compile(r"\d+")
_WORD: Final = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Labels of the prompt's examples: where the model starts a new one, its reply ended.
_LABEL: Final = re.compile(r"\b(?:Message|Kind|Topic|Reply|Customer|Agent)\s*:", re.IGNORECASE)
_MONEY: Final = re.compile(
    r"[$£€¥%]|\b(?:usd|eur|gbp|dollars?|euros?|pounds?|quid|bucks|cents?|pence)\b"
    r"|\b(?:voucher worth|credit of|discount of|refund of)\b",
    re.IGNORECASE,
)
_RUDE: Final = frozenset(
    [
        "stupid", "idiot", "idiots", "dumb", "fool", "fools", "moron", "liar", "liars", "shut",
        "hate", "ridiculous", "pathetic", "whining", "whine", "lazy", "crazy", "nonsense",
        "rubbish", "damn", "hell", "blame", "fault", "useless", "ugly", "idiotic", "crap",
        "bloody", "complaining",
    ]
)  # fmt: skip
# Dismissive as a phrase, though each word is harmless alone ("we take care", "too").
_DISMISSIVE: Final = re.compile(
    r"\b(?:calm down|deal with it|too bad|tough luck|get lost|not (?:our|my) problem"
    r"|(?:don't|do not) care|shut up)\b",
    re.IGNORECASE,
)
# The customer's voice, not the desk's.
_CUSTOMER: Final = re.compile(
    r"\b(?:my|mine|myself)\b|\bi (?:want|need|demand|paid|bought|ordered|received|am not)\b",
    re.IGNORECASE,
)
_FRAME_ONLY: Final = re.compile(
    r"^(?:we are |we're |i am |i'm )?(?:so |very |really |truly )*(?:sorry|apologi[sz]e|"
    r"thank|thanks|hi|hello|dear)\b",
    re.IGNORECASE,
)
# Words that say nothing of the subject, left out when a middle is compared to the message.
_SLIGHT: Final = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "if", "of", "to", "for", "in", "on", "at", "by",
        "with", "from", "about", "as", "into", "so", "that", "this", "these", "those", "it", "its",
        "we", "us", "our", "you", "your", "i", "me", "my", "they", "them", "their", "he", "she",
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has",
        "had", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "not",
        "no", "any", "some", "all", "very", "just", "also", "please", "let", "know", "get", "got",
        "us", "team", "member", "help", "more",
    ]
)  # fmt: skip


def _substance(text: str) -> set[str]:
    """The words of substance, crudely singular: "boxes" and "box" are one."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if word in _SLIGHT or len(word) < 3:
            continue
        found.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    return found


def _usable(sentence: str, allowed_numbers: set[str], foreign: set[str]) -> bool:
    sentence = sentence.strip()
    if foreign & set(_WORD.findall(sentence.lower())):
        return False
    if any(n not in allowed_numbers for n in _NUMBER.findall(sentence)):
        return False
    if _MONEY.search(sentence) or _CUSTOMER.search(sentence) or _FRAME_ONLY.search(sentence):
        return False
    if _DISMISSIVE.search(sentence):
        return False
    if any(c in sentence for c in "[]{}<>@#*_|\\/"):
        return False
    return not _RUDE & set(_WORD.findall(sentence.lower()))


def clean_middle(
    completion: str, message: str, topic: str | None, shown: frozenset[str] = frozenset()
) -> list[str]:
    """The sentences of the model's completion fit to send, at most MAX_SENTENCES; empty
    when none is, or when what is left is not about the message. `shown`: the words of the
    things the prompt's examples are about: a sentence naming one the message does not
    (a "new jacket" for a broken lamp) was copied from an example."""
    text = completion.split("\n", 1)[0]
    label = _LABEL.search(text)
    if label is not None:
        text = text[: label.start()]
    allowed = set(_NUMBER.findall(message))
    foreign = set(shown) - set(_WORD.findall(message.lower()))
    # Only finished sentences: a completion cut by its token budget ends mid-sentence.
    kept = [
        " ".join(s.split())
        for s in _SENTENCE.findall(text)
        if _usable(s, allowed, foreign) and len(s.split()) >= 3
    ][:MAX_SENTENCES]
    if not kept:
        return []
    about = _substance(message) | _substance(topic or "")
    if not _substance(" ".join(kept)) & about:
        return []
    return kept
