"""Customer messages as a desk receives them, each with where it should go: the faq's
topic for a policy question; else the classifier's intent and sentiment and a polite
reply on its topic. The faq and the reply's frame are checked on every message; the
classifier, a 270M base model, on how many it gets right (with the pipelines' own
labels and examples), as a floor under what was measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from slmesh.classifier.micromodel import ClassificationRequest, classify
from slmesh.faq.matcher import FaqMatcher, FaqQuestion
from slmesh.faq.policy import load_policy
from slmesh.replier.frame import frame_for, mood_of
from slmesh.replier.topic import topic_of
from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings

ROOT = Path(__file__).parents[3]
SERVICE = ROOT / "pipelines" / "customer-service.yaml"
TRIAGE = ROOT / "pipelines" / "support-triage.yaml"


@dataclass(frozen=True)
class Message:
    text: str
    # The faq's topic; None: the message goes to the reply branch.
    topic: str | None
    intent: str
    sentiment: str = "neutral"


def faq(text: str, topic: str) -> Message:
    return Message(text, topic, "question")


def reply(text: str, intent: str, sentiment: str) -> Message:
    return Message(text, None, intent, sentiment)


MESSAGES = [
    # Policy questions, over the ten topics, terse, formal, lower case, unpunctuated.
    faq("refund policy??", "refunds"),
    faq("how long do refunds take to reach my card", "refunds"),
    faq("Could you please advise how long a reimbursement takes once you receive the item?",
        "refunds"),
    faq("do i get the delivery cost back if i return something", "refunds"),
    faq("How many days do I have to send something back", "returns"),
    faq("can i swap a shirt for a different colour", "returns"),
    faq("Dear Sir or Madam, I would be grateful if you could explain your returns procedure.",
        "returns"),
    faq("return window?", "returns"),
    faq("how long shipping to germany", "shipping"),
    faq("Is delivery free?", "shipping"),
    faq("do you deliver to switzerland", "shipping"),
    faq("Hello, do you ship to the US?", "shipping"),
    faq("where's my parcel", "order-tracking"),
    faq("Is there a way to check my order status online?", "order-tracking"),
    faq("tracking number??", "order-tracking"),
    faq("do u take paypal", "payment-methods"),
    faq("Do you accept Klarna?", "payment-methods"),
    faq("which cards do you take", "payment-methods"),
    faq("Kindly let me know the payment options available.", "payment-methods"),
    faq("how do i cancel", "cancellation"),
    faq("Can I amend my order after I've placed it?", "cancellation"),
    faq("Is there a guarantee on your furniture?", "warranty"),
    faq("whats the warranty on headphones", "warranty"),
    faq("phone number?", "contact"),
    faq("Can I talk to a real person please", "contact"),
    faq("how to reset password", "account-access"),
    faq("I can't remember my password.", "account-access"),
    faq("Do you price match with other retailers?", "price-match"),
    faq("if i find it cheaper somewhere else will you match it", "price-match"),
    # Complaints, a rude one, a formal one in non-native English, one naming refunds.
    reply("I returned the boots three weeks ago and still haven't had my refund. This is "
          "ridiculous.", "complaint", "negative"),
    reply("The parcel came completely crushed and the vase inside is in pieces. How do I get "
          "a refund for this?", "complaint", "negative"),
    reply("Your courier threw my parcel over the fence, absolutely disgraceful.", "complaint",
          "negative"),
    reply("You lot are useless, worst shop ever, sort it out", "complaint", "negative"),
    reply("Dear team, I am writing for complain about my order which is arrived with the wrong "
          "colour of dress. I kindly request a solution.", "complaint", "negative"),
    reply("The kettle I ordered leaks all over the counter.", "complaint", "negative"),
    reply("Second time the app logged me out in the middle of paying. Not impressed.",
          "complaint", "negative"),
    reply("why is this crap jacket already falling apart after one wash", "complaint",
          "negative"),
    # Asking for compensation.
    reply("Can I get some compensation for the late delivery?", "complaint", "negative"),
    reply("Given the two-week delay, I think a discount on my next order would be fair.",
          "complaint", "negative"),
    # Praise, one with an emoji, one in business tone.
    reply("Best customer service ever, Sarah sorted everything in minutes 😊", "praise",
          "positive"),
    reply("We would like to commend your team for the prompt and professional handling of our "
          "account.", "praise", "positive"),
    reply("The sofa is gorgeous, thank you!", "praise", "positive"),
    reply("Fast shipping and the packaging was lovely!", "praise", "positive"),
    reply("just wanted to say the new website is so much easier to use", "praise", "positive"),
    # Questions the policy does not cover.
    reply("Do you sell gift cards?", "question", "neutral"),
    reply("Are your t-shirts made from organic cotton?", "question", "neutral"),
    reply("Do you have a physical shop I can visit in Leeds?", "question", "neutral"),
    reply("Will the linen trousers come back in stock in a size 12?", "question", "neutral"),
    reply("Do you offer a discount for nurses?", "question", "neutral"),
    reply("Do you have any plans to sell children's shoes?", "question", "neutral"),
    reply("Is the oak table solid wood or veneer?", "question", "neutral"),
    # More of each, short and long.
    reply("Order 5512 was meant to arrive on Tuesday. It's Friday and still nothing.",
          "complaint", "negative"),
    reply("The lady on your phone line was so rude to me.", "complaint", "negative"),
    reply("I demand a full refund and an apology.", "complaint", "negative"),
    reply("Wrong size sent AGAIN. Sort it out.", "complaint", "negative"),
    reply("Honestly the best online shop I've used, will order again.", "praise", "positive"),
    reply("Ten out of ten for the packaging, everything arrived perfect.", "praise", "positive"),
    reply("Cheers for sorting my exchange so quickly, top service", "praise", "positive"),
    reply("Merci, the dress fits perfectly", "praise", "positive"),
]  # fmt: skip
REPLIED = [m for m in MESSAGES if m.topic is None]
# More for the faq alone: (message, its topic or None for the reply branch).
ROUTED = [
    ('What is the time frame for returning goods?', 'returns'),
    ('can i return sale items', 'returns'),
    ('do you do next day delivery', 'shipping'),
    ("I'd like to cancel my order please", 'cancellation'),
    ('Please cancel my order', 'cancellation'),
    ('I want to return a dress', 'returns'),
    ('how much does delivery cost', 'shipping'),
    ('Shipping costs to Ireland?', 'shipping'),
    ('International shipping?', 'shipping'),
    ('how do refunds work', 'refunds'),
    ('When will I get my refund', 'refunds'),
    ('Do you accept american express', 'payment-methods'),
    ('can I pay cash on delivery', 'payment-methods'),
    ('Can I use a gift card to pay?', 'payment-methods'),
    ('Can I buy a gift card for my sister?', None),
    ('Do you do gift vouchers?', None),
    ("what's your email", 'contact'),
    ('Are you open on weekends?', 'contact'),
    ('customer service hours', 'contact'),
    ('How do I make a warranty claim?', 'warranty'),
    ('my account is locked, how do I get back in?', 'account-access'),
    ('cant log in', 'account-access'),
    ('Do you match prices from Amazon?', 'price-match'),
    ('Is there a store near me?', None),
    ('Do you have a shop in Manchester?', None),
    ('Are your products vegan?', None),
    ('Where do you source your wool?', None),
    ('Hi! How are you?', None),
    ('Good morning', None),
    ('lol thanks', None),
    ('I just wanted to say thanks for the quick delivery!', None),
    ('Amazing service, the refund came through in a day!', None),
    ("The refund never arrived and I'm furious.", None),
    ('I returned the parcel weeks ago, where is my refund??', None),
    ('I want compensation for the damaged parcel', None),
    ('This is the third time my delivery is late. Unacceptable.', None),
    ('Your website is a joke', None),
    ('I would like to thank the support team for their help', None),
    ('Please pass my thanks to the driver', None),
    ('I need to change my delivery address', 'shipping'),
    ('do you ship outside europe', 'shipping'),
    ('how long until my order arrives', 'shipping'),
    ('Is my order dispatched yet?', 'shipping'),
    ('Can I return something I bought in the sale?', 'returns'),
    ('Is return shipping free?', 'returns'),
    ('do you deliver on saturdays', 'shipping'),
    ('Dear Sir/Madam, Could you inform me which payment methods are accepted?', 'payment-methods'),
    ('Good afternoon. I wish to know the conditions for a refund.', 'refunds'),
    ('Where can I find my order number?', 'order-tracking'),
    ('Can I collect my order in store?', None),
    ('Can you believe my parcel got lost again', None),
    ('Do you even check parcels before shipping? Mine came crushed.', None),
    ('Thanks, do you ship to Canada too?', 'shipping'),
    ('I need to return these boots', 'returns'),
    ('How to contact you', 'contact'),
    ('pls help cant login', 'account-access'),
    ('Would you recommend the blue or the green sofa?', None),
    ('Can you pass my thanks to the delivery driver?', None),
    ('Is there any chance of a discount code?', None),
    ('I would like to know your opening hours', 'contact'),
    ('Could you tell me how long standard delivery takes to France?', 'shipping'),
    ('do u deliver on sundays', 'shipping'),
    ('can i pay by bank transfer', 'payment-methods'),
    ('returns policy for sale items', 'returns'),
    ('How do I get a refund?', 'refunds'),
    ('My refund is 2 weeks late!', None),
    ("The tracking link doesn't work and my parcel is 5 days late.", None),
    ("hello, what's the warranty period?", 'warranty'),
    ('Is it safe to pay on your website?', 'payment-methods'),
    ('How do I change my password?', 'account-access'),
    ('Can I change my delivery date?', 'shipping'),
]  # fmt: skip


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    return FaqMatcher(load_policy())


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.text[:40])
def test_the_faq_answers_policy_questions_and_declines_the_rest(
    matcher: FaqMatcher, message: Message
) -> None:
    answer = matcher.answer(FaqQuestion(question=message.text))
    assert (answer.topic if answer.matched else None) == message.topic, answer


@pytest.mark.parametrize(("text", "topic"), ROUTED, ids=lambda t: str(t)[:40])
def test_the_faq_routes_more_messages(matcher: FaqMatcher, text: str, topic: str | None) -> None:
    answer = matcher.answer(FaqQuestion(question=text))
    assert (answer.topic if answer.matched else None) == topic, answer


@pytest.mark.parametrize("message", REPLIED, ids=lambda m: m.text[:40])
def test_the_reply_frame_is_polite_and_names_a_clean_topic(message: Message) -> None:
    topic = topic_of(message.text)
    frame = frame_for(mood_of(message.intent, message.sentiment), topic)
    assert any(w in frame.opening.lower() for w in ("sorry", "thank")), frame
    if topic is not None:
        assert not {"crap", "useless", "bloody", "stupid"} & set(topic.split())


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("why is this crap jacket already falling apart after one wash", "jacket"),
        ("Do you sell gift cards?", "gift cards"),
        ("Do you have any plans to sell children's shoes?", "children's shoes"),
        ("Merci, the dress fits perfectly", "dress"),
        ("Honestly the best online shop I've used, will order again.", "online shop"),
        ("Wrong size sent AGAIN. Sort it out.", "size"),
        ("I'm sick of this bloody rubbish", None),
    ],
)
def test_the_topic_is_the_customers_thing_never_their_swearing(
    text: str, topic: str | None
) -> None:
    assert topic_of(text) == topic


def steps_of(path: Path) -> dict[str, dict[str, Any]]:
    pipeline = yaml.safe_load(path.read_text())
    return {step["id"]: step["arguments"] for step in pipeline["steps"] if "arguments" in step}


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load(ModelSettings())


def right_of(model: LocalModel, arguments: dict[str, Any], wanted: list[tuple[str, str]]) -> int:
    right = 0
    for text, label in wanted:
        request = ClassificationRequest.model_validate({**arguments, "text": text})
        right += classify(request, ModelSession(model)).label == label
    return right


# Measured with the pipeline's examples: 29 and 28 of 30 (27 and 22 with the examples
# they replaced). One test each, to stay within the per-test timeout on a busy machine.
@pytest.mark.model
def test_the_service_sorts_most_intents_right(model: LocalModel) -> None:
    intents = right_of(model, steps_of(SERVICE)["intent"], [(m.text, m.intent) for m in REPLIED])
    assert intents >= 27


@pytest.mark.model
def test_the_service_sorts_most_sentiments_right(model: LocalModel) -> None:
    wanted = [(m.text, m.sentiment) for m in REPLIED]
    assert right_of(model, steps_of(SERVICE)["sentiment"], wanted) >= 26


@pytest.mark.model
def test_triage_sorts_most_messages_right(model: LocalModel) -> None:
    steps = steps_of(TRIAGE)
    intents = right_of(model, steps["intent"], [(m.text, m.intent) for m in MESSAGES])
    # Measured: 51 of 59 (without examples, 26 of the first 49).
    assert intents >= 48
