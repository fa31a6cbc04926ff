"""What a results file says about each row, kept compactly: enough to decide a resume.

Per row number the state keeps the latest line's status, failure kind, a hash of its fingerprint and
a hash of its connector (VoiceConnectorId, Region): 18 bytes in flat arrays indexed by row number, so a
million-row journal costs about 18 MB however long its cells are. Later lines supersede earlier ones.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from batchproxy.journal.files import open_reading
from batchproxy.journal.layout import Layout
from batchproxy.journal.reader import JournalReader
from batchproxy.rows import FailureKind, Status

__all__ = ["JournalState", "LatestLine", "load"]

# Code 0 means "no line" / "no failure kind"; members are numbered from 1 in declaration order.
_STATUSES: tuple[Status | None, ...] = (None, *Status)
_KINDS: tuple[FailureKind | None, ...] = (None, *FailureKind)
_STATUS_CODE = {s.value: i for i, s in enumerate(_STATUSES) if s is not None}
_KIND_CODE = {"": 0} | {k.value: i for i, k in enumerate(_KINDS) if k is not None}


class LatestLine(NamedTuple):
    """The latest line of one row, as far as resume cares.

    A named tuple rather than a frozen dataclass: a resume makes one per input row before its first
    request, and a tuple is built in a third of the time.
    """

    status: Status
    failure_kind: FailureKind | None
    fingerprint_hash: int  # hash(fingerprint text); hash("") == 0 for invalid rows
    identity: int  # Layout.line_identity

    @property
    def is_final(self) -> bool:
        """Same rule as ``Outcome.is_final`` (docs/reference.md §7)."""
        if self.status is Status.FAILED:
            return self.failure_kind is not FailureKind.UNKNOWN_OUTCOME
        return self.status is Status.OK


@dataclass(eq=False)
class JournalState:
    """The latest outcome of every row a results file has a line for."""

    path: Path
    layout: Layout
    existed: bool = False  # False: no file (or no complete header): the run starts from scratch
    valid_length: int = 0  # where appending must start: the end of the last complete line
    torn_bytes: int = 0  # bytes of a torn last line, discarded
    lines: int = 0  # data lines read, superseded ones included
    _status: bytearray = field(default_factory=bytearray)
    _kind: bytearray = field(default_factory=bytearray)
    _fingerprint: array[int] = field(default_factory=lambda: array("q"))
    _identity: array[int] = field(default_factory=lambda: array("q"))
    _top: int = 0  # the highest row number with a line; the arrays may have spare room beyond it

    def __post_init__(self) -> None:
        self._status_at = self.layout.result_at("status")
        self._kind_at = self.layout.result_at("failure_kind")
        self._fingerprint_at = self.layout.result_at("fingerprint")

    @property
    def max_row(self) -> int:
        """The highest row number with a line (0 when there is none)."""
        return self._top

    def latest(self, number: int) -> LatestLine | None:
        """The row's latest line, or None if the file has no line for it."""
        if not 0 < number <= self._top or not self._status[number]:
            return None
        status = _STATUSES[self._status[number]]
        assert status is not None  # checked just above; tells mypy
        return LatestLine(
            status, _KINDS[self._kind[number]], self._fingerprint[number], self._identity[number]
        )

    def rows(self) -> Iterator[int]:
        """Row numbers with a line, ascending."""
        return (n for n, code in enumerate(self._status) if code)

    def counts(self) -> Counter[Status]:
        """How many rows' latest line has each status."""
        codes = Counter(self._status)
        return Counter({status: codes[i] for i, status in enumerate(_STATUSES) if status and codes[i]})

    def memory_bytes(self) -> int:
        """Bytes held by the per-row arrays (the whole per-row cost of a loaded journal)."""
        arrays = (self._fingerprint, self._identity)
        return len(self._status) + len(self._kind) + sum(a.itemsize * len(a) for a in arrays)

    def add(self, number: int, cells: Sequence[str]) -> None:
        """Take one well-formed results line (``JournalReader`` checked row number and status)."""
        if number >= len(self._status):
            self._grow(number)
        self._top = max(self._top, number)
        self._status[number] = _STATUS_CODE[cells[self._status_at]]
        # An unknown failure kind (a newer version's) reads as none: the row then counts as final.
        self._kind[number] = _KIND_CODE.get(cells[self._kind_at], 0)
        self._fingerprint[number] = hash(cells[self._fingerprint_at])
        self._identity[number] = self.layout.line_identity(cells)
        self.lines += 1

    def _grow(self, number: int) -> None:
        # Geometric, like a list: rows arrive in (nearly) ascending order, one past the end each time.
        missing = max(number + 1, 2 * len(self._status), 1024) - len(self._status)
        self._status.extend(bytes(missing))
        self._kind.extend(bytes(missing))
        self._fingerprint.frombytes(bytes(8 * missing))
        self._identity.frombytes(bytes(8 * missing))


def load(path: Path, input_header: Sequence[str]) -> JournalState:
    """Read a results file for ``--resume``; a missing file is an empty state (``existed`` False).

    Refuses (``UsageError``) a file that is not a batchproxy results file, one written for an input with
    other columns, and one damaged other than by a torn last line. Does not modify the file: the writer
    truncates the torn tail under its lock.
    """
    state = JournalState(path, Layout.for_input(input_header))
    try:
        raw = open_reading(path)
    except FileNotFoundError:
        return state
    with raw:
        reader = JournalReader(raw, state.layout, path)
        if reader.read_header():
            state.existed = True
            for _start, _end, number, cells in reader:
                state.add(number, cells)
        state.valid_length = reader.valid_length
        state.torn_bytes = reader.torn_bytes
    return state
