"""The file primitives every writer of batchproxy goes through: safe creation, whole writes, atomic
replacement, and the one place where an OS error on one of our files becomes ``JournalWriteError``.

Every file batchproxy writes may hold connector ids and phone numbers, so it is created 0600 from the
first byte, and ``fchmod`` makes that hold whatever the umask or an earlier owner left behind.

Our side files have predictable names (``<results>.lock``, ``<results>.state.json``, the results path
itself), so a hostile or careless neighbour can plant a symbolic link there and make a run truncate
the link's target. ``open_private`` never follows a link (``O_NOFOLLOW``) and refuses anything that is
not a plain file with one name (a hard link to someone else's file is the same trap); temporary files
get a random name and ``O_EXCL``, so nothing can be planted where they will appear.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from batchproxy.errors import JournalWriteError, UsageError

__all__ = [
    "PRIVATE_MODE",
    "atomic_replace",
    "fsync_directory",
    "open_private",
    "open_reading",
    "translated",
    "write_all",
]

PRIVATE_MODE = 0o600
# Large enough that copying a 200k-line journal costs a few hundred syscalls, small enough not to matter.
_COPY_BUFFER = 1 << 20
# Random temporary names collide with probability 2**-64 per try; a handful of tries is plenty.
_TEMP_ATTEMPTS = 8


def _refuse_link(path: Path) -> UsageError:
    return UsageError(
        f"{path} is a symbolic link; batchproxy does not write through links (the link's target could "
        "be anyone's file). Remove the link or choose another path."
    )


def open_private(path: Path, flags: int) -> int:
    """Open or create one of our files, mode 0600, never through a symbolic link: the one safe-create.

    ``flags`` as for ``os.open``; ``O_NOFOLLOW`` and ``O_CLOEXEC`` are always added. ``O_TRUNC`` is
    applied only after the checks, so a file that is refused is never truncated. Raises ``UsageError``
    for a link, a non-regular file or a file with other hard links; ``FileExistsError`` passes through
    (``O_EXCL`` callers explain it); any other OS error becomes ``JournalWriteError``.
    """
    truncate = bool(flags & os.O_TRUNC)
    with translated(path, "open"):
        fd = _open_nofollow(path, flags & ~os.O_TRUNC)
        try:
            _check_plain(path, fd)
            os.set_blocking(fd, True)
            os.fchmod(fd, PRIVATE_MODE)
            if truncate:
                os.ftruncate(fd, 0)
        except BaseException:
            os.close(fd)
            raise
    return fd


def open_reading(path: Path) -> BinaryIO:
    """Open one of our files to read it back, refusing a symbolic link as ``open_private`` does.

    ``FileNotFoundError`` passes through: a missing results file is an ordinary case for the caller.
    """
    try:
        fd = _open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        _check_plain(path, fd)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _open_nofollow(path: Path, flags: int) -> int:
    """``os.open`` that refuses a link, and returns at once on a FIFO (``O_NONBLOCK``) for the check
    that follows, instead of waiting for a peer that may never come."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, PRIVATE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse_link(path) from None
        if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise _not_plain(path) from None
        raise


def _not_plain(path: Path) -> UsageError:
    return UsageError(f"{path} is not a regular file; batchproxy writes only plain files")


def _check_plain(path: Path, fd: int) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _not_plain(path)
    if info.st_nlink > 1:
        raise UsageError(
            f"{path} has {info.st_nlink} hard links; batchproxy will not write a file that is also "
            "known under another name. Remove it or choose another path."
        )


@contextlib.contextmanager
def translated(path: Path, doing: str) -> Iterator[None]:
    """Turn an OS error on ``path`` into ``JournalWriteError`` (ENOSPC, EFBIG, EIO, EACCES, ...).

    The single boundary for our files: callers above it see our error, naming the file and the reason.
    ``FileExistsError`` and ``FileNotFoundError`` pass through, as callers give them their own meaning.
    """
    try:
        yield
    except (FileExistsError, FileNotFoundError):
        raise
    except JournalWriteError:
        raise
    except OSError as exc:
        raise JournalWriteError(path, doing, exc) from exc


def write_all(fd: int, data: bytes) -> None:
    """Write every byte: ``os.write`` may write less than asked (signals, nearly full disks)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(path: Path) -> None:
    """Make a file's creation or rename durable: that is a change to its directory, not to the file."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new private file beside ``path`` with a random name, created with ``O_EXCL``."""
    for _ in range(_TEMP_ATTEMPTS):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return temporary, open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            continue
    raise UsageError(f"could not create a temporary file beside {path}")  # pragma: no cover


@contextlib.contextmanager
def atomic_replace(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` whole or not at all: a reader or a crash sees the old file or the new one.

    The data goes to a temporary file with a random name in the same directory (``os.replace`` is
    atomic only within one filesystem), is fsynced, renamed over ``path``, and the directory is fsynced
    so the rename survives a power loss. A link at ``path`` is replaced, never followed. On an error the
    temporary file is removed, ``path`` is untouched, and an OS error becomes ``JournalWriteError``.
    """
    temporary, fd = _create_temporary(path)
    try:
        with translated(path, "write"):
            with os.fdopen(fd, "wb", buffering=_COPY_BUFFER, closefd=True) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    with translated(path, "sync the directory of"):
        fsync_directory(path)
