"""extractor micromodel."""
