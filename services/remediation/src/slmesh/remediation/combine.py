"""Several advisories' readings made one record, and where they disagree said in notes.

The facts come from the advisories' own texts, not from their summaries: a small
model's summary can misstate a version, and a record a team acts on must say only
what a source says. The summaries are carried into the record as they are, for the
reader. Where advisories state different things (another fixed version, a version one
calls fixed and another affected, another severity, another CVE id) the record keeps
every value and says so in a note rather than choosing silently.
"""

from __future__ import annotations

from collections import Counter
from typing import Final, cast
from urllib.parse import urlsplit

from slmesh.remediation import actions, product
from slmesh.remediation.fixes import fixed_versions
from slmesh.remediation.reading import Reading, read
from slmesh.remediation.record import RemediationRecord, RemediationRequest, Severity
from slmesh.remediation.versions import VersionRange, is_distribution_package, upstream

MAX_ACTIONS: Final = 16
_LABEL_CHARS: Final = 60


def remediate(request: RemediationRequest) -> RemediationRecord:
    """The record of the advisories (the handler)."""
    texts = [a.text for a in request.advisories]
    readings = [read(text) for text in texts]
    labels = _labels([a.source for a in request.advisories])
    cve_ids = list(dict.fromkeys(i for r in readings for i in r.cve_ids))
    cve_id = _most_named([r.cve_ids for r in readings], cve_ids)
    named = product.choose([r.product for r in readings if r.product is not None])
    affected = _union([v.text for r in readings for v in r.affected])
    chosen = fixed_versions(readings, labels, cve_id)
    fixed = chosen.versions
    severity = _most_common([r.severity for r in readings if r.severity])
    todo = actions.upgrade_actions(named, fixed)
    if not fixed and any(actions.recommends_upgrade(text) for text in texts):
        todo.append(actions.upgrade_without_version(named))
    seen = {actions.key(a) for a in todo}
    for text in texts:
        for action in actions.advice(text):
            if actions.key(action) not in seen and len(todo) < MAX_ACTIONS:
                seen.add(actions.key(action))
                todo.append(action)
    notes = [
        *_cve_notes(readings, labels, cve_id),
        *_fixed_notes(readings, labels),
        *chosen.notes,
        *_conflict_notes(readings, labels),
        *_severity_notes(readings, labels),
    ]
    return RemediationRecord(
        cve_id=cve_id,
        cve_ids=cve_ids,
        product=named,
        affected_versions=affected,
        fixed_versions=fixed,
        # The reading gives only the four words of a CVSS band.
        severity=cast(Severity | None, severity),
        actions=todo,
        sources=[a.source.strip() for a in request.advisories],
        summaries=[" ".join(s.split()) for s in request.summary_texts()],
        notes=notes,
    )


def _union(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _most_named(named: list[list[str]], order: list[str]) -> str | None:
    """The id most advisories name; a tie goes to the id named first."""
    counts = Counter(i for ids in named for i in set(ids))
    if not counts:
        return None
    return max(order, key=lambda i: (counts[i], -order.index(i)))


def _most_common(values: list[str]) -> str | None:
    """The value most advisories give (compared regardless of case), as first written; a
    tie goes to the first given."""
    if not values:
        return None
    counts = Counter(v.casefold() for v in values)
    best = max(values, key=lambda v: (counts[v.casefold()], -values.index(v)))
    return best


def _labels(sources: list[str]) -> list[str]:
    """How a note names each advisory: its site for a URL, else its source, shortened."""
    labels = []
    for source in sources:
        source = " ".join(source.split())
        host = urlsplit(source).hostname if "://" in source else None
        label = host.removeprefix("www.") if host else source
        if len(label) > _LABEL_CHARS:
            label = label[: _LABEL_CHARS - 1] + "…"
        labels.append(label)
    # Two advisories from one site are told apart by their position.
    counts = Counter(labels)
    return [f"{label} (#{n + 1})" if counts[label] > 1 else label for n, label in enumerate(labels)]


def _cve_notes(readings: list[Reading], labels: list[str], cve_id: str | None) -> list[str]:
    if cve_id is None:
        return []
    return [
        f"{label} is about {', '.join(r.cve_ids)}, not {cve_id}"
        for r, label in zip(readings, labels, strict=True)
        if r.cve_ids and cve_id not in r.cve_ids
    ]


def _fixed_notes(readings: list[Reading], labels: list[str]) -> list[str]:
    """Advisories whose fixed versions differ, not merely one naming fewer release lines
    or packing the same release for a distribution."""
    named = [
        (label, r.fixed, frozenset(upstream(v) for v in r.fixed))
        for r, label in zip(readings, labels, strict=True)
        if r.fixed
    ]
    disagree = any(not (a <= b or b <= a) for _, _, a in named for _, _, b in named)
    if not disagree:
        return []
    said = "; ".join(f"{label}: {', '.join(fixed)}" for label, fixed, _ in named)
    return [f"the advisories name different fixed versions ({said})"]


def _conflict_notes(readings: list[Reading], labels: list[str]) -> list[str]:
    """A version one advisory calls fixed that another gives as affected."""
    notes = []
    for r, label in zip(readings, labels, strict=True):
        for version in r.fixed:
            if is_distribution_package(version):
                continue  # a backport's number says nothing of upstream ranges
            for other, other_label in zip(readings, labels, strict=True):
                if other is r:
                    continue
                hit = next((v for v in other.affected if _holds(v, version)), None)
                if hit is not None:
                    notes.append(
                        f"{label} names {version} as fixed, but {other_label} gives it as "
                        f"affected ({hit.text})"
                    )
    return list(dict.fromkeys(notes))


def _holds(affected: VersionRange, version: str) -> bool:
    return affected.exact is None and affected.contains(version) is True


def _severity_notes(readings: list[Reading], labels: list[str]) -> list[str]:
    rated = [(label, r.severity) for r, label in zip(readings, labels, strict=True) if r.severity]
    if len({s for _, s in rated}) <= 1:
        return []
    said = ", ".join(f"{label}: {severity}" for label, severity in rated)
    return [f"the advisories rate the severity differently ({said})"]


# --- human summary ----------------------------------------------------------------------


def describe(record: RemediationRecord) -> str:
    """One line a composer quotes: `CVE-2023-44487 (Apache HTTP Server, high): fixed in
    2.4.58; 3 actions; 2 advisories; 1 note`."""
    what = ", ".join(x for x in (record.product, record.severity) if x)
    head = (record.cve_id or "no CVE id named") + (f" ({what})" if what else "")
    fixed = (
        f"fixed in {', '.join(record.fixed_versions)}"
        if record.fixed_versions
        else "no fixed version named"
    )
    parts = [
        fixed,
        _count(len(record.actions), "action"),
        _count(len(record.sources), "advisory", "advisories"),
    ]
    if record.notes:
        parts.append(_count(len(record.notes), "note"))
    return f"{head}: {'; '.join(parts)}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
