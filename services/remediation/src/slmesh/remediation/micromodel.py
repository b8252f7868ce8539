"""BuildRemediationRecord: advisories about one CVE made one record, by plain code.

Deterministic on purpose: a record a team patches by must say only what its sources
say, the same way every time, and name where they disagree. The summaries a local
model writes of each advisory (the cve-remediation pipeline's map step) are carried
into the record for the reader, never read for its facts.
"""

from __future__ import annotations

from slmesh.remediation.combine import describe, remediate
from slmesh.remediation.record import RemediationRecord, RemediationRequest
from slmesh.remediation.routing import ROUTING
from slmesh.runtime.micromodel import Micromodel


def build() -> Micromodel[RemediationRequest, RemediationRecord]:
    return Micromodel(
        name="remediation",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "BuildRemediationRecord: combines several advisories about one CVE (source and "
            "text, with their summaries) into one record: CVE id, product, affected and "
            "fixed versions, severity, actions, sources, and notes where they disagree"
        ),
        input_model=RemediationRequest,
        output_model=RemediationRecord,
        handler=remediate,
        summarize=describe,
        # Up to 8 texts of 20,000 characters through a few dozen patterns: milliseconds,
        # worth the worker thread rather than the event loop.
        blocking=True,
        routing=ROUTING,
    )
