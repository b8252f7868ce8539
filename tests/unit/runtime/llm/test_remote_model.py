"""A remote model against an endpoint that answers as scripted: what it sends, which failures
it retries and how long it waits, what a task fails with when the retries are spent, and
that its API key goes to the endpoint as a Bearer header and nowhere else.

Against a real HTTP server (tests/support/scripted_endpoint.py). The same model against a
real model server, through the mesh: tests/integration/test_remote_model.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slmesh.cli.devstack import free_port
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import ModelSession, gbnf_grammar, template, untrusted
from slmesh.runtime.llm.errors import LocalModelRequired, RemoteModelError
from slmesh.runtime.llm.remote import RemoteModel, RemoteModelSettings
from tests.support.scripted_endpoint import COMPLETION, Answer, ScriptedEndpoint

KEY = "sk-test-Q7mZ2xV9pL4rT8wK3nB6"
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}


def model_for(base_url: str, **settings: Any) -> RemoteModel:
    """A remote model with quick retries: backoff bounds of tens of milliseconds."""
    values: dict[str, Any] = {
        "base_url": base_url,
        "model": "model-m",
        "api_key": KEY,
        "retries": 2,
        "backoff_s": 0.02,
        "max_backoff_s": 0.05,
        "timeout_s": 2.0,
        **settings,
    }
    return RemoteModel(RemoteModelSettings(**values))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log line at every level, httpx's and httpcore's included."""
    with caplog.at_level(logging.DEBUG):
        for name in ("httpx", "httpcore", "slmesh"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield caplog


def failure(model: RemoteModel) -> RemoteModelError:
    with pytest.raises(RemoteModelError) as info:
        model.complete("Headline:")
    return info.value


def test_a_prompt_goes_as_one_user_message_and_the_key_as_a_bearer_header() -> None:
    prompt = template("Article: ") + untrusted("Snow <end_of_turn> closed it") + template("\nH:")
    with ScriptedEndpoint() as endpoint:
        model = model_for(endpoint.base_url)
        generation = model.complete(prompt, max_tokens=7, stop=["\n"])
    assert (generation.text, generation.finish_reason) == ("a headline", "stop")
    # Counted by the endpoint: the reply's tokens are its usage.
    assert (generation.prompt_tokens, generation.completion_tokens) == (12, 3)
    [call] = endpoint.received
    assert (call.method, call.path) == ("POST", "/v1/chat/completions")
    assert call.headers["authorization"] == f"Bearer {KEY}"
    assert call.body == {
        "model": "model-m",
        "messages": [{"role": "user", "content": "Article: Snow <end_of_turn> closed it\nH:"}],
        "max_tokens": 7,
        "temperature": 0.0,
        "stream": False,
        "stop": ["\n"],
    }


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "json_schema",
            {"type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA}},
        ),
        ("json_object", {"type": "json_object", "schema": SCHEMA}),
    ],
)
def test_json_is_asked_for_as_the_endpoints_response_format(
    mode: str, expected: dict[str, Any]
) -> None:
    answer = {**COMPLETION, "choices": [{"message": {"content": '{"name": "Max"}'}}]}
    with ScriptedEndpoint(Answer(body=answer)) as endpoint:
        session = ModelSession(model_for(endpoint.base_url, json_mode=mode))
        assert session.complete_json("Name:", SCHEMA, max_tokens=30) == {"name": "Max"}
    assert endpoint.received[0].body["response_format"] == expected
    assert endpoint.received[0].body["max_tokens"] == 30
    assert session.usage.completions == 1
    assert session.usage.prompt_tokens == 12


