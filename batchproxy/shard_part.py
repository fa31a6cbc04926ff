"""This process's part of a sharded input (``--shard I/N``): which rows it takes, counted in one pass.

``shard.assign`` needs the rows of every rate domain of the whole input, and the sending pass must
know, for each row, whether this shard owns it. Both come from the validating pass the job makes
anyway (``ShardCounter`` is fed by ``job.Gathered``): the counter keeps each row's domain as a small
integer in an array indexed by row number (4 bytes a row, only with ``--shard``), so the sending pass
and the journal's ``finalize`` ask "is row n ours?" in constant time, without reading the file again.

Invalid rows (with ``--skip-invalid``) have no trustworthy domain: shard 1 records them all, so the
merged results still hold one line per input row, and the other shards never see them.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from batchproxy import principal
from batchproxy.rows import Row
from batchproxy.shard import Assignment, ShardSpec, assign
from batchproxy.shard import Domain as ShardDomain
from batchproxy.shard_record import ShardRecord, input_digest, save_shard_record

if TYPE_CHECKING:
    from batchproxy.input import Scan

__all__ = ["InvalidRows", "ShardCounter", "ShardPart", "save_record", "shard_domain"]

_NONE = 0  # in the per-row array: a blank line, an invalid row, or a number past the last row


def shard_domain(key: principal.Domain) -> ShardDomain:
    """The engine's (principal, region) as ``shard.assign`` keys it (profile or account, name, region)."""
    return principal.kinded(key)


class ShardCounter:
    """Rows per domain, and each valid row's domain, from the validating pass."""

    def __init__(self) -> None:
        self._ids: dict[principal.Domain, int] = {}
        self._counts: list[int] = [0]  # by domain id; id 0 is _NONE
        self._domain_of_row = array("I", [_NONE])  # index 0 unused: rows count from 1

    def add(self, row: Row) -> None:
        key = row.target.domain
        ident = self._ids.get(key)
        if ident is None:
            ident = self._ids[key] = len(self._counts)
            self._counts.append(0)
        self._counts[ident] += 1
        rows = self._domain_of_row
        if row.number >= len(rows):
            rows.extend([_NONE] * (row.number - len(rows) + 1))
        rows[row.number] = ident

    def reset(self) -> None:
        """Forget everything (the job re-gathers when duplicates turned valid rows invalid)."""
        self.__init__()  # type: ignore[misc]  # the same empty state as a new counter

    def part(self, spec: ShardSpec, *, invalid: Collection[int], takes_invalid: bool) -> ShardPart:
        """This shard's rows, once every row was counted; ``invalid``: the input's invalid rows."""
        assignment = assign(
            {shard_domain(key): self._counts[ident] for key, ident in self._ids.items()}, spec.count
        )
        owned = bytearray(len(self._counts))
        for key, ident in self._ids.items():
            owned[ident] = assignment.owns(spec, shard_domain(key))
        return ShardPart(
            spec=spec,
            assignment=assignment,
            _domain_ids=self._ids,
            _owned=owned,
            _domain_of_row=self._domain_of_row,
            _invalid=invalid,
            takes_invalid=takes_invalid,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardPart:
    """Which rows and domains this shard takes, and how many rows every shard has."""

    spec: ShardSpec
    assignment: Assignment
    _domain_ids: dict[principal.Domain, int]
    _owned: bytearray  # by domain id: 1 when this shard owns the domain
    _domain_of_row: array[int]
    _invalid: Collection[int]  # the input's invalid rows (--skip-invalid)
    takes_invalid: bool  # this shard records them: shard 1 does

    def owns(self, row: Row) -> bool:
        """Is this valid row ours? (Its domain is.)"""
        number = row.number
        rows = self._domain_of_row
        return number < len(rows) and bool(self._owned[rows[number]])

    def owns_domain(self, key: principal.Domain) -> bool:
        ident = self._domain_ids.get(key)
        return ident is not None and bool(self._owned[ident])

    @property
    def valid_rows(self) -> int:
        return self.assignment.rows[self.spec.index - 1]

    @property
    def rows(self) -> int:
        """Lines this shard's finished results file holds: its valid rows, and shard 1 the invalid."""
        return self.valid_rows + (len(self._invalid) if self.takes_invalid else 0)

    def row_numbers(self) -> Collection[int]:
        """This shard's row numbers, for the journal's ``finalize`` (it keeps only these lines)."""
        return _ShardRows(self)

    def describe(self) -> str:
        """``2/4: 30 of 120 rows (shards: 30, 30, 40, 20)``; a long list is cut to its extremes."""
        rows = self.assignment.rows
        # A summary line fits 80 columns: up to four shards listed, more as their extremes.
        spread = ", ".join(map(str, rows)) if len(rows) <= 4 else f"{min(rows)} to {max(rows)}"
        total = sum(rows) + len(self._invalid)
        return f"{self.spec}: {self.rows} of {total} rows (per shard: {spread})"


class _ShardRows(Collection[int]):
    """The row numbers a ``ShardPart`` takes, tested in constant time; iterated in row order."""

    def __init__(self, part: ShardPart) -> None:
        self._part = part

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or number < 1:
            return False
        part = self._part
        rows = part._domain_of_row
        if number < len(rows) and rows[number] != _NONE:
            return bool(part._owned[rows[number]])
        return part.takes_invalid and number in part._invalid

    def __iter__(self) -> Iterator[int]:
        last = max(len(self._part._domain_of_row) - 1, max(self._part._invalid, default=0))
        return (number for number in range(1, last + 1) if number in self)

    def __len__(self) -> int:
        return self._part.rows


class InvalidRows(Collection[int]):
    """A scan's invalid row numbers as a collection (membership from its bitmap, no copy)."""

    def __init__(self, scan: Scan) -> None:
        self._scan = scan

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self._scan.is_invalid(number)

    def __iter__(self) -> Iterator[int]:
        return self._scan.invalid_rows()

    def __len__(self) -> int:
        return self._scan.invalid_row_count


def save_record(results: Path, input_path: Path, input_rows: int, part: ShardPart) -> None:
    """Beside the results file just opened (or resumed): what ``merge`` checks this shard against.

    ``input_rows``: the input's data rows, every shard's (the merged file's lines).
    """
    record = ShardRecord(
        index=part.spec.index,
        count=part.spec.count,
        input_digest=input_digest(input_path),
        input_rows=input_rows,
        shard_rows=part.rows,
    )
    save_shard_record(results, record)
