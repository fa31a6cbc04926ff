"""Hostile requests: every answer is AWS-shaped (JSON error, x-amzn-ErrorType, x-amzn-RequestId).

Raw HTTP over a socket for what no SDK would send, and boto3 for what an operator's data could make
it send (an id with a line feed in it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from batchproxy.emulator import Emulator
from batchproxy.emulator import operations as emulator_operations
from tests.emulator.helpers import auth_header, sync_client


async def _raw(
    emulator: Emulator, method: str, target: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send one request exactly as written (path bytes untouched) and read the whole answer."""
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth_header()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    await writer.wait_closed()
    header_block, _, payload = answer.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, payload


def _assert_aws_error(status: int, headers: dict[str, str], payload: bytes, expected: tuple[int, str]) -> Any:
    assert (status, headers["x-amzn-errortype"]) == expected
    assert uuid.UUID(headers["x-amzn-requestid"]).version == 4
    assert headers["content-type"].startswith("application/json")
    body = json.loads(payload)
    assert set(body) == {"Code", "Message"}
    return body


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("GET", "/voice-connectors/vc%0A1/programmable-numbers/proxy", (404, "NotFoundException")),
        ("GET", "/voice-connectors/vc%0A1", (404, "NotFoundException")),
        ("GET", "/voice-connectors/vc-1/termination%0A", (404, "UnknownOperationException")),
        ("GET", "/%0A", (404, "UnknownOperationException")),
        ("GET", "/voice-connectors/%0D%0A%00/origination", (404, "NotFoundException")),
        ("PUT", "/_emulator/stats", (404, "UnknownOperationException")),
        ("GET", "/voice-connectors/%20/termination", (400, "BadRequestException")),
    ],
    ids=[
        "lf-proxy",
        "lf-connector",
        "lf-after-route",
        "lf-only",
        "crlf-nul",
        "control-wrong-method",
        "blank-id",
    ],
)
async def test_unusual_paths_get_aws_shaped_errors(
    emulator: Emulator, method: str, target: str, expected: tuple[int, str]
) -> None:
    """Line feeds, CR/NUL or a blank id in the path: an AWS-shaped JSON error, never bare text."""
    status, headers, payload = await _raw(emulator, method, target)
    _assert_aws_error(status, headers, payload, expected)


async def test_boto3_with_a_line_feed_in_the_id_gets_not_found(emulator: Emulator) -> None:
    """boto3 percent-encodes the line feed; the emulator answers NotFoundException with a request id."""
    with sync_client(emulator.url) as client, pytest.raises(client.exceptions.NotFoundException) as caught:
        await asyncio.to_thread(client.get_voice_connector_termination, VoiceConnectorId="vc\n1")
    response = caught.value.response
    assert response["ResponseMetadata"]["RequestId"]
    assert response["Error"]["Code"] == "NotFoundException"


async def test_a_failure_inside_the_emulator_is_a_service_failure(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in an operation answers 500 ServiceFailureException as JSON, and is counted."""

    def broken(ctx: object, params: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(emulator_operations.OPERATION_HANDLERS, "GetVoiceConnector", broken)
    status, headers, payload = await _raw(emulator, "GET", "/voice-connectors/vc-1")
    body = _assert_aws_error(status, headers, payload, (500, "ServiceFailureException"))
    assert "a bug" not in body["Message"]
    assert emulator.stats.count("GetVoiceConnector", 500) == 1
    assert emulator.stats.in_flight == 0


async def test_an_oversized_body_is_refused_as_json(emulator: Emulator) -> None:
    """A body beyond aiohttp's limit (1 MiB) is a 413 JSON error, not aiohttp's text page."""
    status, headers, payload = await _raw(
        emulator,
        "PUT",
        "/voice-connectors/vc-1/termination",
        b'{"Termination": {"CidrAllowedList": ["' + b"x" * (2 << 20) + b'"]}}',
    )
    _assert_aws_error(status, headers, payload, (413, "RequestEntityTooLargeException"))
