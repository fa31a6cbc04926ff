"""Helpers for the emulator's tests: real boto3 clients and raw request pieces.

Everything here talks real HTTP over 127.0.0.1. Clients never retry, so a 429 or 503 the emulator
sends is the exception the test sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

ACCESS_KEY = "AKIDTEST"
NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10)


def auth_header(region: str = "us-east-1", service: str = "chime", key: str = ACCESS_KEY) -> str:
    """A syntactically valid SigV4 header; the emulator checks its shape and scope, not its signature."""
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/{service}/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={'ab' * 32}"
    )


def proxy_path(url: str, voice_connector_id: str) -> str:
    return f"{url}/voice-connectors/{voice_connector_id}/programmable-numbers/proxy"


PUT_BODY = {"DefaultSessionExpiryMinutes": 30, "PhoneNumberPoolCountries": ["US"]}


@contextmanager
def sync_client(url: str, region: str = "us-east-1", key: str = ACCESS_KEY, **config: Any) -> Iterator[Any]:
    """An unmodified boto3 chime-sdk-voice client pointed at ``url``, closed afterwards."""
    client = boto3.client(
        "chime-sdk-voice",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=NO_RETRIES.merge(Config(**config)) if config else NO_RETRIES,
    )
    try:
        yield client
    finally:
        client.close()
