"""The cleaner micromodel: each cleaning rule, content kept verbatim, idempotence, the
requests it refuses, its bound; and the unstructured-insight pipeline that runs it."""

# ruff: noqa: RUF001 (look-alike characters are what the cleaner works on)

from __future__ import annotations

import asyncio
import importlib
import json
import time
import unicodedata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from slmesh.cleaner.cleaning import (
    MAX_TEXT_CHARS,
    Cleaned,
    CleaningRequest,
    clean,
    describe,
)
from slmesh.cleaner.micromodel import build
from slmesh.cleaner.routing import ROUTING
from slmesh.extractor.micromodel import ExtractionRequest
from slmesh.orchestrator.pipelines.tool import pipeline_view
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.runtime.pipeline_files import input_problem, load_pipeline, load_pipelines
from slmesh.runtime.registry.admission import MAX_DESCRIPTION_CHARS, MAX_SCHEMA_BYTES
from slmesh.summarizer.micromodel import SummaryRequest

ROOT = Path(__file__).parents[3]
PIPELINE = ROOT / "pipelines" / "unstructured-insight.yaml"
EXAMPLE = ROOT / "examples" / "pipelines" / "unstructured-insight.json"


def cleaned(text: str) -> Cleaned:
    return clean(CleaningRequest(text=text))


def test_declaration() -> None:
    micromodel = build()
    assert micromodel.name == "cleaner"
    assert not micromodel.uses_model
    assert micromodel.description.startswith("CleanText: cleans a raw text")
    assert len(micromodel.description) <= MAX_DESCRIPTION_CHARS
    # Up to 50,000 characters: a worker thread, not the event loop.
    assert micromodel.blocking
    assert micromodel.routing is ROUTING
    assert micromodel.summarize is describe


def test_the_schemas_are_admitted() -> None:
    micromodel = build()
    for schema in (micromodel.input_schema(), micromodel.output_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert len(str(schema).encode()) < MAX_SCHEMA_BYTES


# --- encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damaged", "meant"),
    [
        ("Itâ€™s done", "It’s done"),
        ("cafÃ© and crÃ¨me brÃ»lÃ©e", "café and crème brûlée"),
        ("â€œQuotedâ€\x9d â€” and â€“ dashes", "“Quoted” — and – dashes"),
        ("Total: â‚¬1.250,00 or Â£99", "Total: €1.250,00 or £99"),
        ("MÃ¼ller from ZÃ¼rich, StraÃŸe 5", "Müller from Zürich, Straße 5"),
        ("Thanks ðŸ˜€", "Thanks 😀"),
        # Damaged twice: read wrongly, written, read wrongly again.
        ("rÃƒÂ©sumÃƒÂ©", "résumé"),
        # A Cyrillic text read as cp1252.
        ("ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Привет"),
        # The last byte lost: 0x9D of "”" has no cp1252 character.
        ("â€œHiâ€ said Jo. â€œYesâ€\ufffd", "“Hi” said Jo. “Yes”"),
        # A no-break space made a plain one on the way: its lead letter is left alone.
        ("Budget:Â 4,500 and voilÃ  done, voilÃ .", "Budget: 4,500 and voilà done, voilà."),
    ],
)
def test_mojibake_is_repaired(damaged: str, meant: str) -> None:
    result = cleaned(damaged)
    assert result.text == meant
    assert result.changes == ["fixed encoding"]
    assert result.removed_chars == len(damaged) - len(meant)


@pytest.mark.parametrize(
    "text",
    [
        "Straße, Müller, café, naïve, €5, £3 and “quotes”",
        # A lead letter and a symbol written on purpose: no UTF-8 sequence round-trips.
        "Ü® is a mark, Ã alone is a letter, and « Ê » a quote",
        # A broken sequence with its last byte lost cannot be reversed: left as it is.
        "Itâ€ s broken",
    ],
)
def test_text_that_is_not_cleanly_reversible_mojibake_is_kept(text: str) -> None:
    assert cleaned(text).text == text


# --- characters -----------------------------------------------------------------------------


def test_spaces_invisible_and_control_characters() -> None:
    result = cleaned("Pay\u00a0€\u202f50 to\u200b Anna\u2060 Berg\ufeff by\x07 Friday\x00.")
    assert result.text == "Pay € 50 to Anna Berg by Friday."
    assert result.changes == ["removed control characters", "normalised unicode"]


