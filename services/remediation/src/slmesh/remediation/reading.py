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
from dataclasses import dataclass, field
from typing import Final

from slmesh.remediation.layout import Sentence, sentences
from slmesh.remediation.versions import VERSION, VERSION_RE, VersionRange, clean, split_range

# CVE-YYYY-NNNN+, also as written with another dash, a blank or an underscore.
CVE: Final = re.compile(
    r"\bCVE[-\u2010\u2011\u2013_ ](\d{4})[-\u2010\u2011\u2013_ ](\d{4,7})\b", re.IGNORECASE
)

# Operators before a version, by the bound they set.
_OPERATORS: Final[tuple[tuple[str, str], ...]] = (
    ("<=", r"<=|=<|≤|through|thru|up\s+to\s+and\s+including|up\s+to|to\s+and\s+including"),
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
    r"|\bpatched\s+versions?\s*:?|\bfixed\s+versions?\s*:?|\bfixed\s+in\s*:?)"
    r"\s+(?:the\s+)?(?:latest\s+|fixed\s+|patched\s+|new\s+|following\s+)?"
    # A product's name may stand before the version: "upgrade to OpenSSL 3.0.8".
    r"(?:(?!versions?\b|releases?\b)[A-Za-z][\w+-]*\s+){0,3}?"
    r"(?:release\s+|versions?\s+|v\s*)?(?=[vV]?\d)",
    re.IGNORECASE,
)
_VERSION_LIST_TAIL: Final = re.compile(
    rf"(?:\s+(?:or|and)\s+(?:later|above|newer|higher|greater)\b|\+(?!\w))?"
    rf"(?:\s*(?:,|;|/|&|\band\b|\bor\b)\s*(?:(?:and|or)\s+)?(?:versions?\s+)?(?={VERSION}))?",
    re.IGNORECASE,
)
# "2.4.58 fixes this issue", "released 2.4.58 to address it".
_FIXES_AFTER: Final = re.compile(
    r"\s*(?:\([^)]{0,40}\)\s*)?(?:,\s*)?(?:which\s+|that\s+)?(?:\w+\s+){0,2}?"
    r"(?:fixes|fixed|addresses|resolves|corrects|patches|contains\s+(?:a|the)\s+fix"
    r"|includes\s+(?:a|the)\s+fix|to\s+(?:fix|address|resolve|correct|patch))\b",
    re.IGNORECASE,
)
_FIX_WORDS: Final = re.compile(
    r"\b(?:fix\w*|patch\w*|upgrad\w*|updat\w*|resolv\w*|not\s+(?:be\s+)?affected|unaffected"
    r"|not\s+vulnerable|safe|contains?)\b",
    re.IGNORECASE,
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

# Product names: the words before the versions, back to a word that is none of a name.
_NAME_TOKEN: Final = re.compile(r"[`'\"]?[A-Za-z][\w.+/#-]*[`'\"]?:?|\S")
_NOT_NAME: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "of",
        "for",
        "all",
        "affects",
        "affected",
        "affecting",
        "affect",
        "vulnerable",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "on",
        "to",
        "and",
        "or",
        "with",
        "when",
        "versions",
        "version",
        "package",
        "packages",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "issue",
        "vulnerability",
        "flaw",
        "bug",
        "from",
        "users",
        "user",
        "running",
        "using",
        "use",
        "which",
        "where",
        "if",
        "by",
        "as",
        "at",
        "has",
        "have",
        "any",
        "release",
        "releases",
        "series",
        "branch",
        "prior",
        "before",
        "through",
        "thru",
        "up",
        "install",
        "installations",
        "deployments",
        "including",
        "include",
        "includes",
        "impacts",
        "impact",
        "exists",
        "exist",
        "found",
        "discovered",
        "fixed",
        "upgrade",
        "update",
        "patched",
        "earlier",
        "later",
        "between",
        "component",
        "product",
        "software",
        "via",
        "allows",
        "allow",
        "could",
        "can",
        "may",
        "might",
        "will",
        "would",
        "should",
        "must",
        "all:",
        "does",
        "do",
        "not",
        "no",
        "only",
        "also",
        "both",
        "than",
        "lower",
        "older",
        "newer",
        "below",
        "above",
        "since",
        "starting",
        "until",
        "like",
        "such",
        "other",
        "versions:",
        "there",
        "their",
        "they",
        "cve",
        "security",
        "advisory",
        "multiple",
        "several",
        "some",
        "many",
    ]
)
_NAME_WORDS_MAX: Final = 4
_NAME_CHARS_MAX: Final = 80


