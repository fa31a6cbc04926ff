"""One ``chime-sdk-voice`` client per (profile or role, region), opened when first needed, released when
done. An assumed role's session comes from ``assume.AssumedRoles``, a profile's from ``AwsProfiles``.

botocore's own retries are off (``total_max_attempts=1``): every attempt is counted, rate-limited and
decided by batchproxy. aiohttp's silent re-send of an idempotent request on a reset connection is off
too (docs/reference.md §7), so one attempt is one request on the wire.
"""

from __future__ import annotations

import functools
import ssl
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.httpsession import create_urllib3_context, get_cert_path

from batchproxy import model
from batchproxy.client_tuning import (
    RememberedProxies,
    cache_user_agent,
    drop_sdk_retries,
    remember_endpoints,
    remember_hosts,
)
from batchproxy.errors import CredentialsError, UsageError
from batchproxy.model import SERVICE_NAME
from batchproxy.principal import Domain, Principal, Role
from batchproxy.profiles import AwsProfiles

if TYPE_CHECKING:
    from batchproxy.assume import AssumedRoles

__all__ = ["ClientPool", "Domain"]


class _OneShotHTTPSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's HTTP session, with aiohttp's hidden retry of reset connections disabled, one
    TLS context for every client, and its proxy answers remembered (``client_tuning``).

    aiohttp re-sends an idempotent request once when a kept-alive connection was reset. That re-send
    would bypass our rate limiter and our attempt count, so we switch it off and let the reset surface
    as a connection error that our retry policy sees and counts. ``tests/test_clients.py`` proves on a
    real socket that one botocore call is one request at the server.

    aiobotocore builds a TLS context per client and loads the CA bundle into it: about 1 MB of
    OpenSSL memory per (profile, region), most of a domain's cost. Contexts configured alike are
    interchangeable (an ``SSLContext`` is meant to be shared), so one is made per CA bundle and
    client certificate and reused; with a proxy, aiobotocore's own path is kept.
    """

    _proxy_config: Any  # aiobotocore's, botocore's ProxyConfiguration

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._proxy_config = RememberedProxies(self._proxy_config)  # client_tuning

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)
        session._retry_connection = False
        return session

    def _create_connector(self, proxy_url: Any) -> aiohttp.TCPConnector:
        if proxy_url:
            proxied: aiohttp.TCPConnector = super()._create_connector(proxy_url)
            return proxied
        context = None
        if self._verify:
            context = _tls_context(get_cert_path(self._verify), self._cert_file, self._key_file)
        return aiohttp.TCPConnector(
            limit=self._max_pool_connections, ssl=context or False, **self._connector_args
        )


@functools.cache
def _tls_context(ca_certs: str | None, cert_file: str | None, key_file: str | None) -> ssl.SSLContext:
    """What aiobotocore's ``_create_connector`` configures for each client, made once per process."""
    context: ssl.SSLContext = create_urllib3_context()
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    if ca_certs:
        context.load_verify_locations(ca_certs, None, None)
    return context


_SHARED_METHODS_ID = "batchproxy-shared-client-methods"


class _SharedClientMethods:
    """Hands every new client class the first one's methods (a botocore ``creating-client-class``
    handler, the hook botocore offers for shaping client classes).

    botocore builds a class per client, with a method and a lazily rendered docstring object for each
    of the API's ~130 operations: about 110 KB kept per (profile, region). The methods only name their
    operation and call ``self._make_api_call``, so one set serves every client of the service; the
    fresh set is dropped as soon as the class is made.
    """

    def __init__(self) -> None:
        self._methods: dict[str, Any] | None = None

    def __call__(self, class_attributes: dict[str, Any], **kwargs: Any) -> None:
        if self._methods is None:
            self._methods = dict(class_attributes)
        else:
            class_attributes.update(self._methods)


