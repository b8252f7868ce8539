"""Settings errors as a person or a log sees them: each variable named, and what is wrong with
it, never its value.

pydantic's own message quotes what it was given (`input_value=...`; for a check of the
whole settings, every value it was given), and what a setting is given can be a secret
or a piece of one: a password with a stray character, a Redis URL with its password in
it, a token pasted into the wrong variable. So settings that do not load raise
`InvalidSettingsError`, whose message names each variable as the environment spells it
(`SLMESH_MODEL__CONTEXT`) with pydantic's reason, which states the expectation and never
the input, and holds no value at all. The settings' own checks (their validators) name
variables and no free-text value; a check that quotes its field's input anyway is
scrubbed of it here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_settings import SettingsError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

# pydantic-settings' own error when a variable's JSON does not parse names the field only.
_UNPARSED_FIELD = re.compile(r'error parsing value for field "([^"]+)"')
# Shorter inputs are left in place: scrubbing "1" from a message would mangle its numbers.
_SCRUBBED_FROM = 4
# pydantic's prefixes of a validator's own message.
_CHECK_PREFIXES = ("Value error, ", "Assertion failed, ")


class InvalidSettingsError(ValueError):
    """Settings that cannot be used; the message names the variables, never their values."""


def invalid_settings(
    error: ValidationError | SettingsError, settings: type[BaseSettings]
) -> InvalidSettingsError:
    """`error` said by variable name, without a value: raise it `from None`, so that the
    original (which quotes the input) is not printed as its context either."""
    return InvalidSettingsError(f"invalid settings: {'; '.join(problems(error, settings))}")


def problems(error: ValidationError | SettingsError, settings: type[BaseSettings]) -> list[str]:
    """One line per problem: `SLMESH_<VARIABLE>: what is wrong`."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    delimiter = str(settings.model_config.get("env_nested_delimiter") or "__")
    if isinstance(error, SettingsError):
        found = _UNPARSED_FIELD.search(str(error))
        where = variable((found[1],), prefix, delimiter) if found else "a setting"
        return [f"{where}: not valid JSON"]
    lines = []
    for detail in error.errors(include_url=False):
        reason = detail["msg"]
        for check in _CHECK_PREFIXES:
            reason = reason.removeprefix(check)
        given = detail.get("input")
        if reason != detail["msg"] and isinstance(given, str) and len(given) >= _SCRUBBED_FROM:
            # A validator of ours wrote this message; it must not quote the input, and
            # if it does, the input goes.
            reason = reason.replace(given, "***")
        location = detail["loc"]
        lines.append(f"{variable(location, prefix, delimiter)}: {reason}" if location else reason)
    return lines


def variable(location: tuple[int | str, ...], prefix: str, delimiter: str) -> str:
    """The environment variable of a field at `location` (a nested model's field joined by
    the delimiter; an item of a list is its list's variable)."""
    names: list[str] = []
    for part in location:
        if not isinstance(part, str):
            break
        names.append(part)
    return f"{prefix}{delimiter.join(names)}".upper()
