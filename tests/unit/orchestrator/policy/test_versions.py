"""Versions side by side: the catalogue keeps each version apart, and a call goes to a
pinned version, else the split's canary share or default, else the plain topic's."""

from __future__ import annotations

from datetime import UTC, datetime

from slmesh.orchestrator.policy.versions import VersionSplit, pick_version, share
from slmesh.runtime.registry.catalogue import Catalogue, version_order
from slmesh.runtime.settings import MeshSettings
from tests.support.proofs import card, card_record, party

LIVE = {"0.1.0": "slmesh.tasks.echo", "0.2.0": "slmesh.tasks.echo.v0.2.0"}


def test_a_pinned_version_wins_over_the_split() -> None:
    split = VersionSplit(default="0.1.0", canary="0.2.0", canary_weight=1.0)
    assert pick_version("r:1", LIVE, pinned="0.1.0", split=split, fallback="0.1.0") == "0.1.0"


def test_a_canary_takes_its_share_and_the_rest_goes_to_the_default() -> None:
    split = VersionSplit(default="0.1.0", canary="0.2.0", canary_weight=0.25)
    picks = [
        pick_version(f"r:{i}", LIVE, pinned=None, split=split, fallback="0.1.0")
        for i in range(2000)
    ]
    canary = picks.count("0.2.0") / len(picks)
    assert 0.2 < canary < 0.3
    # The same call always goes to the same version.
    assert picks == [
        pick_version(f"r:{i}", LIVE, pinned=None, split=split, fallback="0.1.0")
        for i in range(2000)
    ]


def test_a_version_not_live_is_skipped_by_the_split() -> None:
    split = VersionSplit(default="0.3.0", canary="0.4.0", canary_weight=1.0)
    assert pick_version("r:1", LIVE, pinned=None, split=split, fallback="0.1.0") == "0.1.0"


def test_shares_spread_evenly() -> None:
    shares = [share(f"req:{i}") for i in range(1000)]
    assert 0.45 < sum(shares) / len(shares) < 0.55


def test_versions_order_by_their_numbers() -> None:
    assert sorted(["0.10.0", "0.9.1", "0.2.0"], key=version_order) == ["0.2.0", "0.9.1", "0.10.0"]


def test_the_catalogue_keeps_each_version_on_its_own_topic() -> None:
    catalogue = Catalogue(MeshSettings(), party("orchestrator"))
    now = datetime.now(UTC)
    catalogue._apply(card_record(card("echo", "echo-1"), at=now, by="echo"), now)
    second = card("echo", "echo-v2-1", version="0.2.0", topic="slmesh.tasks.echo.v0.2.0")
    catalogue._apply(card_record(second, at=now, by="echo"), now)
    versions = catalogue.versions("echo")
    assert {v: t.topic for v, t in versions.items()} == {
        "0.0.1": "slmesh.tasks.echo",
        "0.2.0": "slmesh.tasks.echo.v0.2.0",
    }
    # The planner sees one echo: the one on the plain topic.
    assert list(catalogue.live()) == ["echo"]
    assert catalogue.live()["echo"].version == "0.0.1"
    # `slmesh registry` sees both.
    assert sorted(catalogue.everything()[0]) == ["echo", "echo@0.2.0"]
