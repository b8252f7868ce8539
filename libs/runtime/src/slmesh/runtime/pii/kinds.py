"""What the finder reports: the kinds of personal data and a span of one in a text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

# A Literal so that a schema built from it is a closed enum, and a typo is a type error.
PiiKind = Literal[
    "person",
    "address",
    "email",
    "phone",
    "iban",
    "card",
    "national_id",
    "date_of_birth",
]

KINDS: Final[tuple[PiiKind, ...]] = get_args(PiiKind)

# What a redacted text shows instead of a value: the kind, never a part of the value.
PLACEHOLDERS: Final[dict[PiiKind, str]] = {kind: f"[{kind.upper()}]" for kind in KINDS}


@dataclass(frozen=True)
class PiiSpan:
    """Personal data of `kind` at text[start:end].

    Only offsets: the value stays in the caller's own text, so a span can be
    logged, counted and sent on without carrying what it points at.
    """

    kind: PiiKind
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"a span is a non-empty range, not [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: PiiSpan) -> bool:
        return self.start < other.end and other.start < self.end
