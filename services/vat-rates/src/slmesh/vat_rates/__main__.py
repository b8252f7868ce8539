from slmesh.runtime.micromodel import serve
from slmesh.vat_rates.micromodel import build

serve(build())
