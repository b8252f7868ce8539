"""The product an advisory names, and the one a record of several advisories gives.

Advisories name the affected product in a few ways, some surer than others: under a
heading ("Package: npm/semver"), before a range ("Apache HTTP Server versions 2.4.0
through 2.4.55"), before a fixed version ("fixed in runc 1.1.12", "libmarrow 3.1.4
fixes"), in a title ("CVE-2025-40117 tinycsv-rs: out-of-bounds read", "USN-7301-1:
libmarrow vulnerability", "OpenSSL Security Advisory") or in prose ("A flaw was found in
libtiff", "in OpenSSH's server (sshd)", "libmarrow incorrectly handled"). One advisory
gives its surest name; the record gives the name most advisories agree on, where two
names agree when one holds the other ("NAS OS", "Brightgate NAS OS") or they share a
word of their own ("Apache ActiveMQ", "org.apache.activemq:activemq-client"), so a
vendor's, a tracker's and a package registry's names of one product count together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from slmesh.remediation.versions import VERSION_RE


class Naming(IntEnum):
    """How an advisory named its product: the higher, the surer."""

    PROSE = 1
    TITLE = 2
    FIX = 3
    RANGE = 4
    HEADING = 5


@dataclass(frozen=True)
class ProductName:
    name: str
    by: Naming


# A word of a name, with the quotes or the colon around it; or any other character.
_NAME_TOKEN: Final = re.compile(r"[`'\"]?[A-Za-z][\w.+/#@-]*(?:'s)?[`'\"]?:?|\S")
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
        "fix",
        "fixes",
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
        "project",
        "feature",
        "function",
        "functionality",
        "handling",
        "following",
        "latest",
        "new",
        "releasing",
        "issuing",
        "released",
        "today",
        "we",
        "our",
        "unaffected",
        "title",
        "subject",
        "upstream",
        "firmware",
        # Who or what is told to upgrade: "upgrade both brokers and clients to ...".
        "clients",
        "brokers",
        "servers",
        "systems",
        "instances",
        "customers",
        "nodes",
        "hosts",
        "applications",
        "your",
    ]
)
# Vendors, whose name alone names none of their products.
_VENDORS: Final = frozenset(
    [
        "apache", "the apache software foundation", "cisco", "microsoft", "google", "oracle",
        "ibm", "red hat", "redhat", "fortinet", "atlassian", "citrix", "vmware", "adobe",
        "apple", "mozilla", "palo alto networks", "ivanti", "sap", "siemens", "juniper",
        "f5", "progress", "zyxel", "qnap", "synology", "netgear", "d-link", "tp-link",
    ]
)  # fmt: skip
_NAME_WORDS_MAX: Final = 4
_NAME_CHARS_MAX: Final = 80
# What stands between a name and its versions ("versions", "from", a colon).
_BEFORE_VERSIONS: Final = frozenset(
    ["versions", "version", "from", "all", "v", "releases", "release", "series", "firmware",
     "software", ":", ","]
)  # fmt: skip
_ID: Final = re.compile(r"\b(?:CVE|GHSA|USN|DSA|DLA|RHSA|RUSTSEC|PYSEC|GO)-[\w-]+", re.I)


def _word(token: str) -> str:
    return token.strip("`'\":").removesuffix("'s").rstrip(".,;")


def _is_name_word(bare: str) -> bool:
    return bool(bare) and bare[0].isalpha() and bare.lower() not in _NOT_NAME


def _joined(name: list[str]) -> str | None:
    joined = " ".join(name)
    return joined if 0 < len(joined) <= _NAME_CHARS_MAX else None


def name_before(text: str) -> str | None:
    """The product named just before a range or a version: "Apache HTTP Server" of "in
    Apache HTTP Server versions", "requests" of "Versions of requests", "NetScaler ADC
    and NetScaler Gateway", "Contact Form 7"."""
    words = _NAME_TOKEN.findall(text[-200:])
    name: list[str] = []
    while words and words[-1].lower().strip(":") in _BEFORE_VERSIONS:
        words.pop()
    while words and sum(w != "and" for w in name) < _NAME_WORDS_MAX:
        word = words.pop()
        bare = _word(word)
        if (name and word.endswith(":")) or _ID.fullmatch(bare):
            break
        if bare == "and" and _joins_names(name, words):
            name.insert(0, bare)
            continue
        # A short number belongs to a name ("Contact Form 7"), never starts one.
        number = bare.isdigit() and len(bare) <= 3 and word == bare
        if not (_is_name_word(bare) or number):
            break
        name.insert(0, bare)
    while name and (name[0].isdigit() or name[0] == "and"):
        name.pop(0)
    return _joined(name)


def _joins_names(name: list[str], words: list[str]) -> bool:
    """Whether an "and" joins two capitalised names ("NetScaler ADC and NetScaler
    Gateway") rather than two clauses."""
    if not name or not words or not name[0][:1].isupper():
        return False
    before = _word(words[-1])
    return _is_name_word(before) and before[:1].isupper()


