"""What every test layer shares: a real Redis the suite starts itself, and the markers.

Three markers set the slow tests apart, so that `make test-fast` can run the
rest (`pytest -m "not model and not redis and not processes"`):

- `model`: runs real llama.cpp inference: marked where a test loads a model, and
  given here to every test on the integration session's mesh (`stack`), whose
  micromodels run one;
- `redis`: needs a real Redis: given here to every test that uses the
  `redis_server` fixture, however indirectly;
- `processes`: starts the mesh's processes (services, the embedded broker,
  redis-server): given here to every test under `integration/` and `faults/`,
  and marked by hand in a unit test that starts them itself.

Markers given by evidence cannot be forgotten: a new test that asks for Redis,
or a new integration module, is out of the fast loop without anyone marking it.
`make test` runs everything, markers or not.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from slmesh.cli.devstack import RedisHandle, ensure_redis
from slmesh.runtime.trust import Member, dev_members, ensure_keyring
from tests.support.identities import (
    LIMITED_CALLER,
    LIMITED_MAX_IN_FLIGHT,
    LIMITED_MAY_CALL,
    OTHER_CALLER,
)

# Folders whose every test starts a dev stack, or processes of its own.
PROCESS_FOLDERS = ("integration", "faults")
TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "redis_server" in fixtures:
            item.add_marker(pytest.mark.redis)
        if "stack" in fixtures:  # the integration session's mesh: its micromodels run the model
            item.add_marker(pytest.mark.model)
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        if folder in PROCESS_FOLDERS:
            item.add_marker(pytest.mark.processes)


# Micromodels the tests declare or start, beside the mesh's own: each is served by an
# identity of its name, as `slmesh dev` makes them.
TEST_MICROMODELS = (
    "vat-rates",
    "summarizer",
    "classifier",
    "extractor",
    "pii",
    "validator",
    "faq",
    "replier",
    "rules",
    "cleaner",
    "remediation",
    "echo",
    "slow",
    "adder",
    "translator",
    "ghost",
    # Test micromodels of their own topic (test_idle_replica, test_slow_models).
    "spare",
    "slow-capped",
    # Routed by its card alone (test_card_routing).
    "glossary",
    # The summarizer on a remote model, the stand-in cloud's (test_remote_model).
    "summarizer-cloud",
)
_KEYRING = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """The suite's own keyring, made before any test module is imported (some build
    settings at import): every process and client of a test proves what it writes with
    keys made here, never with the user's dev keyring."""
    directory = Path(tempfile.mkdtemp(prefix="slmesh-keyring-"))
    ensure_keyring(
        directory,
        [
            *dev_members(TEST_MICROMODELS),
            Member(OTHER_CALLER, "caller", may_call=("*",)),
            Member(
                LIMITED_CALLER,
                "caller",
                may_call=LIMITED_MAY_CALL,
                max_in_flight=LIMITED_MAX_IN_FLIGHT,
            ),
        ],
    )
    config.stash[_KEYRING] = directory
    os.environ["SLMESH_KEYRING_DIR"] = str(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_KEYRING, None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def keyring(pytestconfig: pytest.Config) -> Path:
    """The suite's keyring (pytest_configure): trust.json and keys/<identity>.key."""
    return pytestconfig.stash[_KEYRING]


@pytest.fixture(scope="session")
async def redis_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisHandle]:
    """A Redis of the suite's own (never the one on :6379), for the whole session."""
    handle = await ensure_redis(None, own=True, workdir=Path(tmp_path_factory.mktemp("redis")))
    yield handle
    await handle.stop()
