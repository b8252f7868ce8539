"""How the planner routes a request for fields of a document here, and reads the fields.

Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

ROUTING = Routing(
    kinds=[
        "extract named fields from a document",
        "find a value in a letter, invoice or contract (a date, an amount, a name, an IBAN)",
    ],
    keywords=[
        "extract*",
        "pull",
        "pull out",
        "field*",
        "get the",
        "get me the",
        "dig out",
        "fish out",
        "grab",
        "note down",
        "look up the",
    ],
    # Questions about what a document says: taken only where a text comes with them and
    # no card's keywords match ("What's the sentiment of this review" is the classifier's).
    cues=[
        "the ... out of this",
        "the ... from this",
        "i need the",
        "need the ... from",
        "find the",
        "who is the",
        "who are the",
        "who signed",
        "who sent",
        "who wrote",
        "when does",
        "when is",
        "when was",
        "when did",
        "how much do",
        "how much does",
        "how much is owed",
        "tell me the",
        "what is the",
        "what's the",
        "what are the",
        "what is the ... of this",
        "what is the ... on this",
        "what is the ... in this",
        "what's the ... of this",
        "what's the ... on this",
        "what's the ... in this",
    ],
    arguments={
        "text": ArgumentReading(read="text"),
        "schema": ArgumentReading(
            read="fields",
            after=[
                "extract",
                "pull out",
                "pull",
                "get",
                "dig out",
                "fish out",
                "grab",
                "find",
                "need",
            ],
        ),
    },
    examples=[
        RoutingExample(
            request="Extract the name, amount and due date from this bill: <text>",
            calls=[{"schema": ["name", "amount", "due_date"]}],
        ),
        RoutingExample(
            request="Find the IBAN in this letter: <text>", calls=[{"schema": ["iban"]}]
        ),
        RoutingExample(
            request="Who signed this contract and when does it end? <text>",
            calls=[{"schema": ["signatory", "end_date"]}],
        ),
        RoutingExample(
            request="When is this invoice due? <text>", calls=[{"schema": ["due_date"]}]
        ),
        RoutingExample(
            request="How much do I owe and to whom? <text>",
            calls=[{"schema": ["amount", "creditor"]}],
        ),
    ],
)
