"""A micromodel that only the registry tests start: `python tests/integration/echo_service.py`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from slmesh.runtime.micromodel import Micromodel, serve


class Words(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class Echo(BaseModel):
    text: str


def echo(words: Words) -> Echo:
    return Echo(text=words.text.upper())


if __name__ == "__main__":
    serve(
        Micromodel(
            name="echo",
            description="Repeats a text in capitals.",
            input_model=Words,
            output_model=Echo,
            handler=echo,
        )
    )
