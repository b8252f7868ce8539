"""Rulesets kept in files: read once at start, each checked against the file format.

A ruleset is a directory of versions, `<ruleset>/<version>.yaml`, each a whole set of
rules (ruleset.schema.json says what a file holds). The rulesets shipped in this package
are read, then those under SLMESH_RULES_DIR, laid out the same way: a new rule, version
or ruleset is a file, never code.

A version is never changed once written: a verdict names the version it was made under,
so the same version must always mean the same rules. A version in both places is refused
unless both files say the same.

Which version a request that names none gets is explicit: the version its ruleset's
`current` file names (SLMESH_RULES_DIR's over the package's), else the highest. So a new
version can be added, tried by name, and only then made the default.

A file that does not fit stops the start with its path and what is wrong: a ruleset
that went silently missing would answer every request for it with an error no caller
could explain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final, Literal, cast

import jsonschema
import yaml
from jsonschema.exceptions import best_match

from slmesh.rules.normalise import Kind

Check = Literal[
    "required", "pattern", "one_of", "min", "max", "range", "date", "not_after", "within_days"
]

# A ruleset file is a few dozen rules: anything larger is not one.
MAX_FILE_BYTES: Final = 256 * 1024
SUFFIXES: Final = (".yaml", ".yml")
CURRENT: Final = "current"

# The kind of value a check reads; the other checks read any kind.
_NUMERIC_CHECKS: Final = frozenset({"min", "max", "range"})
_DATE_CHECKS: Final = frozenset({"date", "not_after", "within_days"})
_PAIRED_CHECKS: Final = frozenset({"not_after", "within_days"})


class RulesetError(ValueError):
    """A rules file that cannot be used; the message names the file and the problem."""


class UnknownRuleset(LookupError):
    """A ruleset or version no file declares; the message names those that exist."""


@dataclass(frozen=True)
class FieldSpec:
    """How a field is read before the rules check it."""

    kind: Kind = "text"
    # amount: the field a currency written with the amount fills when it is missing.
    currency_field: str | None = None


@dataclass(frozen=True)
class Rule:
    """One rule: a check of one or more fields, why it exists, and the rejection reason
    code of the past rejected claims it was derived from."""

    id: str
    fields: tuple[str, ...]
    check: Check
    reason: str
    derived_from: str
    # min, max, range: the bounds, and whether each is excluded (more_than, less_than).
    lower: Decimal | None = None
    lower_excluded: bool = False
    upper: Decimal | None = None
    upper_excluded: bool = False
    # pattern: the whole (normalised) value must match it.
    regex: re.Pattern[str] | None = None
    # one_of: the values allowed, as the file spells them.
    values: tuple[str, ...] = ()
    # not_after, within_days: the date the field is compared with; within_days: how many
    # days after it the field's date may be.
    other: str | None = None
    days: int | None = None


@dataclass(frozen=True)
class Ruleset:
    name: str
    version: str
    description: str
    fields: Mapping[str, FieldSpec]
    rules: tuple[Rule, ...]
    # Where it was read: for messages only, so the same rules from two places are equal.
    source: str = field(default="", compare=False)

    def spec(self, name: str) -> FieldSpec:
        return self.fields.get(name, FieldSpec())


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Library:
    """Every ruleset and version read at start, and each ruleset's current version."""

    rulesets: Mapping[str, Mapping[str, Ruleset]]
    current: Mapping[str, str]

    def resolve(self, name: str, version: str | None) -> Ruleset:
        """The ruleset's version (None: its current one); raises UnknownRuleset."""
        versions = self.rulesets.get(name)
        if versions is None:
            raise UnknownRuleset(f"no ruleset {name!r}; the rulesets are: {self.catalogue()}")
        chosen = self.current[name] if version is None else version
        if chosen not in versions:
            raise UnknownRuleset(
                f"ruleset {name!r} has no version {chosen!r}; its versions are: "
                f"{', '.join(sorted(versions, key=version_key))}"
            )
        return versions[chosen]

    def catalogue(self) -> str:
        """`card-disputes (versions 1, 2; current 2)`, each ruleset in a line's part."""
        return "; ".join(
            f"{name} (versions {', '.join(sorted(versions, key=version_key))}; "
            f"current {self.current[name]})"
            for name, versions in sorted(self.rulesets.items())
        )


