"""What planning tests plan with: the default mesh's micromodels as their real cards show them live,
and a remote model as planning sees it, for unit tests of what the orchestrator does with
a remote planner's answers (its HTTP is tested against a real server in
tests/integration/test_remote_planner.py)."""

from __future__ import annotations

from typing import Any

from slmesh.classifier.micromodel import build as classifier
from slmesh.cleaner.micromodel import build as cleaner
from slmesh.extractor.micromodel import build as extractor
from slmesh.faq.micromodel import build as faq
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.pii.micromodel import build as pii
from slmesh.remediation.micromodel import build as remediation
from slmesh.replier.micromodel import build as replier
from slmesh.rules.micromodel import build as rules
from slmesh.runtime.llm import Generation
from slmesh.summarizer.micromodel import build as summarizer
from slmesh.validator.micromodel import build as validator
from slmesh.vat_rates.micromodel import build as vat_rates


def live_tools() -> dict[str, ToolView]:
    """The micromodels of the default mesh by name, each as its real card shows it live."""
    builds = (
        vat_rates,
        summarizer,
        classifier,
        extractor,
        pii,
        validator,
        faq,
        replier,
        rules,
        cleaner,
        remediation,
    )
    views = [ToolView.of(b()) for b in builds]
    return {view.name: view for view in views}


class PlanningEndpoint:
    """A remote model that answers every plan with `answer` (raises it, if an exception),
    and keeps what it was asked."""

    id = "big-model"
    locality = "remote"
    provider = "cloud.example"
    price = None
    concurrency = 1
    admitted = 1

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def complete_json(
        self, prompt: Any, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        self.asked.append(prompt.text)
        if isinstance(self.answer, Exception):
            raise self.answer
        return Generation(self.answer, 300, 20, 0.01, "stop")
