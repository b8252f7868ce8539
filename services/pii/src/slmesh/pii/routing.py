"""How the planner routes a request to find or redact personal data here.

Asked in so many words to redact or find personal data, no model needs to read the
request (nor see the data) to know where it goes. Carried by the registry card: the
orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import ArgumentReading, Routing, RoutingExample

ROUTING = Routing(
    kinds=["redact or anonymise personal data in a text", "find personal data in a text"],
    # Said without a verb the keywords know: taken only where a text comes with it.
    cues=["identifies a person", "identify a person", "identifies anyone", "safe to share"],
    keywords=[
        "redact*",
        "anonymi*",
        "pseudonymi*",
        "personal data",
        "personal information",
        "personal details",
        "personal info",
        "personally identifiable",
        "scrub*",
        "mask*",
        "black out",
        "blank out",
        "de-identif*",
        "deidentif*",
        "pii",
        "gdpr",
        "personenbezogen*",
        "schwärz*",
        "anonymisier*",
    ],
    arguments={"text": ArgumentReading(read="text")},
    examples=[
        RoutingExample(request="Redact the personal data in this email: <text>", calls=[{}]),
        RoutingExample(request="Anonymise this letter: <text>", calls=[{}]),
    ],
)
