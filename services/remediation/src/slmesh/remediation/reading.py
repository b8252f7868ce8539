"""What one advisory states: the CVE ids, the product, the affected ranges, the fixed
versions and the severity, read by patterns of how advisories are written.

The patterns are the language of the genre, not of any one site: NVD's "Django 4.2
before 4.2.3", a vendor's "versions 2.4.0 through 2.4.57 are affected ... upgrade to
2.4.58", GitHub's "Affected versions: >= 2.0.0, < 2.31.0" / "Patched versions:
2.31.0", a distribution tracker's "bookworm 3.0.11-1~deb12u2 fixed". A version is read
only where the words around it say what it is: a version that is neither bounded,
fixed nor listed under a heading is left out, not guessed.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Final

from slmesh.remediation import product
from slmesh.remediation.layout import Sentence, sentences
from slmesh.remediation.product import Naming, ProductName
from slmesh.remediation.versions import VERSION, VERSION_RE, VersionRange, clean, split_range

# CVE-YYYY-NNNN+, also as written with another dash, a blank or an underscore.
CVE: Final = re.compile(
    r"\bCVE[-\u2010\u2011\u2013_ ](\d{4})[-\u2010\u2011\u2013_ ](\d{4,7})\b", re.IGNORECASE
)

# Operators before a version, by the bound they set.
_OPERATORS: Final[tuple[tuple[str, str], ...]] = (
    ("<=", r"<=|=<|≤|through|thru|up\s+to,?\s+and\s+including,?|up\s+to"
           r"|to,?\s+and\s+including,?"),
    ("<", r"<|before|prior\s+to|earlier\s+than|older\s+than|lower\s+than|less\s+than|below"),
    (">=", r">=|=>|≥|from|starting\s+(?:with|from|at)|since|between"),
    (">", r">|later\s+than|newer\s+than|higher\s+than|above"),
)  # fmt: skip
_OPERATOR_BEFORE: Final = [
    (op, re.compile(rf"(?:^|(?<=[\s(,;:]))(?:{words})\s*(?:versions?\s+|v\.?\s*|releases?\s+)?$",
                    re.IGNORECASE))
    for op, words in _OPERATORS
]  # fmt: skip
# What joins two versions into one range.
_THROUGH: Final = re.compile(
    r"^\s*(?:-|\u2013|\u2014|\.\.\.?|\u2026|to|through|thru|up\s+to(?:\s+and\s+including)?)\s*"
    r"(?:versions?\s+)?$",
    re.IGNORECASE,
)
_AND: Final = re.compile(r"^\s*(?:and|&)\s*$", re.IGNORECASE)
# After a version: it and everything before it ("2.4.57 and earlier").
_AND_EARLIER: Final = re.compile(
    r"^\s*(?:and|or|&)\s+(?:all\s+)?(?:earlier|prior|older|below|lower|previous)\b", re.IGNORECASE
)
# After a version: it and everything after it ("2.4.58 and later", "2.4.58+").
_AND_LATER: Final = re.compile(
    r"^(?:\+(?!\w)|\s*(?:and|or|&)\s+(?:all\s+)?(?:later|above|newer|higher|greater|up)\b"
    r"|\s*onwards?\b)",
    re.IGNORECASE,
)
# "upgrade from 2.4.57 to 2.4.58" is a move, not a range.
_MOVE: Final = re.compile(r"\b(?:upgrad|updat|migrat|mov|bump|switch|go)\w*\b", re.IGNORECASE)
# Platforms whose release numbers stand near a package's ("Ubuntu 22.04: openssl 3.0.2-...").
_PLATFORM_BEFORE: Final = re.compile(
    r"\b(?:ubuntu|debian|rhel|red\s+hat(?:\s+enterprise\s+linux)?|enterprise\s+linux|fedora"
    r"|centos|rocky(?:\s+linux)?|alma(?:linux)?|suse|sles|opensuse|leap|alpine|amazon\s+linux"
    r"|oracle\s+linux|windows|macos|os\s+x|ios|android|python|node(?:\.js)?|java|jdk|jre"
    r"|kernel|lts|php|ruby|go|rust|perl|cvss|cvssv\d|v\d)\s*[:\-]?\s*(?:version\s+)?$",
    re.IGNORECASE,
)

# What a sentence says of the versions it names.
_FIX_CUE: Final = re.compile(
    r"(?:\b(?:fixed|patched|resolved|addressed|corrected|remediated|mitigated)"
    r"(?:\s+(?:it|this|the\s+(?:issue|vulnerability|flaw|problem)))?"
    r"\s+(?:in|with|by|as\s+of|since|starting\s+(?:with|from|in))"
    r"|\b(?:fix|patch|correction)\s+(?:is|was|has\s+been)\s+(?:included|available|released|shipped)"
    r"\s+(?:in|with)"
    r"|\b(?:upgrad\w*|updat\w*|install\w*|migrat\w*|mov\w*|bump\w*|switch\w*)"
    r"(?:\s+[^\s;]+){0,5}?\s+to"
    r"|\bpatched\s+versions?\s*:?|\bfixed\s+versions?\s*:?|\bfixed\s+in\s*:?"
    # A label inside a sentence: "Fixed: NAS OS v5.2.4", "Patched: >=1.2.9", "First fixed
    # release: 17.9.4a".
    r"|\b(?:patched|fixed|patch(?:es)?|fix(?:es)?|solution|resolution|remediation"
    r"|(?:first\s+)?fixed\s+(?:releases?|builds?))\s*:"
    # A project's release announcement: "the Django team is issuing Django 4.2.3".
    r"|\b(?:(?:is|are)\s+(?:issuing|releasing)|(?:has|have|we)\s+released"
    r"|security\s+releases?\s+(?:issued|published|available)\s*:?))"
    r"\s+(?:the\s+)?(?:latest\s+|fixed\s+|patched\s+|new\s+|following\s+)?"
    # A product's name may stand before the version: "upgrade to OpenSSL 3.0.8".
    r"(?:(?!versions?\b|releases?\b)[A-Za-z][\w.+-]*\s+){0,3}?"
    # "v1.2.3" is a version token itself; "v 1.2.3" is not.
    r"(?:release\s+|versions?\s+|v\s+)?(?:>=\s*|\u2265\s*)?(?=[vV]?\d)",
    re.IGNORECASE,
)
# What joins one fixed version of a list to the next: "4.2.3, 4.1.10 and 3.2.20", "Log4j
# 2.16.0 (Java 8) and Log4j 2.12.2 (Java 7)", "PAN-OS 10.2.9-h1, PAN-OS 11.0.4-h1".
_ASIDE: Final = r"(?:\s*\([^()]{0,40}\))?"
_VERSION_LIST_TAIL: Final = re.compile(
    rf"{_ASIDE}(?:\s+(?:or|and)\s+(?:all\s+)?(?:later|above|newer|higher|greater)\b"
    # "14.1-8.50 and later releases, 13.1-49.15 and later releases of 13.1, ..."
    rf"(?:\s+(?:releases?|versions?|builds?))?(?:\s+of\s+[\w.-]+)?|\+(?!\w))?{_ASIDE}"
    rf"(?:\s*(?:,|;|/|&|\band\b|\bor\b)\s*(?:(?:and|or)\s+)?(?:versions?\s+)?"
    rf"(?:(?!and\b|or\b)[A-Za-z][\w.+-]*\s+){{0,3}}?(?={VERSION}))?",
    re.IGNORECASE,
)
# "2.4.58 fixes this issue", "released 2.4.58 to address it".
# Several versions may fix it together: "Log4j 2.16.0 (Java 8) and 2.12.2 (Java 7) fix this".
_FIXES_AFTER: Final = re.compile(
    rf"{_ASIDE}(?:\s*(?:,|and|or|&)\s*(?:[A-Za-z][\w.+-]*\s+)?{VERSION}{_ASIDE}){{0,6}}"
    # Not "introduced in 3.15 and fixed in 6.7.3": a word between may not join clauses.
    r"\s*(?:,\s*)?(?:which\s+|that\s+)?(?:(?!and\b|or\b|but\b)\w+\s+){0,2}?"
    r"(?:fixes|fixed|addresses|resolves|corrects|patches|contains\s+(?:a|the)\s+fix"
    # A plural verb after a list: "5.3.19 and 5.2.21 address this issue".
    r"|(?:fix|address|resolve|correct|patch)(?=\s+(?:this|these|the|it|both|all|an?|cve)\b)"
    r"|includes\s+(?:a|the)\s+fix|to\s+(?:fix|address|resolve|correct|patch))\b",
    re.IGNORECASE,
)
_FIX_WORDS: Final = re.compile(
    r"\b(?:fix\w*|patch\w*|upgrad\w*|updat\w*|resolv\w*|not\s+(?:be\s+)?affected|unaffected"
    r"|not\s+vulnerable|safe|contains?)\b",
    re.IGNORECASE,
)
# A fix said to have fallen short: "the fix in 2.3.1 was incomplete", "a bypass of the
# patch released in 4.0.3". Its version fixed nothing for good, and is left out.
_INCOMPLETE: Final = re.compile(
    r"\b(?:incomplete|insufficient|bypass\w*|(?:did|does|do)\s+not\s+(?:fully|completely"
    r"|properly)|not\s+(?:fully|completely)\s+(?:fix|address|resolv|patch|mitigat)\w*"
    r"|only\s+partial(?:ly)?|partial\s+fix)\b",
    re.IGNORECASE,
)
# A version of a part the product bundles ("updates the bundled libwebp to 1.3.2") fixes
# the part, and is not the product's own fixed release.
_COMPONENT: Final = re.compile(
    r"\b(?:bundled|embedded|vendored|statically\s+linked|dependency|dependencies"
    r"|third[-\s]party)\b",
    re.IGNORECASE,
)
# An upgrade the same clause advises stays a fix: "due to an incomplete fix, upgrade to 2.16.0".
_UPGRADE_BEFORE: Final = re.compile(r"\b(?:upgrad|updat|install|migrat)\w*\b[^;]{0,60}$", re.I)
_LOOK_BACK: Final = 160
_MOVED_TO: Final = re.compile(
    r"\s+(?:(?:was|were|is|are|has\s+been|have\s+been|should\s+be|must\s+be)\s+)?"
    r"(?:updated|upgraded)?\s*to\s+(?:the\s+)?(?:latest\s+)?(?:versions?\s+|releases?\s+)?$",
    re.IGNORECASE,
)
# An OSV record's events, as JSON: {"introduced": "0"}, {"fixed": "1.4.2"}.
_OSV_FIXED: Final = re.compile(rf"\"(?:fixed|patched)\"\s*:\s*\"(?P<version>{VERSION})\"")
_CLAUSE_END: Final = re.compile(r";|\.(?:\s|$)")
# Where the ids a fixed version is told with stop: a title's colon ends a clause too
# ("CVE-2022-22968: This is a follow-up to CVE-2022-22965, fixed in 5.3.18").
_ID_CLAUSE_END: Final = re.compile(r";|\.(?:\s|$)|:\s")
_PRODUCT_LABEL: Final = re.compile(
    r"(?:affected\s+)?(?:product|package|software|component)(?:\s+name)?\s*:\s*|.*?\"package\""
    r"\s*:\s*\{[^{}]{0,200}?\"name\"\s*:\s*\"(?=[^\"]+\")",
    re.IGNORECASE,
)
# A range in interval notation, as Maven and NuGet write it: "[7.0.0, 7.4.11)", "(,1.2.3]".
_INTERVAL: Final = re.compile(
    rf"(?P<open>[\[(])\s*(?P<lower>{VERSION})?\s*,\s*(?P<upper>{VERSION})?\s*(?P<close>[\])])"
)
_AFFECT_WORDS: Final = re.compile(r"\b(?:affect\w*|vulnerable|impact\w*|exposed)\b", re.I)
# A tracker's status beside a package version: "bookworm 3.0.11-1~deb12u2 fixed".
_ROW_CHARS: Final = 160
_STATUS: Final = re.compile(
    r"[\s|,;:()\[\]-]{1,20}(?:\w+\s+){0,2}?(?P<status>not\s+affected|unaffected|fixed|resolved|released|vulnerable|affected"
    r"|unfixed|open|needs[-\s]triage|ignored|postponed)\b",
    re.IGNORECASE,
)

SEVERITIES: Final = ("critical", "high", "medium", "low")
_SEVERITY_WORD: Final = r"critical|high|important|moderate|medium|low"
_SEVERITY_ALIASES: Final = {"important": "high", "moderate": "medium"}
_STATED_SEVERITY: Final = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\bseverity(?:\s+(?:level|rating|score))?\s*(?:is|of|:|=|-|\u2013)?\s*(?:rated\s+)?"
        rf"(?:as\s+)?[*_\"']{{0,2}}({_SEVERITY_WORD})\b",
        rf"\b({_SEVERITY_WORD})[-\s]+(?:severity|risk|priority)\b",
        rf"\brated\s+(?:as\s+)?(?:an?\s+)?[*_\"']{{0,2}}({_SEVERITY_WORD})\b",
        rf"^\s*(?:impact|threat(?:\s+level)?|priority|urgency|rating)\s*[:=]\s*({_SEVERITY_WORD})\b",
    )
]
_SCORE: Final = re.compile(
    r"\b(?:cvss(?:\s*v?\d(?:\.\d)?)?(?:\s+base)?(?:\s+score)?|base\s+score|score)"
    r"\s*(?:of|is|:|=|-)?\s*(?<![\d.])(\d{1,2}(?:\.\d)?)(?![\d.]*\s*/\s*[A-Z])(?!\.\d)"
    rf"(?:\s*/\s*10(?:\.0)?)?(?:\s*[(\[]?\s*({_SEVERITY_WORD})\b)?",
    re.IGNORECASE,
)


@dataclass
class Reading:
    """What one advisory states."""

    cve_ids: list[str] = field(default_factory=list)
    product: ProductName | None = None
    affected: list[VersionRange] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    # The CVE ids named in the sentence of each fixed version: a version another CVE's
    # sentence calls fixed ("CVE-2023-1111 was fixed in 4.0.3") is not this one's fix.
    fixed_ids: dict[str, list[str]] = field(default_factory=dict)
    # Versions named as a fix that fell short ("the fix in 2.3.1 was incomplete").
    incomplete: list[str] = field(default_factory=list)
    severity: str | None = None
    scores: list[float] = field(default_factory=list)

    def add_affected(self, found: VersionRange) -> None:
        if found not in self.affected:
            self.affected.append(found)

    def add_fixed(self, version: str, ids: list[str] | None = None) -> None:
        version = clean(version)
        if re.search(r"\.[xX*](?:\.|$)", version):
            return  # "the 5.x branch" is a line, not a release to install
        if version not in self.fixed:
            self.fixed.append(version)
            self.fixed_ids[version] = ids or []


def cve_ids(text: str) -> list[str]:
    """Every CVE id the text names, upper case, first seen first."""
    found = (f"CVE-{m[1]}-{m[2]}" for m in CVE.finditer(text))
    return list(dict.fromkeys(found))


def read(text: str) -> Reading:
    """What one advisory's text states."""
    reading = Reading(cve_ids=cve_ids(text))
    # Every naming of the product, in the text's order; the surest is the reading's.
    names: list[ProductName] = []
    for sentence in sentences(text):
        label = _PRODUCT_LABEL.match(sentence.text)
        if sentence.section == "product" or label is not None:
            # Under a heading, or labelled inside a paragraph ("... Product: WidgetPro").
            labelled = product.labelled(sentence.text[label.end() :] if label else sentence.text)
            if labelled is not None:
                names.append(ProductName(labelled, Naming.HEADING))
        names += _versions(sentence, reading)
        if reading.severity is None:
            reading.severity = _stated_severity(sentence)
        reading.scores += _scores(sentence)
    for line in text.splitlines():
        _status(line, reading)
    if not names and (named := product.named_in_text(text)) is not None:
        names.append(named)
    reading.product = max(names, key=lambda n: n.by, default=None)
    if reading.severity is None and reading.scores:
        reading.severity = band(reading.scores[0])
    return reading