def test_safe_compatibility_forms_are_folded_and_others_kept() -> None:
    result = cleaned("Ｉｎｖｏｉｃｅ ＃12 for the ﬁle of 𝐀𝐜𝐦𝐞, 20 m² and ½ litre, caf\u0065\u0301")
    assert result.text == "Invoice #12 for the file of Acme, 20 m² and ½ litre, café"
    assert result.changes == ["normalised unicode"]


def test_curly_quotes_are_kept_and_joiners_that_shape_letters_too() -> None:
    text = "“Don’t,” she said. می\u200cخواهم 👩\u200d💻"
    assert cleaned(text).text == text


def test_line_endings_and_separators_become_line_breaks() -> None:
    result = cleaned("One\r\nTwo\rThree\u2028Four")
    assert result.text == "One\nTwo\nThree\nFour"


# --- markup ---------------------------------------------------------------------------------


def test_tags_are_stripped_and_blocks_end_in_line_breaks() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><!-- tracking -->"
        '<p>Dear <b>Anna</b>,</p><div class="x">your order<br/>ships on 3 June.</div>'
        "<table><tr><td>Item</td><td>Price</td></tr></table><script>var x = 1;</script>"
        "</body></html>"
    )
    result = cleaned(html)
    # A block's end and the next one's start: a paragraph's blank line.
    assert result.text == "Dear Anna,\n\nyour order\nships on 3 June.\n\nItem Price"
    assert result.changes == ["stripped markup", "collapsed whitespace"]


def test_entities_are_decoded_but_ampersands_of_the_text_kept() -> None:
    result = cleaned("R&D at AT&T: costs &lt; &euro;5&nbsp;000 &amp;amp; Tom&#39;s &#x2713;")
    assert result.text == "R&D at AT&T: costs < €5 000 & Tom's ✓"
    assert "stripped markup" in result.changes


def test_angle_brackets_that_are_no_tags_are_kept() -> None:
    text = "Anna Berg <anna@example.com>, see <https://example.com/x> and <EUR 50> if a<b and c>d"
    assert cleaned(text).text == text


# --- boilerplate ----------------------------------------------------------------------------

BODY = "Hi Anna,\n\nThe invoice INV-2291 of 12 March 2025 is €1,250.00, due on 30 April."


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        ("Sent from my iPhone", "signature"),
        ("Von meinem iPhone gesendet", "signature"),
        ("Get Outlook for Android", "signature"),
        ("--\nJohn Smith\nAcme Ltd | +44 20 7946 0000\nwww.acme.example", "signature"),
        (
            "On Mon, 3 Mar 2025 at 10:02, Anna Berg <anna@example.com> wrote:\n"
            "> Where is my invoice?\n> Anna",
            "quoted reply",
        ),
        (
            "On Mon, 3 Mar 2025 at 10:02, Anna Berg <anna@example.com>\nwrote:\n> Where is it?",
            "quoted reply",
        ),
        (
            "Am 3. März 2025 um 10:02 schrieb Anna Berg <anna@example.com>:\n> Wo ist sie?",
            "quoted reply",
        ),
        (
            "-----Original Message-----\nFrom: Anna Berg\nSent: Monday, March 3, 2025 10:02\n"
            "To: Billing\nSubject: Invoice",
            "quoted reply",
        ),
        ("> earlier words\n> and more of them", "quoted reply"),
        (
            "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may "
            "be privileged. If you are not the intended recipient, please notify the sender "
            "and delete it.",
            "disclaimer",
        ),
        (
            "The information contained in this message is intended solely for the addressee.",
            "disclaimer",
        ),
        (
            "If you are not the intended recipient, any dissemination or copying is strictly "
            "prohibited. Please notify us and delete this message.",
            "disclaimer",
        ),
        ("Unsubscribe | Manage preferences", "footer"),
        ("To unsubscribe from these emails, click here.", "footer"),
        ("You are receiving this email because you signed up at example.com.", "footer"),
        ("© 2025 Acme Ltd. All rights reserved.", "footer"),
        ("Privacy Policy | Terms of Use | Contact us", "footer"),
        ("View this email in your browser", "view in browser"),
        ("Having trouble viewing this email? View it online", "view in browser"),
        (
            "We use cookies to improve your experience. By using our site you agree.\n"
            "Accept all | Reject all",
            "cookie banner",
        ),
    ],
)
def test_each_kind_of_boilerplate_is_removed_and_the_body_kept(tail: str, kind: str) -> None:
    result = cleaned(f"{BODY}\n\n{tail}")
    assert result.text == BODY
    assert result.changes == [f"removed boilerplate: {kind}"]
    assert result.removed_chars == len(tail) + 2


