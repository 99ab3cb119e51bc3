"""Models and training states in and out of checkpoint sets, loaded with checks.

:func:`save_checkpoint` writes weights, ``config.json`` and (optionally) the training state and
``history.json`` as one set; :func:`load_model`, :func:`load_config`, :func:`load_training_state` and
:func:`load_checkpoint_set` read them back, checking every tensor against the configured model. The
set's layout on disk (manifest, ``.previous/``, all-or-nothing writes) is :mod:`posepred.manifest`;
atomic single-file writes are :mod:`posepred.files`, the directory lock :mod:`posepred.lock` (their
names are re-exported here).
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import torch

from . import manifest
from .config import MODEL_FIELDS, Config
from .errors import CheckpointError, ConfigError
from .files import atomic_torch_save, atomic_write_bytes, atomic_write_text, torch_bytes  # noqa: F401 - old home
from .lock import LOCK, DirectoryLock  # noqa: F401 - LOCK re-exported: its old home
from .manifest import (  # noqa: F401 - the set's names re-exported: their old home
    FILES,
    FORMAT,
    INCOMING,
    MANIFEST,
    PREVIOUS,
    SET_FILES,
    read_plain,
    write_set,
)
from .models import DeRPoF
from .paths import resolve_relative


def read_set(directory: str | Path) -> tuple[Path, dict[str, bytes], bool]:
    """:func:`posepred.manifest.read_set`; a torn set is first loaded unverified, for a specific error."""
    return manifest.read_set(directory, _diagnose)


def _diagnose(directory: Path) -> None:
    """For a set that fails verification, raise the more specific error of an unverified load."""
    files = read_plain(directory, SET_FILES)
    config = _config_from(directory, files)
    model = DeRPoF(**config.model_kwargs())
    _weights_into(directory, files, model)


def _torch_load(path: Path, data: bytes | None = None):
    if data is None:
        if not path.is_file():
            raise CheckpointError(f"{path}: file not found")
        data = path.read_bytes()
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            zipfile.BadZipFile, pickle.UnpicklingError, UnicodeDecodeError, RecursionError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupted?): "
                              f"{first_line[:200]}") from exc


def _check_state(path: Path, module: torch.nn.Module, state) -> None:
    """``state`` must be a state dict with exactly the module's keys, shapes and floating dtypes."""
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    expected = module.state_dict()
    problems = [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in expected]
    problems += [f"{k}: shape {list(state[k].shape)} in file, model expects {list(v.shape)}"
                 for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems += [f"{k}: dtype {state[k].dtype} in file, model expects floating point"
                 for k, v in expected.items() if k in state and v.is_floating_point()
                 and not (state[k].is_floating_point() and state[k].dtype in (torch.float32, torch.float64))]
    problems += [f"{k}: {state[k].layout} tensor in file, model expects a dense tensor"
                 for k in expected if k in state and state[k].layout != torch.strided]
    if problems:
        raise CheckpointError(f"{path}: does not fit the configured model: " + "; ".join(problems[:6])
                              + (f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""))
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path}: non-finite weights in {bad[:4]}")


def resolve_dir(directory: str | Path) -> Path:
    """A checkpoint directory as given, or relative to the repository (so notebooks in
    ``notebooks/`` find the shipped ``checkpoints/...`` too); see :mod:`posepred.paths`."""
    return resolve_relative(directory)


def _config_from(where: Path, files: dict[str, bytes]) -> Config:
    path = where / "config.json"
    if "config.json" not in files:
        raise CheckpointError(f"{path}: missing (every checkpoint directory needs its config.json)")
    try:
        return Config.from_json(files["config.json"], str(path))
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from exc


def _weights_into(where: Path, files: dict[str, bytes], model: DeRPoF) -> None:
    for name, module in (("checkpoint_g.pt", model.net_g), ("checkpoint_l.pt", model.net_l)):
        if name not in files:
            raise CheckpointError(f"{where / name}: file not found")
        state = _torch_load(where / name, files[name])
        _check_state(where / name, module, state)
        module.load_state_dict(state)


