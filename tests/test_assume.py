"""Assumed roles (``assume.AssumedRoles``): real aiobotocore STS and Chime clients over loopback against
the in-process emulator, whose STS dials refuse, throttle and shorten sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from batchproxy.assume import AssumedRoles, check_role_options
from batchproxy.config import RunConfig
from batchproxy.emulator import Emulator, EmulatorConfig, serve
from batchproxy.engine.retry import RetryPolicy
from batchproxy.errors import CredentialsRefused, UsageError
from batchproxy.principal import Role
from batchproxy.redact import redact_secrets

BASE = ("AKIDBASEFORASSUMING1", "base-secret-not-checked")
ROLE = Role("arn:aws:iam::333344445555:role/Deployer")
REGION = "us-east-1"
FAST = RetryPolicy(4, base=0.01, cap=0.02)


def run_config(**changes: object) -> RunConfig:
    settings: dict[str, object] = {
        "input_path": Path("in.csv"),
        "results_path": Path("in.results.csv"),
        "failures_path": None,
        "region": None,
        "profile": None,
        "endpoint_url": None,
        "role_session_name": "batchproxy-test",
    }
    return RunConfig(**(settings | changes))  # type: ignore[arg-type]


def roles_on(emulator: Emulator, policy: RetryPolicy = FAST) -> AssumedRoles:
    # The run's policy waits 0.2 s and more between attempts; these tests need not.
    return AssumedRoles.static(BASE, config=run_config(), sts_endpoint_url=emulator.url, policy=policy)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(account_connectors=((ROLE.account, REGION, "vc-1"),))
    async with serve(config) as running:
        yield running


async def put_as(session_roles: AssumedRoles, emulator: Emulator) -> None:
    session = await session_roles.session(ROLE, REGION)
    async with session.create_client(
        "chime-sdk-voice", region_name=REGION, endpoint_url=emulator.url
    ) as chime:
        await chime.put_voice_connector_proxy(
            VoiceConnectorId="vc-1", DefaultSessionExpiryMinutes=5, PhoneNumberPoolCountries=["US"]
        )


async def test_concurrent_asks_assume_the_role_once_and_sign_in_its_account(emulator: Emulator) -> None:
    """Ten workers ask at once: one AssumeRole; the session's keys reach the role's account."""
    async with roles_on(emulator) as roles:
        sessions = []

        async def ask() -> None:
            sessions.append(await roles.session(ROLE, REGION))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(ask)
        assert len({id(session) for session in sessions}) == 1
        assert emulator.stats.assume_role_requests[ROLE.arn] == 1
        await put_as(roles, emulator)
    assert emulator.account(ROLE.account).connector(REGION, "vc-1").proxy is not None  # type: ignore[union-attr]
    assert emulator.stats.writes_by_account == {ROLE.account: 1}


async def test_a_refused_role_is_asked_once_and_refused_again_from_memory(emulator: Emulator) -> None:
    emulator.sts.denied_accounts.add(ROLE.account)
    async with roles_on(emulator) as roles:
        for _ in range(3):
            with pytest.raises(CredentialsRefused) as refused:
                await roles.session(ROLE, REGION)
            assert refused.value.code == "AccessDenied"
            assert ROLE.arn in refused.value.reason
    assert emulator.stats.assume_role_requests[ROLE.arn] == 1


async def test_sts_throttling_is_retried_as_throttling(emulator: Emulator) -> None:
    """Throttling is HTTP 400 in STS: retried all the same, within the policy's attempts."""
    emulator.sts.throttle = 3
    async with roles_on(emulator) as roles:
        await roles.session(ROLE, REGION)
    assert emulator.stats.assume_role_requests[ROLE.arn] == 4
    assert emulator.stats.assume_role_granted[ROLE.arn] == 1


async def test_sts_failing_past_the_attempts_skips_the_role(emulator: Emulator) -> None:
    emulator.sts.failures = 10
    async with roles_on(emulator) as roles:
        with pytest.raises(CredentialsRefused) as refused:
            await roles.session(ROLE, REGION)
    assert refused.value.code == "ServiceUnavailable"
    assert "attempts spent" in refused.value.reason
    assert emulator.stats.assume_role_requests[ROLE.arn] == 4


async def test_short_sessions_are_refreshed_before_they_expire(emulator: Emulator) -> None:
    """A 2-second session: botocore's refreshable credentials get new keys before the old expire, and
    each new secret is registered for redaction as it arrives."""
    emulator.sts.credential_lifetime = 2
    async with roles_on(emulator) as roles:
        session = await roles.session(ROLE, REGION)
        credentials = await session.get_credentials()
        first = await credentials.get_frozen_credentials()
        await anyio.sleep(1.6)
        second = await credentials.get_frozen_credentials()
        assert second.access_key != first.access_key
        await put_as(roles, emulator)  # signed with the fresh keys: accepted
    assert emulator.stats.assume_role_granted[ROLE.arn] == 2
    for secret in (first.secret_key, first.token, second.secret_key, second.token):
        assert secret not in redact_secrets(f"quoted: {secret}.")


def test_role_options_are_checked_before_anything_is_sent() -> None:
    check_role_options(run_config(role_name="Deployer", external_id="ext-1234"))
    for bad in ({"role_name": "has space"}, {"role_session_name": "x"}, {"external_id": "a b"}):
        with pytest.raises(UsageError):
            check_role_options(run_config(**bad))
