"""Files in and out without surprises: writes replace a file whole or not at all, reads take regular
files only, within a size cap, and never block.

:func:`atomic_write_bytes` writes to a temporary file in the same directory, fsyncs it, renames it
over the target and fsyncs the directory; a symlink, FIFO, directory, device or socket at the
target is refused. :func:`read_regular_file` refuses anything but a regular file (a FIFO would
block, ``/dev/zero`` would never end) before reading, and reads the file's own size, not the cap.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import OptionError

KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _kind(mode: int) -> str | None:
    return next((kind for test, kind in KINDS if test(mode)), None)


def refuse_special(path: Path, error=OptionError) -> None:
    """Refuse to replace a symlink, FIFO, directory, device or socket at ``path``."""
    try:
        kind = _kind(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(f"{path}: cannot inspect ({exc.strerror})") from exc
    if kind:
        raise error(f"{path}: is {kind}; refusing to replace it (give the path of a regular file)")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # some file systems cannot
            raise
    finally:
        os.close(fd)


def make_dir(directory: Path, error=OptionError) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise error(f"{directory}: exists and is not a directory") from exc
    except OSError as exc:
        raise error(f"{directory}: cannot create directory ({exc.strerror})") from exc
    if not directory.is_dir():
        raise error(f"{directory}: not a directory")


def atomic_write_bytes(path: str | Path, data: bytes, error=OptionError) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``.

    ``path`` must be a regular file or absent: a symlink, FIFO or directory is refused with
    ``error`` (an :class:`OptionError` by default). A failing write (full disk, permissions)
    raises ``error`` naming the file and leaves the previous content and no temporary file.
    """
    path = Path(path)
    make_dir(path.parent, error)
    refuse_special(path, error)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise error(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write_text(path: str | Path, text: str, error=OptionError) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), error)


def read_regular_file(path: str | Path, cap: int, error=OptionError, follow_symlinks: bool = False,
                      too_large: str | None = None) -> bytes:
    """The bytes of ``path``, a regular file of at most ``cap`` bytes: a FIFO, device, socket or
    directory is refused before a byte is read (opened without blocking), and so is a symbolic link
    unless ``follow_symlinks``. Reads the file's own size plus one byte, never the cap. Faults are
    ``error`` naming ``path``; ``too_large`` replaces the size message's end."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"{path}: file not found") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise error(f"{path}: is a symbolic link; refusing to read it (give the file itself)") from None
        raise error(f"{path}: unreadable ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind:
            os.close(fd)
            raise error(f"{path}: not a regular file ({kind})")
        with os.fdopen(fd, "rb") as handle:
            if info.st_size > cap:
                raise error(f"{path}: {info.st_size / (1 << 20):.0f} MB, "
                            + (too_large or f"larger than the {cap / (1 << 20):.0f} MB cap"))
            data = handle.read(info.st_size + 1)
    except MemoryError:
        raise error(f"{path}: not enough memory to read it") from None
    except OSError as exc:
        raise error(f"{path}: unreadable ({exc.strerror or type(exc).__name__})") from None
    if len(data) > info.st_size:
        raise error(f"{path}: changed while being read (it grew beyond its {info.st_size} bytes)")
    return data
