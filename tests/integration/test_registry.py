"""The live registry: the orchestrator's tool list follows micromodels as they come and go."""

from __future__ import annotations

import asyncio
import sys

from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, ServiceProcess
from slmesh.runtime.client import MeshClient
from slmesh.runtime.registry import Catalogue
from slmesh.runtime.service import READY_MARKER
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted
from tests.support.kit import ECHO_SERVICE, WAIT_S
from tests.support.proofs import party


async def ask_echo(mesh: MeshClient, timeout_ms: int = 10_000) -> RequestCompleted:
    return await mesh.ask(
        "echo",
        timeout_s=WAIT_S,
        timeout_ms=timeout_ms,
        calls=[{"micromodel": "echo", "arguments": {"text": "hello"}}],
    )


async def until_echo(mesh: MeshClient, wanted: str, within_s: float) -> RequestCompleted:
    """Ask until the answer is `wanted` (a status, or an error code); the test polls only
    the mesh, the orchestrator follows the registry by itself."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        # Short budgets: while a dead replica still looks alive, calls go unanswered.
        response = await ask_echo(mesh, timeout_ms=1500)
        error = response.data.error.code if response.data.error else None
        if wanted in (response.data.status, error) or loop.time() > deadline:
            return response
        await asyncio.sleep(0.3)


async def test_every_started_micromodel_is_in_the_registry_with_its_schemas(
    settings: MeshSettings,
) -> None:
    # Read as the operator: every card proven by its micromodel's owner.
    async with Catalogue(settings, party("operator")) as catalogue:
        live = catalogue.live()
    assert set(DEFAULT_MICROMODELS) <= set(live)
    vat = live["vat-rates"]
    assert "GetAllTaxRatesByCountry" in vat.description
    country = vat.input_schema["properties"]["country"]
    assert "DE" in str(country)
    assert vat.model == "deterministic"
    assert live["summarizer"].model == "gemma-3-270m-q4_k_m"


async def test_arguments_are_checked_against_the_schema_before_publishing(
    mesh: MeshClient,
) -> None:
    response = await mesh.ask(
        "bad arguments",
        timeout_s=WAIT_S,
        calls=[{"micromodel": "vat-rates", "arguments": {"country": "DE", "city": "Berlin"}}],
    )
    call = response.data.calls[0]
    assert call.status == "failed"
    assert call.error is not None
    assert call.error.code == "invalid_arguments"
    assert "city" in call.error.message
    # Refused by the orchestrator: no micromodel time was spent on it.
    assert call.latency_ms == 0.0


async def test_a_micromodel_started_later_becomes_callable_and_disappears_when_gone(
    stack: DevStack, mesh: MeshClient
) -> None:
    before = await ask_echo(mesh)
    assert before.data.status == "failed"
    assert before.data.error is not None
    assert before.data.error.code == "unknown_micromodel"

    # Not one of the stack's services: the stack must not count its death as a crash.
    echo = ServiceProcess(
        "echo-1",
        [sys.executable, ECHO_SERVICE],
        {**stack.env(), "SLMESH_REPLICA": "echo-1", "SLMESH_HEARTBEAT_S": "1"},
        ready_pattern=READY_MARKER,
    )
    await echo.start()
    await echo.wait_ready(60)
    try:
        answered = await until_echo(mesh, "ok", within_s=10)
        assert answered.data.status == "ok", answered.data.answer
        assert answered.data.calls[0].output == {"text": "HELLO"}
    finally:
        # SIGKILL: no goodbye, so only the missed heartbeats can tell.
        echo.kill()
        await echo.wait(timeout=10)

    # Three missed heartbeats of one second each, and the grace for a busy machine.
    gone = await until_echo(mesh, "unknown_micromodel", within_s=25)
    assert gone.data.error is not None
    assert gone.data.error.code == "unknown_micromodel"
    assert "echo (gone: last heard of at" in gone.data.error.message
    assert READY_MARKER in "\n".join(echo.recent_output())
