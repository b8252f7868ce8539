"""Trust: who wrote a record, proven inside it, and checked against the operator's trust file.

- `keys`: an identity's secret and public keys;
- `policy`: the trust file (identities, roles, what each may do);
- `proofs`: proving what this process writes, checking what it reads (`MeshParty`);
- `keyring`: a trust file with its secrets in one folder (dev, tests);
- `setup`: this process's party from its settings.
"""

from slmesh.runtime.trust.keyring import Member, dev_members, ensure_keyring, key_path, trust_path
from slmesh.runtime.trust.keys import PublicKeys, SecretKey
from slmesh.runtime.trust.policy import (
    ANY_MICROMODEL,
    Identity,
    Role,
    TrustFileError,
    TrustPolicy,
    is_identity,
    response_topic,
)
from slmesh.runtime.trust.proofs import (
    PROOF_HEADER,
    SIGNER_HEADER,
    MeshParty,
    Proven,
    Unproven,
)
from slmesh.runtime.trust.setup import (
    TrustUnavailable,
    default_dev_keyring,
    keyring_of,
    load_policy,
    mesh_party,
)

__all__ = [
    "ANY_MICROMODEL",
    "PROOF_HEADER",
    "SIGNER_HEADER",
    "Identity",
    "Member",
    "MeshParty",
    "Proven",
    "PublicKeys",
    "Role",
    "SecretKey",
    "TrustFileError",
    "TrustPolicy",
    "TrustUnavailable",
    "Unproven",
    "default_dev_keyring",
    "dev_members",
    "ensure_keyring",
    "is_identity",
    "key_path",
    "keyring_of",
    "load_policy",
    "mesh_party",
    "response_topic",
    "trust_path",
]
