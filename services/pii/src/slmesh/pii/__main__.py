"""pii micromodel: finds and redacts personal data (deterministic)."""

from slmesh.pii.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
