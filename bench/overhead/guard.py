"""CI's guard (`make bench-guard`): the single call's mesh/raw p50 against `--max-ratio`.

A ratio of one run, both sides alternating request by request, so a slow or busy
CI machine moves both and does not trip it; only the mesh getting several times
slower than the same hops without it does. A first ratio over the limit is
measured again with the same stack (`steps.confirm_single`): both must exceed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.stats import Latencies, ratio

if TYPE_CHECKING:
    from bench.overhead.plan import Results

# Exit status of a run whose single-call mesh/raw p50 exceeds `--max-ratio`: distinct from
# a crash (1), so CI's log says which it was.
GUARD_EXIT = 3


def single_ratio(latency: dict[tuple[str, str], Latencies]) -> float:
    return ratio(latency["mesh", "single"].p50, latency["raw", "single"].p50)


def guard(results: Results, max_ratio: float) -> bool:
    """Whether the single call's mesh/raw p50 is within `max_ratio`; says so either way."""
    ratios = [single_ratio(results.latency)]
    if results.confirm:
        ratios.append(single_ratio(results.confirm))
    ok = any(r <= max_ratio for r in ratios)  # NaN (no raw figure) is never within
    mesh, raw = results.latency["mesh", "single"].p50, results.latency["raw", "single"].p50
    again = f", measured again {ratios[1]:.2f}x" if len(ratios) > 1 else ""
    print(
        f"guard: single-call mesh/raw p50 {mesh:.1f}/{raw:.1f} ms = {ratios[0]:.2f}x{again}, "
        f"limit {max_ratio:g}x: "
        + ("ok" if ok else f"FAILED (exit {GUARD_EXIT}): the mesh's overhead grew grossly"),
        flush=True,
    )
    return ok
