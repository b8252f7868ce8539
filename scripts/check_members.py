"""Install each workspace member alone and import every one of its modules.

`uv sync --all-packages` puts every member's dependencies in one environment,
so a member that imports what it does not declare works there and breaks
where it is installed alone (an image, a pip install). Here each member gets
an environment of its own from the lock file (`uv sync --locked --package`),
without the dev group, and every module of its own package is imported in
it. A library is installed with its extras (its optional modules must import
once they are asked for); an app without any, as it is deployed.

    python scripts/check_members.py [--keep] [--only NAME ...]

Exit status 1 when a member fails to install or a module fails to import.
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Imports every module of a package found under a source directory, one by one,
# and prints each failure; run by the member's own interpreter.
IMPORTER = """
import importlib, pathlib, sys, traceback
src, package = pathlib.Path(sys.argv[1]), sys.argv[2]
base = src / package.replace(".", "/")
failed = 0
names = sorted(
    ".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
    for p in base.rglob("*.py")
)
for name in names:
    if name.endswith(".__main__"):
        continue  # running the app is not importing it
    try:
        importlib.import_module(name)
    except Exception:
        failed += 1
        print(f"  cannot import {name}:")
        print("    " + traceback.format_exc().strip().splitlines()[-1])
print(f"  {len(names) - failed}/{len(names)} modules of {package} import")
sys.exit(1 if failed else 0)
"""


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    package: str
    is_library: bool


def members() -> list[Member]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[Member] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for directory in sorted(glob.glob(str(ROOT / pattern))):
            project_file = Path(directory) / "pyproject.toml"
            if not project_file.exists():
                continue
            project = tomllib.loads(project_file.read_text())
            package = project["tool"]["uv"]["build-backend"]["module-name"]
            # An app is run: it has a __main__ or a console script. A library has neither.
            src = Path(directory) / "src" / package.replace(".", "/")
            is_app = (src / "__main__.py").exists() or "scripts" in project["project"]
            found.append(Member(project["project"]["name"], Path(directory), package, not is_app))
    return found


def check(member: Member, venvs: Path) -> bool:
    env_dir = venvs / member.name
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(env_dir)}
    env.pop("VIRTUAL_ENV", None)
    python = getattr(sys, "_base_executable", sys.executable)
    # The Makefile passes the uv it runs (maybe "python3 -m uv").
    uv = shlex.split(os.environ.get("UV") or shutil.which("uv") or "uv")
    sync = [*uv, "sync", "--locked", "--package", member.name, "--no-dev", "--quiet"]
    # llama-cpp-python is compiled, and uv may not find the wheel it built for the
    # workspace (a source archive revalidated as modified gets a new cache entry):
    # minutes of compiling per member. It is left out; its dependencies are not,
    # and the runtime imports llama_cpp only inside the call that loads a model.
    sync += ["--python", python, "--no-install-package", "llama-cpp-python"]
    if member.is_library:
        sync.append("--all-extras")
    kind = "library, all extras" if member.is_library else "app, no extras"
    print(f"{member.name} ({kind}):", flush=True)
    started = time.perf_counter()
    installed = subprocess.run(sync, cwd=ROOT, env=env, capture_output=True, text=True)
    if installed.returncode != 0:
        print(f"  cannot be installed alone:\n{installed.stderr.strip()}")
        return False
    imported = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", IMPORTER, str(member.path / "src"), member.package],
        cwd=tempfile.gettempdir(),  # not the repository: nothing imports from the checkout
        env={k: v for k, v in env.items() if k != "PYTHONPATH"},
    )
    print(f"  ({time.perf_counter() - started:.1f} s)")
    return imported.returncode == 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the environments")
    parser.add_argument("--only", nargs="*", default=None, help="members to check")
    args = parser.parse_args(argv)
    chosen = [m for m in members() if args.only is None or m.name in args.only]
    venvs = Path(tempfile.mkdtemp(prefix="slmesh-members-"))
    try:
        failures = [m.name for m in chosen if not check(m, venvs)]
    finally:
        if args.keep:
            print(f"environments kept in {venvs}")
        else:
            shutil.rmtree(venvs, ignore_errors=True)
    if failures:
        print(f"FAILED: {', '.join(failures)} (an undeclared dependency, or one that breaks alone)")
        return 1
    print(f"every member installs alone and imports ({len(chosen)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
