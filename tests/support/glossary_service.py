"""A micromodel the orchestrator has never heard of, routed by its registry card alone:
`python tests/support/glossary_service.py`.

Its card says which words route a request to it ("define", "glossary", "what does ...
mean") and how its one argument is read (each term the request names, by any of its
spellings), with example requests. Nothing of it is in the orchestrator's code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from slmesh.runtime.micromodel import Micromodel, serve
from slmesh.schemas import ArgumentReading, Routing, RoutingExample

Term = Literal["EBITDA", "CHURN", "ARR"]

DEFINITIONS: dict[str, str] = {
    "EBITDA": "earnings before interest, taxes, depreciation and amortization",
    "CHURN": "the share of customers who stop buying in a period",
    "ARR": "annual recurring revenue",
}

ROUTING = Routing(
    kinds=["define a finance term"],
    keywords=["define", "definition*", "glossary", "what does ... mean"],
    arguments={
        "term": ArgumentReading(
            read="each",
            names={
                "EBITDA": ["ebitda"],
                "CHURN": ["churn", "churn rate", "attrition"],
                "ARR": ["arr", "annual recurring revenue"],
            },
        )
    },
    examples=[
        RoutingExample(request="Define EBITDA", calls=[{"term": "EBITDA"}]),
        RoutingExample(
            request="What do churn and ARR mean?", calls=[{"term": "CHURN"}, {"term": "ARR"}]
        ),
    ],
)


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    term: Term = Field(description="The term to define.")


class Definition(BaseModel):
    term: str
    definition: str


def define(lookup: Lookup) -> Definition:
    return Definition(term=lookup.term, definition=DEFINITIONS[lookup.term])


if __name__ == "__main__":
    serve(
        Micromodel(
            name="glossary",
            description="Defines finance terms.",
            input_model=Lookup,
            output_model=Definition,
            handler=define,
            summarize=lambda d: f"{d.term}: {d.definition}",
            routing=ROUTING,
        )
    )
