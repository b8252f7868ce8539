"""replier micromodel: a short, polite reply to a customer's message on its topic (small model)."""

from slmesh.replier.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
