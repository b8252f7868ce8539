"""What `slmesh` takes unless told otherwise: the sample request, the services `slmesh dev`
starts (and `slmesh topics apply` makes topics for), the dev broker's port.

Apart from the dev stack: the parser shows them in its defaults and help texts, and
building it must not import the stack.
"""

SAMPLE_REQUEST = "What are the VAT rates in Germany, France and Italy?"

ORCHESTRATOR_MODULE = "slmesh.orchestrator"
# Micromodel name -> module run with `python -m`.
DEFAULT_MICROMODELS: dict[str, str] = {
    "vat-rates": "slmesh.vat_rates",
    "summarizer": "slmesh.summarizer",
    "classifier": "slmesh.classifier",
    "extractor": "slmesh.extractor",
}
DEFAULT_BROKER_PORT = 9092
