"""`slmesh trust`: the operator's trust file — add an identity with a fresh key, or show it.

`add` makes the identity's secret key (a file only its service or caller is
given, mode 0600) and writes its public keys and what it may do into the trust
file, which every service reads and which holds no secret. `show` lists who is
in it. Giving a new caller access is `add NAME --role caller --may-call ...`,
then `slmesh topics apply` (its response topic and its ACLs), then handing it
its key file and a Kafka credential of its own.
"""

from __future__ import annotations

import argparse

NAME = "trust"
HELP = "add an identity to the trust file (with a fresh key), or show the trust file"
DESCRIPTION = (
    "The trust file says who is in the mesh (orchestrator, micromodel services, callers, "
    "operators), their public keys and what each may do; every service reads it. Each "
    "identity's secret key stays with it alone."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="trust_command", required=True)
    add = sub.add_parser("add", help="add an identity with a fresh key")
    add.add_argument("name", help="the identity (also its Kafka principal): a-z, 0-9, -")
    add.add_argument(
        "--role", required=True, choices=("orchestrator", "micromodel", "caller", "operator")
    )
    add.add_argument("--serves", default="", help="micromodel: the micromodels it owns, a,b")
    add.add_argument(
        "--may-call", default="", help="caller: the micromodels it may call, a,b ('*': any)"
    )
    add.add_argument("--max-in-flight", type=int, default=None, help="caller: open requests")
    add.add_argument("--trust-file", required=True, help="the trust file (made if absent)")
    add.add_argument("--key-file", required=True, help="where to write its secret key (0600)")
    add.add_argument(
        "--replace", action="store_true", help="replace an identity of that name (a new key)"
    )
    show = sub.add_parser("show", help="list the identities of a trust file")
    show.add_argument("--trust-file", required=True)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    if args.trust_command == "show":
        return _show(args)
    return _add(args)


def _add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pydantic import ValidationError

    from slmesh.runtime.trust import Identity, SecretKey, TrustFileError, TrustPolicy, is_identity
    from slmesh.runtime.trust.keyring import write_secret

    if not is_identity(args.name):
        print(f"slmesh trust: {args.name!r} is not an identity name (a-z, 0-9, -; 1-63)")
        return 2
    trust_file = Path(args.trust_file)
    key_file = Path(args.key_file)
    try:
        policy = TrustPolicy.load(trust_file) if trust_file.exists() else None
    except TrustFileError as exc:
        print(f"slmesh trust: {exc}")
        return 1
    identities = dict(policy.identities) if policy is not None else {}
    if args.name in identities and not args.replace:
        print(f"slmesh trust: {args.name!r} is in {trust_file} already (--replace: a new key)")
        return 1
    if key_file.exists():
        print(f"slmesh trust: {key_file} exists; a key file is never overwritten")
        return 1
    secret = SecretKey.generate()
    public = secret.public
    try:
        identities[args.name] = Identity(
            role=args.role,
            signing_key=public.signing,
            exchange_key=public.exchange,
            serves=_names(args.serves),
            may_call=_names(args.may_call),
            max_in_flight=args.max_in_flight,
        )
        updated = TrustPolicy(identities=identities)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        print(f"slmesh trust: {problems}")
        return 1
    write_secret(key_file, secret, exclusive=True)
    trust_file.parent.mkdir(parents=True, exist_ok=True)
    trust_file.write_text(updated.model_dump_json(indent=2, exclude_none=True) + "\n")
    print(f"{args.name} ({args.role}) added to {trust_file}; its secret key is in {key_file}")
    print("hand the key file to it alone (SLMESH_SIGNING_KEY_FILE); the trust file to every")
    print("service (SLMESH_TRUST_FILE); then `slmesh topics apply` for its topics and ACLs")
    return 0


def _show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slmesh.runtime.trust import TrustFileError, TrustPolicy

    try:
        policy = TrustPolicy.load(Path(args.trust_file))
    except TrustFileError as exc:
        print(f"slmesh trust: {exc}")
        return 1
    rows = [("identity", "role", "may")]
    for name, identity in sorted(policy.identities.items()):
        if identity.role == "micromodel":
            may = "serves " + (", ".join(identity.serves) or "nothing")
        elif identity.role == "caller":
            limit = f"; at most {identity.max_in_flight} open" if identity.max_in_flight else ""
            may = "calls " + (", ".join(identity.may_call) or "nothing") + limit
        else:
            may = ""
        rows.append((name, identity.role, may))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip())
    return 0