def test_a_header_at_the_top_is_kept_and_banners_above_the_body_go() -> None:
    text = f"View this email in your browser\n\nWe use cookies on this website.\nAccept\n\n{BODY}"
    result = cleaned(text)
    assert result.text == BODY
    assert result.changes == [
        "removed boilerplate: view in browser",
        "removed boilerplate: cookie banner",
    ]
    pasted = "From: Anna Berg\nSent: Monday, 3 March 2025\nTo: Billing\nSubject: Invoice\n\nHello."
    assert cleaned(pasted).text == pasted


def test_contact_lines_under_a_closing_go_but_the_name_and_company_stay() -> None:
    text = (
        f"{BODY}\n\nKind regards,\nJohn Smith\nHead of Billing, Acme Ltd\n"
        "T: +44 20 7946 0000\nM: +44 7700 900123\nwww.acme.example\njohn@acme.example"
    )
    result = cleaned(text)
    assert result.text == f"{BODY}\n\nKind regards,\nJohn Smith\nHead of Billing, Acme Ltd"
    assert result.changes == ["removed boilerplate: signature"]


def test_a_separator_beside_boilerplate_goes_with_it() -> None:
    result = cleaned(f"{BODY}\n\n________________\nDISCLAIMER: not legal advice.")
    assert result.text == BODY


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me from your newsletter, I asked twice already.",
        "I received this invoice in error, it is for my neighbour.",
        "Keep this confidential: the merger with Acme closes on 1 July.",
        "We baked cookies for the team on Friday.",
        "> 50 units were shipped to Lyon.",
        "Thanks,\nMaria Rossi\n+39 06 1234 5678 is my number, call me after 5pm.",
    ],
)
def test_body_sentences_that_mention_boilerplate_words_are_kept(text: str) -> None:
    result = cleaned(text)
    assert result.text == text
    assert result.changes == []


# --- whitespace and repeated lines ----------------------------------------------------------


def test_whitespace_is_collapsed() -> None:
    result = cleaned("  Hello   Anna,\t\tthe  total\n\n\n\nis 5 €.   \n\n")
    assert result.text == "Hello Anna, the total\n\nis 5 €."
    assert result.changes == ["collapsed whitespace"]


def test_repeated_consecutive_lines_are_kept_once() -> None:
    result = cleaned(
        "Order 42 shipped.\nOrder 42 shipped.\n\nOrder 42 shipped.\nThanks.\nOrder 42 shipped."
    )
    assert result.text == "Order 42 shipped.\nThanks.\nOrder 42 shipped."
    assert result.changes == ["removed duplicate lines"]


# --- content kept, idempotence --------------------------------------------------------------

CLEAN_TEXTS = [
    BODY,
    "Sehr geehrte Frau Müller,\n\ndie Rechnung Nr. 2025-0117 über 1.234,56 € ist am "
    "15.04.2025 fällig.",
    "Meeting: Tue 4 March, 14:30 CET, room B-12.\n- Anna Berg (Acme)\n- José Núñez (Globex)",
    "Revenue rose 12.5% to $4.2m in Q3 2024; “strong demand”, said CEO Li Wei.",
    "東京の会議は3月5日です。 Привет, мир! مرحبا",
]


@pytest.mark.parametrize("text", CLEAN_TEXTS)
def test_a_clean_text_comes_back_unchanged(text: str) -> None:
    result = cleaned(text)
    assert (result.text, result.changes, result.removed_chars) == (text, [], 0)


MESSY = (
    "<p>Hi Marta,</p><p>Thanks for yesterday&rsquo;s call. Northwind Logistics will move the "
    "Rotterdam shipment to 14 May 2025 and credit â‚¬2,400.</p><p>Thanks for yesterday&rsquo;s "
    "call. Northwind Logistics will move the Rotterdam shipment to 14 May 2025 and credit "
    "â‚¬2,400.</p>\n"
    "Best regards,\nDaniel Okafor\nT: +31 10 555 0199\n\nSent from my iPhone\n\n"
    "On Tue, 6 May 2025 at 09:12, Marta Lind <marta@example.com> wrote:\n> Can we delay it?\n\n"
    "CONFIDENTIALITY NOTICE: This email is confidential.\n\nUnsubscribe | Manage preferences"
)


def test_a_messy_email_keeps_every_name_date_and_amount() -> None:
    result = cleaned(MESSY)
    assert result.text == (
        "Hi Marta,\n\nThanks for yesterday’s call. Northwind Logistics will move the Rotterdam "
        "shipment to 14 May 2025 and credit €2,400.\n\nBest regards,\nDaniel Okafor"
    )
    assert result.changes == [
        "fixed encoding",
        "stripped markup",
        "collapsed whitespace",
        "removed boilerplate: signature",
        "removed boilerplate: quoted reply",
        "removed boilerplate: disclaimer",
        "removed boilerplate: footer",
        "removed duplicate lines",
    ]
    assert result.removed_chars == len(MESSY) - len(result.text)


