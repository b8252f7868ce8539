"""The live cards' words nearest in meaning to a clause no card's words placed.

A sentence encoder (`slmesh.runtime.embedding`) embeds each card's examples,
kinds and description once, and the clause when it reaches the model. Two uses:
- the routing prompt's shots become the examples nearest the clause (the most
  similar last, just before the clause), instead of a fixed round of each card's
  first ones;
- each tool gets an affinity, the best similarity of the clause to that card's
  texts, which the router adds to the model's calibrated scores.
Card text is embedded, never followed: it only moves numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from slmesh.orchestrator.planning.cards import instruction_of, rules_of
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.runtime.embedding import SentenceEncoder, Vectors

# Embeddings kept per text; cards are bounded by the contract, clauses are not.
CACHE_TEXTS = 4096


@dataclass(frozen=True)
class Neighbour:
    request: str
    tool: str
    similarity: float


class NearestExamples:
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self._vectors: dict[str, Vectors] = {}

    def _embed(self, texts: list[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            if len(self._vectors) + len(missing) > CACHE_TEXTS:
                self._vectors.clear()
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._vectors[text] = vector
        return np.stack([self._vectors[t] for t in texts])

    def _card_texts(self, tools: Mapping[str, ToolView]) -> list[tuple[str, str, bool]]:
        """(text, tool, is an example request) for every live card."""
        out: list[tuple[str, str, bool]] = []
        for name in sorted(tools):
            tool = tools[name]
            if tool.description:
                out.append((tool.description, name, False))
            rules = rules_of(tool)
            if rules is None:
                continue
            out += [(kind, name, False) for kind in rules.routing.kinds]
            out += [(instruction_of(e.request), name, True) for e in rules.routing.examples]
        return out

    def neighbours(self, clause: str, tools: Mapping[str, ToolView]) -> list[Neighbour]:
        """The card examples, most similar to the clause first."""
        texts = [(t, n) for t, n, example in self._card_texts(tools) if example]
        if not texts:
            return []
        sims = self._embed([t for t, _ in texts]) @ self._embed([clause])[0]
        order = np.argsort(-sims, kind="stable")
        return [Neighbour(texts[i][0], texts[i][1], float(sims[i])) for i in order]

    def affinity(self, clause: str, tools: Mapping[str, ToolView]) -> dict[str, float]:
        """Each live tool's best similarity to the clause over its card's texts."""
        texts = self._card_texts(tools)
        best = dict.fromkeys(tools, 0.0)
        if not texts:
            return best
        sims = self._embed([t for t, _, _ in texts]) @ self._embed([clause])[0]
        for (_, name, _), sim in zip(texts, sims, strict=True):
            best[name] = max(best[name], float(sim))
        return best
