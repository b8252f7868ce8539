"""The local-model alternative for the hard kinds: the bundled model lists names and addresses.

    uv run python -m eval.pii_model_baseline [PATH] [--limit N] [--show] [--json OUT]

For each text of a labelled set (default: the developer's own eval/pii/dev.jsonl),
the default model (Gemma 3 270M, `ModelSettings()`) is asked, few-shot and
grammar-constrained as the extractor asks it (`ModelSession.complete_json`), for
the person names and the postal addresses in the text. Each string it gives is
located in the text (every occurrence; a string that is not in the text is a
false positive that matches nothing). Scored as eval/pii_quality.py scores the
recognizers, for `person` and `address` only, beside the recognizers on the same
texts and the union of both (the recognizers' spans, plus the model's where they
overlap none of them). Time per text is the model's alone.

The figures in docs/pii.md came from this script on the development set; it runs
real inference (minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from eval.pii_dataset import Entity, Example, load
from eval.pii_quality import finder_spans, format_report, report_json, score
from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings, template, untrusted
from slmesh.runtime.pii import PiiKind

DEV_SET = Path("eval/pii/dev.jsonl")
KINDS: Final[tuple[PiiKind, ...]] = ("person", "address")

# Bounded strings and lists: generation always ends (as the extractor bounds them).
SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "names": {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 6},
        "addresses": {
            "type": "array",
            "items": {"type": "string", "maxLength": 100},
            "maxItems": 3,
        },
    },
    "required": ["names", "addresses"],
    "additionalProperties": False,
}

# Three shots: English, German, and one with nothing to find; written for this script. The
# keys in the order the grammar writes them (grammar_for sorts a schema's keys).
SHOTS: Final = """List the full names of people and the postal addresses in the text.

Text: Dear Mr Collins, your parcel for Mary Stone goes to 8 Baker Road, Bristol BS1 4QA. \
Regards, Tim Hale
JSON: {"addresses": ["8 Baker Road, Bristol BS1 4QA"], \
"names": ["Collins", "Mary Stone", "Tim Hale"]}

Text: Die Sitzung am Montag beginnt um 10 Uhr im Raum 4. Bitte bringen Sie den Bericht mit.
JSON: {"addresses": [], "names": []}

Text: Hallo Frau Yilmaz, die Rechnung geht an Peter Lang, Gartenweg 3, 50667 Köln. Gruß, Eva
JSON: {"addresses": ["Gartenweg 3, 50667 Köln"], "names": ["Yilmaz", "Peter Lang", "Eva"]}

"""


def locate(text: str, found: str, kind: PiiKind) -> list[Entity]:
    """Every occurrence of `found` in `text`; one span matching nothing when there is none."""
    needle = found.strip()
    if not needle:
        return []
    spans = [
        Entity(kind, m.start(), m.end())
        for m in re.finditer(re.escape(needle), text, flags=re.IGNORECASE)
    ]
    return spans or [Entity(kind, -1, -1)]


class ModelFinder:
    """The model asked for names and addresses, one completion per text, timed."""

    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self.seconds = 0.0
        self.texts = 0
        self.failures = 0

    def __call__(self, text: str) -> list[Entity]:
        prompt = (
            template(f"{SHOTS}Text: ") + untrusted(" ".join(text.split())) + template("\nJSON: ")
        )
        started = time.perf_counter()
        try:
            answer = ModelSession(self.model).complete_json(prompt, SCHEMA, max_tokens=400)
        except ValueError:
            self.failures += 1  # cut short: counted as finding nothing
            answer = {"names": [], "addresses": []}
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += 1
        spans: list[Entity] = []
        for name in answer["names"]:
            spans += locate(text, name, "person")
        for address in answer["addresses"]:
            spans += locate(text, address, "address")
        return spans


def union(first: Sequence[Entity], second: Sequence[Entity]) -> list[Entity]:
    """`first`, plus the spans of `second` that overlap none of it."""
    return list(first) + [
        s for s in second if not any(s.start < f.end and f.start < s.end for f in first)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", default=DEV_SET)
    parser.add_argument("--limit", type=int, help="only the first N texts")
    parser.add_argument("--show", action="store_true", help="print each error's text")
    parser.add_argument("--json", type=Path, help="write the three reports as JSON")
    args = parser.parse_args(argv)
    examples: list[Example] = load(args.path)[: args.limit]

    model = LocalModel.load(ModelSettings())
    finder = ModelFinder(model)
    answers = {e.id: finder(e.text) for e in examples}
    by_text = {e.text: e.id for e in examples}

    reports = {
        "recognizers": score(examples, finder_spans, KINDS),
        "model": score(examples, lambda text: answers[by_text[text]], KINDS),
        "union": score(
            examples, lambda text: union(finder_spans(text), answers[by_text[text]]), KINDS
        ),
    }
    reports["model"].seconds = finder.seconds  # the model's time, not the lookups'
    shown = {e.id: e for e in examples} if args.show else None
    for name, report in reports.items():
        print(f"== {name} ({', '.join(KINDS)})")
        print(format_report(report, examples=shown))
        print()
    print(
        f"model: {model.id}, {finder.seconds * 1000 / max(finder.texts, 1):.0f} ms per text "
        f"({finder.texts} texts, {finder.failures} answers cut short)"
    )
    if args.json is not None:
        payload = {name: report_json(report) for name, report in reports.items()}
        payload["model_run"] = {
            "id": model.id,
            "ms_per_text": finder.seconds * 1000 / max(finder.texts, 1),
            "cut_short": finder.failures,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
