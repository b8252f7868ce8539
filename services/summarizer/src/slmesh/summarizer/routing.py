"""How the planner routes a request for a summary here, and reads its length in words.

Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

ROUTING = Routing(
    kinds=[
        "summarize a text",
        "the gist or main points of a text in a few words",
        "what a story, an email or a report is about",
    ],
    keywords=[
        "summar*",
        "tl;dr",
        "tldr",
        "condense*",
        "shorten*",
        "gist",
        "in short",
        "in a nutshell",
        "sum up",
        "sum it up",
        "sum this up",
        "boil ... down",
        "recap*",
        "main points",
        "key points",
        "zusammenfass*",
        "what is this ... about",
        "what's this ... about",
        "what is it about",
        "what ... is about",
        "what ... are about",
        "distil*",
    ],
    # How long the answer is to be, said without a verb the keywords know ("Squish this
    # into a couple of lines"): taken only where a text comes with the clause.
    cues=[
        "couple of lines",
        "few lines",
        "one line",
        "in a sentence",
        "in one sentence",
        "in two sentences",
        "in a paragraph",
        "mainly about",
        "into ... words",
        "in under ... words",
    ],
    arguments={
        "text": ArgumentReading(read="text"),
        "max_words": ArgumentReading(
            read="number", units=["words", "word", "wrds"], minimum=3, maximum=200
        ),
    },
    examples=[
        RoutingExample(request="Summarize the quarterly report: <text>", calls=[{}]),
        RoutingExample(request="Summarise in 10 words: <text>", calls=[{"max_words": 10}]),
        RoutingExample(request="Give me the gist of these meeting notes: <text>", calls=[{}]),
        RoutingExample(request="TL;DR: <text>", calls=[{}]),
    ],
)
