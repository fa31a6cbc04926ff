"""The bytes batchproxy puts on the wire are the bytes a stock botocore client puts there.

batchproxy tunes its clients for speed (``client_tuning``: the User-Agent built once per client,
parameter validation off, shared client methods, a one-shot HTTP session). None of that may change
a request. A loopback HTTP server of this test's own records the raw request of the same put sent
(1) through ``ClientPool`` and (2) through a stock aiobotocore client with the same ``AioConfig``
options minus the tuning, and then (3) a stock client with botocore's default configuration.

Compared: request line, every header, body. Left out, because they differ between any two requests
of any client: ``X-Amz-Date``, the signature (and the date in its credential scope), and
``amz-sdk-invocation-id`` (a fresh UUID per call). One more test stops botocore's clock and its
invocation ids, and then compares the signature too: it covers every signed header and the host the
signer works out from the URL (which the emulator does not check).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import botocore.auth
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from batchproxy import model
from batchproxy.client_tuning import botocore_host_from_url
from batchproxy.clients import ClientPool
from batchproxy.engine.transport import ClientSend

KEY, SECRET = "AKIDWIREBYTESTEST001", "wire-bytes-not-a-secret"
REGION = "us-east-1"
PUT: dict[str, Any] = {
    "VoiceConnectorId": "abcdefghij0123456789ab",
    "DefaultSessionExpiryMinutes": 60,
    "PhoneNumberPoolCountries": ["US", "CA"],
    "FallBackPhoneNumber": "+12125550142",
    "Disabled": False,
}
ANSWER = json.dumps(
    {
        "Proxy": {
            "DefaultSessionExpiryMinutes": 60,
            "PhoneNumberCountries": ["US", "CA"],
            "FallBackPhoneNumber": "+12125550142",
            "Disabled": False,
        }
    }
).encode()
VARYING = {"x-amz-date", "amz-sdk-invocation-id"}
# ClientPool's options, without any of the tuning (stock HTTP session, validation on, UA rebuilt).
SAME_OPTIONS = AioConfig(
    retries={"total_max_attempts": 1, "mode": "standard"},
    max_pool_connections=4,
    connect_timeout=5,
    read_timeout=5,
)


class Recorder:
    """Every request the server read: (request line, headers in order, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[tuple[str, str]], bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode("latin-1").split("\r\n")[:-2]
                headers = [(name, value.strip()) for name, _, value in (f.partition(":") for f in fields)]
                length = int(next((v for n, v in headers if n.lower() == "content-length"), "0"))
                body = await reader.readexactly(length)
                self.requests.append((line, headers, body))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"x-amzn-RequestId: wire-test\r\nContent-Length: %d\r\n\r\n" % len(ANSWER) + ANSWER
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def recording_server() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()
    server = await asyncio.start_server(recorder.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        server.close()


def comparable(request: tuple[str, list[tuple[str, str]], bytes]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The request without what differs between any two requests (see the module docstring)."""
    line, headers, body = request
    kept = []
    for name, value in headers:
        if name.lower() in VARYING:
            continue
        kept.append((name, _unsigned(value) if name.lower() == "authorization" else value))
    return line, kept, body


def _unsigned(authorization: str) -> str:
    """AWS4-HMAC-SHA256 Credential=KEY/DATE/region/service/aws4_request, SignedHeaders=…, Signature=…
    without the date and the signature."""
    credential, signed, _signature = authorization.split(", ")
    key, _date, *scope = credential.split("/")
    return f"{key}/{'/'.join(scope)}, {signed}"


async def put_through_pool(url: str) -> dict[str, Any]:
    pool = ClientPool(
        endpoint_url=url,
        max_connections=4,
        connect_timeout=5,
        read_timeout=5,
        static_credentials=(KEY, SECRET),
    )
    async with pool:
        send = ClientSend(await pool.client((None, REGION)))
        return await send("put_voice_connector_proxy", dict(PUT))


async def put_through_stock_client(url: str, config: AioConfig) -> dict[str, Any]:
    with stock_signing():
        return await _put_through_stock_client(url, config)


@contextmanager
def stock_signing() -> Iterator[None]:
    """botocore's own host look-up while a stock client signs (``ClientPool`` swaps in a remembering
    one for the whole process)."""
    ours = botocore.auth._host_from_url
    botocore.auth._host_from_url = botocore_host_from_url
    try:
        yield
    finally:
        botocore.auth._host_from_url = ours


async def _put_through_stock_client(url: str, config: AioConfig) -> dict[str, Any]:
    session = AioSession()
    session.register_component("data_loader", model.loader())
    session.set_credentials(KEY, SECRET)
    async with session.create_client(
        model.SERVICE_NAME, region_name=REGION, endpoint_url=url, config=config
    ) as client:
        response: dict[str, Any] = await client.put_voice_connector_proxy(**PUT)
        return response


async def record_both(config: AioConfig) -> tuple[Any, Any]:
    with anyio.fail_after(20):
        async with recording_server() as (url, recorder):
            await put_through_pool(url)
            await put_through_stock_client(url, config)
    assert len(recorder.requests) == 2, "one request per put, nothing re-sent"
    ours, stock = recorder.requests
    return comparable(ours), comparable(stock)


async def test_a_put_sends_the_bytes_a_stock_client_with_the_same_options_sends() -> None:
    ours, stock = await record_both(SAME_OPTIONS)
    assert ours[0].startswith("PUT /voice-connectors/abcdefghij0123456789ab/programmable-numbers/proxy ")
    assert json.loads(ours[2]) == {k: v for k, v in PUT.items() if k != "VoiceConnectorId"}
    assert any(name.lower() == "user-agent" for name, _ in ours[1])
    assert ours == stock


async def test_with_the_clock_stopped_the_signature_is_the_stock_clients_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instant = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: instant)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))
    with anyio.fail_after(20):
        async with recording_server() as (url, recorder):
            await put_through_pool(url)
            await put_through_stock_client(url, SAME_OPTIONS)
    ours, stock = recorder.requests
    assert dict(ours[1])["Authorization"].endswith("Signature=" + _signature(stock))
    assert ours == stock


async def test_botocores_retry_handler_is_off_not_only_idle() -> None:
    """With one attempt allowed, a stock client's retry handler still runs after every answer and says
    so in the response (``MaxAttemptsReached``); batchproxy's clients have no such handler
    (``client_tuning.drop_sdk_retries``), and the request on the wire is the same (the tests above)."""
    with anyio.fail_after(20):
        async with recording_server() as (url, recorder):
            ours = await put_through_pool(url)
            stock = await put_through_stock_client(url, SAME_OPTIONS)
    assert len(recorder.requests) == 2
    assert stock["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert "MaxAttemptsReached" not in ours["ResponseMetadata"]
    assert ours["Proxy"] == stock["Proxy"]


def _signature(request: tuple[str, list[tuple[str, str]], bytes]) -> str:
    authorization = dict(request[1])["Authorization"]
    assert "Credential=" + KEY + "/20261127/" in authorization
    return authorization.rpartition("Signature=")[2]


async def test_against_botocores_default_config_only_the_retry_mode_differs() -> None:
    """A client with botocore's defaults retries by itself (legacy mode); batchproxy turns that off (one
    attempt is one request, docs/reference.md §7) with the standard mode's ``total_max_attempts=1``. The
    User-Agent says which mode: ``cfg/retry-mode#…`` and the feature id in ``m/`` (E standard, D legacy;
    the ids are a set, so their order is not meaningful). Nothing else differs."""
    ours, stock = await record_both(AioConfig())
    assert ours[0] == stock[0]
    assert ours[2] == stock[2]
    ours_headers, stock_headers = dict(ours[1]), dict(stock[1])
    assert [name for name, _ in ours[1]] == [name for name, _ in stock[1]]
    assert {k: v for k, v in ours_headers.items() if k != "User-Agent"} == {
        k: v for k, v in stock_headers.items() if k != "User-Agent"
    }
    assert user_agent_parts(ours_headers["User-Agent"], "standard", "E") == user_agent_parts(
        stock_headers["User-Agent"], "legacy", "D"
    )


def user_agent_parts(text: str, mode: str, feature: str) -> tuple[list[str], frozenset[str]]:
    """The User-Agent's tokens with its retry mode and that mode's feature id taken out."""
    tokens, features = [], frozenset[str]()
    for token in text.split(" "):
        if token.startswith("m/"):
            ids = set(token[2:].split(","))
            assert feature in ids, text
            features = frozenset(ids - {feature})
            tokens.append("m/")
        elif token == f"cfg/retry-mode#{mode}":
            tokens.append("cfg/retry-mode")
        else:
            tokens.append(token)
    return tokens, features
