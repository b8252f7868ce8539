"""One remote model: chat completions over HTTP, retried with backoff, counted like a local one.

Calls block (httpx's synchronous client): the SDK runs them in the service's worker
threads, `concurrency` of them at once, over one connection pool of that size.

The API key is sent as a Bearer header and nowhere else. No exception of httpx leaves
this module, not even as the context of one of ours: its request object holds the
headers. What a failure says is composed here from the status, the endpoint's host and
the error's kind, and any text the endpoint sent back is scrubbed of the key.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from slmesh.runtime.backoff import full_jitter
from slmesh.runtime.llm.errors import LocalModelRequired, RemoteModelError
from slmesh.runtime.llm.prompt import Prompt, as_prompt
from slmesh.runtime.llm.remote.retries import code_for_status, is_retried, retry_after_s
from slmesh.runtime.llm.remote.settings import KeyUnreadable, RemoteModelSettings
from slmesh.runtime.llm.usage import Generation
from slmesh.runtime.tracing import model_retry

if TYPE_CHECKING:
    from llama_cpp.llama_grammar import LlamaGrammar

    from slmesh.schemas import ErrorCode, Locality, ModelPrice

logger = logging.getLogger(__name__)

# Characters per token, for estimates where the endpoint does not count: about four in
# English text for the common BPE vocabularies.
CHARS_PER_TOKEN = 4
# How much of an endpoint's error message a failure quotes.
QUOTED_CHARS = 200


@dataclass(frozen=True)
class _Failure:
    """One attempt that failed: its code, what happened, whether another may succeed."""

    code: ErrorCode
    reason: str
    retried: bool
    retry_after_s: float | None = None


class RemoteModel:
    """A model behind an OpenAI-compatible chat-completions endpoint. Calls block."""

    def __init__(self, settings: RemoteModelSettings) -> None:
        self.settings = settings
        self.id = settings.model
        self._client = httpx.Client(
            # The trailing slash makes "chat/completions" a path under the base URL's.
            base_url=settings.base_url + "/",
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=settings.concurrency,
                max_keepalive_connections=settings.concurrency,
            ),
            # A redirect would carry the key to wherever it points.
            follow_redirects=False,
            headers={"user-agent": "slmesh"},
        )

    def __repr__(self) -> str:
        return f"RemoteModel({self.id!r} at {self.settings.who})"

    # Where it runs and what it costs, for the card (slmesh.runtime.llm.kind.Model).
    @property
    def locality(self) -> Locality:
        return "remote"

    @property
    def provider(self) -> str:
        return self.settings.who

    @property
    def price(self) -> ModelPrice | None:
        return self.settings.price

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency

    @property
    def admitted(self) -> int:
        # Each admitted task has a call in flight: the endpoint is the queue.
        return self.settings.concurrency

    def count_tokens(self, prompt: Prompt | str) -> int:
        """An estimate: the endpoint's tokenizer is not here (replies carry its counts)."""
        return estimate_tokens(as_prompt(prompt).text)

    def complete(
        self,
        prompt: Prompt | str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Generation:
        if grammar is not None:
            raise LocalModelRequired(
                "a GBNF grammar constrains a local model's tokens and cannot be sent to a "
                "remote model: use complete_json (a JSON Schema), or run a local model"
            )
        return self._call(self._body(prompt, max_tokens, stop))

    def complete_json(
        self, prompt: Prompt | str, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        """JSON valid against `schema`, asked of the endpoint as its response format."""
        body = self._body(prompt, max_tokens, None)
        if self.settings.json_mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        else:
            body["response_format"] = {"type": "json_object", "schema": schema}
        return self._call(body)

    def score_options(self, prompt: Prompt | str, options: list[str]) -> list[float]:
        raise LocalModelRequired(
            "this micromodel ranks options by the model's likelihoods (score_options), which "
            f"a chat-completions endpoint does not give: it needs a local model, not "
            f"{self.id} at {self.settings.who} (unset SLMESH_REMOTE__BASE_URL)"
        )

    def probe(self) -> str | None:
        """Whether the endpoint answers its model list (once, at start, not retried): None
        when it does, else what went wrong, for a log line."""
        try:
            headers = self._headers()
        except KeyUnreadable as exc:
            return str(exc)
        failure: str | None = None
        try:
            response = self._client.get("models", headers=headers)
        except httpx.HTTPError as exc:
            failure = _transport_reason(exc, self.settings)
        else:
            if response.status_code >= 400:
                failure = f"answered {response.status_code} {response.reason_phrase}"
        return failure

    def close(self) -> None:
        self._client.close()

    # --- one call --------------------------------------------------------------------

    def _body(
        self, prompt: Prompt | str, max_tokens: int | None, stop: list[str] | None
    ) -> dict[str, Any]:
        # One user message, the prompt's text: the template/untrusted split cannot travel
        # over the chat API, so control-token safety is the server's (see the package).
        body: dict[str, Any] = {
            "model": self.id,
            "messages": [{"role": "user", "content": as_prompt(prompt).text}],
            "max_tokens": max_tokens or self.settings.max_tokens,
            "temperature": self.settings.temperature,
            "stream": False,
        }
        if stop:
            body["stop"] = stop
        return body

    def _headers(self) -> dict[str, str]:
        key = self.settings.key()
        return {"authorization": f"Bearer {key}"} if key is not None else {}

    def _call(self, body: dict[str, Any]) -> Generation:
        """One completion: attempts until one succeeds, a failure is not worth another, or
        the retries are spent (then RemoteModelError)."""
        settings = self.settings
        started = time.perf_counter()
        delays = full_jitter(settings.backoff_s, settings.max_backoff_s, settings.retries)
        attempts = settings.retries + 1
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(body)
            if isinstance(outcome, Generation):
                # The time the task waited for the model, its retries included.
                seconds = time.perf_counter() - started
                return Generation(
                    outcome.text,
                    outcome.prompt_tokens,
                    outcome.completion_tokens,
                    seconds,
                    outcome.finish_reason,
                )
            delay = next(delays, None) if outcome.retried else None
            if delay is not None and outcome.retry_after_s is not None:
                if outcome.retry_after_s > settings.max_backoff_s:
                    raise self._failed(
                        outcome,
                        attempt,
                        started,
                        f"; it asks to retry after {outcome.retry_after_s:g} s, longer than "
                        f"SLMESH_REMOTE__MAX_BACKOFF_S ({settings.max_backoff_s:g} s)",
                    )
                # The endpoint said when: no guess of ours is better.
                delay = outcome.retry_after_s
            if delay is None:
                raise self._failed(outcome, attempt, started)
            logger.warning(
                "remote model %s at %s: %s (attempt %d of %d); retrying in %.2f s",
                self.id,
                settings.host,
                outcome.reason,
                attempt,
                attempts,
                delay,
            )
            model_retry(attempt, outcome.code, outcome.reason, delay)
            time.sleep(delay)

    def _failed(
        self, failure: _Failure, attempts: int, started: float, more: str = ""
    ) -> RemoteModelError:
        elapsed = time.perf_counter() - started
        tried = f"{attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.1f} s"
        return RemoteModelError(
            failure.code,
            f"remote model {self.id} at {self.settings.host}: {failure.reason}{more} ({tried})",
            # A refusal of the call itself stays a refusal; the rest may pass.
            retryable=failure.code != "remote_error",
            attempts=attempts,
        )

    def _attempt(self, body: dict[str, Any]) -> Generation | _Failure:
        """One HTTP exchange: its generation, or why it failed. Never raises an httpx error:
        the failure is composed outside its `except`, so no chain holds the request."""
        try:
            headers = self._headers()
        except KeyUnreadable as exc:
            return _Failure("remote_error", str(exc), retried=False)
        failure: _Failure | None = None
        try:
            response = self._client.post("chat/completions", json=body, headers=headers)
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc, self.settings)
        if failure is not None:
            return failure
        status = response.status_code
        if status >= 400:
            return _Failure(
                code_for_status(status),
                f"answered {status} {response.reason_phrase}{self._quoted_error(response)}",
                retried=is_retried(status),
                retry_after_s=retry_after_s(response.headers.get("retry-after")),
            )
        return self._generation(response, body)

    def _generation(self, response: httpx.Response, body: dict[str, Any]) -> Generation | _Failure:
        try:
            answer = orjson.loads(response.content)
            choice = answer["choices"][0]
            text = choice["message"]["content"] or ""
            finish_reason = str(choice.get("finish_reason") or "")
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            return _Failure(
                "remote_error",
                f"answered {response.status_code} with no chat completion in its body",
                retried=False,
            )
        usage = answer.get("usage")
        if isinstance(usage, dict) and "prompt_tokens" in usage:
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        else:
            # Some servers count nothing: the reply's tokens are then estimates.
            prompt_tokens = estimate_tokens(str(body["messages"][0]["content"]))
            completion_tokens = estimate_tokens(text)
        return Generation(
            text=str(text),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=0.0,
            finish_reason=finish_reason,
        )

    def _quoted_error(self, response: httpx.Response) -> str:
        """The endpoint's own error message, short, without the key (an endpoint may echo
        what it was given)."""
        try:
            detail: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            detail = response.text
        if isinstance(detail, dict):
            # OpenAI's {"error": {"message": ...}}, FastAPI's {"detail": ...}; else nothing.
            error = detail.get("error", detail.get("detail"))
            detail = error.get("message") if isinstance(error, dict) else error
        text = " ".join(str(detail or "").split())[:QUOTED_CHARS]
        if not text:
            return ""
        try:
            key = self.settings.key()
        except KeyUnreadable:  # it was read for this very call; a file may change meanwhile
            key = None
        if key:
            text = text.replace(key, "***")
        return f": {text}"


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN)) if text else 0


def _transport_failure(exc: httpx.HTTPError, settings: RemoteModelSettings) -> _Failure:
    """What an exchange that got no answer means: slow (a timeout), or away."""
    reason = _transport_reason(exc, settings)
    if isinstance(exc, httpx.ConnectTimeout):
        return _Failure("remote_unavailable", reason, retried=True)
    if isinstance(exc, httpx.TimeoutException):
        return _Failure("remote_timeout", reason, retried=True)
    if isinstance(exc, httpx.TransportError):
        return _Failure("remote_unavailable", reason, retried=True)
    return _Failure("remote_error", reason, retried=False)


def _transport_reason(exc: httpx.HTTPError, settings: RemoteModelSettings) -> str:
    # Composed from the kind of error and the settings: httpx's own message is kept only
    # for errors that quote no request (a refused connection says "[Errno 111] ...").
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {settings.connect_timeout_s:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"did not answer within {settings.timeout_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({_errno_text(exc)})"
    return f"failed: {type(exc).__name__}"


def _errno_text(exc: Exception) -> str:
    """`Connection refused`, not the whole chain: an OS error's words, if there is one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__
