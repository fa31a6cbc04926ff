"""Run configuration: built once by the CLI, frozen, passed down. Nothing below the CLI reads argv or env."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from batchproxy.shard import ShardSpec

__all__ = ["DEFAULTS", "Defaults", "RunConfig", "WaveConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Defaults:
    """Defaults an operator can defend; README "Defaults" explains each."""

    # AWS publishes no TPS figure for Chime SDK Voice control-plane calls. 10/s per account+region is
    # what such APIs reliably sustain; the adaptive limiter finds the real limit below it on throttling.
    rate: float = 10.0
    burst: int = 10
    # Enough in flight to keep 10/s going at ~1 s latency, small enough not to look like an attack.
    concurrency: int = 16
    # How long an outage is ridden out: retries go on until an attempt fails after ``retry_budget``
    # seconds (then that row fails), or after ``max_attempts`` requests, whichever comes first. Full
    # jitter (base 0.2 s, cap 20 s) waits at most 0.2+0.4+…+12.8 = 25.4 s over the first 7 waits
    # (12.7 s on average), then U(0, 20 s), 10 s on average, per wait: 8 attempts rode out only ~13 s.
    # With 20 attempts the 60 s budget is what binds (attempts run out first in ~1 run in 10,000,
    # simulated): a request that keeps failing is tried ~13 times, its last try 60 to 80 s after its first.
    max_attempts: int = 20
    retry_budget: float = 60.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # How long SIGINT/SIGTERM lets requests in flight finish before they are cancelled.
    grace_seconds: float = 15.0
    emulate_region: str = "us-east-1"


DEFAULTS = Defaults()


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveConfig:
    """Rollout gating (docs/reference.md §8): canary, waves, pauses, failure threshold."""

    canary: int = 0
    waves: tuple[str, ...] = ()  # "10" or "10%"; the last size repeats
    pause: str | None = None  # "30s", "5m", …
    approve: bool = False
    max_failures: str | None = None  # "N" or "P%"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    input_path: Path
    results_path: Path
    failures_path: Path | None  # None when the command writes no failure report (plan)
    region: str | None
    profile: str | None
    endpoint_url: str | None
    env_region: str | None = None  # AWS_REGION, read by the CLI: after --region, before AWS_DEFAULT_REGION
    rate: float = DEFAULTS.rate
    burst: int = DEFAULTS.burst
    concurrency: int = DEFAULTS.concurrency
    max_attempts: int = DEFAULTS.max_attempts
    connect_timeout: float = DEFAULTS.connect_timeout
    read_timeout: float = DEFAULTS.read_timeout
    grace_seconds: float = DEFAULTS.grace_seconds
    resume: bool = False
    retry_failed: bool = False
    force: bool = False
    skip_invalid: bool = False
    snapshot: bool = False
    skip_unchanged: bool = False
    emulate: bool = False
    waves: WaveConfig = WaveConfig()
    # The command line as typed, to print the exact resume / retry commands in the summary.
    argv: tuple[str, ...] = ()
    # docs/reference.md §10: the role an AccountId cell means, and what every AssumeRole passes on.
    role_name: str | None = None
    external_id: str | None = None
    role_session_name: str = "batchproxy"  # the CLI makes it batchproxy-<run id>
    events: str | None = None  # --events PATH, or "-" for stdout (docs/reference.md §11)
    # --shard I/N: this process takes only its rate domains (docs/reference.md §12)
    shard: ShardSpec | None = None
    # Seconds one request keeps retrying transient failures; also how long a domain may go without
    # any answer before it is given up as unreachable (engine.breaker).
    retry_budget: float = DEFAULTS.retry_budget
    # Send to a non-loopback plain-http --endpoint-url (signed requests and phone numbers in clear).
    allow_insecure_endpoint: bool = False
    # Which voice-connector setting the command is about (docs/reference.md §9); recorded beside the results.
    setting: str = "proxy"
