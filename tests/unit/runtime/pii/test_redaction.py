"""redact, scan_arguments, redact_arguments; the text limit; nothing of a value leaks."""

from __future__ import annotations

import logging

import pytest

from slmesh.runtime.pii import (
    MAX_TEXT_CHARS,
    PLACEHOLDERS,
    PiiSpan,
    TextTooLong,
    find_pii,
    redact,
    redact_arguments,
    scan_arguments,
)

LETTER = (
    "Dear Jane Whitfield,\nplease pay to DE89 3704 0044 0532 0130 00 and mail "
    "jane@example.com or jane.w@example.org.\nBest regards,\nTom Barker"
)


def test_redact_replaces_each_span_with_its_placeholder_and_counts() -> None:
    result = redact(LETTER)
    assert result.text == (
        "Dear [PERSON],\nplease pay to [IBAN] and mail [EMAIL] or [EMAIL].\nBest regards,\n[PERSON]"
    )
    assert result.counts == {"person": 2, "iban": 1, "email": 2}
    assert list(result.spans) == find_pii(LETTER)


def test_redacting_nothing_is_the_text_itself() -> None:
    result = redact("Nothing to see: order 4471, 12.5 kg.")
    assert result.text == "Nothing to see: order 4471, 12.5 kg."
    assert result.counts == {}


def test_placeholders_name_the_kind() -> None:
    assert PLACEHOLDERS["date_of_birth"] == "[DATE_OF_BIRTH]"
    assert PLACEHOLDERS["national_id"] == "[NATIONAL_ID]"


def test_arguments_are_walked_keys_untouched() -> None:
    arguments = {
        "text": "Mail jane@example.com",
        "jane@example.com": "a key is not read",
        "items": ["IBAN DE89 3704 0044 0532 0130 00", {"note": "call +44 20 7946 0958"}, 7],
        "amount": 12.5,
        "flag": True,
        "none": None,
    }
    assert scan_arguments(arguments) == {"email": 1, "iban": 1, "phone": 1}
    redacted, counts = redact_arguments(arguments)
    assert counts == {"email": 1, "iban": 1, "phone": 1}
    assert redacted == {
        "text": "Mail [EMAIL]",
        "jane@example.com": "a key is not read",
        "items": ["IBAN [IBAN]", {"note": "call [PHONE]"}, 7],
        "amount": 12.5,
        "flag": True,
        "none": None,
    }
    # The value given is left as it was.
    assert arguments["text"] == "Mail jane@example.com"


def test_a_bare_string_is_an_argument_too() -> None:
    assert redact_arguments("jane@example.com") == ("[EMAIL]", {"email": 1})
    assert scan_arguments(42) == {}


def test_a_text_over_the_limit_is_refused_and_the_error_holds_no_text() -> None:
    text = "jane@example.com " * (MAX_TEXT_CHARS // 17 + 1)
    with pytest.raises(TextTooLong) as raised:
        find_pii(text)
    assert "@" not in str(raised.value)
    assert str(MAX_TEXT_CHARS) in str(raised.value)
    with pytest.raises(TextTooLong):
        redact(text)
    assert find_pii(text[:MAX_TEXT_CHARS]) != []


def test_a_longer_argument_is_searched_whole_in_windows() -> None:
    # Three windows' worth, with values on and around every window's edge.
    unit = "mail jane@example.com, IBAN DE89 3704 0044 0532 0130 00. "
    text = unit * (3 * MAX_TEXT_CHARS // len(unit))
    expected = text.count("@")
    assert scan_arguments({"text": text}) == {"email": expected, "iban": expected}
    redacted, counts = redact_arguments([text])
    assert counts == {"email": expected, "iban": expected}
    assert redacted == [
        text.replace("jane@example.com", "[EMAIL]").replace("DE89 3704 0044 0532 0130 00", "[IBAN]")
    ]


def test_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        redact(LETTER)
        redact_arguments({"a": [LETTER]})
    assert caplog.records == []


def test_a_span_is_a_non_empty_range() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        PiiSpan("email", 4, 4)
    assert len(PiiSpan("email", 4, 10)) == 6


# Inputs shaped to make a careless pattern backtrack: each must simply finish (the
# patterns are bounded; a catastrophic one would not return in the test's lifetime).
ADVERSARIAL = {
    "letters": "a" * MAX_TEXT_CHARS,
    "digits": "1" * MAX_TEXT_CHARS,
    "spaced digits": "1 " * (MAX_TEXT_CHARS // 2),
    "dashed digits": "1-" * (MAX_TEXT_CHARS // 2),
    "at signs": "a@" * (MAX_TEXT_CHARS // 2),
    "dots": "a." * (MAX_TEXT_CHARS // 2),
    "long local parts": ("a" * 60 + "@" + "b" * 60 + ".") * (MAX_TEXT_CHARS // 122),
    "capitalised words": "Aaaa " * (MAX_TEXT_CHARS // 5),
    "given names": "Anna " * (MAX_TEXT_CHARS // 5),
    "titles": "Herr " * (MAX_TEXT_CHARS // 5),
    "iban heads": ("DE89" + "3" * 40 + " ") * (MAX_TEXT_CHARS // 45),
    "iban groups": ("DE89 " + "3704 " * 20) * (MAX_TEXT_CHARS // 105),
    "streets": "Lindenstraße " * (MAX_TEXT_CHARS // 13),
    "postal codes": "10115 Berlin " * (MAX_TEXT_CHARS // 13),
    "birth cues": "born " * (MAX_TEXT_CHARS // 5),
    "brackets": "(" * MAX_TEXT_CHARS,
    "newlines": "\n" * MAX_TEXT_CHARS,
    "labels": "Name: " * (MAX_TEXT_CHARS // 6),
    "closings": "Best regards,\n" * (MAX_TEXT_CHARS // 14),
    "hyphenated words": "Dr.-Wilhelm-Külz-" * (MAX_TEXT_CHARS // 17),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_texts_of_the_full_length_finish(name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(text) <= MAX_TEXT_CHARS
    spans = find_pii(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
