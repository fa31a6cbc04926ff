"""The AWS config and credentials files, read once per run, and one botocore session per profile.

A botocore session loads its own copy of the service model (~9 MB, ~0.1 s) and parses both files
again, so a session per (profile, region) made each rate domain cost that much. Here one base session
loads the botocore data and parses the files once; a profile's session borrows that data loader and
that parsed config and event handlers, so a domain costs little more than its client (~0.25 MB,
a few ms: bench/domains.py).

It follows the AWS CLI (docs/reference.md §7): ``--profile`` chooses the credentials of every row without a
Profile cell; a row's region is --region, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else its
profile's ``region``; an unknown profile or a file botocore cannot parse is a ``UsageError`` naming it.
"""

from __future__ import annotations

from typing import Any

from aiobotocore.hooks import AioHierarchicalEmitter
from aiobotocore.session import AioSession
from botocore.exceptions import ConfigParseError

from batchproxy import model
from batchproxy.errors import UsageError

__all__ = ["AwsProfiles", "derived_session"]

# Settings that make botocore's chain fetch credentials (assume a role, SSO, a process); a profile
# with none of them and both keys has exactly those keys, which need no chain and no re-parse.
_CHAIN_SETTINGS = (
    "role_arn",
    "web_identity_token_file",
    "credential_process",
    "sso_session",
    "sso_start_url",
)


class AwsProfiles:
    """The run's profiles: which exist, each one's region, and a session that signs as it."""

    def __init__(
        self, base: AioSession, emitter: AioHierarchicalEmitter, *, default_profile: str | None
    ) -> None:
        self._base = base
        self._emitter = emitter  # the base's, holding botocore's handlers; profiles' sessions share it
        self._default_profile = default_profile
        self._profiles: dict[str, dict[str, Any]] = base.full_config["profiles"]
        self._sessions: dict[str, AioSession] = {}
        self.files = (
            f"{base.get_config_variable('config_file')} and {base.get_config_variable('credentials_file')}"
        )

    @classmethod
    def load(cls, *, profile: str | None) -> AwsProfiles:
        """Parse the config and credentials files (found as botocore finds them) and check ``profile``.

        Raises ``UsageError`` naming the file botocore cannot parse, or the profile that is in neither.
        """
        emitter = AioHierarchicalEmitter()
        base = AioSession(event_hooks=emitter)
        base.register_component("data_loader", model.loader())
        try:
            base.full_config  # noqa: B018 - parsed here, once, so that a broken file fails before anything
            chosen = profile or base.get_config_variable("profile")
        except ConfigParseError as exc:
            path = exc.kwargs.get("path")
            raise UsageError(f"{path}: botocore cannot parse this AWS config or credentials file") from exc
        profiles = cls(base, emitter, default_profile=profile)
        if chosen is not None and not profiles.known(chosen):
            option = "--profile" if profile else "AWS_PROFILE"
            raise UsageError(f"{option} {chosen!r}: no such profile in {profiles.files}")
        return profiles

    def known(self, profile: str) -> bool:
        """As botocore has it: ``default`` always exists, any other profile only when a file names it."""
        return profile == "default" or profile in self._profiles

    def env_region(self) -> str | None:
        """``AWS_DEFAULT_REGION``, read by botocore's own config chain (the CLI reads ``AWS_REGION``)."""
        found = self._base.get_config_variable("region", methods=("env",))
        return str(found) if found else None

    def region(self, profile: str | None) -> str | None:
        """The ``region`` configured for ``profile`` (None: --profile, else the default chain's)."""
        name = profile or self._default_profile
        if name is None:
            found = self._base.get_config_variable("region")
        else:
            found = self._profiles.get(name, {}).get("region")
        return str(found) if found else None

    def session(self, profile: str | None) -> AioSession:
        """The session that signs as ``profile`` (None: --profile, else botocore's default chain)."""
        name = profile or self._default_profile
        if name is None:
            return self._base
        session = self._sessions.get(name)
        if session is None:
            session = self._sessions[name] = self._profile_session(name)
        return session

    def derived(self) -> AioSession:
        """A new session of the default chain that shares this one's data, files and handlers: an
        assumed role's session, whose credentials are then set (``assume``)."""
        return derived_session(self._base, self._emitter)

    def _profile_session(self, name: str) -> AioSession:
        if not self.known(name):
            raise UsageError(f"profile {name!r}: no such profile in {self.files}")
        session = derived_session(self._base, self._emitter, profile=name)
        settings = self._profiles.get(name, {})
        key, secret = settings.get("aws_access_key_id"), settings.get("aws_secret_access_key")
        if key and secret and not any(setting in settings for setting in _CHAIN_SETTINGS):
            session.set_credentials(key, secret, settings.get("aws_session_token"))
        return session


def derived_session(
    base: AioSession, emitter: AioHierarchicalEmitter, *, profile: str | None = None
) -> AioSession:
    """A session borrowing ``base``'s data loader, parsed config files and event handlers.

    ``emitter`` is the one ``base`` was made with, already holding botocore's handlers (which take the
    session from each event, never keep one): a new session would register its own ~120 again. The raw
    emitter, not the base's aliasing wrapper: each session adds its own wrapper.
    """
    session = AioSession(profile=profile, event_hooks=emitter, include_builtin_handlers=False)
    session.register_component("data_loader", base.get_component("data_loader"))
    # botocore has no public way to hand a session an already parsed config; without this each
    # session parses both files again (~10 ms each for a file of 300 profiles).
    session._config = base.full_config
    return session
