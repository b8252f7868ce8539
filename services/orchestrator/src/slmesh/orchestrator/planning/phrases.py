"""A card's words made into matchers: phrases to bounded patterns, and near misses by edit
distance.

A card's keyword is plain words: `*` ends a word's stem ("summar*"), `...` is a gap of
a few words ("is this ... or"). Everything else is escaped, and every repetition is
bounded, so a card's phrase cannot make a match take long (no card supplies a pattern).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

# A gap in a phrase, and what it may stand for: a few words.
ELLIPSIS = "..."
GAP = r"(?:[^\s]+\s+){0,6}?"
# Only the opening of a clause is matched: what it asks is said there, and a pasted text
# without punctuation must not make matching long.
MATCHED_CHARS = 600
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")


def phrase_pattern(phrase: str) -> str:
    """A phrase as a pattern: its words in order, matched whole (or as a stem with `*`)."""
    parts: list[str] = []
    for token in phrase.lower().split():
        if token == ELLIPSIS:
            # The gap ends in a space of its own: the next word follows it directly.
            parts += [r"\s+", GAP] if parts else [GAP]
            continue
        stem = token.rstrip("*")
        piece = re.escape(stem) + (r"\w*" if token.endswith("*") else "")
        if parts and parts[-1] != GAP:
            parts.append(r"\s+")
        parts.append(piece)
    body = "".join(parts)
    return rf"(?<!\w){body}(?!\w)"


def phrases_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """Phrases as one pattern, longest first ("czech republic" wins over "czech")."""
    return _compiled(
        tuple(sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True))
    )


@functools.lru_cache(maxsize=1024)
def _compiled(ordered: tuple[str, ...]) -> re.Pattern[str] | None:
    # Cached: the same card's phrases are matched on every clause of every request.
    if not ordered:
        return None
    return re.compile("|".join(f"(?:{phrase_pattern(p)})" for p in ordered), re.IGNORECASE)


def folded(text: str) -> str:
    """Lower case without accents: 'España' and 'espana' are one name to fuzzy matching."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[tuple[int, str]]:
    """(offset, word) of each word in the opening of `text`, a possessive's 's dropped."""
    found = []
    for m in _WORD.finditer(text[:MATCHED_CHARS]):
        word = re.sub(r"['\u2019]s$", "", m.group())
        found.append((m.start(), word))
    return found


def distance(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions (optimal string alignment), or limit + 1 once it
    is surely over `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def tolerance(word: str) -> int:
    """How many typos a word of this length may carry and still be read as meant: none
    below five letters (too many short words are a letter apart), one, two from eight."""
    if len(word) < 5:
        return 0
    return 1 if len(word) < 8 else 2


def near(word: str, target: str) -> bool:
    """Whether `word` is `target` misspelt (a letter missing, extra, wrong or swapped)."""
    word, target = folded(word), folded(target)
    # The shorter of the two sets the bound: "portal" is not "portugal" with two typos.
    limit = tolerance(min(word, target, key=len))
    return limit > 0 and word != target and distance(word, target, limit) <= limit


def near_stem(word: str, stem: str) -> bool:
    """Whether `word` starts with `stem` misspelt ("sumarize" for "summar*")."""
    word, stem = folded(word), folded(stem)
    limit = min(1, tolerance(stem))
    if limit == 0 or word.startswith(stem):
        return False
    return any(
        distance(word[:n], stem, limit) <= limit for n in range(len(stem) - 1, len(stem) + 2)
    )


# Words that say nothing of what is asked: a shared one is no sign of a shared topic.
_FUNCTION_WORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "and",
        "any",
        "are",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "can",
        "could",
        "did",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "into",
        "its",
        "itself",
        "just",
        "less",
        "like",
        "more",
        "most",
        "much",
        "must",
        "need",
        "needs",
        "not",
        "now",
        "off",
        "once",
        "only",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "too",
        "under",
        "until",
        "very",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "give",
        "tell",
        "show",
        "want",
        "know",
        "help",
        "make",
        "thanks",
        "thank",
        "could",
        "kindly",
        "quick",
    ]
)


def content_stems(text: str) -> set[str]:
    """The stems (first five letters, accents folded) of a text's words that carry meaning."""
    stems = set()
    for _, word in words(text):
        w = folded(word)
        if len(w) >= 4 and w not in _FUNCTION_WORDS:
            stems.add(w[:5])
    return stems