# --- reading the files ------------------------------------------------------------------


@cache
def file_schema() -> dict[str, Any]:
    """The JSON Schema of a ruleset file, shipped in the package."""
    text = files("slmesh.rules").joinpath("ruleset.schema.json").read_text(encoding="utf-8")
    schema = cast(dict[str, Any], json.loads(text))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def shipped() -> Traversable:
    return files("slmesh.rules").joinpath("rulesets")


def load_library(directories: Iterable[Traversable]) -> Library:
    """Every ruleset under each directory, later directories adding to earlier ones;
    raises RulesetError naming the file and the problem."""
    rulesets: dict[str, dict[str, Ruleset]] = {}
    pointers: dict[str, tuple[str, str]] = {}
    for directory in directories:
        if not directory.is_dir():
            raise RulesetError(f"{directory}: no such directory of rulesets")
        for ruleset_dir in sorted(directory.iterdir(), key=lambda p: p.name):
            if ruleset_dir.name.startswith("."):
                continue
            if not ruleset_dir.is_dir():
                raise RulesetError(
                    f"{ruleset_dir}: not a ruleset directory (<ruleset>/<version>.yaml)"
                )
            versions = rulesets.setdefault(ruleset_dir.name, {})
            for path in sorted(ruleset_dir.iterdir(), key=lambda p: p.name):
                if path.name == CURRENT:
                    pointers[ruleset_dir.name] = (_pointer(path), str(path))
                elif path.name.endswith(SUFFIXES):
                    _add(versions, load_ruleset(path, ruleset_dir.name))
    for name, versions in list(rulesets.items()):
        if not versions:
            raise RulesetError(f"ruleset {name!r} has no version (<version>.yaml)")
    current: dict[str, str] = {}
    for name, versions in rulesets.items():
        pointed = pointers.get(name)
        if pointed is not None and pointed[0] not in versions:
            raise RulesetError(
                f"{pointed[1]}: names version {pointed[0]!r}, which ruleset {name!r} has not "
                f"(it has: {', '.join(sorted(versions, key=version_key))})"
            )
        current[name] = pointed[0] if pointed else max(versions, key=version_key)
    return Library(rulesets=rulesets, current=current)


def _add(versions: dict[str, Ruleset], ruleset: Ruleset) -> None:
    earlier = versions.get(ruleset.version)
    if earlier is not None and earlier != ruleset:
        raise RulesetError(
            f"{ruleset.source}: version {ruleset.version} of {ruleset.name!r} is declared in "
            f"{earlier.source} with other rules; a version is never changed: write a new one"
        )
    versions.setdefault(ruleset.version, ruleset)


def _pointer(path: Traversable) -> str:
    lines = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(lines) != 1:
        raise RulesetError(f"{path}: should name one version, in one line")
    return lines[0]


