"""The images' llama.cpp build: what to compile, and a check of what was installed.

    python llama_wheel.py pin --root DIR --out DIR
    python llama_wheel.py check

`pin` reads the workspace's pyproject.toml and uv.lock under --root and writes
two files to --out:

- requirements.txt: llama-cpp-python at the version uv.lock pins, with the
  sha256 of its source archive, for `pip wheel --require-hashes`;
- build.env: the variables `[tool.uv] extra-build-variables` gives its build
  (CMAKE_ARGS: the portable llama.cpp flags; FORCE_CMAKE), as shell
  assignments.

The Dockerfiles' `llama-wheel` stage copies only these two files, so BuildKit
reuses the compiled wheel until the pinned version or the flags change,
whatever else changes in the lock, and the flags have one source: the
pyproject.toml that `uv sync` builds with on a developer's machine.

`check` imports the installed llama_cpp and fails unless, on x86-64, it is the
portable build: AVX2, and none of AVX-512, AVX-VNNI or AMX (what
tests/unit/runtime/llm/test_portable_build.py checks of a developer's install).
Standard library only: it runs in the image stages before anything else is
installed.
"""

from __future__ import annotations

import argparse
import platform
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

PACKAGE = "llama-cpp-python"
# Features beyond the portable baseline; tests/unit/runtime/llm/test_portable_build.py
# refuses the same ones in a developer's install (it reads this list).
NOT_PORTABLE = (
    "AVX512",
    "AVX512_VBMI",
    "AVX512_VNNI",
    "AVX512_BF16",
    "AVX_VNNI",
    "AMX_INT8",
    "AMX_BF16",
)


def build_variables(pyproject: dict[str, Any]) -> dict[str, str]:
    """The environment uv gives llama-cpp-python's build ([tool.uv] extra-build-variables)."""
    variables = pyproject["tool"]["uv"]["extra-build-variables"][PACKAGE]
    if "CMAKE_ARGS" not in variables:
        raise SystemExit(f"pyproject.toml gives {PACKAGE} no CMAKE_ARGS")
    return {str(name): str(value) for name, value in variables.items()}


def locked_sdist(lock: dict[str, Any]) -> tuple[str, str]:
    """(version, sha256 of the source archive) of llama-cpp-python in uv.lock."""
    found = [p for p in lock["package"] if p["name"] == PACKAGE]
    if len(found) != 1:
        raise SystemExit(f"uv.lock holds {len(found)} versions of {PACKAGE}, not one")
    package = found[0]
    algorithm, _, digest = package["sdist"]["hash"].partition(":")
    if algorithm != "sha256" or not digest:
        raise SystemExit(f"uv.lock gives {PACKAGE}'s source archive no sha256")
    return str(package["version"]), digest


def pin(root: Path, out: Path) -> None:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    lock = tomllib.loads((root / "uv.lock").read_text())
    version, digest = locked_sdist(lock)
    out.mkdir(parents=True, exist_ok=True)
    (out / "requirements.txt").write_text(f"{PACKAGE}=={version} --hash=sha256:{digest}\n")
    env = "".join(
        f"{name}={shlex.quote(value)}\n" for name, value in build_variables(pyproject).items()
    )
    (out / "build.env").write_text(env)


def check() -> None:
    import llama_cpp  # type: ignore[import-not-found,unused-ignore]

    text = llama_cpp.llama_print_system_info().decode()
    info = dict(re.findall(r"(\w+) = (\w+)", text))
    if platform.machine().lower() not in ("x86_64", "amd64"):
        print(f"llama.cpp build for {platform.machine()}: {text.strip()}")
        return
    extra = [name for name in NOT_PORTABLE if info.get(name) == "1"]
    if info.get("AVX2") != "1" or extra:
        raise SystemExit(f"not the portable llama.cpp build (AVX2 only): {text.strip()}")
    print(f"portable llama.cpp build: {text.strip()}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pinning = commands.add_parser("pin", help="write requirements.txt and build.env")
    pinning.add_argument("--root", type=Path, default=Path("."))
    pinning.add_argument("--out", type=Path, required=True)
    commands.add_parser("check", help="fail unless llama_cpp is the portable build")
    args = parser.parse_args(argv)
    if args.command == "pin":
        pin(args.root, args.out)
    else:
        check()


if __name__ == "__main__":
    main(sys.argv[1:])
