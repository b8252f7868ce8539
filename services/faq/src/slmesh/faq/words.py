"""Words as the matcher compares them: lower case, accents and inflections taken off.

A customer writes "refunds", "refunded" or "Refund"; the policy file lists "refund".
Both sides go through the same light stemmer, so a keyword matches every usual form
of itself without the file listing each one. The stemmer is deliberately crude: it
only has to map a word and its inflections to one key, never to a real word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

_WORD: Final = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
# "send ... back": a gap of up to MAX_GAP words in a keyword.
GAP: Final = "..."
MAX_GAP: Final = 3
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+|\n+")
# Doubled before -ing/-ed ("shipped", "stopped"); "l" only in long stems ("cancelled"
# but not "called"), as British spelling doubles it.
_DOUBLED: Final = frozenset("bdgmnprt")

# Function words: left out when a phrasing is compared word by word, so "What is your
# refund policy?" and "refund policy" share what matters.
STOPWORDS: Final[frozenset[str]] = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "if", "of", "to", "for", "in", "on", "at", "by",
        "with", "from", "about", "as", "into", "than", "then", "so", "i", "me", "my", "mine", "we",
        "us", "our", "you", "your", "yours", "it", "its", "this", "that", "these", "those", "there",
        "here", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did",
        "doing", "done", "have", "has", "had", "having", "can", "could", "will", "would", "shall",
        "should", "may", "might", "must", "what", "what's", "whats", "how", "when", "where",
        "which", "who", "whom", "why", "whose", "please", "hi", "hello", "hey", "thanks", "thank",
        "just", "any", "some", "all", "also", "very", "really", "much", "many", "get", "got", "not",
        "no", "yes", "ok", "okay",
    ]
)  # fmt: skip


def fold(text: str) -> str:
    """Lower case without accents, curly quotes made straight."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """One key for a word and its inflections: refunds, refunded -> refund."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            last = word[-1]
            if word[-2] == last and (last in _DOUBLED or (last == "l" and len(word) > 4)):
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The folded words of a text, in order, unstemmed."""
    return _WORD.findall(fold(text))


def stems(text: str) -> list[str]:
    """The stemmed words of a text, in order."""
    return [stem(w) for w in words(text)]


def sentences(text: str) -> list[str]:
    """The text cut after each ., ! and ? (and at line breaks), blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def phrase(text: str) -> tuple[str, ...]:
    """A keyword as the stems it matches, in order; "..." in it (as in "send ... back")
    stands for a gap of up to MAX_GAP words."""
    parts = [stems(part) for part in text.split("...")]
    found: list[str] = []
    for index, part in enumerate(parts):
        if index and found and part:
            found.append(GAP)
        found += part
    return tuple(found)


def _match_at(needle: Sequence[str], haystack: Sequence[str], at: int) -> bool:
    if not needle:
        return True
    if needle[0] == GAP:
        return any(
            _match_at(needle[1:], haystack, at + skip)
            for skip in range(MAX_GAP + 1)
            if at + skip <= len(haystack)
        )
    return (
        at < len(haystack) and haystack[at] == needle[0] and _match_at(needle[1:], haystack, at + 1)
    )


def find(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """Where the stems `needle` first occur in `haystack` (gaps allowed where it has
    them), or -1."""
    if not needle:
        return -1
    for start in range(len(haystack)):
        if _match_at(needle, haystack, start):
            return start
    return -1


def mask(needles: Sequence[Sequence[str]], haystack: Sequence[str]) -> list[str]:
    """`haystack` with every occurrence of each of `needles` (phrases without a gap)
    blanked out: what is left says nothing those phrases said."""
    left = list(haystack)
    for needle in needles:
        size = len(needle)
        for start in range(len(left) - size + 1):
            if size and left[start : start + size] == list(needle):
                left[start : start + size] = [""] * size
    return left


_STOP_STEMS: Final = frozenset(stem(w) for w in STOPWORDS)


def content(stemmed: Sequence[str]) -> set[str]:
    """The stems that carry meaning: stop words left out."""
    return {s for s in stemmed if s not in _STOP_STEMS}
