"""remediation micromodel: advisories about one CVE made one record (deterministic)."""

from slmesh.remediation.micromodel import build
from slmesh.runtime.micromodel import serve

serve(build())
