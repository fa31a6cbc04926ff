"""The interface every operation module implements: everything that differs between commands.

The engine, the job and the summary never name a command. What varies between put, delete, plan and
rollback lives behind ``Operation``: how a row is prepared before sending, what is checked of the whole
input first, where outcomes go (a ``Sink``: the results journal or the plan file), which extra result
columns it writes, its default output paths, and which command line to suggest next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from batchproxy.principal import Domain
from batchproxy.rows import Outcome, Row

if TYPE_CHECKING:
    from batchproxy.config import RunConfig
    from batchproxy.engine.stats import RunStats
    from batchproxy.input import Header, InvalidRow, Scan
    from batchproxy.journal import Reservation
    from batchproxy.settings import Setting

__all__ = [
    "Applied",
    "Background",
    "Caller",
    "NextCommands",
    "Operation",
    "OutputPaths",
    "Sink",
    "SinkEnding",
    "SinkOpening",
    "SinkResult",
]

Background = Callable[[], Coroutine[Any, Any, None]]
"""A task that runs beside the workers until the rows are done (journal group commit, progress)."""


class Caller(Protocol):
    """Sends one API request (a botocore client method name and its parameters) for the current row.

    Rate limiting, attempt counting and retries happen inside; what comes back is the parsed response,
    or ``errors.CallFailed`` once the policy gives up.
    """

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """A row's successful end, and the operation-specific columns it adds to the results file."""

    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputPaths:
    """Where a command writes by default, next to its input."""

    results: Path
    failures: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NextCommands:
    """The command lines the summary suggests: continue an interrupted run, or re-apply failures."""

    resume: Sequence[str] = ()
    retry: Sequence[str] = ()
    resend: Sequence[str] = ()  # go on from the results file, failed rows sent again too


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkOpening:
    """What a sink needs to open: the run's options, the input's header, and a resumed journal."""

    config: RunConfig
    header: Sequence[str]
    reservation: Reservation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkEnding:
    """What a sink needs to finish: every input row's number, the counters, the rates learned."""

    input_rows: Collection[int]
    stats: RunStats
    learned_rates: Mapping[Domain, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkResult:
    """What the sink finished: rows not ok in the written file, notes and paths for the summary."""

    not_ok: int
    results_path: Path
    failures_path: Path | None = None
    earlier_not_ok: int = 0  # --resume: rows an earlier run left not ok, not sent again
    notes: Sequence[str] = ()


class Sink(Protocol):
    """Where outcomes go. Opened by the operation, closed by whoever opened it (a context manager)."""

    def record(self, row: Row, outcome: Outcome) -> None: ...

    def record_invalid(self, row: InvalidRow, outcome: Outcome) -> None: ...

    def background(self) -> Sequence[Background]:
        """Tasks to run beside the workers (the journal's group commit)."""
        ...

    def finish(self, ending: SinkEnding) -> SinkResult:
        """After the last outcome: write what is left (finalize, failure report, plan file)."""
        ...


class Operation(Protocol):
    """What to do with one row, and everything else a command does differently from the others."""

    @property
    def name(self) -> str:
        """The API operation, as shown in logs."""
        ...

    @property
    def command(self) -> str:
        """The command line's name for it, as shown in the summary."""
        ...

    @property
    def setting(self) -> Setting:
        """The voice-connector setting it works on (docs/reference.md §9)."""
        ...

    @property
    def needs_settings(self) -> bool:
        """Whether input rows must carry the setting's values (put, plan) or only a target (delete)."""
        ...

    @property
    def writes(self) -> bool:
        """False for read-only operations (plan): they may never change a connector."""
        ...

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """The result columns ``Applied.extra`` may fill, beyond the common ones."""
        ...

    def default_paths(self, input_path: Path) -> OutputPaths: ...

    def check(self, scan: Scan) -> None:
        """Refuse the input as a whole (``errors.UsageError``) before anything is sent."""
        ...

    def prepare(self, row: Row, header: Header) -> Row | Outcome:
        """The row as it is sent, or the outcome to record without sending it."""
        ...

    def open_sink(self, opening: SinkOpening) -> contextlib.AbstractContextManager[Sink]: ...

    def next_commands(self, config: RunConfig) -> NextCommands: ...

    async def apply(self, row: Row, call: Caller) -> Applied: ...
