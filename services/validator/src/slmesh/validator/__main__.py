"""validator micromodel: checks extracted fields against rules (deterministic)."""

from slmesh.runtime.micromodel import serve
from slmesh.validator.micromodel import build

serve(build())