@pytest.mark.parametrize(
    "text",
    [
        MESSY,
        "&amp;lt;p&amp;gt;Hi&amp;lt;/p&amp;gt; &Atilde;&copy;t&Atilde;&copy;",
        "A\n\nA\n\n<p>A</p>\u00a0\u00a0A",
        "Sent from my iPhone",
        "Ã\u0083Â\u0083Ã\u0082Â©",
    ],
)
def test_cleaning_twice_is_cleaning_once(text: str) -> None:
    once = cleaned(text)
    if not once.text:
        return  # nothing left to clean again (a request needs a text)
    twice = cleaned(once.text)
    assert twice.text == once.text
    assert twice.changes == []


def test_boilerplate_only_leaves_an_empty_text() -> None:
    result = cleaned("Sent from my iPhone")
    assert result == Cleaned(
        text="", body="", changes=["removed boilerplate: signature"], removed_chars=19
    )


# --- varied messy texts: what must go, what must stay ----------------------------------------

# Written for these tests: emails, newsletters and pasted pages as they arrive, each with
# the strings a reader wants gone (mojibake, markup, boilerplate) and the content kept.
# (raw text, gone, kept)
MESSY_TEXTS: list[tuple[str, list[str], list[str]]] = [
    (
        "Hi Marta,\r\n\r\nThe Rotterdam port call moved to 12 May 2026; "
        "demurrage is â‚¬3,200.\r\n\r\n"
        "Best,\r\nPieter\r\n\r\nThis email has been scanned by Mimecast for viruses and malware.",
        ["â‚¬", "\r", "This email has been scanned by Mimecast"],
        ["Rotterdam", "12 May 2026", "€3,200", "Pieter"],
    ),
    (
        "Page 1 of 2\nQuarterly note from Lyon\nSales in France rose 8% "
        "to â‚¬1.2m.\n\nPage 2 of 2\n"
        "The Lyon team thanks everyone.",
        ["Page 1 of 2", "Page 2 of 2", "â‚¬"],
        ["Lyon", "France", "8%", "€1.2m"],
    ),
    (
        "Good morning,\nthe cafÃ© in MÃ¼nchen opens Monday.\n\nOn Tue, 3 "
        "Mar 2026 at 09:14, Lena Vogt "
        "<lena@example.de> wrote:\n> Is the opening still on?\n> Lena",
        ["Ã©", "Ã¼", "wrote:", "Is the opening still on?"],
        ["café", "München", "Monday"],
    ),
    (
        "Please find the figures below.\n\n-----Original Message-----\nFrom: Tom Reyes\n"
        "Sent: Monday, 2 March 2026 10:00\nTo: Finance\nSubject: "
        "figures\n\nCan you send the Q1 figures?",
        [
            "-----Original Message-----",
            "Sent: Monday, 2 March 2026",
            "Can you send the Q1 figures?",
        ],
        ["Please find the figures below."],
    ),
    (
        "Agenda:\nâ€¢ Budget review\nâ€¢ Hiring in Madrid\nâ€¢ Office move to Valencia",
        ["â€¢"],
        ["• Budget review", "Madrid", "Valencia"],
    ),
    (
        "<html><body><p>Hello&nbsp;team,</p><p>The Hamburg&nbsp;warehouse ships &gt; 400 pallets "
        'a day &amp; needs two more forklifts.</p><div class="footer">You are receiving this '
        'email because you signed up at our site.<br><a href="#">Unsubscribe</a>'
        "</div></body></html>",
        ["<p>", "&nbsp;", "\u00a0", "&amp;", "You are receiving this", "Unsubscribe"],
        ["Hamburg warehouse", "> 400 pallets", "& needs"],
    ),
    (
        "Dear all,\n\nThe board approved the Nairobi expansion.\nThe board approved the Nairobi "
        "expansion.\n\nRegards,\nAmina Hassan\nTel: +254 20 123 4567\nwww.example.co.ke",
        ["Tel: +254", "www.example.co.ke"],
        ["Nairobi expansion", "Amina Hassan"],
    ),
    (
        "We use cookies to improve your experience.\nAccept all | "
        "Reject\n\nFlights from Toronto to "
        "Vancouver start 1 July 2026 at CA$199.",
        ["We use cookies", "Accept all"],
        ["Toronto", "Vancouver", "1 July 2026", "CA$199"],
    ),
    (
        "The Lisbon office reports record sales.\n\nDISCLAIMER: This "
        "e-mail and any attachments are "
        "confidential and intended solely for the addressee.",
        ["DISCLAIMER", "intended solely"],
        ["Lisbon office", "record sales"],
    ),
    (
        "Hi Sam,\nthe invoice from GdaÅ„sk is PLN 12 400.\n\nSent from my iPhone",
        ["Å„", "Sent from my iPhone"],
        ["Gdańsk", "PLN 12 400"],
    ),
    (
        "NEWSLETTER • March 2026\nView this email in your browser\n\nOur "
        "Oslo bakery won a national "
        "award.\n\nFollow us on Facebook | Instagram | LinkedIn\nCopyright © 2026 Nordbake AS, All "
        "rights reserved.\nOur mailing address is:\nNordbake AS\nStorgata 1, 0155 Oslo\n\nWant to "
        "change how you receive these emails?\nYou can update your preferences or unsubscribe from "
        "this list.",
        [
            "View this email",
            "Follow us on",
            "All rights reserved",
            "Our mailing address is",
            "Want to change how you receive",
            "update your preferences",
        ],
        ["Oslo bakery", "national award"],
    ),
    (
        "Thanks Jean,\n\nthe Marseille depot is closed until 4 May.\n\nLe "
        "lun. 2 mars 2026 à 10:12, "
        "Jean Dupont <jean@example.fr> a écrit :\n> Le dépôt est-il ouvert ?",
        ["a écrit", "Le dépôt est-il ouvert"],
        ["Marseille depot", "4 May"],
    ),
    (
        "Itâ€™s confirmed: the SÃ£o Paulo launch is on 20 June 2026.\n\n"
        "--\nCarla Souza | Marketing | +55 11 5555 0000",
        ["â€™", "Ã£", "+55 11 5555 0000"],
        ["It’s confirmed", "São Paulo", "20 June 2026"],
    ),
    (
        "Hello,\n\nShipment to Dubai delayed by the storm.\n\n________________________________\n"
        "This message has been scanned for viruses and dangerous content by MailScanner, and is "
        "believed to be clean.",
        ["scanned for viruses", "MailScanner", "________"],
        ["Dubai", "delayed by the storm"],
    ),
    (
        "Report â€“ Q2\n\nRevenue in Germany: â‚¬4.1m\nRevenue in Austria: â‚¬0.9m\n\n"
        "Confidential – Page 3 of 7",
        ["â€“", "â‚¬", "Page 3 of 7"],
        ["Germany", "€4.1m", "Austria", "€0.9m"],
    ),
    (
        "Hi Marta,&#160;the Vienna&#x20AC;500 deposit is paid.&nbsp;&nbsp;See you in Prague.",
        ["&#160;", "&#x20AC;", "&nbsp;"],
        ["Vienna€500", "Prague"],
    ),
    (
        "Dear customer,\n\nYour order #4471 left our Leipzig warehouse on 5 March 2026.\n\n"
        "Please do not reply to this email. This mailbox is not monitored.\n"
        "© 2026 Shopwell GmbH · Impressum · Datenschutz",
        ["Please do not reply", "not monitored", "© 2026"],
        ["Leipzig warehouse", "5 March 2026", "#4471"],
    ),
    (
        "Morning all,\n\nThe Kraków plant passed its audit.\n\nBest regards\nPiotr Nowak\nPlant "
        "Manager\nM: +48 600 100 200\nE: piotr.nowak@example.pl\n\nP Please consider the "
        "environment before printing this email.",
        ["M: +48", "piotr.nowak@example.pl", "consider the environment"],
        ["Kraków plant", "Piotr Nowak", "Plant Manager"],
    ),
    (
        "Team — the Seoul and Busan stores hit 1,200 orders.\u00a0Well done!\u200b\n"
        "Unsubscribe: https://example.com/u/123",
        ["\u00a0", "\u200b", "Unsubscribe:"],
        ["Seoul", "Busan", "1,200 orders"],
    ),
    (
        "Hey Priya,\n\nCould we move the Bengaluru review to Friday?\n\nThanks!\nRahul\n\n"
        "From: Priya Nair <priya@example.in>\nSent: Tuesday, March 3, 2026 "
        "4:02 PM\nTo: Rahul Mehta\n"
        "Subject: Review\n\nLet's meet Thursday in Chennai.",
        ["Sent: Tuesday, March 3, 2026", "Let's meet Thursday in Chennai"],
        ["Bengaluru review", "Friday", "Rahul"],
    ),
    (
        "The Zurich office will close at 3pm.\nThe Zurich office will close at 3pm.\n"
        "The Zurich office will close at 3pm.",
        [],
        ["Zurich office", "3pm"],
    ),
    (
        "Subject: Warehouse update\n\nThe Felixstowe warehouse is at 95% capacity.\n\n"
        "IMPORTANT: The contents of this email and any attachments are confidential. If you have "
        "received this email in error, please notify the sender immediately and delete it.",
        ["IMPORTANT: The contents", "received this email in error"],
        ["Felixstowe warehouse", "95% capacity"],
    ),
    (
        "Weekly digest\n\nâ€¢ Chicago: new hub opens\nâ€¢ Denver: staff training\n\nRead more on "
        "our blog\nForward to a friend\nYou received this email because you subscribed to our "
        "newsletter.",
        ["â€¢", "Forward to a friend", "You received this email"],
        ["Chicago", "Denver", "new hub opens"],
    ),
    (
        "Hi Ana,\n\nthe Bogotá contract (USD 75,000) is signed.\n\nVirus-free. www.avast.com",
        ["Virus-free", "www.avast.com"],
        ["Bogotá", "USD 75,000"],
    ),
    (
        "Dear Mr Okafor,\n\nYour claim for the Lagos shipment was approved on 7 April 2026.\n\n"
        "Yours sincerely,\nClaims Team\nAtlas Insurance plc\n\nThis communication is intended only "
        "for the addressee and may contain privileged information.",
        ["intended only for the addressee"],
        ["Lagos shipment", "7 April 2026", "Atlas Insurance plc"],
    ),
    (
        "â€œWe close the Brussels deal next week,â€\x9d said Anne "
        "Leroy.\n\nGet Outlook for Android",
        ["â€œ", "Get Outlook for Android"],
        ["“We close the Brussels deal next week,”", "Anne Leroy"],
    ),
    (
        "<div>Price:&nbsp;<b>â‚¬&nbsp;89</b></div><div>Store: Utrecht</div><!-- tracking -->"
        '<img src="pixel.gif" width="1">',
        ["<div>", "tracking", "pixel.gif", "â‚¬"],
        ["Utrecht", "89"],
    ),
    (
        "Hi Jo,\n\nthe Cape Town event is sold out.\n\n---------- Forwarded message ---------\n"
        "From: Events Desk <events@example.za>\nDate: Mon, 2 Mar 2026\nSubject: Sold out\n\n"
        "All 300 seats in Cape Town are gone.",
        ["---------- Forwarded message"],
        ["Cape Town event", "All 300 seats"],
    ),
]


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@pytest.mark.parametrize(("raw", "gone", "kept"), MESSY_TEXTS)
def test_varied_messy_texts_lose_their_noise_and_keep_their_content(
    raw: str, gone: list[str], kept: list[str]
) -> None:
    text = cleaned(raw).text
    assert [g for g in gone if g.casefold() in text.casefold()] == []
    assert [k for k in kept if _plain(k) not in _plain(text)] == []
    assert cleaned(text).text == text if text else True


