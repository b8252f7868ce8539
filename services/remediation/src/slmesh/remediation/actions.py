"""What to do: the upgrade the fixed versions call for, and the workarounds and
mitigations the advisories state, each made a short imperative sentence.

An advisory tells its reader what to do in many voices ("As a workaround, disable
mod_http2", "Users unable to upgrade can restrict access to ...", "Consider
disabling ...", "You must restart all services that use OpenSSL"). Each is cut down
to the verb and what follows it, so the record reads as a checklist. Only sentences
that advise are read: a workaround section, a sentence that speaks of a workaround or
of not being able to upgrade, or one that tells its reader they must, should or need
to act. Upgrades themselves are written from the fixed versions, once.
"""

from __future__ import annotations

import re
from typing import Final

from slmesh.remediation.layout import Sentence, sentences

# Verbs an advice starts with (upgrading is the fixed versions' action, not read here).
_VERBS: Final = (
    "disable", "enable", "restrict", "block", "remove", "set", "configure", "apply", "avoid",
    "limit", "filter", "deny", "turn", "uninstall", "use", "add", "rotate", "revoke", "ensure",
    "validate", "reject", "restart", "reboot", "stop", "change", "replace", "review", "monitor",
    "isolate", "unset", "comment", "delete", "prevent", "reset", "regenerate", "audit",
    "sanitize", "sanitise", "reload", "rebuild", "recompile", "unload", "mount", "firewall",
    "switch", "run", "edit", "modify", "keep", "adjust", "increase", "decrease", "lower",
    "raise", "patch", "allow", "allowlist", "whitelist", "blacklist", "denylist", "drop",
    "invalidate", "check", "verify", "upgrade", "update", "install", "migrate",
)  # fmt: skip
_UPGRADING: Final = frozenset({"upgrade", "update", "install", "migrate", "patch"})


def _gerund(verb: str) -> str:
    if verb in ("set", "stop", "drop", "comment", "audit", "limit", "edit", "unset", "reset"):
        doubled = verb + verb[-1] if verb in ("set", "stop", "drop", "unset", "reset") else verb
        return doubled + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


_BY_FORM: Final = {**{v: v for v in _VERBS}, **{_gerund(v): v for v in _VERBS}}
_VERB_WORDS: Final = "|".join(sorted(_BY_FORM, key=len, reverse=True))
# Where the advice starts: the sentence's start, after a comma or colon, or after the
# words that introduce it ("should", "can", "consider", "it is recommended to").
_ADVICE: Final = re.compile(
    r"(?:^|[,:;]\s*|\b(?:should|must|can|could|may|might|need\s+to|needs\s+to|have\s+to"
    r"|has\s+to|are\s+(?:advised|encouraged|recommended|urged|asked)\s+to"
    r"|is\s+(?:advised|recommended|possible)\s+to|recommend(?:ed)?(?:\s+to)?|consider|by|is\s+to"
    r"|please|simply|instead|alternatively|temporarily|also|first)\s+)"
    rf"(?:(?:also|instead|temporarily|first|then|either|simply|immediately)\s+)?"
    rf"(?:(?P<negation>do\s+not|don't|never)\s+(?P<avoided>[a-z]+)|(?P<verb>{_VERB_WORDS}))\b",
    re.IGNORECASE,
)
# A sentence that speaks of a workaround, of not upgrading yet, or that tells the reader
# what they must do.
_ADVISING: Final = re.compile(
    r"\b(?:workarounds?|mitigat\w*|cannot\s+(?:be\s+)?(?:upgrade|update|patch)\w*"
    r"|can't\s+(?:upgrade|update|patch)|can\s+not\s+(?:upgrade|update|patch)"
    r"|unable\s+to\s+(?:upgrade|update|patch|apply)|not\s+able\s+to\s+(?:upgrade|update|patch)"
    r"|until\b[^.]{0,60}\b(?:upgrad|updat|patch|fix)\w*|in\s+the\s+meantime|temporar\w*"
    r"|alternatively|(?:you|users|administrators|admins|customers|operators|sites)\s+"
    r"(?:should|must|need\s+to|are\s+(?:advised|encouraged|recommended|urged)\s+to))\b",
    re.IGNORECASE,
)
_NO_WORKAROUND: Final = re.compile(
    r"\b(?:no|not\s+any|there\s+(?:are|is)\s+no)\s+(?:known\s+)?(?:workarounds?|mitigations?)\b",
    re.IGNORECASE,
)
MAX_ACTION_CHARS: Final = 160


def advice(text: str) -> list[str]:
    """The workarounds and mitigations an advisory states, as imperative sentences."""
    found: list[str] = []
    for sentence in sentences(text):
        action = _action(sentence)
        if action is not None and action not in found:
            found.append(action)
    return found


def _action(sentence: Sentence) -> str | None:
    text = sentence.text
    if _NO_WORKAROUND.search(text):
        return None
    advising = sentence.section == "workaround" or _ADVISING.search(text) is not None
    if not advising:
        return None
    for match in _ADVICE.finditer(text):
        rest = text[match.end() :]
        if match["negation"]:
            if rest.strip():
                return _sentence(f"Do not {match['avoided']}{rest}")
            continue
        verb = _BY_FORM[match["verb"].lower()]
        # An upgrade is written once, from the fixed versions; a verb with no object
        # ("... if you use") advises nothing.
        if verb in _UPGRADING or not rest.strip() or rest.lstrip()[:1] in (",", "."):
            continue
        return _sentence(f"{verb.capitalize()}{rest}")
    return None


def _sentence(text: str) -> str:
    """One short sentence: blanks collapsed, cut at a word, one full stop."""
    text = " ".join(text.split()).rstrip(" .;:,!")
    if len(text) > MAX_ACTION_CHARS:
        text = text[: MAX_ACTION_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
        return text
    return text + "."


def upgrade_actions(product: str | None, fixed: list[str]) -> list[str]:
    """One upgrade per fixed version (each is a release line's own fix)."""
    what = product or "the affected software"
    return [f"Upgrade {what} to {version} or later." for version in fixed]


_RECOMMENDS_UPGRADE: Final = re.compile(
    r"\b(?:upgrad|updat)\w*\b[^.]{0,60}?\b(?:latest|newest|most\s+recent|fixed|patched"
    r"|packages?|security\s+(?:update|release|fix)\w*)\b",
    re.IGNORECASE,
)


def recommends_upgrade(text: str) -> bool:
    """Whether an advisory tells its reader to upgrade, even without naming a version."""
    return _RECOMMENDS_UPGRADE.search(text) is not None


def upgrade_without_version(product: str | None) -> str:
    return f"Upgrade {product or 'the affected software'} to a fixed version."


def key(action: str) -> str:
    """What two wordings of one action share: letters and digits, lower case."""
    return re.sub(r"[^a-z0-9]+", " ", action.lower()).strip()