# --- versions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    version: str
    operator: str | None
    # Where a name before it could end: before its operator's words.
    name_end: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous_end = 0
    for match in VERSION_RE.finditer(text):
        before = text[previous_end : match.start()]
        if _PLATFORM_BEFORE.search(text[max(0, match.start() - 40) : match.start()]):
            previous_end = match.end()
            continue
        operator, name_end = None, match.start()
        for op, pattern in _OPERATOR_BEFORE:
            found = pattern.search(before[-40:])
            if found is not None:
                operator = op
                name_end = match.start() - (len(before[-40:]) - found.start())
                break
        tokens.append(_Token(match.start(), match.end(), match[0], operator, name_end))
        previous_end = match.end()
    return tokens


def _versions(sentence: Sentence, reading: Reading) -> list[ProductName]:
    """Adds the sentence's ranges and fixed versions to `reading`; gives the product
    named before its first range and before its first fixed version, if any."""
    text = sentence.text
    tokens = _tokens(text)
    if not tokens:
        return []
    fixed_at = _fixed_versions(text)
    # Every version the sentence names as fixed, by where it stands.
    fixed: dict[int, str] = dict(fixed_at)
    fixing = bool(_FIX_WORDS.search(text))
    affecting = bool(_AFFECT_WORDS.search(text))
    names: list[ProductName] = []
    used: set[int] = set()
    listed = _listed(sentence, tokens)
    for interval in _INTERVAL.finditer(text):
        found_interval = _interval(interval)
        if found_interval is None:
            continue
        used.update(i for i, t in enumerate(tokens) if interval.start() <= t.start < interval.end())
        reading.add_affected(found_interval)
    if sentence.section in ("fixed", "unaffected"):
        # Under "Patched versions" or "Unaffected" a lower bound is where the fix starts
        # (">=0.6.4", "curl >= 8.4.0"); an upper bound there is where the bug had not
        # yet come ("<0.4.0"), and neither is an affected range.
        for token in tokens:
            after = text[token.end :]
            if token.operator == ">=" or (
                token.operator is None
                and (_AND_LATER.match(after) or sentence.section == "fixed")
                and (sentence.section == "unaffected" or listed)
            ):
                fixed[token.start] = token.version
        used.update(range(len(tokens)))
    for i, token in enumerate(tokens):
        if i in used:
            continue
        found = _range_at(text, tokens, i, used, fixed_at)
        after = text[token.end :]
        if found is None and token.operator is None:
            if _AND_EARLIER.match(after):
                found = VersionRange(upper=_lower_bound(token.version), upper_inclusive=True)
            elif _AND_LATER.match(after) and token.start not in fixed_at:
                # "2.4.58 and later" is fixed where the sentence speaks of a fix, affected
                # where it speaks only of what is affected.
                if affecting and not fixing:
                    found = VersionRange(lower=_lower_bound(token.version))
                elif fixing:
                    fixed[token.start] = token.version
            elif token.start not in fixed_at and listed:
                if sentence.section == "fixed":
                    fixed[token.start] = token.version
                elif sentence.section == "affected":
                    found = VersionRange(exact=clean(token.version))
        if found is None:
            continue
        reading.add_affected(found)
        if not names and (name := product.name_before(text[: token.name_end])) is not None:
            names.append(ProductName(name, Naming.RANGE))
    clauses, id_clauses = _Clauses(text, _CLAUSE_END), _Clauses(text, _ID_CLAUSE_END)
    for at in sorted(fixed):
        if clauses.fell_short(at):
            reading.incomplete.append(clean(fixed[at]))
        elif not _COMPONENT.search(text[max(clauses.around(at)[0], at - 80) : at]):
            # The ids of its clause: "This is a follow-up to CVE-2022-22965, which was
            # fixed in 5.3.18" speaks of another CVE's fix.
            reading.add_fixed(fixed[at], id_clauses.ids(at))
    if fixed:
        # "upgrade curl to version 8.4.0", "flimflam was updated to 2.8.3": the name
        # stands before the move's "to".
        before = _MOVED_TO.sub("", text[: min(fixed)])
        name = product.name_before(before)
        if name is not None:
            names.append(ProductName(name, Naming.FIX))
    return names


