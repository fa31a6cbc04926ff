"""A run whose input is a pipe, a FIFO or process substitution (``run <(cat f.csv)``).

``input.open_input`` copies such an input into a private temporary file, so it can be read as often
as a run needs. What it cannot give is a directory: the default results file, failure report and
invalid-row report go beside the input (``in.csv`` -> ``in.results.csv``), and beside ``/dev/fd/63``
nothing can be written (or found again by ``--resume``). So a stream needs ``--results PATH``, and
the other reports are named after that path instead.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

from batchproxy import input as input_file
from batchproxy.config import RunConfig
from batchproxy.errors import UsageError
from batchproxy.operations import Operation

__all__ = ["config_for", "invalid_report_path", "named_after", "refuse_without_results"]


def refuse_without_results(config: RunConfig, operation: Operation) -> None:
    """Before the input is opened (a FIFO without a writer would block the open): a stream without
    ``--results`` is refused with what to do. Anything ``open_input`` refuses is left to it."""
    try:
        mode = os.stat(config.input_path).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    if config.results_path == operation.default_paths(config.input_path).results:
        raise _needs_results(config.input_path, "pipe or FIFO" if stat.S_ISFIFO(mode) else "special file")


def _needs_results(path: Path, kind: str) -> UsageError:
    return UsageError(
        f"{path} is a {kind}: there is no directory beside it for the results file; pass --results "
        "PATH (the failure report is then written beside that path)"
    )


def config_for(config: RunConfig, operation: Operation, source: input_file.InputSource) -> RunConfig:
    """``config`` as it is for a regular file; for a stream, its reports named after ``--results``.

    Raises ``UsageError`` for a stream without ``--results`` (its default would be beside the stream).
    """
    if source.regular:
        return config
    defaults = operation.default_paths(config.input_path)
    if config.results_path == defaults.results:
        raise _needs_results(source.path, source.kind)
    if config.failures_path is not None and config.failures_path == defaults.failures:
        config = dataclasses.replace(config, failures_path=named_after(config.results_path, "failed"))
    return config


def invalid_report_path(config: RunConfig, source: input_file.InputSource) -> Path:
    """Where the invalid-row report goes: beside the input, or for a stream beside ``--results``."""
    if source.regular:
        return input_file.invalid_report_path(source.path)
    return named_after(config.results_path, "invalid")


def named_after(results: Path, kind: str) -> Path:
    """``out/run1.results.csv`` -> ``out/run1.<kind>.csv``; ``out/run1.csv`` -> ``out/run1.<kind>.csv``."""
    stem = results.stem.removesuffix(".results")
    return results.with_name(f"{stem}.{kind}.csv")
