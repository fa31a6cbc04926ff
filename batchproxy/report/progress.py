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
from rich.table import Column
from rich.text import Text

from batchproxy.engine.stats import RunStats
from batchproxy.report import live
from batchproxy.rows import Status

__all__ = ["ProgressDisplay"]

_REFRESH_SECONDS = 0.25
_GIVES_WAY = Column(no_wrap=True, overflow="ellipsis", ratio=1)
_RATE_WINDOW = 12  # draws: the shown rate is over the last ~3 s, steady enough to read


class ProgressDisplay:
    """``run()`` redraws every quarter second until cancelled; a no-op when ``stream`` is no terminal.

    While ``shown``, it is the terminal's ``live.LiveDisplay``: log lines print above it, and a question
    pauses it.
    """

    def __init__(self, stats: RunStats, stream: TextIO) -> None:
        self._stats = stats
        self._samples: deque[tuple[float, int]] = deque(maxlen=_RATE_WINDOW)
        self.enabled = stream.isatty()
        self._paused = False
        # Counts and time left first, details last: on a narrow terminal it is the details that get cut.
        self._progress = Progress(
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            # The one column that gives way when the terminal is narrow.
            TextColumn(
                "{task.fields[detail]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)
            ),
            expand=True,
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
        with self._progress, live.showing(self):
            yield

    def print_above(self, line: str) -> None:
        # As the line's own text (its colours decoded), never as markup: a log line may hold "[...]".
        # soft_wrap: the terminal wraps a long line, so none of it is cut off.
        self._progress.console.print(Text.from_ansi(line), soft_wrap=True)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The bar is erased (``transient``) until the block ends; nothing redraws it meanwhile."""
        self._paused = True
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()
            self._paused = False

    async def run(self) -> None:
        if not self.enabled:
            return
        while True:
            if not self._paused:
                self._draw()
            await anyio.sleep(_REFRESH_SECONDS)

    def _draw(self) -> None:
        stats = self._stats
        detail = (
            f"ok {stats.statuses[Status.OK]} · failed {stats.statuses[Status.FAILED]} · "
            f"{self._recent_rate():.0f} req/s · {stats.in_flight} in flight · "
            f"{stats.retries} retries · {stats.throttles} throttled"
        )
        done = stats.done + stats.already_done  # on --resume the bar starts where the last run ended
        self._progress.update(self._task, completed=done, total=stats.total or None, detail=detail)
        self._progress.refresh()

    def _recent_rate(self) -> float:
        self._samples.append((time.monotonic(), self._stats.attempts))
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
