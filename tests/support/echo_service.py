"""A micromodel that only the tests start: `python tests/support/echo_service.py`.

`ECHO_NAME` names it (default `echo`), so a test can have a topic of its own.
"""

from __future__ import annotations

import os

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
            name=os.environ.get("ECHO_NAME", "echo"),
            description="Repeats a text in capitals.",
            input_model=Words,
            output_model=Echo,
            handler=echo,
        )
    )
