"""One `slmesh dev` session: the mesh started and shown, each death, restart or surrender
of a service said on the terminal, everything stopped on Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from slmesh.cli.commands.ask.answer import ask, request_data
from slmesh.cli.conventions import (
    CLOUD_MICROMODELS,
    CLOUD_SETTINGS,
    INVALID_REQUEST,
    SAMPLE_REQUEST,
)
from slmesh.cli.devstack import (
    SERVICE_RESTARTS,
    DevStack,
    DevStackConfig,
    ServiceAbandoned,
    ServiceDied,
    ServiceLogs,
    ServiceRestarted,
    SupervisionEvent,
)


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
            print_status(self.stack)
        elif isinstance(event, ServiceDied):
            print(f"(full log: {self.logs.directory / event.service}.log)", flush=True)


async def run_session(args: argparse.Namespace) -> int:
    logs = ServiceLogs(Path(args.workdir) / "logs", verbose=args.verbose, echo_warnings=True)
    notices = DeathNotices(logs)
    config = DevStackConfig(
        sink=logs,
        broker_port=args.port,
        orchestrator_replicas=args.orchestrators,
        micromodel_replicas=args.replicas,
        cloud_micromodels=dict(CLOUD_MICROMODELS) if args.cloud else {},
        micromodel_env=dict(CLOUD_SETTINGS) if args.cloud else {},
        cloud_planner=args.cloud_planner,
        own_redis=args.own_redis,
        workdir=Path(args.workdir),
        pipelines_dir=Path(args.pipelines) if args.pipelines else None,
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
        print_status(stack)
        code = 0
        if args.ask or args.request:
            data = request_data(
                args.ask or "", args.classification, args.request, args.pipeline, args.arguments
            )
            if data is None:
                return INVALID_REQUEST
            print(f"\nask: {data.get('input')}", flush=True)
            code = await ask(stack.settings(), data, args.timeout, as_json=False)
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


def print_status(stack: DevStack) -> None:
    rows = stack.status()
    width = max(len(r[0]) for r in rows)
    print("mesh state:")
    for part, state, detail in rows:
        print(f"  {part.ljust(width)}  {state:<10} {detail}")
    sys.stdout.flush()
