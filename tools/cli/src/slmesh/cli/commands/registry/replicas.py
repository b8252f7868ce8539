"""`slmesh registry`: the micromodels the registry knows, live or gone, their replicas, the
pipelines orchestrator replicas announce, and the cards refused (read as the orchestrator
reads them: proven, owned, dated, bounded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from slmesh.runtime.registry import AnnouncedPipeline, Catalogue, Refused, Tool
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import MeshParty, mesh_party

# The CLI reads the registry as the operator's identity (SLMESH_IDENTITY overrides it).
OPERATOR = "operator"


@dataclass(frozen=True)
class ReplicaRow:
    micromodel: str
    version: str
    model: str
    replica: str
    status: str  # live, down (stopped on purpose) or gone (missed its heartbeats)
    heard_s_ago: float


@dataclass(frozen=True)
class RefusedRow:
    """A registry key whose last card was refused: never in any orchestrator's catalogue."""

    key: str
    signer: str | None
    reason: str
    heard_s_ago: float


@dataclass(frozen=True)
class PipelineRow:
    """A pipeline some orchestrator replica announced: how many run it, and whether they
    all run the same definition."""

    pipeline: str
    version: str
    steps: str
    live: int
    definitions: int


@dataclass(frozen=True)
class RegistryView:
    replicas: list[ReplicaRow]
    refused: list[RefusedRow]
    pipelines: list[PipelineRow] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    """The registry as read once: micromodels, pipelines, refusals, and when it is known up to."""

    tools: dict[str, Tool]
    pipelines: dict[str, AnnouncedPipeline]
    refused: list[Refused]
    now: datetime


async def read_snapshot(settings: MeshSettings, party: MeshParty | None = None) -> Snapshot:
    """The registry topic read to its end, as `party` believes it (the operator when not
    given: raises TrustUnavailable without its identity)."""
    # Not warned of on stderr: `slmesh registry` lists them, and other commands (`shadow`)
    # print JSON that a warning in between would spoil for whoever reads both streams.
    catalogue = Catalogue(settings, party or mesh_party(settings, OPERATOR), logs=False)
    await catalogue.start()
    try:
        tools, now = catalogue.everything()
        return Snapshot(tools, catalogue.pipelines(live=False), catalogue.refused(), now)
    finally:
        await catalogue.stop()


async def read_everything(
    settings: MeshSettings, party: MeshParty | None = None
) -> tuple[dict[str, Tool], list[Refused], datetime]:
    """Every micromodel the registry topic knows now, the cards it refused, and the instant
    it is known up to."""
    snapshot = await read_snapshot(settings, party)
    return snapshot.tools, snapshot.refused, snapshot.now


async def read_registry(
    settings: MeshSettings, party: MeshParty | None = None
) -> tuple[dict[str, Tool], datetime]:
    """Every micromodel the registry topic admits now, and the instant it is known up to."""
    tools, _, now = await read_everything(settings, party)
    return tools, now


async def registry_view(settings: MeshSettings, party: MeshParty | None = None) -> RegistryView:
    snapshot = await read_snapshot(settings, party)
    tools, refused, now = snapshot.tools, snapshot.refused, snapshot.now
    rows = []
    for name in sorted(tools):
        tool = tools[name]
        live = set(tool.live_replicas(now))
        for replica, (status, seen, _) in sorted(tool.replicas.items()):
            rows.append(
                ReplicaRow(
                    # A version served side by side is kept as name@version: one row each.
                    micromodel=tool.name,
                    version=tool.version,
                    model=tool.model,
                    replica=replica,
                    status="live" if replica in live else ("down" if status == "down" else "gone"),
                    heard_s_ago=max((now - seen).total_seconds(), 0.0),
                )
            )
    refusals = [
        RefusedRow(r.key, r.signer, r.reason, max((now - r.at).total_seconds(), 0.0))
        for r in sorted(refused, key=lambda r: r.key)
    ]
    pipelines = [
        PipelineRow(
            name,
            listed.card.version,
            " -> ".join(f"{s.id}({s.micromodel})" for s in listed.card.steps),
            len(listed.live_replicas(now)),
            len(listed.digests(now)),
        )
        for name, listed in snapshot.pipelines.items()
    ]
    return RegistryView(rows, refusals, pipelines)


def format_registry(
    rows: list[ReplicaRow],
    refused: list[RefusedRow] | None = None,
    pipelines: list[PipelineRow] | None = None,
) -> str:
    lines = []
    if not rows:
        lines.append(
            "no micromodel has announced itself (is the mesh running? `slmesh dev` starts one)"
        )
    else:
        lines.append("micromodel      version  replicas  model")
    for name, version in sorted({(r.micromodel, r.version) for r in rows}):
        mine = [r for r in rows if (r.micromodel, r.version) == (name, version)]
        live = [r for r in mine if r.status == "live"]
        first = mine[0]
        lines.append(f"{name:<15} {version:<8} {len(live):>8}  {first.model}")
        for r in mine:
            lines.append(f"    {r.replica:<30} {r.status:<5} heard {r.heard_s_ago:.1f} s ago")
    if pipelines:
        lines += ["", "pipeline        version  replicas  steps"]
        for p in pipelines:
            split = (
                f"  ({p.definitions} different definitions: a rollout half done?)"
                if p.definitions > 1
                else ""
            )
            lines.append(f"{p.pipeline:<15} {p.version:<8} {p.live:>8}  {p.steps}{split}")
    if refused:
        lines += ["", "refused cards (in no catalogue):"]
        for f in refused:
            by = f"signed by {f.signer}" if f.signer else "not proven"
            lines.append(f"    {f.key:<30} refused {by}, heard {f.heard_s_ago:.1f} s ago")
            lines.append(f"        {f.reason}")
    return "\n".join(lines)
