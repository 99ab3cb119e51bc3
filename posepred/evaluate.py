"""Predict with a model or baseline, score it, and write SoMoF submissions.

Scene arrays: observed ``(N, 2, 16, 13, 3)``, predictions and future ``(N, 2, 14, 13, 3)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .baselines import DEFAULT_DAMPING, PREDICTORS, damped_velocity
from .checkpoint import atomic_write_text
from .config import Config
from .data import N_FUTURE, SomofSplit
from .metrics import summary
from .skeleton import N_COORDS, N_JOINTS

PUBLISHED_TEST_ROW = {  # Parsaeifard et al. 2021, SoMoF 3DPW test server; VIM only
    "vim_100": 19.53, "vim_240": 36.89, "vim_500": 68.29, "vim_640": 85.45, "vim_900": 118.21}


@torch.no_grad()
def predict(model, observed, n_samples: int | None = None, device=None) -> np.ndarray:
    """Run ``model`` on scenes: ``(N, 2, 16, 13, 3)`` -> ``(N, 2, 14, 13, 3)``, or
    ``(K, N, 2, 14, 13, 3)`` with ``n_samples=K``. z = mean unless sampling."""
    parameter = next(model.parameters())
    device = device or parameter.device
    model.eval()
    observed = torch.as_tensor(np.asarray(observed), dtype=parameter.dtype, device=device)
    scenes, persons = observed.shape[:2]
    output = model(observed.flatten(0, 1), n_samples=n_samples)
    shape = (scenes, persons, N_FUTURE, N_JOINTS, 3)
    output = output.view(shape) if n_samples is None else output.view(n_samples, *shape)
    return output.double().cpu().numpy()


def best_of_k(samples: np.ndarray, future: np.ndarray) -> np.ndarray:
    """Oracle: for each person the sample with the lowest mean joint error against the truth.

    ``samples (K, N, 2, 14, 13, 3)``, ``future (N, 2, 14, 13, 3)`` -> ``(N, 2, 14, 13, 3)``.
    It peeks at the ground truth: report it only as a diversity measure, never as accuracy.
    """
    errors = np.linalg.norm(samples - future[None], axis=-1).mean(axis=(-1, -2))  # (K, N, 2)
    best = errors.argmin(axis=0)
    return np.take_along_axis(samples, best[None, :, :, None, None, None], axis=0)[0]


def baseline_predictions(name: str, observed, damping: float = DEFAULT_DAMPING) -> np.ndarray:
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor '{name}'; choose from {sorted(PREDICTORS)}")
    observed = torch.as_tensor(np.asarray(observed), dtype=torch.float64)
    if name == "damped-velocity":
        return damped_velocity(observed, damping).numpy()
    return PREDICTORS[name](observed).numpy()


def baseline_rows(split: SomofSplit, damping: float = DEFAULT_DAMPING) -> dict[str, dict[str, float]]:
    """Scores of the three baselines on a split with ground truth."""
    return {(f"damped-velocity ({damping:g})" if name == "damped-velocity" else name):
            summary(baseline_predictions(name, split.observed, damping), split.future)
            for name in PREDICTORS}


def flat_poses(poses: np.ndarray) -> np.ndarray:
    """``(N, 2, F, 13, 3)`` -> the SoMoF file layout ``(N, 2, F, 39)``."""
    return np.asarray(poses).reshape(*np.shape(poses)[:3], N_COORDS)


def write_poses_json(path: str | Path, poses: np.ndarray, n_scenes: int | None = None) -> Path:
    """Write predictions ``(N, 2, 14, 13, 3)`` as SoMoF JSON ``[N][2][14][39]``, atomically.

    Checks shape and finiteness first, so a bad prediction never becomes a half-valid submission.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 5 or poses.shape[1:] != (2, N_FUTURE, N_JOINTS, 3):
        raise ValueError(f"{path}: predictions shaped {list(poses.shape)}, expected [N, 2, 14, 13, 3]")
    if n_scenes is not None and len(poses) != n_scenes:
        raise ValueError(f"{path}: {len(poses)} scenes predicted, the input has {n_scenes}")
    if not np.isfinite(poses).all():
        raise ValueError(f"{path}: predictions contain NaN or Inf; nothing written")
    path = Path(path)
    atomic_write_text(path, json.dumps(flat_poses(poses).tolist()))
    return path


def seen_sequences(config: Config, split: SomofSplit) -> set[str]:
    """Sequences of ``split`` that a model trained with ``config`` has seen in training."""
    if config.train_split != split.name:
        return set()
    trained = set(config.train_sequences or split.sequence_names)
    return (trained - set(config.exclude_sequences)) & set(split.sequence_names)
