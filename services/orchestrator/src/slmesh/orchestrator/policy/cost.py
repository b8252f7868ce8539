"""What a request cost: each call's tokens at the price its micromodel's card gave when the
call was routed, the orchestrator's own model's at its setting, and how much of the
request was answered without any remote model. Pure: from the outcomes alone."""

from __future__ import annotations

from collections import defaultdict

from slmesh.schemas import CallOutcome, CostReport, ModelPrice, ModelWork, TokenUsage

DEFAULT_CURRENCY = "USD"


def cost_of(tokens: TokenUsage | None, price: ModelPrice | None) -> float | None:
    """What `tokens` cost at `price` (0 when free); None when nothing was spent or counted."""
    if tokens is None:
        return None
    if price is None:
        return 0.0
    return (tokens.prompt * price.input_per_mtok + tokens.completion * price.output_per_mtok) / (
        1_000_000
    )


def cost_report(
    calls: list[CallOutcome],
    *,
    planning: ModelWork | None = None,
    composing: ModelWork | None = None,
    planning_price: ModelPrice | None = None,
    composing_price: ModelPrice | None = None,
) -> CostReport:
    """Tokens and cost of a request, per model and in total, and its local share.

    Costs are summed in one currency, the orchestrator's models' (USD unpriced): a mesh
    prices every model in the same one.
    """
    by_model: dict[str, float] = defaultdict(float)
    prompt = completion = 0
    own = planning_price or composing_price
    currency = own.currency if own is not None else None
    for call in calls:
        if call.tokens is not None:
            prompt += call.tokens.prompt
            completion += call.tokens.completion
        if call.cost is not None:
            by_model[_model_of(call)] += call.cost
    for work, price in ((planning, planning_price), (composing, composing_price)):
        if work is None:
            continue
        prompt += work.tokens.prompt
        completion += work.tokens.completion
        by_model[work.model] += cost_of(work.tokens, price) or 0.0
    answered = [call for call in calls if call.status == "ok"]
    remote = sum(
        1 for call in answered if call.routing is not None and call.routing.locality == "remote"
    )
    return CostReport(
        currency=currency or DEFAULT_CURRENCY,
        total=round(sum(by_model.values()), 9),
        tokens=TokenUsage(prompt=prompt, completion=completion),
        by_model={model: round(cost, 9) for model, cost in sorted(by_model.items())},
        remote_calls=remote,
        local_share=round((len(answered) - remote) / len(answered), 4) if answered else 1.0,
    )


def at_provider(model: str, provider: str | None) -> str:
    """What a remote model's cost is counted under: the model with its provider (the same
    weights at a provider and on-premise are two costs)."""
    return f"{model}@{provider or 'remote'}"


def _model_of(call: CallOutcome) -> str:
    """The model a call's cost is counted under (a remote one: `at_provider`)."""
    model = call.model or call.micromodel
    routing = call.routing
    if routing is not None and routing.locality == "remote":
        return at_provider(model, routing.provider)
    return model
