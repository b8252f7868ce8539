"""faq micromodel: answers a customer's question from its policy file, or says it has none."""

import logging
import sys

from slmesh.faq.micromodel import build
from slmesh.faq.policy import PolicyFileError
from slmesh.runtime.micromodel import serve
from slmesh.runtime.service.logs import MISCONFIGURED, configure_logging

try:
    micromodel = build()
except PolicyFileError as exc:
    # A policy that does not load stops the start, by name: a restart would meet it again.
    configure_logging("INFO")
    logging.getLogger("slmesh.faq").error("micromodel faq cannot start: %s", exc)
    sys.exit(MISCONFIGURED)
serve(micromodel)
