"""Boilerplate: the lines an email or a web page carries around its content.

Each rule finds a kind of line by its form, never by what a particular sender
writes, and removes only that line or block:

- quoted reply: a reply header ("On <date>, <someone> wrote:", "Am ... schrieb ...:",
  "-----Original Message-----" and the From/Sent/To/Subject lines under it) and the
  lines quoted with ">" after it (a run of two or more ">" lines anywhere); under a
  reply written above it, a header whose earlier message is not quoted with ">" (as
  Outlook writes it) takes that message, to the end, with it. A forwarded message's
  header goes, the message it forwards is the content and stays;
- signature: everything after a "--" line, a "Sent from my iPhone" line, and the
  contact lines (phone, fax, web address) under a closing such as "Best regards"; the
  closing and the name, title and company under it are kept (they say who wrote);
- disclaimer: a paragraph that opens as a confidentiality or legal notice, or that
  says three of the things such notices say (confidential, intended recipient,
  received in error, prohibited, notify the sender, ...);
- footer: unsubscribe and preference lines, "you are receiving this because",
  copyright and "all rights reserved" lines, link rows of privacy and terms;
- view in browser: "View this email in your browser", "Having trouble viewing";
- cookie banner: "We use cookies", "Accept all cookies", and the button lines beside;
- virus scan: "This email has been scanned by ...", "Virus-free. www.avast.com";
- page header: "Page 1 of 2", "- 2 -", and a running header or footer line that stands
  beside page numbers more than once.

A line that says such a thing inside a sentence of the body ("Please unsubscribe me
from your list") matches none of these forms and stays. Only lines of at most
MAX_RULE_LINE_CHARS are read: longer ones are body text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

QUOTED_REPLY: Final = "quoted reply"
SIGNATURE: Final = "signature"
DISCLAIMER: Final = "disclaimer"
FOOTER: Final = "footer"
VIEW_IN_BROWSER: Final = "view in browser"
COOKIE_BANNER: Final = "cookie banner"
VIRUS_SCAN: Final = "virus scan"
PAGE_HEADER: Final = "page header"

MAX_RULE_LINE_CHARS: Final = 400
# How far under a closing its contact lines may stand.
SIGNATURE_LINES: Final = 10
# A disclaimer says this many of the things notices say.
DISCLAIMER_MARKERS: Final = 3

_I = re.IGNORECASE


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _I)


# --- quoted replies ---------------------------------------------------------------------

_REPLY_HEADER: Final = _any(
    r"^on\b.{3,250}\bwrote\s?:$",
    r"^am\b.{3,250}\bschrieb\b.{0,250}:$",
    r"^le\b.{3,250}\ba [ée]crit\s?:$",
)
# Gmail wraps a long header: "On Mon, 3 Mar 2025 at 10:02, Anna Berg <anna@...>" / "wrote:".
_REPLY_HEADER_START: Final = _any(r"^on\b.{3,250}\d.{0,250}$", r"^am\b.{3,250}\d.{0,250}$")
_REPLY_HEADER_END: Final = _any(r"^.{0,120}\bwrote\s?:$", r"^.{0,120}\bschrieb\s?:$")
_ORIGINAL_MESSAGE: Final = _any(
    r"^-{2,}\s?(?:original message|ursprüngliche nachricht|message d'origine|"
    r"forwarded message|weitergeleitete nachricht|message transféré)\s?-{2,}$",
    r"^begin forwarded message\s?:$",
)
# A forwarded message is what the sender passes on: its header goes, its text stays.
_FORWARDED: Final = _any(r"forward|weitergeleitet|transféré")
_HEADER_FIELD: Final = _any(
    r"^(?:from|sent|date|to|cc|bcc|subject|reply-to|von|gesendet|datum|an|betreff|"
    r"de|envoyé|à|objet)\s?:"
)
_SENT_FIELD: Final = _any(r"^(?:sent|date|gesendet|datum|envoyé)\s?:")
_FROM_FIELD: Final = _any(r"^(?:from|von|de)\s?:")

# --- signatures -------------------------------------------------------------------------

_DEVICE: Final = _any(
    r"^(?:sent|gesendet|envoy[ée])\s(?:from|with|via|von|mit|depuis|de)\s(?:my\s|mein\w{0,3}\s|"
    r"mon\s)?(?:\w+\s)?(?:iphone|ipad|android|samsung|galaxy|blackberry|mobile|phone|"
    r"smartphone|handy|outlook|mail|windows|huawei|pixel|yahoo|gmail|proton\w{0,10}|"
    r"xiaomi|tablet|device)\b.{0,60}$",
    r"^von meinem \w+ gesendet\W{0,3}$",
    r"^get outlook for (?:ios|android|windows|mac)\W{0,3}$",
)
_DELIMITER: Final = re.compile(r"^--$")
_CLOSING: Final = _any(
    r"^(?:(?:best|kind|warm|warmest|many|with)\s)?(?:regards|wishes|thanks)\W{0,3}$",
    r"^(?:thanks|thank you|many thanks|cheers|sincerely|yours(?: sincerely| truly| "
    r"faithfully)?|all the best|best|respectfully|mit freundlichen grüßen|mit freundlichem "
    r"gruß|freundliche grüße|viele grüße|beste grüße|liebe grüße|schöne grüße|gruß|grüße|"
    r"cordialement|bien à vous)\W{0,3}$",
)
_CONTACT: Final = _any(
    r"^(?:t|tel|tele|telephone|phone|p|m|mob|mobile|cell|f|fax|e|email|e-mail|w|web|"
    r"website|office|direct|dd|skype|linkedin|twitter|telefon|mobil|handy)\s?[.:]\s?\S",
    r"^(?:https?://|www\.)\S{1,200}$",
    r"^[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,5}$",
    r"^\+?[0-9][0-9 ().-]{6,24}$",
)

# --- disclaimers ------------------------------------------------------------------------

_NOTICE_OPENING: Final = _any(
    r"^\W{0,5}(?:confidentiality notice|confidentiality|disclaimer|legal notice|legal "
    r"disclaimer|privileged (?:and|&) confidential|notice of confidentiality|important "
    r"notice|haftungsausschluss|vertraulichkeitshinweis|rechtlicher hinweis)\b",
    r"^\W{0,5}(?:this|the) (?:e-?mail|message|communication|transmission)(?: and any "
    r"[^.]{0,80}?)? (?:is|are|may be|may contain|contains?) (?:strictly )?(?:confidential|"
    r"privileged|intended)",
    r"^\W{0,5}the (?:information|contents?) (?:contained )?(?:in|of) this (?:e-?mail|"
    r"message|communication|transmission)",
    r"^\W{0,5}(?:diese|die) (?:e-?mail|nachricht)[^.]{0,80}?(?:vertraulich|bestimmt)",
    r"^\W{0,5}(?:\w\s)?please consider the environment before printing",
    r"^\W{0,5}(?:\w\s)?(?:please )?think (?:of the environment )?before (?:you )?print",
    r"^\W{0,5}any (?:views|opinions)(?: or (?:views|opinions))? (?:expressed|presented|"
    r"contained)\b",
    r"^\W{0,5}(?:note|notice|important)\s?:\s?(?:this|the) (?:e-?mail|message)\b",
    r"^\W{0,5}registered (?:in|office)\b.{0,200}\b(?:company|registered) (?:no|number|"
    r"registration)\b",
)
_NOTICE_MARKERS: Final = tuple(
    re.compile(p, _I)
    for p in (
        r"\bconfidential",
        r"\bprivileged\b",
        r"\bintended (?:solely |only |exclusively )?for\b|\bintended recipient",
        r"\breceived this [^.]{0,60}in error\b|\bin error\b",
        r"\bstrictly prohibited\b|\bprohibited\b",
        r"\bnotify the sender\b|\binform the sender\b|\bcontact the sender\b",
        r"\bdelete (?:it|this|the)\b|\bdestroy (?:it|this|all)\b",
        r"\bunauthori[sz]ed\b",
        r"\b(?:dissemination|distribution|disclosure|copying)\b",
        r"\bvirus(?:es)?\b",
        r"\bvertraulich|\birrtümlich|\bempfänger",
        r"\bliability\b|\bliable\b|\bhaftung",
    )
)

# --- footers, view in browser, cookie banners -------------------------------------------

_FOOTER: Final = _any(
    r"^\W{0,3}unsubscribe\b.{0,80}$",
    r"\b(?:to|you (?:can|may)|click here to|here to)\s(?:easily\s)?unsubscribe\b",
    r"\bunsubscribe\s(?:here|now|at any time|anytime|below|instantly)\b",
    r"\bif you (?:no longer|don't|do not) (?:wish|want) to receive\b",
    r"\b(?:manage|update|change|edit) (?:your )?(?:email |e-mail |subscription |notification "
    r"|communication |mailing |newsletter )?(?:preferences|subscriptions?)\b",
    r"\byou(?:'re|\u2019re| are) receiving this\b",
    r"\byou (?:have )?received this (?:e-?mail|message|newsletter|mail)\b",
    r"\bthis (?:e-?mail|message|newsletter) was sent to\b",
    r"^.{0,100}\ball rights reserved\b.{0,60}$",
    r"^\W{0,3}(?:©|\(c\)|copyright\b).{0,120}$",
    r"\bnewsletter abbestellen\b|\bvom newsletter abmelden\b|\bsie erhalten diese (?:e-?mail|"
    r"nachricht)\b",
    r"\bour mailing address is\b",
    r"^\W{0,3}this (?:e-?mail|message|newsletter) was sent (?:by|from|to)\b.{0,160}$",
    r"\b(?:to )?stop receiving (?:these|our|this|such) (?:e-?mails|emails|messages|"
    r"newsletters?|updates)\b",
    r"^\W{0,3}opt[ -]out(?: (?:of|from) (?:these|our|this|all|future) (?:e-?mails|"
    r"messages|mailings?|newsletters?|list|communications)\b.{0,60})?\W{0,3}$",
    r"^\W{0,3}add us to your address book\W{0,3}$",
    r"^\W{0,3}why did I (?:get|receive) this\W{0,3}$",
    r"\b(?:want to )?change how you receive these\b",
    r"^\W{0,3}(?:follow|find|connect with|join|like) us on\b.{0,120}$",
    r"^\W{0,3}forward (?:this (?:e-?mail |message |newsletter )?)?to a friend\W{0,3}$",
    r"^\W{0,3}(?:read more|continue reading)(?: on (?:our|the) (?:blog|web ?site|site))?\W{0,3}$",
    r"^\W{0,3}please do not reply\b.{0,160}$",
    r"\b(?:this )?(?:mailbox|inbox|e-?mail address) is not (?:monitored|attended)\b",
    r"^\W{0,3}(?:this is an? )?(?:automated|automatically generated|auto-generated) "
    r"(?:message|e-?mail|notification)\b.{0,120}$",
    r"^\W{0,3}(?:privacy (?:policy|notice)|terms (?:of (?:use|service)|and conditions|& "
    r"conditions)|contact us|impressum|datenschutz\w{0,10}|abmelden|imprint)\s?(?:[|•·/]"
    r"\s?[\w &'-]{1,40}\s?){1,8}$",
)
_VIEW_IN_BROWSER: Final = _any(
    r"\bview (?:this |it |the )?(?:e-?mail |message |newsletter |mail )?(?:in|on|with) "
    r"(?:your |a |the )?(?:web ?)?browser\b",
    r"\bhaving (?:trouble|problems|difficulty) (?:viewing|reading|seeing) this\b",
    r"\b(?:view|read|see|open) (?:this |the |it )?(?:e-?mail |message |newsletter )?"
    r"(?:online|on the web|as a web ?page)\W{0,3}$",
    r"\b(?:im|in einem|in ihrem) (?:web)?browser (?:ansehen|anzeigen|öffnen|lesen)\b",
    r"^\W{0,3}(?:web-?version|online-?version)\W{0,3}$",
)
_COOKIE: Final = _any(
    r"\b(?:we|this (?:web)?site|our (?:web)?site|this page|wir|diese (?:web)?seite) (?:use|"
    r"uses|verwende[nt]|nutze[nt]|setzen?) (?:\w+ )?cookies\b",
    r"\baccept (?:all )?cookies\b|\bcookies? akzeptieren\b",
    r"\bcookie (?:settings|preferences|policy|notice|banner|einstellungen|richtlinie)\b",
    r"\bby (?:continuing to )?(?:use|using|browse|browsing|visit|visiting) (?:this|our) "
    r"(?:web)?site\b",
    r"\b(?:our|the) use of cookies\b",
)
_VIRUS_SCAN: Final = _any(
    r"^\W{0,3}(?:this|the|your) (?:e-?mail|message|mail)(?: and (?:any|its|all) attachments?)? "
    r"(?:has|have|was|were) (?:been )?(?:scanned|checked|swept|screened)\b",
    r"\b(?:scanned|checked|swept) (?:for|by|with)\b.{0,80}\b(?:virus(?:es)?|anti-?virus|"
    r"malware|spam|security|mimecast|symantec|sophos|mcafee|messagelabs|proofpoint|"
    r"barracuda|mailscanner|avast|avg)\b",
    r"^\W{0,3}virus-? ?free\b.{0,80}$",
    r"\bno virus (?:was )?found in this\b",
    r"\bbelieved to be clean\b",
)
# "Page 1 of 2", "Seite 2 von 3", "- 2 -", "2/7": a page's number alone, or after a
# dash or bar that closes a running footer ("Confidential - Page 3 of 7").
_PAGE_NUMBER: Final = _any(
    r"^(?:.{0,60}?\s[-\u2013\u2014|•·]\s)?\W{0,3}(?:page|seite|pagina|página|p\.)\s?\d{1,4}"
    r"(?:\s?(?:of|von|de|di|/)\s?\d{1,4})?\W{0,3}$",
    r"^\W{0,3}[-\u2013\u2014]\s?\d{1,4}\s?[-\u2013\u2014]\W{0,3}$",
    r"^\W{0,3}\d{1,4}\s?/\s?\d{1,4}\W{0,3}$",
    r"^\W{0,3}\d{1,4} (?:of|von|de|di) \d{1,4}\W{0,3}$",
)
_BUTTON = (
    r"(?:accept|accept all|allow|allow all|reject|reject all|decline|deny|got it|ok|okay|"
    r"agree|i agree|manage (?:settings|preferences|options|cookies)|customi[sz]e|settings|"
    r"preferences|more info|more information|learn more|alle akzeptieren|akzeptieren|"
    r"ablehnen|einstellungen|zustimmen)"
)
_BUTTONS: Final = re.compile(rf"^\W{{0,3}}{_BUTTON}(?:\s?[|/•·]?\s?{_BUTTON}){{0,5}}\W{{0,3}}$", _I)
_SEPARATOR: Final = re.compile(r"^[-_=*~#.•·]{3,}$")

LINE_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (_DEVICE, SIGNATURE),
    (_FOOTER, FOOTER),
    (_VIEW_IN_BROWSER, VIEW_IN_BROWSER),
    (_COOKIE, COOKIE_BANNER),
    (_VIRUS_SCAN, VIRUS_SCAN),
)


def closing(line: str) -> bool:
    """Whether the line closes a letter: "Best regards,", "Cheers", "Mit freundlichen Grüßen"."""
    return _short(line) and _CLOSING.match(line) is not None


def _short(line: str) -> bool:
    return 0 < len(line) <= MAX_RULE_LINE_CHARS


def _next_filled(lines: list[str], start: int, step: int = 1) -> int | None:
    """The index of the first non-blank line from `start` on (backwards with step -1)."""
    index = start
    while 0 <= index < len(lines):
        if lines[index]:
            return index
        index += step
    return None


class Removal:
    """The lines marked for removal, by index, each with its kind (the first rule wins)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.kinds: dict[int, str] = {}

    def mark(self, index: int, kind: str) -> None:
        self.kinds.setdefault(index, kind)

    def removed(self, index: int | None) -> bool:
        return index is not None and index in self.kinds


