"""The local model backend, with real llama.cpp inference on the default model."""

from __future__ import annotations

import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from slmesh.runtime.llm import (
    DEFAULT_MODEL,
    ContextOverflowError,
    LocalModel,
    ModelLoadError,
    ModelSession,
    ModelSettings,
    resolve_model,
)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load(ModelSettings(context=512))


def test_default_model_comes_from_its_python_package() -> None:
    path, model_id = resolve_model(DEFAULT_MODEL)
    assert path.is_file()
    assert path.suffix == ".gguf"
    assert model_id == "gemma-3-270m-q4_k_m"


class ChunkedModelPackage(types.ModuleType):
    """A model package whose `assemble()` joins chunks into a cache file, like the default's.

    Like the real one it fails on a file that exists with the wrong content,
    unless asked to overwrite it.
    """

    CONTENT = b"GGUF" + b"x" * 4096

    def __init__(self, target: Path) -> None:
        super().__init__("chunked_model_pkg")
        self.target = target
        self.writers = 0
        self.most_writers = 0

    def assemble(self, overwrite: bool = False) -> Path:
        if self.target.exists() and not overwrite:
            if self.target.read_bytes() != self.CONTENT:
                raise FileExistsError(f"{self.target} already exists with an unexpected sha256")
            return self.target
        self.writers += 1
        self.most_writers = max(self.most_writers, self.writers)
        with self.target.open("wb") as out:
            for i in range(0, len(self.CONTENT), 1024):
                out.write(self.CONTENT[i : i + 1024])
                out.flush()
                time.sleep(0.01)
        self.writers -= 1
        return self.target


def test_services_starting_together_assemble_the_model_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh machine: four services resolve the chunked model at once; all get it whole."""
    monkeypatch.setenv("HOME", str(tmp_path))
    package = ChunkedModelPackage(tmp_path / "model.gguf")
    monkeypatch.setitem(sys.modules, package.__name__, package)
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: resolve_model("package:chunked_model_pkg"), range(4)))
    assert package.most_writers == 1
    assert {p for p, _ in paths} == {package.target}
    assert package.target.read_bytes() == package.CONTENT


def test_a_half_written_model_file_is_assembled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed while assembling left a truncated file: the next start rebuilds it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    package = ChunkedModelPackage(tmp_path / "model.gguf")
    package.target.write_bytes(package.CONTENT[:100])
    monkeypatch.setitem(sys.modules, package.__name__, package)
    path, _ = resolve_model("package:chunked_model_pkg")
    assert path.read_bytes() == package.CONTENT


def test_missing_model_file_is_a_clear_load_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelLoadError, match=r"nope\.gguf does not exist"):
        LocalModel.load(ModelSettings(source=str(missing)))


def test_missing_model_package_names_the_package() -> None:
    with pytest.raises(ModelLoadError, match="'no_such_model_pkg' is not installed"):
        resolve_model("package:no_such_model_pkg")


def test_hub_model_without_network_or_hub_client_fails_clearly() -> None:
    with pytest.raises(ModelLoadError, match="hub"):
        resolve_model("hf:someone/some-model/model.gguf")


def test_a_file_that_is_not_a_model_does_not_load(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(ModelLoadError, match="could not load"):
        LocalModel.load(ModelSettings(source=str(fake)))


@pytest.mark.model
def test_completion_counts_tokens_and_is_repeatable(model: LocalModel) -> None:
    prompt = "The capital of France is"
    first = model.complete(prompt, max_tokens=8)
    second = model.complete(prompt, max_tokens=8)
    assert first.text == second.text
    assert first.text.strip()
    assert first.prompt_tokens == model.count_tokens(prompt)
    assert 0 < first.completion_tokens <= 8


@pytest.mark.model
def test_prompt_that_overflows_the_context_is_refused_before_inference(
    model: LocalModel,
) -> None:
    long_prompt = "word " * 600
    with pytest.raises(ContextOverflowError, match="exceeds the model's context of 512"):
        model.complete(long_prompt, max_tokens=16)


@pytest.mark.model
def test_grammar_constrained_json_is_valid_and_usage_is_recorded(model: LocalModel) -> None:
    session = ModelSession(model)
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": ["billing", "delivery", "other"]}},
        "required": ["label"],
        "additionalProperties": False,
    }
    answer = session.complete_json(
        "Complaint: my parcel never arrived.\nJSON with the label of the complaint:",
        schema,
        max_tokens=20,
    )
    assert set(answer) == {"label"}
    assert answer["label"] in {"billing", "delivery", "other"}
    assert session.usage.completions == 1
    assert session.usage.prompt_tokens > 0
    assert session.usage.completion_tokens > 0
