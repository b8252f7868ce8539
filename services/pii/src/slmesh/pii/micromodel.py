"""FindPersonalData: finds and redacts personal data, answered by deterministic recognizers.

Deterministic on purpose: personal data must not leave for a model to find it,
and checksums, cue words and a list of given names find it in milliseconds,
the same way every time (docs/pii.md: the recognizers against a local model,
measured).
"""

from __future__ import annotations

from slmesh.pii.routing import ROUTING
from slmesh.pii.scan import PiiReport, PiiRequest, describe, scan
from slmesh.runtime.micromodel import Micromodel


def build() -> Micromodel[PiiRequest, PiiReport]:
    return Micromodel(
        name="pii",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "FindPersonalData: finds and redacts personal data (names, addresses, emails, "
            "phones, IBANs, card numbers, national ids, dates of birth) in English or German text"
        ),
        input_model=PiiRequest,
        output_model=PiiReport,
        handler=scan,
        summarize=describe,
        # Up to ~100 ms for a text of 32,000 characters (measured): too long for the loop.
        blocking=True,
        routing=ROUTING,
    )
