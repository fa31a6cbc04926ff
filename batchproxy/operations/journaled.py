"""What the writing commands (run, delete, rollback) share: the results journal as their sink.

Outcomes go to the results file (docs/reference.md §3), which is finalized, gets a failure report beside it,
and keeps the rates the run learned for a later --resume. The summary suggests --resume after an
interruption and a run on the failure report after failures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from batchproxy import input as input_file
from batchproxy.journal import Journal, OpenMode, save_meta
from batchproxy.journal.meta import RunMeta
from batchproxy.logs import get_logger
from batchproxy.operations.base import (
    Background,
    NextCommands,
    OutputPaths,
    Sink,
    SinkEnding,
    SinkOpening,
    SinkResult,
)
from batchproxy.rows import Outcome, Row, Status

if TYPE_CHECKING:
    from batchproxy.config import RunConfig

__all__ = ["JournalSink", "Journaled", "drop_options", "resend_argv", "resume_argv", "without"]

log = get_logger(__name__)


class JournalSink:
    """The results journal as a ``Sink``: the fingerprint goes with every line."""

    def __init__(self, journal: Journal, config: RunConfig) -> None:
        self._journal = journal
        self._config = config

    def record(self, row: Row, outcome: Outcome) -> None:
        self._journal.record(row.number, row.values, outcome, fingerprint=row.fingerprint())

    def record_invalid(self, row: input_file.InvalidRow, outcome: Outcome) -> None:
        self._journal.record(row.number, row.values, outcome)

    def background(self) -> Sequence[Background]:
        return (self._journal.run_syncer,)

    def finish(self, ending: SinkEnding) -> SinkResult:
        config = self._config
        assert config.failures_path is not None, "a journaled command always has a failure report"
        meta = RunMeta(learned_rates=dict(ending.learned_rates), setting=config.setting)
        save_meta(config.results_path, meta)
        finished = self._journal.finalize(ending.input_rows)
        failures = self._journal.write_failure_report(config.failures_path)
        log.info("results written", lines=finished.lines, failures=failures)
        stats = ending.stats
        earlier = max(failures - (stats.done - stats.statuses[Status.OK]), 0)
        notes = [f"{earlier} row(s) already not ok from an earlier run"] if earlier else []
        return SinkResult(
            not_ok=failures,
            results_path=config.results_path,
            failures_path=config.failures_path,
            earlier_not_ok=earlier,
            notes=notes,
        )


@contextlib.contextmanager
def open_journal(opening: SinkOpening) -> Iterator[Sink]:
    """The results file: the resumed one (already locked and read), or a new one."""
    config = opening.config
    if opening.reservation is not None:
        journal = opening.reservation.open()
    else:
        mode = OpenMode.FORCE if config.force else OpenMode.NEW
        journal = Journal.open(config.results_path, opening.header, mode)
        # At once, before any row: an interrupted run's --resume and a rollback read it from here.
        save_meta(config.results_path, RunMeta(setting=config.setting))
    with journal:
        if journal.state.torn_bytes:
            log.warning("discarded a torn last line left by a crash", bytes=journal.state.torn_bytes)
        yield JournalSink(journal, config)


class Journaled:
    """Defaults for an operation whose outcomes go to the results journal. Mix into a frozen dataclass."""

    __slots__ = ()

    command = "run"
    extra_columns: tuple[str, ...] = ()

    def default_paths(self, input_path: Path) -> OutputPaths:
        stem = input_path.with_name(input_path.stem)
        return OutputPaths(
            results=stem.with_name(stem.name + ".results.csv"),
            failures=stem.with_name(stem.name + ".failed.csv"),
        )

    def check(self, scan: input_file.Scan) -> None:
        """Nothing to check beyond each row's own validation."""

    def prepare(self, row: Row, header: input_file.Header) -> Row | Outcome:
        return row

    def open_sink(self, opening: SinkOpening) -> contextlib.AbstractContextManager[Sink]:
        return open_journal(opening)

    def next_commands(self, config: RunConfig) -> NextCommands:
        """Continue with --resume (and --retry-failed to send failed rows again); or re-apply what
        failed by running the same command on the failure report.

        The resume commands keep ``--shard``; the retry does not: a shard's failure report holds that
        shard's rows only, and split again over N shards most of them would fall to the others.
        """
        argv = _argv(config, self.command)
        with_value = {"--results", "--failures", "--shard", "--events"}
        kept = drop_options(argv[2:], with_value, {"--force", "--resume", "--retry-failed"})
        kept = _without_input(kept, config.input_path)
        if config.setting != "proxy" and not any(arg.split("=", 1)[0] == "--setting" for arg in kept):
            # Taken from the results file this time; the failure report records none, so say it.
            kept += ["--setting", config.setting]
        retry = [argv[0], self.command, str(config.failures_path), *kept]
        return NextCommands(resume=resume_argv(argv), retry=retry, resend=resend_argv(argv))


def _argv(config: RunConfig, command: str) -> list[str]:
    return list(config.argv) or ["batchproxy", command, str(config.input_path)]


def _without_input(args: Sequence[str], input_path: Path) -> list[str]:
    """``args`` without the input file argument, however it was spelled (``./in.csv`` is ``in.csv``)."""
    kept = list(args)
    for i, arg in enumerate(kept):
        if not arg.startswith("-") and Path(arg) == input_path:
            del kept[i]
            break
    return kept


def resume_argv(argv: Sequence[str]) -> list[str]:
    """The command line that continues this run from its results file."""
    return [*without(argv, "--force", "--resume"), "--resume"]


def resend_argv(argv: Sequence[str]) -> list[str]:
    """The command line that continues this run and sends its failed rows again."""
    return [*without(resume_argv(argv), "--retry-failed"), "--retry-failed"]


def without(argv: Sequence[str], *flags: str) -> list[str]:
    return [arg for arg in argv if arg not in flags]


def drop_options(args: Sequence[str], with_value: set[str], flags: set[str]) -> list[str]:
    """``args`` without the given options (and the values of those that take one)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in with_value:
            skip = "=" not in arg
            continue
        if name not in flags:
            out.append(arg)
    return out
