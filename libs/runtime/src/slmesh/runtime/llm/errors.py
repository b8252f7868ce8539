"""What can go wrong with a model before or while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slmesh.schemas import ErrorCode


class ModelLoadError(RuntimeError):
    """The model could not be found or loaded; the service cannot start."""


class ContextOverflowError(ValueError):
    """The prompt and the answer it asks for do not fit in the model's context."""


class LocalModelRequired(RuntimeError):
    """The micromodel asked its model for something only a local model can do (its
    likelihoods), and it runs a remote one: running it again will not help."""


class RemoteModelError(RuntimeError):
    """A remote model's endpoint did not answer a call, after the retries it was worth.

    `code` is the task's error code; `retryable` tells the caller whether sending the
    request again later may succeed (the endpoint down, slow, or rate limiting: yes; the
    endpoint refusing the call: no). The message names the endpoint's host, what it
    answered and the attempts, never the API key.
    """

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool, attempts: int) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.retryable = retryable
        self.attempts = attempts
