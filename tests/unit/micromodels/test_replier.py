"""The replier micromodel: the topic read from the message, the polite frame chosen by
intent and sentiment, the model's middle kept only where safe and on topic, the word
bound; with a scripted model, then twice with the real one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest
from pydantic import ValidationError

from slmesh.replier.frame import frame_for, mood_of
from slmesh.replier.micromodel import ReplyRequest, build, compose, reply_to
from slmesh.replier.middle import clean_middle
from slmesh.replier.topic import topic_of
from slmesh.runtime.llm import Generation, LocalModel, ModelSession, ModelSettings, Prompt

if TYPE_CHECKING:
    from slmesh.runtime.llm.kind import Model

COMPLAINT = "my parcel arrived smashed and I want my money back now"
PRAISE = "Thanks so much, the new headphones are great!"


@dataclass
class ScriptedModel:
    """Answers every completion with `text`, and keeps the prompts it was given."""

    text: str
    prompts: list[Prompt] = field(default_factory=list)

    def complete(self, prompt: Prompt, **_: Any) -> Generation:
        self.prompts.append(prompt)
        return Generation(self.text, 100, 20, 0.01, "stop")


def reply(text: str, message: str = COMPLAINT, **more: Any) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel(text)
    session = ModelSession(cast("Model", model))
    request = ReplyRequest(message=message, **more)
    return reply_to(request, session), model


# --- the topic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("I'm unhappy with my purchase, what can you do for me?", "purchase"),
        (COMPLAINT, "parcel"),
        ("The headphones I bought stopped working after a week.", "headphones"),
        ("I was charged twice for the same order last week", "order"),
        ("My new wireless headphones broke after two days", "wireless headphones"),
        ("Where is my refund? It's been ages.", "refund"),
        ("Your customer service is terrible!", "customer service"),
        ("I never got a reply to my emails about order 4471", "order"),
        (PRAISE, "headphones"),
        ("hello?", None),
    ],
)
def test_the_topic_is_a_noun_phrase_of_the_message(message: str, topic: str | None) -> None:
    assert topic_of(message) == topic
    if topic is not None:
        assert topic.split()[-1] in message.lower()


# --- the frame -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "sentiment", "mood"),
    [
        ("complaint", "negative", "apology"),
        ("question", "negative", "apology"),
        ("complaint", None, "apology"),
        ("praise", "positive", "thanks"),
        (None, "positive", "thanks"),
        ("question", "neutral", "answer"),
        ("question", "positive", "answer"),
        ("praise", "neutral", "thanks"),
        (None, None, "acknowledge"),
        ("other", "neutral", "acknowledge"),
    ],
)
def test_the_mood_follows_intent_and_sentiment(
    intent: str | None, sentiment: str | None, mood: str
) -> None:
    assert mood_of(intent, sentiment) == mood


def test_a_complaint_is_apologised_for_and_praise_thanked_for() -> None:
    sorry, _ = reply("", intent="complaint", sentiment="negative")
    assert sorry.reply.startswith("We are very sorry to hear about the trouble with your parcel.")
    assert sorry.reply.endswith("Thank you for your patience, and sorry again for the trouble.")
    thanks, _ = reply("", message=PRAISE, intent="praise", sentiment="positive")
    assert thanks.reply.startswith("Thank you so much for your kind words about your headphones!")
    assert thanks.reply.endswith("We hope to see you again soon.")


def test_the_shops_own_side_is_ours() -> None:
    result, _ = reply("", message="Your staff were rude to me", intent="complaint")
    assert "our staff" in result.reply


# --- the model's middle --------------------------------------------------------------------

GOOD_MIDDLE = " Please send us a photo of the parcel so that our team can arrange a replacement."


def test_the_models_middle_sits_between_opening_and_closing() -> None:
    result, model = reply(GOOD_MIDDLE + "\nMessage: next", intent="complaint")
    assert result.reply == (
        "We are very sorry to hear about the trouble with your parcel. Please send us a photo "
        "of the parcel so that our team can arrange a replacement. Thank you for your patience, "
        "and sorry again for the trouble."
    )
    assert result.topic == "parcel"
    assert result.words == len(result.reply.split())
    assert not result.truncated
    # The message reaches the model as untrusted text, after the examples.
    prompt = model.prompts[0]
    assert any(s.text == COMPLAINT and not s.trusted for s in prompt.segments)
    assert prompt.text.endswith("Topic: parcel\nReply:")


@pytest.mark.parametrize(
    "invented",
    [
        " Your order number is 58213 and we will send a new parcel.",
        " We will refund $50 for the parcel.",
        " We will refund fifty pounds for the parcel.",
        " We will send a new parcel within 3 days.",
    ],
)
def test_numbers_and_money_the_message_does_not_hold_are_dropped(invented: str) -> None:
    result, _ = reply(invented + GOOD_MIDDLE, intent="complaint")
    assert "Please send us a photo of the parcel" in result.reply
    assert not re.search(r"\d|\$|pounds", result.reply)


def test_a_number_the_message_holds_may_be_quoted() -> None:
    message = "Order 4471 arrived with a smashed lamp"
    middle = " We will look into order 4471 and the lamp straight away."
    result, _ = reply(middle, message=message, intent="complaint")
    assert "order 4471" in result.reply


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "\n\n",
        " The weather in Paris is lovely in spring.",  # off topic
        " That is a stupid thing to say about a parcel.",  # rude
        " I want my money back for my parcel.",  # the customer's voice
        " We are so sorry.",  # the frame's job
        " Please send us a photo of the parcel so that",  # unfinished
        " Message: my parcel is late",  # a new example
    ],
)
def test_an_unusable_middle_gives_way_to_the_safe_sentence(bad: str) -> None:
    result, _ = reply(bad, intent="complaint", sentiment="negative")
    assert result.reply == (
        "We are very sorry to hear about the trouble with your parcel. Our team will look into "
        "what happened with your parcel and get back to you as soon as possible. Thank you for "
        "your patience, and sorry again for the trouble."
    )
    assert not result.truncated


def test_the_middle_keeps_two_sentences_at_most() -> None:
    kept = clean_middle(
        " We will check the parcel. We will call the courier about the parcel. "
        "We will also write to the parcel depot.",
        COMPLAINT,
        "parcel",
    )
    assert len(kept) == 2


# --- the bound -----------------------------------------------------------------------------


@pytest.mark.parametrize("max_words", [10, 11, 12, 14, 16, 20, 25, 30, 45, 60, 90, 120])
@pytest.mark.parametrize("mood", ["apology", "thanks", "answer", "acknowledge"])
@pytest.mark.parametrize("topic", ["wireless noise cancelling headphones", "order", None])
def test_every_reply_keeps_its_bound(max_words: int, mood: Any, topic: str | None) -> None:
    middle = [
        "Please send us a photo of the box so that our team can arrange a replacement.",
        "Our courier team will also check what happened on the way to you.",
    ]
    for given in (middle, []):
        text, truncated = compose(frame_for(mood, topic), given, max_words)
        assert 0 < len(text.split()) <= max_words
        assert text.rstrip()[-1] in ".!"
        if topic is not None and max_words >= 20:
            assert topic in text
        if not given:
            assert not truncated


def test_a_tight_bound_keeps_the_frame_and_says_the_middle_was_cut() -> None:
    result, _ = reply(GOOD_MIDDLE, intent="complaint", max_words=10)
    assert result.words <= 10
    assert result.reply.startswith("Sorry about your parcel.")
    assert result.truncated


# --- the request ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"message": ""},
        {"message": "x" * 4001},
        {"message": "hi", "max_words": 9},
        {"message": "hi", "max_words": 121},
        {"message": "hi", "intent": "x" * 61},
        {"message": "hi", "tone": "warm"},
    ],
)
def test_a_bad_request_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ReplyRequest.model_validate(payload)


def test_the_declaration() -> None:
    micromodel = build()
    assert micromodel.name == "replier"
    assert micromodel.uses_model
    assert ReplyRequest(message="hi").max_words == 60


# --- with the real model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load(ModelSettings())


@pytest.mark.model
def test_a_real_reply_to_a_complaint_is_bounded_polite_and_on_topic(model: LocalModel) -> None:
    session = ModelSession(model)
    message = "The headphones I bought stopped working after a week and I'm really disappointed."
    result = reply_to(
        ReplyRequest(message=message, intent="complaint", sentiment="negative", max_words=50),
        session,
    )
    assert 0 < result.words <= 50
    assert result.topic == "headphones"
    assert result.reply.startswith("We are very sorry")
    assert "headphones" in result.reply
    assert not re.search(r"\d", result.reply)
    assert session.usage.completion_tokens > 0


@pytest.mark.model
def test_a_real_reply_to_praise_thanks_and_stays_short(model: LocalModel) -> None:
    result = reply_to(
        ReplyRequest(message=PRAISE, intent="praise", sentiment="positive", max_words=25),
        ModelSession(model),
    )
    assert 0 < result.words <= 25
    assert result.reply.startswith("Thank")
    assert "headphones" in result.reply
