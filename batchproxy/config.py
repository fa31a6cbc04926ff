"""Run configuration: built once by the CLI, frozen, passed down. Nothing below the CLI reads argv or env."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    # With full jitter and a 20 s cap, 8 attempts span about a minute of AWS trouble per row.
    max_attempts: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    # How long SIGINT/SIGTERM lets requests in flight finish before they are cancelled.
    grace_seconds: float = 15.0
    emulate_region: str = "us-east-1"


DEFAULTS = Defaults()


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveConfig:
    """Rollout gating (CONTRACT §8): canary, waves, pauses, failure threshold."""

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
    # Which voice-connector setting the command is about (CONTRACT §9); recorded beside the results.
    setting: str = "proxy"
