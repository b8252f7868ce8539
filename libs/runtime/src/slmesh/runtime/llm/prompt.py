"""A prompt as its segments: the template's own text, and the untrusted text slotted into it.

A model's control tokens (`<bos>`, `<start_of_turn>`, `<end_of_turn>`, `<|im_end|>`)
have text forms, and llama.cpp's tokenizer, asked to parse special tokens, turns those
forms into the tokens themselves: a request whose text holds `<end_of_turn>` would end
the turn it sits in and could open one of its own. So a prompt says which of its text is
the template's, written in this code base, whose control-token forms are meant, and
which came from outside: a request, arguments, a micromodel's name and description from
its registry card, another call's result. Only the template's text is searched for
control tokens (`LocalModel.tokenize`); every character of the rest is text.

`template("Article: ") + untrusted(text) + template("\\nHeadline:")` builds one; a `str`
cannot be added to a prompt (the type checker refuses it), so text from outside cannot
slip into the template by concatenation. A bare `str` given to a model is untrusted as a
whole.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    # The template's own text: its control-token forms are control tokens.
    trusted: bool


@dataclass(frozen=True, slots=True)
class Prompt:
    segments: tuple[Segment, ...] = ()

    def __add__(self, other: Prompt) -> Prompt:
        if not isinstance(other, Prompt):
            return NotImplemented
        return Prompt(self.segments + other.segments)

    @property
    def text(self) -> str:
        """The prompt as one string, for logs and tests; never to be tokenized as a whole."""
        return "".join(segment.text for segment in self.segments)


def template(text: str) -> Prompt:
    """Text written in this code base: its control-token forms are control tokens."""
    return Prompt((Segment(text, trusted=True),))


def untrusted(text: str) -> Prompt:
    """Text from outside (a request, arguments, a registry card, a result): text only."""
    return Prompt((Segment(text, trusted=False),))


def as_prompt(prompt: Prompt | str) -> Prompt:
    """A bare string is untrusted: where it came from is not known."""
    return untrusted(prompt) if isinstance(prompt, str) else prompt
