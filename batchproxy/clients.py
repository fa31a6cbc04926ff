"""One aioboto3 ``chime-sdk-voice`` client per (profile, region), opened lazily, closed together.

botocore's own retries are off (``total_max_attempts=1``): every attempt is counted, rate-limited and
decided by batchproxy. aiohttp's silent re-send of an idempotent request on a reset connection is off
too (CONTRACT §7), so one attempt is one request on the wire.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any

import aioboto3
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession

from batchproxy.errors import CredentialsError
from batchproxy.model import SERVICE_NAME

__all__ = ["ClientPool", "Domain"]

Domain = tuple[str | None, str]  # (profile, region)


class _OneShotHTTPSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's HTTP session, with aiohttp's hidden retry of reset connections disabled.

    aiohttp re-sends an idempotent request once when a kept-alive connection was reset. That re-send
    would bypass our rate limiter and our attempt count, so we switch it off and let the reset surface
    as a connection error that our retry policy sees and counts. ``tests/test_clients.py`` proves on a
    real socket that one botocore call is one request at the server.
    """

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)
        session._retry_connection = False
        return session


class ClientPool:
    """Opens clients on first use; ``aclose`` (or ``async with``) closes them all."""

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        max_connections: int,
        connect_timeout: float,
        read_timeout: float,
        static_credentials: tuple[str, str] | None = None,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._static_credentials = static_credentials
        self._config = AioConfig(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            http_session_cls=_OneShotHTTPSession,
        )
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[Domain, Any] = {}
        self._lock = anyio.Lock()

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._stack.aclose()
        self._clients.clear()

    async def client(self, domain: Domain) -> Any:
        """The client for ``domain``; the first call per domain creates it (once, under a lock)."""
        existing = self._clients.get(domain)
        if existing is not None:
            return existing
        async with self._lock:
            if domain not in self._clients:
                self._clients[domain] = await self._open(domain)
        return self._clients[domain]

    async def check_credentials(self, domain: Domain) -> None:
        """Raise ``CredentialsError`` when the credential chain finds nothing for ``domain``."""
        if self._static_credentials is not None:
            return
        profile, region = domain
        try:
            credentials = await self._session(profile, region).get_credentials()
        except Exception as exc:  # botocore raises ProfileNotFound and friends for bad config
            raise CredentialsError(f"profile {profile or '(default)'}: {exc}") from exc
        if credentials is None:
            where = f"profile {profile}" if profile else "the default credential chain"
            raise CredentialsError(f"no AWS credentials found ({where}, region {region})")

    async def _open(self, domain: Domain) -> Any:
        profile, region = domain
        session = self._session(profile, region)
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
        if self._endpoint_url is not None:
            kwargs["endpoint_url"] = self._endpoint_url
        return await self._stack.enter_async_context(session.client(SERVICE_NAME, **kwargs))

    def _session(self, profile: str | None, region: str) -> Any:
        if self._static_credentials is not None:
            key, secret = self._static_credentials
            return aioboto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
        return aioboto3.Session(profile_name=profile, region_name=region)