@pytest.mark.parametrize(
    ("tail", "kind"),
    [
        ("This email has been scanned by the Symantec Email Security.cloud service.", "virus scan"),
        ("Virus-free. www.avast.com", "virus scan"),
        ("Page 2 of 3", "page header"),
        ("- 4 -", "page header"),
        ("Please do not reply to this email.", "footer"),
        ("Our mailing address is: 1 Main St, Springfield", "footer"),
        ("Follow us on Facebook | Instagram", "footer"),
        ("To stop receiving these emails, click here.", "footer"),
        ("This email was sent by Acme Ltd, 1 High St, London EC1A 1AA.", "footer"),
        ("Add us to your address book", "footer"),
        ("1 of 3", "page header"),
        (
            "Any views or opinions presented in this email are solely those of the author.",
            "disclaimer",
        ),
        ("Registered in England and Wales. Company No. 1234567.", "disclaimer"),
        ("Please think before you print.", "disclaimer"),
        (
            "Cookies help us deliver our services. By using them, you agree to our use of cookies.",
            "cookie banner",
        ),
    ],
)
def test_scan_notes_page_numbers_and_newsletter_lines_go(tail: str, kind: str) -> None:
    result = cleaned(f"{BODY}\n\n{tail}")
    assert result.text == BODY
    assert result.changes == [f"removed boilerplate: {kind}"]


