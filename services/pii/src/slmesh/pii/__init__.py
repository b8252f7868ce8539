"""pii micromodel: personal data in English or German text, found and redacted (deterministic)."""
