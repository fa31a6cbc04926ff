"""Small file primitives the journal relies on: private modes, whole writes, atomic replacement.

Every file batchproxy writes may hold connector ids and phone numbers, so it is created 0600 from the
first byte, and ``fchmod`` makes that hold whatever the umask or an earlier owner left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["PRIVATE_MODE", "atomic_replace", "fsync_directory", "open_private", "write_all"]

PRIVATE_MODE = 0o600
# Large enough that copying a 200k-line journal costs a few hundred syscalls, small enough not to matter.
_COPY_BUFFER = 1 << 20


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with mode 0600 enforced, also on a file that already existed with another mode."""
    fd = os.open(path, flags | os.O_CLOEXEC, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


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


@contextlib.contextmanager
def atomic_replace(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` whole or not at all: a reader or a crash sees the old file or the new one.

    The data goes to ``<path>.tmp`` in the same directory (``os.replace`` is atomic only within one
    filesystem), is fsynced, renamed over ``path``, and the directory is fsynced so the rename survives
    a power loss. On an error the temporary file is removed and ``path`` is untouched.
    """
    temporary = path.with_name(path.name + ".tmp")
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        with os.fdopen(fd, "wb", buffering=_COPY_BUFFER, closefd=True) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    fsync_directory(path)