def load_config(directory: str | Path) -> Config:
    where, files, _ = read_set(directory)
    return _config_from(where, files)


def _model_from(where: Path, files: dict[str, bytes], config: Config | None) -> tuple[DeRPoF, Config]:
    saved = _config_from(where, files)
    if config is not None:
        diff = [f"{k}: checkpoint {getattr(saved, k)!r}, configured {getattr(config, k)!r}"
                for k in MODEL_FIELDS if getattr(saved, k) != getattr(config, k)]
        if diff:
            raise CheckpointError(f"{where}: checkpoint was trained with other hyperparameters: " + "; ".join(diff))
    model = DeRPoF(**(config or saved).model_kwargs())
    _weights_into(where, files, model)
    return model, saved


def load_model(directory: str | Path, config: Config | None = None, device="cpu") -> tuple[DeRPoF, Config]:
    """Build the model described by the checkpoint's ``config.json`` and load its weights.

    When ``config`` is given, its model fields must match the checkpoint's; a mismatch raises
    :class:`CheckpointError` listing each differing field.
    """
    where, files, _ = read_set(directory)
    model, saved = _model_from(where, files, config)
    return model.to(device), saved


def _training_state_from(where: Path, files: dict[str, bytes]) -> dict:
    path = where / "training_state.pt"
    if "training_state.pt" not in files:
        raise CheckpointError(f"{path}: missing (this checkpoint holds weights only, it cannot be resumed)")
    state = _torch_load(path, files["training_state.pt"])
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"{path}: not a training state (no epoch)")
    epoch, history = state["epoch"], state.get("history", [])
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"{path}: epoch {epoch!r} is not a count of epochs")
    if not isinstance(history, list) or len(history) != epoch:
        raise CheckpointError(f"{path}: epoch {epoch} but {len(history) if isinstance(history, list) else '?'} "
                              "history records")
    return state


def load_training_state(directory: str | Path) -> dict:
    where, files, _ = read_set(directory)
    return _training_state_from(where, files)


def load_checkpoint_set(directory: str | Path, config: Config | None = None) -> tuple[DeRPoF, Config, dict]:
    """Model, saved config and training state, all from one complete set (for resuming)."""
    where, files, _ = read_set(directory)
    model, saved = _model_from(where, files, config)
    return model, saved, _training_state_from(where, files)


def save_checkpoint(directory: str | Path, model: DeRPoF, config: Config, training_state: dict | None = None,
                    history: list | None = None, lock: DirectoryLock | None = None) -> None:
    """Replace the checkpoint set in ``directory`` by weights, ``config.json``, and (optionally) the
    resumable training state and ``history.json``, all or nothing (see :mod:`posepred.manifest`).

    ``lock``: the caller's :class:`DirectoryLock` on ``directory``; without it the lock is taken
    for the save and a :class:`CheckpointError` raised when another run holds it. A failing write
    (full disk, permissions) raises :class:`CheckpointError`; the previous set stays loadable.
    """
    directory = Path(directory)
    files = {"checkpoint_g.pt": torch_bytes(model.net_g.state_dict()),
             "checkpoint_l.pt": torch_bytes(model.net_l.state_dict()),
             "config.json": config.to_json().encode()}
    if training_state is not None:
        files["training_state.pt"] = torch_bytes(training_state)
    if history is not None:
        files["history.json"] = json.dumps(history, indent=1).encode()
    own = None
    if lock is None or not lock.covers(directory):
        own = DirectoryLock(directory).acquire()
    try:
        write_set(directory, files)
    except OSError as exc:
        raise CheckpointError(f"{directory}: checkpoint not saved ({exc.strerror or exc}); the previous set "
                              "is kept") from exc
    finally:
        if own is not None:
            own.release()
