"""CleanText: a raw text cleaned and normalised, answered by plain code.

Deterministic on purpose: what a text's encoding, markup and boilerplate did to it is
read off its form, the same way every time, and a model downstream (an extractor, a
summarizer) then reads the content rather than the noise around it.
"""

from __future__ import annotations

from slmesh.cleaner.cleaning import Cleaned, CleaningRequest, clean, describe
from slmesh.cleaner.routing import ROUTING
from slmesh.runtime.micromodel import Micromodel


def build() -> Micromodel[CleaningRequest, Cleaned]:
    return Micromodel(
        name="cleaner",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "CleanText: cleans a raw text (an email, a web page): repairs broken encoding, "
            "strips markup, removes signatures, quoted replies, disclaimers and footers, "
            "and collapses whitespace, keeping the content verbatim"
        ),
        input_model=CleaningRequest,
        output_model=Cleaned,
        handler=clean,
        summarize=describe,
        # Up to 50,000 characters through a few linear passes: milliseconds, in a
        # worker thread rather than on the event loop.
        blocking=True,
        routing=ROUTING,
    )
