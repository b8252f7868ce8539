"""Mesh overhead: requests through the mesh vs a raw aiokafka ping-pong with the same hops.

Measured against a baseline in the same run, as a ratio.

The mesh runs as `slmesh dev` runs it: every default micromodel (vat-rates, summarizer,
classifier, extractor), one replica each, one orchestrator, the default environment
(planner "slm" with its local model, composer "template"). The measured requests are the
ones the deterministic vat-rates micromodel answers, so the figures are the mesh's own
cost on a request that needs no model, with every other service up and idle beside it.

Mesh path (4 produce/consume hops, orchestrator and vat-rates as their own processes):

    client -> slmesh.requests -> orchestrator -> slmesh.tasks.vat-rates -> vat-rates
           -> slmesh.replies -> orchestrator -> slmesh.responses.dev -> client

Raw path (the same 4 hops, plain aiokafka relays as their own processes, fresh topics with
the mesh's partition count, the same broker-profile client kwargs; `overhead/relay.py`):

    client -> t1 -> relay "front" -> t2 -> relay "echo" -> t3 -> relay "front" (gather)
           -> t4 -> client

The front relay plays the orchestrator: one process consuming both the requests and the
replies, fanning one request out to n tasks and answering once all n replies are in. It
keeps that count in memory (that is what "raw" means); the mesh keeps it in Redis.

Both sets of processes are up for the whole run and the mesh and raw requests alternate
one by one, so both see the same idle consumers polling the same broker, and the same
load from anything else on the machine.

    uv run python -m bench.mesh_overhead [--quick] [--requests N] [--json PATH]
                                         [--max-ratio X] [--fail-on-miss]

`--max-ratio X` makes it a guard: exit status 3 when the single call's mesh/raw p50
exceeds X (a ratio of one run, so a slower or busier machine does not trip it), and
again when measured a second time with the same stack (see `overhead/guard.py`).

The same module is the relay program: `python -m bench.mesh_overhead relay front|echo ...`.
This module is only the entry, of both; the benchmark is the `bench.overhead` package,
one concern per module (its `__init__` lists them).
"""

from __future__ import annotations

import json
import sys

from bench.measure import machine_context, run_in_workdir
from bench.overhead.guard import GUARD_EXIT, guard
from bench.overhead.plan import Results, parse_plan
from bench.overhead.relay import relay_main
from bench.overhead.report import report, to_json
from bench.overhead.run import bench


def main(argv: list[str]) -> int:
    if argv[:1] == ["relay"]:
        relay_main(argv[1:])
        return 0
    plan, args = parse_plan(argv)
    results = Results(context=machine_context())
    code = run_in_workdir(
        "slmesh mesh overhead benchmark",
        "slmesh-bench-",
        lambda workdir: bench(plan, results, workdir),
        keep=args.keep_workdir,
    )
    if code is not None:
        return code
    missed = report(plan, results)
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(plan, results, missed), indent=2) + "\n")
    if args.max_ratio is not None and not guard(results, args.max_ratio):
        return GUARD_EXIT
    return 1 if missed and args.fail_on_miss else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
