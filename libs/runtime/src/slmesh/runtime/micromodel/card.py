"""A micromodel's registry card: its declaration, and where this service runs it.

Beyond what the declaration says (name, description, schemas), the card says what the
orchestrator routes a payload by: where the model runs (on-premise, or a remote
provider's endpoint), the highest data classification it may receive, what to do with
personal data bound for it, the tool it is an alternative for, and what its tokens
cost. A remote model may receive public data unless its operator says more
(SLMESH_MAX_CLASSIFICATION): a payload leaves the premises only where someone chose so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slmesh.runtime.micromodel.settings import MicromodelSettings
from slmesh.schemas import Classification, Locality, PiiAction

if TYPE_CHECKING:
    from slmesh.runtime.llm.kind import Model
    from slmesh.runtime.micromodel.declare import Micromodel
    from slmesh.runtime.settings import MeshSettings

# The highest classification a micromodel may receive when its settings say nothing.
DEFAULT_CEILING: dict[Locality, Classification] = {
    "on-premise": "restricted",
    "remote": "public",
}


def card_of(
    micromodel: Micromodel[Any, Any], settings: MeshSettings, model: Model | None, topic: str
) -> dict[str, Any]:
    """The card a replica announces (every field but replica, status and heartbeat). Plain
    mesh settings (a test's) place it by the defaults."""
    locality: Locality = model.locality if model is not None else "on-premise"
    provider = model.provider if model is not None else None
    ceiling: Classification | None = None
    on_pii: PiiAction = "local"
    serves = micromodel.serves
    if isinstance(settings, MicromodelSettings):
        ceiling, on_pii = settings.max_classification, settings.on_pii
        serves = settings.serves or serves
        if model is None and settings.locality is not None:
            # No model says where it runs: its settings do.
            locality, provider = settings.locality, settings.provider
    routing = micromodel.routing
    if micromodel.serves is not None and serves in (None, micromodel.name):
        # A declaration renamed into a tool of its own (SLMESH_NAME, serving itself): its
        # routing was written for the tool it was declared as, which still has it.
        routing = None
    return {
        "name": micromodel.name,
        "version": micromodel.version,
        "description": micromodel.description,
        "input_schema": micromodel.input_schema(),
        "output_schema": micromodel.output_schema(),
        "topic": topic,
        "model": model.id if model is not None else micromodel.model,
        "locality": locality,
        "provider": provider,
        "max_classification": ceiling or DEFAULT_CEILING[locality],
        "on_pii": on_pii,
        # An alternative for itself is no alternative.
        "serves": serves if serves != micromodel.name else None,
        "price": model.price if model is not None else None,
        "routing": (
            routing.model_dump(mode="json", exclude_defaults=True) if routing is not None else None
        ),
    }