def _name_after(text: str) -> str | None:
    """The product named at the start of `text`: "libtiff" of "libtiff. A specially
    crafted ...", "OpenSSH" of "OpenSSH's server (sshd)"."""
    name: list[str] = []
    for word in _NAME_TOKEN.findall(text[:200]):
        bare = _word(word)
        if not name and bare.lower() in ("the", "a", "an"):
            continue
        if not _is_name_word(bare) or _ID.fullmatch(bare) or len(name) == _NAME_WORDS_MAX:
            break
        name.append(bare)
        if word != bare and not word.startswith(("`", "'", '"')):
            break  # a possessive, a colon or a full stop ends the name
    return _joined(name)


def labelled(text: str) -> str | None:
    """A heading's product: "requests (pip)" -> "requests", "OpenSSL 3.0" -> "OpenSSL",
    "Maven org.apache.activemq:activemq-client" -> "org.apache.activemq:activemq-client"."""
    value = re.split(r"\s+\(|,|;|\s+-\s+|\s+\u2013\s+", text, maxsplit=1)[0]
    value = VERSION_RE.sub("", value).strip().strip("`'\"*_").strip()
    # GitHub writes the ecosystem before the package's name.
    value = re.sub(
        r"^(?:pkg:)?(?:maven|npm|pip|pypi|go|golang|crates\.io|cargo|rust|rubygems|gem|nuget"
        r"|composer|packagist|pub|hex|swift|erlang)(?:\s+|/)(?=\S)",
        "",
        value,
        flags=re.IGNORECASE,
    )
    if not value or len(value) > _NAME_CHARS_MAX or not (value[0].isalnum() or value[0] == "@"):
        return None
    return value


# A title: ids first ("CVE-2025-40117", "USN-7301-1:", "BG-SA-2025-06 /"), then the name
# before a colon, "vulnerability" or "security advisory", or a quoted name.
_TITLE_IDS: Final = re.compile(
    r"^\s*(?:[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-[A-Za-z0-9]*\d[A-Za-z0-9-]*\s*[:/,|]?\s*)*"
)
_TITLE_END: Final = re.compile(
    r"\s*:\s+(?!CVE-)\S|\s+vulnerabilit(?:y|ies)\b|\s+(?:security\s+)?(?:advisor(?:y|ies)"
    r"|bulletins?|releases?\s+issued|notices?)\b",
    re.IGNORECASE,
)
_QUOTED: Final = re.compile(r"[`'\"]([A-Za-z@][\w.+/@:-]{0,60})[`'\"]")


def _title(text: str) -> str | None:
    """The name a title gives: what its first lines say after their ids and before a
    colon, "vulnerability" or "security advisory", when that is a name and nothing else."""
    for line in text.strip().splitlines()[:3]:
        line = re.sub(r"^\s*(?:title|subject|summary|name)\s*:\s*", "", line[:200], flags=re.I)
        start = _TITLE_IDS.match(line)
        rest = line[start.end() if start else 0 :]
        quoted = _QUOTED.match(rest)
        if quoted is not None:
            return quoted[1]
        for end in _TITLE_END.finditer(rest):
            name = _title_name(rest, end)
            # "Cisco Security Advisory: ...": a vendor's name alone is no product's.
            if name is not None and name.casefold() not in _VENDORS:
                return name
    return None


def _title_name(rest: str, end: re.Match[str]) -> str | None:
    bare = [_word(w) for w in VERSION_RE.sub("", rest[: end.start()]).split()]
    if 0 < len(bare) <= _NAME_WORDS_MAX and all(
        _is_name_word(b) and not _ID.fullmatch(b) for b in bare
    ):
        return _joined(bare)
    if end[0].strip().lower().startswith("vulnerabilit"):
        # "Cisco IOS XE Software Web UI Privilege Escalation Vulnerability": the name is
        # the title's words (after its last colon) before the kind of weakness.
        after_colon = rest[: end.start()].rpartition(": ")[2]
        return _leading_name([_word(w) for w in VERSION_RE.sub("", after_colon).split()])
    return None


# Words that open a weakness's name in a title ("Privilege Escalation", "Use of ...").
_WEAKNESS_WORDS: Final = frozenset(
    [
        "use",
        "improper",
        "remote",
        "privilege",
        "arbitrary",
        "command",
        "code",
        "cross-site",
        "sql",
        "denial",
        "buffer",
        "heap",
        "stack",
        "out-of-bounds",
        "missing",
        "path",
        "server-side",
        "authentication",
        "authorization",
        "hard-coded",
        "information",
        "insecure",
        "unauthenticated",
        "authenticated",
        "deserialization",
        "integer",
        "race",
        "memory",
        "null",
        "double",
        "type",
        "incorrect",
        "uncontrolled",
        "unrestricted",
        "open",
        "xml",
        "directory",
        "file",
        "local",
        "injection",
        "overflow",
        "bypass",
        "elevation",
        "disclosure",
        "execution",
        "traversal",
    ]
)


def _leading_name(words: list[str]) -> str | None:
    name: list[str] = []
    for word in words:
        if word.lower() in _WEAKNESS_WORDS or not _is_name_word(word) or _ID.fullmatch(word):
            break
        name.append(word)
    return _joined(name[:_NAME_WORDS_MAX]) if name else None