class _Clauses:
    """A sentence's clauses: they end at a semicolon or a full stop, whatever follows the
    stop ("... was incomplete. gizmo 2.3.2 fully resolves it" is read as one sentence).
    What is asked of a clause is worked out once, however many versions it names."""

    def __init__(self, text: str, ends_at: re.Pattern[str]) -> None:
        self.text = text
        self.ends = [m.end() for m in ends_at.finditer(text)]
        self._short: dict[int, bool] = {}
        self._ids: dict[int, list[str]] = {}

    def around(self, at: int) -> tuple[int, int]:
        n = bisect_right(self.ends, at)
        start = self.ends[n - 1] if n else 0
        end = self.ends[n] if n < len(self.ends) else len(self.text)
        return start, end

    def fell_short(self, at: int) -> bool:
        """Whether the fixed version at `at` stands in a clause that calls its fix
        incomplete (and does not advise upgrading to it)."""
        start, end = self.around(at)
        if start not in self._short:
            self._short[start] = bool(_INCOMPLETE.search(self.text, start, end))
        return self._short[start] and not _UPGRADE_BEFORE.search(
            self.text[max(start, at - 80) : at]
        )

    def ids(self, at: int) -> list[str]:
        start, end = self.around(at)
        if start not in self._ids:
            self._ids[start] = cve_ids(self.text[start:end])
        return self._ids[start]


