"""Checkpoints: one file written atomically, verified when read, one writer per directory.

A checkpoint directory holds two files:

- ``checkpoint.pt``: everything, in one ``torch.save`` dict: the config, the weights, the training
  state (optimiser, scheduler, epoch, random states) and the history of every epoch, with a
  sha256 of the config and weights;
- ``config.json``: a readable copy of the config. It is never read back (editing it changes
  nothing; a load warns when it differs from the config inside ``checkpoint.pt``).

:func:`save` writes ``checkpoint.pt`` to a temporary file in the same directory, fsyncs it and
renames it over the old one, so a kill or a full disk at any instant leaves the previous or the new
checkpoint, never a torn one. :func:`load` reads regular files only, within a size cap, checks the
sha256, and checks every tensor against the model its config builds (names, shapes, dtypes, finite,
plausible magnitude). :class:`DirectoryLock` is an OS lock on the directory itself, so there is no
lock file to follow or truncate.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import Config
from .errors import CheckpointError, ConfigError
from .files import atomic_write_bytes, make_dir, read_regular_file, refuse_special
from .forecasters import build_model
from .paths import resolve_relative

FILE, CONFIG = "checkpoint.pt", "config.json"
FORMAT = 3
MAX_BYTES = 1 << 30
MAX_WEIGHT = 1e4  # no trained weight comes near this; a larger one is a corrupted or doctored file
LEGACY = ("checkpoint_g.pt", "checkpoint_l.pt", "manifest.json")


@dataclass
class Checkpoint:
    """What :func:`load` returns: the model (eval mode, on the requested device), its config, the
    training state (None for weights only) and the history (one record per finished epoch)."""

    model: torch.nn.Module
    config: Config
    training: dict | None = None
    history: list = field(default_factory=list)


def _digest(config: dict, weights: dict[str, torch.Tensor], rest=None) -> str:
    """sha256 of the config, the weights and ``rest`` (training state and history)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    _feed(digest, weights)
    _feed(digest, rest)
    return digest.hexdigest()


