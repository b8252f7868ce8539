"""Where a micromodel runs and the data it may receive, as its card announces them.

The enterprise's first question is where its data goes: every card says
whether its micromodel runs on-premise or at a remote provider, the highest
data classification it may receive, what the orchestrator does when a
payload bound for it carries personal data, and what its tokens cost. The
orchestrator routes each call by these (orchestrator `policy`).

Classifications are ordered: public < internal < confidential < restricted.
A micromodel admits a payload whose classification is at most its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from slmesh.schemas import Classification, Locality, MicromodelAnnouncedData, PiiAction

CLASSIFICATIONS: tuple[Classification, ...] = ("public", "internal", "confidential", "restricted")


def rank(classification: Classification) -> int:
    """Position in the order public < internal < confidential < restricted."""
    return CLASSIFICATIONS.index(classification)


def highest(*classifications: Classification) -> Classification:
    """The highest of `classifications` (public when none)."""
    return max(classifications, key=rank, default="public")


@dataclass(frozen=True)
class Price:
    """What a model's tokens cost, per million, in `currency`."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    currency: str = "USD"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1_000_000


@dataclass(frozen=True)
class Placement:
    """Where a micromodel runs, what it may receive, and its price (None: free)."""

    locality: Locality = "on-premise"
    provider: str | None = None
    max_classification: Classification = "restricted"
    on_pii: PiiAction = "local"
    price: Price | None = None

    @property
    def remote(self) -> bool:
        return self.locality == "remote"

    def admits(self, classification: Classification) -> bool:
        """Whether a payload of `classification` may be sent to it."""
        return rank(classification) <= rank(self.max_classification)

    def describe(self) -> str:
        """Its place in words, for an error or a log line: never a secret, never data."""
        where = "on-premise"
        if self.remote:
            where = f"remote at {self.provider or 'an unnamed provider'}"
        return f"{where}, may receive up to {self.max_classification}"

    @classmethod
    def of(cls, card: MicromodelAnnouncedData) -> Placement:
        """The placement a card announces."""
        price = card.price
        return cls(
            locality=card.locality,
            provider=card.provider,
            max_classification=card.max_classification,
            on_pii=card.on_pii,
            price=(
                Price(price.input_per_mtok, price.output_per_mtok, price.currency)
                if price is not None
                else None
            ),
        )


# A card that says nothing of its place: an on-premise micromodel of an earlier version.
ON_PREMISE = Placement()
