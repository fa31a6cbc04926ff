"""Rows that name the same connector, found in bounded memory; and two compact row-number maps.

A dict of every (region, id) key would cost ~150 bytes per row: 150 MB for a million rows. Instead the
first pass keeps only a 64-bit hash per row, in 256 arrays split by the hash's top byte so that each
can be sorted on its own with little extra memory. Past ``_SPILL_HASHES`` hashes held (1 MB), the
arrays are appended to an unlinked temporary file and emptied, so memory stays flat however long the
input is (8 bytes per row go to disk instead; issue 13). Only a hash seen twice makes its rows candidates;
a second pass over the file compares the candidates' actual keys, so a hash collision can never make a
false duplicate. When a file repeats very many rows (the same rows pasted twice), the candidates are
confirmed in batches of hashes so that the keys held at once stay bounded.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise
from typing import IO

from batchproxy.input._rules import Key

__all__ = ["Bitmap", "DuplicateFinder", "KeyHash", "RowMap", "default_key_hash"]

KeyHash = Callable[[Key], int]
_MASK64 = 2**64 - 1
_PARTITIONS = 256
_PARTITION_SHIFT = 56  # the top byte of a 64-bit hash picks its partition
_BATCH_HASHES = 50_000  # candidate hashes confirmed per pass over the file: ~10 MB of keys and hashes
# Hashes held in memory before they go to the spill file: 1 MB. Inputs below 131,072 rows never spill.
_SPILL_HASHES = 1 << 17


def default_key_hash(key: Key) -> int:
    """Python's own hash: fast and 64 bits wide. It is salted per process, and that is fine: both
    passes that use it run in the same process."""
    return hash(key) & _MASK64


class DuplicateFinder:
    """Collects one hash per row, then confirms which rows really share a key. Single use."""

    def __init__(
        self,
        key_hash: KeyHash = default_key_hash,
        *,
        batch_hashes: int = _BATCH_HASHES,
        spill_hashes: int | None = None,
    ) -> None:
        self._hash = key_hash
        self._batch_hashes = batch_hashes
        self._parts = [array("Q") for _ in range(_PARTITIONS)]
        self._spill_at = max(_SPILL_HASHES if spill_hashes is None else spill_hashes, 1)
        self._held = 0
        self._spill: IO[bytes] | None = None
        # Per partition, where its spilled pieces are: file offsets and hash counts (16 bytes a piece).
        self._pieces = [(array("q"), array("q")) for _ in range(_PARTITIONS)]

    def add(self, key: Key) -> None:
        value = self._hash(key) & _MASK64
        self._parts[value >> _PARTITION_SHIFT].append(value)
        self._held += 1
        if self._held >= self._spill_at:
            self._spill_parts()

    def _spill_parts(self) -> None:
        """Append every partition's hashes to the spill file and empty them."""
        if self._spill is None:
            # Unlinked at once (nothing left behind, nothing another user can open); holds only hashes.
            self._spill = tempfile.TemporaryFile(prefix="batchproxy-hashes-")  # noqa: SIM115 -- closed
            # once the candidates are found (or by the collector if the scan fails first)
        spill = self._spill
        offset = spill.seek(0, 2)
        for index, part in enumerate(self._parts):
            if part:
                part.tofile(spill)
                offsets, counts = self._pieces[index]
                offsets.append(offset)
                counts.append(len(part))
                offset += len(part) * part.itemsize
                self._parts[index] = array("Q")
        self._held = 0

    def _partition(self, index: int) -> array[int]:
        """Partition ``index`` whole: its spilled pieces read back, then what is still in memory."""
        part = array("Q")
        offsets, counts = self._pieces[index]
        if self._spill is not None:
            for offset, count in zip(offsets, counts, strict=True):
                self._spill.seek(offset)
                part.fromfile(self._spill, count)
        part.extend(self._parts[index])
        self._parts[index] = array("Q")
        self._pieces[index] = (array("q"), array("q"))
        return part

    def confirm(self, keyed_rows: Callable[[], Iterable[tuple[int, Key]]]) -> Iterator[tuple[int, int, Key]]:
        """Yield ``(row, other row, key)`` once for each row whose key another row has too.

        ``keyed_rows`` reads the file again, yielding ``(row number, key)`` in row order. It is called
        once per batch of candidate hashes: not at all for a file without duplicates, once normally.
        ``other`` is the first row with the key, or for that first row the second one.
        """
        for batch in self._candidate_batches():
            yield from self._confirm_batch(batch, keyed_rows())

    def _candidate_batches(self) -> Iterator[frozenset[int]]:
        batch: set[int] = set()
        for index in range(_PARTITIONS):
            ordered = sorted(self._partition(index))  # one partition at a time: 1/256 of the hashes
            batch.update(a for a, b in pairwise(ordered) if a == b)
            if len(batch) >= self._batch_hashes:
                yield frozenset(batch)
                batch = set()
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        if batch:
            yield frozenset(batch)

    def _confirm_batch(
        self, batch: frozenset[int], rows: Iterable[tuple[int, Key]]
    ) -> Iterator[tuple[int, int, Key]]:
        # Keyed by the real key, so colliding hashes stay apart; one string rather than a tuple of two
        # halves what a key costs. The value is the key's first row, negated once that row has been
        # reported: a second set of keys would cost as much again.
        first_of: dict[str, int] = {}
        for number, key in rows:
            if self._hash(key) & _MASK64 not in batch:
                continue
            compact = "\0".join(key)  # unambiguous: a valid region holds no NUL
            first = first_of.setdefault(compact, number)
            if first == number:
                continue
            if first > 0:
                first_of[compact] = -first
                yield first, number, key
            yield number, abs(first), key


class Bitmap:
    """A set of row numbers at one bit each: a million rows take 125 kB however many are in it."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._count = 0

    def add(self, number: int) -> None:
        index, mask = number >> 3, 1 << (number & 7)
        if index >= len(self._bits):
            self._bits.extend(bytes(index + 1 - len(self._bits)))
        if not self._bits[index] & mask:
            self._bits[index] |= mask
            self._count += 1

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or number < 0 or number >> 3 >= len(self._bits):
            return False
        return bool(self._bits[number >> 3] & (1 << (number & 7)))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        for index, byte in enumerate(self._bits):
            if byte:
                yield from (index * 8 + bit for bit in range(8) if byte & (1 << bit))


class RowMap:
    """Row number -> row number at 4 bytes per row of the file, allocated on the first entry only."""

    def __init__(self, last_row: int) -> None:
        self._last_row = last_row
        self._other: array[int] | None = None

    def __setitem__(self, number: int, other: int) -> None:
        if self._other is None:
            self._other = array("I", [0]) * (self._last_row + 1)
        self._other[number] = other

    def get(self, number: int) -> int | None:
        """The row mapped to ``number``, or None."""
        if self._other is None or not 0 <= number < len(self._other):
            return None
        return self._other[number] or None
