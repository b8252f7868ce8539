"""The packaged sentence encoder, run in numpy: the model's own figures, not a stub."""

from __future__ import annotations

import numpy as np

from slmesh.runtime.embedding import packaged_encoder


def test_the_encoder_gives_the_models_published_similarity() -> None:
    # sentence-transformers' own example for all-MiniLM-L6-v2: cosine 0.7553.
    a, b, c = packaged_encoder().encode(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
        ]
    )
    assert abs(float(a @ b) - 0.7553) < 0.002
    assert float(a @ c) < 0.1
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5


def test_a_long_text_is_truncated_not_refused() -> None:
    (vector,) = packaged_encoder().encode(["word " * 2000])
    assert vector.shape == (384,)
