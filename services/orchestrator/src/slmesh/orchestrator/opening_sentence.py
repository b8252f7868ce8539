"""The answer's opening sentence: written by the composer while the calls run, awaited at answer.

Kept in Redis as a note of the request, so whichever replica answers finds
it; the answer waits for it at most `composer_wait_ms`, then uses the fixed one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slmesh.orchestrator.composer import Composer
from slmesh.orchestrator.composition import Composition
from slmesh.orchestrator.gather.store import GatherStorage
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.schemas import Classification, ModelWork

logger = logging.getLogger(__name__)

OPENING_POLL_S = 0.01
NOTE = "opening"


class OpeningSentences:
    """Opening sentences, written while the calls run and read by whichever replica answers."""

    def __init__(
        self, settings: OrchestratorSettings, store: GatherStorage, composer: Composer | None
    ) -> None:
        self.settings = settings
        self.store = store
        # None: answers are the template alone, and no opening is written or awaited.
        self.composer = composer
        self._writing: set[asyncio.Task[None]] = set()

    @property
    def written(self) -> bool:
        """Whether openings are written at all (a composer is configured)."""
        return self.composer is not None

    @property
    def reads_remotely(self) -> bool:
        """Whether the composer's model is remote: a request's input is searched for personal
        data before the model may read it."""
        return self.composer is not None and self.composer.placement.remote

    def refusal(self, classification: Classification) -> str | None:
        """Why the composer's model may not read a request of `classification`, if so."""
        if self.composer is None or self.composer.placement.admits(classification):
            return None
        return (
            f"the composer's model ({self.composer.placement.describe()}) does not read a "
            f"{classification} request: fixed opening"
        )

    def start(self, rid: str, text: str) -> None:
        """Write the request's opening in the background, while its calls run."""
        task = asyncio.create_task(self._write(rid, text))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, rid: str, text: str) -> None:
        assert self.composer is not None
        try:
            written = await self.composer.opening(text)
            # "none" too: the answering replica stops waiting for it at once.
            await self.store.put_note(rid, NOTE, composition_note(written))
        except Exception:
            logger.exception("request %s: writing the answer's opening failed", rid)

    async def wait(self, rid: str) -> Composition | None:
        """The opening written for the request (by any replica), if it is ready.

        Waited for at most composer_wait_ms; then the fixed opening is used.
        """
        waited_until = time.monotonic() + self.settings.composer_wait_ms / 1000
        while (note := await self.store.note(rid, NOTE)) is None:
            if time.monotonic() >= waited_until:
                logger.info("request %s: no opening in time; the fixed one is used", rid)
                return None
            await asyncio.sleep(OPENING_POLL_S)
        return composition(note)


def composition_note(written: Composition | None) -> dict[str, Any]:
    """An opening as stored; {"none": true} when the composer wrote none this time."""
    if written is None:
        return {"none": True}
    work = written.work.model_dump() if written.work is not None else None
    return {"answer": written.answer, "composer": written.composer, "work": work}


def composition(note: dict[str, Any]) -> Composition | None:
    if note.get("none"):
        return None
    work = ModelWork.model_validate(note["work"]) if note["work"] is not None else None
    return Composition(note["answer"], note["composer"], work)
