"""A micromodel slower than the consumer session timeout, or failing on request
(started by test_slow_models). `SLOW_NAME` names it (default `slow`)."""

from __future__ import annotations

import os
import time

from pydantic import BaseModel, ConfigDict, Field

from slmesh.runtime.micromodel import Micromodel, serve


class Nap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, le=60)
    fail: bool = False


class Slept(BaseModel):
    seconds: float


def nap(request: Nap) -> Slept:
    if request.fail:
        raise RuntimeError("asked to fail")
    # Blocking, like a long inference: it runs in the worker thread.
    time.sleep(request.seconds)
    return Slept(seconds=request.seconds)


if __name__ == "__main__":
    serve(
        Micromodel(
            name=os.environ.get("SLOW_NAME", "slow"),
            description="Sleeps as long as it is asked to.",
            input_model=Nap,
            output_model=Slept,
            handler=nap,
        )
    )
