"""Rollout gating: canary, waves, pauses or approval between them, and the failure threshold.

The scheduler asks this module three things: how many rows go in each wave, whether to go on once a
wave has finished, and whether the failures so far are too many to continue.

Rounding (README "Rollouts"): a percentage wave size is that share of the input's rows rounded down,
but at least 1; ``--max-failures P%`` allows P% of the input's rows rounded down, and the run aborts as
soon as the number of failed rows exceeds it.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import anyio

from batchproxy.config import WaveConfig
from batchproxy.engine.stats import RunStats
from batchproxy.errors import UsageError
from batchproxy.logs import get_logger
from batchproxy.report.question import confirm
from batchproxy.rows import Status

__all__ = ["Rollout", "build_rollout", "parse_duration", "parse_max_failures", "parse_wave_sizes"]

log = get_logger(__name__)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str, option: str = "--pause") -> float:
    """``90``, ``90s``, ``1.5m``, ``2h``, ``500ms`` → seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected a duration such as 30s, 5m or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _count_or_percent(text: str, total: int, option: str) -> int:
    spec = text.strip()
    try:
        if spec.endswith("%"):
            percent = float(spec[:-1])
            if not 0 <= percent <= 100:
                raise ValueError(spec)
            return int(total * percent // 100)
        count = int(spec)
        if count < 0:
            raise ValueError(spec)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a row count (10) or a percentage (10%)") from None
    return count


def parse_wave_sizes(specs: Sequence[str], total: int) -> list[int]:
    """Each wave size as a row count, at least 1; an empty list means "all rows in one wave"."""
    return [max(_count_or_percent(spec, total, "--waves"), 1) for spec in specs]


def parse_max_failures(spec: str | None, total: int) -> int | None:
    """How many failed rows are tolerated; None when there is no threshold."""
    return None if spec is None else _count_or_percent(spec, total, "--max-failures")


@dataclass(slots=True, kw_only=True)
class Rollout:
    """Implements ``scheduler.Waves`` for one run."""

    canary: int = 0
    wave_sizes: Sequence[int] = ()
    pause_seconds: float = 0.0
    # Asks the operator; the scheduler cancels it when the run stops (a Ctrl-C must not wait for Enter).
    approve: Callable[[str], Awaitable[bool]] | None = None
    max_failures: int | None = None

    def sizes(self) -> Iterator[int]:
        first = [self.canary] if self.canary > 0 else []
        sizes = [*first, *self.wave_sizes]
        if not sizes:
            return itertools.repeat(-1)  # one endless wave: never reaches a boundary
        tail = self.wave_sizes[-1] if self.wave_sizes else -1
        return itertools.chain(sizes, itertools.repeat(tail))

    @property
    def gated(self) -> bool:
        return bool(self.canary or self.wave_sizes or self.max_failures is not None)

    async def between(self, wave: int, stats: RunStats) -> str | None:
        failed = stats.statuses[Status.FAILED]
        if wave == 0 and self.canary and failed:
            return f"canary failed: {failed} of the first {self.canary} rows failed"
        log.info("wave finished", wave=wave + 1, ok=stats.statuses[Status.OK], failed=failed)
        if self.approve is not None:
            question = f"Wave {wave + 1} done ({stats.done} rows). Continue with the next wave?"
            if not await self.approve(question):
                return "not approved by the operator"
        elif self.pause_seconds:
            log.info("pausing before the next wave", seconds=self.pause_seconds)
            await anyio.sleep(self.pause_seconds)
        return None

    def after_outcome(self, stats: RunStats) -> str | None:
        failed = stats.statuses[Status.FAILED]
        if self.max_failures is not None and failed > self.max_failures:
            return f"--max-failures exceeded: {failed} rows failed (threshold {self.max_failures})"
        return None


def build_rollout(config: WaveConfig, total_rows: int) -> Rollout | None:
    """The gate for one run from its options; None when the run is not gated at all."""
    approve = None
    if config.approve:
        if not sys.stdin.isatty():
            raise UsageError("--approve asks on the terminal between waves, but stdin is not a terminal")
        approve = confirm
    rollout = Rollout(
        canary=config.canary,
        wave_sizes=parse_wave_sizes(config.waves, total_rows),
        pause_seconds=parse_duration(config.pause) if config.pause else 0.0,
        approve=approve,
        max_failures=parse_max_failures(config.max_failures, total_rows),
    )
    return rollout if rollout.gated else None