def _interval(match: re.Match[str]) -> VersionRange | None:
    """ "[7.0.0, 7.4.11)": from 7.0.0 up to 7.4.11, not included. A parenthesised pair of
    versions with no bracket and both ends ("(2.4.57, 2.4.58)") is a list, not this."""
    lower, upper = match["lower"], match["upper"]
    if lower is None and upper is None:
        return None
    if lower is not None and upper is not None and "[" not in match[0] and "]" not in match[0]:
        return None
    return VersionRange(
        lower=clean(lower) if lower else None,
        lower_inclusive=match["open"] == "[",
        upper=clean(upper) if upper else None,
        upper_inclusive=match["close"] == "]",
    )


def _range_at(
    text: str, tokens: list[_Token], i: int, used: set[int], fixed_at: dict[int, str]
) -> VersionRange | None:
    """The range that starts at version i (marking a second version it takes as used)."""
    token = tokens[i]
    if token.start in fixed_at:
        return None
    halves = split_range(token.version)
    if halves is not None and token.operator in (None, ">="):
        return VersionRange(lower=halves[0], upper=halves[1], upper_inclusive=True)
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if following is not None and token.operator in (None, ">=", ">"):
        gap = text[token.end : following.start]
        lower, inclusive = _lower_bound(token.version), token.operator != ">"
        # Only the words shortly before are read: a whole sentence for each of its
        # versions would cost the square of its length.
        moving = bool(_MOVE.search(text[max(0, token.start - _LOOK_BACK) : token.start]))
        if _THROUGH.match(gap) and following.operator in (None, "<=") and not moving:
            used.add(i + 1)
            return VersionRange(lower, inclusive, clean(following.version), True)
        if following.operator in ("<", "<=") and re.fullmatch(
            r"[\s,;&]*(?:and\s*)?(?:(?:branch|series|line|releases?)\s*)?",
            text[token.end : following.name_end],
            re.IGNORECASE,
        ):
            used.add(i + 1)
            upper_inclusive = following.operator == "<="
            return VersionRange(lower, inclusive, clean(following.version), upper_inclusive)
        between = re.search(
            r"between\s*(?:versions?\s+)?$", text[max(0, token.start - 40) : token.start], re.I
        )
        if between and _AND.match(gap) and following.operator is None:
            # "between 2.4.0 and 2.4.57"
            used.add(i + 1)
            return VersionRange(lower, True, clean(following.version), True)
    match token.operator:
        case "<" | "<=":
            return VersionRange(upper=clean(token.version), upper_inclusive=token.operator == "<=")
        case ">=" | ">":
            if re.search(
                r"(?:from|since|starting\s+\w+)\s*(?:versions?\s+)?$",
                text[max(0, token.start - 40) : token.start],
                re.IGNORECASE,
            ) and _FIX_WORDS.search(text):
                # "fixed since 2.4.58", "patched starting with 2.4.58": not a range.
                return None
            return VersionRange(lower=clean(token.version), lower_inclusive=token.operator == ">=")
    return None  # fmt: skip


