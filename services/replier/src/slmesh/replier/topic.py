"""The thing a customer's message is about, taken from its words by plain code.

A reply that names the customer's own thing ("your headphones", "your order") reads
as an answer to them; one that could answer anybody reads as a form letter. So the
topic is a short noun phrase of the message itself, never a model's guess:

1. the customer's own thing: the words after "my", "our" (then "the", "this",
   "your", ...; last, after a verb asking for goods: "do you sell gift cards?"), up
   to the first word that is no part of a noun phrase ("my parcel arrived" ->
   "parcel"), without leading adjectives of no weight ("my new headphones" ->
   "headphones");
2. else a noun customer services deal with every day ("refund", "delivery").

Vague things ("money", "time", "problem") are taken only when nothing else is named.
"""

from __future__ import annotations

import re
from typing import Final

_WORD: Final = re.compile(r"[A-Za-z][A-Za-z'-]*|[0-9]+|[^\sA-Za-z0-9]")

# What opens a noun phrase, best first: the customer's own, then a thing pointed at.
_OWNERS: Final = ("my", "our")
_POINTERS: Final = ("the", "this", "these", "that", "those", "your", "a", "an")
# Last, the thing a question asks after with no article: "do you sell gift cards?".
_ASKED_AFTER: Final = ("sell", "sells", "stock", "stocks", "offer", "offers", "carry", "make")
# A noun phrase ends before these: function words, common verbs, adverbs.
_NOT_NOUN: Final = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "nor", "so", "yet", "if", "then", "than", "that",
        "this", "these", "those", "there", "here", "of", "to", "for", "in", "on", "at", "by",
        "with", "from", "about", "as", "into", "onto", "over", "under", "after", "before", "since",
        "until", "while", "during", "through", "without", "within", "against", "between", "per",
        "via", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "it", "its", "he", "she",
        "they", "them", "their", "his", "her", "is", "are", "was", "were", "be", "been", "being",
        "am", "do", "does", "did", "done", "doing", "have", "has", "had", "having", "can", "could",
        "will", "would", "shall", "should", "may", "might", "must", "not", "no", "never", "still",
        "just", "only", "even", "ever", "again", "already", "also", "too", "very", "really",
        "quite", "so", "now", "today", "yesterday", "arrived", "arrive", "arrives", "came", "come",
        "comes", "broke", "broken", "stopped", "stop", "stops", "keeps", "kept", "got", "get",
        "gets", "went", "go", "goes", "made", "make", "makes", "took", "take", "takes", "gave",
        "give", "gives", "sent", "send", "sends", "said", "says", "told", "tell", "asked", "ask",
        "wanted", "want", "wants", "need", "needs", "needed", "ordered", "bought", "buy", "paid",
        "pay", "received", "receive", "tried", "try", "looks", "look", "seems", "seem", "feels",
        "feel", "works", "work", "worked", "isn't", "wasn't", "aren't", "weren't", "doesn't",
        "didn't", "don't", "hasn't", "haven't", "hadn't", "won't", "can't", "couldn't", "wouldn't",
        "shouldn't", "please", "thanks", "thank", "what", "which", "who", "whom", "whose",
        "when", "where", "why", "how", "one", "ones", "all", "any", "some", "every", "each", "both",
        "either", "neither", "more", "most", "less", "much", "many", "lot", "lots", "back", "up",
        "out", "off", "down", "away", "two", "three", "four", "five", "six", "seven", "eight",
        "nine", "ten", "twice", "ago", "fits", "fit", "suits", "lasts", "lasted", "smells",
        "tastes", "sounds",
    ]
)  # fmt: skip
# Leading words that say little of the thing itself.
_SLIGHT: Final = frozenset(
    [
        "new", "old", "last", "latest", "recent", "first", "second", "third", "whole", "entire",
        "brand", "same", "other", "own", "little", "big", "small", "large", "tiny", "huge",
        "lovely", "nice", "great", "good", "bad", "terrible", "awful", "damn", "bloody", "stupid",
        "cheap", "expensive", "expensively", "recently", "only", "usual", "best", "worst",
    ]
)  # fmt: skip
# Swearing and insults a customer may write ("this crap jacket"): never repeated back, as
# a leading word it is dropped, and a phrase still holding one is no topic.
_RUDE: Final = frozenset(
    [
        "crap", "crappy", "shit", "shitty", "bloody", "damn", "damned", "stupid", "idiotic",
        "dumb", "useless", "pathetic", "rubbish", "hell", "bullshit", "fucking", "effing",
        "freaking", "garbage", "trash", "junk", "sodding", "ridiculous", "nonsense", "joke",
    ]
)  # fmt: skip
# Things too vague to be the topic while a better one is named.
_VAGUE: Final = frozenset(
    [
        "money", "time", "times", "mind", "day", "days", "week", "weeks", "month", "months", "year",
        "years", "life", "problem", "problems", "issue", "issues", "question", "questions",
        "experience", "experiences", "opinion", "name", "email", "husband", "wife", "son",
        "daughter", "family", "friend", "friends", "kid", "kids", "god", "way", "thing", "things",
        "stuff", "bit", "side", "part", "case", "help", "patience", "attention", "reply",
        "response", "answer",
    ]
)  # fmt: skip
# Nouns a customer-service desk meets every day, found anywhere in the message.
_DESK_NOUNS: Final = (
    "order", "parcel", "package", "delivery", "refund", "return", "exchange", "purchase",
    "item", "product", "subscription", "account", "payment", "invoice", "bill", "charge",
    "booking", "reservation", "membership", "password", "warranty", "service", "staff",
    "website", "app", "shipping", "courier", "price", "discount", "voucher", "store",
    "shop", "support", "size", "experience",
)  # fmt: skip
# Words ending so are adjectives, whatever noun they follow.
_ADJECTIVE_ENDINGS: Final = ("proof", "able", "ible", "ful", "less", "ous", "ive")
MAX_PHRASE_WORDS: Final = 3
MAX_TOPIC_CHARS: Final = 60


