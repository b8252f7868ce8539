"""How often each declared pipeline gives the right answer, through a real mesh.

Each set is `eval/pipelines/<pipeline>.jsonl`. Its lines are
{"id", "text" | "arguments", "expected": {...}}. A set is written apart from the
pipelines, prompts and rules it measures, and is never used to tune them (the
`*.dev.jsonl` sets are the ones to look at). Every input runs end to end, as a caller
runs it: the dev stack (embedded broker, Redis, every micromodel, real inference)
with the repository's pipelines, asked by pipeline name.

What is right depends on the pipeline, so each has a scorer here:

- support-triage: the classifier's intent, and whether a complaint was summed up
  (the branch taken).
- bill-to-data: each field, compared after normalising (text case and spaces,
  dates, amounts to the cent), and the validator's failed checks, compared as a set.
- customer-service: the branch (`source`: faq or reply); the FAQ topic and a non-empty
  answer, or the classifier's intent and sentiment and the written reply: non-empty and
  at most 60 words, naming one of the line's topic words (case and word endings aside),
  polite (a greeting, thanks or apology, and no rude word).
- claims-validation: each claim field (dates to ISO, amounts to the cent, codes
  upper-case, text case and spaces aside; the normalised value first, else the
  extracted one), the verdict, and the failed rules compared as a set.
- unstructured-insight: what the cleaned text must no longer hold (boilerplate,
  mojibake) and must keep (facts, names, amounts); per entity type, at least half the
  expected values found; an insight that names one of the line's words.
- cve-remediation: the CVE id, the fixed versions as a set (a leading "v" aside), the
  product (either containing the other), the severity, the sources as a set, and
  actions that name one of the line's words (a fixed version, "upgrade").

Each part is counted apart, so the report says which part of a pipeline fails.

A pipeline without a scorer is compared on its `output`, field by field.

Run: `uv run python -m eval.pipeline_quality [SET ...] [--show]` (`make eval-pipelines`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from slmesh.schemas import RequestCompleted

if TYPE_CHECKING:
    from slmesh.runtime.client import MeshClient

SETS = Path(__file__).parent / "pipelines"
PIPELINES = Path(__file__).parents[1] / "pipelines"
# Model steps on two busy cores: seconds each; a bill's extraction is the longest.
TIMEOUT_MS = 120_000


@dataclass
class Scored:
    """One input's verdict: each scored part right or not, and what was given instead."""

    parts: dict[str, bool] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, right: bool, given: Any) -> None:
        self.parts[name] = right
        self.given[name] = given

    @property
    def right(self) -> bool:
        return bool(self.parts) and all(self.parts.values())


