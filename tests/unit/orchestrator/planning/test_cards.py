"""The planner's rules, built from the live cards: no per-micromodel knowledge in the
orchestrator, every case read off the default mesh's real cards (no model here)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slmesh.orchestrator.planning.cards import (
    acts_on_result,
    arguments,
    clause_starts,
    continued,
    keyword_tools,
    merged,
    supports,
    unserved,
)
from slmesh.orchestrator.planning.choices import listed_choices
from slmesh.orchestrator.planning.decomposition import Clause, asks, clauses, split_request
from slmesh.orchestrator.planning.phrases import near, phrase_pattern
from slmesh.orchestrator.planning.plan import PlannedCall, for_planning
from slmesh.orchestrator.planning.readings import Awaited, object_schema
from tests.support.planning import live_tools

TOOLS = live_tools()
STARTS = clause_starts(TOOLS)
TEXT = "I was charged twice for my last order and nobody answers my emails, please help."


def split(request: str) -> tuple[str, str | None]:
    return split_request(request, STARTS)


@pytest.mark.parametrize(
    ("clause", "tools"),
    [
        ("What is the VAT in Germany", ["vat-rates"]),
        ("Pls sumarise this", ["summarizer"]),
        ("Should this ticket go to IT, HR or Finance", ["classifier"]),
        ("Who signed this contract", ["extractor"]),
        ("Boil this down for me", ["summarizer"]),
        ("Translate this into French", []),
    ],
)
def test_a_clause_goes_to_the_tools_whose_cards_say_so(clause: str, tools: list[str]) -> None:
    assert keyword_tools(clause, TOOLS) == tools


def test_a_question_cue_needs_a_text_and_yields_to_a_keyword() -> None:
    assert keyword_tools("When does the reduced VAT rate apply", TOOLS, has_text=False) == [
        "vat-rates"
    ]
    assert keyword_tools("What's the sentiment of this review", TOOLS) == ["classifier"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("VAT in Germny and Itlay's", ["DE", "IT"]),
        ("VAT RATES FOR BELGUIM AND LUXEMBURG PLS", ["BE", "LU"]),
        ("VAT in the Baltic states", ["EE", "LV", "LT"]),
        ("MwSt in Österreich und España", ["AT", "ES"]),
        ("VAT for AT and BE", ["AT", "BE"]),
    ],
)
def test_countries_are_read_by_the_vat_card(text: str, codes: list[str]) -> None:
    found = arguments(TOOLS["vat-rates"], Clause(text, None))
    assert found == [{"country": c} for c in codes]


def test_a_bare_code_counts_only_where_the_cards_own_words_routed() -> None:
    clause = Clause("Should this go to IT or HR", None)
    assert isinstance(arguments(TOOLS["vat-rates"], clause, by_keyword=False), Awaited)


def test_a_country_the_card_does_not_serve_is_named() -> None:
    clause = Clause("VAT for France and Norway", None)
    assert unserved(TOOLS["vat-rates"], clause) == ["Norway (vat-rates does not serve it)"]


@pytest.mark.parametrize(
    ("clause", "choices"),
    [
        ("Is this a complaint, a question or praise", ["complaint", "question", "praise"]),
        ("Which team should handle this email, sales or support", ["sales", "support"]),
        ("Tag it (Invoice, Contract, or Complaint)", ["invoice", "contract", "complaint"]),
        ("Label the following as 'urgent' vs 'can wait'", ["urgent", "can wait"]),
        ("Is this about our P&L, DE&I or IT support", ["p&l", "de&i", "it support"]),
        ("Priority? P1 / P2 / P3", ["p1", "p2", "p3"]),
        # A yes/no question ends in its first choice; what runs on after the last is not one.
        (
            "Is the following message positive, negative or neutral",
            ["positive", "negative", "neutral"],
        ),
        (
            "Tell me if this customer is angry, frustrated, or satisfied",
            ["angry", "frustrated", "satisfied"],
        ),
        ("Is the following message positive or negative in tone", ["positive", "negative"]),
        ("Is this lead hot, warm or cold", ["hot", "warm", "cold"]),
        (
            "Hi there, which department should get this, Legal or Procurement",
            ["legal", "procurement"],
        ),
    ],
)
def test_the_choices_a_clause_lists(clause: str, choices: list[str]) -> None:
    assert listed_choices(clause) == choices


@pytest.mark.parametrize(
    ("request_text", "labels"),
    [
        (
            f"Department routing please (finance, legal, it, hr): {TEXT}",
            ["finance", "legal", "it", "hr"],
        ),
        (
            f"Sort this into the right folder. Folders: Invoices, HR, Newsletters.\nEmail: {TEXT}",
            ["invoices", "hr", "newsletters"],
        ),
    ],
)
def test_choices_enumerated_without_or_are_the_labels(request_text: str, labels: list[str]) -> None:
    parts = clauses(request_text, STARTS)
    assert keyword_tools(parts[0].text, TOOLS, has_text=True) == ["classifier"]
    found = arguments(TOOLS["classifier"], parts[0])
    assert found == [{"text": TEXT, "labels": labels}]


def test_a_code_that_modifies_a_noun_is_not_a_value() -> None:
    clause = Clause("The IT department needs the VAT rate for Portugal", None)
    assert arguments(TOOLS["vat-rates"], clause) == [{"country": "PT"}]
    assert arguments(TOOLS["vat-rates"], Clause("VAT: the DE rates and IT", None)) == [
        {"country": "DE"},
        {"country": "IT"},
    ]


def test_fields_after_a_misspelt_verb_and_after_ie() -> None:
    typo = arguments(TOOLS["extractor"], Clause("Extarct the IBAN and the account holder", TEXT))
    assert not isinstance(typo, str)
    assert list(typo[0]["schema"]["properties"]) == ["iban", "account_holder"]
    restated = arguments(
        TOOLS["extractor"], Clause("get the basics, ie the name and start date", TEXT)
    )
    assert not isinstance(restated, str)
    assert list(restated[0]["schema"]["properties"]) == ["name", "start_date"]


def test_a_sentence_that_announces_the_text_ends_the_request() -> None:
    request = f"Keep it under 40 words, summarise the following incident report. {TEXT}"
    assert split(request) == (
        "Keep it under 40 words, summarise the following incident report.",
        TEXT,
    )
    goes_on = f"Redact the message below. Also sum it up in 20 words.\n{TEXT}"
    assert split(goes_on)[1] == TEXT


def test_who_is_asking_is_not_a_part_left_unanswered() -> None:
    assert not asks("SE team here (sales engineering)")
    assert asks("Is this lead hot, warm or cold")


def test_a_verb_and_its_object_after_and_start_a_clause() -> None:
    parts = [
        c.text
        for c in clauses(
            f"Classify this as complaint or inquiry and draft a reply to it: {TEXT}", STARTS
        )
    ]
    assert parts == ["Classify this as complaint or inquiry", "draft a reply to it"]


def test_labels_come_from_the_list_or_the_cards_presets() -> None:
    listed = arguments(TOOLS["classifier"], Clause("Is this positive or negative", TEXT))
    assert listed == [{"text": TEXT, "labels": ["positive", "negative"]}]
    preset = arguments(TOOLS["classifier"], Clause("What is the sentiment", TEXT))
    assert preset == [{"text": TEXT, "labels": ["positive", "negative", "neutral"]}]


@pytest.mark.parametrize(
    ("request_text", "instruction", "payload"),
    [
        (f"Summarize this: {TEXT}", "Summarize this", TEXT),
        (
            f"What is the VAT in Belgium? Also sum up this email: {TEXT}",
            "What is the VAT in Belgium? Also sum up this email",
            TEXT,
        ),
        (
            f"'{TEXT}' Is it a billing issue or a delivery question?",
            "Is it a billing issue or a delivery question",
            TEXT,
        ),
        (
            f"Sort this into:\n- Sales\n- Support\n\nMessage: {TEXT}",
            "Sort this into: sales or support",
            TEXT,
        ),
        (
            "For Bulgaria, Greece and Cyprus: what are the reduced VAT rates?",
            "For Bulgaria, Greece and Cyprus: what are the reduced VAT rates",
            None,
        ),
        (f"Is this spam? Thank you.\n\n{TEXT}", "Is this spam", TEXT),
    ],
)
def test_the_text_a_request_is_about_is_told_from_what_it_asks(
    request_text: str, instruction: str, payload: str | None
) -> None:
    assert split(request_text) == (instruction, payload)


def test_a_text_before_its_question_is_the_text() -> None:
    request = f"{TEXT}\nHow would you grade that: low, medium or high?"
    assert split(request) == ("How would you grade that: low, medium or high", TEXT)
    quoted = f"Text first: '{TEXT}' — now, would you call that a question or a complaint?"
    instruction, payload = split(quoted)
    assert payload == TEXT
    assert listed_choices(instruction) == ["question", "complaint"]


def test_an_enumerated_request_is_its_clauses() -> None:
    request = f"Please (a) classify it as hardware, software or network and (b) sum it up: {TEXT}"
    parts = [c.text for c in clauses(request, STARTS)]
    assert parts[-2:] == ["classify it as hardware, software or network", "sum it up"]


def test_clauses_break_at_a_verb_and_its_object() -> None:
    parts = [c.text for c in clauses(f"Summarize this and translate it to French: {TEXT}", STARTS)]
    assert parts == ["Summarize this", "translate it to French"]


def test_a_clause_that_greets_or_thanks_asks_nothing() -> None:
    assert not asks("Many thanks, Oksana")
    assert not asks("Hello team, I got this from a customer")
    assert asks("book me a flight to Rome")


def test_a_clause_going_on_with_the_previous_ones_tool() -> None:
    assert continued(Clause("and Slovakia as well", None), ["vat-rates"], TOOLS) == ["vat-rates"]
    assert continued(Clause("and translate it", None), ["vat-rates"], TOOLS) == []


def test_extractions_of_one_text_are_one_call() -> None:
    calls = [
        PlannedCall("extractor", {"text": TEXT, "schema": object_schema(["signatory"])}),
        PlannedCall("extractor", {"text": TEXT, "schema": object_schema(["end_date"])}),
    ]
    [one] = merged(calls, TOOLS)
    assert one.arguments["schema"]["required"] == ["signatory", "end_date"]


def test_a_models_pick_needs_a_word_of_its_card() -> None:
    assert not supports(TOOLS["vat-rates"], "translate it to French")
    assert supports(TOOLS["vat-rates"], "what sales tax applies there")


def test_phrases_are_bounded_and_misspellings_near() -> None:
    assert phrase_pattern("is this ... or") == r"(?<!\w)is\s+this\s+(?:[^\s]+\s+){0,6}?or(?!\w)"
    assert near("germny", "germany")
    assert not near("portal", "portugal")
    assert not near("finish", "fin")


def test_an_alternative_is_planned_for_as_the_tool_it_serves() -> None:
    vat = TOOLS["vat-rates"]
    cloud = replace(vat, name="vat-rates-cloud", serves="vat-rates")
    assert set(for_planning({"vat-rates": vat, "vat-rates-cloud": cloud})) == {"vat-rates"}
    # Alone, it stands for its tool.
    [(name, view)] = for_planning({"vat-rates-cloud": cloud}).items()
    assert (name, view.name, view.serves) == ("vat-rates", "vat-rates", None)


def test_each_of_several_labelled_texts_is_a_call() -> None:
    request = (
        "Please tag each of these two reviews as positive or negative.\n"
        "Review A: Love it.\nReview B: It broke after a week."
    )
    parts = clauses(request, STARTS)
    found = arguments(TOOLS["classifier"], parts[0])
    assert found == [
        {"text": "Love it.", "labels": ["positive", "negative"]},
        {"text": "It broke after a week.", "labels": ["positive", "negative"]},
    ]
    # Without "each", the labelled texts are one text.
    one = arguments(
        TOOLS["summarizer"], Clause("Summarize this", "Review A: Love it.\nReview B: Meh.")
    )
    assert one == [{"text": "Review A: Love it.\nReview B: Meh."}]


def test_a_tools_result_named_as_the_object_of_another_verb_is_not_that_tool_again() -> None:
    assert acts_on_result("translate the summary into German", TOOLS["summarizer"], TOOLS)
    assert not acts_on_result("Condense the summary further", TOOLS["summarizer"], TOOLS)
    assert not acts_on_result("then summarize the second email", TOOLS["summarizer"], TOOLS)


def test_a_question_word_alone_asks_more_of_the_clause_before() -> None:
    parts = [c.text for c in clauses(f"Who signed this contract and when? {TEXT}", STARTS)]
    assert parts == ["Who signed this contract and when"]


def test_a_sentence_after_the_text_that_goes_on_asking_is_the_requests() -> None:
    instruction, payload = split(
        f"Tag this as bug or feature: {TEXT} Second thing, tell me the VAT in Romania."
    )
    assert payload == TEXT
    assert instruction.endswith("Second thing, tell me the VAT in Romania")


def test_choices_listed_after_a_colon_stay_with_the_request() -> None:
    request = f"Label this ticket as one of: billing, shipping, account access.\n\n{TEXT}"
    (clause,) = clauses(request, STARTS)
    assert arguments(TOOLS["classifier"], clause) == [
        {"text": TEXT, "labels": ["billing", "shipping", "account access"]}
    ]
    fields = arguments(
        TOOLS["extractor"],
        Clause("Extract the following from the email below: meeting date, location", TEXT),
    )
    assert not isinstance(fields, str)
    assert list(fields[0]["schema"]["properties"]) == ["meeting_date", "location"]


@pytest.mark.parametrize(
    ("request_text", "payload"),
    [
        # A word that goes on asking only with its comma: here it starts the text.
        (
            "Summarise this: Second quarter revenue rose 5% and margins held steady.",
            "Second quarter revenue rose 5% and margins held steady.",
        ),
        # Blank lines, however many, before the text.
        (
            "Summarise this email please:"
            + "\n" * 5000
            + "Hello team, the meeting moved to Friday.",
            "Hello team, the meeting moved to Friday.",
        ),
    ],
)
def test_what_starts_a_text_is_the_text(request_text: str, payload: str) -> None:
    assert split(request_text)[1] == payload


def test_a_code_before_a_customer_noun_is_still_a_country() -> None:
    assert arguments(
        TOOLS["vat-rates"], Clause("What VAT rate do I charge DE customers", None)
    ) == [{"country": "DE"}]
    summary = arguments(
        TOOLS["summarizer"], Clause("Summarise the 5 works reviewed in this article", TEXT)
    )
    assert summary == [{"text": TEXT}]
    assert not asks("SE team here (sales engineering)")
    assert asks("Post the summary here")


def test_a_connective_after_a_question_mark_starts_the_next_clause_without_it() -> None:
    parts = [c.text for c in clauses("What does ARR mean? Then book me a flight to Rome", STARTS)]
    assert parts == ["What does ARR mean", "book me a flight to Rome"]
