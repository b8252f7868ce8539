"""validator micromodel: extracted fields checked against rules (deterministic)."""
