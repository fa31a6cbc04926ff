"""What flows through a run: one validated input row, and the outcome it ends with.

``input`` makes ``Row``s, an operation turns a row into a request, the engine turns the request into an
``Outcome``, and the journal writes the pair down. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batchproxy.principal import Domain, Role

__all__ = ["FailureKind", "Outcome", "ProxySettings", "Row", "Status", "Target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySettings:
    """The body of a PutVoiceConnectorProxy request, typed."""

    default_session_expiry_minutes: int
    phone_number_pool_countries: tuple[str, ...]
    fall_back_phone_number: str | None = None
    disabled: bool | None = None

    def as_request(self) -> dict[str, Any]:
        """The request members, API-named; optional members left out when not given."""
        body: dict[str, Any] = {
            "DefaultSessionExpiryMinutes": self.default_session_expiry_minutes,
            "PhoneNumberPoolCountries": list(self.phone_number_pool_countries),
        }
        if self.fall_back_phone_number is not None:
            body["FallBackPhoneNumber"] = self.fall_back_phone_number
        if self.disabled is not None:
            body["Disabled"] = self.disabled
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Which connector, and through which AWS account and region it is reached."""

    voice_connector_id: str
    region: str
    profile: str | None = None
    role: Role | None = None  # CONTRACT §10: assumed in its account; never together with ``profile``

    @property
    def domain(self) -> Domain:
        """The (profile or role, region) pair that shares one client, one rate limit and one throttle view."""
        return (self.role or self.profile, self.region)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One valid data row of the input.

    ``values`` are the row's cells exactly as read, aligned with the input header, so the results file
    can repeat them byte-for-byte. ``settings`` is None for operations that need none (delete).
    """

    number: int
    values: tuple[str, ...]
    target: Target
    settings: ProxySettings | None

    def fingerprint(self) -> str:
        """A short stable digest of what this row asks for; an edited row gets a new one.

        Only ever compared with fingerprints in results files, never between rows of one run, so 64
        bits are plenty: an edited row goes unnoticed with a chance of 1 in 2**64.
        """
        target = self.target
        profile, region, connector = target.profile, target.region, target.voice_connector_id
        # What _encoded makes of these three, written out: this runs for every row a resume checks.
        text = "~" if profile is None else f"{len(profile)}:{profile}"
        text += f"{len(region)}:{region}{len(connector)}:{connector}"
        text += "~" if self.settings is None else _settings_code(self.settings)
        if target.role is not None:  # only then, so that rows without one keep their fingerprint
            text += f"R{len(target.role.arn)}:{target.role.arn}"
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@functools.lru_cache(maxsize=4096)
def _settings_code(settings: ProxySettings) -> str:
    """Most rows share a few settings, so their part of the encoding is remembered."""
    return "S" + "".join(
        map(
            _encoded,
            (
                settings.default_session_expiry_minutes,
                settings.phone_number_pool_countries,
                settings.fall_back_phone_number,
                settings.disabled,
            ),
        )
    )


def _encoded(value: object) -> str:
    """One field, self-delimiting: its first character says its kind, strings carry their length.

    So no two different rows encode alike, whatever characters their cells hold.
    """
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
    """How one row ended. Field names follow the results file's columns (CONTRACT §3)."""

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
        """Final outcomes are not sent again by ``--resume`` (CONTRACT §7).

        A row that failed because its last attempt went unanswered may have been applied or not, so
        it is not final: resume sends it again (the put is idempotent).
        """
        if self.status is Status.FAILED:
            return self.failure_kind is not FailureKind.UNKNOWN_OUTCOME
        return self.status is Status.OK