def score_triage(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    data = response.data
    intent = next(
        (c.output.get("label") for c in data.calls if c.step == "intent" and c.output), None
    )
    summed_up = any(c.step == "gist" and c.status == "ok" for c in data.calls)
    wanted = expected["intent"]
    return Scored(
        {"intent": intent == wanted, "branch": summed_up == (wanted == "complaint")},
        {"intent": intent, "summed_up": summed_up},
    )


_SPACES = re.compile(r"\s+")
# Compared without spaces or case: the way people write them varies, the value does not.
_CODES = {"iban", "postcode", "account_number", "country", "currency"}


def _same(name: str, want: Any, got: Any) -> bool:
    if want is None or got is None:
        return want is None and (got is None or got == "")
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return abs(float(got) - float(want)) < 0.005
        except (TypeError, ValueError):
            return False
    a, b = str(want).casefold().strip(" .,"), str(got).casefold().strip(" .,")
    if name in _CODES:
        return _SPACES.sub("", a) == _SPACES.sub("", b)
    return _SPACES.sub(" ", a) == _SPACES.sub(" ", b)


def score_bill(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    raw = output.get("fields") or {}
    normalised = output.get("normalised") or {}
    scored = Scored()
    for name, want in expected["fields"].items():
        got = normalised.get(name, raw.get(name))
        scored.parts[name] = _same(name, want, got)
        scored.given[name] = got
    problems = output.get("problems") or []
    found = {(p.get("field"), p.get("check")) for p in problems if isinstance(p, dict)}
    wanted = {(p["field"], p["check"]) for p in expected["failed_checks"]}
    scored.parts["checks"] = found == wanted
    scored.given["checks"] = sorted(found)
    return scored


def score_output(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output = response.data.output or {}
    return Scored(
        {name: output.get(name) == want for name, want in expected.items()},
        {name: output.get(name) for name in expected},
    )


# --- Shared readings: words, dates, amounts ------------------------------------------

_TOKENS = re.compile(r"[^\W_]+")
# One ending taken off a word, so "refund" names "refunded" and "delivery" "delivered".
_ENDINGS = (
    "ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ise", "ize",
    "es", "ed", "ly", "s", "y", "e",
)  # fmt: skip


def _root(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _word_named(word: str, tokens: list[str]) -> bool:
    root = _root(word)
    if len(root) < 4:
        # Too short to stand for its family: only itself, or itself plus an ending.
        return any(token == word or _root(token) == word for token in tokens)
    # The other way only for a token as long as the word's root: "replacing" names
    # "replacement", "card" does not name "cardigan".
    return any(
        token.startswith(root)
        or (len(short := _root(token)) >= max(4, len(root) - 2) and word.startswith(short))
        for token in tokens
    )


def names_any(text: str, words: list[str]) -> bool:
    """Whether `text` names one of `words`: case and word endings aside; a word with
    digits or dots (a version, an amount) is looked for as it is written."""
    folded = _plain(text)
    tokens = _TOKENS.findall(folded)
    for wanted in words:
        wanted = _plain(wanted)
        if not wanted:
            continue
        if not wanted.replace(" ", "").isalpha():
            if wanted in folded:
                return True
        elif all(_word_named(part, tokens) for part in wanted.split()):
            return True
    return False


# Typographers' quotes and non-breaking spaces are how a text is written, not what it says.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACES.sub(" ", text).strip()


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "januar", "janvier"), ("feb", "februar", "fev"), ("mar", "mär", "mrz"),
            ("apr", "avr"), ("may", "mai"), ("jun", "juin"), ("jul", "juil"),
            ("aug", "aout", "aoû"), ("sep", "sept"), ("oct", "okt"), ("nov",),
            ("dec", "dez", "déc"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,? (?=\d|[a-z]+ \d)")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\.?[\s-]+([^\W\d_]+)\.?,?[\s-]+(\d{4})$")
_MONTH_DAY = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")


def iso_date(value: Any) -> str | None:
    """A date as yyyy-mm-dd, read from the ways people write one; None if it is none.
    Numeric dates are read day first, unless the second number cannot be a month."""
    text = _WEEKDAY.sub("", _SPACES.sub(" ", str(value)).strip().casefold())
    parts: tuple[int, int, int] | None = None
    if found := _ISO.match(text):
        parts = int(found[1]), int(found[2]), int(found[3])
    elif found := _NUMERIC.match(text):
        day, month = int(found[1]), int(found[2])
        if month > 12 >= day:
            day, month = month, day
        parts = int(found[3]), month, day
    elif (found := _DAY_MONTH.match(text)) and (named := _month(found[2])):
        parts = int(found[3]), named, int(found[1])
    elif (found := _MONTH_DAY.match(text)) and (named := _month(found[1])):
        parts = int(found[3]), named, int(found[2])
    if parts is None:
        return None
    try:
        return date(*parts).isoformat()
    except ValueError:
        return None


def _month(name: str) -> int | None:
    return next((n for key, n in _MONTHS.items() if name.startswith(key)), None)


_NUMBER = re.compile(r"-?\d[\d.,' ]*")


def amount(value: Any) -> float | None:
    """An amount as a number, from 12.5, "€1,234.50", "1.234,50 EUR" or "1 234"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = _NUMBER.search(str(value))
    if not found:
        return None
    digits = found[0].strip().replace(" ", "").replace("'", "").rstrip(".,")
    if "," in digits and "." in digits:
        # The separator written last is the decimal one.
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        digits = digits.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in digits:
        grouped = re.fullmatch(r"-?\d{1,3}(,\d{3})+", digits)
        digits = digits.replace(",", "" if grouped else ".")
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3}){2,}", digits):
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        return None


def _strings(value: Any, keys: tuple[str, ...] = ("text", "value", "name")) -> list[str]:
    """A list of strings from a string, a list of strings, or a list of objects naming
    their value under one of `keys`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        found = next((value[k] for k in keys if isinstance(value.get(k), str)), None)
        return [found] if found else []
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, keys)]
    return [str(value)]


def _label(value: Any) -> str | None:
    """A class label given as a string or as {"label": ...}."""
    if isinstance(value, dict):
        value = value.get("label")
    return value.strip().casefold() if isinstance(value, str) else None


# --- customer-service ------------------------------------------------------------------

MAX_REPLY_WORDS = 60
# Words no customer should read from us, whatever they wrote first.
RUDE = (
    "stupid", "idiot", "idiotic", "dumb", "moron", "shut up", "your own fault", "your fault",
    "not our problem", "deal with it", "calm down", "pathetic", "nonsense", "damn", "crap",
    "hell", "bloody", "stop complaining", "stop whining", "whining", "get lost", "too bad",
    "tough luck", "we don't care", "we do not care", "not my problem",
)  # fmt: skip
_RUDE = re.compile(r"\b(" + "|".join(re.escape(w) for w in RUDE) + r")\b")
_COURTESY = re.compile(
    r"\b(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|thank\w*|thanks"
    r"|sorry|apolog\w*|regret\w*|appreciate\w*|glad|pleased|happy to|welcome)\b"
)


def reply_text(response: RequestCompleted) -> str:
    """The text the customer reads: output's reply or answer, else the response's answer."""
    output = response.data.output or {}
    for name in ("reply", "answer"):
        value = output.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return response.data.answer


def is_polite(text: str) -> bool:
    folded = _plain(text)
    return bool(_COURTESY.search(folded)) and not _RUDE.search(folded)


def score_service(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    text = reply_text(response)
    scored = Scored()
    source = _label(output.get("source"))
    if source is None and isinstance(output.get("faq_matched"), bool):
        # The pipeline says which branch answered by the faq's verdict.
        source = "faq" if output["faq_matched"] else "reply"
    scored.check("source", source == expected["source"], source)
    if expected["source"] == "faq":
        topic = _label(output.get("topic"))
        scored.check("topic", topic == expected["topic"], topic)
        scored.check("faq_answered", bool(text.strip()), text)
        return scored
    for name in ("intent", "sentiment"):
        label = _label(output.get(name))
        scored.check(name, label == expected[name], label)
    words = len(text.split())
    scored.check("reply_bounded", 0 < words <= MAX_REPLY_WORDS, words)
    scored.check("reply_on_topic", names_any(text, expected["topic_words"]), text)
    scored.check("reply_polite", is_polite(text), text)
    return scored


# --- claims-validation -----------------------------------------------------------------

_CLAIM_DATES = {"transaction_date", "claim_date"}
_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
# A company's legal form is often dropped or added; the merchant is the same.
_LEGAL_FORMS = re.compile(
    r"\b(ltd|limited|inc|llc|plc|gmbh|ag|sa|sas|sarl|bv|nv|srl|spa|co|corp|oy|ab)\b"
)


def _merchant(value: Any) -> str:
    text = re.sub(r"[^\w\s&]", " ", _plain(str(value)))
    return _SPACES.sub(" ", _LEGAL_FORMS.sub(" ", text)).strip()


def same_claim_value(name: str, want: Any, got: Any) -> bool:
    """Whether a claim field was read right, after normalising both sides."""
    if want is None or got is None or (isinstance(got, str) and not got.strip()):
        return want is None and (got is None or not str(got).strip())
    if name in _CLAIM_DATES:
        return iso_date(got) == iso_date(want)
    if name == "amount":
        read = amount(got)
        return read is not None and abs(read - float(want)) < 0.005
    if name == "currency":
        code = str(got).strip().upper()
        return _SYMBOLS.get(code, code) == str(want).upper()
    if name == "card_last4":
        return re.sub(r"[^0-9A-Z]", "", str(got).upper()).lstrip("X") == str(want).upper()
    if name == "reason":
        return re.sub(r"[\s-]+", "_", _plain(str(got))) == str(want)
    if name == "merchant":
        return _merchant(got) == _merchant(want)
    return _plain(str(got)) == _plain(str(want))


def score_claim(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    claim = output.get("claim") or {}
    normalised = output.get("normalised") or {}
    scored = Scored()
    for name, want in expected["claim"].items():
        got = normalised.get(name)
        if got is None or got == "":
            got = claim.get(name)
        scored.check(name, same_claim_value(name, want, got), got)
    verdict = _label(output.get("verdict"))
    scored.check("verdict", verdict == expected["verdict"], verdict)
    failed = output.get("failed") or []
    rules = {
        str(f.get("rule") if isinstance(f, dict) else f).strip().upper()
        for f in failed
        if f is not None
    }
    scored.check("failed_rules", rules == set(expected["failed_rules"]), sorted(rules))
    return scored


# --- unstructured-insight --------------------------------------------------------------

ENTITY_TYPES = ("people", "organisations", "places", "dates", "amounts")
MIN_ENTITY_RECALL = 0.5


def _contains(whole: str, part: str) -> bool:
    """`part` in `whole` as whole words and numbers: "£15" is not in "£150", nor
    "£18,400" in the mojibake "Â£18,400"."""
    return re.search(r"(?<![^\W_])" + re.escape(part) + r"(?![^\W_]|[.,]\d)", whole) is not None


def entity_found(kind: str, want: str, given: list[str]) -> bool:
    """Whether an expected entity is among those given: either containing the other
    (case aside), or, for dates and amounts, the same day or the same number."""
    wanted = _plain(want)
    for value in given:
        got = _plain(value)
        if got and (_contains(got, wanted) or (len(got) >= 3 and _contains(wanted, got))):
            return True
        if kind == "dates" and (day := iso_date(value)) and day == iso_date(want):
            return True
        if kind == "amounts" and _same_amount(want, value):
            return True
    return False


def _same_amount(want: str, got: str) -> bool:
    """The same number, or the same digits: "1.150 EUR" is read as 1.15 but written
    by many for 1150, and then its digits are those of "1,150.00" less the zeros."""
    number = amount(got)
    if number is not None and number == amount(want):
        return True
    digits = re.sub(r"\D", "", want).rstrip("0")
    return len(digits) >= 3 and digits == re.sub(r"\D", "", got).rstrip("0")


def score_insight(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    cleaned = output.get("text")
    text = cleaned if isinstance(cleaned, str) else ""
    scored = Scored()
    # Looked for as written: mojibake and non-breaking spaces must not be normalised away.
    kept = [s for s in expected["absent"] if s.casefold() in text.casefold()]
    scored.check("clean_absent", not kept, kept)
    plain = _plain(text)
    lost = [s for s in expected["present"] if not _contains(plain, _plain(s))]
    scored.check("clean_present", not lost, lost)
    found_entities = output.get("entities")
    entities: dict[str, Any] = found_entities if isinstance(found_entities, dict) else {}
    for kind, wanted in expected["entities"].items():
        if not wanted:
            continue
        given = _strings(entities.get(kind))
        found = sum(entity_found(kind, w, given) for w in wanted)
        scored.check(f"entities_{kind}", found / len(wanted) >= MIN_ENTITY_RECALL, given)
    insight = " ".join(_strings(output.get("insight"), ("summary", "text", "insight")))
    scored.check("insight", names_any(insight, expected["insight_words"]), insight)
    return scored


# --- cve-remediation -------------------------------------------------------------------


def _version(value: str) -> str:
    text = _plain(value)
    return text[1:] if re.match(r"v\d", text) else text


def score_remediation(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    scored = Scored()
    cve = output.get("cve_id")
    cve = cve.strip().upper() if isinstance(cve, str) else None
    scored.check("cve_id", cve == expected["cve_id"].upper(), cve)
    fixed = {_version(v) for v in _strings(output.get("fixed_versions"), ("version", "fixed"))}
    wanted = {_version(v) for v in expected["fixed_versions"]}
    scored.check("fixed_versions", fixed == wanted, sorted(fixed))
    product = _plain(" ".join(_strings(output.get("product"))))
    want_product = _plain(expected["product"])
    scored.check(
        "product", bool(product) and (want_product in product or product in want_product), product
    )
    severity = _label(output.get("severity"))
    want_severity = expected["severity"]
    scored.check(
        "severity",
        severity == want_severity.casefold() if want_severity else not severity,
        severity,
    )
    sources = {_plain(s) for s in _strings(output.get("sources"), ("source", "name"))}
    scored.check("sources", sources == {_plain(s) for s in expected["sources"]}, sorted(sources))
    actions = " ".join(_strings(output.get("actions"), ("action", "text", "description")))
    scored.check("actions", names_any(actions, expected["action_words"]), actions)
    return scored


SCORERS: dict[str, Callable[[dict[str, Any], RequestCompleted], Scored]] = {
    "support-triage": score_triage,
    "bill-to-data": score_bill,
    "customer-service": score_service,
    "claims-validation": score_claim,
    "unstructured-insight": score_insight,
    "cve-remediation": score_remediation,
}


def pipeline_of(path: Path) -> str:
    """The pipeline a set measures: its file name, less `.dev` and `.jsonl`."""
    return path.name.removesuffix(".jsonl").removesuffix(".dev")


Case = dict[str, Any]


def read_set(path: Path) -> list[Case]:
    return [orjson.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def run_sets(sets: list[tuple[Path, list[Case]]], show: bool) -> int:
    from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, DevStackConfig
    from slmesh.runtime.client import MeshClient

    workdir = Path(tempfile.mkdtemp(prefix="slmesh-eval-pipelines-"))
    config = DevStackConfig(
        micromodels=dict(DEFAULT_MICROMODELS),
        broker_port=None,
        own_redis=True,
        workdir=workdir,
        pipelines_dir=PIPELINES,
    )
    async with DevStack(config) as stack, MeshClient(stack.settings()) as client:
        for path, cases in sets:
            await run_set(client, path, cases, show)
    return 0


async def run_set(client: MeshClient, path: Path, lines: list[Case], show: bool) -> None:
    pipeline = pipeline_of(path)
    score = SCORERS.get(pipeline, score_output)
    right, failed = 0, 0
    parts: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    times: list[float] = []
    for case in lines:
        started = time.perf_counter()
        response = await client.ask(
            case.get("text") or "(arguments)",
            timeout_s=TIMEOUT_MS / 1000 + 30,
            timeout_ms=TIMEOUT_MS,
            pipeline=pipeline,
            **({"arguments": case["arguments"]} if "arguments" in case else {}),
        )
        times.append((time.perf_counter() - started) * 1000)
        failed += response.data.status == "failed"
        scored = score(case["expected"], response)
        right += scored.right
        for name, ok in scored.parts.items():
            seen[name] += 1
            parts[name] += ok
        if show and not scored.right:
            wrong = {k: scored.given.get(k) for k, ok in scored.parts.items() if not ok}
            print(f"  miss {case['id']}: {orjson.dumps(wrong).decode()}")
            print(f"    plan: {response.data.plan}")
    times.sort()
    p50 = times[len(times) // 2] if times else 0.0
    print(f"\n{pipeline} on {path.name}: {right}/{len(lines)} right ({right / len(lines):.0%})")
    print(f"  failed responses {failed}; end to end p50 {p50:.0f} ms")
    for name in seen:
        print(f"  {name:<24} {parts[name]}/{seen[name]} ({parts[name] / seen[name]:.0%})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = sorted(p for p in SETS.glob("*.jsonl") if not p.name.endswith(".dev.jsonl"))
    parser.add_argument("paths", nargs="*", type=Path, default=default)
    parser.add_argument("--show", action="store_true", help="print each miss (dev sets only)")
    args = parser.parse_args(argv)
    sets = [(path, read_set(path)) for path in args.paths]
    return asyncio.run(run_sets(sets, args.show))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
