"""One writer per directory: an exclusive ``fcntl.flock`` on ``directory/.lock`` holding the pid."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError
from .files import make_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no OS lock
    fcntl = None

LOCK = ".lock"


class DirectoryLock:
    """An exclusive ``fcntl.flock`` on ``directory/.lock``, held until :meth:`release`.

    A second holder, in this or another process, gets a :class:`CheckpointError` at once naming
    the holder's pid. The lock file holds the pid and is removed on release.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.fd: int | None = None

    def acquire(self) -> DirectoryLock:
        make_dir(self.directory, CheckpointError)
        path = self.directory / LOCK
        if fcntl is None:  # pragma: no cover
            return self
        for _ in range(20):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise CheckpointError(f"{path}: cannot create the lock file ({exc.strerror})") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                mine = " (this process)" if holder == str(os.getpid()) else ""
                raise CheckpointError(f"{self.directory}: another run (pid {holder}{mine}) is writing checkpoints "
                                      "here; wait for it to finish or choose another --checkpoint-dir") from None
            try:  # the holder before us may have removed the file after we opened it: retry
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self.fd = fd
                return self
            os.close(fd)
        raise CheckpointError(f"{path}: could not take the lock (the file keeps changing)")  # pragma: no cover

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.unlink(self.directory / LOCK)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing drops the flock

    @property
    def held(self) -> bool:
        return self.fd is not None or fcntl is None

    def covers(self, directory: str | Path) -> bool:
        return self.held and os.path.realpath(directory) == os.path.realpath(self.directory)

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
