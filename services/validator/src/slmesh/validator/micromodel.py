"""ValidateFields: extracted fields checked against rules, answered by plain code.

Deterministic on purpose: a checksum, a date on the calendar or a postcode's format
has one right answer, and a team trusts structured data only when every check says
the same thing every time and names what failed.
"""

from __future__ import annotations

from slmesh.runtime.micromodel import Micromodel
from slmesh.validator.checks import Validation, ValidationRequest, describe, validate
from slmesh.validator.routing import ROUTING


def build() -> Micromodel[ValidationRequest, Validation]:
    return Micromodel(
        name="validator",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "ValidateFields: checks already-extracted fields against rules (required, amount, "
            "date, dates in order, IBAN checksum, postcode format, allowed values, currency "
            "code) and names each field that fails and why"
        ),
        input_model=ValidationRequest,
        output_model=Validation,
        handler=validate,
        summarize=describe,
        # At most 64 rules over 64 fields, each a few regular expressions or a mod-97:
        # microseconds, cheaper on the loop than a thread hop.
        blocking=False,
        routing=ROUTING,
    )
