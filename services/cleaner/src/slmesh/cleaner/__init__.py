"""slmesh cleaner micromodel: raw text cleaned and normalised (deterministic)."""
