"""Pipelines in the registry: an orchestrator replica's card for each pipeline it runs is
admitted only from an orchestrator, under its own key, dated and bounded; the catalogue
lists them with their replicas and tells two definitions under one name apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord

from slmesh.orchestrator.pipelines import definition_digest, load_pipeline, pipeline_card
from slmesh.runtime.registry import Catalogue
from slmesh.runtime.registry.admission import (
    MAX_DESCRIPTION_CHARS,
    Heard,
    HeardPipeline,
    Refused,
    pipeline_key,
    vet,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import PipelineAnnounced, encode
from tests.support.proofs import card, card_key, party, proven

TOPIC = "slmesh.registry"
NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
PIPELINES = Path(__file__).parents[4] / "pipelines"


def pipeline_event(
    replica: str = "orchestrator-1", *, time: datetime = NOW, **fields: Any
) -> PipelineAnnounced:
    """The card an orchestrator replica announces for the repository's bill-to-data."""
    loaded = load_pipeline(PIPELINES / "bill-to-data.yaml")
    event = PipelineAnnounced.create(
        data={
            **pipeline_card(loaded),
            "replica": replica,
            "status": "up",
            "heartbeat_s": 1.0,
            **fields,
        },
        source="slmesh://tests",
        request_id="registry",
    )
    return event.model_copy(update={"time": time})


def record(value: bytes, key: str, headers: list[tuple[str, bytes]], at: datetime = NOW) -> Any:
    return ConsumerRecord(
        topic=TOPIC,
        partition=0,
        offset=0,
        timestamp=int(at.timestamp() * 1000),
        timestamp_type=1,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=headers,
    )


def signed(event: PipelineAnnounced, *, by: str, key: str | None = None) -> Any:
    key = key or pipeline_key(event.data.name, event.data.replica)
    value = encode(event)
    return record(value, key, proven(by, TOPIC, key, value, to=None), at=event.time)


def verdict(rec: Any) -> Heard | HeardPipeline | Refused | None:
    return vet(rec, party("operator"), received=NOW, max_event_bytes=256 * 1024)


def refusal(rec: Any) -> str:
    found = verdict(rec)
    assert isinstance(found, Refused), found
    return found.reason


def test_a_pipeline_card_an_orchestrator_signed_is_heard() -> None:
    heard = verdict(signed(pipeline_event(), by="orchestrator"))
    assert isinstance(heard, HeardPipeline)
    assert heard.key == "pipeline:bill-to-data/orchestrator-1"
    data = heard.card.data
    assert [(s.id, s.micromodel) for s in data.steps] == [
        ("extract", "extractor"),
        ("check", "validator"),
    ]
    # What a caller needs to call it without its file: arguments and output.
    assert data.input_schema["required"] == ["text"]
    properties = data.output_schema["properties"]
    assert isinstance(properties, dict)
    assert set(properties) == {"fields", "normalised", "valid", "problems"}


def test_a_pipeline_card_signed_by_a_micromodel_is_refused() -> None:
    """A micromodel runs no pipeline: its identity cannot put one in the planner's tools."""
    reason = refusal(signed(pipeline_event(), by="extractor"))
    assert "'extractor', a micromodel: only an orchestrator runs one" in reason


def test_a_pipeline_card_signed_by_a_caller_is_refused() -> None:
    assert "'dev' is a caller" in refusal(signed(pipeline_event(), by="dev"))


def test_a_micromodel_card_signed_by_an_orchestrator_is_refused() -> None:
    """The orchestrator may write the registry now, for its pipelines only: it cannot
    announce a micromodel and draw the calls meant for it."""
    event = card("vat-rates", "rogue-1", time=NOW)
    key, value = card_key(event), encode(event)
    rec = record(value, key, proven("orchestrator", TOPIC, key, value, to=None))
    assert "only a micromodel announces itself" in refusal(rec)


def test_a_pipeline_card_under_another_key_is_refused() -> None:
    """Under a micromodel's key it would compact that micromodel's card away."""
    rec = signed(pipeline_event(), by="orchestrator", key="extractor/orchestrator-1")
    assert "its key is not the card's own pipeline:<name>/<replica>" in refusal(rec)


def test_an_old_pipeline_card_produced_again_is_refused() -> None:
    event = pipeline_event(time=NOW - timedelta(hours=1))
    value = encode(event)
    key = pipeline_key(event.data.name, event.data.replica)
    rec = record(value, key, proven("orchestrator", TOPIC, key, value, to=None), at=NOW)
    assert "an old card produced again" in refusal(rec)


def test_an_overlong_pipeline_description_is_refused() -> None:
    event = pipeline_event(description="x" * (MAX_DESCRIPTION_CHARS + 1))
    assert "characters long" in refusal(signed(event, by="orchestrator"))


def test_the_digest_is_the_definitions_own() -> None:
    one = load_pipeline(PIPELINES / "bill-to-data.yaml")
    again = load_pipeline(PIPELINES / "bill-to-data.yaml")
    other = load_pipeline(PIPELINES / "support-triage.yaml")
    assert definition_digest(one) == definition_digest(again)
    assert definition_digest(one) != definition_digest(other)
    edited = one.model_copy(update={"description": "Reads a bill."})
    assert definition_digest(edited) != definition_digest(one)


def test_the_catalogue_lists_pipelines_with_their_replicas_and_definitions() -> None:
    catalogue = Catalogue(MeshSettings(), party("operator"), logs=False)
    now = datetime.now(UTC)
    first = pipeline_event("orchestrator-1", time=now)
    second = pipeline_event("orchestrator-2", time=now, digest="0" * 64)
    for event in (first, second):
        catalogue._apply(signed(event, by="orchestrator"), now)
    listed = catalogue.pipelines()
    assert list(listed) == ["bill-to-data"]
    assert sorted(listed["bill-to-data"].live_replicas(now)) == ["orchestrator-1", "orchestrator-2"]
    # Two replicas, two files under one name: shown, not hidden.
    assert len(listed["bill-to-data"].digests(now)) == 2
    # A micromodel's list is not a pipeline's: no tool named after the pipeline.
    assert "bill-to-data" not in catalogue.live()
    down = pipeline_event("orchestrator-2", time=now, status="down", digest="0" * 64)
    catalogue._apply(signed(down, by="orchestrator"), now)
    assert catalogue.pipelines()["bill-to-data"].live_replicas(now) == ["orchestrator-1"]