def test_a_running_header_beside_page_numbers_goes() -> None:
    text = (
        "ACME Quarterly Report\nPage 1 of 2\n\nSales rose in Lyon.\n\n"
        "ACME Quarterly Report\nPage 2 of 2\n\nCosts fell in Lille."
    )
    assert cleaned(text).text == "Sales rose in Lyon.\n\nCosts fell in Lille."


@pytest.mark.parametrize(
    "text",
    [
        "Please see page 3 of the contract for the terms.",
        "The documents were scanned by our clerk on Monday.",
        "Read more about the Lyon plan in the attachment.",
        "Opt out of the pension scheme by Friday.",
        "To stop receiving the paper, call us.",
        "Registered in 2019, the firm grew fast.",
        "1 of 3 pumps failed.",
        "Any views on the Lyon plan?",
    ],
)
def test_sentences_about_pages_and_scans_are_kept(text: str) -> None:
    assert cleaned(text).text == text


def test_an_earlier_message_under_a_reply_header_goes_but_a_forwarded_one_stays() -> None:
    reply = (
        "Yes, Friday works.\n\nOn Mon, 2 Mar 2026 at 10:00, Ana <ana@example.com> wrote:\nFriday?"
    )
    assert cleaned(reply).text == "Yes, Friday works."
    inline = "See below.\n\nOn Mon, 2 Mar 2026, Ana wrote:\n> Friday?\nYes.\n> Room?\nB-12."
    assert cleaned(inline).text == "See below.\n\nYes.\nB-12."
    forwarded = (
        "FYI.\n\n---------- Forwarded message ---------\nFrom: Desk <d@example.com>\n"
        "Subject: Sold out\n\nAll seats are gone."
    )
    assert cleaned(forwarded).text == "FYI.\n\nAll seats are gone."


