"""What a tool's schema said of arguments already checked, remembered within a byte budget.

Requests repeat arguments (a fan-out over the same countries), so a tool
remembers each check's answer. Bounding the entries alone is not enough: the
answer names what was allowed, and a schema with a large `enum` makes every
refusal as long as the enum (jsonschema's "'XX' is not one of [...]"), so
4096 remembered refusals could hold hundreds of megabytes. The memo counts
the bytes of its keys and answers, with an overhead per entry for the objects
that hold them, and forgets the least recently used until it is within its
budget; an entry that would take more than a slice of the budget is not kept.
"""

from __future__ import annotations

from collections import OrderedDict

# Arguments (as sorted JSON) longer than this are never remembered: long ones (a text to
# summarise) seldom repeat.
MEMO_KEY_BYTES = 1024
# A tool's memo, in bytes: about 4000 remembered checks of short arguments.
MEMO_BYTES = 1024 * 1024
# What one entry costs beyond its key's and answer's characters: the dict slot, the bytes
# and str objects' headers (CPython: about 33 + 49 bytes), the ordering's links.
ENTRY_OVERHEAD = 200
# No one entry takes more than this share of the budget.
MAX_ENTRY_SHARE = 16


class CheckMemo:
    """Argument key -> the problem its check found (None: none), least recently used first."""

    def __init__(self, max_bytes: int = MEMO_BYTES, max_key_bytes: int = MEMO_KEY_BYTES) -> None:
        self.max_bytes = max_bytes
        self.max_key_bytes = max_key_bytes
        self._entries: OrderedDict[bytes, str | None] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The bytes its entries are counted at."""
        return self._bytes

    def keeps(self, key: bytes) -> bool:
        """Whether a key this long is remembered at all."""
        return len(key) <= self.max_key_bytes

    def get(self, key: bytes) -> tuple[bool, str | None]:
        """(found, the problem remembered)."""
        if key not in self._entries:
            return False, None
        self._entries.move_to_end(key)
        return True, self._entries[key]

    def put(self, key: bytes, problem: str | None) -> None:
        cost = _cost(key, problem)
        if not self.keeps(key) or cost > self.max_bytes // MAX_ENTRY_SHARE:
            return
        if key in self._entries:
            self._bytes -= _cost(key, self._entries.pop(key))
        self._entries[key] = problem
        self._bytes += cost
        while self._bytes > self.max_bytes:
            old_key, old = self._entries.popitem(last=False)
            self._bytes -= _cost(old_key, old)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


def _cost(key: bytes, problem: str | None) -> int:
    # A str of non-ASCII text takes up to 4 bytes a character.
    answer = 0 if problem is None else len(problem) * (1 if problem.isascii() else 4)
    return ENTRY_OVERHEAD + len(key) + answer