def _reply_header(lines: list[str], i: int) -> range | None:
    """The lines of a reply header that starts at line i, if one does."""
    line = lines[i]
    if _REPLY_HEADER.match(line):
        return range(i, i + 1)
    wrapped = i + 1 < len(lines) and _short(lines[i + 1])
    if wrapped and _REPLY_HEADER_START.match(line) and _REPLY_HEADER_END.match(lines[i + 1]):
        return range(i, i + 2)
    if _ORIGINAL_MESSAGE.match(line):
        return range(i, _header_fields_end(lines, i + 1))
    if _FROM_FIELD.match(line) and _filled_before(lines, i) and _header_block(lines, i):
        # Outlook's reply header without its separator: From, then Sent or Date.
        return range(i, _header_fields_end(lines, i))
    return None


def _header_fields_end(lines: list[str], start: int) -> int:
    end = start
    while end < min(start + 8, len(lines)) and _HEADER_FIELD.match(lines[end]):
        end += 1
    return end


def _quoted_replies(removal: Removal) -> None:
    lines = removal.lines
    # After a reply header, every ">" line is quoted: a reply written line by line
    # between them ("> Friday?" / "Yes.") keeps its own lines only.
    in_reply = answered = False
    for i, line in enumerate(lines):
        if removal.removed(i) or not line:
            continue
        header = _reply_header(lines, i) if _short(line) else None
        if header is not None:
            answered = True
            for j in header:
                removal.mark(j, QUOTED_REPLY)
            if _takes_the_rest(lines, header):
                for j in range(header.stop, len(lines)):
                    removal.mark(j, QUOTED_REPLY)
                return
            in_reply = True
        elif line.startswith(">") and (in_reply or answered or _quoted_run(lines, i) >= 2):
            removal.mark(i, QUOTED_REPLY)
            in_reply = True
        else:
            in_reply = False


