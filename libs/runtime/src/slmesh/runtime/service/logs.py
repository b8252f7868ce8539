"""What every slmesh service process does the same way: its settings, logging, the ready
line, running."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import TYPE_CHECKING, Literal, TypeVar

from slmesh.runtime.kafka.security import KafkaSecurityError
from slmesh.runtime.kafka.topics import MissingTopicsError, TopicCreationError
from slmesh.runtime.service.jsonlogs import JsonFormatter
from slmesh.runtime.settings_errors import InvalidSettingsError

if TYPE_CHECKING:
    from faststream import FastStream

    from slmesh.runtime.llm import LocalModel, ModelSettings
    from slmesh.runtime.llm.remote import RemoteModel, RemoteModelSettings
    from slmesh.runtime.settings import MeshSettings
    from slmesh.runtime.trust import MeshParty

    Settings = TypeVar("Settings", bound=MeshSettings)

logger = logging.getLogger(__name__)

# The dev stack and the tests wait for this word in a service's output.
READY_MARKER = "slmesh-ready"
# Exit status of a service whose model does not load (2: a usage error, not a
# crash): restarting it would not help.
MODEL_LOAD_FAILED = 2
# The service's settings cannot work (a setting invalid, TLS refused, topics missing for
# good): a supervisor restarting it would meet the same refusal.
MISCONFIGURED = 3


# Readiness is announced whatever the log level: supervisors wait for it.
lifecycle = logging.getLogger("slmesh.lifecycle")


def load_settings_or_exit(settings: type[Settings], *, what: str) -> Settings:
    """The service's settings from its environment, or the end of the process with what is
    wrong with them: each variable by name, never its value (settings_errors)."""
    try:
        return settings()
    except InvalidSettingsError as exc:
        # Logging is configured from these very settings: the defaults have to do.
        configure_logging("INFO")
        logger.error("%s cannot start: %s", what, exc)
        sys.exit(MISCONFIGURED)


def configure_logging(
    level: str,
    *,
    log_format: Literal["text", "json"] = "text",
    service: str = "",
    replica: str = "",
) -> None:
    """Text for a developer's terminal (the default); JSON lines for a log pipeline,
    each with the service, the replica, and the request, task and trace it is about."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    if log_format == "json":
        formatter = JsonFormatter(service, replica)
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
    # aiokafka logs every rebalance step at INFO; that is noise for a mesh operator. So
    # does httpx every call of a remote model (its failures and retries are logged by
    # the model itself), and httpcore every step of one at DEBUG.
    for noisy in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    lifecycle.setLevel(logging.INFO)


class _DropTopicCreationWarning(logging.Filter):
    # Topics are made by the services (in dev) or by `slmesh topics apply`, never
    # by the broker on first use: FastStream's reminder that it is off is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Auto create topics is disabled" not in record.getMessage()


# FastStream's own lifecycle lines go through this logger, in our format.
faststream_logger = logging.getLogger("slmesh.faststream")
faststream_logger.addFilter(_DropTopicCreationWarning())


# FastStream's run loop wakes this often to see whether it should stop. Its
# default, 0.1 s, is ten wake-ups a second in every idle service; half a
# second still stops within a blink of SIGTERM.
EXIT_CHECK_S = 0.5


def run(app: FastStream) -> None:
    """Run the service; a start refused for good ends it with the reason and MISCONFIGURED."""
    try:
        asyncio.run(app.run(sleep_time=EXIT_CHECK_S))
    except (KafkaSecurityError, MissingTopicsError, TopicCreationError) as exc:
        logger.error("cannot start: %s", exc)
        sys.exit(MISCONFIGURED)


def load_model_or_exit(settings: ModelSettings, *, what: str) -> LocalModel:
    """Load the service's model before anything connects, or end the process with the reason.

    A model that does not load would leave a consumer that joins its group and
    then fails every task; exiting with MODEL_LOAD_FAILED tells a supervisor
    that restarting will not help.
    """
    # Only here do numpy and llama_cpp load: a service without a model needs neither.
    from slmesh.runtime.llm import ModelLoadError
    from slmesh.runtime.llm.model import LocalModel

    try:
        return LocalModel.load(settings)
    except ModelLoadError as exc:
        logger.error("%s cannot start: %s", what, exc)
        sys.exit(MODEL_LOAD_FAILED)


def remote_model_or_exit(settings: RemoteModelSettings, *, what: str) -> RemoteModel:
    """The service's remote model, or the end of the process when it cannot have one (the
    `remote` extra is not installed).

    An endpoint that does not answer now does not stop the service: it may come back,
    and a service that exits would be restarted into the same outage while tasks pile up
    unanswered. It starts; each call fails `remote_unavailable` (retryable) until the
    endpoint answers again, and a probe at start says on the log whether it answers.
    """
    try:
        from slmesh.runtime.llm.remote import RemoteModel
    except ImportError as exc:
        logger.error(
            "%s cannot start: a remote model needs httpx (%s): install slmesh-runtime[remote]",
            what,
            exc.name,
        )
        sys.exit(MODEL_LOAD_FAILED)
    model = RemoteModel(settings)
    threading.Thread(
        target=_probe, args=(model, what), name="remote-model-probe", daemon=True
    ).start()
    return model


def _probe(model: RemoteModel, what: str) -> None:
    problem = model.probe()
    if problem is None:
        logger.info("%s runs on remote model %r, which answers", what, model)
    else:
        logger.warning(
            "%s runs on remote model %r, whose endpoint is not usable now (%s): it serves "
            "on, and its calls fail until the endpoint answers them",
            what,
            model,
            problem,
        )


def party_or_exit(settings: MeshSettings, identity: str) -> MeshParty:
    """This service's identity in the trust file, or the end of the process with the reason.

    A service that cannot prove what it writes, or check what it reads, must not
    start: its records would be refused everywhere, and it would believe anyone's.
    """
    from slmesh.runtime.trust import TrustUnavailable, mesh_party

    try:
        return mesh_party(settings, identity)
    except TrustUnavailable as exc:
        logger.error("%s cannot start: %s", identity, exc)
        sys.exit(MISCONFIGURED)
