"""Personal data (PII) in English and German text: found, counted and redacted, deterministically.

Enterprises want sensitive data to stay on local models; before a text goes
anywhere else, this says what personal data it holds and can replace it with
placeholders (`[EMAIL]`, `[PERSON]`, …). Pure functions, stdlib `re` only, no
model: the same text always gives the same answer, in time linear in its length
(every pattern is bounded; a text is at most MAX_TEXT_CHARS).

    find_pii(text) -> [PiiSpan(kind, start, end), ...]    # at most MAX_TEXT_CHARS
    find_pii_in_windows(text) -> [PiiSpan, ...]           # any length, overlapping windows
    redact(text) -> Redacted(text, counts, spans)         # at most MAX_TEXT_CHARS
    scan_arguments(value) -> {kind: count}                # JSON: dicts, lists, strings
    redact_arguments(value) -> (redacted value, {kind: count})

Nothing here logs a value or puts one in an exception: spans are offsets into
the caller's own text.

Modules by concern: `kinds` (what is reported), `checks` (check digits and
number rules), `context` (cue words, the language), one recognizer module per
family (`finance`, `contact`, `national_ids`, `birth_dates`, `names`,
`addresses`), `finder` (all of them, overlaps resolved), `redaction`.
"""

from slmesh.runtime.pii.finder import MAX_TEXT_CHARS, TextTooLong, find_pii, find_pii_in_windows
from slmesh.runtime.pii.kinds import KINDS, PLACEHOLDERS, PiiKind, PiiSpan
from slmesh.runtime.pii.redaction import Redacted, redact, redact_arguments, scan_arguments

__all__ = [
    "KINDS",
    "MAX_TEXT_CHARS",
    "PLACEHOLDERS",
    "PiiKind",
    "PiiSpan",
    "Redacted",
    "TextTooLong",
    "find_pii",
    "find_pii_in_windows",
    "redact",
    "redact_arguments",
    "scan_arguments",
]
