"""Where the input's bytes come from: a file that can be read from its start as often as needed.

A run reads its input more than once (validate every row, then send; the duplicate check and the
invalid report read it again), so a pipe, a FIFO or process substitution (``run <(cat f.csv)``) cannot be
read in place: the second pass would find it drained. ``open_input`` copies such an input once into a
private temporary file (mode 0600, unlinked at once, so nothing is left behind even after a crash) and
reads that; ``source_of`` takes a path as it is and refuses anything but a regular file, with a message
saying what to do. Every failure to open is a ``UsageError`` naming the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batchproxy.errors import UsageError
from batchproxy.input._problems import printable_path

__all__ = ["FileStamp", "InputSource", "open_input", "source_of"]

_SPOOL_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class FileStamp:
    """Enough of a file's identity to notice that it changed between two passes over it."""

    size: int
    mtime_ns: int


class InputSource:
    """An input that can be opened from its first byte again and again.

    ``path`` is the name the user gave (for messages and for the files named after it); ``kind`` says
    what it was ("file", "pipe or FIFO", "character device"); only a ``regular`` one has a directory
    that the default side files (results, failures, invalid report) can be put in.
    """

    def __init__(self, path: Path, kind: str, spool: IO[bytes] | None = None) -> None:
        self.path = path
        self.kind = kind
        self._spool = spool

    @property
    def regular(self) -> bool:
        return self._spool is None

    def open_raw(self) -> io.RawIOBase:
        """A new unbuffered binary stream at the first byte; the caller buffers and closes it."""
        if self._spool is None:
            try:
                return io.FileIO(self.path, "r")
            except OSError as exc:
                raise cannot_read(self.path, exc) from exc
        return _PositionalReader(self._spool.fileno())

    def open(self) -> io.BufferedReader:
        """A new buffered binary stream at the first byte; the caller closes it."""
        return io.BufferedReader(self.open_raw())

    def stamp(self) -> FileStamp:
        """Size and mtime of a regular file; a spooled copy is never changed by anyone but us."""
        if self._spool is not None:
            return FileStamp(os.fstat(self._spool.fileno()).st_size, 0)
        try:
            status = os.stat(self.path)
        except OSError as exc:
            raise cannot_read(self.path, exc) from exc
        return FileStamp(status.st_size, status.st_mtime_ns)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


class _PositionalReader(io.RawIOBase):
    """Reads a shared descriptor with ``pread`` from its own offset, so that several passes over one
    spooled copy never move each other's position; closing it leaves the descriptor open."""

    def __init__(self, descriptor: int) -> None:
        super().__init__()
        self._descriptor = descriptor
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = os.pread(self._descriptor, len(buffer), self._offset)
        buffer[: len(data)] = data
        self._offset += len(data)
        return len(data)


_KINDS = (
    (stat.S_ISFIFO, "pipe or FIFO"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)


def _kind(path: Path) -> str:
    """What ``path`` is, following symlinks; refuses what cannot be input at all."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise cannot_read(path, exc) from exc
    if stat.S_ISDIR(mode):
        raise UsageError(
            f"{printable_path(path)} is a directory, not a CSV file: pass the path of the input CSV"
        )
    if stat.S_ISREG(mode):
        return "file"
    return next((kind for test, kind in _KINDS if test(mode)), "special file")


def source_of(path: str | os.PathLike[str]) -> InputSource:
    """A regular file, checked to be readable; anything else is refused with what to do instead.

    Opening a FIFO would block until a writer comes, so its kind is looked at first, without opening it.
    """
    where = Path(path)
    kind = _kind(where)
    if kind != "file":
        raise UsageError(
            f"{printable_path(where)} is a {kind}, not a regular file: batchproxy reads its input more "
            "than once (every row is validated before any is sent), which a stream cannot do; save it "
            "to a file first (e.g. `cat … > input.csv`) and pass that file"
        )
    with _opened(where):
        pass  # readable: say so now, naming the file, rather than halfway through a command
    return InputSource(where, kind)


@contextlib.contextmanager
def open_input(path: str | os.PathLike[str]) -> Iterator[InputSource]:
    """Any readable input: a regular file as it is, anything else copied first into a private,
    already unlinked temporary file that closes with the context. ``source.regular`` tells which."""
    where = Path(path)
    kind = _kind(where)
    if kind == "file":
        yield source_of(where)
        return
    source = InputSource(where, kind, _spooled(where))
    try:
        yield source
    finally:
        source.close()


def _spooled(path: Path) -> IO[bytes]:
    # TemporaryFile: mode 0600 and no name in any directory (O_TMPFILE, or unlinked on creation).
    spool = tempfile.TemporaryFile()  # noqa: SIM115 -- it outlives this call: InputSource.close closes it
    try:
        with _opened(path) as stream:
            shutil.copyfileobj(stream, spool, _SPOOL_CHUNK)
        spool.flush()
    except OSError as exc:
        spool.close()
        raise UsageError(
            f"cannot copy {printable_path(path)} into a temporary file ({exc.strerror or exc}); "
            "save the input to a file and pass that file"
        ) from exc
    except BaseException:
        spool.close()
        raise
    return spool


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise cannot_read(path, exc) from exc
    with stream:
        yield stream


def cannot_read(path: Path, exc: OSError) -> UsageError:
    """The error for an input that cannot be opened, with what to do about it."""
    name = printable_path(path)
    if isinstance(exc, FileNotFoundError):
        return UsageError(f"{name} does not exist: check the path of the input CSV")
    if isinstance(exc, PermissionError):
        return UsageError(f"cannot read {name}: permission denied; make it readable by this user")
    if isinstance(exc, IsADirectoryError):
        return UsageError(f"{name} is a directory, not a CSV file: pass the path of the input CSV")
    return UsageError(f"cannot read {name}: {exc.strerror or exc}")
