"""What every `slmesh` command shares: its exit codes, what it says when the mesh is not
there, the sample request, and what `slmesh dev` starts unless told otherwise.

Apart from the commands and the dev stack: the parser shows these in its defaults
and help texts, and building it must import neither.
"""

# Exit codes beyond 0. `slmesh ask`: 1 is answered with status failed; beyond it:
NO_RESPONSE = 2
NO_ORCHESTRATOR = 3
NO_BROKER = 4
# `slmesh dev` without the binaries of its extra.
DEV_EXTRA_MISSING = 5
# `slmesh trace`, `tail`, `replay`: no record of that request, or no such topic.
NOT_FOUND = 6
# Any reader command: the broker refuses this client's TLS (untrusted certificate, client
# certificate refused); waiting will not help.
TLS_REFUSED = 7
# Any command: a SLMESH_* setting is invalid (named, never its value, which may be a secret).
INVALID_SETTINGS = 8
# `slmesh dlq requeue`, `slmesh replay`, `slmesh shadow`: what was asked was refused, in part
# or whole, each said with why (a dead letter naming a topic it may not go to, a request that
# cannot be replayed as its caller, a candidate topic outside the shadow topics).
REFUSED = 9
# A request given by file (`--request`) that is no valid request.
INVALID_REQUEST = 10

START_HINT = "Is the mesh running? `slmesh dev` starts one, and says there when a service dies."

SAMPLE_REQUEST = "What are the VAT rates in Germany, France and Italy?"

# What `slmesh dev` starts; its keyring's identities serve these, so `slmesh topics apply`
# makes their task topics.
ORCHESTRATOR_MODULE = "slmesh.orchestrator"
# Micromodel name -> module run with `python -m`.
DEFAULT_MICROMODELS: dict[str, str] = {
    "vat-rates": "slmesh.vat_rates",
    "summarizer": "slmesh.summarizer",
    "classifier": "slmesh.classifier",
    "extractor": "slmesh.extractor",
    "pii": "slmesh.pii",
    "validator": "slmesh.validator",
    # The use cases' own (pipelines/): a policy's FAQ, a customer's reply, versioned rules,
    # a text cleaned, a CVE's remediation record.
    "faq": "slmesh.faq",
    "replier": "slmesh.replier",
    "rules": "slmesh.rules",
    "cleaner": "slmesh.cleaner",
    "remediation": "slmesh.remediation",
}
# What `slmesh dev --cloud` adds: micromodels run under another name on the stand-in cloud.
CLOUD_MICROMODELS: dict[str, str] = {
    "summarizer-cloud": "slmesh.summarizer",
    "summarizer-redacting": "slmesh.summarizer",
}
# Their settings: priced as a small cloud model is (per million tokens), and what each does
# with a payload carrying personal data: summarizer-cloud sends it to the local summarizer,
# summarizer-redacting takes it with the personal data replaced.
_CLOUD_PRICE = {
    "SLMESH_REMOTE__PRICE_INPUT_PER_MTOK": "0.15",
    "SLMESH_REMOTE__PRICE_OUTPUT_PER_MTOK": "0.6",
}
CLOUD_SETTINGS: dict[str, dict[str, str]] = {
    "summarizer-cloud": _CLOUD_PRICE,
    "summarizer-redacting": {**_CLOUD_PRICE, "SLMESH_ON_PII": "redact"},
}
DEFAULT_BROKER_PORT = 9092
