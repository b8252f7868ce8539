"""classifier micromodel."""
