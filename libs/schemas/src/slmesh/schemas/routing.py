"""What a micromodel's registry card tells the planner: how a request is routed to it and
how its arguments are read off the request's words.

The planner keeps no knowledge of any one micromodel: its keywords, argument rules and
routing examples are built from the live cards. So a new micromodel is routed by what
its card says, and a new phrasing is a card change, not an orchestrator change.

Everything here is data from outside the orchestrator's code base. Nothing in it is a
regular expression (a card's pattern could take the planner's thread for ever): keywords
and phrases are plain words, where `*` stands for the rest of a word and `...` for up to
a few words, and the planner escapes everything else. Every list and string is bounded,
so no card can make planning slow.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, JsonValue, model_validator

from slmesh.schemas.envelope import Contract


def _narrow(phrase: str) -> str:
    """A phrase must say something: a stem of three letters at least before a `*`, and a
    word besides its gaps. A card's "*" or "a*" would route every request to it."""
    tokens = phrase.split()
    if not tokens or all(t == "..." for t in tokens):
        raise ValueError("a phrase needs a word besides '...'")
    for token in tokens:
        if token.endswith("*") and len(token.rstrip("*")) < 3:
            raise ValueError(f"{token!r}: a stem before '*' needs three characters at least")
        if "*" in token.rstrip("*"):
            raise ValueError(f"{token!r}: '*' may only end a word")
    return phrase


# A keyword or phrase: words, `*` for the rest of a word, `...` for a gap of a few words.
Phrase = Annotated[
    str,
    Field(min_length=1, max_length=60, pattern=r"^[^\n\r]+$"),
    AfterValidator(_narrow),
]
Phrases = Annotated[list[Phrase], Field(max_length=64)]

Reading = Literal["text", "each", "choices", "number", "fields"]


class ArgumentReading(Contract):
    """How the planner reads one argument off a request without a model.

    - text: the text the request is about (after its colon or question);
    - each: one call per value the request names: by the value itself (`codes`), by a
      name in `names`, by a group in `groups`, or all of them (`every`); a name in
      `others` is one it does not serve;
    - choices: the choices the request lists ("a complaint, a question or praise"),
      else a preset its words ask for;
    - number: a number followed by one of `units` ("in 10 words"), clamped to
      `minimum`..`maximum`;
    - fields: the things the request names after one of `after` ("extract the amount
      and the due date"), made into a JSON Schema of an object; the planner's model
      names them where the words do not.
    """

    read: Reading
    names: dict[str, Phrases] = Field(
        default_factory=dict,
        max_length=64,
        description="each: a value -> the names people give it (any language, lower case).",
        examples=[{"DE": ["germany", "german", "deutschland"]}],
    )
    groups: dict[Phrase, list[str]] = Field(
        default_factory=dict,
        max_length=32,
        description="each: a name for several values -> those values.",
        examples=[{"benelux": ["BE", "NL", "LU"]}],
    )
    every: Phrases = Field(
        default_factory=list,
        description="each: phrases that ask for every value.",
        examples=[["all ... member states"]],
    )
    others: Phrases = Field(
        default_factory=list,
        description="each: names of things like its values that it does not serve (a "
        "country outside the EU): a request naming one is told so, not answered with a guess.",
        examples=[["norway", "switzerland", "united kingdom"]],
    )
    called: Phrase | None = Field(
        default=None,
        description="each: what one value is called, as a request that names none is told "
        "('EU member state'); unset: the argument's name.",
    )
    codes: bool = Field(
        default=False,
        description="each: the value itself, written in capitals, names it ('DE').",
    )
    units: Phrases = Field(default_factory=list, description="number: the words after it.")
    after: Phrases = Field(
        default_factory=list,
        description="fields: the words the fields follow ('extract', 'pull out').",
    )
    minimum: int | None = Field(default=None, description="number: the least value.")
    maximum: int | None = Field(default=None, description="number: the greatest value.")
    presets: dict[Phrase, Annotated[list[Phrase], Field(min_length=2, max_length=12)]] = Field(
        default_factory=dict,
        max_length=32,
        description="choices: a word the request uses -> the choices it means when it lists none.",
        examples=[{"sentiment": ["positive", "negative", "neutral"]}],
    )

    @model_validator(mode="after")
    def _values_known(self) -> ArgumentReading:
        known = set(self.names)
        unknown = {v for values in self.groups.values() for v in values} - known
        if known and unknown:
            raise ValueError(f"groups name values without names: {sorted(unknown)}")
        return self


class RoutingExample(Contract):
    """A request and the calls to this micromodel it should produce.

    Each call gives the arguments read from the request's words; the text a call works
    on is left out (it is the request's own), and a `fields` argument is given as the
    list of field names.
    """

    request: str = Field(min_length=1, max_length=600)
    calls: list[dict[str, JsonValue]] = Field(min_length=1, max_length=32)


class Routing(Contract):
    """How the planner routes a request to this micromodel and reads its arguments."""

    kinds: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list,
        max_length=12,
        description="The kinds of request it serves, in a few words each.",
        examples=[["classify a text", "which team should handle a message"]],
    )
    keywords: Phrases = Field(
        default_factory=list,
        description="Words that route a clause here without the model ('summar*', 'tl;dr').",
    )
    cues: Phrases = Field(
        default_factory=list,
        description="Words that suggest it where no card's keywords match a clause and a "
        "text comes with it ('who signed', 'when does').",
    )
    arguments: dict[str, ArgumentReading] = Field(
        default_factory=dict,
        max_length=16,
        description="How each argument is read off the request; the rest the model writes.",
    )
    examples: list[RoutingExample] = Field(default_factory=list, max_length=24)
    results_as: Literal["words", "text"] = Field(
        default="text",
        description="How a later round gives it an earlier round's results: as more words "
        "of the request (a country the results name), or as the text it works on.",
    )

    @property
    def needs_text(self) -> bool:
        """Whether its calls need the text the request is about."""
        return any(a.read in ("text", "fields") for a in self.arguments.values())