def _takes_the_rest(lines: list[str], header: range) -> bool:
    """Whether the header's earlier message runs unquoted to the end of the text.

    Replies are written above what they answer, so under a reply's header everything
    is the earlier message; when it is quoted with ">" (or answered line by line) only
    the ">" lines go. A forwarded message is the content passed on, and stays.
    """
    if not _filled_before(lines, header.start) or _FORWARDED.search(lines[header.start]):
        return False
    following = _next_filled(lines, header.stop)
    return following is not None and not lines[following].startswith(">")


def _filled_before(lines: list[str], index: int) -> bool:
    """Whether a body stands above the line: a text that starts with its own headers
    (a pasted email's From and To) keeps them, they say who wrote to whom."""
    return _next_filled(lines, index - 1, -1) is not None


def _header_block(lines: list[str], index: int) -> bool:
    return any(_SENT_FIELD.match(line) for line in lines[index + 1 : index + 3])


def _quoted_run(lines: list[str], index: int) -> int:
    """How many consecutive lines starting with ">" the line's run holds."""
    start = index
    while start > 0 and lines[start - 1].startswith(">"):
        start -= 1
    end = index
    while end + 1 < len(lines) and lines[end + 1].startswith(">"):
        end += 1
    return end - start + 1


def _signatures(removal: Removal) -> None:
    lines = removal.lines
    for i, line in enumerate(lines):
        if _DELIMITER.match(line):
            for j in range(i, len(lines)):
                if removal.removed(j):
                    break  # a quoted reply below the signature is its own kind
                removal.mark(j, SIGNATURE)
            return
    for i, line in enumerate(lines):
        if not closing(line):
            continue
        for j in range(i + 1, min(i + 1 + SIGNATURE_LINES, len(lines))):
            if _short(lines[j]) and _CONTACT.match(lines[j]):
                removal.mark(j, SIGNATURE)


