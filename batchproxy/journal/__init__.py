"""The results file as a crash-safe journal: writing, resuming, finishing (docs/reference.md §3, §4, §7).

    Journal.open(path, header, mode)    lock, create / overwrite / resume (cutting a torn last line)
    ├── record(...)                     one line per finished row, written at once
    ├── run_syncer() / sync()           group commit: fsync every 0.2 s, never per row
    ├── finalize(input_rows)            atomic rewrite: one line per input row, latest outcome
    ├── write_failure_report(path)      the rows that are not ok, valid as input for another run
    └── close()
    Journal.reserve(path, header, mode) open in two steps: lock (and read) now, .open() to write

    load(path, header) -> JournalState  what a journal says about each row, compactly
    check_input(state, rows)            refuse a different input file; count disappeared rows
    plan_resume(state, row)             send this row again?
    ResumePlan(state)                   both, a row at a time, kept at one byte per row

Modules: ``layout`` (line shape, spreadsheet safety), ``reader`` (parsing, torn tails), ``state``,
``resume``, ``writer``, ``compact`` (finalize, failure report), ``line_index`` (each row's latest line in
row order, as sorted runs spilled to a temporary file: flat memory), ``lock``, ``meta`` (sidecar), ``files``.
"""

from batchproxy.journal.compact import FinalizeResult, RowNumbers
from batchproxy.journal.layout import Layout, iso_utc, spreadsheet_safe
from batchproxy.journal.lock import lock_path
from batchproxy.journal.meta import RunMeta, load_meta, meta_path, save_meta
from batchproxy.journal.resume import (
    DIFFERENT_INPUT_MIN_ROWS,
    DIFFERENT_INPUT_SHARE,
    InputCheck,
    InputComparison,
    NumberedRow,
    ResumeDecision,
    ResumePlan,
    ResumeReason,
    check_input,
    plan_resume,
)
from batchproxy.journal.state import JournalState, LatestLine, load
from batchproxy.journal.writer import DEFAULT_SYNC_INTERVAL, Journal, OpenMode, Reservation

__all__ = [
    "DEFAULT_SYNC_INTERVAL",
    "DIFFERENT_INPUT_MIN_ROWS",
    "DIFFERENT_INPUT_SHARE",
    "FinalizeResult",
    "InputCheck",
    "InputComparison",
    "Journal",
    "JournalState",
    "LatestLine",
    "Layout",
    "NumberedRow",
    "OpenMode",
    "Reservation",
    "ResumeDecision",
    "ResumePlan",
    "ResumeReason",
    "RowNumbers",
    "RunMeta",
    "check_input",
    "iso_utc",
    "load",
    "load_meta",
    "lock_path",
    "meta_path",
    "plan_resume",
    "save_meta",
    "spreadsheet_safe",
]
