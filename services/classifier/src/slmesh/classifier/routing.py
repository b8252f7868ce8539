"""How the planner routes a request to classify, label or tag a text here, and reads the
labels to choose from (the ones the request lists, else those its words imply).

Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

SENTIMENT = ["positive", "negative", "neutral"]
URGENCY = ["urgent", "normal", "low"]
DEPARTMENTS = ["sales", "support", "billing", "it", "hr", "legal"]
TOPICS = ["question", "complaint", "request", "praise", "other"]

ROUTING = Routing(
    kinds=[
        "classify a text into given labels",
        "which team or department should handle a message",
        "whether a review is positive or negative",
        "how urgent a ticket is",
        "tag or label a message",
    ],
    keywords=[
        "classif*",
        "categori*",
        "category",
        "label*",
        "tag",
        "tag it",
        "tag this",
        "sentiment",
        "intent",
        "tone",
        "mood",
        "urgen*",
        "priorit*",
        "which department",
        "which team",
        "what department",
        "what team",
        "route this",
        "route it",
        "spam",
        "rate this",
        "sort ... into",
        "belong* to",
        "is this ... or",
        "is it ... or",
        "whether ... or",
        "kategorisier*",
    ],
    arguments={
        "text": ArgumentReading(read="text"),
        "labels": ArgumentReading(
            read="choices",
            presets={
                "sentiment": SENTIMENT,
                "tone": SENTIMENT,
                "mood": SENTIMENT,
                "urgen*": URGENCY,
                "priorit*": URGENCY,
                "spam": ["spam", "not spam"],
                "department": DEPARTMENTS,
                "team": DEPARTMENTS,
                "tag*": TOPICS,
                "topic": TOPICS,
                "kind of message": TOPICS,
                "type of message": TOPICS,
            },
        ),
    },
    examples=[
        RoutingExample(
            request="Classify this as billing, delivery or technical: <text>",
            calls=[{"labels": ["billing", "delivery", "technical"]}],
        ),
        RoutingExample(
            request="Which team should handle this email, sales or support? <text>",
            calls=[{"labels": ["sales", "support"]}],
        ),
        RoutingExample(
            request="What is the mood of this email: <text>",
            calls=[{"labels": SENTIMENT}],
        ),
        RoutingExample(
            request="Is this a refund request or a delivery question? <text>",
            calls=[{"labels": ["refund request", "delivery question"]}],
        ),
    ],
)
