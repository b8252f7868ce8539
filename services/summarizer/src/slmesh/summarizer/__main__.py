from slmesh.runtime.micromodel import serve
from slmesh.summarizer.micromodel import build

serve(build())
