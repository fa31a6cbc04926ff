"""The wire protocol as raw HTTP sees it: routes from the model, error shape, auth refusals."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from batchproxy import model
from batchproxy.emulator import Emulator, Proxy
from batchproxy.emulator.protocol import OPERATIONS, Router, short_code
from tests.emulator.helpers import PUT_BODY, auth_header, proxy_path


def test_routes_are_the_models() -> None:
    """Every served operation's method, success status and URI template come from the botocore model."""
    routes = {route.operation: route for route in Router().routes()}
    assert set(routes) == set(OPERATIONS)
    for name, route in routes.items():
        http = model.operation(name).http
        assert route.method == http["method"]
        assert route.success_status == http.get("responseCode", 200)
        assert route.pattern.fullmatch(http["requestUri"].replace("{voiceConnectorId}", "some-id"))
    assert routes["CreateVoiceConnector"].success_status == 201
    assert routes["DeleteVoiceConnectorProxy"].success_status == 204


def test_short_codes_come_from_the_services_error_code_enum() -> None:
    """The body's Code is the short form AWS sends, e.g. ThrottledClientException → Throttled."""
    assert short_code("ThrottledClientException") == "Throttled"
    assert short_code("NotFoundException") == "NotFound"
    assert short_code("UnauthorizedClientException") == "Unauthorized"
    assert short_code("ServiceUnavailableException") == "ServiceUnavailable"


async def test_errors_carry_type_header_short_code_body_and_request_id(emulator: Emulator) -> None:
    """A 404 has x-amzn-ErrorType, a {"Code", "Message"} body and a uuid4 x-amzn-RequestId."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(proxy_path(emulator.url, "nope"), headers={"Authorization": auth_header()}) as response,
    ):
        body = await response.json()
    assert response.status == 404
    assert response.headers["x-amzn-ErrorType"] == "NotFoundException"
    assert body["Code"] == "NotFound"
    assert "nope" in body["Message"]
    assert uuid.UUID(response.headers["x-amzn-RequestId"]).version == 4


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("PUT", "/voice-connectors/vc-1/programmable-numbers/proxy", {"json": PUT_BODY}),
        ("DELETE", "/voice-connectors/vc-1/programmable-numbers/proxy", {}),
        ("GET", "/voice-connectors/vc-1/programmable-numbers/proxy", {}),
        ("GET", "/nowhere", {}),
        ("GET", "/_emulator/stats", {}),
        ("GET", "/_emulator/state", {}),
    ],
)
async def test_every_response_has_a_request_id(
    emulator: Emulator, method: str, path: str, kwargs: dict[str, object]
) -> None:
    """Success, 204, error, unknown path and control endpoints all carry a fresh x-amzn-RequestId."""
    headers = {"Authorization": auth_header()}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emulator.url + path, headers=headers, **kwargs) as response,  # type: ignore[arg-type]
    ):
        assert uuid.UUID(response.headers["x-amzn-RequestId"])


async def _put_raw(
    emulator: Emulator, data: bytes, auth: str | None = auth_header()
) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/json"} | ({"Authorization": auth} if auth else {})
    async with (
        aiohttp.ClientSession() as session,
        session.put(proxy_path(emulator.url, "vc-1"), data=data, headers=headers) as response,
    ):
        await response.read()
        return response


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"'])
async def test_a_body_that_is_not_a_json_object_is_bad_request(emulator: Emulator, data: bytes) -> None:
    """Malformed JSON, or JSON that is not an object, is 400 BadRequestException."""
    response = await _put_raw(emulator, data)
    assert response.status == 400
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"


async def test_missing_authorization_is_missing_authentication_token(emulator: Emulator) -> None:
    """No Authorization header: 403 MissingAuthenticationTokenException, and nothing is applied."""
    response = await _put_raw(
        emulator, b'{"DefaultSessionExpiryMinutes": 5, "PhoneNumberPoolCountries": ["US"]}', None
    )
    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert emulator.state.proxy("us-east-1", "vc-1") is None


@pytest.mark.parametrize(
    ("auth", "error_type"),
    [
        (auth_header(service="s3"), "InvalidSignatureException"),
        ("Bearer token", "IncompleteSignatureException"),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/chime/aws4_request",
            "IncompleteSignatureException",
        ),
    ],
    ids=["wrong-service", "not-sigv4", "no-signature"],
)
async def test_a_wrong_signature_scope_is_refused(emulator: Emulator, auth: str, error_type: str) -> None:
    """A scope for another service, or a header that is not SigV4 at all, is a 403 of its own type."""
    response = await _put_raw(emulator, b"{}", auth)
    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == error_type


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("max-results=abc", "must be an integer"),
        ("max-results=500", "at most 100"),
        ("next-token=zzz", "NextToken"),
    ],
)
async def test_query_string_members_are_coerced_and_validated(
    emulator: Emulator, query: str, fragment: str
) -> None:
    """Query-string integers are converted before model validation; bad values and tokens are 400."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{emulator.url}/voice-connectors?{query}", headers={"Authorization": auth_header()}
        ) as response,
    ):
        body = await response.json()
    assert response.status == 400
    assert fragment in body["Message"]


async def test_unknown_path_is_not_an_operation(emulator: Emulator) -> None:
    """A path no served operation has is 404 UnknownOperationException, counted as ``Unknown``."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/phone-numbers", headers={"Authorization": auth_header()}) as response,
    ):
        assert response.status == 404
        assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert emulator.stats.count("Unknown", 404) == 1


async def test_percent_encoded_ids_are_decoded(emulator: Emulator) -> None:
    """A connector id with a space or slash travels percent-encoded and is matched decoded."""
    emulator.state.add_connector("us-east-1", "odd id/1")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{emulator.url}/voice-connectors/odd%20id%2F1", headers={"Authorization": auth_header()}
        ) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert body["VoiceConnector"]["VoiceConnectorId"] == "odd id/1"


async def test_json_null_is_an_absent_member(emulator: Emulator) -> None:
    """``"Disabled": null`` is treated as not sent, so the stored proxy answers Disabled false."""
    response = await _put_raw(
        emulator, b'{"DefaultSessionExpiryMinutes": 5, "PhoneNumberPoolCountries": ["US"], "Disabled": null}'
    )
    assert response.status == 200
    proxy = emulator.state.proxy("us-east-1", "vc-1")
    assert proxy is not None
    assert proxy.disabled is False


def test_proxy_repr_never_shows_the_fallback_number() -> None:
    """The model marks FallBackPhoneNumber sensitive: a repr (and so a log line) must not carry it."""
    proxy = Proxy(
        default_session_expiry_minutes=5, phone_number_countries=("US",), fall_back_phone_number="+15550100"
    )
    assert "+15550100" not in repr(proxy)
    assert proxy.to_wire()["FallBackPhoneNumber"] == "+15550100"
