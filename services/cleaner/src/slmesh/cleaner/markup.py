"""Markup remnants: HTML entities decoded, tags stripped, block ends kept as line breaks.

Text pasted from a web page or an HTML email keeps bits of its markup. Only what is
surely markup is touched:

- an entity is `&name;`, `&#123;` or `&#x1F;` with its semicolon, so "R&D" and
  "AT&T" stay as they are; a twice-escaped entity ("&amp;amp;") is decoded to the end;
- a tag is `<` and a tag name, then `>` or a space and its attributes: an address in
  angle brackets ("<anna@example.com>", "<https://example.com>") is no tag and stays;
- scripts, styles and comments go whole, their content is no text;
- a tag that ends a block (a paragraph, a line break, a list item, a table row) leaves
  a line break, so words of two paragraphs do not run together.
"""

from __future__ import annotations

import html
import re
from typing import Final

_ENTITY: Final = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Decoding "&amp;amp;lt;" takes a round per level of escaping; none has more than a few.
MAX_ENTITY_ROUNDS: Final = 4
# Bounded repetitions: no input makes a match take long.
_SCRIPT: Final = re.compile(
    r"<(script|style|head|title)\b[^<>]{0,2000}>.*?</\1\s{0,10}>", re.IGNORECASE | re.DOTALL
)
_COMMENT: Final = re.compile(r"<!--.*?-->", re.DOTALL)
_DECLARATION: Final = re.compile(r"<![A-Za-z\[][^<>]{0,2000}>|<\?[^<>]{0,2000}\?>")
_BLOCK_NAMES: Final = (
    "br|p|div|li|ul|ol|tr|table|h[1-6]|blockquote|pre|hr|section|article|header|footer|"
    "address|dd|dt|dl|tbody|thead"
)
_BLOCK_TAG: Final = re.compile(rf"</?(?:{_BLOCK_NAMES})(?:\s[^<>]{{0,2000}})?/?>", re.IGNORECASE)
# A cell ends with a space, so the words of two cells stay apart.
_CELL_TAG: Final = re.compile(r"</(?:td|th)\s{0,10}>", re.IGNORECASE)
# A tag's attributes: some with "=", or one bare word (<td nowrap>); "<b and c>" in a
# sentence has neither. No "=" in the first run, so matching stays linear.
_ATTRIBUTES: Final = r"(?:\s+(?:[A-Za-z-]{1,30}|[^<>=]{0,2000}=[^<>]{0,2000}))?\s{0,10}"
# HTML's element names: "<EUR 50>" or "<Anna>" in a text is no tag, and is kept.
_ELEMENTS: Final = (
    "a|abbr|area|b|base|bdi|bdo|big|body|button|caption|center|cite|code|col|colgroup|"
    "data|del|details|dfn|em|font|form|html|i|iframe|img|input|ins|kbd|label|legend|link|"
    "main|map|mark|meta|nav|noscript|object|option|picture|q|s|samp|select|small|source|"
    "span|strike|strong|sub|summary|sup|svg|td|th|time|tt|u|var|video|wbr|" + _BLOCK_NAMES
)
# Or a name with a namespace (<o:p> of Word's HTML, <v:shape>).
_TAG: Final = re.compile(
    rf"</?(?:(?:{_ELEMENTS})|[A-Za-z]{{1,10}}:[A-Za-z0-9]{{1,30}}){_ATTRIBUTES}/?>",
    re.IGNORECASE,
)


def decode_entities(text: str) -> str:
    """The text with each complete HTML entity decoded, twice-escaped ones too."""
    for _ in range(MAX_ENTITY_ROUNDS):
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
        if decoded == text:
            break
        text = decoded
    return text


def strip_tags(text: str) -> str:
    """The text without tags, scripts, styles and comments; blocks end in line breaks."""
    if "<" not in text:
        return text
    text = _SCRIPT.sub("", text)
    text = _COMMENT.sub("", text)
    text = _DECLARATION.sub("", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _CELL_TAG.sub(" ", text)
    return _TAG.sub("", text)


def strip_markup(text: str) -> str:
    """Entities decoded first: an escaped tag ("&lt;b&gt;") is a tag of the page too."""
    return strip_tags(decode_entities(text))
