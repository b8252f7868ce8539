"""How the planner routes a request to check extracted fields here.

Its arguments, the fields and the rules, are data no request's words give: a card can
read neither off a clause, so its main caller is a pipeline that feeds it an extractor's
fields with rules of its own (pipelines/). No keyword routes a request here (a bare
noun it checks, "IBAN", is the extractor's or the pii micromodel's; "validate" is a
pipeline's), and no example, whose call could only be empty, draws the planner's model
to it. Carried by the registry card: the orchestrator knows none of it in its code.
"""

from __future__ import annotations

from slmesh.schemas import Routing

ROUTING = Routing(
    kinds=[
        "check extracted fields against rules",
        "validate structured data field by field and name what fails",
    ],
    # No keyword: a request's words give neither its fields nor its rules, and "validate
    # this claim" is a pipeline's (pipelines/), which calls this with both.
)