def _paragraphs(lines: list[str]) -> list[range]:
    found: list[range] = []
    start: int | None = None
    for i, line in enumerate([*lines, ""]):
        if line and start is None:
            start = i
        elif not line and start is not None:
            found.append(range(start, i))
            start = None
    return found


def _disclaimers(removal: Removal) -> None:
    lines = removal.lines
    for paragraph in _paragraphs(lines):
        opening = next(
            (i for i in paragraph if _short(lines[i]) and _NOTICE_OPENING.match(lines[i][:200])),
            None,
        )
        if opening is None:
            text = " ".join(lines[i] for i in paragraph)
            if sum(1 for m in _NOTICE_MARKERS if m.search(text)) < DISCLAIMER_MARKERS:
                continue
            opening = paragraph.start
        for i in range(opening, paragraph.stop):
            removal.mark(i, DISCLAIMER)


def _line_rules(removal: Removal) -> None:
    lines = removal.lines
    for i, line in enumerate(lines):
        if not _short(line):
            continue
        for pattern, kind in LINE_RULES:
            if pattern.search(line):
                removal.mark(i, kind)
                break
    # A cookie banner's buttons stand beside its sentence.
    for i in range(len(lines)):
        if removal.kinds.get(i) != COOKIE_BANNER:
            continue
        for step in (1, -1):
            j = _next_filled(lines, i + step, step)
            while j is not None and _BUTTONS.match(lines[j]) and not removal.removed(j):
                removal.mark(j, COOKIE_BANNER)
                j = _next_filled(lines, j + step, step)


