"""The policy file: its version and entries, loaded once at start.

The answers a customer reads are the operator's words, kept in a YAML file, not in
code: the packaged policy.yaml by default, another file when SLMESH_FAQ_POLICY names
one. A file that does not load stops the start with its path and what is wrong: a
desk that silently answered from no policy, or the wrong one, would be worse than
one that does not start.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from slmesh.faq.words import phrase
from slmesh.schemas import describe_errors

POLICY_SETTING: Final = "SLMESH_FAQ_POLICY"
_PACKAGED: Final = "policy.yaml"
# A policy is a few dozen entries of a paragraph each: anything larger is not one.
MAX_FILE_BYTES: Final = 512 * 1024
MAX_ENTRIES: Final = 200
MAX_ANSWER_CHARS: Final = 2000

Term = Annotated[str, Field(min_length=1, max_length=80)]
Phrasing = Annotated[str, Field(min_length=1, max_length=300)]


class PolicyFileError(ValueError):
    """A policy file that cannot be used; the message names the file and the problem."""


class PolicyEntry(BaseModel):
    """One topic of the policy: the words that name it, how it is asked, its answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$", description="The topic.")
    keywords: list[Term] = Field(
        min_length=1, max_length=100, description="Words that name the topic; one is enough."
    )
    related: list[Term] = Field(
        default_factory=list, max_length=100, description="Weaker words, half a keyword each."
    )
    excluded: list[Term] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Things of another subject that hold the topic's words (a gift card is bought, "
            "not a way to pay): words inside one of them do not name the topic."
        ),
    )
    questions: list[Phrasing] = Field(
        default_factory=list, max_length=50, description="Ways customers ask about it."
    )
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)

    @field_validator("keywords", "related", "excluded")
    @classmethod
    def _has_words(cls, terms: list[str]) -> list[str]:
        # A term of punctuation only would match nothing, silently.
        for term in terms:
            if not phrase(term):
                raise ValueError(f"{term!r} has no word in it")
        return terms

    @field_validator("excluded")
    @classmethod
    def _no_gap(cls, terms: list[str]) -> list[str]:
        # Blanked out word for word: a gap would make it blank words it does not say.
        for term in terms:
            if "..." in term:
                raise ValueError(f"{term!r}: an excluded term has no '...' gap")
        return terms

    @field_validator("answer")
    @classmethod
    def _one_paragraph(cls, answer: str) -> str:
        return " ".join(answer.split())


class Policy(BaseModel):
    """A policy file: its version (given with every answer) and its entries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=40, pattern=r"^[^\n\r]+$")
    entries: list[PolicyEntry] = Field(min_length=1, max_length=MAX_ENTRIES)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # YAML reads `version: 2026.03` as a number; the operator meant its text.
        return str(value) if isinstance(value, int | float) else value

    @field_validator("entries")
    @classmethod
    def _distinct_topics(cls, entries: list[PolicyEntry]) -> list[PolicyEntry]:
        seen: set[str] = set()
        for entry in entries:
            if entry.id in seen:
                raise ValueError(f"topic {entry.id!r} has two entries")
            seen.add(entry.id)
        return entries


def parse_policy(text: str, origin: str) -> Policy:
    """A policy from a file's text; raises PolicyFileError naming `origin`."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyFileError(f"policy file {origin}: not YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PolicyFileError(f"policy file {origin}: not a mapping with 'version' and 'entries'")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyFileError(f"policy file {origin}: {describe_errors(exc)}") from None


def load_policy(path: Path | None = None) -> Policy:
    """The policy at `path`, or the packaged one; raises PolicyFileError."""
    if path is None:
        text = files("slmesh.faq").joinpath(_PACKAGED).read_text(encoding="utf-8")
        return parse_policy(text, f"slmesh.faq/{_PACKAGED}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PolicyFileError(
                f"policy file {path}: {size} bytes, over the {MAX_FILE_BYTES} a policy may be"
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyFileError(f"policy file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyFileError(f"policy file {path}: cannot be read: {exc.strerror}") from None
    return parse_policy(text, str(path))


def configured_policy() -> Policy:
    """The policy the environment names (SLMESH_FAQ_POLICY), else the packaged one."""
    setting = os.environ.get(POLICY_SETTING, "").strip()
    return load_policy(Path(setting) if setting else None)