class ClientPool:
    """One client per (profile, region), opened when first asked for and closed by ``release``.

    Sessions come from ``profiles`` (one per profile, sharing the botocore data and the parsed config
    files), or, with ``static_credentials``, from one session that signs every domain with those keys.
    ``aclose`` (or leaving ``async with``) closes whatever is still open.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        max_connections: int,
        connect_timeout: float,
        read_timeout: float,
        static_credentials: tuple[str, str] | None = None,
        profiles: AwsProfiles | None = None,
        roles: AssumedRoles | None = None,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._static: AioSession | None = None
        if static_credentials is not None:
            self._static = AioSession()
            self._static.register_component("data_loader", model.loader())
            self._static.set_credentials(*static_credentials)
        self._profiles = profiles
        self._roles = roles  # where an assumed role's session comes from (docs/reference.md §10)
        self._config = AioConfig(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            http_session_cls=_OneShotHTTPSession,
            # The input pass already checked every value against the same model (client_tuning).
            parameter_validation=False,
        )
        self._clients: dict[Domain, Any] = {}
        self._lock = anyio.Lock()
        remember_hosts()
        self._shared_methods = _SharedClientMethods()

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def open_domains(self) -> frozenset[Domain]:
        """The domains whose client is open now."""
        return frozenset(self._clients)

    async def aclose(self) -> None:
        for domain in list(self._clients):
            await self.release(domain)

    async def client(self, domain: Domain) -> Any:
        """The client for ``domain``; the first call per domain creates it (once, under a lock)."""
        existing = self._clients.get(domain)
        if existing is not None:
            return existing
        principal, region = domain
        if isinstance(principal, Role):
            # Assumed outside the pool's lock (under the role's own), so slow STS answers for some
            # accounts do not hold up opening the clients of others.
            await self._session_of(principal, region)
        async with self._lock:
            if domain not in self._clients:
                self._clients[domain] = await self._open(domain)
        return self._clients[domain]

    async def release(self, domain: Domain) -> None:
        """Close ``domain``'s client (its connections too); nothing if none is open. A later ``client``
        opens a new one. Call it once the domain's last row is done, so open clients stay few."""
        client = self._clients.pop(domain, None)
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.close()

    async def check_credentials(self, domain: Domain) -> None:
        """Raise ``CredentialsError`` when the credential chain finds nothing for ``domain``."""
        profile, region = domain
        if isinstance(profile, Role):
            await self._check_role_base(region)
            return
        if self._static is not None:
            return
        try:
            credentials = await self._session(profile).get_credentials()
        except UsageError as exc:
            raise CredentialsError(str(exc)) from exc
        except Exception as exc:  # botocore raises ProfileNotFound and friends for bad config
            raise CredentialsError(f"profile {profile or '(default)'}: {exc}") from exc
        if credentials is None:
            where = f"profile {profile}" if profile else "the default credential chain"
            raise CredentialsError(f"no AWS credentials found ({where}, region {region})")

    async def _check_role_base(self, region: str) -> None:
        """A role is assumed with the run's base credentials: those must exist (none is assumed yet)."""
        if self._roles is None:
            raise CredentialsError("rows name an account or role, but this run cannot assume roles")
        try:
            found = await self._roles.check_base_credentials()
        except Exception as exc:  # botocore raises ProfileNotFound and friends for bad config
            raise CredentialsError(f"the base credentials for AssumeRole: {exc}") from exc
        if not found:
            raise CredentialsError(
                "no AWS credentials found to assume roles with "
                f"(--profile or the default chain, region {region})"
            )

    async def _open(self, domain: Domain) -> Any:
        principal, region = domain
        kwargs: dict[str, Any] = {"region_name": region, "config": self._config}
        if self._endpoint_url is not None:
            kwargs["endpoint_url"] = self._endpoint_url
        session = await self._session_of(principal, region)
        # Sessions may share an emitter; the unique id registers the handler once on each.
        session.register(
            f"creating-client-class.{SERVICE_NAME}", self._shared_methods, unique_id=_SHARED_METHODS_ID
        )
        # The creator context's __aenter__ is the client's whole set-up; ``release`` is its exit.
        client = await session.create_client(SERVICE_NAME, **kwargs).__aenter__()
        cache_user_agent(client)
        remember_endpoints(client)
        drop_sdk_retries(client)
        return client

    async def _session_of(self, principal: Principal, region: str) -> AioSession:
        """An assumed role's session (its first use assumes it: ``CredentialsRefused`` when refused),
        else the profile's."""
        if isinstance(principal, Role):
            if self._roles is None:
                raise CredentialsError("rows name an account or role, but this run cannot assume roles")
            return await self._roles.session(principal, region)
        return self._session(principal)

    def _session(self, profile: str | None) -> AioSession:
        if self._static is not None:
            return self._static
        if self._profiles is None:
            self._profiles = AwsProfiles.load(profile=None)
        return self._profiles.session(profile)