def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(
    logs: pytest.LogCaptureFixture,
) -> None:
    script = (Answer(429, headers={"retry-after": "0"}), Answer(503))
    with ScriptedEndpoint(*script) as endpoint:
        generation = model_for(endpoint.base_url).complete("Headline:")
    assert generation.text == "a headline"
    assert len(endpoint.received) == 3
    retries = [r.getMessage() for r in logs.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2, retries
    assert "answered 429 Too Many Requests (attempt 1 of 3); retrying in 0.00 s" in retries[0]
    assert "answered 503 Service Unavailable (attempt 2 of 3)" in retries[1]


def test_a_rate_limit_that_lasts_fails_remote_rate_limited_once_the_retries_are_spent() -> None:
    with ScriptedEndpoint(*[Answer(429)] * 5) as endpoint:
        error = failure(model_for(endpoint.base_url))
    assert (error.code, error.retryable, error.attempts) == ("remote_rate_limited", True, 3)
    assert len(endpoint.received) == 3
    assert "at 127.0.0.1: answered 429 Too Many Requests" in str(error)
    assert "(3 attempts in" in str(error)


def test_a_retry_after_beyond_the_backoff_bound_fails_at_once() -> None:
    with ScriptedEndpoint(Answer(429, headers={"retry-after": "120"})) as endpoint:
        error = failure(model_for(endpoint.base_url))
    assert (error.code, error.attempts) == ("remote_rate_limited", 1)
    assert "asks to retry after 120 s, longer than SLMESH_REMOTE__MAX_BACKOFF_S" in str(error)


def test_a_refused_call_is_not_retried() -> None:
    refusal = {"error": {"message": "max_tokens is too large"}}
    with ScriptedEndpoint(Answer(400, body=refusal)) as endpoint:
        error = failure(model_for(endpoint.base_url))
    assert (error.code, error.retryable, error.attempts) == ("remote_error", False, 1)
    assert len(endpoint.received) == 1
    assert "answered 400 Bad Request: max_tokens is too large" in str(error)


def test_a_slow_endpoint_fails_remote_timeout() -> None:
    with ScriptedEndpoint(*[Answer(delay_s=0.6)] * 2) as endpoint:
        started = time.monotonic()
        error = failure(model_for(endpoint.base_url, timeout_s=0.2, retries=1))
    assert (error.code, error.retryable, error.attempts) == ("remote_timeout", True, 2)
    assert "did not answer within 0.2 s" in str(error)
    assert time.monotonic() - started < 1.5


def test_an_endpoint_that_is_not_there_fails_remote_unavailable() -> None:
    error = failure(model_for(f"http://127.0.0.1:{free_port()}/v1", retries=1))
    assert (error.code, error.retryable, error.attempts) == ("remote_unavailable", True, 2)
    assert "could not connect (Connection refused)" in str(error)


def test_an_answer_that_is_no_chat_completion_is_a_remote_error() -> None:
    with ScriptedEndpoint(Answer(body={"object": "list"})) as endpoint:
        error = failure(model_for(endpoint.base_url))
    assert (error.code, error.attempts) == ("remote_error", 1)


def test_an_endpoint_that_counts_no_tokens_gets_estimates() -> None:
    answer = {"choices": [{"message": {"content": "twelve chars"}, "finish_reason": "stop"}]}
    with ScriptedEndpoint(Answer(body=answer)) as endpoint:
        generation = model_for(endpoint.base_url).complete("x" * 40)
    assert (generation.prompt_tokens, generation.completion_tokens) == (10, 3)


def test_likelihoods_and_grammars_need_a_local_model() -> None:
    model = model_for("http://127.0.0.1:9/v1")
    with pytest.raises(LocalModelRequired, match="it needs a local model"):
        model.score_options("Label:", ["billing", "delivery"])
    with pytest.raises(LocalModelRequired, match="cannot be sent to a remote model"):
        model.complete("x", grammar=gbnf_grammar('root ::= "a"'))


def test_the_probe_at_start_says_whether_the_endpoint_answers() -> None:
    with ScriptedEndpoint(Answer(body={"data": []}), Answer(401)) as endpoint:
        model = model_for(endpoint.base_url)
        assert model.probe() is None
        assert model.probe() == "answered 401 Unauthorized"
    assert [r.path for r in endpoint.received] == ["/v1/models", "/v1/models"]
    assert model_for(f"http://127.0.0.1:{free_port()}/v1").probe() == (
        "could not connect (Connection refused)"
    )


async def test_calls_run_side_by_side_up_to_the_models_concurrency() -> None:
    with ScriptedEndpoint(*[Answer(delay_s=0.4)] * 3) as endpoint:
        model = model_for(endpoint.base_url, concurrency=3)
        worker = Worker("remote", threads=model.concurrency)
        sessions = [ModelSession(model) for _ in range(3)]
        started = time.monotonic()
        try:
            await asyncio.gather(
                *(s.run_in(worker, functools.partial(s.complete, "Headline:")) for s in sessions)
            )
        finally:
            worker.shutdown()
        # Three calls of 0.4 s, one after the other, would take 1.2 s.
        assert time.monotonic() - started < 1.0
    assert all(s.usage.completions == 1 for s in sessions)


# --- the API key -------------------------------------------------------------------------


def _everything_said_about(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def test_the_key_is_in_no_error_chain_repr_or_log(
    logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # An endpoint that echoes the key it was given in its refusal.
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}"}}
    with ScriptedEndpoint(Answer(401, body=echo)) as endpoint:
        model = model_for(endpoint.base_url)
        refused = failure(model)
    assert "answered 401 Unauthorized: Incorrect API key provided: ***" in str(refused)
    # So for a key read from its file.
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY)
    with ScriptedEndpoint(Answer(401, body=echo)) as endpoint:
        from_file = failure(model_for(endpoint.base_url, api_key=None, api_key_file=key_file))
    assert "Incorrect API key provided: ***" in str(from_file)
    unreachable = failure(model_for(f"http://127.0.0.1:{free_port()}/v1", retries=1))
    slow_script = [Answer(delay_s=0.5)] * 2
    with ScriptedEndpoint(*slow_script) as endpoint:
        timed_out = failure(model_for(endpoint.base_url, timeout_s=0.1, retries=1))

    for error in (refused, from_file, unreachable, timed_out):
        # No httpx error behind ours, not even as its context: its request holds the key.
        assert error.__cause__ is None
        assert error.__context__ is None
        assert KEY not in _everything_said_about(error)
    assert KEY not in repr(model)
    assert KEY not in repr(model.settings)
    assert KEY not in str(model.settings.model_dump())
    assert KEY not in logs.text
    # The lines were there to hold it: httpx's and httpcore's at DEBUG, our retries.
    assert "retrying in" in logs.text
    assert "httpcore" in {r.name.split(".")[0] for r in logs.records}


def test_a_key_file_is_read_for_each_call(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY + "\n")
    with ScriptedEndpoint() as endpoint:
        model = model_for(endpoint.base_url, api_key=None, api_key_file=key_file)
        model.complete("one")
        key_file.write_text("sk-rotated-2\n")  # a Secret rotated in place
        model.complete("two")
    assert [r.headers["authorization"] for r in endpoint.received] == [
        f"Bearer {KEY}",
        "Bearer sk-rotated-2",
    ]


def test_a_key_file_that_cannot_be_read_fails_the_call_naming_the_variable(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text("two words\n")
    with ScriptedEndpoint() as endpoint:
        error = failure(model_for(endpoint.base_url, api_key=None, api_key_file=key_file))
    assert (error.code, error.retryable) == ("remote_error", False)
    assert "SLMESH_REMOTE__API_KEY_FILE holds no usable key" in str(error)
    assert "two words" not in str(error)
    assert endpoint.received == []
