"""A request to a running mesh, sent once an orchestrator is seen taking requests, and its
response awaited and printed; said at once when nobody will answer (`liveness`)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from slmesh.cli.commands.ask.liveness import (
    BrokerUnreachableError,
    ConsumerWatch,
    NoLiveConsumerError,
    orchestrator_consumption,
)
from slmesh.cli.conventions import (
    INVALID_REQUEST,
    INVALID_SETTINGS,
    NO_BROKER,
    NO_ORCHESTRATOR,
    NO_RESPONSE,
    START_HINT,
)
from slmesh.cli.text import short
from slmesh.runtime.client import DEFAULT_CALLER, MeshClient
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import TrustUnavailable, mesh_party
from slmesh.schemas import CallOutcome, CallRouting, RequestCompleted

# How much of each field of a pipeline's output a printed answer shows.
OUTPUT_CHARS = 200


def request_data(
    text: str,
    classification: str | None,
    request_file: str | None,
    pipeline: str | None = None,
    arguments: str | None = None,
) -> dict[str, Any] | None:
    """The request's data: the text (classification, pipeline and its arguments) given, or
    a JSON file's; None, said on stderr, when the file or the arguments cannot be read."""
    if request_file is None:
        data: dict[str, Any] = {"input": text}
        if classification:
            data["classification"] = classification
        if pipeline:
            data["pipeline"] = pipeline
        if arguments is not None:
            try:
                data["arguments"] = orjson.loads(arguments)
            except orjson.JSONDecodeError as exc:
                print(f"the pipeline's arguments are not JSON: {exc}", file=sys.stderr)
                return None
        return data
    try:
        data = orjson.loads(Path(request_file).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        print(f"cannot read the request {request_file}: {exc}", file=sys.stderr)
        return None
    if not isinstance(data, dict):
        print(f"the request {request_file} is not a JSON object", file=sys.stderr)
        return None
    if classification:
        data["classification"] = classification
    return data


async def ask(settings: MeshSettings, data: dict[str, Any], timeout_s: float, as_json: bool) -> int:
    """Ask as the settings' caller (`data`: the request's, its input among them), and say
    at once when no orchestrator is there to answer (liveness)."""
    loop = asyncio.get_running_loop()
    try:
        party = mesh_party(settings, DEFAULT_CALLER)
    except TrustUnavailable as exc:
        print(f"cannot prove the request: {exc}", file=sys.stderr)
        return INVALID_SETTINGS
    try:
        async with (
            ConsumerWatch(settings, orchestrator_consumption(settings)) as watch,
            MeshClient(settings, party=party) as client,
        ):
            started = loop.time()
            async with asyncio.timeout(timeout_s):
                await watch.until_members()
                try:
                    fields = {name: value for name, value in data.items() if name != "input"}
                    request = client.request(str(data.get("input", "")), **fields)
                except (TypeError, ValidationError) as exc:
                    print(f"not a valid request: {exc}", file=sys.stderr)
                    return INVALID_REQUEST
                future = await client.submit(request)
                response = await watch.guard(future)
            elapsed = (loop.time() - started) * 1000
    except TimeoutError:
        print(f"no response within {timeout_s:.0f} s", file=sys.stderr)
        return NO_RESPONSE
    except NoLiveConsumerError as exc:
        print(f"no orchestrator is taking requests: {exc}. {START_HINT}", file=sys.stderr)
        return NO_ORCHESTRATOR
    except BrokerUnreachableError as exc:
        print(f"{exc}. {START_HINT}", file=sys.stderr)
        return NO_BROKER
    if as_json:
        print(response.model_dump_json(indent=2, exclude_none=True))
    else:
        print(format_response(response, elapsed))
    return 0 if response.data.status != "failed" else 1


def format_response(response: RequestCompleted, round_trip_ms: float | None = None) -> str:
    data = response.data
    took = f" in {round_trip_ms:.1f} ms" if round_trip_ms is not None else ""
    lines = [f"request {response.requestid}: {data.status}{took} (planner: {data.planner})"]
    if data.pipeline is not None:
        lines.append(f"pipeline: {data.pipeline}")
    if data.plan:
        lines.append("plan:")
        lines.extend(f"  {step}" for step in data.plan)
    if data.calls:
        lines.append("calls:")
        width = max(len(_call_name(c)) for c in data.calls)
        for call in data.calls:
            name = _call_name(call).ljust(width)
            if call.status == "missing":
                lines.append(f"  {name}  missing (no reply before the deadline)")
                continue
            if call.error is not None and call.error.code == "step_not_run":
                lines.append(f"  {name}  not run: {call.error.message}")
                continue
            timing = (
                f"{call.latency_ms or 0:.2f} ms in model, {call.elapsed_ms or 0:.1f} ms in mesh"
            )
            model = f", {call.model}" if call.model else ""
            if call.version:
                model += f", version {call.version}"
            if call.tokens is not None:
                model += f", {call.tokens.prompt}+{call.tokens.completion} tokens"
            if call.cost:
                model += f", cost {call.cost:.6f}"
            error = f"  {call.error.code}: {call.error.message}" if call.error else ""
            lines.append(f"  {name}  {call.status:<6} {timing}{model}{error}")
            if call.routing is not None:
                lines.append(f"  {' ' * width}  {where(call.routing)}")
            if call.step is not None and call.output is not None:
                # A chain is read step by step: what each step gave the next.
                given = orjson.dumps(call.output).decode()
                lines.append(f"  {' ' * width}  -> {short(given, OUTPUT_CHARS)}")
    if data.unplaced:
        lines.append("not answered (no live micromodel does this):")
        lines.extend(f"  {part!r}" for part in data.unplaced)
    for role, work in (("planner", data.planning), ("composer", data.composing)):
        if work is not None:
            lines.append(
                f"{role} model: {work.model}, {work.tokens.prompt}+{work.tokens.completion} "
                f"tokens, {work.latency_ms:.1f} ms"
            )
    if data.cost is not None:
        cost = data.cost
        models = ", ".join(f"{model} {spent:.6f}" for model, spent in cost.by_model.items())
        lines.append(
            f"cost: {cost.total:.6f} {cost.currency} ({models or 'no model'}); "
            f"{cost.tokens.prompt}+{cost.tokens.completion} tokens; "
            f"{cost.local_share:.0%} of answered calls on-premise, "
            f"{cost.remote_calls} remote"
        )
    if data.classification is not None:
        lines.append(f"classification: {data.classification}")
    if data.output is not None:
        lines.append("output:")
        lines.extend(
            f"  {name}: {short(value, OUTPUT_CHARS)}" for name, value in data.output.items()
        )
    rounds = f", {data.steps} rounds of calls" if data.steps > 1 else ""
    lines.append(f"answer (composer: {data.composer}{rounds}):")
    lines.extend(f"  {line}" for line in data.answer.splitlines())
    return "\n".join(lines)


def where(routing: CallRouting) -> str:
    """Where a call's data went, in a line: the decision, the place, what was found."""
    place = (
        f"remote at {routing.provider or 'an unnamed provider'}"
        if routing.locality == "remote"
        else "on-premise"
    )
    found = ", ".join(f"{kind} x{n}" for kind, n in sorted(routing.pii.items()))
    line = f"-> {routing.decision}: {place}, as {routing.classification}"
    if routing.decision == "rerouted" or routing.decision in ("refused", "denied"):
        line += f" (asked: {routing.requested})"
    if found:
        line += f"; personal data found: {found}"
    return line


def _call_name(call: CallOutcome) -> str:
    """A call as a line names it: its micromodel and arguments (each cut short), after
    the pipeline step that made it, if one did."""
    arguments: Mapping[str, object] = call.arguments
    named = f"{call.micromodel}({', '.join(f'{k}={short(v)}' for k, v in arguments.items())})"
    return named if call.step is None else f"[{call.step}] {named}"
