"""An advisory's text as sentences, each with the section it stands in.

Advisories put facts under headings as often as in prose: a GitHub advisory's
"Patched versions" with the version on the next line, a vendor bulletin's
"Workarounds:" with a list below, a tracker's "Severity: High". A sentence is read
with its section's kind, so "2.31.0" under "Patched versions" is a fixed version and
"Disable HTTP/2" under "Workarounds" is an action.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

SectionKind = Literal[
    "fixed", "unaffected", "affected", "workaround", "severity", "product", "other"
]

# Heading words by the kind of section they open. A heading is a short line of these
# words only, alone or before a colon ("Patched versions: 2.31.0").
_HEADINGS: Final[tuple[tuple[SectionKind, str], ...]] = (
    ("workaround", r"workarounds?|mitigations?(?: and workarounds?)?|workarounds? and mitigations?"
     r"|temporary (?:fix|mitigation)s?"),
    ("fixed", r"(?:first )?patched versions?|fixed (?:in )?versions?|fixed in|fix(?:es)?"
     r"|patch(?:es)?|solutions?|resolution|remediation|update instructions|updated packages"
     r"|fixed packages?|recommendations?|recommended actions?|patched|fixed"
     r"|(?:first )?fixed (?:releases?|builds?)"),
    # Where the bug never was or no longer is: curl's "Not affected versions: curl <
    # 7.69.0 and curl >= 8.4.0", RustSec's "Unaffected: <0.4.0".
    ("unaffected", r"unaffected(?: versions?)?|not affected(?: versions?)?|safe versions?"),
    ("affected", r"affected versions?|vulnerable versions?(?: range)?|versions? affected"
     r"|affected releases?|affected|affects|vulnerable"),
    ("severity", r"severity|cvss(?: v?\d(?:\.\d)?)?(?: base)?(?: score)?|base score|impact"
     r"|threat level|priority|urgency|rating"),
    ("product", r"(?:source )?package(?: name)?|product(?: name)?|software|component"
     r"|affected (?:products?|packages?|software|components?)"
     r"|project|library|module"),
    ("other", r"descriptions?|details|summary|overview|references|credits?|acknowledg\w*"
     r"|timeline|background|problem(?: description)?|weakness(?:es)?|cwe(?: ids?)?"
     r"|ecosystem|published|updated|date|notes?|impact details|analysis|ids?|aliases"),
)  # fmt: skip
_HEADING: Final = re.compile(
    r"^\s*(?:#{1,6}\s*)?[*_]{0,2}\s*(?P<words>[A-Za-z][A-Za-z0-9 ./()-]{0,40}?)\s*[*_]{0,2}"
    r"\s*(?::\s*[*_]{0,2}\s*(?P<rest>.*))?$"
)
_KINDS: Final = [(kind, re.compile(rf"(?:{words})", re.IGNORECASE)) for kind, words in _HEADINGS]
_BULLET: Final = re.compile(r"^\s*(?:[-*•▪‣◦]|\d{1,2}[.)])\s+")
# A sentence ends at . ! or ? before a blank and a capital, a digit or an opening mark;
# a version's dots are never followed by a blank.
_SENTENCE_END: Final = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'(\[`*])")


@dataclass(frozen=True)
class Sentence:
    text: str
    section: SectionKind | None


def heading(line: str) -> tuple[SectionKind, str] | None:
    """The kind of section a line opens, and what follows its colon on the same line."""
    match = _HEADING.match(line)
    if match is None:
        return None
    words = match["words"].strip()
    rest = (match["rest"] or "").strip()
    # A line with a colon may say anything after it; without one, only a heading's
    # words may stand alone (a short sentence such as "Disable HTTP/2" is not one).
    for kind, pattern in _KINDS:
        if pattern.fullmatch(words):
            if match["rest"] is None and line.rstrip().endswith("."):
                return None
            return kind, rest
    return None


# Prose wrapped by hand breaks its lines at 60 to 80 characters; a line shorter than
# this that does not end a sentence is a row of a table or a list.
_WRAPPED_CHARS: Final = 40


def _wrapped(line: str) -> bool:
    return len(line) >= _WRAPPED_CHARS and not line.rstrip().endswith((".", "!", "?", ":"))


def _blocks(text: str) -> Iterator[tuple[str, SectionKind | None]]:
    """Paragraphs and list items, hard-wrapped lines joined, each with its section."""
    section: SectionKind | None = None
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        opened = heading(line) if line else None
        if (not line or opened is not None or _BULLET.match(line)) and lines:
            yield " ".join(lines), section
            lines = []
        if opened is not None:
            kind, rest = opened
            if rest:
                # "Affects: 2.4.0 through 2.4.57": the heading's kind is its value's only.
                yield rest, kind
                section = None
            else:
                section = kind
            continue
        if line and lines and not _wrapped(lines[-1]):
            # A short line before it is a table's row or a list's, not wrapped prose.
            yield " ".join(lines), section
            lines = []
        if line:
            lines.append(_BULLET.sub("", line))
    if lines:
        yield " ".join(lines), section


def sentences(text: str) -> list[Sentence]:
    """The text's sentences in order, each with the kind of section it stands in."""
    found: list[Sentence] = []
    for block, section in _blocks(text):
        for part in _SENTENCE_END.split(block):
            part = part.strip().strip("*_`").strip()
            if part:
                found.append(Sentence(part, section))
    return found
