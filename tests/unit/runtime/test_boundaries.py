"""What a service loads: a deterministic micromodel never loads the model backend."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "llama_cpp")


def loaded_after(code: str) -> set[str]:
    """The heavy modules in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(filter(None, out.split(",")))


def test_a_deterministic_micromodel_loads_neither_numpy_nor_llama_cpp() -> None:
    code = (
        "from slmesh.vat_rates.micromodel import build\nbuild()\nimport slmesh.runtime.micromodel"
    )
    assert loaded_after(code) == set()


def test_the_llm_package_loads_its_backend_only_when_a_model_is_asked_for() -> None:
    assert (
        loaded_after("import slmesh.runtime.llm\nfrom slmesh.runtime.llm import ModelSession")
        == set()
    )
    assert "numpy" in loaded_after("from slmesh.runtime.llm import LocalModel")


def test_a_remote_model_loads_neither_numpy_nor_llama_cpp() -> None:
    code = (
        "from slmesh.runtime.llm.remote import RemoteModel, RemoteModelSettings\n"
        "RemoteModel(RemoteModelSettings(base_url='http://127.0.0.1:9/v1', model='m'))\n"
        "import slmesh.runtime.micromodel"
    )
    assert loaded_after(code) == set()


def test_a_micromodels_settings_load_no_http_client() -> None:
    """Every micromodel's settings name the remote model's; only a remote one loads httpx."""
    probe = (
        "import sys\nfrom slmesh.runtime.micromodel import MicromodelSettings\n"
        "MicromodelSettings()\nprint('httpx' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"
