"""The operator's trust file: who is in the mesh, their public keys, what each may do.

One JSON document, public by design (it holds no secret), given to every
service (a ConfigMap, a mounted file; `slmesh dev` writes one for the dev
stack). What a record proves is checked against it:

- `orchestrator`: the one identity that dispatches tasks and answers callers;
- `micromodel`: a service, and the micromodel names it `serves` (it alone may
  announce them and reply to their tasks);
- `caller`: an enterprise system sending requests; it `may_call` the
  micromodels named (`*`: any), with at most `max_in_flight` requests open, and
  is answered on its own response topic only;
- `operator`: tooling that reads the registry and dead letters (no writes it
  can prove to a service).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from slmesh.runtime.trust.keys import PublicKeys

Role = Literal["orchestrator", "micromodel", "caller", "operator"]
IDENTITY_PATTERN = r"^[a-z][a-z0-9\-]{0,62}$"
_IDENTITY = re.compile(IDENTITY_PATTERN)
ANY_MICROMODEL = "*"


def is_identity(name: object) -> bool:
    return isinstance(name, str) and _IDENTITY.match(name) is not None


class TrustFileError(ValueError):
    """A trust file that cannot be used; says which file and what is wrong."""


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    signing_key: str = Field(description="Ed25519 public key, base64 (registry cards).")
    exchange_key: str = Field(description="X25519 public key, base64 (pairwise proofs).")
    serves: list[str] = Field(
        default_factory=list, description="micromodel: the micromodel names it owns."
    )
    may_call: list[str] = Field(
        default_factory=list, description="caller: micromodels it may call; '*' for any."
    )
    max_in_flight: int | None = Field(
        default=None, ge=1, description="caller: its requests open at once (else the default)."
    )

    @property
    def keys(self) -> PublicKeys:
        return PublicKeys(self.signing_key, self.exchange_key)

    def may_use(self, micromodel: str) -> bool:
        return ANY_MICROMODEL in self.may_call or micromodel in self.may_call


class TrustPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    identities: dict[str, Identity]

    @model_validator(mode="after")
    def _coherent(self) -> TrustPolicy:
        owners: dict[str, str] = {}
        for name, identity in self.identities.items():
            if not is_identity(name):
                raise ValueError(f"identity name {name!r} must match {IDENTITY_PATTERN}")
            for micromodel in identity.serves:
                if micromodel in owners:
                    raise ValueError(
                        f"micromodel {micromodel!r} is served by both {owners[micromodel]!r} "
                        f"and {name!r}: one owner each"
                    )
                owners[micromodel] = name
        orchestrators = [n for n, i in self.identities.items() if i.role == "orchestrator"]
        if len(orchestrators) > 1:
            # Callers and micromodels prove their records to the orchestrator: one name.
            raise ValueError(f"one orchestrator identity at most, not {len(orchestrators)}")
        return self

    @classmethod
    def load(cls, path: Path) -> TrustPolicy:
        try:
            text = path.read_text()
        except OSError as exc:
            raise TrustFileError(f"trust file {path}: cannot be read ({exc.strerror})") from exc
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()
            )
            raise TrustFileError(f"trust file {path}: {problems}") from None

    @property
    def orchestrator(self) -> str:
        """The orchestrator's identity; a mesh's trust file must name one."""
        for name, identity in self.identities.items():
            if identity.role == "orchestrator":
                return name
        raise TrustFileError("the trust file names no orchestrator identity")

    def get(self, name: str) -> Identity | None:
        return self.identities.get(name)

    @cached_property
    def _owners(self) -> dict[str, str]:
        return {
            micromodel: name
            for name, identity in self.identities.items()
            if identity.role == "micromodel"
            for micromodel in identity.serves
        }

    def owner_of(self, micromodel: str) -> str | None:
        """The identity that serves `micromodel`, if any does."""
        return self._owners.get(micromodel)

    def callers(self) -> Iterable[str]:
        return (n for n, i in self.identities.items() if i.role == "caller")

    def micromodel_services(self) -> Iterable[str]:
        return (n for n, i in self.identities.items() if i.role == "micromodel")


def response_topic(responses_prefix: str, caller: str) -> str:
    """A caller's own response topic: its answers go there and nowhere else."""
    return f"{responses_prefix}.{caller}"
