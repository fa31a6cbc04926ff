"""The live progress display on a terminal (rich), fed from ``RunStats``; nothing off a terminal."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterator
from typing import TextIO

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from batchproxy.rows import Status
from batchproxy.stats import RunStats

__all__ = ["ProgressDisplay"]

_REFRESH_SECONDS = 0.25
_RATE_WINDOW = 12  # draws: the shown rate is over the last ~3 s, steady enough to read


class ProgressDisplay:
    """``run()`` redraws every quarter second until cancelled; a no-op when ``stream`` is no terminal."""

    def __init__(self, stats: RunStats, stream: TextIO) -> None:
        self._stats = stats
        self._samples: deque[tuple[float, int]] = deque(maxlen=_RATE_WINDOW)
        self.enabled = stream.isatty()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            auto_refresh=False,
            transient=True,
        )
        self._task = self._progress.add_task("rows", total=None, detail="")

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._progress:
            yield

    async def run(self) -> None:
        if not self.enabled:
            return
        while True:
            self._draw()
            await anyio.sleep(_REFRESH_SECONDS)

    def _draw(self) -> None:
        stats = self._stats
        detail = (
            f"ok {stats.statuses[Status.OK]}  failed {stats.statuses[Status.FAILED]}  "
            f"in flight {stats.in_flight}  {self._recent_rate():.1f} req/s  "
            f"retries {stats.retries}  throttled {stats.throttles}"
        )
        self._progress.update(self._task, completed=stats.done, total=stats.total or None, detail=detail)
        self._progress.refresh()

    def _recent_rate(self) -> float:
        self._samples.append((time.monotonic(), self._stats.attempts))
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
