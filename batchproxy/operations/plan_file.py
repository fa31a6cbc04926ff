"""The plan file (docs/reference.md §8): per row ``create`` / ``change`` / ``unchanged`` / ``error``.

Rows finish out of order under concurrency; the plan is written in row order when the plan is
complete, so its lines are held until then (a plan is read by a person, and sorted is what they read).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from batchproxy import columns
from batchproxy import input as input_file
from batchproxy.errors import UsageError
from batchproxy.journal import Layout, spreadsheet_safe
from batchproxy.journal.files import atomic_replace
from batchproxy.journal.layout import LineFormatter
from batchproxy.operations.base import Background, SinkEnding, SinkResult
from batchproxy.rows import Outcome, Row, Status

__all__ = ["PlanFile"]

ERROR = "error"


class PlanFile:
    """The plan command's ``Sink``: writes the plan file on ``finish`` or ``close`` (atomically, 0600)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self._layout = Layout.for_input(header)
        self._lines: list[tuple[int, list[str]]] = []
        self._actions: Counter[str] = Counter()
        self._closed = False

    @classmethod
    def create(cls, path: Path, header: Sequence[str], *, force: bool) -> PlanFile:
        if path.exists() and not force:
            raise UsageError(
                f"{path} already exists; pass --force to overwrite it or --plan PATH for another"
            )
        return cls(path, header)

    def __enter__(self) -> PlanFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None or issubclass(exc_type, Exception) is False:
            self.close()

    def record(self, row: Row, outcome: Outcome) -> None:
        action = outcome.extra.get("action", "") if outcome.status is Status.OK else ERROR
        if outcome.status is Status.SKIPPED:
            action = "skipped"
        self._add(row.number, row.values, action, outcome.extra.get("changes", ""), outcome)

    def record_invalid(self, row: input_file.InvalidRow, outcome: Outcome) -> None:
        self._actions[ERROR] += 1
        self._lines.append(
            (
                row.number,
                [*self._cells(row.number, row.values), ERROR, "", outcome.error_code, outcome.error_message],
            )
        )

    def action_counts(self) -> list[str]:
        counts = ", ".join(f"{n} {action}" for action, n in sorted(self._actions.items()))
        return [f"plan: {counts}"] if counts else []

    def background(self) -> Sequence[Background]:
        return ()

    def finish(self, ending: SinkEnding) -> SinkResult:
        self.close()
        failed = ending.stats.statuses[Status.FAILED]
        return SinkResult(not_ok=failed, results_path=self.path, notes=self.action_counts())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._lines.sort(key=lambda line: line[0])
        to_line = LineFormatter()
        with atomic_replace(self.path) as out:
            out.write(to_line([columns.ROW_COLUMN, *self._layout.kept_names, *columns.PLAN_COLUMNS]))
            for _, cells in self._lines:
                out.write(to_line(cells))
        os.chmod(self.path, 0o600)

    def _add(self, number: int, values: Sequence[str], action: str, changes: str, outcome: Outcome) -> None:
        self._actions[action] += 1
        service = [spreadsheet_safe(outcome.error_code), spreadsheet_safe(outcome.error_message)]
        self._lines.append((number, [*self._cells(number, values), action, changes, *service]))

    def _cells(self, number: int, values: Sequence[str]) -> list[str]:
        return [str(number), *self._layout.input_cells(values)]