def _lower_bound(version: str) -> str:
    """A lower bound as a version: "2.4.x" bounds from 2.4.0."""
    return re.sub(r"\.[xX*](?=\.|$)", ".0", clean(version))


def _listed(sentence: Sentence, tokens: list[_Token]) -> bool:
    """Whether a sentence lists versions as a heading's value does ("2.31.0", "openssl -
    3.0.2-0ubuntu1.10"), rather than telling of them in prose."""
    return len(sentence.text.split()) <= max(8, 3 * len(tokens))


def _fixed_versions(text: str) -> dict[int, str]:
    """The versions a sentence names as fixed, by where they start."""
    fixed: dict[int, str] = {}
    for cue in _FIX_CUE.finditer(text):
        at = cue.end()
        while (match := VERSION_RE.match(text, at)) is not None:
            fixed[match.start()] = match[0]
            tail = _VERSION_LIST_TAIL.match(text, match.end())
            if tail is None or tail.end() == match.end() or _PLATFORM_BEFORE.search(tail[0]):
                break  # the list ends, or goes on to a platform's release ("Ubuntu 22.04")
            at = tail.end()
    for osv in _OSV_FIXED.finditer(text):
        fixed[osv.start("version")] = osv["version"]
    for match in VERSION_RE.finditer(text):
        if match.start() not in fixed and _FIXES_AFTER.match(text, match.end()):
            before = text[max(0, match.start() - 30) : match.start()]
            if not any(p.search(before) for _, p in _OPERATOR_BEFORE):
                fixed[match.start()] = match[0]
    return fixed


