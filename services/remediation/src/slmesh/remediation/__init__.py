"""slmesh remediation micromodel: advisories about one CVE made one remediation record
(deterministic)."""
