"""Which of the versions the advisories call fixed are the record's fixed versions.

What a security engineer patches by is the upstream release that fixes this CVE, one
per release line the project supports ("2.3.35" and "2.5.17"). The advisories name
more than that, and the record leaves out, saying so in a note where it matters:

- a distribution's package build ("9.0.43-2~deb11u8", "1:9.2p1-2+deb12u3") when an
  upstream release is named: it is a fix of one distribution's package, not of the
  product, and its number says nothing of upstream's (a backport). When no advisory
  names an upstream release, the builds are all the record has, and it gives them;
- a fix said to have fallen short ("the fix in 2.3.1 was incomplete") and a version a
  sentence about another CVE calls fixed ("a bypass of CVE-2023-1111, fixed in 4.0.3");
- a version one advisory calls fixed and another gives as affected, where the latter
  names a later fix of the same release line ("through 1.4.2" against "fixed in 1.4.2");
- a later release of a line another advisory already fixes ("upgrade to the latest
  release, 1.4.5" beside "fixed in 1.4.2"): the line's fix is its first fixed release.
  An advisory that lists several builds of one line (hotfixes) keeps them all.

When no advisory names a fixed version, the first version out of each affected range
("before 3.3.7", "< 2.31.0", "[7.0.0, 7.4.11)") is the fix the ranges imply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slmesh.remediation.reading import Reading
from slmesh.remediation.versions import (
    comparable,
    is_distribution_package,
    key,
    release_line,
)


@dataclass
class FixedVersions:
    versions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fixed_versions(readings: list[Reading], labels: list[str], cve_id: str | None) -> FixedVersions:
    """The record's fixed versions of the readings (labels name them in notes)."""
    result = FixedVersions()
    short = {v for r in readings for v in r.incomplete}
    named: list[list[str]] = []
    for r in readings:
        own = [v for v in r.fixed if v not in short and _about(r, v, cve_id)]
        named.append(own)
    if short:
        result.notes.append(
            f"left out as an incomplete earlier fix: {', '.join(sorted(short, key=key))}"
        )
    upstream = [[v for v in own if not is_distribution_package(v)] for own in named]
    builds = [
        f"{v} ({label})"
        for own, label in zip(named, labels, strict=True)
        for v in own
        if is_distribution_package(v)
    ]
    if any(upstream):
        result.versions = _first_fixes(_uncontradicted(upstream, readings))
        if builds:
            result.notes.append(
                "distribution packages named as fixed (a distribution's build, not an "
                f"upstream release): {', '.join(dict.fromkeys(builds))}"
            )
        return result
    implied = [_range_ends(r) for r in readings]
    if any(implied):
        result.versions = _first_fixes(implied)
        result.notes.append(
            "no advisory names a fixed release; given is the first release after each "
            f"affected range: {', '.join(result.versions)}"
        )
        return result
    result.versions = list(dict.fromkeys(v for own in named for v in own))
    return result


def _about(reading: Reading, version: str, cve_id: str | None) -> bool:
    """Whether the version's sentence is about this CVE: it names no CVE id, or this one."""
    ids = reading.fixed_ids.get(version, [])
    return cve_id is None or not ids or cve_id in ids


def _uncontradicted(named: list[list[str]], readings: list[Reading]) -> list[list[str]]:
    """Each advisory's versions, less those an advisory (another, or the same one in
    another sentence) gives as affected where the same release line has a fix nobody
    contradicts."""

    def contradicted(version: str) -> bool:
        return any(
            r.upper is not None and r.exact is None and r.contains(version) is True
            for reading in readings
            for r in reading.affected
        )

    standing = {v for own in named for v in own if not contradicted(v)}
    lines = {release_line(v) for v in standing}
    return [[v for v in own if v in standing or release_line(v) not in lines] for own in named]


def _first_fixes(named: list[list[str]]) -> list[str]:
    """Per release line, the versions of the advisories naming its first fixed release."""
    order = list(dict.fromkeys(v for own in named for v in own))
    kept: set[str] = set()
    for line in dict.fromkeys(release_line(v) for v in order):
        per_advisory = [
            [v for v in own if release_line(v) == line and comparable(v)] for own in named
        ]
        firsts = [min(own, key=key) for own in per_advisory if own]
        if not firsts:
            kept.update(v for v in order if release_line(v) == line)
            continue
        first = min(firsts, key=key)
        for own in per_advisory:
            if own and key(min(own, key=key)) == key(first):
                kept.update(own)
        # A version that cannot be ordered (a wildcard) is kept as named.
        kept.update(v for v in order if release_line(v) == line and not comparable(v))
    return [v for v in order if v in kept]


def _range_ends(reading: Reading) -> list[str]:
    """The first release out of each of the reading's affected ranges ("< 3.3.7")."""
    return list(
        dict.fromkeys(
            r.upper
            for r in reading.affected
            if r.upper is not None and not r.upper_inclusive and r.exact is None
            if comparable(r.upper)
        )
    )
