"""A micromodel on a remote model, as the SDK runs it: under which name, how many tasks at
once, and what its card says about where it runs."""

from __future__ import annotations

from typing import Any

import pytest

from slmesh.runtime.llm.remote import RemoteModel, RemoteModelSettings
from slmesh.runtime.micromodel import Micromodel, MicromodelSettings, as_named, build_runner
from slmesh.runtime.micromodel.card import card_of
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import MicromodelAnnouncedData
from slmesh.summarizer.micromodel import build

BASE = "https://api.example.com/v1"


def remote(**settings: Any) -> RemoteModel:
    return RemoteModel(RemoteModelSettings(base_url=BASE, model="gpt-4o-mini", **settings))


def card(micromodel: Micromodel[Any, Any], settings: MeshSettings, model: Any) -> dict[str, Any]:
    """The card as announced: the fields `card_of` gives, checked by the contract."""
    found = card_of(micromodel, settings, model, settings.task_topic(micromodel.name))
    data = {**found, "replica": "r-1", "status": "up", "heartbeat_s": 5.0}
    return MicromodelAnnouncedData.model_validate(data).model_dump(mode="json")


def test_a_declaration_runs_under_another_name_as_an_alternative_for_itself() -> None:
    summarizer = build()
    named = as_named(summarizer, MicromodelSettings(name="summarizer-cloud"))
    assert (named.name, named.serves) == ("summarizer-cloud", "summarizer")
    assert (named.description, named.infer) == (summarizer.description, summarizer.infer)
    # Unnamed, or named as declared: as declared.
    assert as_named(summarizer, MicromodelSettings()) is summarizer
    assert as_named(summarizer, MicromodelSettings(name="summarizer")) is summarizer


def test_a_remote_card_says_where_its_payloads_go_and_what_they_cost() -> None:
    settings = MicromodelSettings(name="summarizer-cloud")
    model = remote(price_input_per_mtok=0.15, price_output_per_mtok=0.6)
    found = card(as_named(build(), settings), settings, model)
    assert found["name"] == "summarizer-cloud"
    assert found["topic"] == "slmesh.tasks.summarizer-cloud"
    assert found["model"] == "gpt-4o-mini"
    assert (found["locality"], found["provider"]) == ("remote", "api.example.com")
    # Public data only, unless its operator says more.
    assert found["max_classification"] == "public"
    assert (found["on_pii"], found["serves"]) == ("local", "summarizer")
    assert found["price"] == {"input_per_mtok": 0.15, "output_per_mtok": 0.6, "currency": "USD"}


def test_an_operator_places_a_micromodel_by_its_settings() -> None:
    settings = MicromodelSettings(
        name="summarizer-cloud",
        serves="summarizer",
        max_classification="internal",
        on_pii="refuse",
    )
    found = card(as_named(build(), settings), settings, remote(provider="openai"))
    assert (found["provider"], found["max_classification"]) == ("openai", "internal")
    assert found["on_pii"] == "refuse"


def test_a_card_without_a_model_or_settings_of_its_own_is_on_premise_and_free() -> None:
    found = card(build(), MeshSettings(), None)
    assert (found["locality"], found["provider"], found["price"]) == ("on-premise", None, None)
    assert (found["max_classification"], found["serves"]) == ("restricted", None)


@pytest.mark.parametrize(("concurrency", "threads"), [(1, 1), (4, 4), (16, 16)])
def test_a_remote_model_is_sent_as_many_tasks_at_once_as_it_has_calls_in_flight(
    concurrency: int, threads: int
) -> None:
    settings = MicromodelSettings(name="summarizer-cloud", replica="t-1")
    runner, consumption = build_runner(
        as_named(build(), settings), settings, remote(concurrency=concurrency)
    )
    assert consumption.max_in_flight == concurrency
    assert runner.worker.threads == threads
    runner.worker.shutdown()


def test_a_card_carries_its_routing_where_it_is_planned_as_its_declaration() -> None:
    summarizer = build()
    assert card(summarizer, MicromodelSettings(), None)["routing"] is not None
    alternative = MicromodelSettings(name="summarizer-cloud")
    assert card(as_named(summarizer, alternative), alternative, None)["routing"] is not None
    # Renamed into a tool of its own: its declaration's keywords are not its own.
    own = MicromodelSettings(name="digest", serves="digest")
    assert card(as_named(summarizer, own), own, None)["routing"] is None
