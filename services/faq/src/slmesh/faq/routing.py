"""How the planner routes a customer's policy question here.

No keyword: a customer's message is the customer-service pipeline's
(pipelines/customer-service.yaml), which asks this first and has a model reply
to what it cannot answer. A planner that picks this tool alone reads the question
as the request's text. Carried by the registry card: the orchestrator knows none
of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing

ROUTING = Routing(
    kinds=[
        "answer a customer's question about the shop's policies from the policy file",
    ],
    arguments={"question": ArgumentReading(read="text")},
)
