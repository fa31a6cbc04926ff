"""Refuse to send signed requests in clear text to anything but this machine (issue 10 item 5).

A plain-http ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_CHIME_SDK_VOICE``, which
botocore reads when no URL is given) sends every request unencrypted: SigV4 headers, connector ids and
phone numbers, readable and replayable by anyone on the path. On loopback (the emulator, a local
proxy) nothing leaves the machine, so it stays allowed; anywhere else it takes
``--allow-insecure-endpoint``, so that the choice is deliberate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from batchproxy.errors import UsageError

__all__ = ["ENDPOINT_VARIABLES", "is_loopback_host", "refuse_plain_http"]

# The variables botocore takes an endpoint from, the service-specific one first.
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_CHIME_SDK_VOICE", "AWS_ENDPOINT_URL")


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 and the name ``localhost`` (and its subdomains, which resolve to loopback)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # any other name may resolve anywhere


def refuse_plain_http(endpoint_url: str | None, environ: Mapping[str, str], *, allow: bool) -> None:
    """Raise ``UsageError`` when the endpoint the run would use is plain http and not on loopback."""
    if allow:
        return
    for source, url in _endpoints(endpoint_url, environ):
        parts = urlsplit(url)
        if parts.scheme.lower() != "http" or is_loopback_host(parts.hostname or ""):
            continue
        raise UsageError(
            f"{source} {url} is plain http to another machine: the signed requests and the phone "
            "numbers would travel unencrypted. Use https, or pass --allow-insecure-endpoint if this "
            "is deliberate (e.g. a proxy on a trusted network)"
        )


def _endpoints(endpoint_url: str | None, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The URL the clients will use: --endpoint-url, else the first endpoint variable that is set."""
    if endpoint_url:
        return [("--endpoint-url", endpoint_url)]
    for name in ENDPOINT_VARIABLES:
        if value := environ.get(name, "").strip():
            return [(name, value)]
    return []
