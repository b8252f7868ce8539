"""Characters: invisible ones removed, odd spaces made spaces, compatibility forms folded.

Decided once, so every text comes out the same way:

- Curly quotes and apostrophes are kept. They are what the writer typed (and what
  a repaired "â€™" means); straightening them would change text that is not broken.
- NFKC only where it is safe: full- and half-width forms ("Ｉｎｖｏｉｃｅ"), ligatures
  ("ﬁle"), styled letters ("𝐇𝐞𝐥𝐥𝐨") and non-breaking forms become the plain letters
  they stand for. Superscripts, fractions and circled or squared forms keep their
  own character: "m²" is not "m2" and "½" is not "1⁄2". Everything is NFC.
- Every space character (no-break, narrow, em, ideographic) becomes a plain space;
  line and paragraph separators become line breaks.
- Zero-width spaces, word joiners, byte-order marks, soft hyphens and bidirectional
  controls are removed. Zero-width joiners and non-joiners are kept: they shape
  letters in Indic and Persian scripts and join emoji.
- Control characters are removed, but line breaks and tabs (spaces, later on).
"""

# ruff: noqa: RUF002 (look-alike characters are this module's subject)

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

# Invisible and format characters that carry nothing a reader sees.
_INVISIBLE: Final = frozenset(
    "\u200b\u2060\ufeff\u00ad\u180e\u200e\u200f\u061c"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Compatibility forms whose plain letter says the same thing.
_SAFE_COMPATIBILITY: Final = ("<wide>", "<narrow>", "<font>", "<noBreak>")
# Latin ligatures (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ) are "<compat>", a tag shared with forms that are not safe.
_LIGATURES: Final = range(0xFB00, 0xFB07)
_LINE_SEPARATORS: Final = frozenset("\u2028\u2029\u0085")
_NEWLINES: Final = re.compile(r"\r\n?")


@dataclass(frozen=True)
class Characters:
    """A text after the character rules, and which of them changed it."""

    text: str
    normalised: bool
    controls_removed: bool


def _folded(char: str) -> str | None:
    """The plain form of a compatibility character that is safe to fold, else None."""
    decomposition = unicodedata.decomposition(char)
    if decomposition.startswith(_SAFE_COMPATIBILITY) or ord(char) in _LIGATURES:
        return unicodedata.normalize("NFKC", char)
    return None


def normalise_characters(text: str) -> Characters:
    """The text with the rules above applied, and whether each kind of rule changed it."""
    text = _NEWLINES.sub("\n", text)
    normalised = controls = False
    out: list[str] = []
    for char in text:
        if char.isascii() and (char.isprintable() or char in "\n\t"):
            out.append(char)
            continue
        category = unicodedata.category(char)
        if char in _LINE_SEPARATORS:
            out.append("\n")
            normalised = True
        elif char in _INVISIBLE:
            normalised = True
        elif category == "Cc":
            controls = True
        elif category == "Zs":
            out.append(" ")
            normalised = True
        elif (folded := _folded(char)) is not None:
            out.append(folded)
            normalised = normalised or folded != char
        else:
            out.append(char)
    joined = "".join(out)
    result = unicodedata.normalize("NFC", joined)
    # NFC's recompositions ("e" + combining acute -> "é") are a normalisation too.
    normalised = normalised or result != joined
    return Characters(result, normalised, controls)
