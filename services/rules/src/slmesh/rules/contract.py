"""What the rules micromodel is asked and answers: a record and a ruleset's name and
version in; a verdict, each rule that failed and why, the rules that passed, and the
record in canonical form out."""

from __future__ import annotations

import json
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

# Bounds of a request: a claim is a dozen short fields, so these are far above any real
# one and far below what a check of every rule over them would notice.
MAX_FIELDS: Final = 64
MAX_NAME_CHARS: Final = 64
MAX_RECORD_JSON_CHARS: Final = 16_000
RULESET_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,62}$"
VERSION_PATTERN: Final = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$"
DEFAULT_RULESET: Final = "card-disputes"

FieldName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[^\n\r]+$")]


class RulesRequest(BaseModel):
    """Request of CheckRules: a record, and the ruleset (and version) to check it under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record: dict[FieldName, JsonValue] = Field(
        max_length=MAX_FIELDS,
        description="The fields to check, by name (an extractor's `data`); values may be "
        "null, text or numbers.",
        examples=[
            {
                "merchant": "Bella Pizza",
                "transaction_date": "3 March 2026",
                "claim_date": "2026-03-20",
                "amount": "€1.234,50",
                "currency": "eur",
                "card_last4": "4821",
                "reason": "fraud",
            }
        ],
    )
    ruleset: str = Field(
        default=DEFAULT_RULESET,
        pattern=RULESET_PATTERN,
        description="The ruleset to check the record under.",
        examples=[DEFAULT_RULESET],
    )
    version: str | None = Field(
        default=None,
        pattern=VERSION_PATTERN,
        description="The ruleset's version; null: its current version.",
        examples=["1"],
    )

    @field_validator("record")
    @classmethod
    def _bounded(cls, record: dict[str, JsonValue]) -> dict[str, JsonValue]:
        # Values are carried into the answer: bound them all, nested ones too.
        size = len(json.dumps(record, ensure_ascii=False))
        if size > MAX_RECORD_JSON_CHARS:
            raise ValueError(
                f"the record is {size} characters as JSON (at most {MAX_RECORD_JSON_CHARS})"
            )
        return record


class Failure(BaseModel):
    """A rule a field failed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="The rule's id.", examples=["R7"])
    field: str = Field(description="The field that failed it.", examples=["claim_date"])
    reason: str = Field(
        description="What failed, then the rule's own reason.",
        examples=[
            "claim_date is 131 days after transaction_date (at most 120): a claim must be "
            "filed at most 120 days after the transaction"
        ],
    )
    derived_from: str = Field(
        description="The rejection reason code of the past rejected claims the rule was "
        "derived from.",
        examples=["filed_late"],
    )


class RulesVerdict(BaseModel):
    """Response of CheckRules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Literal["accept", "reject"] = Field(description="accept: no rule failed.")
    ruleset: str = Field(examples=[DEFAULT_RULESET])
    version: str = Field(description="The version the record was checked under.", examples=["1"])
    failed: list[Failure] = Field(
        description="Each rule a field failed, in rule order (a rule of several fields once "
        "per field that failed it)."
    )
    passed: list[str] = Field(
        description="The ids of the rules every field passed. A rule whose fields are all "
        "missing is in neither list: the rule that requires them names them.",
        examples=[["R1", "R2", "R3"]],
    )
    normalised: dict[str, JsonValue] = Field(
        description="The record as the rules read it: amounts as numbers, dates as "
        "yyyy-mm-dd, codes upper-cased, allowed values as the ruleset spells them, text "
        "trimmed; a missing value is null.",
        examples=[{"amount": 1234.5, "transaction_date": "2026-03-03", "currency": "EUR"}],
    )
