"""How the planner routes a request to check a record against rules here.

Its argument, the record, is data no request's words give: its main caller is a pipeline
that feeds it an extractor's fields (pipelines/claims-validation.yaml). No keyword routes
a request here: "validate this claim" is that pipeline's, which reads the claim first.
Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import Routing

ROUTING = Routing(
    kinds=[
        "check a record's fields against a versioned ruleset",
        "accept or reject structured data under business rules, naming each failed rule",
    ],
)