def _feed(digest, value) -> None:
    """Every tensor's name, dtype, shape and bytes, and every other value's repr, in a fixed order."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(f"{key!r}:".encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            _feed(digest, item)
    elif isinstance(value, torch.Tensor):
        tensor = value.detach()
        digest.update(f"{tensor.dtype}:{tensor.layout}:{tensor.device.type}:{list(tensor.shape)}".encode())
        if tensor.layout == torch.strided and tensor.device.type != "meta" and tensor.numel():
            digest.update(tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())  # others: refused
    else:
        digest.update(repr(value).encode())


def save(directory: str | Path, model: torch.nn.Module, config: Config, training: dict | None = None,
         history: list | None = None, lock: DirectoryLock | None = None) -> Path:
    """Write ``directory/checkpoint.pt`` atomically, then its readable ``config.json``.

    Without ``lock`` (the caller's lock on ``directory``), the lock is taken for the save and a
    :class:`CheckpointError` raised when another run holds it."""
    directory = Path(directory)
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    values = json.loads(config.to_json())
    content = {"format": FORMAT, "config": values, "model": weights, "training": training,
               "history": list(history or [])}
    content["sha256"] = _digest(values, weights, [training, content["history"]])
    buffer = io.BytesIO()
    torch.save(content, buffer)
    own = None if lock is not None and lock.covers(directory) else DirectoryLock(directory).acquire()
    try:
        for name in (FILE, CONFIG):  # both targets checked before either is written
            refuse_special(directory / name, CheckpointError)
        atomic_write_bytes(directory / FILE, buffer.getvalue(), CheckpointError)
        atomic_write_bytes(directory / CONFIG, (config.to_json() + "\n").encode(), CheckpointError)
    finally:
        if own is not None:
            own.release()
    return directory / FILE


def torch_load(path: Path, data: bytes):
    """``torch.load`` of ``data`` (the bytes of ``path``), tensors only; any fault one error naming ``path``."""
    try:
        with warnings.catch_warnings():  # torch warns about sparse tensors before we refuse them
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            zipfile.BadZipFile, pickle.UnpicklingError, UnicodeDecodeError, RecursionError, NotImplementedError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupted?): {first}") from exc


def check_weights(path: Path, model: torch.nn.Module, weights) -> None:
    """``weights`` must be a dense, finite state dict with exactly ``model``'s names, shapes and
    floating dtypes, every value within :data:`MAX_WEIGHT`."""
    if not isinstance(weights, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in weights.items()):
        raise CheckpointError(f"{path}: its weights are not a state dict of tensors")
    expected = model.state_dict()
    problems = [f"missing {k}" for k in expected if k not in weights]
    problems += [f"unexpected {k}" for k in weights if k not in expected]
    for name, tensor in weights.items():
        if name not in expected:
            continue
        if tensor.layout != torch.strided or tensor.device.type == "meta":
            problems.append(f"{name}: a {tensor.layout} tensor on {tensor.device.type}, expected a dense tensor")
        elif tensor.shape != expected[name].shape:
            problems.append(f"{name}: shape {list(tensor.shape)}, the model expects {list(expected[name].shape)}")
        elif tensor.dtype not in (torch.float32, torch.float64):
            problems.append(f"{name}: dtype {tensor.dtype}, expected float32 or float64")
        elif not torch.isfinite(tensor).all():
            problems.append(f"{name}: non-finite values")
        elif tensor.numel() and tensor.abs().max() > MAX_WEIGHT:
            problems.append(f"{name}: a value of {tensor.abs().max().item():.3g}, implausible for a weight")
    if problems:
        raise CheckpointError(f"{path}: does not fit the model its config describes: " + "; ".join(problems[:4])
                              + (f" (+{len(problems) - 4} more)" if len(problems) > 4 else ""))


def read(directory: str | Path) -> tuple[Path, dict]:
    """The verified content of ``directory/checkpoint.pt`` (without building the model); a relative
    ``directory`` missing here is looked up in the repository (notebooks run in ``notebooks/``)."""
    directory = resolve_relative(directory)
    path = directory / FILE
    if not path.exists() and not path.is_symlink():
        if directory.is_dir() and any((directory / name).is_file() for name in LEGACY):
            raise CheckpointError(f"{directory}: a checkpoint in the earlier layout (checkpoint_g.pt, "
                                  f"checkpoint_l.pt, ...); convert it once with `posepred convert {directory}`")
        raise CheckpointError(f"{path}: no checkpoint here" if directory.is_dir()
                              else f"{directory}: checkpoint directory not found")
    content = torch_load(path, read_regular_file(path, MAX_BYTES, CheckpointError))
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a posepred checkpoint (format {FORMAT})")
    config, weights = content.get("config"), content.get("model")
    if not isinstance(config, dict) or not isinstance(weights, dict) or \
            not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CheckpointError(f"{path}: its config or weights are missing")
    if content.get("sha256") != _digest(config, weights, [content.get("training"), content.get("history")]):
        raise CheckpointError(f"{path}: its content does not match its sha256 (modified or corrupted)")
    return path, content


def load(directory: str | Path, device="cpu") -> Checkpoint:
    """Build the model ``directory/checkpoint.pt`` describes, load its verified weights (see the
    module docstring) and return it in eval mode with its config, training state and history."""
    path, content = read(directory)
    try:
        config = Config.from_dict(content["config"], str(path))
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from exc
    model = build_model(config)
    check_weights(path, model, content["model"])
    model.load_state_dict(content["model"])
    _warn_if_edited(path.parent / CONFIG, config)
    history = content.get("history")
    dtype = torch.float64 if config.double else torch.float32
    return Checkpoint(model.to(device, dtype).eval(), config, content.get("training"),
                      history if isinstance(history, list) else [])


def _warn_if_edited(path: Path, config: Config) -> None:
    try:
        readable = Config.from_json(read_regular_file(path, 1 << 20, ConfigError), str(path))
    except ConfigError:
        readable = None
    if readable != config:
        warnings.warn(f"{path}: differs from the config inside {FILE}, which is the one used "
                      "(config.json is a readable copy; edit options on the command line instead)", stacklevel=3)


class DirectoryLock:
    """An exclusive ``flock`` on the checkpoint directory itself, held until :meth:`release`: a
    second holder, in this or another process, gets a :class:`CheckpointError` at once."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.fd: int | None = None

    def acquire(self) -> DirectoryLock:
        make_dir(self.directory, CheckpointError)
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise CheckpointError(f"{self.directory}: cannot lock ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CheckpointError(f"{self.directory}: another run is writing checkpoints here; wait for it to "
                                  "finish or choose another --checkpoint-dir") from None
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing drops the lock

    def covers(self, directory: str | Path) -> bool:
        return self.fd is not None and os.path.samestat(os.fstat(self.fd), os.stat(directory))

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def holds_a_run(directory: str | Path) -> bool:
    """Whether ``directory`` holds a checkpoint (of either layout) that a fresh run would replace."""
    directory = Path(directory)
    return any(os.path.lexists(directory / name) for name in (FILE,) + LEGACY)
