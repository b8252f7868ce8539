"""`slmesh registry`: the micromodels the registry knows, live or gone, and their replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slmesh.runtime.registry import Catalogue, Tool
from slmesh.runtime.settings import MeshSettings


@dataclass(frozen=True)
class ReplicaRow:
    micromodel: str
    version: str
    model: str
    replica: str
    status: str  # live, down (stopped on purpose) or gone (missed its heartbeats)
    heard_s_ago: float


async def read_registry(settings: MeshSettings) -> tuple[dict[str, Tool], datetime]:
    """Every micromodel the registry topic knows now, and the instant it is known up to."""
    catalogue = Catalogue(settings)
    await catalogue.start()
    try:
        return catalogue.everything()
    finally:
        await catalogue.stop()


async def registry_rows(settings: MeshSettings) -> list[ReplicaRow]:
    tools, now = await read_registry(settings)
    rows = []
    for name in sorted(tools):
        tool = tools[name]
        live = set(tool.live_replicas(now))
        for replica, (status, seen, _) in sorted(tool.replicas.items()):
            rows.append(
                ReplicaRow(
                    micromodel=name,
                    version=tool.version,
                    model=tool.model,
                    replica=replica,
                    status="live" if replica in live else ("down" if status == "down" else "gone"),
                    heard_s_ago=max((now - seen).total_seconds(), 0.0),
                )
            )
    return rows


def format_registry(rows: list[ReplicaRow]) -> str:
    if not rows:
        return "no micromodel has announced itself (is the mesh running? `slmesh dev` starts one)"
    lines = ["micromodel      version  replicas  model"]
    for name in sorted({r.micromodel for r in rows}):
        mine = [r for r in rows if r.micromodel == name]
        live = [r for r in mine if r.status == "live"]
        first = mine[0]
        lines.append(f"{name:<15} {first.version:<8} {len(live):>8}  {first.model}")
        for r in mine:
            lines.append(f"    {r.replica:<30} {r.status:<5} heard {r.heard_s_ago:.1f} s ago")
    return "\n".join(lines)
