#!/usr/bin/env python3
"""Validate eval/pii/labelled.jsonl (stdlib only).

Checks: JSON per line, required fields, unique ids, language in {en, de},
known kinds, offsets inside the text and text[start:end] == entity text,
no overlapping entities, no leading/trailing whitespace in spans,
mod-97 for every labelled IBAN, Luhn for every labelled card, and the
check digit of every labelled 11-digit German tax id (Steuer-ID) and the
ranges of every labelled US SSN. Prints counts per kind and language.
Exits 1 on any problem.

    python3 eval/pii/check.py [path/to/labelled.jsonl]
"""

import itertools
import json
import os
import re
import sys
from collections import Counter

KINDS = {"person", "address", "email", "phone", "iban", "card", "national_id", "date_of_birth"}
LANGS = {"en", "de"}
MIN_PER_KIND = {k: 15 for k in KINDS}
MIN_PER_KIND.update(person=25, address=25)
MIN_TEXTS = 130


def iban_valid(s):
    s = re.sub(r"\s", "", s).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def luhn_valid(s):
    digits = re.sub(r"[ -]", "", s)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        x = int(ch)
        if i % 2:
            x = x * 2 - 9 if x > 4 else x * 2
        total += x
    return total % 10 == 0


def steuer_id_valid(s):
    # ISO 7064 MOD 11,10 over the first ten digits
    if not re.fullmatch(r"[1-9][0-9]{10}", s):
        return False
    p = 10
    for ch in s[:10]:
        t = (int(ch) + p) % 10 or 10
        p = (t * 2) % 11
    check = 11 - p
    return (0 if check == 10 else check) == int(s[10])


def ssn_valid(s):
    m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", s)
    if not m:
        return False
    a, g, n = m.groups()
    return a not in ("000", "666") and a[0] != "9" and g != "00" and n != "0000"


def main(path):
    problems = []
    seen = set()
    kind_lang = Counter()
    texts_lang = Counter()
    empty_lang = Counter()
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for no, line in enumerate(lines, 1):
        where = f"line {no}"
        if not line.strip():
            problems.append(f"{where}: empty line")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: bad JSON: {e}")
            continue
        if set(rec) != {"id", "language", "text", "entities"}:
            problems.append(f"{where}: fields {sorted(rec)}")
            continue
        rid, lang, text, ents = rec["id"], rec["language"], rec["text"], rec["entities"]
        where = f"line {no} ({rid})"
        if rid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(rid)
        if lang not in LANGS:
            problems.append(f"{where}: language {lang!r}")
        if not isinstance(text, str) or not text:
            problems.append(f"{where}: empty text")
            continue
        texts_lang[lang] += 1
        if not ents:
            empty_lang[lang] += 1
        spans = []
        for e in ents:
            if set(e) != {"kind", "start", "end", "text"}:
                problems.append(f"{where}: entity fields {sorted(e)}")
                continue
            k, s, t, et = e["kind"], e["start"], e["end"], e["text"]
            if k not in KINDS:
                problems.append(f"{where}: unknown kind {k!r}")
            if not (isinstance(s, int) and isinstance(t, int) and 0 <= s < t <= len(text)):
                problems.append(f"{where}: bad offsets {s}..{t}")
                continue
            if text[s:t] != et:
                problems.append(f"{where}: text[{s}:{t}]={text[s:t]!r} != {et!r}")
            if et != et.strip():
                problems.append(f"{where}: span {et!r} has outer whitespace")
            if k == "iban" and not iban_valid(et):
                problems.append(f"{where}: labelled IBAN fails mod-97: {et!r}")
            if k == "card" and not luhn_valid(et):
                problems.append(f"{where}: labelled card fails Luhn: {et!r}")
            if k == "national_id" and re.fullmatch(r"\d{11}", et) and not steuer_id_valid(et):
                problems.append(f"{where}: labelled Steuer-ID has a wrong check digit: {et!r}")
            if k == "national_id" and re.fullmatch(r"\d{3}-\d{2}-\d{4}", et) and not ssn_valid(et):
                problems.append(f"{where}: labelled SSN outside valid ranges: {et!r}")
            kind_lang[(k, lang)] += 1
            spans.append((s, t))
        spans.sort()
        for (s1, t1), (s2, t2) in itertools.pairwise(spans):
            if s2 < t1:
                problems.append(f"{where}: overlapping spans {s1}..{t1} and {s2}..{t2}")

    total_texts = sum(texts_lang.values())
    print(
        f"texts: {total_texts}  "
        + "  ".join(
            f"{lang}={texts_lang[lang]} (no PII: {empty_lang[lang]})" for lang in sorted(LANGS)
        )
    )
    print(f"{'kind':<15}" + "".join(f"{lang:>6}" for lang in sorted(LANGS)) + f"{'total':>7}")
    for k in sorted(KINDS):
        row = [kind_lang[(k, lang)] for lang in sorted(LANGS)]
        print(f"{k:<15}" + "".join(f"{n:>6}" for n in row) + f"{sum(row):>7}")
        if sum(row) < MIN_PER_KIND[k]:
            problems.append(f"kind {k}: {sum(row)} entities, want at least {MIN_PER_KIND[k]}")
    print(
        f"{'all':<15}"
        + "".join(f"{sum(kind_lang[(k, lang)] for k in KINDS):>6}" for lang in sorted(LANGS))
        + f"{sum(kind_lang.values()):>7}"
    )
    if total_texts < MIN_TEXTS:
        problems.append(f"{total_texts} texts, want at least {MIN_TEXTS}")

    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "labelled.jsonl")
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
