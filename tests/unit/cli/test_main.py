"""The `slmesh` parser is built from the commands, and building it stays cheap.

`slmesh --help` and parsing import none of what the commands run with (Kafka
clients, Redis, pydantic, OpenTelemetry, the runtime), and `slmesh ask` none of
the runtime's service side (FastStream, Redis, the telemetry SDK): checked by what
a fresh interpreter has imported, never by timing it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from slmesh.cli import main as cli

# What the commands run with; none of it belongs to parsing arguments.
RUN_TIME_ONLY = (
    "aiokafka",
    "faststream",
    "redis",
    "pydantic",
    "pydantic_settings",
    "opentelemetry",
    "orjson",
    "jsonschema",
    "asyncio",
    "slmesh.runtime",
    "slmesh.schemas",
    "slmesh.cli.devstack",
    "slmesh.cli.records",
)

IMPORTED_BY_PARSING = """
import sys
import slmesh.cli.main
slmesh.cli.main.build_parser().parse_args(["ask", "Luxembourg VAT?"])
print("\\n".join(sorted(sys.modules)))
"""


def _imported(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def _within(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that are one of the packages or inside one."""
    return sorted(
        name
        for name in modules
        for package in packages
        if name == package or name.startswith(f"{package}.")
    )


def test_building_the_parser_imports_nothing_a_command_runs_with() -> None:
    imported = _imported(IMPORTED_BY_PARSING)
    assert _within(imported, RUN_TIME_ONLY) == []
    # The check itself sees the commands: it would not pass for want of importing them.
    assert {f"slmesh.cli.commands.{c.NAME}" for c in cli.COMMANDS} <= imported


# What `slmesh ask` imports to ask: its own modules and the runtime's client side.
IMPORTED_BY_ASKING = """
import sys
import slmesh.cli.main
import slmesh.cli.commands.ask.answer
import slmesh.runtime.service.logs
print("\\n".join(sorted(sys.modules)))
"""


def test_asking_imports_no_service_side_of_the_runtime() -> None:
    imported = _imported(IMPORTED_BY_ASKING)
    # A service's: FastStream's broker, Redis, the telemetry SDK and exporters.
    service_only = ("faststream", "redis", "opentelemetry.sdk", "opentelemetry.exporter")
    assert _within(imported, service_only) == []
    assert {"aiokafka", "slmesh.runtime.client", "slmesh.cli.commands.ask.liveness"} <= imported


def test_every_command_is_parsed_by_its_own_module() -> None:
    names = [c.NAME for c in cli.COMMANDS]
    assert names == [
        "dev",
        "ask",
        "dlq",
        "topics",
        "tail",
        "lag",
        "registry",
        "pipelines",
        "trace",
        "replay",
        "shadow",
        "trust",
        "schemas",
    ]
    args = cli.build_parser().parse_args(["replay", "--topic", "replies", "--dry-run"])
    assert (args.command, args.topic, args.dry_run, args.timeout) == (
        "replay",
        ["replies"],
        True,
        120.0,
    )


def test_the_command_named_is_the_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def run(args: argparse.Namespace) -> int:
        ran.append(args.command)
        return 0

    for command in cli.COMMANDS:
        monkeypatch.setattr(command, "run", run)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["lag"])
    assert exit_.value.code == 0
    assert ran == ["lag"]


def test_help_lists_every_command_and_a_bad_one_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert cli.DESCRIPTION in out
    for command in cli.COMMANDS:
        assert command.NAME in out
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bogus"])
    assert exit_.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "slmesh.cli", "ask", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: slmesh ask")
    assert "no orchestrator is taking requests" in done.stdout
