"""Finding a model's GGUF file from its source: a path, a package, or a hub id."""

from __future__ import annotations

import fcntl
import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slmesh.runtime.llm.errors import ModelLoadError

logger = logging.getLogger(__name__)


def resolve_model(source: str) -> tuple[Path, str]:
    """The GGUF file a model source names, and the model's id (its file stem)."""
    if source.startswith("package:"):
        path = _from_package(source.removeprefix("package:"))
    elif source.startswith("hf:"):
        path = _from_hub(source.removeprefix("hf:"))
    else:
        path = Path(source.removeprefix("path:")).expanduser()
    if not path.is_file():
        raise ModelLoadError(f"model file {path} does not exist (model source {source!r})")
    return path, path.stem.lower()


def _from_package(module_name: str) -> Path:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(
            f"model package {module_name!r} is not installed; install it with pip or uv "
            f"(e.g. `uv pip install {module_name.replace('_', '-')}`)"
        ) from exc
    # Packages too large for one wheel ship chunks and an `assemble()` that
    # joins them once into a cache file; others ship the .gguf itself.
    assemble = getattr(module, "assemble", None)
    if callable(assemble):
        return _assembled(module_name, assemble)
    files = sorted(Path(module.__file__ or ".").parent.rglob("*.gguf"))
    if not files:
        raise ModelLoadError(f"package {module_name!r} contains no .gguf file")
    return files[0]


def _assembled(module_name: str, assemble: Callable[..., Any]) -> Path:
    """Run a package's `assemble()` once per machine at a time.

    Services start together (a dev stack, a test suite): unguarded, one
    process would hash the file another is still writing and fail on a
    fresh machine. A file left half-written by a killed process is rebuilt.
    """
    lock_dir = Path.home() / ".cache" / "slmesh"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{module_name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                return Path(assemble())
            except FileExistsError:
                logger.warning("model file of %s is damaged; assembling it again", module_name)
                return Path(assemble(overwrite=True))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"model package {module_name!r} cannot assemble: {exc}") from exc
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _from_hub(spec: str) -> Path:
    repo, _, filename = spec.rpartition("/")
    if not repo or not filename.endswith(".gguf"):
        raise ModelLoadError(f"hub model {spec!r} must be hf:<owner>/<repo>/<file>.gguf")
    try:
        hub = importlib.import_module("huggingface_hub")
    except ImportError as exc:
        raise ModelLoadError("hub models need the huggingface-hub package") from exc
    try:
        return Path(hub.hf_hub_download(repo_id=repo, filename=filename))
    except Exception as exc:
        raise ModelLoadError(
            f"cannot fetch {filename} from hub repository {repo}: {exc}. Offline? Use a "
            "file path or a package: model instead"
        ) from exc