def _status(line: str, reading: Reading) -> None:
    """A tracker's row: one package version and its status beside it ("bookworm
    3.0.11-1~deb12u2 fixed"). Read line by line: a table's rows are no sentences."""
    tokens = _tokens(line) if len(line) <= _ROW_CHARS else []
    if len(tokens) != 1:
        return
    token = tokens[0]
    if token.operator is not None:
        return  # "prior to 0.9.1 are vulnerable" is a range, read with its sentence
    status = _STATUS.match(line, token.end)
    if status is None:
        return
    word = " ".join(status["status"].lower().split())
    if word in ("fixed", "resolved", "released"):
        reading.add_fixed(token.version)
    elif word in ("vulnerable", "affected", "unfixed", "open"):
        reading.add_affected(VersionRange(exact=clean(token.version)))


# --- severity ---------------------------------------------------------------------------


def band(score: float) -> str | None:
    """The severity a CVSS v3 base score rates (0 rates none)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else None


def _severity_word(word: str) -> str:
    word = word.lower()
    return _SEVERITY_ALIASES.get(word, word)


def _stated_severity(sentence: Sentence) -> str | None:
    text = sentence.text
    if sentence.section == "severity":
        # Under a "Severity" heading the value stands first ("High", "7.5 HIGH").
        first = re.match(rf"\W*(?:\d{{1,2}}(?:\.\d)?\s*(?:/\s*10)?\W*)?({_SEVERITY_WORD})\b",
                         text, re.IGNORECASE)  # fmt: skip
        if first is not None:
            return _severity_word(first[1])
    for pattern in _STATED_SEVERITY:
        match = pattern.search(text)
        if match is not None:
            return _severity_word(match[1])
    for match in _SCORE.finditer(text):
        if match[2]:
            return _severity_word(match[2])
    return None


def _scores(sentence: Sentence) -> list[float]:
    found = []
    if sentence.section == "severity":
        # Under a "CVSS score" heading the score stands alone: "9.8", "7.5 / 10 HIGH".
        alone = re.match(r"\W*(\d{1,2}\.\d)\b(?![.\d]*\s*/\s*[A-Z])", sentence.text)
        if alone is not None and float(alone[1]) <= 10:
            found.append(float(alone[1]))
    for match in _SCORE.finditer(sentence.text):
        score = float(match[1])
        if 0 <= score <= 10:
            found.append(score)
    return found
