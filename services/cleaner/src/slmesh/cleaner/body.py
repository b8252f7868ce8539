"""The body of a message: the cleaned text without its greeting and its sign-off.

"Hi Marta," above a message and "Best regards, / Daniel Okafor" under it say who
writes to whom, and they stay in the cleaned text for a reader (and an extractor) of
names. A reader of what the message says (a summarizer writing its headline) wants
the lines between: the greeting, read first, is otherwise what a small model sums up.

Both are found by their form: a greeting is a short line among the first few that
opens with a greeting word (or is one or two words and a comma, "Team,"); a sign-off
is a closing line ("Cheers,", "Kind regards") low in the text, with the few short
lines under it. A text that is nothing but those lines is its own body.
"""

from __future__ import annotations

import re
from typing import Final

from slmesh.cleaner.boilerplate import closing

# A greeting line is short: a sentence that starts with "Hi" is body.
MAX_GREETING_CHARS: Final = 60
# A sign-off stands in a message's last lines: a name, a title, a company, a team.
MAX_SIGN_OFF_LINES: Final = 5
# A greeting opens a message, under at most a masthead or a subject line or two.
GREETING_LINES: Final = 3

_GREETING: Final = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening|day)|morning|afternoon|"
    r"greetings|hallo|liebe[rs]?|sehr geehrte[rs]?|guten (?:tag|morgen)|moin|servus|bonjour|"
    r"salut|cher|chère|hola|estimad[oa]s?|buongiorno|ciao|gentile|beste|geachte|hej|olá|"
    r"oi|to whom it may concern)\b[^.!?]{0,50}[,!:]?$",
    re.IGNORECASE,
)
# "Team,", "All,", "Folks!": a name or two and a comma, alone on its line ("Agenda:"
# heads what follows, and stays).
_ADDRESSEE: Final = re.compile(
    r"^[^\W\d_][\w'\u2019.-]{0,30}(?: [^\W\d_][\w'\u2019.-]{0,30})?[,!]$"
)


def _greeting(line: str) -> bool:
    # "Thanks," is one word and a comma too, but it closes.
    return (
        len(line) <= MAX_GREETING_CHARS
        and bool(_GREETING.match(line) or _ADDRESSEE.match(line))
        and not closing(line)
    )


def body_of(text: str) -> str:
    """The text's lines between its greeting and its sign-off (the text, if none is left)."""
    lines = text.split("\n")
    filled = [i for i, line in enumerate(lines) if line]
    # "NEWSLETTER • Issue 7" / "Hi there!": the masthead above says what the text is.
    greeting = next((i for i in filled[:GREETING_LINES] if _greeting(lines[i])), None)
    end = len(lines)
    for i in filled[-(MAX_SIGN_OFF_LINES + 1) :]:
        if closing(lines[i]) and (greeting is None or i > greeting):
            end = i
            break
    kept: list[str] = []
    for i, line in enumerate(lines[:end]):
        # The greeting's line goes, and the blank line under it with it.
        if i != greeting and (line or not kept or kept[-1]):
            kept.append(line)
    body = "\n".join(kept).strip("\n")
    return body or text
