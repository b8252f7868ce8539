"""rules micromodel: a record checked against versioned rules kept in files (deterministic)."""
