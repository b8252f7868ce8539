"""rules micromodel: checks a record against versioned rules kept in files (deterministic)."""

import logging
import sys

from slmesh.rules.micromodel import build
from slmesh.rules.rulesets import RulesetError
from slmesh.runtime.micromodel import serve
from slmesh.runtime.service.logs import MISCONFIGURED, configure_logging
from slmesh.runtime.settings_errors import InvalidSettingsError

try:
    micromodel = build()
except (RulesetError, InvalidSettingsError) as exc:
    # A rules file that does not fit stops the start, naming the file and the problem.
    configure_logging("INFO")
    logging.getLogger("slmesh.rules").error("micromodel rules cannot start: %s", exc)
    sys.exit(MISCONFIGURED)
serve(micromodel)
