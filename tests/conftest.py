"""Fixtures shared by the tests: the in-process emulator, a client pool pointed at it, and rows.

The emulator runs in the test's own event loop on a loopback port (``batchproxy.emulator.serve``):
real aioboto3 over real HTTP, no subprocess. The end-to-end tier (``tests/e2e``) keeps its own
subprocess helpers in ``tests/e2e/harness.py``.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import AsyncIterator, Callable

import pytest

from batchproxy.clients import ClientPool
from batchproxy.emulator import Emulator, EmulatorConfig, serve
from batchproxy.rows import Row, Target, proxy_settings
from tests.loopback import self_signed_context

REGION = "us-east-1"
# The emulator refuses this access key with 403: what a key without the IAM permission gets.
DENIED_KEY = "AKIDDENIEDBYEMULATOR"
TEST_CREDENTIALS = ("AKIDSHAREDFIXTURE001", "not-a-secret")

MakeRow = Callable[..., Row]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """An emulator holding ``vc-1`` in us-east-1, refusing ``DENIED_KEY``; each test turns its own dials."""
    config = EmulatorConfig(
        seed=7, connectors=((REGION, "vc-1"),), denied_access_keys=frozenset({DENIED_KEY})
    )
    async with serve(config) as running:
        yield running


@pytest.fixture
async def client_pool(emulator: Emulator) -> AsyncIterator[ClientPool]:
    """A ``ClientPool`` on the emulator with fixed test credentials."""
    pool = ClientPool(
        endpoint_url=emulator.url,
        max_connections=8,
        connect_timeout=5,
        read_timeout=5,
        static_credentials=TEST_CREDENTIALS,
    )
    async with pool:
        yield pool


def make_row(number: int, region: str = REGION, profile: str | None = None) -> Row:
    """Row ``number`` for connector ``vc<number>``: a 60-minute US proxy."""
    connector = f"vc{number:05d}"
    return Row(
        number=number,
        values=(connector, region, "60", "US"),
        target=Target(voice_connector_id=connector, region=region, profile=profile),
        settings=proxy_settings(default_session_expiry_minutes=60, phone_number_pool_countries=("US",)),
    )


@pytest.fixture
def row() -> MakeRow:
    """``row(number, region=..., profile=...)``: build an input row as the scanner would."""
    return make_row


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A TLS identity for 127.0.0.1 that no client trusts (openssl makes it once per session)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    return self_signed_context(tmp_path_factory.mktemp("tls"))
