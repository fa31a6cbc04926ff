"""``client_tuning``'s remembered answers are the answers botocore would have worked out itself."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.httpsession import ProxyConfiguration
from hypothesis import given
from hypothesis import strategies as st

from batchproxy import model
from batchproxy.client_tuning import (
    RememberedProxies,
    botocore_host_from_url,
    host_from_url,
    remember_endpoints,
)

HOSTS = st.sampled_from(
    ["voice-chime.us-east-1.amazonaws.com", "127.0.0.1", "LOCALHOST", "[::1]", "[fe80::1%25eth0]", "h"]
)
PORTS = st.sampled_from(["", ":80", ":443", ":8443", ":9"])
TAILS = st.text(alphabet="/?#=&abcXYZ09.-%~ \t\n", max_size=30)


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    userinfo=st.sampled_from(["", "user@", "u:p@"]),
    host=HOSTS,
    port=PORTS,
    tail=TAILS,
)
def test_the_host_is_botocores_for_any_url(
    scheme: str, userinfo: str, host: str, port: str, tail: str
) -> None:
    url = f"{scheme}://{userinfo}{host}{port}{tail}"
    assert _answer(host_from_url, url) == _answer(botocore_host_from_url, url)


def _answer(look_up: Callable[[str], str], url: str) -> str:
    """The host, or the kind of error (a tail such as ``=`` right after the port makes it a bad port)."""
    try:
        return look_up(url)
    except ValueError as error:
        return f"ValueError: {error}"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        (
            "https://voice-chime.us-east-1.amazonaws.com/voice-connectors/abc/programmable-numbers/proxy",
            "voice-chime.us-east-1.amazonaws.com",
        ),
        ("http://127.0.0.1:8080/a?b=/c", "127.0.0.1:8080"),
        ("https://[::1]:443/x", "[::1]"),
        ("https://EXAMPLE.com?x=/y", "example.com"),
    ],
)
def test_known_hosts(url: str, host: str) -> None:
    assert host_from_url(url) == host


async def test_an_endpoint_is_resolved_once_per_operation_and_is_botocores_answer() -> None:
    session = AioSession()
    session.register_component("data_loader", model.loader())
    session.set_credentials("AKIDTUNINGTEST000001", "not-a-secret")
    config = AioConfig(region_name="eu-central-1")
    async with session.create_client(model.SERVICE_NAME, config=config) as client:
        resolver = client._ruleset_resolver
        operation = client.meta.service_model.operation_model("GetVoiceConnectorProxy")
        params = {"VoiceConnectorId": "abcdefghij0123456789ab"}
        stock = await resolver.construct_endpoint(operation, params, {})
        calls = 0
        resolve = resolver.construct_endpoint

        async def counted(*args: object) -> object:
            nonlocal calls
            calls += 1
            return await resolve(*args)

        resolver.construct_endpoint = counted
        remember_endpoints(client)
        with anyio.fail_after(5):
            answers = [await resolver.construct_endpoint(operation, params, {}) for _ in range(3)]
    assert calls == 1
    assert [answer.url for answer in answers] == [stock.url] * 3
    assert "eu-central-1" in stock.url


PROXIES = {"https": "http://proxy.example:3128", "http": "http://name:word@proxy.example:8080"}


@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    userinfo=st.sampled_from(["", "a:b@"]),
    tail=TAILS,
)
def test_the_proxy_and_its_headers_are_botocores_for_any_url(scheme: str, userinfo: str, tail: str) -> None:
    stock = ProxyConfiguration(proxies=PROXIES)
    remembered = RememberedProxies(ProxyConfiguration(proxies=PROXIES))
    for url in (f"{scheme}://{userinfo}voice-chime.us-east-1.amazonaws.com{tail}", f"{scheme}://h:9/x{tail}"):
        for _ in range(2):  # the second answer is the remembered one
            assert remembered.proxy_url_for(url) == stock.proxy_url_for(url)
            assert remembered.proxy_headers_for(url) == stock.proxy_headers_for(url)
    assert remembered.settings == stock.settings  # the rest is botocore's own
