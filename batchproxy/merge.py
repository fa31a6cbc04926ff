"""Joining the results files of N shards into one results file and one failure report (docs/reference.md §12).

Each shard's finished results file holds that shard's rows in row order, so the files are merged as
sorted streams (``heapq.merge``): memory holds one line per shard, whatever the input's size. Lines are
copied byte for byte (positioned reads, as ``compact`` does), so input values and the spreadsheet-safe
service text stay exactly as the shards wrote them; the failure report is then written from the merged
file by the journal's own ``write_failure_report``.

Refused, with nothing written (the merged file is built under a temporary name): files whose shard
records (``shard_record``) disagree on the input or on N, a missing or repeated shard, a file name that
says another shard than its record, different results headers, a shard that has not finished (lines
out of order, or not as many as its record says), and a row that two shards both claim.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from batchproxy import columns
from batchproxy.errors import UsageError
from batchproxy.journal.compact import write_failure_report
from batchproxy.journal.files import atomic_replace
from batchproxy.journal.layout import Layout
from batchproxy.journal.lock import ResultsLock
from batchproxy.journal.meta import RunMeta, save_meta
from batchproxy.journal.reader import JournalReader
from batchproxy.rows import Status
from batchproxy.setting_choice import DEFAULT_SETTING, common_setting
from batchproxy.shard import split_shard_name
from batchproxy.shard_record import ShardRecord, load_shard_record

__all__ = ["MergeResult", "default_outputs", "merge"]


@dataclass(frozen=True, slots=True)
class MergeResult:
    results_path: Path
    failures_path: Path
    shards: int
    lines: int  # lines in the merged results file: one per input row
    counts: Counter[Status]  # per status
    failures: int  # rows in the failure report

    @property
    def all_ok(self) -> bool:
        return self.counts[Status.OK] == self.lines


@dataclass(frozen=True, slots=True)
class _Shard:
    path: Path
    record: ShardRecord
    header: tuple[str, ...]


def default_outputs(shard_files: Sequence[Path]) -> tuple[Path, Path]:
    """The merged results and failure report beside the shard files, named as one run would name them.

    The results file is a shard file's name without ``.shard-I-of-N``; the failure report swaps a final
    ``.results`` for ``.failed``, or adds it: ``input.results.shard-2-of-4.csv`` gives
    ``input.results.csv`` and ``input.failed.csv``; a rollback's ``x.rollback.shard-2-of-4.csv`` gives
    ``x.rollback.csv`` and ``x.rollback.failed.csv``. Every shard file must give the same names.
    """
    merged = {_unsharded(path) for path in shard_files}
    if len(merged) != 1 or None in merged:
        raise UsageError(
            "the shard files' names do not share one <name>.shard-I-of-N<ext> form; "
            "give the merged files' paths with --results and --failures"
        )
    results = next(iter(merged))
    assert results is not None  # for mypy: None was refused above
    stem = results.stem.removesuffix(".results") or results.stem
    return results, results.with_name(stem + ".failed" + results.suffix)


def _unsharded(path: Path) -> Path | None:
    split = split_shard_name(path.name)
    return None if split is None else path.with_name(split[0])


def merge(
    shard_files: Sequence[Path],
    results: Path | None = None,
    failures: Path | None = None,
    *,
    force: bool = False,
) -> MergeResult:
    """Merge ``shard_files`` into ``results`` and ``failures`` (by default: ``default_outputs``).

    A refusal raises ``UsageError`` and writes nothing.
    """
    shards = _checked(shard_files)  # first: what is wrong with the shards matters more than names
    setting = common_setting(shard_files)
    if results is None or failures is None:
        default_results, default_failures = default_outputs(shard_files)
        results, failures = results or default_results, failures or default_failures
    _check_outputs(shard_files, results, failures, force=force)
    layout = Layout.for_input(shards[0].header[1 : -len(columns.RESULT_COLUMNS)])
    with contextlib.ExitStack() as locks:
        # Locks keep a shard that is still running (or a second merge) from changing files under us.
        for path in (*(s.path for s in shards), results):
            lock = ResultsLock(path)
            lock.acquire()
            locks.callback(lock.release)
        try:
            counts = _merge_lines(shards, layout, results)
            written = write_failure_report(results, failures, layout)
            if setting != DEFAULT_SETTING:  # no record means the proxy: its merge writes no sidecar
                save_meta(results, RunMeta(setting=setting))  # so rollback of the merged file knows it
        except OSError as exc:  # a full disk, a vanished directory: a message, not a traceback
            raise UsageError(
                f"merge failed writing {exc.filename or results}: {exc.strerror or exc}"
            ) from exc
    return MergeResult(results, failures, len(shards), sum(counts.values()), counts, written)


def _checked(shard_files: Sequence[Path]) -> list[_Shard]:
    """Every refusal that needs no line read: records, names, coverage of 1..N, headers."""
    if not shard_files:
        raise UsageError("merge: give the shard results files to merge")
    shards = sorted((_load(path) for path in shard_files), key=lambda s: s.record.index)
    first = shards[0]
    for shard in shards[1:]:
        _check_same_input(first, shard)
    _check_coverage(shards)
    total = sum(s.record.shard_rows for s in shards)
    if total != first.record.input_rows:
        raise UsageError(
            f"the shard records add up to {total} rows but the input has {first.record.input_rows}: "
            "the shards did not split the same input the same way"
        )
    return shards


def _load(path: Path) -> _Shard:
    header = _read_header(path)  # first: a file that is not there is named as such
    record = load_shard_record(path)
    named = split_shard_name(path.name)
    if named is not None and named[1] != record.spec:
        raise UsageError(f"{path} is named as shard {named[1]} but its shard record says shard {record.spec}")
    return _Shard(path, record, header)


def _read_header(path: Path) -> tuple[str, ...]:
    try:
        with path.open(encoding="utf-8", newline="") as text:
            header = next(csv.reader(text), [])
    except FileNotFoundError:
        raise UsageError(f"shard results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read the shard results file {path}: {exc}") from None
    results = columns.RESULT_COLUMNS
    if (
        len(header) <= len(results)
        or header[0] != columns.ROW_COLUMN
        or tuple(header[-len(results) :]) != results
    ):
        raise UsageError(f"{path} is not a batchproxy results file (its first line is not a results header)")
    return tuple(header)


def _check_same_input(first: _Shard, other: _Shard) -> None:
    if other.record.count != first.record.count:
        raise UsageError(
            f"{first.path} is one of {first.record.count} shards but {other.path} one of "
            f"{other.record.count}: they are not from the same sharded run"
        )
    if (
        other.record.input_digest != first.record.input_digest
        or other.record.input_rows != first.record.input_rows
    ):
        raise UsageError(f"{first.path} and {other.path} were written for different input files")
    if other.header != first.header:
        raise UsageError(
            f"{first.path} and {other.path} have different columns: they were written for different inputs"
        )


def _check_coverage(shards: Sequence[_Shard]) -> None:
    count = shards[0].record.count
    seen: dict[int, Path] = {}
    for shard in shards:
        index = shard.record.index
        if index in seen:
            raise UsageError(f"shard {index}/{count} is given twice: {seen[index]} and {shard.path}")
        seen[index] = shard.path
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise UsageError(
            f"shard(s) {', '.join(missing)} of {count} missing: merge needs every shard's results"
        )


def _check_outputs(shard_files: Sequence[Path], results: Path, failures: Path, *, force: bool) -> None:
    inputs = {path.resolve() for path in shard_files}
    for output in (results, failures):
        if output.resolve() in inputs:
            raise UsageError(f"{output} is one of the shard files: the merged files need their own paths")
        if output.exists() and not force:
            raise UsageError(f"{output} already exists: use --force to overwrite it")
        if not output.parent.is_dir():
            raise UsageError(f"cannot write {output}: {output.parent} is not a directory")
    if results.resolve() == failures.resolve():
        raise UsageError("--results and --failures name the same file")


# (row number, shard index, start, end, status) of one line: sorts by row, then by shard.
_Line = tuple[int, int, int, int, str]


def _merge_lines(shards: Sequence[_Shard], layout: Layout, results: Path) -> Counter[Status]:
    counts: Counter[Status] = Counter()
    with contextlib.ExitStack() as files, atomic_replace(results) as out:
        raws: list[BinaryIO] = [files.enter_context(shard.path.open("rb")) for shard in shards]
        streams = [_lines(shard, raw, layout) for shard, raw in zip(shards, raws, strict=True)]
        with shards[0].path.open("rb") as first:
            out.write(first.readline())  # the header as the shards wrote it (compared equal above)
        previous = (0, 0)
        for number, index, start, end, status in heapq.merge(*streams):
            if number == previous[0]:
                raise UsageError(f"row {number} is claimed by both shard {previous[1]} and shard {index}")
            previous = (number, index)
            out.write(os.pread(raws[index - 1].fileno(), end - start, start))
            counts[Status(status)] += 1
    return counts


def _lines(shard: _Shard, raw: BinaryIO, layout: Layout) -> Iterator[_Line]:
    """One shard's lines, checking that the shard finished: ascending rows, as many as its record says."""
    reader = JournalReader(raw, layout, shard.path)
    if not reader.read_header():
        raise UsageError(f"{shard.path} lost its header: that shard never got going")
    status_at, index, last = layout.result_at("status"), shard.record.index, 0
    for start, end, number, cells in reader:
        if number <= last:
            raise _unfinished(shard, f"row {number} comes after row {last}")
        last = number
        yield number, index, start, end, cells[status_at]
    if reader.records != shard.record.shard_rows:
        raise _unfinished(
            shard, f"it has {reader.records} lines, its shard has {shard.record.shard_rows} rows"
        )


def _unfinished(shard: _Shard, detail: str) -> UsageError:
    spec = shard.record.spec
    return UsageError(
        f"{shard.path} is not a finished shard results file ({detail}); "
        f"run shard {spec}'s command again with --resume, then merge"
    )