_PROSE_BEFORE_NAME: Final = re.compile(
    r"\b(?:(?:vulnerabilit(?:y|ies)|flaws?|issues?|bugs?|weakness(?:es)?|problems?|regression"
    r"|defects?|overflows?|injection|traversal|disclosure|corruption|leaks?|bypass|dereference"
    r"|use-after-free|execution|scripting|forgery|redirect|deserialization|escalation"
    r"|exhaustion|confusion|race\s+condition)\s+(?:\([^)]{0,40}\)\s+)?(?:(?:was|were|has\s+been|have\s+been|is)\s+)?"
    r"(?:(?:found|discovered|identified|reported|present)\s+)?|(?:exists?|found|discovered)\s+)"
    r"(?:in|within|affecting)\s+",
    re.IGNORECASE,
)
# A plugin's page: "The Contact Form 7 plugin for WordPress is vulnerable ...".
_PLUGIN: Final = re.compile(
    r"\s+(?:plugin|theme|extension|add-?on|module)\s+for\s+[A-Z]", re.IGNORECASE
)
# The last resort: a capitalised name after "in" ("In the Linux kernel, ...", "Broken
# Access Control in Atlassian Confluence Data Center").
_IN_NAME: Final = re.compile(
    r"\b[Ii]n\s+(?:the\s+)?(?=[A-Z])|\b(?i:security\s+update\s+for)\s+(?:the\s+)?"
)
# Ubuntu's notices: "libmarrow incorrectly handled certain malformed archives".
_PROSE_AFTER_NAME: Final = re.compile(
    r"\s+(?:incorrectly|improperly|did\s+not\s+(?:properly|correctly))\s+\w+", re.IGNORECASE
)


def _prose(text: str) -> str | None:
    for match in _PROSE_BEFORE_NAME.finditer(text):
        name = _name_after(text[match.end() :])
        if name is not None:
            return name
    for match in (*_PROSE_AFTER_NAME.finditer(text), *_PLUGIN.finditer(text)):
        name = name_before(text[: match.start()])
        if name is not None:
            return name
    for match in _IN_NAME.finditer(text[:400]):
        name = _name_after(text[match.end() :])
        if name is not None:
            return name
    return None


def named_in_text(text: str) -> ProductName | None:
    """The product a title or prose names, when no heading, range or fix does."""
    title = _title(text)
    if title is not None:
        return ProductName(title, Naming.TITLE)
    prose = _prose(text)
    return ProductName(prose, Naming.PROSE) if prose is not None else None


# --- the record's product ---------------------------------------------------------------

# Words two names of different products share: a vendor's, a kind of software's.
_COMMON_WORDS: Final = frozenset(
    [
        "apache",
        "server",
        "software",
        "linux",
        "the",
        "open",
        "source",
        "project",
        "library",
        "package",
        "plugin",
        "core",
        "client",
        "http",
        "web",
        "app",
        "application",
        "module",
        "framework",
        "system",
        "org",
        "com",
        "net",
        "io",
        "www",
        "github",
        "microsoft",
        "google",
        "oracle",
        "cisco",
        "ibm",
        "red",
        "hat",
        "android",
        "windows",
        "java",
        "python",
        "node",
    ]
)


def _own_words(name: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", name.casefold()) if len(w) >= 3} - _COMMON_WORDS


def _holds(whole: str, part: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", whole) is not None


def same_product(a: str, b: str) -> bool:
    """Whether two names name one product: one holds the other, or they share a word of
    their own (not a vendor's or a kind of software's)."""
    a, b = a.casefold(), b.casefold()
    return _holds(a, b) or _holds(b, a) or bool(_own_words(a) & _own_words(b))


def _plain(name: str) -> bool:
    """A product's name as people write it, not a package's coordinates."""
    return not re.search(r"[:/@]", name)


def choose(names: list[ProductName]) -> str | None:
    """The product most advisories name (ties: the surer naming, then the first); written
    as most of those advisories write it, preferring a plain name to coordinates, then the
    fuller name."""
    # A vendor's name alone ("Apache", "Cisco") names no product, when another does.
    names = [n for n in names if n.name.casefold() not in _VENDORS] or names
    if not names:
        return None
    support = [sum(same_product(n.name, m.name) for m in names) for n in names]
    best = max(range(len(names)), key=lambda i: (support[i], names[i].by, -i))
    group = [n for n in names if same_product(n.name, names[best].name)]
    counts = [sum(n.name.casefold() == m.name.casefold() for m in group) for n in group]
    # Then the fuller name: "Apache Struts" rather than the "Struts" it holds.
    holds = [
        sum(n.name.casefold() != m.name.casefold() and _holds(n.name.casefold(), m.name.casefold())
            for m in group)
        for n in group
    ]  # fmt: skip
    pick = max(
        range(len(group)),
        key=lambda i: (counts[i], _plain(group[i].name), holds[i], group[i].by, -i),
    )
    return group[pick].name
