"""AnswerFaq: a customer's question answered from the shop's policy file, by plain code.

Deterministic on purpose: a policy answer has to be the operator's exact words,
the same every time, and instant; a message that is no policy question (a
complaint, praise, chit-chat) is said to have no match, for a model to reply to.
"""

from __future__ import annotations

from slmesh.faq.matcher import FaqAnswer, FaqMatcher, FaqQuestion, describe
from slmesh.faq.policy import Policy, configured_policy
from slmesh.faq.routing import ROUTING
from slmesh.runtime.micromodel import Micromodel


def build(policy: Policy | None = None) -> Micromodel[FaqQuestion, FaqAnswer]:
    """The micromodel over `policy`, else the one SLMESH_FAQ_POLICY names (read now, once),
    else the packaged one; raises PolicyFileError for a file that does not load."""
    matcher = FaqMatcher(policy if policy is not None else configured_policy())
    return Micromodel(
        name="faq",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "AnswerFaq: answers a customer's general question about the shop's policies "
            "(refunds, returns, shipping, order tracking, payment methods, cancellation, "
            "warranty, contact, account access, price match) from its policy file, or says "
            "it has no answer"
        ),
        input_model=FaqQuestion,
        output_model=FaqAnswer,
        handler=matcher.answer,
        summarize=describe,
        # A few set lookups over a message of at most 2000 characters: microseconds,
        # cheaper on the loop than a thread hop.
        blocking=False,
        routing=ROUTING,
    )
