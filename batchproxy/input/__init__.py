"""Reading and validating the input CSV (docs/reference.md §1, §7, §8, §9), streaming, in bounded memory.

    open_input(path) -> ContextManager[InputSource]                any readable input; a pipe or FIFO is
                                                                   copied to a private unlinked temp file
    read_input_header(path, needs_settings=..., setting=...) -> Header
                                                                   the header alone, checked
    scan(path, default_region=..., needs_settings=..., observe=..., profiles=..., role_name=...,
         setting=...) -> Scan
                                                                   one pass: header, counts, problems;
                                                                   observe(row) sees every row checked
    Scan.rows(select=...) -> Iterator[Row | InvalidRow]            a second pass, for the engine; rows
                                                                   not selected are skipped unchecked
    Scan.write_invalid_report(path)                                every problem, row,column,value,problem

``path`` is an ``InputSource`` or a path; a path must name a regular file (a stream is refused with
what to do), since the file is read more than once. Every file-level failure is a ``UsageError`` naming
the file (and the row and column where there is one) and saying what to do.

Modules, in the order a file goes through them: ``_source`` (a file or a spooled stream),
``_reader`` (bytes -> CSV records and the header; ``_diagnose`` says where, when reading fails),
``_rules`` (one row's cells -> ``rows.Row`` or problems: the connector's columns here, the chosen
setting's through ``_setting_cells`` and ``batchproxy.settings``, default the proxy; ``_roles`` for the
AccountId/RoleArn columns), ``_duplicates`` (the same connector twice: a hash per row, spilled to a
temporary file past 1 MB), ``_scan`` (the passes), ``_problems``.
"""

from batchproxy.input._problems import InvalidRow, Problem
from batchproxy.input._reader import Header
from batchproxy.input._scan import (
    FIRST_PROBLEMS,
    REPORT_COLUMNS,
    Observer,
    Scan,
    invalid_report_path,
    read_input_header,
    scan,
)
from batchproxy.input._source import InputSource, open_input

__all__ = [
    "FIRST_PROBLEMS",
    "REPORT_COLUMNS",
    "Header",
    "InputSource",
    "InvalidRow",
    "Observer",
    "Problem",
    "Scan",
    "invalid_report_path",
    "open_input",
    "read_input_header",
    "scan",
]
