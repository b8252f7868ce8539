"""How well find_pii finds personal data in a labelled set: precision, recall and F1 per kind.

    uv run python -m eval.pii_quality [PATH] [--show] [--json OUT]

PATH is a labelled JSONL file (eval/pii_dataset.py; default eval/pii/labelled.jsonl).
A predicted span matches a gold span of the same kind when they overlap by at
least half of the longer of the two (each span matches at most one); the exact
figures count only identical offsets. Figures are given per kind, per language,
and over all (micro-averaged). The errors are listed by example id, kind and
offsets only: a user's own labelled set may hold real personal data, so its text
is printed only with --show.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.pii_dataset import Entity, Example, load
from slmesh.runtime.pii import KINDS, PiiKind, find_pii

DEFAULT_SET = Path("eval/pii/labelled.jsonl")

Finder = Callable[[str], Sequence[Entity]]


def overlap_matches(predicted: Entity, gold: Entity) -> bool:
    """Same kind, and overlapping by at least half of the longer span."""
    if predicted.kind != gold.kind:
        return False
    shared = min(predicted.end, gold.end) - max(predicted.start, gold.start)
    longer = max(predicted.end - predicted.start, gold.end - gold.start)
    return shared > 0 and 2 * shared >= longer


def exact_matches(predicted: Entity, gold: Entity) -> bool:
    return (predicted.kind, predicted.start, predicted.end) == (gold.kind, gold.start, gold.end)


def pair(
    predicted: Sequence[Entity], gold: Sequence[Entity], matches: Callable[[Entity, Entity], bool]
) -> tuple[list[Entity], list[Entity], list[Entity]]:
    """One-to-one matching: (matched predictions, unmatched predictions, unmatched gold)."""
    free = list(gold)
    matched: list[Entity] = []
    spurious: list[Entity] = []
    # Best overlap first would be optimal in general; spans of one kind in one text
    # rarely compete, and taking them in order keeps it simple and deterministic.
    for span in sorted(predicted, key=lambda e: (e.start, e.end)):
        partner = next((g for g in free if matches(span, g)), None)
        if partner is None:
            spurious.append(span)
        else:
            free.remove(partner)
            matched.append(span)
    return matched, spurious, free


@dataclass
class Counts:
    gold: int = 0
    predicted: int = 0
    matched: int = 0

    def add(self, gold: int, predicted: int, matched: int) -> None:
        self.gold += gold
        self.predicted += predicted
        self.matched += matched

    @property
    def precision(self) -> float | None:
        return self.matched / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None if p is None or r is None else 0.0
        return 2 * p * r / (p + r)


@dataclass(frozen=True)
class Miss:
    """A false positive or negative: where, never what."""

    example: str
    error: str  # "FP" or "FN"
    kind: PiiKind
    start: int
    end: int


@dataclass
class Report:
    by_kind: dict[PiiKind, Counts] = field(default_factory=dict)
    exact_by_kind: dict[PiiKind, Counts] = field(default_factory=dict)
    by_language: dict[str, Counts] = field(default_factory=dict)
    exact_by_language: dict[str, Counts] = field(default_factory=dict)
    total: Counts = field(default_factory=Counts)
    exact_total: Counts = field(default_factory=Counts)
    misses: list[Miss] = field(default_factory=list)
    texts: int = 0
    seconds: float = 0.0


def score(
    examples: Iterable[Example],
    predict: Finder,
    kinds: Sequence[PiiKind] = KINDS,
) -> Report:
    """Run `predict` on every example and compare with its gold spans, for `kinds` only."""
    report = Report()
    for example in examples:
        started = time.perf_counter()
        predicted = [e for e in predict(example.text) if e.kind in kinds]
        report.seconds += time.perf_counter() - started
        report.texts += 1
        gold = [e for e in example.entities if e.kind in kinds]
        for kind in kinds:
            p = [e for e in predicted if e.kind == kind]
            g = [e for e in gold if e.kind == kind]
            matched, spurious, missed = pair(p, g, overlap_matches)
            exact, _, _ = pair(p, g, exact_matches)
            for table, key, hits in (
                (report.by_kind, kind, matched),
                (report.exact_by_kind, kind, exact),
            ):
                table.setdefault(key, Counts()).add(len(g), len(p), len(hits))
            for language_table, hits in (
                (report.by_language, matched),
                (report.exact_by_language, exact),
            ):
                language_table.setdefault(example.language, Counts()).add(len(g), len(p), len(hits))
            report.total.add(len(g), len(p), len(matched))
            report.exact_total.add(len(g), len(p), len(exact))
            report.misses += [Miss(example.id, "FP", kind, e.start, e.end) for e in spurious]
            report.misses += [Miss(example.id, "FN", kind, e.start, e.end) for e in missed]
    return report


def finder_spans(text: str) -> list[Entity]:
    return [Entity(s.kind, s.start, s.end) for s in find_pii(text)]


def _figure(value: float | None) -> str:
    return "   -" if value is None else f"{value:.2f}"


def _row(name: str, counts: Counts, exact: Counts) -> str:
    return (
        f"{name:<14} {counts.gold:>7} {counts.predicted:>9}  "
        f"{_figure(counts.precision):>5} {_figure(counts.recall):>5} {_figure(counts.f1):>5}   "
        f"{_figure(exact.precision):>5} {_figure(exact.recall):>5} {_figure(exact.f1):>5}"
    )


def format_report(report: Report, *, examples: dict[str, Example] | None = None) -> str:
    """The tables, then the errors (with their text only when `examples` is given: --show)."""
    header = (
        f"{'':<14} {'support':>7} {'predicted':>9}  {'P':>5} {'R':>5} {'F1':>5}   "
        f"{'P=':>5} {'R=':>5} {'F1=':>5}"
    )
    lines = [
        f"{report.texts} texts, {report.seconds * 1000 / max(report.texts, 1):.2f} ms per text",
        "overlap match: same kind, overlapping by at least half of the longer span; "
        "'=' columns: exact offsets",
        "",
        header,
    ]
    for kind, counts in report.by_kind.items():
        if counts.gold or counts.predicted:
            lines.append(_row(kind, counts, report.exact_by_kind[kind]))
    lines.append(_row("all", report.total, report.exact_total))
    lines += ["", header.replace(" " * 14, f"{'language':<14}", 1)]
    for language, counts in sorted(report.by_language.items()):
        lines.append(_row(language, counts, report.exact_by_language[language]))
    if report.misses:
        lines += ["", f"errors ({len(report.misses)}): id, FP/FN, kind, [start, end)"]
        for miss in sorted(report.misses, key=lambda m: (m.example, m.start)):
            line = f"  {miss.example} {miss.error} {miss.kind} [{miss.start}, {miss.end})"
            if examples is not None:
                line += f" {examples[miss.example].text[miss.start : miss.end]!r}"
            lines.append(line)
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, object]:
    def figures(counts: Counts) -> dict[str, object]:
        return {
            "support": counts.gold,
            "predicted": counts.predicted,
            "matched": counts.matched,
            "precision": counts.precision,
            "recall": counts.recall,
            "f1": counts.f1,
        }

    return {
        "texts": report.texts,
        "ms_per_text": report.seconds * 1000 / max(report.texts, 1),
        "overlap": {k: figures(c) for k, c in report.by_kind.items()}
        | {"all": figures(report.total)},
        "exact": {k: figures(c) for k, c in report.exact_by_kind.items()}
        | {"all": figures(report.exact_total)},
        "languages": {k: figures(c) for k, c in report.by_language.items()},
        "errors": [
            {"id": m.example, "error": m.error, "kind": m.kind, "start": m.start, "end": m.end}
            for m in report.misses
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=DEFAULT_SET)
    parser.add_argument(
        "--show", action="store_true", help="print each error's text (your own set only)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures and errors as JSON")
    args = parser.parse_args(argv)
    if not args.path.is_file():
        print(f"no labelled set at {args.path}", file=sys.stderr)
        return 2
    examples = load(args.path)
    report = score(examples, finder_spans)
    shown = {e.id: e for e in examples} if args.show else None
    print(format_report(report, examples=shown))
    if args.json is not None:
        args.json.write_text(json.dumps(report_json(report), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
