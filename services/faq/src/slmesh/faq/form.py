"""What kind of message it is: a general question, or a customer's own grievance.

A policy answer is right only for a question about the policy. "What's your refund
policy?" is one; "my parcel arrived smashed and I want my money back now" names the
same topic but is a complaint: answering it with the refund paragraph would read as
a brush-off. So before any topic is scored the message is read for its form:

- a question: a sentence ending in "?", opening with a question word ("how", "can",
  "do"), or asking for information in words ("tell me", "I'd like to know"); a
  bare topic of a few words ("refund policy") is a question too;
- a grievance: a first-person bad experience ("my order arrived broken", "I was
  charged twice"), strong feeling ("unhappy", "furious", "unacceptable"), or a
  demand for compensation ("what can you do for me", "I want my money back").
  Said hypothetically ("what if my parcel arrives damaged?") it is a question about
  the policy, not a grievance.

Praise and chit-chat are neither a grievance nor a policy question: they fail on the
topic (no policy words) or on the form (no question).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from slmesh.faq.words import find, phrase, sentences, stems, words


def _phrases(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(phrase(t) for t in texts)


def _contains(stemmed: list[str], phrases: tuple[tuple[str, ...], ...]) -> int:
    """Where the first of `phrases` occurs in `stemmed` (its earliest start), or -1."""
    found = [at for p in phrases if (at := find(p, stemmed)) >= 0]
    return min(found) if found else -1


# Words a question opens with.
_QUESTION_OPENERS: Final = frozenset(
    [
        "what", "what's", "whats", "how", "how's", "when", "where", "where's", "which", "who",
        "why", "can", "could", "do", "does", "did", "is", "are", "will", "would", "should", "shall",
        "may", "have", "has", "am", "any",
    ]
)  # fmt: skip
# Asking for information without a question mark.
_ASKING: Final = _phrases(
    "can you tell me", "could you tell me", "please tell me", "tell me about", "tell me how",
    "tell me what", "tell me when", "tell me where", "tell me if", "tell me whether",
    "let me know", "i'd like to know", "i would like to know", "i want to know",
    "i wanted to know", "wondering", "i wonder", "explain", "information about",
    "information on", "info on", "info about", "details on", "details about", "question about",
    "quick question", "looking for information",
    # Formal and indirect asking: "I would be grateful if you could ...", "kindly advise".
    "grateful if you could", "advise", "inform me", "please confirm", "could you confirm",
    "can you confirm",
    # A question asked after a condition: "if I find it cheaper, will you match it".
    "will you", "would you", "can you", "could you", "do you", "can i", "could i", "do i",
    "is it possible", "is there", "are there",
    # A need told, not asked: "I can't remember my password" asks how to get in.
    "i can't remember", "i cannot remember", "i forgot", "i've forgotten", "i have forgotten",
    "i need help", "help me", "i need to know",
)  # fmt: skip
# A request said as a wish or a plea ("I'd like to cancel my order", "please cancel it"):
# asking, unless it is praise ("I would like to thank the support team").
_REQUESTS: Final = _phrases(
    "i'd like to", "i would like to", "i want to", "i need to", "i wish to", "i'm trying to",
    "i am trying to", "i'm looking to", "how to",
)  # fmt: skip
_PLEA_OPENERS: Final = frozenset(["please", "pls", "plz", "kindly"])
# Thanks passed on, asked or not ("can you pass my thanks to the driver?"): praise.
_COMPLIMENTS: Final = _phrases(
    "pass on my thanks", "pass my thanks", "pass on our thanks", "pass our thanks",
    "my compliments", "our compliments", "pass on my compliments", "say thank you",
    "say thanks", "give my thanks",
)  # fmt: skip
# The speaker's own: a grievance is told in the first person.
_FIRST_PERSON: Final = frozenset(
    stems("i i'm im i've ive i'd me my mine myself we we've we're our ours us")
)
# Feelings and judgements that make a message a complaint on their own.
_STRONG: Final = _phrases(
    "unhappy", "not happy", "disappointed", "disappointing", "dissatisfied", "not satisfied",
    "angry", "furious", "livid", "upset", "frustrated", "frustrating", "fed up", "annoyed",
    "annoying", "disgusted", "disgusting", "outraged", "sick of", "tired of", "terrible",
    "awful", "horrible", "horrendous", "dreadful", "worst", "useless", "unacceptable",
    "ridiculous", "pathetic", "disgrace", "shambles", "joke", "scam", "rip off", "rip-off",
    "ripped off", "fraud", "incompetent", "rude", "appalling", "shocking", "nightmare",
    "lousy", "rubbish", "never again", "complain", "complaint", "disgraceful", "crap",
    "not impressed", "not good enough", "not acceptable",
)  # fmt: skip
# Something that went wrong: a grievance when it happened to the speaker.
_WRONG: Final = _phrases(
    "broken", "broke", "smashed", "shattered", "cracked", "crushed", "damaged", "dented",
    "torn", "ripped", "scratched", "stained", "faulty", "defective", "doesn't work",
    "does not work", "don't work", "not working", "stopped working", "won't turn on",
    "wont turn on", "never arrived", "never came", "never received", "never got",
    "hasn't arrived", "has not arrived", "haven't arrived", "didn't arrive", "did not arrive",
    "not arrived", "hasn't come", "haven't received", "have not received", "didn't receive",
    "did not receive", "not received", "haven't got", "didn't get", "still waiting",
    "still not", "still no", "still haven't", "still hasn't", "missing", "got lost", "was lost",
    "been lost", "you lost", "arrived late", "came late", "is late", "was late", "are late",
    "running late", "so late", "delayed", "wrong item", "wrong size", "wrong colour",
    "wrong color", "wrong order", "slow", "too slow",
    "charged twice", "double charged", "overcharged", "charged me", "ignored", "no reply",
    "no response", "no answer", "nobody", "no one", "waste", "wasted", "leaking", "leaked",
    "mouldy", "moldy", "rotten", "fell apart", "falling apart", "came apart",
    "poor quality", "bad quality", "cheap quality", "so long", "taking forever", "for ages",
    "haven't i", "hasn't my", "have i still not", "why haven't", "why hasn't", "why didn't",
    "where is my refund", "where's my refund", "why did you", "why have you", "why has my",
    "why is my", "why are my", "why was my",
    "without telling", "without asking", "without warning", "without notice",
)  # fmt: skip
# Asking for something to be done or paid, not for information.
_COMPENSATION: Final = _phrases(
    "what can you do for me", "what can you do about", "what are you going to do",
    "what will you do", "what do you intend", "compensate", "compensation", "make it right",
    "make this right", "make up for", "sort it out", "sort this out", "fix this", "do something",
    "goodwill", "i demand", "i expect", "i insist",
)  # fmt: skip
# Demands said as statements ("I want my money back now"); asked, they are questions.
_DEMAND: Final = _phrases(
    "i want my money", "i want a refund", "i want a full refund", "i want a replacement",
    "i want an exchange", "i need my money", "give me my money", "refund me", "my money back",
    "right now", "immediately", "asap", "at once",
)  # fmt: skip
# Praise: a short exclamation of it ("Great delivery!") names a topic but asks nothing.
_PRAISE: Final = _phrases(
    "great", "love", "loved", "amazing", "excellent", "awesome", "fantastic", "brilliant",
    "perfect", "wonderful", "superb", "thanks", "thank", "cheers", "good", "nice", "best",
    "fast", "quick", "lovely", "happy", "well done", "kudos", "impressed",
)  # fmt: skip
# Words that make what follows a supposition: "what if my parcel arrives damaged?".
_SUPPOSING: Final = _phrases(
    "if", "in case", "what happens", "suppose", "supposing", "should my", "should the",
    "should an", "should a", "whether", "when an item", "when a product", "in the event",
)  # fmt: skip
# A bare topic ("refund policy", "returns policy for sale items") asks by naming; at most
# this long.
BARE_TOPIC_WORDS: Final = 6


@dataclass(frozen=True)
class Form:
    """How a message reads: the sentences that ask a question, and whether it is a
    grievance (and why, in a few words, for tests and logs)."""

    questions: tuple[str, ...]
    grievance: str | None

    @property
    def is_policy_question(self) -> bool:
        return bool(self.questions) and self.grievance is None


def _is_question(sentence: str) -> bool:
    said = words(sentence)
    if not said or _contains(stems(sentence), _COMPLIMENTS) >= 0:
        return False
    if sentence.rstrip().endswith("?"):
        return True
    if said[0] in _QUESTION_OPENERS and not sentence.rstrip().endswith("!"):
        return True
    if _contains(stems(sentence), _ASKING) >= 0:
        return True
    stemmed = stems(sentence)
    requested = said[0] in _PLEA_OPENERS or _contains(stemmed, _REQUESTS) >= 0
    if requested and _contains(stemmed, _PRAISE) < 0:
        return True
    # A bare topic asks by naming it: it says nothing of the speaker, nor how they feel.
    return (
        len(said) <= BARE_TOPIC_WORDS
        and not sentence.rstrip().endswith("!")
        and not _FIRST_PERSON & set(stemmed)
        and _contains(stemmed, _WRONG + _STRONG + _PRAISE) < 0
    )


def _supposed(stemmed: list[str], at: int) -> bool:
    """Whether the words before `at` in the sentence make it a supposition."""
    return _contains(stemmed[:at], _SUPPOSING) >= 0


def _grievance(sentence: str, asked: bool) -> str | None:
    stemmed = stems(sentence)
    first_person = bool(_FIRST_PERSON & set(stemmed))
    at = _contains(stemmed, _COMPENSATION)
    if at >= 0:
        return "asks for compensation"
    at = _contains(stemmed, _STRONG)
    if at >= 0 and not _supposed(stemmed, at):
        return "strong feeling"
    at = _contains(stemmed, _WRONG)
    # Told, not asked, it needs no "my": "Parcel arrived smashed."
    if at >= 0 and (first_person or not asked) and not _supposed(stemmed, at):
        return "something went wrong for the customer"
    if not asked and _contains(stemmed, _DEMAND) >= 0:
        return "a demand"
    return None


def read_form(message: str) -> Form:
    """The message's questions, and its grievance if it tells one."""
    questions: list[str] = []
    grievance = None
    for sentence in sentences(message):
        asked = _is_question(sentence)
        if asked:
            questions.append(sentence)
        grievance = grievance or _grievance(sentence, asked)
    return Form(questions=tuple(questions), grievance=grievance)
