"""What an emulator is told to do: one frozen, keyword-only value, plus parsers for its text forms.

The parsers are the single place where the command line's spellings (``503=0.05,reset=0.01``,
``20ms``, ``0:100,20:30``) become typed values, so the CLI, the control endpoint and tests agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from batchproxy.emulator.settings import parse_absent_answers

__all__ = [
    "DENY_ERRORS",
    "FAULT_KINDS",
    "EmulatorConfig",
    "check_lifetime",
    "parse_duration",
    "parse_faults",
    "parse_rate_schedule",
    "parse_region_rate",
]

# What a fault draw can turn a request into. A status means "answer with that error before applying";
# ``reset`` drops the connection before applying, ``lost`` applies the change and then drops it.
FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "504", "reset", "lost")

# How a denied access key is refused; each is an exception the model declares for these operations.
DENY_ERRORS: tuple[str, ...] = ("AccessDeniedException", "UnauthorizedClientException", "ForbiddenException")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    """Everything an emulator needs at start. Rates are requests per second; 0 means unlimited.

    ``burst`` is the token bucket's capacity; when None it holds one second's worth of the rate
    (at least 1). ``rate_schedule`` holds ``(seconds since start, rate)`` steps for the default rate.
    ``faults`` maps a ``FAULT_KINDS`` entry to its probability per request. ``connectors`` are the
    ``(region, VoiceConnectorId)`` pairs that exist at start in the default account;
    ``account_connectors`` the ``(account, region, VoiceConnectorId)`` triples of any account.

    STS: ``sts_denied_accounts`` / ``sts_denied_roles`` (role names) are refused with AccessDenied,
    the first ``sts_failures`` AssumeRole calls answer ServiceUnavailable (503), the next
    ``sts_throttle`` Throttling (400), every answer waits ``sts_latency`` seconds, and ``credential_lifetime``
    (seconds) caps how long a temporary key works (None: the DurationSeconds asked for).
    """

    host: str = "127.0.0.1"
    port: int = 0
    seed: int | None = None
    rate: float = 0.0
    burst: int | None = None
    region_rates: Mapping[str, float] = field(default_factory=dict)
    rate_schedule: tuple[tuple[float, float], ...] = ()
    retry_after: int | None = None
    faults: Mapping[str, float] = field(default_factory=dict)
    latency: float = 0.0
    connectors: tuple[tuple[str, str], ...] = ()
    auto_create: bool = False
    default_region: str = "us-east-1"
    denied_access_keys: frozenset[str] = frozenset()
    deny_error: str = "AccessDeniedException"
    account_connectors: tuple[tuple[str, str, str], ...] = ()
    sts_denied_accounts: frozenset[str] = frozenset()
    sts_denied_roles: frozenset[str] = frozenset()
    sts_throttle: int = 0
    sts_failures: int = 0
    sts_latency: float = 0.0
    credential_lifetime: float | None = None
    # Setting key → "not-found" | "empty" | "defaults": how Get answers a setting never put, where
    # a test wants another answer than the emulator's default for that setting (settings module).
    absent_answers: Mapping[str, str] = field(default_factory=dict)
    list_page_size: int = 100
    stats_capacity: int = 1_000_000

    def __post_init__(self) -> None:
        check_rate(self.rate)
        for rate in self.region_rates.values():
            check_rate(rate)
        for _, rate in self.rate_schedule:
            check_rate(rate)
        if self.burst is not None and self.burst < 1:
            raise ValueError("burst must be at least 1")
        check_faults(self.faults)
        if self.latency < 0 or not math.isfinite(self.latency):
            raise ValueError("latency must be a finite number of seconds >= 0")
        if self.deny_error not in DENY_ERRORS:
            raise ValueError("deny_error must be one of " + ", ".join(DENY_ERRORS))
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        if self.sts_throttle < 0 or self.sts_failures < 0:
            raise ValueError("sts_throttle and sts_failures must be >= 0")
        if self.sts_latency < 0 or not math.isfinite(self.sts_latency):
            raise ValueError("sts_latency must be a finite number of seconds >= 0")
        check_lifetime(self.credential_lifetime)
        parse_absent_answers(self.absent_answers)


def check_lifetime(seconds: float | None) -> None:
    if seconds is not None and (seconds <= 0 or not math.isfinite(seconds)):
        raise ValueError(f"credential_lifetime must be a number of seconds > 0, not {seconds}")


def check_rate(rate: float) -> None:
    if rate < 0 or not math.isfinite(rate):
        raise ValueError(f"a rate must be a finite number >= 0, not {rate}")


def check_faults(faults: Mapping[str, float]) -> None:
    for kind, probability in faults.items():
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if not 0 <= probability <= 1:
            raise ValueError(f"fault {kind} probability must be between 0 and 1")
    if sum(faults.values()) > 1 + 1e-9:
        raise ValueError("fault probabilities add up to more than 1")


def _pairs(text: str, separator: str) -> Iterable[tuple[str, str]]:
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition(separator)
        if not sep:
            raise ValueError(f"expected KEY{separator}VALUE, got {item.strip()!r}")
        yield key.strip(), value.strip()


def parse_faults(text: str) -> dict[str, float]:
    """``"503=0.05,reset=0.01"`` → ``{"503": 0.05, "reset": 0.01}``, checked."""
    faults = {kind.lower(): float(value) for kind, value in _pairs(text, "=")}
    check_faults(faults)
    return faults


def parse_region_rate(text: str) -> tuple[str, float]:
    """``"eu-west-2=5"`` → ``("eu-west-2", 5.0)``."""
    [(region, value)] = list(_pairs(text, "=")) or [("", "")]
    if not region:
        raise ValueError(f"expected REGION=RATE, got {text!r}")
    rate = float(value)
    check_rate(rate)
    return region, rate


def parse_rate_schedule(text: str) -> tuple[tuple[float, float], ...]:
    """``"0:100,20:30"`` → ``((0.0, 100.0), (20.0, 30.0))``, sorted by time."""
    steps = sorted((float(at), float(rate)) for at, rate in _pairs(text, ":"))
    for at, rate in steps:
        if at < 0:
            raise ValueError("schedule times are seconds since start, >= 0")
        check_rate(rate)
    return tuple(steps)


_UNITS = {"ms": 0.001, "s": 1.0}


def parse_duration(text: str) -> float:
    """``"20ms"`` → 0.02, ``"1.5s"`` → 1.5; a bare number is milliseconds (as latency is usually given)."""
    text = text.strip().lower()
    for unit in ("ms", "s"):
        if text.endswith(unit):
            number, scale = text[: -len(unit)], _UNITS[unit]
            break
    else:
        number, scale = text, _UNITS["ms"]
    seconds = float(number) * scale
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be >= 0, not {text!r}")
    return seconds
