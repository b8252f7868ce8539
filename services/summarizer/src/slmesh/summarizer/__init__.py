"""summarizer micromodel."""
