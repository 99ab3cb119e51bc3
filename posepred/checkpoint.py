"""Atomic file writes and checkpoints that fail loudly.

A checkpoint directory holds ``checkpoint_g.pt`` and ``checkpoint_l.pt`` (state dicts of net_g and
net_l, as in the seed), ``config.json``, and ``training_state.pt`` (optimiser, scheduler, epoch,
random-number states and history) for exact resumption.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from .config import MODEL_FIELDS, Config
from .errors import CheckpointError
from .models import DeRPoF
from .paths import resolve_relative

FILES = ("checkpoint_g.pt", "checkpoint_l.pt", "config.json")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj, path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _torch_load(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable torch checkpoint (truncated or corrupted?): "
                              f"{first_line[:200]}") from exc


def save_checkpoint(directory: str | Path, model: DeRPoF, config: Config, training_state: dict | None = None):
    """Write the weights, ``config.json`` and (optionally) the resumable training state, each atomically.

    The training state is written last, so an interrupted save never pairs new weights with
    an old epoch counter that a resume would trust.
    """
    directory = Path(directory)
    atomic_torch_save(model.net_g.state_dict(), directory / "checkpoint_g.pt")
    atomic_torch_save(model.net_l.state_dict(), directory / "checkpoint_l.pt")
    atomic_write_text(directory / "config.json", config.to_json())
    if training_state is not None:
        atomic_torch_save(training_state, directory / "training_state.pt")


def _check_state(path: Path, module: torch.nn.Module, state) -> None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    expected = module.state_dict()
    problems = [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in expected]
    problems += [f"{k}: shape {list(state[k].shape)} in file, model expects {list(v.shape)}"
                 for k, v in expected.items() if k in state and state[k].shape != v.shape]
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


def load_config(directory: str | Path) -> Config:
    path = resolve_dir(directory) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (every checkpoint directory needs its config.json)")
    try:
        return Config.load(path)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(str(exc)) from exc


def load_model(directory: str | Path, config: Config | None = None, device="cpu") -> tuple[DeRPoF, Config]:
    """Build the model described by the checkpoint's ``config.json`` and load its weights.

    When ``config`` is given, its model fields must match the checkpoint's; a mismatch raises
    :class:`CheckpointError` listing each differing field.
    """
    directory = resolve_dir(directory)
    saved = load_config(directory)
    if config is not None:
        diff = [f"{k}: checkpoint {getattr(saved, k)!r}, configured {getattr(config, k)!r}"
                for k in MODEL_FIELDS if getattr(saved, k) != getattr(config, k)]
        if diff:
            raise CheckpointError(f"{directory}: checkpoint was trained with other hyperparameters: "
                                  + "; ".join(diff))
    model = DeRPoF(**(config or saved).model_kwargs())
    for name, module in (("checkpoint_g.pt", model.net_g), ("checkpoint_l.pt", model.net_l)):
        state = _torch_load(directory / name)
        _check_state(directory / name, module, state)
        module.load_state_dict(state)
    return model.to(device), saved


def load_training_state(directory: str | Path) -> dict:
    path = Path(directory) / "training_state.pt"
    state = _torch_load(path)
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"{path}: not a training state (no epoch)")
    return state

