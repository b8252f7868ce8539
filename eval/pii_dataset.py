"""Labelled texts for the PII finder: the JSONL format, and the markup a developer writes.

A labelled file holds one JSON object per line:

    {"id": "en-001", "language": "en", "text": "...",
     "entities": [{"kind": "email", "start": 10, "end": 27, "text": "..."}]}

Writing offsets by hand is error-prone, so the development set is written as
markup (`eval/pii/dev.txt`), each text under a header line `=== <id> <language>`
and each entity as `[[kind:value]]`, and turned into JSONL by

    uv run python -m eval.pii_dataset eval/pii/dev.txt eval/pii/dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from slmesh.runtime.pii import PiiKind

_HEADER = re.compile(r"^=== (\S+) (en|de)$", re.MULTILINE)
_ENTITY = re.compile(r"\[\[(\w+):(.*?)\]\]", re.DOTALL)


@dataclass(frozen=True)
class Entity:
    kind: PiiKind
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    id: str
    language: str
    text: str
    entities: tuple[Entity, ...]


class DatasetError(ValueError):
    """A labelled file that cannot be read; the message names the line, never the text."""


def _kind(value: Any, where: str) -> PiiKind:
    if value not in get_args(PiiKind):
        raise DatasetError(f"{where}: unknown kind {value!r}")
    kind: PiiKind = value
    return kind


def load(path: Path) -> list[Example]:
    """A labelled JSONL file; offsets are checked against the text (and its `text` fields)."""
    examples: list[Example] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
            text = raw["text"]
            entities = []
            for item in raw["entities"]:
                start, end = int(item["start"]), int(item["end"])
                if not 0 <= start < end <= len(text):
                    raise DatasetError(f"{where}: entity offsets [{start}, {end}) out of range")
                if "text" in item and text[start:end] != item["text"]:
                    raise DatasetError(f"{where}: entity [{start}, {end}) does not match its text")
                entities.append(Entity(_kind(item["kind"], where), start, end))
            examples.append(Example(str(raw["id"]), str(raw["language"]), text, tuple(entities)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, DatasetError):
                raise
            raise DatasetError(f"{where}: not a labelled example ({type(exc).__name__})") from exc
    return examples


def parse_markup(source: str) -> list[Example]:
    """Examples from markup: `=== id language` headers, `[[kind:value]]` entities."""
    headers = list(_HEADER.finditer(source))
    examples = []
    for n, header in enumerate(headers):
        body_end = headers[n + 1].start() if n + 1 < len(headers) else len(source)
        body = source[header.end() + 1 : body_end].strip("\n")
        text_parts: list[str] = []
        entities: list[Entity] = []
        at = length = 0
        for match in _ENTITY.finditer(body):
            text_parts.append(body[at : match.start()])
            length += match.start() - at
            value = match.group(2)
            entities.append(
                Entity(_kind(match.group(1), header.group(1)), length, length + len(value))
            )
            text_parts.append(value)
            length += len(value)
            at = match.end()
        text_parts.append(body[at:])
        examples.append(
            Example(header.group(1), header.group(2), "".join(text_parts), tuple(entities))
        )
    return examples


def dumps(example: Example) -> str:
    return json.dumps(
        {
            "id": example.id,
            "language": example.language,
            "text": example.text,
            "entities": [
                {
                    "kind": e.kind,
                    "start": e.start,
                    "end": e.end,
                    "text": example.text[e.start : e.end],
                }
                for e in example.entities
            ],
        },
        ensure_ascii=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Markup (=== id lang, [[kind:value]]) to JSONL.")
    parser.add_argument("markup", type=Path)
    parser.add_argument("jsonl", type=Path)
    args = parser.parse_args(argv)
    examples = parse_markup(args.markup.read_text("utf-8"))
    ids = [e.id for e in examples]
    if len(set(ids)) != len(ids):
        print("duplicate ids in the markup", file=sys.stderr)
        return 2
    args.jsonl.write_text("".join(dumps(e) + "\n" for e in examples), "utf-8")
    print(f"{len(examples)} examples, {sum(len(e.entities) for e in examples)} entities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
