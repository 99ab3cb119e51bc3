"""Checkpoint sets on disk, never torn: the manifest, verified reads, all-or-nothing writes.

A checkpoint directory keeps one complete *set* at its top level, readable by a person:

==========================  ==============================================================
``checkpoint_g.pt``         state dict of net_g (as in the seed)
``checkpoint_l.pt``         state dict of net_l
``config.json``             the :class:`~posepred.config.Config` the set was trained with
``training_state.pt``       optimiser, scheduler, epoch, random states (exact resumption)
``history.json``            one record per finished epoch
``manifest.json``           sha256 and size of every file above; written last
==========================  ==============================================================

Saving a set (:func:`write_set`, for :func:`posepred.checkpoint.save_checkpoint`):

1. the complete current set is hard-linked into ``.previous/`` (with its manifest);
2. the new files are written and fsynced in ``.incoming/``;
3. each is renamed over its top-level name, then ``manifest.json`` is replaced (the commit point);
4. ``.previous/``, ``.incoming/`` and files of the old set that the new one lacks are removed.

A reader (:func:`read_set`, for :mod:`posepred.checkpoint`'s loaders) reads the bytes of every file it needs,
checks them against ``manifest.json``, and falls back to ``.previous/`` when they do not match: a
kill or a full disk at any instant leaves either the previous or the new set loadable, never a
mix. Directories without a manifest (the first release's layout) load as they are; the next
save adopts them. A save fails at once when another process holds the directory's lock
(``.lock``, :class:`posepred.lock.DirectoryLock`); :class:`posepred.train.Trainer` holds it for a
whole run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
import warnings
from pathlib import Path

from .errors import CheckpointError
from .files import atomic_write_bytes, fsync_dir, refuse_special, write_new_file
from .paths import resolve_relative

FILES = ("checkpoint_g.pt", "checkpoint_l.pt", "config.json")
SET_FILES = FILES + ("training_state.pt", "history.json")
MANIFEST = "manifest.json"
PREVIOUS = ".previous"
INCOMING = ".incoming"
FORMAT = 2
MAX_MANIFEST_BYTES = 1 << 20
MAX_FILE_BYTES = 1 << 30  # no file of a set is near this; a larger one is not a checkpoint


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_bytes(files: dict[str, bytes]) -> bytes:
    return json.dumps({"format": FORMAT, "files": {name: {"sha256": _sha256(data), "bytes": len(data)}
                                                   for name, data in sorted(files.items())}},
                      indent=1, sort_keys=True).encode()


def _read_manifest(path: Path) -> dict | None:
    """The manifest at ``path``; None when absent; CheckpointError when it is not one."""
    try:
        if os.lstat(path).st_size > MAX_MANIFEST_BYTES:
            raise CheckpointError(f"{path}: too large for a manifest")
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable ({exc.strerror})") from exc
    try:
        manifest = json.loads(raw.decode("utf-8"))
        files = manifest["files"]
        ok = (manifest.get("format") == FORMAT and isinstance(files, dict)
              and all(name in SET_FILES and isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                      and isinstance(entry.get("bytes"), int) for name, entry in files.items()))
    except (UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise CheckpointError(f"{path}: not a posepred checkpoint manifest (format {FORMAT})")
    return manifest


def _read_verified(directory: Path, manifest: dict) -> dict[str, bytes] | None:
    """Every file of the manifest's set, read from ``directory``; None when any is missing or differs."""
    files = {}
    for name, entry in manifest["files"].items():
        try:
            info = os.stat(directory / name)
            if not stat.S_ISREG(info.st_mode) or info.st_size != entry["bytes"]:
                return None
            data = (directory / name).read_bytes()
        except OSError:
            return None
        if len(data) != entry["bytes"] or _sha256(data) != entry["sha256"]:
            return None
        files[name] = data
    return files


def read_plain(directory: Path, names) -> dict[str, bytes]:
    """Unverified files (no manifest: the first release's layout); missing ones are left out."""
    files = {}
    for name in names:
        path = directory / name
        if not path.exists():
            continue
        if not path.is_file():
            raise CheckpointError(f"{path}: not a regular file")
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CheckpointError(f"{path}: {path.stat().st_size >> 20} MB, too large for a checkpoint file")
            files[name] = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"{path}: unreadable ({exc.strerror})") from exc
    return files


