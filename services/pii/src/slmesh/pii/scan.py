"""The pii micromodel's domain: a text in; what personal data it holds, and the text redacted.

The answer never carries a found value: counts per kind, offsets into the
caller's own text, and the text with each value replaced by its kind's
placeholder (`[EMAIL]`, `[PERSON]`, …). The finding is the runtime's
(`slmesh.runtime.pii`), so any service can check its own text the same way.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from slmesh.runtime.pii import KINDS, MAX_TEXT_CHARS, PiiKind, find_pii, redact

Mode = Literal["find", "redact"]

# How much of the redacted text the summary quotes: a composer's answer stays readable,
# and the whole text is in the output.
SUMMARY_QUOTE_CHARS: Final = 4000

# A kind in words, singular and plural, for the summary.
_WORDS: Final[dict[PiiKind, tuple[str, str]]] = {
    "person": ("name", "names"),
    "address": ("address", "addresses"),
    "email": ("email", "emails"),
    "phone": ("phone number", "phone numbers"),
    "iban": ("IBAN", "IBANs"),
    "card": ("card number", "card numbers"),
    "national_id": ("national ID", "national IDs"),
    "date_of_birth": ("date of birth", "dates of birth"),
}


class PiiRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="English or German text to check for personal data.",
        examples=["Please call Jane Doe on +44 20 7946 0958 or mail jane.doe@example.com."],
    )
    mode: Mode = Field(
        default="redact",
        description="'redact': also return the text with placeholders; 'find': spans only.",
    )


class FoundSpan(BaseModel):
    kind: PiiKind
    start: int = Field(ge=0, description="Offset of the first character in the given text.")
    end: int = Field(ge=1, description="Offset just past the last character.")


class PiiReport(BaseModel):
    redacted: str | None = Field(
        description="The text with each finding replaced by [KIND]; null in mode 'find'."
    )
    found: dict[PiiKind, int] = Field(description="How many of each kind were found.")
    spans: list[FoundSpan] = Field(
        description="Where each finding is in the given text (offsets only, never the value)."
    )


def scan(request: PiiRequest) -> PiiReport:
    if request.mode == "find":
        spans = find_pii(request.text)
        redacted = None
        found: dict[PiiKind, int] = {}
        for span in spans:
            found[span.kind] = found.get(span.kind, 0) + 1
    else:
        result = redact(request.text)
        spans, redacted, found = list(result.spans), result.text, result.counts
    return PiiReport(
        redacted=redacted,
        found={kind: found[kind] for kind in KINDS if kind in found},
        spans=[FoundSpan(kind=s.kind, start=s.start, end=s.end) for s in spans],
    )


def _counted(found: dict[PiiKind, int]) -> str:
    parts = [f"{n} {_WORDS[kind][0 if n == 1 else 1]}" for kind, n in found.items()]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def describe(report: PiiReport) -> str:
    """E.g. `Found 2 emails and 1 IBAN; redacted text: …` (deterministic; quoted verbatim)."""
    found = "Found no personal data" if not report.found else f"Found {_counted(report.found)}"
    if report.redacted is None:
        return f"{found}."
    quote = report.redacted[:SUMMARY_QUOTE_CHARS]
    if len(report.redacted) > SUMMARY_QUOTE_CHARS:
        quote += f" … (first {SUMMARY_QUOTE_CHARS} of {len(report.redacted)} characters)"
    return f"{found}; redacted text: {quote}"
