"""Where the services' output goes: one file per service, for reading after a run."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO


class ServiceLogs:
    """Each service's output to `<directory>/<service>.log`.

    `echo_warnings`: warnings, errors and tracebacks also go to the terminal
    (`slmesh dev`); `verbose`: every line does.
    """

    def __init__(
        self, directory: Path, *, verbose: bool = False, echo_warnings: bool = False
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.verbose = verbose
        self.echo_warnings = echo_warnings
        self._files: dict[str, TextIO] = {}

    def _file(self, service: str) -> TextIO:
        log = self._files.get(service)
        if log is None:
            log = self._files[service] = (self.directory / f"{service}.log").open("a")
        return log

    def __call__(self, service: str, line: str) -> None:
        log = self._file(service)
        log.write(line + "\n")
        log.flush()
        loud = " WARNING " in line or " ERROR " in line or "Traceback" in line
        if self.verbose or (self.echo_warnings and loud):
            print(f"{service} | {line}", flush=True)

    def note(self, service: str, text: str) -> None:
        """A line of the supervisor's own in a service's log (where its runs begin and end)."""
        log = self._file(service)
        log.write(f"[slmesh dev] {text}\n")
        log.flush()

    def close(self) -> None:
        for log in self._files.values():
            log.close()
