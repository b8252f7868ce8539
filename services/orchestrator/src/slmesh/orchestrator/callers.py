"""Callers apart: whose a request is, inside the mesh and in its answer.

A request proves its caller (a `caller` identity of the trust file). From
there on the mesh knows it by its scoped id, `<caller>:<request id>`: its
gather state, its tasks (`<caller>:<request id>:<n>`), its claims and its
notes are the caller's alone, so no caller can read, complete or silence
another's request by sending the same request id. The answer goes to the
caller's own response topic, `<responses prefix>.<caller>`, under the
caller's own request id. A caller name never holds a colon (the trust file's
identity pattern), so the first colon of a scoped id ends the caller.

`Callers` is what the trust file says of each caller: whom it may call, how
many requests it may have open, where it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.trust import ANY_MICROMODEL, Identity, TrustPolicy, is_identity, response_topic
from slmesh.schemas import is_valid_id

_SEPARATOR = ":"
# The contract's longest id (slmesh.schemas.envelope): a scoped id must fit in it.
MAX_ID_CHARS = 200


def scope(caller: str, request_id: str) -> str:
    """The mesh's id of a caller's request."""
    return f"{caller}{_SEPARATOR}{request_id}"


@dataclass(frozen=True)
class Scoped:
    """A scoped request id taken apart: the caller, and the request id it chose."""

    caller: str
    request_id: str


def unscope(rid: str) -> Scoped | None:
    """The caller and its own request id; None for an id no caller's request has."""
    caller, separator, own = rid.partition(_SEPARATOR)
    if not separator or not own or not is_identity(caller):
        return None
    return Scoped(caller, own)


def own_request_id(rid: str) -> str:
    """The request id the caller chose, as its answer carries it (`rid` itself if unscoped)."""
    scoped = unscope(rid)
    return rid if scoped is None else scoped.request_id


def scope_problem(caller: str, request_id: str) -> str | None:
    """Why a caller's request id cannot be scoped within the contract's ids, if it cannot.

    The contract's ids are up to MAX_ID_CHARS characters: a caller's own ids
    must leave room for its name and the colon.
    """
    scoped = scope(caller, request_id)
    if is_valid_id(scoped):
        return None
    room = MAX_ID_CHARS - len(scope(caller, ""))
    return (
        f"the request id has {len(request_id)} characters; caller {caller!r}'s request ids may "
        f"have at most {room}, as the mesh knows a request by '<caller>:<request id>' (at most "
        f"{MAX_ID_CHARS} characters)"
    )


class Callers:
    """The callers of the trust file: their response topics, allow-lists and caps."""

    def __init__(self, settings: OrchestratorSettings, policy: TrustPolicy) -> None:
        self.settings = settings
        self.policy = policy

    def identity(self, caller: str) -> Identity | None:
        found = self.policy.get(caller)
        return found if found is not None and found.role == "caller" else None

    def topic(self, caller: str) -> str:
        """Where `caller` is answered, and nobody else."""
        return response_topic(self.settings.responses_topic, caller)

    def max_in_flight(self, caller: str) -> int:
        """How many requests `caller` may have open at once: its own cap in the trust file,
        else the mesh's (SLMESH_MAX_IN_FLIGHT_PER_CALLER)."""
        identity = self.identity(caller)
        own = identity.max_in_flight if identity is not None else None
        return own or self.settings.max_in_flight_per_caller

    def may_call(self, caller: str, micromodel: str) -> bool:
        identity = self.identity(caller)
        return identity is not None and identity.may_use(micromodel)

    def may_call_any(self, caller: str) -> bool:
        """Whether `caller` may call every micromodel (`*`): nothing to filter."""
        identity = self.identity(caller)
        return identity is not None and ANY_MICROMODEL in identity.may_call
