"""Atomic file writes: a file is replaced whole or not at all, never torn, never through a symlink.

:func:`atomic_write_bytes` writes to a temporary file in the same directory, fsyncs it, renames it
over the target and fsyncs the directory; a symlink, FIFO, directory, device or socket at the
target is refused. The smaller helpers (:func:`write_new_file`, :func:`fsync_dir`,
:func:`refuse_special`, :func:`make_dir`) serve :mod:`posepred.checkpoint` and :mod:`posepred.lock`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from pathlib import Path

import torch

from .errors import CheckpointError, OptionError


def refuse_special(path: Path, error=OptionError) -> None:
    """Refuse to replace a symlink, FIFO, directory, device or socket at ``path``."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(f"{path}: cannot inspect ({exc.strerror})") from exc
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    for test, kind in kinds:
        if test(mode):
            raise error(f"{path}: is {kind}; refusing to replace it (give the path of a regular file)")


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - some file systems do not open directories
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # some file systems cannot
            raise
    finally:
        os.close(fd)


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (which must not exist) and fsync it."""
    umask = os.umask(0)
    os.umask(umask)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~umask)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
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
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        os.unlink(tmp)
        write_new_file(Path(tmp), data)
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise error(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except BaseException:  # noqa: S110 - best effort; the original error matters
                pass


def atomic_write_text(path: str | Path, text: str, error=OptionError) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), error)


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_torch_save(obj, path: str | Path) -> None:
    atomic_write_bytes(path, torch_bytes(obj), CheckpointError)