def load_ruleset(path: Traversable, directory_name: str) -> Ruleset:
    """One version from its file; raises RulesetError."""
    raw_bytes = path.read_bytes()
    if len(raw_bytes) > MAX_FILE_BYTES:
        raise RulesetError(f"{path}: {len(raw_bytes)} bytes, over the {MAX_FILE_BYTES} allowed")
    try:
        raw = yaml.safe_load(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesetError(f"{path}: does not parse: {exc}") from None
    validator = jsonschema.Draft202012Validator(file_schema())
    errors = list(validator.iter_errors(raw))
    if errors:
        error = best_match(errors)
        where = "/".join(str(part) for part in error.absolute_path) or "the file"
        # "is not valid under any of the given schemas" says nothing: the schema's own
        # words for what it wanted there do.
        wanted = error.schema.get("description") if isinstance(error.schema, dict) else None
        said = f"expected {wanted}" if wanted and error.validator == "oneOf" else error.message
        others = len(errors) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
        raise RulesetError(f"{path}: not a ruleset: at {where}: {said}{more}")
    try:
        ruleset = _ruleset(raw, str(path))
    except ValueError as exc:
        raise RulesetError(f"{path}: {exc}") from None
    stem = path.name.rsplit(".", 1)[0]
    if ruleset.name != directory_name:
        raise RulesetError(
            f"{path}: declares ruleset {ruleset.name!r} in directory {directory_name!r}"
        )
    if ruleset.version != stem:
        raise RulesetError(f"{path}: declares version {ruleset.version!r} in file {path.name!r}")
    return ruleset


def _ruleset(raw: dict[str, Any], source: str) -> Ruleset:
    """A ruleset from a file that fits the schema, with the checks a schema cannot say:
    each rule's field kinds agree, its regular expression compiles, its bounds meet."""
    specs = {name: _spec(name, value) for name, value in (raw.get("fields") or {}).items()}
    rules = tuple(_rule(entry) for entry in raw["rules"])
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValueError(f"rule id {rule.id!r} is used twice")
        seen.add(rule.id)
    needed: dict[str, tuple[Kind, str]] = {}
    for rule in rules:
        kind: Kind | None = (
            "amount" if rule.check in _NUMERIC_CHECKS else "date" if rule.check in _DATE_CHECKS
            else None
        )  # fmt: skip
        if kind is None:
            continue
        for name in (*rule.fields, *([rule.other] if rule.other else [])):
            if name in specs:
                declared, origin = specs[name].kind, "as fields declares it"
            elif name in needed:
                declared, origin = needed[name][0], f"as rule {needed[name][1]} reads it"
            else:
                needed[name] = (kind, rule.id)
                continue
            if declared != kind:
                raise ValueError(
                    f"rule {rule.id}: check {rule.check!r} reads {name!r} as {kind}, but it "
                    f"is {declared} {origin}"
                )
    for name, (kind, _) in needed.items():
        specs.setdefault(name, FieldSpec(kind=kind))
    return Ruleset(
        name=raw["ruleset"],
        version=str(raw["version"]),
        description=raw["description"],
        fields=specs,
        rules=rules,
        source=source,
    )


def _spec(name: str, value: str | dict[str, Any]) -> FieldSpec:
    if isinstance(value, str):
        return FieldSpec(kind=cast(Kind, value))
    spec = FieldSpec(kind=value["kind"], currency_field=value.get("currency_field"))
    if spec.currency_field is not None:
        if spec.kind != "amount":
            raise ValueError(f"field {name!r}: currency_field is for an amount, not {spec.kind}")
        if spec.currency_field == name:
            raise ValueError(f"field {name!r}: currency_field must name another field")
    return spec


def _rule(entry: dict[str, Any]) -> Rule:
    rule_id: str = entry["id"]
    fields = tuple(entry["fields"]) if "fields" in entry else (entry["field"],)
    check: Check = entry["check"]
    parameters: dict[str, Any] = entry.get("parameters") or {}
    base = Rule(
        id=rule_id,
        fields=fields,
        check=check,
        reason=entry["reason"],
        derived_from=entry["derived_from"],
    )
    if check in _NUMERIC_CHECKS:
        return _bounded(base, parameters)
    if check == "pattern":
        try:
            regex = re.compile(parameters["regex"])
        except re.error as exc:
            raise ValueError(f"rule {rule_id}: regex does not compile: {exc}") from None
        return replace(base, regex=regex)
    if check == "one_of":
        return replace(base, values=tuple(parameters["values"]))
    if check in _PAIRED_CHECKS:
        other: str = parameters["other"]
        if other in fields:
            raise ValueError(f"rule {rule_id}: 'other' must name another field than its own")
        return replace(base, other=other, days=parameters.get("days"))
    return base


def _bounded(rule: Rule, parameters: dict[str, Any]) -> Rule:
    def bound(name: str) -> Decimal | None:
        value = parameters.get(name)
        return None if value is None else Decimal(str(value))

    lower = bound("more_than") if "more_than" in parameters else bound("at_least")
    upper = bound("less_than") if "less_than" in parameters else bound("at_most")
    lower_excluded, upper_excluded = "more_than" in parameters, "less_than" in parameters
    if (
        lower is not None
        and upper is not None
        and (lower > upper or (lower == upper and (lower_excluded or upper_excluded)))
    ):
        raise ValueError(f"rule {rule.id}: no value is within its bounds")
    return replace(
        rule,
        lower=lower,
        lower_excluded=lower_excluded,
        upper=upper,
        upper_excluded=upper_excluded,
    )
