"""How the planner routes a request to build a remediation record here: it does not.

Its arguments are advisory pages, each a source and a text, with their summaries: a
request's words give neither the list nor the summaries, and a record built from the
words of one request would be a record of nothing. Its caller is the cve-remediation
pipeline (pipelines/), which summarises each advisory first and then calls this; the
pipeline's own card is the one the planner offers for "build a remediation record".
Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import Routing

ROUTING = Routing(
    kinds=["combine CVE advisories and their summaries into one remediation record"],
    # No keyword and no example: "remediation record for CVE-..." is the pipeline's
    # request, which gives this micromodel what a request's words cannot.
)
