"""The run's document and the JSON pointers into it (RFC 6901): pure functions.

The document of a pipeline run is what its steps may read:
{"input": the pipeline's arguments, "steps": {id: output of each answered step},
"item": the list item a mapped step is called for, "index": its position}.
A pointer that finds nothing is said in words, never guessed.
"""

from __future__ import annotations

from typing import Any

import orjson

from slmesh.schemas.pipelines import PLACEHOLDER


class NotFound(Exception):
    """A pointer with no value in the document; its message says where it stopped."""


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer` in `document`; raises NotFound."""
    value = document
    walked = ""
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                raise NotFound(_missing(pointer, walked, token, value))
            value = value[token]
        elif isinstance(value, list):
            if not token.isdigit() or int(token) >= len(value):
                raise NotFound(f"{pointer}: {walked or '/'} has {len(value)} item(s), no {token}")
            value = value[int(token)]
        else:
            raise NotFound(f"{pointer}: {walked or '/'} is a {type(value).__name__}, not an object")
        walked += "/" + raw
    return value


def _missing(pointer: str, walked: str, token: str, value: dict[str, Any]) -> str:
    if walked == "/steps":
        return f"{pointer}: step {token!r} gave no output"
    keys = ", ".join(sorted(value)[:12]) or "none"
    return f"{pointer}: {walked or '/'} has no {token!r} (it has: {keys})"


def render(template: str, document: Any) -> str:
    """A template with each {/pointer} replaced by its value (text as it is, the rest as
    JSON); raises NotFound for the first placeholder with no value. A null is no value:
    "the answer: null" is never an answer, and the next template is tried (a faq that
    found no answer says so with a null)."""

    def value(match: Any) -> str:
        found = resolve(document, match.group(1))
        if found is None:
            raise NotFound(f"{match.group(1)} is null")
        return found if isinstance(found, str) else orjson.dumps(found).decode()

    return PLACEHOLDER.sub(value, template)
