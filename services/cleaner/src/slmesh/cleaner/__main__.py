"""cleaner micromodel: raw text cleaned and normalised (deterministic)."""

from slmesh.cleaner.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
