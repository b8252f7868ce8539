"""Decisions the orchestrator makes about a request, as pure functions fed by cards and
settings: where each call's data may go (routing) and what it cost (cost)."""