def _phrase_after(tokens: list[str], at: int) -> str | None:
    """The noun phrase opened by the word at `at`, or None."""
    taken: list[str] = []
    for token in tokens[at + 1 : at + 1 + MAX_PHRASE_WORDS + 2]:
        word = token.lower()
        if not word[0].isalpha() or word in _NOT_NOUN:
            break
        # A verb in the past ("my order arrived", "the box looked") ends the phrase once
        # it has a word; before one it is an adjective ("my damaged parcel").
        if taken and word.endswith("ed"):
            break
        taken.append(word)
        if len(taken) == MAX_PHRASE_WORDS:
            break
    while len(taken) > 1 and (taken[0] in _SLIGHT | _RUDE or taken[0].endswith("ed")):
        taken.pop(0)
    # "Is the winter coat waterproof?": an adjective after its noun is no part of it.
    while len(taken) > 1 and taken[-1].endswith(_ADJECTIVE_ENDINGS):
        taken.pop()
    if not taken or taken[-1] in _SLIGHT or _RUDE & set(taken):
        return None
    return " ".join(taken)[:MAX_TOPIC_CHARS]


def topic_of(message: str) -> str | None:
    """The noun phrase the message is about, in lower case, or None."""
    tokens: list[str] = _WORD.findall(message)
    lowered: list[str] = [t.lower() for t in tokens]
    vague: str | None = None
    for openers in (_OWNERS, _POINTERS, _ASKED_AFTER):
        for at, word in enumerate(lowered):
            if word not in openers:
                continue
            found = _phrase_after(tokens, at)
            if found is None:
                continue
            head = found.split()[-1]
            if head in _VAGUE or head.removesuffix("s") in _VAGUE:
                vague = vague or found
                continue
            return found
    for noun in _DESK_NOUNS:
        for word in lowered:
            if word in (noun, noun + "s") and noun not in _VAGUE:
                return word
    return vague