def read_set(directory: str | Path, diagnose=None) -> tuple[Path, dict[str, bytes], bool]:
    """The complete checkpoint set in ``directory``: ``(where, {name: bytes}, verified)``.

    ``where`` is ``directory`` or its ``.previous/`` (when a save was interrupted while switching
    sets); ``verified`` is False for a directory without manifest (first-release layout).
    ``diagnose(directory)``, when given, is called before a torn set is reported, to raise a more
    specific error (:func:`posepred.checkpoint.read_set` passes one that loads the files unverified).
    """
    directory = resolve_relative(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: checkpoint directory not found" if not directory.exists()
                              else f"{directory}: not a directory")
    for attempt in range(5):  # a writer may switch sets while we read: read again
        manifest = _read_manifest(directory / MANIFEST)
        if manifest is None:
            files = read_plain(directory, SET_FILES)
            if not files:
                raise CheckpointError(f"{directory}: no complete checkpoint saved here (no checkpoint files)")
            return directory, files, False
        files = _read_verified(directory, manifest)
        if files == {}:
            raise CheckpointError(f"{directory}: no complete checkpoint saved here yet (the first save was "
                                  "interrupted, or is still running)")
        if files is not None:
            return directory, files, True
        previous = directory / PREVIOUS
        try:
            previous_manifest = _read_manifest(previous / MANIFEST)
        except CheckpointError:
            previous_manifest = None
        if previous_manifest is not None:
            files = _read_verified(previous, previous_manifest)
            if files is not None:
                warnings.warn(f"{directory}: its newest set is incomplete (a save was interrupted or is under way); "
                              f"using the previous complete set in {PREVIOUS}/", stacklevel=3)
                return previous, files, True
        try:
            switched = _read_manifest(directory / MANIFEST) != manifest
        except CheckpointError:
            switched = True
        if not switched and not (directory / INCOMING).exists():
            break  # no save under way: the set is torn for good
        time.sleep(0.02 * (attempt + 1))
    if diagnose is not None:
        diagnose(directory)
    raise CheckpointError(f"{directory}: torn checkpoint: its files do not match {MANIFEST} and no complete "
                          f"previous set is in {PREVIOUS}/ (modified by hand, or a copy that was cut short?)")


def _remove_tree(directory: Path) -> None:
    """Remove a flat directory of files (a set directory)."""
    if not directory.exists():
        return
    for entry in os.listdir(directory):
        os.unlink(directory / entry)
    os.rmdir(directory)


def _keep_previous(directory: Path) -> None:
    """Make ``.previous/`` hold a complete, verified set (unless there is none anywhere)."""
    manifest = _read_manifest(directory / MANIFEST) if (directory / MANIFEST).exists() else None
    if manifest is None:
        files = read_plain(directory, SET_FILES)
        if not files:  # a new directory: an empty manifest marks sets as verified from now on
            atomic_write_bytes(directory / MANIFEST, _manifest_bytes({}), CheckpointError)
            return
        manifest = json.loads(_manifest_bytes(files))  # adopt the first-release layout
        adopted = True
    else:
        adopted = False
        if not manifest["files"] or _read_verified(directory, manifest) is None:
            return  # nothing saved yet, or torn by an earlier interrupted save (.previous/ holds the good set)
    staging = directory / (PREVIOUS + ".tmp")
    _remove_tree(staging)
    os.mkdir(staging)
    for name in manifest["files"]:
        os.link(directory / name, staging / name)
    write_new_file(staging / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    fsync_dir(staging)
    _remove_tree(directory / PREVIOUS)
    os.rename(staging, directory / PREVIOUS)
    fsync_dir(directory)
    if adopted:
        atomic_write_bytes(directory / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode(),
                           CheckpointError)


def _roll_back(directory: Path) -> None:
    """After a failed switch (not a kill): restore the top level from ``.previous/`` by hard links,
    so a person finds the previous set there too. Best effort: readers fall back to ``.previous/``."""
    try:
        manifest = _read_manifest(directory / PREVIOUS / MANIFEST)
        if manifest is None or _read_verified(directory / PREVIOUS, manifest) is None:
            return
        for name in manifest["files"]:
            spare = directory / f".{name}.restore"
            if spare.exists():
                os.unlink(spare)
            os.link(directory / PREVIOUS / name, spare)
            try:
                os.replace(spare, directory / name)
            finally:
                if os.path.lexists(spare):  # a failed rename, or one between two links of one file
                    os.unlink(spare)
        _remove_tree(directory / INCOMING)
    except Exception:  # noqa: S110 - the original error is reported; the set in .previous/ is intact
        pass


def write_set(directory: Path, files: dict[str, bytes]) -> None:
    refuse_special(directory / MANIFEST, CheckpointError)
    for name in files:
        refuse_special(directory / name, CheckpointError)
    for leftover in [*directory.glob(".*.restore"), *directory.glob(f".{MANIFEST}.*.tmp")]:
        os.unlink(leftover)  # from a save that was killed
    _keep_previous(directory)
    incoming = directory / INCOMING
    _remove_tree(incoming)
    os.mkdir(incoming)
    for name, data in files.items():
        write_new_file(incoming / name, data)
    write_new_file(incoming / MANIFEST, _manifest_bytes(files))
    fsync_dir(incoming)
    try:
        for name in files:  # the top level is mixed from here until the manifest is replaced
            os.replace(incoming / name, directory / name)
        fsync_dir(directory)
        os.replace(incoming / MANIFEST, directory / MANIFEST)  # the commit point
    except Exception:
        _roll_back(directory)
        raise
    fsync_dir(directory)
    try:  # saved; what follows only tidies up (a failure here is tidied by the next save)
        for name in SET_FILES:
            if name not in files and (directory / name).is_file():
                os.unlink(directory / name)
        _remove_tree(incoming)
        _remove_tree(directory / PREVIOUS)
    except OSError:
        pass
