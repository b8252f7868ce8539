"""The mesh overhead benchmark (`make bench`, `make bench-guard`), one concern per module.

`bench/mesh_overhead.py` is its entry, and the relay program's:
`python -m bench.mesh_overhead [--quick] ...` and `python -m bench.mesh_overhead relay
front|echo ...` (its docstring says what is measured and why).

    plan        what is measured: the requests, the targets, the plan, the results
    relay       the raw aiokafka relays, processes of their own: the baseline's hops
    raw_client  the benchmark's end of the raw hops, as MeshClient is the mesh's
    asks        one request of a kind on a side; sent one by one, or many in flight
    steps       warm-up, latency (alternating), throughput with CPU, the second look
    run         the stack: the mesh as `slmesh dev` runs it, the relays beside it
    report      the printed report and the JSON
    guard       CI's guard: the single call's mesh/raw ratio against `--max-ratio`
"""
