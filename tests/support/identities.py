"""The callers of the suite's keyring (tests/conftest.py makes it), by name: who the tests
prove requests as, and what the trust file lets each do."""

from __future__ import annotations

# As which the tests' clients ask, unless a test says otherwise (MeshClient's default).
DEV_CALLER = "dev"
# A second caller, for the tests that one caller cannot see or silence another's requests.
OTHER_CALLER = "other"
# A caller held to an allow-list and a cap of its own (tests of both).
LIMITED_CALLER = "limited"
LIMITED_MAY_CALL = ("vat-rates", "ghost")
LIMITED_MAX_IN_FLIGHT = 2