@pytest.mark.parametrize(
    ("text", "body"),
    [
        (
            "Hi Marta,\n\nThe port call moved to 12 May.\n\nBest regards,\nDaniel Okafor\nAcme Ltd",
            "The port call moved to 12 May.",
        ),
        (
            "Team,\n\nThe shipment is held at customs.\n\nCheers,\nOwen",
            "The shipment is held at customs.",
        ),
        ("Dear subscriber,\n\nOur store reopens on 2 May.", "Our store reopens on 2 May."),
        (
            "Sehr geehrte Frau Vogt,\n\ndie Rechnung ist bezahlt.\n\nMit freundlichen Grüßen\nJan",
            "die Rechnung ist bezahlt.",
        ),
        ("Hi there! The sale raised $2,340.", "Hi there! The sale raised $2,340."),
        (
            "NEWSLETTER • Issue 7\nHi there!\nThe sale raised $2,340.",
            "NEWSLETTER • Issue 7\nThe sale raised $2,340.",
        ),
        (
            "Subject: Lyon move\n\nDear all,\n\nWe move on Friday.\n\nRegards,\nIT",
            "Subject: Lyon move\n\nWe move on Friday.",
        ),
        ("The sale raised $2,340.\nThanks,\nSue", "The sale raised $2,340."),
        ("Hi Marta,\n\nBest,\nDaniel", "Hi Marta,\n\nBest,\nDaniel"),
        ("Agenda:\n• Budget\n• Hiring", "Agenda:\n• Budget\n• Hiring"),
    ],
)
def test_the_body_is_the_text_without_greeting_and_sign_off(text: str, body: str) -> None:
    assert cleaned(text).body == body


