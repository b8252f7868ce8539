"""A micromodel on a remote model, through the real mesh, against a real OpenAI-compatible
server: the summarizer's declaration run as `summarizer-cloud`, its model the stand-in
cloud's (llama.cpp's own server on this machine, slmesh.cli.devstack.stand_in).

The stand-in records what it is sent, and fails calls at run time when a test asks: its
rate limits, slowness and absence are real HTTP behaviour, met by the real service.
It demands an API key, as a cloud does: a call answered proves the key arrived.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from slmesh.cli.devstack import DevStack, ServiceProcess, StandInCloud, free_port
from slmesh.runtime.client import MeshClient
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import CallOutcome, MicromodelAnnounced, RequestCompleted
from tests.support.kit import WAIT_S, TopicTap

CLOUD = "summarizer-cloud"
REPLICA = f"{CLOUD}-1"
KEY = "sk-standin-Vq3Lr8Zp2Xm6Tn9Wk4Hb"
TEXT = (
    "Heavy snow closed the mountain pass on Friday night. Police turned back more than two "
    "hundred trucks, and the road authority expects to reopen one lane by Sunday noon."
)
# The service's remote settings: quick retries; a call's answer within 8 s (the stand-in
# answers a summary in under a second, and in seconds on a busy 2-core machine).
TIMEOUT_S = 8
RETRIES = 2


@pytest.fixture(scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StandInCloud]:
    stand_in = StandInCloud(Path(tmp_path_factory.mktemp("cloud")), api_key=KEY, faults=True)
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture(scope="module")
async def summarizer_cloud(
    stack: DevStack, mesh: MeshClient, cloud: StandInCloud
) -> AsyncIterator[ServiceProcess]:
    service = ServiceProcess(
        REPLICA,
        [sys.executable, "-m", "slmesh.summarizer"],
        {
            **stack.env(),
            **cloud.remote_env(),
            "SLMESH_NAME": CLOUD,
            "SLMESH_REPLICA": REPLICA,
            "SLMESH_HEARTBEAT_S": "1",
            "SLMESH_REMOTE__TIMEOUT_S": str(TIMEOUT_S),
            "SLMESH_REMOTE__RETRIES": str(RETRIES),
            "SLMESH_REMOTE__BACKOFF_S": "0.2",
            "SLMESH_REMOTE__MAX_BACKOFF_S": "1",
            "SLMESH_REMOTE__PRICE_INPUT_PER_MTOK": "0.15",
            "SLMESH_REMOTE__PRICE_OUTPUT_PER_MTOK": "0.6",
            # Every line it writes, at every level, is searched for the key.
            "SLMESH_LOG_LEVEL": "DEBUG",
        },
        ready_pattern=READY_MARKER,
        history=100_000,
    )
    await service.start()
    try:
        await service.wait_ready(60)
        # Callable once every orchestrator replica has read its card: requests spread
        # over the partitions (so over both replicas), all answered.
        for _ in range(100):
            answers = [await summarize(mesh, "Snow closed the pass.", 3) for _ in range(4)]
            if all(a.data.status == "ok" for a in answers):
                break
        else:
            raise AssertionError(f"{CLOUD} never answered: {answers[-1].data}")
        yield service
    finally:
        await service.stop()


async def summarize(
    mesh: MeshClient, text: str, max_words: int, *, timeout_ms: int = 20_000, vat: bool = False
) -> RequestCompleted:
    calls: list[dict[str, Any]] = [
        {"micromodel": CLOUD, "arguments": {"text": text, "max_words": max_words}}
    ]
    if vat:
        calls.append({"micromodel": "vat-rates", "arguments": {"country": "DE"}})
    # Public news: a remote micromodel may receive it by default (an internal request would
    # be routed to the on-premise summarizer instead, tests/integration/test_federated.py).
    return await mesh.ask(
        "summarize this",
        timeout_s=WAIT_S + timeout_ms / 1000,
        timeout_ms=timeout_ms,
        calls=calls,
        classification="public",
    )


def failed_call(response: RequestCompleted) -> CallOutcome:
    """The remote call of a response that also asked vat-rates, which answered."""
    assert response.data.status == "partial", response.data.answer
    remote, vat = response.data.calls
    assert vat.status == "ok"
    assert remote.status == "failed"
    assert remote.error is not None
    return remote


def output_of(service: ServiceProcess) -> str:
    return "\n".join(service.recent_output())


def statuses(cloud: StandInCloud, text: str) -> list[int | None]:
    """What the stand-in answered the calls about `text` (a test's own), in order."""
    return [r["status"] for r in cloud.requests() if text in str(r["body"])]


async def test_a_remote_summarizer_answers_through_the_mesh_with_its_tokens(
    mesh: MeshClient, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    response = await summarize(mesh, TEXT, 12)
    assert response.data.status == "ok", response.data.answer
    [call] = response.data.calls
    assert call.model == cloud.model_id
    # The endpoint's own counts, from its reply's usage.
    assert call.tokens is not None
    assert call.tokens.prompt > 0
    assert call.tokens.completion > 0
    assert call.output is not None
    assert 0 < int(str(call.output["words"])) <= 12
    assert response.data.answer.startswith("Summary: ")

    # What the server got: the prompt's text as one user message, the model's id, the
    # summarizer's budget and stop, and a Bearer key (which it checks).
    [sent] = [r for r in cloud.requests() if TEXT in str(r["body"])]
    assert sent["status"] == 200
    assert sent["authorization"] == "Bearer"
    body = sent["body"]
    assert body["model"] == cloud.model_id
    [message] = body["messages"]
    assert message["role"] == "user"
    assert message["content"].endswith(f"Article: {TEXT}\nHeadline:")
    assert (body["max_tokens"], body["stop"], body["temperature"]) == (24, ["\n"], 0.0)
    # The summarizer ran no model of its own.
    assert "loaded model" not in output_of(summarizer_cloud)


async def test_its_card_says_it_runs_remotely_as_an_alternative_for_the_summarizer(
    settings: MeshSettings, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    registry = TopicTap(settings, settings.registry_topic)
    await registry.start(from_beginning=True)
    try:
        [record] = await registry.wait_for(lambda r: r.key_text == f"{CLOUD}/{REPLICA}")
    finally:
        await registry.stop()
    card = record.event(MicromodelAnnounced).data
    assert (card.name, card.topic, card.model) == (CLOUD, f"slmesh.tasks.{CLOUD}", cloud.model_id)
    assert (card.locality, card.provider) == ("remote", "127.0.0.1")
    # A remote model may receive public data unless its operator says more.
    assert (card.max_classification, card.on_pii, card.serves) == ("public", "local", "summarizer")
    assert card.price is not None
    assert (card.price.input_per_mtok, card.price.output_per_mtok) == (0.15, 0.6)


async def test_a_rate_limit_that_passes_is_retried_and_the_call_answered(
    mesh: MeshClient, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    text = "Rain flooded the road on Sunday."
    said = len(summarizer_cloud.recent_output())
    await cloud.set_faults(status=429, count=2)
    response = await summarize(mesh, text, 6)
    assert response.data.status == "ok", response.data.answer
    assert statuses(cloud, text) == [429, 429, 200]
    retries = [line for line in summarizer_cloud.recent_output()[said:] if "retrying in" in line]
    assert len(retries) == 2, retries
    for attempt, line in enumerate(retries, start=1):
        assert "answered 429 Too Many Requests" in line
        assert f"(attempt {attempt} of {RETRIES + 1}); retrying in" in line


async def test_a_rate_limit_that_lasts_fails_the_call_remote_rate_limited(
    mesh: MeshClient, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    text = "The bridge stays closed."
    await cloud.set_faults(status=429, retry_after=0)
    try:
        response = await summarize(mesh, text, 6, vat=True)
    finally:
        await cloud.clear_faults()
    call = failed_call(response)
    assert call.error is not None
    assert (call.error.code, call.error.retryable) == ("remote_rate_limited", True)
    assert "answered 429 Too Many Requests" in call.error.message
    assert f"({RETRIES + 1} attempts in" in call.error.message
    assert statuses(cloud, text) == [429] * (RETRIES + 1)


async def test_an_endpoint_slower_than_the_timeout_fails_the_call_remote_timeout(
    mesh: MeshClient, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    await cloud.set_faults(delay_ms=(TIMEOUT_S + 3) * 1000)
    try:
        response = await summarize(mesh, "Fog delayed the ferry.", 6, timeout_ms=60_000, vat=True)
    finally:
        await cloud.clear_faults()
    call = failed_call(response)
    assert call.error is not None
    assert (call.error.code, call.error.retryable) == ("remote_timeout", True)
    assert f"did not answer within {TIMEOUT_S} s" in call.error.message


async def test_an_endpoint_that_is_down_fails_the_call_and_is_used_again_once_back(
    mesh: MeshClient, cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    await cloud.stop()
    try:
        response = await summarize(mesh, "Wind toppled a crane.", 6, vat=True)
    finally:
        await cloud.start()
    call = failed_call(response)
    assert call.error is not None
    assert (call.error.code, call.error.retryable) == ("remote_unavailable", True)
    assert "could not connect (Connection refused)" in call.error.message
    # The service kept running; the endpoint back, it answers again.
    assert summarizer_cloud.returncode is None
    response = await summarize(mesh, "Wind toppled a crane.", 6)
    assert response.data.status == "ok", response.data.answer


async def test_the_api_key_reaches_the_server_as_a_bearer_header_and_never_a_log(
    cloud: StandInCloud, summarizer_cloud: ServiceProcess
) -> None:
    sent = cloud.requests()
    assert sent
    # Every call carried it, and none was refused for it (the stand-in checks it).
    assert {r["authorization"] for r in sent} == {"Bearer"}
    assert 401 not in {r["status"] for r in sent}
    log = output_of(summarizer_cloud)
    assert "retrying in" in log  # the lines that could have held it are there
    assert KEY not in log
    assert KEY not in cloud.log_path.read_text()
    assert KEY not in cloud.records.read_text()


async def test_a_service_whose_endpoint_is_down_at_start_starts_and_says_so(
    stack: DevStack, summarizer_cloud: ServiceProcess
) -> None:
    """It starts: the endpoint may come back, and a service that exited would be restarted
    into the same outage. (Last here: for its moments in the group, it shares the tasks.)"""
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    service = ServiceProcess(
        f"{CLOUD}-2",
        [sys.executable, "-m", "slmesh.summarizer"],
        {
            **stack.env(),
            "SLMESH_NAME": CLOUD,
            "SLMESH_REPLICA": f"{CLOUD}-2",
            "SLMESH_REMOTE__BASE_URL": nowhere,
            "SLMESH_REMOTE__MODEL": "gemma-3-270m-q4_k_m",
            "SLMESH_REMOTE__API_KEY": KEY,
        },
        ready_pattern=READY_MARKER,
    )
    await service.start()
    try:
        await service.wait_ready(60)
        line = await service.wait_for_line("endpoint is not usable now", timeout=30)
        assert "could not connect (Connection refused)" in line
        assert service.returncode is None
    finally:
        await service.stop()
    assert KEY not in output_of(service)
