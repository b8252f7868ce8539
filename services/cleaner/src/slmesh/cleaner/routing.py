"""How the planner routes a request to clean a text here.

Only words that ask for the cleaning itself route here ("fix the encoding", "strip the
HTML"). "Clean up this text" asks, most of the time, for what the text then says: the
unstructured-insight pipeline (pipelines/) owns those words, and runs this first.
Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

ROUTING = Routing(
    kinds=[
        "repair broken encoding (mojibake) in a text",
        "strip markup and email boilerplate from a text",
    ],
    keywords=[
        "mojibake",
        "fix the encoding",
        "fix its encoding",
        "repair the encoding",
        "broken encoding",
        "garbled characters",
        "strip the html",
        "strip the markup",
        "strip html",
        "remove the html",
        "remove the boilerplate",
        "strip the boilerplate",
        "normalise the whitespace",
        "normalize the whitespace",
    ],
    arguments={"text": ArgumentReading(read="text")},
    examples=[
        RoutingExample(request="Fix the encoding of this text: <text>", calls=[{}]),
        RoutingExample(
            request="Strip the HTML and boilerplate from this email: <text>", calls=[{}]
        ),
    ],
)
