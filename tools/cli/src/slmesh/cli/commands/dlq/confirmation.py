"""An operator's yes before a bulk write: asked on a terminal, or given as `--yes`.

Without a terminal nobody can answer, and a script that meant yes says so: a
write the operator never saw the size of is refused rather than assumed.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import TextIO


class Consent(Enum):
    GIVEN = "given"
    DECLINED = "declined"
    NO_TERMINAL = "no terminal"


def consent(
    question: str,
    *,
    assumed: bool,
    stdin: TextIO | None = None,
    prompt_to: TextIO | None = None,
) -> Consent:
    """`question` (ending in "? [y/N]") answered: `assumed` (`--yes`), else asked on the
    terminal; anything but y or yes declines."""
    if assumed:
        return Consent.GIVEN
    stdin = stdin or sys.stdin
    prompt_to = prompt_to or sys.stderr
    if not stdin.isatty():
        return Consent.NO_TERMINAL
    prompt_to.write(f"{question} ")
    prompt_to.flush()
    answer = stdin.readline()
    return Consent.GIVEN if answer.strip().lower() in ("y", "yes") else Consent.DECLINED