def _separators(removal: Removal) -> None:
    """A rule line ("-----", "_____") beside removed boilerplate goes with it."""
    lines = removal.lines
    for i, line in enumerate(lines):
        if not _SEPARATOR.match(line):
            continue
        for neighbour in (_next_filled(lines, i + 1), _next_filled(lines, i - 1, -1)):
            if neighbour is not None and neighbour in removal.kinds:
                removal.mark(i, removal.kinds[neighbour])
                break


def _pages(removal: Removal) -> None:
    """Page numbers, and the running header or footer lines beside them: a line that
    stands beside a page number twice or more is the page's, not the text's."""
    lines = removal.lines
    numbers = [i for i, line in enumerate(lines) if _short(line) and _PAGE_NUMBER.match(line)]
    beside: dict[str, list[int]] = {}
    for i in numbers:
        removal.mark(i, PAGE_HEADER)
        for step in (1, -1):
            j = _next_filled(lines, i + step, step)
            if j is not None and not _PAGE_NUMBER.match(lines[j]):
                beside.setdefault(lines[j], []).append(j)
    for found in beside.values():
        if len(set(found)) >= 2:
            for j in found:
                removal.mark(j, PAGE_HEADER)


RULES: Final[tuple[Callable[[Removal], None], ...]] = (
    _pages,
    _quoted_replies,
    _signatures,
    _line_rules,
    _disclaimers,
    _separators,
)


def remove_boilerplate(lines: list[str]) -> tuple[list[str], list[str]]:
    """(the lines kept, the kinds of boilerplate removed in the order they stood).

    `lines` have their whitespace collapsed already: blank lines are empty.
    """
    removal = Removal(lines)
    for rule in RULES:
        rule(removal)
    kept = [line for i, line in enumerate(lines) if i not in removal.kinds]
    kinds = list(dict.fromkeys(removal.kinds[i] for i in sorted(removal.kinds)))
    return kept, kinds
