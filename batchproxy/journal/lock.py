"""One writer per results file: an exclusive ``flock`` on a sidecar ``<results>.lock``.

The lock is on a sidecar rather than on the results file because finishing a run replaces the results
file by rename: a lock on the old inode would no longer exclude anyone who opens the new one. The kernel
drops a ``flock`` when its holder dies, so a lock file left behind by ``kill -9`` never blocks a resume.
(``flock`` is not reliable on some network filesystems; keep results files on a local disk.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from batchproxy.errors import UsageError
from batchproxy.journal.files import open_private, translated, write_all

__all__ = ["ResultsLock", "lock_path"]

# Losing the race against a holder that removes the lock file while we open it is retried this often;
# needing more than one retry would take three runs starting within microseconds of each other.
_ATTEMPTS = 5


def lock_path(results: Path) -> Path:
    return results.with_name(results.name + ".lock")


class ResultsLock:
    """Held from ``acquire`` to ``release``; the holder's PID is in the file, for the refusal message."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self.path = lock_path(results)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``UsageError`` at once: a second run must not wait, it must refuse."""
        for _ in range(_ATTEMPTS):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise UsageError(
                    f"another batchproxy run{holder} is writing {self.results} (it holds {self.path}); "
                    "wait for it to finish or stop it, then use --resume"
                ) from None
            if self._still_linked(fd):
                try:
                    with translated(self.path, "write"):
                        os.ftruncate(fd, 0)
                        write_all(fd, f"{os.getpid()}\n".encode())
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
                return
            # The previous holder removed the file between our open and our flock; we locked an orphan.
            os.close(fd)
        raise UsageError(f"could not lock {self.path}: it keeps being replaced by another process")

    def release(self) -> None:
        """Remove the lock file while still holding it (so no one locks an orphan), then unlock."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = None

    def _open(self) -> int:
        # Never through a planted link: the PID written below would truncate the link's target.
        return open_private(self.path, os.O_RDWR | os.O_CREAT)

    def _still_linked(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    @staticmethod
    def _holder(fd: int) -> str:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return f" (pid {text})" if text.isdigit() else ""
