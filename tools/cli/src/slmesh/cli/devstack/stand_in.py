"""A stand-in cloud for the dev stack and the tests: an OpenAI-compatible endpoint on this
machine, so that a remote micromodel is run, and tested, against a real server.

It is llama.cpp's own server (llama-cpp-python's `server` extra) serving the bundled
model, as a child process in its own session on a free local port
(slmesh.cli.devstack.stand_in_server), started like the embedded broker and Redis and
ready once `/v1/models` answers. It records every request it gets (`requests()`), and,
started with `faults=True`, fails calls on purpose at run time (`set_faults`): a
rate limit, a server error and slowness are then HTTP behaviour of a real server, not
a mock's. Stopped, its port stays its own: `start()` again serves the same URL, as an
endpoint that comes back.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from slmesh.cli.devstack.embedded_broker import free_port, port_is_free
from slmesh.cli.devstack.processes import terminate_popen_group, track_process_group
from slmesh.cli.devstack.stand_in_server import API_KEY_ENV, FAULTS_PATH
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.llm import DEFAULT_MODEL, resolve_model

__all__ = ["StandInCloud", "StandInStartError"]

_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.1
SERVER_MODULE = "slmesh.cli.devstack.stand_in_server"


class StandInStartError(RuntimeError):
    """The stand-in server exited, or did not answer its model list, while starting."""


class StandInCloud(Lifecycle):
    """llama.cpp's OpenAI-compatible server on a local port, recording what it is sent."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        model_source: str = DEFAULT_MODEL,
        api_key: str | None = None,
        faults: bool = False,
        # One: llama.cpp's threads spin while they wait for each other, and on a 2-core
        # machine shared with the mesh a second one is taken away as often as not (a plan:
        # 12-16 s on one thread, 115-147 s on two, with one core busy elsewhere).
        threads: int = 1,
        context: int = 2048,
        startup_timeout: float = 120.0,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.model_path, self.model_id = resolve_model(model_source)
        self.api_key = api_key
        self.faults = faults
        self.threads = threads
        self.context = context
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<StandInCloud {self.base_url} pid={self.pid}>"

    @property
    def base_url(self) -> str:
        """What a remote micromodel's SLMESH_REMOTE__BASE_URL is."""
        return f"http://{_HOST}:{self.port}/v1"

    @property
    def records(self) -> Path:
        return self.workdir / f"stand-in-{self.port}.jsonl"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"stand-in-{self.port}.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def remote_env(self, prefix: str = "SLMESH_REMOTE__") -> dict[str, str]:
        """The environment that runs a model on this endpoint: a micromodel's (the default
        prefix), or the orchestrator's planner (`SLMESH_PLANNER_REMOTE__`) or composer's."""
        env = {
            f"{prefix}BASE_URL": self.base_url,
            f"{prefix}MODEL": self.model_id,
            # llama.cpp's server takes a JSON Schema as {type: json_object, schema}.
            f"{prefix}JSON_MODE": "json_object",
        }
        if self.api_key is not None:
            env[f"{prefix}API_KEY"] = self.api_key
        return env

    async def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("the stand-in cloud is already running")
        if not port_is_free(self.port):
            raise StandInStartError(f"cannot start the stand-in cloud: port {self.port} is taken")
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--model",
            str(self.model_path),
            "--alias",
            self.model_id,
            "--port",
            str(self.port),
            "--record",
            str(self.records),
            "--threads",
            str(self.threads),
            "--context",
            str(self.context),
            *(["--faults"] if self.faults else []),
        ]
        # The key in the environment, never in argv (which `ps` shows every user).
        env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        if self.api_key is not None:
            env[API_KEY_ENV] = self.api_key
        self._spawn(argv, env)
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        track_process_group(self._proc.pid)

    async def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                proc = self._proc
                assert proc is not None
                code = proc.poll()
                if code is not None:
                    raise StandInStartError(self._failure(f"exited with code {code}"))
                try:
                    response = await client.get(f"{self.base_url}/models", headers=self._auth())
                except httpx.HTTPError:
                    await asyncio.sleep(_POLL_INTERVAL)
                    continue
                # An answer while our process is gone came from a stranger on the port.
                if response.status_code == 200 and proc.poll() is None:
                    return
                await asyncio.sleep(_POLL_INTERVAL)
        raise StandInStartError(
            self._failure(f"did not answer {self.base_url}/models in {self.startup_timeout:g} s")
        )

    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _failure(self, what: str) -> str:
        try:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            tail = ""
        return f"stand-in cloud on port {self.port} {what}; see {self.log_path}\n{tail}".rstrip()

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            await terminate_popen_group(proc, "stand-in cloud", 5.0)

    async def set_faults(self, **fault: Any) -> None:
        """Fail the next calls as asked: status (with retry_after), delay_ms, count (how
        many calls; unset: until cleared). Only a stand-in started with faults=True."""
        await self._faults("POST", fault)

    async def clear_faults(self) -> None:
        await self._faults("DELETE", None)

    async def _faults(self, method: str, body: dict[str, Any] | None) -> None:
        import httpx

        if not self.faults:
            raise RuntimeError("this stand-in cloud was started without faults")
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.request(
                method, f"http://{_HOST}:{self.port}{FAULTS_PATH}", json=body
            )
            response.raise_for_status()

    def requests(self, path: str = "/v1/chat/completions") -> list[dict[str, Any]]:
        """What the server was sent on `path` and what it answered, oldest first."""
        try:
            lines = self.records.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        found = [orjson.loads(line) for line in lines if line.strip()]
        return [r for r in found if r["path"] == path]


def new_api_key() -> str:
    """A key for a stand-in of the dev stack: any caller on this machine could otherwise
    use its model."""
    return "sk-standin-" + secrets.token_urlsafe(24)
