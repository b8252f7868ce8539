from slmesh.classifier.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
