"""Remote models: a micromodel's inference on an OpenAI-compatible chat-completions endpoint.

The same SDK as a local model: the micromodel's `infer` gets a ModelSession, whose
`complete` and `complete_json` go to the endpoint (`RemoteModel`, through `httpx`, the
runtime's `remote` extra) instead of llama.cpp. What differs, and why:

- The prompt goes as one user message, its text. The template/untrusted split of a
  `Prompt` (slmesh.runtime.llm.prompt) cannot travel over the chat API: whether text
  in a message can become a control token is then the server's affair (OpenAI's and
  llama.cpp's server keep message text apart from the chat template's tokens; check
  yours).
- `score_options` needs the model's likelihoods, which a chat endpoint does not give:
  a micromodel that ranks options (the classifier) needs a local model, and says so.
- GBNF grammars are llama.cpp's: `complete_json` sends the JSON Schema as the
  endpoint's response format instead (`json_mode`).
- Calls fail for reasons a local model has not: rate limits, outages, slowness. They
  are retried with backoff (`retries`); after that the task fails with
  `remote_rate_limited`, `remote_unavailable` or `remote_timeout` (retryable: the
  caller may send again later) or `remote_error` (the endpoint refused the call).

`settings` is importable without httpx (every micromodel's settings name it); `RemoteModel`
loads httpx when it is first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slmesh.runtime.llm.remote.settings import RemoteModelSettings

if TYPE_CHECKING:
    from slmesh.runtime.llm.remote.model import RemoteModel

__all__ = ["RemoteModel", "RemoteModelSettings"]


def __getattr__(name: str) -> Any:
    # Only where a remote model runs: `from slmesh.runtime.llm.remote import RemoteModel`.
    if name == "RemoteModel":
        from slmesh.runtime.llm.remote.model import RemoteModel

        return RemoteModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