# --- requests refused, bounds ---------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        {"text": ""},
        {"text": "x" * (MAX_TEXT_CHARS + 1)},
        {},
        {"text": 42},
        {"text": ["a"]},
        {"text": "hello", "mode": "aggressive"},
    ],
)
def test_bad_requests_are_refused(request_: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CleaningRequest.model_validate(request_)


@pytest.mark.parametrize(
    "unit",
    [
        "Ã" * 9 + " ",
        "<b " + "a" * 50,
        "&amp;" * 3,
        "> quoted\n",
        "On " + "x" * 60 + "\n",
        "&lt;p&gt;Â©â€™\u00a0\u200b ",
        "word ",
    ],
)
def test_the_largest_input_is_cleaned_in_bounded_time(unit: str) -> None:
    text = (unit * (MAX_TEXT_CHARS // len(unit) + 1))[:MAX_TEXT_CHARS]
    started = time.perf_counter()
    result = cleaned(text)
    assert time.perf_counter() - started < 5.0
    assert len(result.text) <= MAX_TEXT_CHARS
    assert not result.text or cleaned(result.text).text == result.text


# --- summary and output contract ------------------------------------------------------------


def test_summary() -> None:
    assert describe(cleaned(BODY)) == "already clean: nothing changed"
    assert describe(cleaned("Itâ€™s  done")) == (
        "cleaned (fixed encoding, collapsed whitespace): 3 characters removed"
    )


def test_the_output_is_valid_against_the_announced_schema() -> None:
    schema = build().output_schema()
    for text in (BODY, MESSY, "Sent from my iPhone"):
        result = cleaned(text)
        jsonschema.validate(result.model_dump(mode="json"), schema)
        assert Cleaned.model_validate_json(result.model_dump_json()) == result


# --- the unstructured-insight pipeline ------------------------------------------------------


def test_the_pipeline_loads_and_chains_cleaner_extractor_summarizer() -> None:
    pipeline = load_pipeline(PIPELINE)
    assert pipeline.name == "unstructured-insight"
    assert [(s.id, s.micromodel) for s in pipeline.steps] == [
        ("clean", "cleaner"),
        ("entities", "extractor"),
        ("insight", "summarizer"),
    ]
    assert pipeline.step("clean").take == {"text": "/input/text"}
    assert pipeline.step("entities").take == {"text": "/steps/clean/text"}
    # The summarizer reads the body: a greeting is no headline.
    assert pipeline.step("insight").take == {"text": "/steps/clean/body"}
    assert pipeline.output == {
        "text": "/steps/clean/text",
        "entities": "/steps/entities/data",
        "insight": "/steps/insight/summary",
    }
    assert pipeline.answer
    assert pipeline.routing is not None


def test_the_steps_arguments_fit_their_micromodels() -> None:
    pipeline = load_pipeline(PIPELINE)
    entities = ExtractionRequest.model_validate(
        {**pipeline.step("entities").arguments, "text": BODY}
    )
    fields = ["people", "organisations", "places", "dates", "amounts"]
    assert list(entities.json_schema["properties"]) == fields  # type: ignore[arg-type]
    # Lists of strings: what the extractor may give fits the pipeline's output schema.
    jsonschema.validate({f: ["x"] for f in fields}, entities.json_schema)
    insight = SummaryRequest.model_validate({**pipeline.step("insight").arguments, "text": BODY})
    assert insight.max_words == 25


def test_the_pipelines_input_and_output_schemas() -> None:
    pipeline = load_pipeline(PIPELINE)
    assert input_problem(pipeline, {"text": MESSY}) is None
    assert input_problem(pipeline, {"text": ""}) is not None
    assert input_problem(pipeline, {"text": "x" * (MAX_TEXT_CHARS + 1)}) is not None
    output = {
        "text": BODY,
        "entities": {"people": ["Anna"], "organisations": [], "places": [], "dates": [],
                     "amounts": ["€1,250.00"]},
        "insight": "Invoice INV-2291 is due on 30 April",
    }  # fmt: skip
    assert pipeline.output_schema is not None
    jsonschema.validate(output, pipeline.output_schema)


def test_the_example_request_names_the_pipeline_with_a_text() -> None:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert example["pipeline"] == "unstructured-insight"
    assert input_problem(load_pipeline(PIPELINE), {"text": example["input"]}) is None
    assert cleaned(example["input"]).changes


def _tools() -> dict[str, ToolView]:
    tools: dict[str, ToolView] = {}
    for module in ("cleaner", "extractor", "summarizer", "classifier", "pii", "validator"):
        micromodel = importlib.import_module(f"slmesh.{module}.micromodel").build()
        tools[micromodel.name] = ToolView.of(micromodel)
    for name, pipeline in load_pipelines(PIPELINE.parent).items():
        tools[name] = pipeline_view(pipeline)
    return tools


def _planned(request: str) -> list[str]:
    plan = asyncio.run(RulesPlanner().plan(request, _tools()))
    return [call.micromodel for call in plan.calls]


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        ("Clean up this text and tell me what matters: ", ["unstructured-insight"]),
        ("Make sense of this messy email: ", ["unstructured-insight"]),
        ("Tidy up this email for me: ", ["unstructured-insight"]),
        ("Who are the people and companies in this email? ", ["unstructured-insight"]),
        ("Fix the encoding of this text: ", ["cleaner"]),
        # The other tools' requests stay theirs.
        ("Summarize the quarterly report: ", ["summarizer"]),
        ("Extract the name, amount and due date from this bill: ", ["extractor"]),
        ("Redact the personal data in this email: ", ["pii"]),
    ],
)
def test_the_planner_offers_the_pipeline_for_its_requests(
    request_: str, planned: list[str]
) -> None:
    assert _planned(request_ + MESSY) == planned
