"""Redacting: each span's text replaced by its kind's placeholder, and JSON arguments walked.

Counts and placeholders say what was there, never what it was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from slmesh.runtime.pii.finder import find_pii, find_pii_in_windows
from slmesh.runtime.pii.kinds import PLACEHOLDERS, PiiKind, PiiSpan


@dataclass(frozen=True)
class Redacted:
    """A text with its personal data replaced by placeholders such as `[EMAIL]`."""

    text: str
    counts: dict[PiiKind, int] = field(default_factory=dict)
    spans: tuple[PiiSpan, ...] = ()


def _count(spans: list[PiiSpan]) -> dict[PiiKind, int]:
    return dict(Counter(span.kind for span in spans))


def redact(text: str) -> Redacted:
    """`text` with every span find_pii finds replaced by its placeholder.

    The spans are the original text's offsets. Raises TextTooLong as find_pii does.
    """
    return _replaced(text, find_pii(text))


def _replaced(text: str, spans: list[PiiSpan]) -> Redacted:
    pieces: list[str] = []
    at = 0
    for span in spans:
        pieces += [text[at : span.start], PLACEHOLDERS[span.kind]]
        at = span.end
    pieces.append(text[at:])
    return Redacted("".join(pieces), _count(spans), tuple(spans))


def _add(total: dict[PiiKind, int], counts: dict[PiiKind, int]) -> None:
    for kind, count in counts.items():
        total[kind] = total.get(kind, 0) + count


def scan_arguments(value: Any) -> dict[PiiKind, int]:
    """How much personal data of each kind the strings in a JSON value hold (keys not read).

    A string longer than a text may be is searched in windows (find_pii_in_windows),
    never refused: arguments are searched before they may leave the premises.
    """
    total: dict[PiiKind, int] = {}
    _walk(value, total, rewrite=False)
    return total


def redact_arguments(value: Any) -> tuple[Any, dict[PiiKind, int]]:
    """A copy of a JSON value with every string redacted (keys kept), and the counts.

    Strings of any length, as scan_arguments reads them.
    """
    total: dict[PiiKind, int] = {}
    return _walk(value, total, rewrite=True), total


def _walk(value: Any, total: dict[PiiKind, int], *, rewrite: bool) -> Any:
    # Iterative would bound the stack; JSON the mesh accepts is already depth-limited by
    # its parser, and arguments are small.
    if isinstance(value, str):
        spans = find_pii_in_windows(value)
        if rewrite:
            redacted = _replaced(value, spans)
            _add(total, redacted.counts)
            return redacted.text
        _add(total, _count(spans))
        return value
    if isinstance(value, dict):
        return {key: _walk(item, total, rewrite=rewrite) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, total, rewrite=rewrite) for item in value]
    return value
