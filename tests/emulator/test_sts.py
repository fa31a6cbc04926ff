"""STS AssumeRole on the emulator's port, and connector state kept per account.

Real boto3 / aioboto3 STS clients over loopback; they never retry, so a Throttling answer is the
exception the test sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aioboto3
import aiohttp
import boto3
import botocore.exceptions
import pytest
from aiobotocore.config import AioConfig
from botocore.config import Config

from batchproxy.emulator import ACCOUNT_ID, Emulator, EmulatorConfig, serve
from batchproxy.emulator.sessions import Sessions
from tests.emulator.helpers import ACCESS_KEY, NO_RETRIES, PUT_BODY, auth_header, sync_client

ROLE = "arn:aws:iam::111122223333:role/BatchproxyAdmin"
OTHER_ROLE = "arn:aws:iam::444455556666:role/BatchproxyAdmin"


@contextmanager
def sts_client(url: str | None, key: str = ACCESS_KEY, *, validate: bool = True) -> Iterator[Any]:
    """An unmodified boto3 STS client; ``url=None`` lets botocore find the endpoint itself."""
    kwargs = {} if url is None else {"endpoint_url": url}
    client = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=NO_RETRIES.merge(Config(parameter_validation=validate)),
        **kwargs,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def assumed_chime_client(url: str, credentials: dict[str, Any], region: str = "us-east-1") -> Iterator[Any]:
    """A chime-sdk-voice client signed with the temporary credentials AssumeRole returned."""
    client = boto3.client(
        "chime-sdk-voice",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=NO_RETRIES,
    )
    try:
        yield client
    finally:
        client.close()


async def _assume(url: str, role: str = ROLE, **kwargs: Any) -> dict[str, Any]:
    with sts_client(url) as client:
        return await asyncio.to_thread(
            client.assume_role, RoleArn=role, RoleSessionName="batchproxy-test", **kwargs
        )


async def test_boto3_assume_role_parses_credentials_and_user(emulator: Emulator) -> None:
    """The XML answer parses into Credentials (with a future Expiration) and the assumed-role user."""
    answer = await _assume(emulator.url, DurationSeconds=900, ExternalId="ext-id-1")
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert credentials["SecretAccessKey"]
    assert credentials["SessionToken"]
    remaining = credentials["Expiration"].timestamp() - time.time()
    assert 890 < remaining <= 900
    user = answer["AssumedRoleUser"]
    assert user["Arn"] == "arn:aws:sts::111122223333:assumed-role/BatchproxyAdmin/batchproxy-test"
    assert user["AssumedRoleId"].endswith(":batchproxy-test")
    assert (
        answer["ResponseMetadata"]["RequestId"]
        == answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    )
    assert emulator.stats.assume_role_granted == {ROLE: 1}
    assert emulator.stats.count("AssumeRole", 200) == 1


async def test_aioboto3_assume_role(emulator: Emulator) -> None:
    """aiobotocore's STS client (the client side's) gets the same credentials."""
    session = aioboto3.Session()
    config = AioConfig(retries={"total_max_attempts": 1})
    async with session.client(
        "sts",
        endpoint_url=emulator.url,
        region_name="eu-west-2",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="x",
        config=config,
    ) as client:
        answer = await client.assume_role(RoleArn=ROLE, RoleSessionName="async-session")
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert 3590 < answer["Credentials"]["Expiration"].timestamp() - time.time() <= 3600  # AWS's default hour


async def test_the_sts_endpoint_comes_from_aws_endpoint_url_sts(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With AWS_ENDPOINT_URL_STS set, botocore's own endpoint resolution reaches the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", emulator.url)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    with sts_client(None) as client:
        assert client.meta.endpoint_url == emulator.url
        answer = await asyncio.to_thread(client.assume_role, RoleArn=ROLE, RoleSessionName="from-env")
    credentials = answer["Credentials"]
    assert (
        emulator.sessions.account_of(credentials["AccessKeyId"], credentials["SessionToken"])
        == "111122223333"
    )


async def test_writes_land_in_the_assumed_account(emulator: Emulator) -> None:
    """A temporary key's Chime calls reach its account's connectors; an ordinary key the default account."""
    emulator.state.auto_create = True
    first = (await _assume(emulator.url))["Credentials"]
    second = (await _assume(emulator.url, OTHER_ROLE))["Credentials"]
    with assumed_chime_client(emulator.url, first, "eu-west-2") as client:
        await asyncio.to_thread(client.put_voice_connector_proxy, VoiceConnectorId="vc-a", **PUT_BODY)
    with assumed_chime_client(emulator.url, second) as client:
        await asyncio.to_thread(
            client.put_voice_connector_logging_configuration,
            VoiceConnectorId="vc-b",
            LoggingConfiguration={"EnableSIPLogs": True},
        )
        arn = (await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-b"))["VoiceConnector"]
    with sync_client(emulator.url) as client:
        await asyncio.to_thread(client.put_voice_connector_proxy, VoiceConnectorId="vc-1", **PUT_BODY)
    assert emulator.account("111122223333").proxy("eu-west-2", "vc-a") is not None
    assert emulator.account("444455556666").setting("us-east-1", "vc-b", "LoggingConfiguration") == {
        "EnableSIPLogs": True,
        "EnableMediaMetricLogs": False,
    }
    assert arn["VoiceConnectorArn"] == "arn:aws:chime:us-east-1:444455556666:vc/vc-b"
    assert emulator.state.connector("eu-west-2", "vc-a") is None  # not in the default account
    assert emulator.state.proxy("us-east-1", "vc-1") is not None
    assert emulator.stats.writes_by_account == {"111122223333": 1, "444455556666": 1, ACCOUNT_ID: 1}
    async with aiohttp.ClientSession() as session, session.get(f"{emulator.url}/_emulator/state") as response:
        accounts = (await response.json())["accounts"]
    assert accounts["111122223333"]["eu-west-2"]["vc-a"]["Proxy"]["PhoneNumberCountries"] == ["US"]
    assert accounts["444455556666"]["us-east-1"]["vc-b"]["LoggingConfiguration"]["EnableSIPLogs"] is True
    assert set(accounts) == {"111122223333", "444455556666", ACCOUNT_ID}


async def test_an_account_sees_only_its_own_connectors(emulator: Emulator) -> None:
    """Without auto-create, the default account's vc-1 does not exist for an assumed account's key."""
    credentials = (await _assume(emulator.url))["Credentials"]
    with (
        assumed_chime_client(emulator.url, credentials) as client,
        pytest.raises(client.exceptions.NotFoundException),
    ):
        await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    emulator.account("111122223333").add_connector("us-east-1", "vc-1")
    with assumed_chime_client(emulator.url, credentials) as client:
        await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")


@pytest.mark.parametrize(
    "config",
    [
        EmulatorConfig(sts_denied_accounts=frozenset({"111122223333"})),
        EmulatorConfig(sts_denied_roles=frozenset({"BatchproxyAdmin"})),
    ],
    ids=["account", "role"],
)
async def test_refused_accounts_and_roles_answer_access_denied(config: EmulatorConfig) -> None:
    """A refused account or role name is 403 AccessDenied (a Sender fault); nothing is issued."""
    async with serve(config) as emulator:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await _assume(emulator.url)
        error = caught.value.response
        assert error["Error"]["Code"] == "AccessDenied"
        assert error["Error"]["Type"] == "Sender"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert len(emulator.sessions) == 0
        if config.sts_denied_roles:
            return
        await _assume(emulator.url, OTHER_ROLE)  # another account still works
        assert emulator.stats.assume_role_requests == {ROLE: 1, OTHER_ROLE: 1}
        assert emulator.stats.assume_role_granted == {OTHER_ROLE: 1}


async def test_throttling_answers_the_first_n_calls() -> None:
    """sts_throttle=2: two 400 Throttling answers, then credentials; every call counted per role."""
    async with serve(EmulatorConfig(sts_throttle=2)) as emulator:
        codes = []
        for _ in range(3):
            try:
                await _assume(emulator.url)
                codes.append("ok")
            except botocore.exceptions.ClientError as error:
                response = error.response
                codes.append(f"{response['ResponseMetadata']['HTTPStatusCode']} {response['Error']['Code']}")
        assert codes == ["400 Throttling", "400 Throttling", "ok"]
        assert emulator.stats.assume_role_requests == {ROLE: 3}
        assert emulator.stats.assume_role_granted == {ROLE: 1}
        assert emulator.stats.count("AssumeRole", 400) == 2


async def test_credentials_expire_after_the_lifetime() -> None:
    """credential_lifetime caps the session; afterwards Chime answers 403 ExpiredTokenException."""
    async with serve(EmulatorConfig(credential_lifetime=1.0, auto_create=True)) as emulator:
        credentials = (await _assume(emulator.url))["Credentials"]
        assert credentials["Expiration"].timestamp() - time.time() <= 1.0
        with assumed_chime_client(emulator.url, credentials) as client:
            await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
            await asyncio.sleep(1.1)
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    error = caught.value.response
    assert error["Error"]["Code"] == "ExpiredTokenException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["ResponseMetadata"]["RequestId"]


async def test_a_temporary_key_with_the_wrong_token_is_unrecognized(emulator: Emulator) -> None:
    """A temporary key sent without its own session token is 403 UnrecognizedClientException."""
    credentials = dict((await _assume(emulator.url))["Credentials"])
    credentials["SessionToken"] = "not-the-token"
    with (
        assumed_chime_client(emulator.url, credentials) as client,
        pytest.raises(botocore.exceptions.ClientError) as e,
    ):
        await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"RoleArn": "arn:aws:iam::1234:role/short-account"}, "ValidationError"),
        ({"RoleArn": ROLE, "DurationSeconds": 60}, "ValidationError"),
        ({"RoleArn": ROLE, "RoleSessionName": "has space"}, "ValidationError"),
    ],
    ids=["bad-arn", "duration-below-900", "session-name-pattern"],
)
async def test_invalid_requests_are_validation_errors(
    emulator: Emulator, kwargs: dict[str, Any], code: str
) -> None:
    """Rules of the sts model (and the ARN's shape) are checked: 400 ValidationError.

    boto3's own checks are off, so that the request reaches the emulator as any SDK's might.
    """
    call = {"RoleSessionName": "batchproxy"} | kwargs
    with (
        sts_client(emulator.url, validate=False) as client,
        pytest.raises(botocore.exceptions.ClientError) as caught,
    ):
        await asyncio.to_thread(client.assume_role, **call)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_unsigned_and_wrongly_scoped_sts_requests_are_refused(emulator: Emulator) -> None:
    """No Authorization: 403 MissingAuthenticationToken; a chime-scoped signature: SignatureDoesNotMatch."""
    form = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "raw"}
    chime_scope = auth_header(service="chime")
    answers = []
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": chime_scope}):
            async with session.post(emulator.url + "/", data=form, headers=headers) as response:
                answers.append((response.status, await response.text()))
    assert answers[0][0] == 403
    assert "<Code>MissingAuthenticationToken</Code>" in answers[0][1]
    assert answers[1][0] == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in answers[1][1]
    assert len(emulator.sessions) == 0


async def test_config_endpoint_turns_the_sts_dials(emulator: Emulator) -> None:
    """POST /_emulator/config sets refusals, throttling and lifetime, and can expire every key now."""
    credentials = (await _assume(emulator.url))["Credentials"]
    dials = {
        "sts_latency": "1ms",
        "sts_failures": 0,
        "sts_denied_accounts": ["444455556666"],
        "sts_throttle": 1,
        "credential_lifetime": 30,
        "expire_credentials": True,
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.url}/_emulator/config", json=dials) as response:
            described = await response.json()
        async with session.post(f"{emulator.url}/_emulator/config", json={"sts_throttle": -1}) as response:
            assert response.status == 400
    assert described["sts_denied_accounts"] == ["444455556666"]
    assert described["sts_throttle"] == 1
    assert described["sts_latency"] == 0.001
    assert described["credential_lifetime"] == 30
    with (
        assumed_chime_client(emulator.url, credentials) as client,
        pytest.raises(botocore.exceptions.ClientError) as e,
    ):
        await asyncio.to_thread(client.get_voice_connector, VoiceConnectorId="vc-1")
    assert e.value.response["Error"]["Code"] == "ExpiredTokenException"
    with pytest.raises(botocore.exceptions.ClientError, match="Throttling"):
        await _assume(emulator.url)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        await _assume(emulator.url, OTHER_ROLE)
    fresh = (await _assume(emulator.url))["Credentials"]
    assert fresh["Expiration"].timestamp() - time.time() <= 30


async def test_seeding_and_auto_create_per_account(emulator: Emulator) -> None:
    """POST /_emulator/connectors takes an AccountId; auto-create makes connectors in the key's account."""
    seeds = {
        "connectors": [{"VoiceConnectorId": "seeded", "AccountId": "111122223333", "Region": "eu-west-2"}]
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/_emulator/connectors", json=seeds) as response,
    ):
        assert response.status == 200
    assert emulator.account("111122223333").connector("eu-west-2", "seeded") is not None
    emulator.state.auto_create = True
    credentials = (await _assume(emulator.url, OTHER_ROLE))["Credentials"]
    with assumed_chime_client(emulator.url, credentials) as client:
        await asyncio.to_thread(client.put_voice_connector_proxy, VoiceConnectorId="made", **PUT_BODY)
    assert emulator.account("444455556666").connector("us-east-1", "made") is not None
    assert emulator.state.connector("us-east-1", "made") is None


def test_sessions_expire_on_their_clock() -> None:
    """The session registry's arithmetic, on an injected clock: live until expires_at, then expired."""
    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0])
    session = sessions.issue("111122223333", ROLE, lifetime=10)
    assert sessions.account_of(session.access_key_id, session.session_token) == "111122223333"
    assert sessions.account_of("AKIDORDINARY", None) is None
    assert session.secret_access_key not in repr(session)
    assert session.session_token not in repr(session)
    now[0] = 1010.0
    with pytest.raises(Exception, match=session.access_key_id):
        sessions.account_of(session.access_key_id, session.session_token)


async def test_failures_come_before_throttling_and_latency_delays_every_answer() -> None:
    """sts_failures=1, sts_throttle=1: a 503, then a 400 Throttling, then credentials, each delayed."""
    config = EmulatorConfig(sts_failures=1, sts_throttle=1, sts_latency=0.2)
    async with serve(config) as emulator:
        answers = []
        started = time.monotonic()
        for _ in range(3):
            try:
                await _assume(emulator.url)
                answers.append("ok")
            except botocore.exceptions.ClientError as error:
                response = error.response
                answers.append(
                    f"{response['ResponseMetadata']['HTTPStatusCode']} {response['Error']['Code']}"
                )
        elapsed = time.monotonic() - started
    assert answers == ["503 ServiceUnavailable", "400 Throttling", "ok"]
    assert elapsed >= 0.6
