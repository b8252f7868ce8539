"""Version numbers as advisories write them, and the ranges they bound.

Three conventions meet in one record: dotted semver-ish numbers with pre-releases
("2.0.0-beta9", "4.2rc1"), OpenSSL's letter releases ("1.1.1t" comes after "1.1.1"),
OpenSSH's portable releases ("9.8p1"), vendors' hotfixes and builds ("10.2.9-h1",
"14.1-8.50"), calendar versions ("2025.03.1"), and distribution packages with an epoch
and a revision ("1:2.4.57-2+deb12u1", "3.0.2-0ubuntu1.10"). A version needs a dot: a
bare number ("version 5", "2 issues") is too often something else to be read as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# A version token. Every quantifier is bounded, so a long run of digits and dots costs
# a bounded amount of backtracking per position, not a quadratic one.
VERSION: Final = (
    r"(?<![\w.\-/:])[vV]?(?:\d{1,4}:)?\d{1,9}(?:\.(?:\d{1,9}|[xX*])){1,6}"
    r"(?:[-.]?(?:alpha|beta|rc|pre|dev|post|a|b)\.?\d{1,4}|p\d{1,3}|[a-z]{1,2}(?![A-Za-z]))?"
    r"(?:[-+~][0-9A-Za-z](?:[0-9A-Za-z.+~\-]{0,38}[0-9A-Za-z])?)?"
    r"(?![\w])"
)
VERSION_RE: Final = re.compile(VERSION)

# Marks of a pre-release, which comes before the release it names ("2.0.0rc1" < "2.0.0").
_PRERELEASE: Final = frozenset({"alpha", "beta", "rc", "pre", "dev", "a", "b"})
_UPSTREAM: Final = re.compile(r"(?:\d{1,4}:)?(\d[0-9A-Za-z.]*)")
_PURE_DOTTED: Final = re.compile(r"\d+(?:\.\d+)+")


def clean(token: str) -> str:
    """A version as a record writes it: without the "v" some projects put before it."""
    return token[1:] if token[:1] in "vV" and token[1:2].isdigit() else token


def upstream(version: str) -> str:
    """The upstream release a package version packs: "1:2.4.57-2+deb12u1" -> "2.4.57"."""
    match = _UPSTREAM.match(clean(version))
    return match[1].rstrip(".") if match else version


def is_distribution_package(version: str) -> bool:
    """Whether the version carries an epoch or a distribution's revision: a backport,
    whose number says nothing of the upstream ranges. A vendor's build number of two
    numbers ("14.1-8.50", NetScaler's) is the vendor's release, not a revision."""
    version = clean(version)
    if re.fullmatch(r"\d+(?:\.\d+)+[a-z]?-\d+\.\d+", version):
        return False
    return ":" in version or bool(re.search(r"[-+~]\d|deb\d|ubuntu|el\d|\+dfsg", version))


def release_line(version: str) -> str:
    """The release line a version belongs to: its first two numbers ("5.16.7" -> "5.16",
    "2.442" -> "2.442", "1.1.1t" -> "1.1"), where one fix per line is expected."""
    numbers = re.findall(r"\d+", upstream(version))[:2]
    return ".".join(str(int(n)) for n in numbers)


def key(version: str) -> tuple[tuple[int, int, str], ...]:
    """An order on versions of one project: numbers compared as numbers, a letter release
    after its base ("1.1.1t" > "1.1.1"), a pre-release before its release."""
    parts: list[tuple[int, int, str]] = []
    # A distribution's build is ordered by the release it packs; a vendor's own suffix
    # ("-h1", "-beta2", "-8.50") orders its releases.
    base = upstream(version) if is_distribution_package(version) else clean(version)
    found = re.findall(r"\d+|[a-z]+", base.lower())
    for at, part in enumerate(found):
        if part.isdigit():
            parts.append((2, int(part), ""))
        elif part in _PRERELEASE and at + 1 < len(found) and found[at + 1].isdigit():
            # "2.0.0a1" is an alpha; "1.1.1a" is OpenSSL's first letter release.
            parts.append((0, 0, part))
        else:
            parts.append((1, 0, part))
    # The end of a version sorts between a pre-release mark and a number.
    parts.append((1, 0, ""))
    return tuple(parts)


def comparable(version: str) -> bool:
    """Whether `key` orders it: no wildcard, no distribution revision."""
    return (
        "x" not in version.lower().split(".")[1:]
        and "*" not in version
        and not (is_distribution_package(version))
    )


def split_range(token: str) -> tuple[str, str] | None:
    """ "2.4.0-2.4.57", written without blanks: a range, not a version with a revision,
    when what follows the hyphen is a plain dotted number above what precedes it."""
    lower, dash, upper = clean(token).partition("-")
    if not dash or not _PURE_DOTTED.fullmatch(upper) or not _PURE_DOTTED.fullmatch(lower):
        return None
    if upper.count(".") != lower.count(".") or key(upper) <= key(lower):
        return None
    if upper.split(".")[0] != lower.split(".")[0]:
        return None  # "13.1-49.15" is a release and its build (NetScaler's), not a range
    return lower, upper


@dataclass(frozen=True)
class VersionRange:
    """Affected versions: a bound on either side, or one version as an advisory lists it."""

    lower: str | None = None
    lower_inclusive: bool = True
    upper: str | None = None
    upper_inclusive: bool = False
    # One version listed as affected, no bound.
    exact: str | None = None

    @property
    def text(self) -> str:
        if self.exact is not None:
            return self.exact
        if self.lower is not None and self.upper is not None:
            if self.lower_inclusive and self.upper_inclusive:
                return f"{self.lower} - {self.upper}"
            return f"{self._lower_text()}, {self._upper_text()}"
        if self.lower is not None:
            return self._lower_text()
        return self._upper_text()

    def _lower_text(self) -> str:
        return f"{'>=' if self.lower_inclusive else '>'} {self.lower}"

    def _upper_text(self) -> str:
        return f"{'<=' if self.upper_inclusive else '<'} {self.upper}"

    def contains(self, version: str) -> bool | None:
        """Whether the range holds `version`; None when the two cannot be compared."""
        bounds = [b for b in (self.lower, self.upper, self.exact) if b is not None]
        if not comparable(version) or not all(comparable(b) for b in bounds):
            return None
        at = key(version)
        if self.exact is not None:
            return at == key(self.exact)
        if self.lower is not None:
            low = key(self.lower)
            if at < low or (at == low and not self.lower_inclusive):
                return False
        if self.upper is not None:
            high = key(self.upper)
            if at > high or (at == high and not self.upper_inclusive):
                return False
        return True
