"""How the planner routes a request for a reply to a customer here.

No keyword: a customer's message is the customer-service pipeline's
(pipelines/customer-service.yaml), which gives this the message with its intent
and sentiment, after the faq had no policy answer. A planner that picks this tool
alone reads the message as the request's text. Carried by the registry card: the
orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing

ROUTING = Routing(
    kinds=["write a short, polite reply to a customer's message"],
    arguments={
        "message": ArgumentReading(read="text"),
        "max_words": ArgumentReading(
            read="number", units=["words", "word"], minimum=10, maximum=120
        ),
    },
)
