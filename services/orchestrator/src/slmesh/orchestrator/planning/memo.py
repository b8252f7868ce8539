"""What the planner builds from a card, built once per card object.

The catalogue keeps a tool's routing object while its card is unchanged (a heartbeat
repeats it), so a value compiled from one (its patterns, its vocabulary) holds for as
long as that very object is live; a changed card is a new object, compiled anew. The
object is kept beside its value, so an id reused after it is gone never matches.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Objects remembered: a few per live card is plenty.
MAX_REMEMBERED = 256


class ByIdentity(Generic[K, V]):
    """`build(key)`, computed once per key object (by identity, not equality: a card's
    models hold dicts, so they do not hash)."""

    def __init__(self, build: Callable[[K], V], size: int = MAX_REMEMBERED) -> None:
        self._build = build
        self._size = size
        self._kept: OrderedDict[int, tuple[K, V]] = OrderedDict()

    def __call__(self, key: K) -> V:
        kept = self._kept.get(id(key))
        if kept is not None and kept[0] is key:
            self._kept.move_to_end(id(key))
            return kept[1]
        value = self._build(key)
        self._kept[id(key)] = (key, value)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return value
