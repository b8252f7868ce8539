"""One loaded GGUF model, run by llama.cpp: the only module that loads numpy and llama_cpp.

Inference is blocking and releases the GIL: callers run it in the worker
thread (concurrency.Worker), so Kafka heartbeats keep running, and one
context runs one completion at a time (llama-cpp-python #1529).

Prompts reach llama.cpp as tokens, never as text: a control token comes only
from the template's own text, never from text that came from outside
(`tokenize`, and slmesh.runtime.llm.prompt for why).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from slmesh.runtime.llm.errors import ContextOverflowError, ModelLoadError
from slmesh.runtime.llm.grammar import grammar_for
from slmesh.runtime.llm.prompt import Prompt, as_prompt
from slmesh.runtime.llm.settings import ModelSettings
from slmesh.runtime.llm.source import resolve_model
from slmesh.runtime.llm.usage import Generation

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

    from slmesh.schemas import Locality, ModelPrice

logger = logging.getLogger(__name__)

# llama.cpp's token attribute of control tokens (llama_token_attr: LLAMA_TOKEN_ATTR_CONTROL).
CONTROL = 1 << 3
# Template texts whose control tokens are remembered; a service has a handful.
_TEMPLATES_KEPT = 1024
# A piece of a prompt: text, or a control token of the template (its id).
Piece = str | int


class LocalModel:
    """One loaded GGUF model. `complete` blocks: call it from the worker thread."""

    def __init__(self, llama: Llama, model_id: str, settings: ModelSettings) -> None:
        self._llama = llama
        self.id = model_id
        self.settings = settings
        # A second caller would corrupt the context; the worker already runs
        # one completion at a time, this makes it true for any caller.
        self._lock = threading.Lock()
        # The BOS token, where the model wants one: what llama.cpp puts first.
        self._bos = llama.tokenize(b"", add_bos=True, special=False)
        self._template_pieces: dict[str, tuple[Piece, ...]] = {}

    # Where it runs and what it costs, for the card (slmesh.runtime.llm.kind.Model).
    @property
    def locality(self) -> Locality:
        return "on-premise"

    @property
    def provider(self) -> str | None:
        return None

    @property
    def price(self) -> ModelPrice | None:
        return self.settings.price

    @property
    def concurrency(self) -> int:
        # One context, one completion at a time (llama-cpp-python #1529).
        return 1

    @property
    def admitted(self) -> int:
        return self.settings.queue

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

    def tokenize(self, prompt: Prompt | str) -> list[int]:
        """The prompt's tokens, BOS first, with control tokens only where the template
        has their text; untrusted text, whatever it holds, is tokenized as text.

        Text is tokenized in runs that span segments, up to the template's next control
        token: cut at every segment, "Article: " and "Heavy" would be tokenized apart
        (":", " ", "Heavy") where the model learnt them together (":", " Heavy").
        So a prompt whose untrusted text holds no control-token form gets exactly the
        tokens llama.cpp makes of its whole text with special tokens parsed, as it did
        when prompts were strings.
        """
        tokens = list(self._bos)
        run: list[str] = []
        for segment in as_prompt(prompt).segments:
            pieces = self._template(segment.text) if segment.trusted else (segment.text,)
            for piece in pieces:
                if isinstance(piece, str):
                    run.append(piece)
                    continue
                tokens += self._text_tokens("".join(run))
                tokens.append(piece)
                run = []
        return tokens + self._text_tokens("".join(run))

    def _text_tokens(self, text: str) -> list[int]:
        if not text:
            return []
        return self._llama.tokenize(text.encode(), add_bos=False, special=False)

    def _template(self, text: str) -> tuple[Piece, ...]:
        """A template text cut at its control tokens, as llama.cpp parses them.

        Remembered per text: templates are constants, so only the first prompt
        of each pays a second tokenization.
        """
        pieces = self._template_pieces.get(text)
        if pieces is not None:
            return pieces
        vocabulary = self._llama._model
        found = self._llama.tokenize(text.encode(), add_bos=False, special=True)
        # A control token's text in the vocabulary is the form llama.cpp matched.
        controls = {
            vocabulary.token_get_text(token): token
            for token in found
            if vocabulary.token_get_attr(token) & CONTROL
        }
        if not controls:
            pieces = (text,)
        else:
            # Longest first, as llama.cpp matches them.
            forms = sorted(controls, key=len, reverse=True)
            cut = re.split(f"({'|'.join(map(re.escape, forms))})", text)
            pieces = tuple(controls.get(part, part) for part in cut if part)
        if len(self._template_pieces) >= _TEMPLATES_KEPT:
            self._template_pieces.clear()
        self._template_pieces[text] = pieces
        return pieces

    def count_tokens(self, prompt: Prompt | str) -> int:
        return len(self.tokenize(prompt))

    def complete(
        self,
        prompt: Prompt | str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Generation:
        budget = max_tokens or self.settings.max_tokens
        tokens = self.tokenize(prompt)
        if len(tokens) + budget > self.settings.context:
            raise ContextOverflowError(
                f"the prompt is {len(tokens)} tokens; with {budget} for the answer it "
                f"exceeds the model's context of {self.settings.context} tokens"
            )
        started = time.perf_counter()
        with self._lock:
            # Tokens, not text: given a string, llama-cpp-python would tokenize it with
            # special tokens parsed, whoever wrote it. Given tokens, it adds no BOS.
            result: Any = self._llama.create_completion(
                tokens,
                max_tokens=budget,
                temperature=self.settings.temperature,
                seed=self.settings.seed,
                grammar=grammar,
                stop=stop or [],
            )
        choice = result["choices"][0]
        return Generation(
            text=choice["text"],
            prompt_tokens=int(result["usage"]["prompt_tokens"]),
            completion_tokens=int(result["usage"]["completion_tokens"]),
            seconds=time.perf_counter() - started,
            finish_reason=str(choice.get("finish_reason") or ""),
        )

    def complete_json(
        self, prompt: Prompt | str, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        """A completion held by a grammar to JSON valid against `schema`."""
        return self.complete(prompt, max_tokens=max_tokens, grammar=grammar_for(schema))

    def score_options(self, prompt: Prompt | str, options: list[str]) -> list[float]:
        """Log-likelihood of each option as the continuation of `prompt`.

        Choosing by likelihood instead of free generation: a small model that
        cannot be trusted to write the right word can still rank the given
        ones. The prompt is evaluated once; each option reuses its KV cache.
        Options are text (labels, tool names: untrusted).
        """
        prompt_tokens = self.tokenize(prompt)
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
