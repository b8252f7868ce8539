"""A micromodel's announced output schema, compiled, and the outputs checked against it.

The orchestrator checks every reply's output against the schema its
micromodel announced before the output can reach an answer: a micromodel
whose key leaked, or a buggy one, must not put what it likes into a
response. A check costs about a hundred microseconds and a fan-out of 27
calls checks 27 outputs, mostly the same ones again (a deterministic
micromodel's): an answer is remembered, within a budget in bytes (`memo`), for
as long as the schema stays the same.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson

from slmesh.runtime.registry.memo import MEMO_BYTES, CheckMemo

# Outputs whose answer is remembered are at most this long as JSON (a model's long text
# seldom repeats).
MEMO_KEY_BYTES = 2048
# How many schema errors an answer names.
SHOWN_ERRORS = 5


class OutputCheck:
    """One announced output schema, compiled once, with the answers it gave."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        # A JSON round trip: the validator must see JSON types alone, as outputs have.
        self._validator = jsonschema.Draft202012Validator(orjson.loads(orjson.dumps(schema)))
        self._checked = CheckMemo(MEMO_BYTES, MEMO_KEY_BYTES)

    def is_for(self, schema: dict[str, Any]) -> bool:
        """Whether this check is of `schema`. The catalogue makes a new dict at every
        announcement: an equal one is adopted, so the next reply compares identity alone."""
        if schema is self.schema:
            return True
        if schema != self.schema:
            return False
        self.schema = schema
        return True

    def problem(self, output: Any) -> str | None:
        """Why `output` fails the schema, if it does."""
        try:
            key = orjson.dumps(output, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not JSON: never remembered
            return self._problem(output)
        if not self._checked.keeps(key):
            return self._problem(output)
        found, problem = self._checked.get(key)
        if not found:
            problem = self._problem(output)
            self._checked.put(key, problem)
        return problem

    def _problem(self, output: Any) -> str | None:
        errors = sorted(self._validator.iter_errors(output), key=lambda e: list(map(str, e.path)))
        if not errors:
            return None
        return "; ".join(
            f"{'.'.join(map(str, e.path)) or '(output)'}: {e.message[:200]}"
            for e in errors[:SHOWN_ERRORS]
        )