@dataclass
class Reading:
    """What one advisory states."""

    cve_ids: list[str] = field(default_factory=list)
    product: str | None = None
    affected: list[VersionRange] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    severity: str | None = None
    scores: list[float] = field(default_factory=list)

    def add_affected(self, found: VersionRange) -> None:
        if found not in self.affected:
            self.affected.append(found)

    def add_fixed(self, version: str) -> None:
        version = clean(version)
        if version not in self.fixed:
            self.fixed.append(version)


def cve_ids(text: str) -> list[str]:
    """Every CVE id the text names, upper case, first seen first."""
    found = (f"CVE-{m[1]}-{m[2]}" for m in CVE.finditer(text))
    return list(dict.fromkeys(found))


def read(text: str) -> Reading:
    """What one advisory's text states."""
    reading = Reading(cve_ids=cve_ids(text))
    labelled_product: str | None = None
    prose_product: str | None = None
    for sentence in sentences(text):
        if sentence.section == "product" and labelled_product is None:
            labelled_product = _labelled_product(sentence.text)
        found = _versions(sentence, reading)
        if found is not None and prose_product is None:
            prose_product = found
        if reading.severity is None:
            reading.severity = _stated_severity(sentence)
        reading.scores += _scores(sentence)
    for line in text.splitlines():
        _status(line, reading)
    reading.product = labelled_product or prose_product
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


def _versions(sentence: Sentence, reading: Reading) -> str | None:
    """Adds the sentence's ranges and fixed versions to `reading`; gives the product
    named before its first range, if any."""
    text = sentence.text
    tokens = _tokens(text)
    if not tokens:
        return None
    fixed_at = _fixed_versions(text)
    for version in fixed_at.values():
        reading.add_fixed(version)
    fixing = bool(_FIX_WORDS.search(text))
    affecting = bool(_AFFECT_WORDS.search(text))
    product: str | None = None
    used: set[int] = set()
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
                    reading.add_fixed(token.version)
            elif token.start not in fixed_at and _listed(sentence, tokens):
                if sentence.section == "fixed":
                    reading.add_fixed(token.version)
                elif sentence.section == "affected":
                    found = VersionRange(exact=clean(token.version))
        if found is None:
            continue
        reading.add_affected(found)
        if product is None:
            product = _name_before(text[: token.name_end])
    return product


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
        moving = bool(_MOVE.search(text[: token.start]))
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
        between = re.search(r"between\s*(?:versions?\s+)?$", text[: token.start], re.I)
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
                text[: token.start],
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
            if tail is None or tail.end() == match.end():
                break
            at = tail.end()
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


# --- product ----------------------------------------------------------------------------


def _name_before(text: str) -> str | None:
    """The product named just before a range: "Apache HTTP Server" of "in Apache HTTP
    Server versions", "requests" of "Versions of requests"."""
    words = _NAME_TOKEN.findall(text[-200:])
    name: list[str] = []
    # Words between a name and its versions ("versions", "from", a colon) are passed over.
    while words and words[-1].lower().strip(":") in (
        "versions",
        "version",
        "from",
        "all",
        "v",
        "releases",
        "release",
        "series",
        ":",
    ):
        words.pop()
    while words and len(name) < _NAME_WORDS_MAX:
        word = words.pop()
        bare = word.strip("`'\":")
        if (
            not bare
            or not bare[0].isalpha()
            or bare.lower() in _NOT_NAME
            or (name and word.endswith(":"))
            or CVE.fullmatch(bare)
        ):
            break
        name.insert(0, bare)
    joined = " ".join(name)
    return joined if 0 < len(joined) <= _NAME_CHARS_MAX else None


def _labelled_product(text: str) -> str | None:
    """A heading's product: "requests (pip)" -> "requests", "OpenSSL 3.0" -> "OpenSSL"."""
    value = re.split(r"\s+\(|,|;|\s+-\s+|\s+\u2013\s+", text, maxsplit=1)[0]
    value = VERSION_RE.sub("", value).strip().strip("`'\"*_").strip()
    if not value or len(value) > _NAME_CHARS_MAX or not value[0].isalnum():
        return None
    return value


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
