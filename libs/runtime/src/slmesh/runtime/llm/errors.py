"""What can go wrong with a model before or while it runs."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """The model could not be found or loaded; the service cannot start."""


class ContextOverflowError(ValueError):
    """The prompt and the answer it asks for do not fit in the model's context."""
