"""Credentials for an assumed role (docs/reference.md §10): one AssumeRole per role per run, refreshed ahead
of
expiry, and one botocore session per role that signs with them.

Where credentials live: ``AssumedRoles`` holds, per role, a session whose credentials are botocore's
own refreshable kind (aiobotocore's ``AioRefreshableCredentials``); that object is what every client
of the role (one per region) signs with. Before each request the signer asks it for frozen
credentials; inside the refresh window it calls STS again, once, under its lock, while the other
requests go on with the current keys, and only when expiry is close do they wait for the new ones.
The window is fitted to the session's lifetime (half of it, at most botocore's 15 minutes), so a run
that outlasts the session duration carries on, and a one-hour session is refreshed as botocore would.

STS is called through botocore's own ``sts`` client made from the run's base session (``--profile`` or
the default chain): endpoint resolution is the SDK's, ``AWS_ENDPOINT_URL_STS`` included; under
--emulate it is the emulator's URL. Each call goes through the run's ``RetryPolicy``: ``Throttling``
(HTTP 400 in STS) counts as throttling, 5xx as transient. A refusal, or STS still failing when the
attempts are spent, is remembered for the run: that role is asked once, and every row of it is skipped
with the reason (``errors.CredentialsRefused``). Every secret key and session token, first and
refreshed, is registered with ``redact.register_secret`` the moment it arrives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.hooks import AioHierarchicalEmitter
from aiobotocore.session import AioSession
from botocore.credentials import ReadOnlyCredentials

from batchproxy import model
from batchproxy.config import RunConfig
from batchproxy.engine.retry import RetryPolicy
from batchproxy.errors import CallFailed, CredentialsRefused, UsageError, translate
from batchproxy.logs import get_logger
from batchproxy.principal import Role, valid_role_name
from batchproxy.profiles import derived_session
from batchproxy.redact import register_secret
from batchproxy.rows import FailureKind

__all__ = ["AssumedRoles", "check_role_options"]

log = get_logger(__name__)

# STS's own patterns for these parameters (botocore's sts model), checked before anything is sent.
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
# STS answers throttling with HTTP 400 and this code (docs/reference.md §10): a 429 in all but status.
_THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})
# botocore refreshes 15 (advisory) and 10 (mandatory) minutes before expiry; a shorter session gets
# half and a quarter of its lifetime, so that it is not refreshed on every request.
_ADVISORY, _MANDATORY = 15 * 60.0, 10 * 60.0


def check_role_options(config: RunConfig) -> None:
    """--role-name, --role-session-name and --external-id as STS accepts them; else ``UsageError``."""
    if config.role_name is not None and not valid_role_name(config.role_name):
        raise UsageError(
            f"--role-name {config.role_name!r} is not an IAM role name (1-64 of A-Za-z0-9+=,.@_-)"
        )
    if _SESSION_NAME.fullmatch(config.role_session_name) is None:
        raise UsageError(f"--role-session-name {config.role_session_name!r} must be 2-64 of A-Za-z0-9+=,.@_-")
    if config.external_id is not None and _EXTERNAL_ID.fullmatch(config.external_id) is None:
        raise UsageError("--external-id must be 2-1224 of A-Za-z0-9+=,.@:/_- (not shown: it may be a secret)")


class _RoleCredentials(AioRefreshableCredentials):  # type: ignore[misc]
    """botocore's refreshable credentials, whose refresh failures are told without a traceback.

    aiobotocore logs a failed refresh with its traceback at warning level; ours is one log line, and
    when the current keys are still good (advisory window) they are kept, as botocore does.
    """

    async def _protected_refresh(self, is_mandatory: bool) -> None:
        try:
            metadata = await self._refresh_using()
        except CallFailed as failure:
            if is_mandatory:
                raise
            log.warning(
                "refreshing assumed-role credentials failed; the current ones stay valid", error=str(failure)
            )
            return
        self._set_from_data(metadata)
        self._frozen_credentials = ReadOnlyCredentials(
            self._access_key, self._secret_key, self._token, self._account_id
        )


class AssumedRoles:
    """The run's assumed roles: ``session(role, region)`` signs as ``role``; the first call assumes it."""

    def __init__(
        self,
        *,
        base: AioSession,
        new_session: Callable[[], AioSession],
        config: RunConfig,
        sts_endpoint_url: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._base = base  # signs the AssumeRole calls: the run's base credentials
        self._new_session = new_session
        self._sts_endpoint_url = sts_endpoint_url
        self._params: dict[str, str] = {"RoleSessionName": config.role_session_name}
        if config.external_id is not None:
            self._params["ExternalId"] = config.external_id
        self._policy = policy or RetryPolicy(config.max_attempts)
        self._sts_config = AioConfig(
            retries={"total_max_attempts": 1, "mode": "standard"},  # retried by ``_policy``, counted
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
        )
        self._sessions: dict[Role, AioSession] = {}
        self._refused: dict[Role, CredentialsRefused] = {}
        self._locks: dict[Role, anyio.Lock] = {}
        self._sts: dict[str, Any] = {}  # region -> sts client, opened on first use
        self._sts_lock = anyio.Lock()
        self._closing = contextlib.AsyncExitStack()
        self.assume_calls = 0  # AssumeRole calls answered with credentials (first and refreshes)

    @classmethod
    def static(
        cls,
        credentials: tuple[str, str],
        *,
        config: RunConfig,
        sts_endpoint_url: str,
        policy: RetryPolicy | None = None,
    ) -> AssumedRoles:
        """Roles assumed with fixed base keys (--emulate: the emulator's dummy keys, its URL for STS)."""
        emitter = AioHierarchicalEmitter()
        base = AioSession(event_hooks=emitter)
        base.register_component("data_loader", model.loader())
        base.set_credentials(*credentials)
        return cls(
            base=base,
            new_session=lambda: derived_session(base, emitter),
            config=config,
            sts_endpoint_url=sts_endpoint_url,
            policy=policy,
        )

    async def __aenter__(self) -> AssumedRoles:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self._closing.aclose()

    async def check_base_credentials(self) -> bool:
        """Whether the base credentials exist (the chain found some); nothing is sent."""
        return await self._base.get_credentials() is not None

    async def session(self, role: Role, region: str) -> AioSession:
        """The session that signs as ``role``; raises ``CredentialsRefused`` when it cannot be had.

        ``region`` picks the STS endpoint of the first call (the partition follows it).
        """
        found = self._sessions.get(role)
        if found is not None:
            return found
        async with self._locks.setdefault(role, anyio.Lock()):
            refused = self._refused.get(role)
            if refused is not None:
                raise refused
            if role not in self._sessions:
                self._sessions[role] = await self._assume_first(role, region)
        return self._sessions[role]

    async def _assume_first(self, role: Role, region: str) -> AioSession:
        try:
            metadata = await self._fetch(role, region)
        except CallFailed as failure:
            refused = self._refused[role] = _refusal(role, failure)
            log.warning(
                "cannot assume the role: skipping its rows", account=role.account, reason=refused.reason
            )
            raise refused from None
        lifetime = max((_expiry(metadata) - datetime.now(UTC)).total_seconds(), 1.0)

        async def refresh() -> dict[str, Any]:
            return await self._fetch(role, region)

        credentials = _RoleCredentials.create_from_metadata(
            metadata,
            refresh_using=refresh,
            method="assume-role",
            advisory_timeout=min(_ADVISORY, lifetime / 2),
            mandatory_timeout=min(_MANDATORY, lifetime / 4),
        )
        session = self._new_session()
        # botocore sets a session's credentials only as static keys; the credential chain would put
        # refreshable ones here too, which is what ``get_credentials`` then hands every client.
        session._credentials = credentials
        return session

    async def _fetch(self, role: Role, region: str) -> dict[str, Any]:
        """One AssumeRole (retried by the policy), as botocore's credential metadata."""
        sts = await self._sts_client(region)
        params = {"RoleArn": role.arn, **self._params}

        async def attempt(_number: int) -> dict[str, Any]:
            try:
                response: dict[str, Any] = await sts.assume_role(**params)
            except Exception as exc:
                failure = translate(exc)
                if failure is None:
                    raise
                raise _sts_failure(failure) from None
            return response

        response = await self._policy.call(attempt)
        self.assume_calls += 1
        found = response["Credentials"]
        register_secret(found["SecretAccessKey"])
        register_secret(found["SessionToken"])
        return {
            "access_key": found["AccessKeyId"],
            "secret_key": found["SecretAccessKey"],
            "token": found["SessionToken"],
            "expiry_time": _iso(found["Expiration"]),
            "account_id": role.account,
        }

    async def _sts_client(self, region: str) -> Any:
        client = self._sts.get(region)
        if client is not None:
            return client
        async with self._sts_lock:
            if region not in self._sts:
                kwargs: dict[str, Any] = {"region_name": region, "config": self._sts_config}
                if self._sts_endpoint_url is not None:
                    kwargs["endpoint_url"] = self._sts_endpoint_url
                creator = self._base.create_client("sts", **kwargs)
                self._sts[region] = await self._closing.enter_async_context(creator)
        return self._sts[region]


def _sts_failure(failure: CallFailed) -> CallFailed:
    """STS says throttling with a 400 and a code; everything else is classified by status already."""
    if failure.code in _THROTTLING_CODES and failure.kind is not FailureKind.THROTTLED:
        return dataclasses.replace(failure, kind=FailureKind.THROTTLED)
    return failure


def _refusal(role: Role, failure: CallFailed) -> CredentialsRefused:
    if failure.kind is FailureKind.PERMANENT:
        text = f"AssumeRole {role.arn} refused ({failure.code}): {failure.message}"
    else:
        text = f"AssumeRole {role.arn} failed, attempts spent ({failure.code}): {failure.message}"
    return CredentialsRefused(failure.code, text.rstrip(": "))


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _expiry(metadata: dict[str, Any]) -> datetime:
    found = datetime.fromisoformat(metadata["expiry_time"])
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
