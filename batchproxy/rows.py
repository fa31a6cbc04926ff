"""What flows through a run: one validated input row, and the outcome it ends with.

``input`` makes ``Row``s, an operation turns a row into a request, the engine turns the request into an
``Outcome``, and the journal writes the pair down. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batchproxy.principal import Domain, Role
from batchproxy.settings import Setting, members_code, setting

__all__ = ["FailureKind", "Outcome", "Row", "SettingValues", "Status", "Target", "proxy_settings"]


@dataclass(frozen=True, slots=True)
class SettingValues:
    """A row's checked members of one setting (``settings.SettingRules`` made them): what its put sends.

    ``members`` are API-named, lists as tuples, and may be shared by rows with equal cells, so they are
    never mutated (``settings.put_request`` copies them). ``code`` is their canonical text
    (``settings.members_code``, the setting's name included): equality and the fingerprint use it.
    The proxy's code is the one its fingerprints were made of before other settings existed, so a
    results file written then still resumes: with another code every done row would look edited and
    be sent again, and a ``--snapshot`` would record the state it had itself just put.
    """

    setting: Setting = field(compare=False)
    members: Mapping[str, Any] = field(compare=False)
    code: str

    @classmethod
    def of(cls, setting: Setting, members: Mapping[str, Any]) -> SettingValues:
        code = _proxy_code(members) if setting.name == "proxy" else members_code(setting, members)
        return cls(setting, members, code)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by the setting's name: the engine's queue spills rows to disk, and a ``Setting``
        (one instance per setting, holding read-only mappings) is found again by name, not copied."""
        return (_unpickled, (self.setting.name, dict(self.members), self.code))


def _unpickled(name: str, members: dict[str, Any], code: str) -> SettingValues:
    return SettingValues(setting(name), members, code)


def _proxy_code(members: Mapping[str, Any]) -> str:
    """The proxy's members as fingerprints encoded them before settings existed (``#`` after ``S``
    cannot begin another setting's code, which starts with its name)."""
    fields = (
        members["DefaultSessionExpiryMinutes"],
        tuple(members["PhoneNumberPoolCountries"]),
        members.get("FallBackPhoneNumber") or None,
        members.get("Disabled"),
    )
    return "".join(map(_encoded, fields))


def _encoded(value: object) -> str:
    """One field, self-delimiting: its first character says its kind, strings carry their length."""
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return f"#{value};"
    if isinstance(value, str):
        return f"{len(value)}:{value}"
    if isinstance(value, tuple):
        return f"[{len(value)}" + "".join(map(_encoded, value))
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def proxy_settings(
    *,
    default_session_expiry_minutes: int,
    phone_number_pool_countries: tuple[str, ...],
    fall_back_phone_number: str | None = None,
    disabled: bool | None = None,
) -> SettingValues:
    """A proxy row's values, by field: what a valid proxy CSV row makes (for tests and benchmarks)."""
    members: dict[str, Any] = {
        "DefaultSessionExpiryMinutes": default_session_expiry_minutes,
        "PhoneNumberPoolCountries": tuple(phone_number_pool_countries),
    }
    if fall_back_phone_number is not None:
        members["FallBackPhoneNumber"] = fall_back_phone_number
    if disabled is not None:
        members["Disabled"] = disabled
    return SettingValues.of(setting("proxy"), members)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Which connector, and through which AWS account and region it is reached."""

    voice_connector_id: str
    region: str
    profile: str | None = None
    role: Role | None = None  # docs/reference.md §10: assumed in its account; never together with ``profile``

    @property
    def domain(self) -> Domain:
        """The (profile or role, region) pair that shares one client, one rate limit and one throttle view."""
        return (self.role or self.profile, self.region)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One valid data row of the input.

    ``values`` are the row's cells exactly as read, aligned with the input header, so the results file
    can repeat them byte-for-byte. ``settings`` is None for operations that need none (delete), and
    for a rollback row whose connector had no such setting before.
    """

    number: int
    values: tuple[str, ...]
    target: Target
    settings: SettingValues | None

    def fingerprint(self) -> str:
        """A short stable digest of what this row asks for; an edited row gets a new one.

        Only ever compared with fingerprints in results files, never between rows of one run, so 64
        bits are plenty: an edited row goes unnoticed with a chance of 1 in 2**64.
        """
        target = self.target
        profile, region, connector = target.profile, target.region, target.voice_connector_id
        # Self-delimiting (strings carry their length), so no two rows encode alike; the settings' code
        # is canonical JSON and comes last. This runs for every row a resume checks.
        text = "~" if profile is None else f"{len(profile)}:{profile}"
        text += f"{len(region)}:{region}{len(connector)}:{connector}"
        text += "~" if self.settings is None else "S" + self.settings.code
        if target.role is not None:  # only then, so that rows without one keep their fingerprint
            text += f"R{len(target.role.arn)}:{target.role.arn}"
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class Status(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    INVALID = "invalid"
    SKIPPED = "skipped"


class FailureKind(enum.StrEnum):
    """How the retry policy sees a failed attempt; the only classification it knows."""

    THROTTLED = "throttled"  # 429: back off, and slow the whole (profile, region) down
    TRANSIENT = "transient"  # 5xx, connection refused/reset: retry with backoff
    PERMANENT = "permanent"  # 4xx other than 429: retrying cannot help
    UNKNOWN_OUTCOME = "unknown_outcome"  # sent, then no answer: it may or may not have applied


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How one row ended. Field names follow the results file's columns (docs/reference.md §3)."""

    status: Status
    attempts: int = 0
    http_status: int | None = None
    error_code: str = ""
    error_message: str = ""
    failure_kind: FailureKind | None = None
    request_id: str = ""
    duration_ms: int = 0
    finished_at: datetime | None = None
    # Operation-specific columns (e.g. ``previous_state`` with --snapshot), already as text.
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """Final outcomes are not sent again by ``--resume`` (docs/reference.md §7).

        A row that failed because its last attempt went unanswered may have been applied or not, so
        it is not final: resume sends it again (the put is idempotent).
        """
        if self.status is Status.FAILED:
            return self.failure_kind is not FailureKind.UNKNOWN_OUTCOME
        return self.status is Status.OK
