from slmesh.extractor.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
