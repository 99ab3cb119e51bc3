"""The one home of evaluation: predictions -> typed, id-keyed results, and the rule for what may
be called validation. The CLI, :mod:`posepred.cv`, :mod:`posepred.report`, the benchmarks and the
notebooks all call these functions.

Scene arrays: observed ``(N, 2, 16, 13, 3)``, predictions and future ``(N, 2, 14, 13, 3)``,
samples ``(K, N, 2, 14, 13, 3)``.

- :func:`predict` runs a model (deterministic z, or K samples); :func:`baseline_predictions` a baseline.
- :func:`score` turns predictions into metrics and :func:`row` into a
  :class:`~posepred.results.ResultRow` (rows, labels and result files: :mod:`posepred.results`).
- :func:`scoring_for` is THE rule for honest scores: a checkpoint is scored directly only on a
  split it never trained on, else out of fold via its ``folds/<sequence>/`` models, else the
  result is labelled as seen in training. :func:`predict_checkpoint` applies it.
- :func:`predict_folds` / :func:`out_of_fold` predict every sample with the fold model that did not
  see its sequence (deterministic z and, seeded, K samples), for ``posepred cv`` and the notebooks alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .baselines import DEFAULT_DAMPING, PREDICTORS, damped_velocity
from .config import Config
from .data import MAX_COORDINATE, N_FUTURE, Scenes
from .errors import CheckpointError, DataError
from .files import atomic_write_text
from .forecasters import Ensemble, family
from .metrics import ACTIVE_KL_NATS, apd, bone_drift, samples_better_than, summary, vim_per_frame
from .paths import resolve_relative
from .results import ResultRow, best_of_id, check_finite, label_of
from .skeleton import N_COORDS, N_JOINTS
from .windows import scene_batch

BEST_OF = (1, 5, 20)  # K of the best-of-K (oracle) rows
BASELINES = ("damped_velocity", "constant_velocity", "zero_velocity")


def score(predictions, future, last_observed=None, source: str = "predictions") -> dict[str, float]:
    """:func:`~posepred.metrics.summary` metrics, plus :func:`~posepred.metrics.bone_drift` when the
    last observed poses ``(N, 2, 13, 3)`` are given; every value checked finite."""
    metrics = summary(predictions, future)
    if last_observed is not None:
        metrics |= bone_drift(predictions, last_observed)
    return check_finite(metrics, source)


def row(row_id: str, predictions, split: Scenes, label: str | None = None) -> ResultRow:
    """Score ``predictions`` against ``split``'s ground truth (with bone drift) as one row."""
    if split.future is None:
        raise DataError(f"split '{split.name}' has no ground truth to score against")
    metrics = score(predictions, split.future, split.observed[:, :, -1], source=f"{split.name}: {row_id}")
    damped = baseline_predictions("damped_velocity", split.observed)
    metrics["samples_better_than_damped"] = samples_better_than(predictions, damped, split.future)
    return ResultRow(row_id, label or label_of(row_id), metrics)


@torch.no_grad()
def predict(model, observed, n_samples: int | None = None, device=None) -> np.ndarray:
    """Run a forecaster (:mod:`posepred.forecasters`) on scenes: ``(N, 2, 16, 13, 3)`` ->
    ``(N, 2, 14, 13, 3)``, or ``(K, N, 2, 14, 13, 3)`` with ``n_samples=K``; each person's partner is
    the other person of the scene."""
    if isinstance(model, torch.nn.Module):
        model.eval()  # a prediction never draws dropout
    parameter = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
    dtype = parameter.dtype if parameter is not None else torch.float64
    device = device or (parameter.device if parameter is not None else "cpu")
    observed = torch.as_tensor(np.asarray(observed), dtype=dtype, device=device)
    scenes, persons = observed.shape[:2]
    partner = observed[:, [1, 0]].flatten(0, 1) if persons == 2 else None
    output = model.predict(observed.flatten(0, 1), partner=partner, n_samples=n_samples)
    shape = (scenes, persons, N_FUTURE, N_JOINTS, 3)
    output = output.reshape(shape) if n_samples is None else output.reshape(n_samples, *shape)
    return output.double().cpu().numpy()


@torch.no_grad()
def scene_loss(model, config: Config, observed, future) -> float:
    """The training loss of the deterministic prediction on scenes ``(N, 2, 16, 13, 3)``, ``(N, 2, 14, 13, 3)``."""
    parameter = next(model.parameters())
    model.eval()
    batch = scene_batch(observed, future, parameter.device, parameter.dtype)
    return family(config.model).loss(model, batch, config)[0].item()


def best_of_k(samples: np.ndarray, future: np.ndarray) -> np.ndarray:
    """Oracle: for each person the sample with the lowest mean joint error against the truth.

    ``samples (K, N, 2, 14, 13, 3)``, ``future (N, 2, 14, 13, 3)`` -> ``(N, 2, 14, 13, 3)``.
    It peeks at the ground truth: report it only as a diversity measure, never as accuracy.
    """
    errors = np.linalg.norm(samples - future[None], axis=-1).mean(axis=(-1, -2))  # (K, N, 2)
    best = errors.argmin(axis=0)
    return np.take_along_axis(samples, best[None, :, :, None, None, None], axis=0)[0]


def sample_rows(samples: np.ndarray, split: Scenes, ks: Iterable[int] = BEST_OF, name: str = "derpof",
                label: str | None = None) -> list[ResultRow]:
    """Best-of-k rows (oracle) for each k <= K in ``ks`` (and K itself), from the first k samples."""
    n = len(samples)
    ks = sorted({k for k in ks if k <= n} | {n})
    labels = {name: label} if label else None
    return [row(best_of_id(k, name), best_of_k(samples[:k], split.future), split,
                label_of(best_of_id(k, name), labels)) for k in ks]


def diversity(samples: np.ndarray) -> dict[str, float]:
    """``apd_cm`` (:func:`~posepred.metrics.apd`) and ``k`` of samples ``(K, N, 2, 14, 13, 3)``."""
    return {"apd_cm": apd(samples) if len(samples) > 1 else 0.0, "k": len(samples)}


def baseline_predictions(name: str, observed, damping: float = DEFAULT_DAMPING) -> np.ndarray:
    """``zero_velocity``, ``constant_velocity`` or ``damped_velocity`` (hyphens accepted) on ``observed``."""
    key = name.replace("-", "_")
    if key not in PREDICTORS:
        raise ValueError(f"unknown predictor '{name}'; choose from {list(BASELINES)}")
    observed = torch.as_tensor(np.asarray(observed), dtype=torch.float64)
    if key == "damped_velocity":
        return damped_velocity(observed, damping).numpy()
    return PREDICTORS[key](observed).numpy()


def baseline_rows(split: Scenes, damping: float = DEFAULT_DAMPING) -> list[ResultRow]:
    """The three baselines scored on a split with ground truth (damped velocity with ``damping``)."""
    return [row(name, baseline_predictions(name, split.observed, damping), split,
                label=f"damped velocity {damping:g}" if name == "damped_velocity" else None) for name in BASELINES]


def ground_truth_row(split: Scenes) -> ResultRow:
    """Bone drift of the true future poses: what a perfect predictor scores on plausibility."""
    return ResultRow("ground_truth", label_of("ground_truth"), bone_drift(split.future, split.observed[:, :, -1]))


def flat_poses(poses: np.ndarray) -> np.ndarray:
    """``(..., F, 13, 3)`` -> the SoMoF file layout ``(..., F, 39)``."""
    return np.asarray(poses).reshape(*np.shape(poses)[:-2], N_COORDS)


def write_poses_json(path: str | Path, poses: np.ndarray, n_scenes: int | None = None) -> Path:
    """Write predictions ``(N, 2, 14, 13, 3)`` as SoMoF JSON ``[N][2][14][39]``, atomically.

    Checks shape and finiteness first, so a bad prediction never becomes a half-valid submission.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 5 or poses.shape[1:] != (2, N_FUTURE, N_JOINTS, 3):
        raise DataError(f"{path}: predictions shaped {list(poses.shape)}, expected [N, 2, 14, 13, 3]")
    if n_scenes is not None and len(poses) != n_scenes:
        raise DataError(f"{path}: {len(poses)} scenes predicted, the input has {n_scenes}")
    if not np.isfinite(poses).all():
        raise DataError(f"{path}: predictions contain NaN or Inf; nothing written")
    if np.abs(poses).max() > MAX_COORDINATE:
        raise DataError(f"{path}: predictions reach {np.abs(poses).max():.3g} m, implausible for a person "
                        "(a broken checkpoint?); nothing written")
    path = Path(path)
    atomic_write_text(path, json.dumps(flat_poses(poses).tolist()))
    return path


# -- what may be called validation ------------------------------------------------------------
def seen_sequences(config: Config, split: Scenes) -> set[str]:
    """Sequences of ``split`` that a model trained with ``config`` has seen in training."""
    if config.train_split != split.name:
        return set()
    trained = set(split.sequence_names if config.train_sequences is None else config.train_sequences)
    return (trained - set(config.exclude_sequences)) & set(split.sequence_names)


def held_out_sequences(config: Config, split: Scenes) -> list[str] | None:
    """The sequences of ``split`` that may validate a model trained with ``config``: the config's
    ``valid_sequences`` if set, else every sequence it did not train on; None means all of them,
    [] none (every sequence was trained on)."""
    if config.valid_sequences is not None:
        return list(config.valid_sequences)
    seen = seen_sequences(config, split)
    return sorted(set(split.sequence_names) - seen) if seen else None


@dataclass(frozen=True)
class Scoring:
    """How a checkpoint may be scored on a split: ``kind`` is ``held_out`` (never trained on it),
    ``out_of_fold`` (via ``directory/folds/<sequence>/``) or ``seen`` (NOT a validation score)."""

    kind: str
    directory: Path
    split: str
    seen: tuple[str, ...] = ()

    @property
    def is_validation(self) -> bool:
        return self.kind != "seen"

    @property
    def label(self) -> str:
        if self.kind == "out_of_fold":
            return (f"out of fold: each sequence scored by {self.directory / 'folds'}/<sequence>, "
                    "which did not see it")
        if self.kind == "seen":
            return (f"WARNING: model {self.directory} was trained on these samples ({list(self.seen)}): "
                    "NOT a validation score")
        return f"model {self.directory} (never trained on {self.split})"


def scoring_for(directory: str | Path, config: Config, split: Scenes) -> Scoring:
    """THE rule for honest scores of the checkpoint in ``directory``, trained with ``config``."""
    seen = tuple(sorted(seen_sequences(config, split)))
    if not seen:
        return Scoring("held_out", directory, split.name)
    if (directory / "folds").is_dir():
        return Scoring("out_of_fold", directory, split.name, seen)
    return Scoring("seen", directory, split.name, seen)


@dataclass
class FoldPredictions:
    """Out-of-fold predictions ``(N, 2, 14, 13, 3)``, samples ``(K, N, 2, 14, 13, 3)`` (None when
    K = 0), the sample-weighted loss (deterministic z; None without ground truth) and, per held-out
    sequence, the number of active latent dimensions (models that can tell)."""

    predictions: np.ndarray
    samples: np.ndarray | None = None
    loss: float | None = None
    active_dims: dict[str, int] = field(default_factory=dict)


def active_latent_dims(model, observed, future, threshold: float = ACTIVE_KL_NATS) -> int | None:
    """Latent dimensions whose KL (nats, averaged over the scenes) exceeds ``threshold``; None when
    the model has no ``kl_per_dimension``."""
    if not hasattr(model, "kl_per_dimension"):
        return None
    parameter = next(model.parameters())
    batch = scene_batch(observed, future, parameter.device, parameter.dtype)
    return int((model.kl_per_dimension(batch.observed, batch.future) > threshold).sum())


def predict_folds(split: Scenes, folds: Iterable[tuple[str, object, Config]], n_samples: int = 0,
                  seed: int = 0) -> FoldPredictions:
    """Predict each sequence of ``split`` with its fold forecaster: ``folds`` yields ``(held-out
    sequence, forecaster, config)``; the training loss is reported for models with a config. Samples
    are drawn after seeding torch with ``seed`` per fold, so the same fold models give the same
    samples in ``posepred cv`` and in a notebook."""
    predictions = np.zeros((len(split), 2, N_FUTURE, N_JOINTS, 3))
    samples = np.zeros((n_samples, *predictions.shape)) if n_samples else None
    total, active, covered = 0.0, {}, np.zeros(len(split), dtype=bool)
    for sequence, model, config in folds:
        mask = split.sample_mask(include=[sequence])
        covered |= mask
        observed = split.observed[mask]
        predictions[mask] = predict(model, observed)
        if samples is not None:
            torch.manual_seed(seed)
            samples[:, mask] = predict(model, observed, n_samples=n_samples)
        if split.future is not None:
            total += mask.sum() * (scene_loss(model, config, observed, split.future[mask]) if config else np.nan)
            dims = active_latent_dims(model, observed, split.future[mask])
            if dims is not None:
                active[sequence] = dims
    if not covered.all():
        raise CheckpointError(f"no fold model for sequences {sorted(set(np.asarray(split.sequences)[~covered]))}")
    loss = float(total / len(split)) if split.future is not None and np.isfinite(total) else None
    return FoldPredictions(predictions, samples, loss, active)


def load_folds(split: Scenes, folds_dir: str | Path, device="cpu") -> Iterator[tuple[str, object, Config]]:
    """For each sequence of ``split``: the model in ``folds_dir/<sequence>/``, checked not to have
    been trained on that sequence."""
    fingerprints = split.sequence_fingerprints()
    for sequence in split.sequence_names:
        saved = checkpoint.load(Path(folds_dir) / sequence, device)
        model, config = saved.model, saved.config
        trained_on = (saved.training or {}).get("trained_on", [])
        if sequence in seen_sequences(config, split) or fingerprints[sequence] in trained_on:
            raise CheckpointError(f"{folds_dir}/{sequence}: this fold model was trained on {sequence}'s poses")
        yield sequence, model, config


def load_ensemble_folds(split: Scenes, folds_dirs: list, device="cpu") -> Iterator[tuple[str, object, None]]:
    """For each sequence: the equal-weight :class:`~posepred.forecasters.Ensemble` of the fold models
    ``<dir>/<sequence>/`` of every directory in ``folds_dirs``."""
    members = zip(*(load_folds(split, resolve_relative(d), device) for d in folds_dirs))
    for folds in members:
        yield folds[0][0], Ensemble([model for _, model, _ in folds]), None


def out_of_fold(split: Scenes, folds_dir: str | Path, device="cpu", n_samples: int = 0,
                seed: int = 0) -> FoldPredictions:
    """Every sample predicted by ``folds_dir/<its sequence>/``, the fold model that did not see it."""
    return predict_folds(split, load_folds(split, resolve_relative(folds_dir), device), n_samples, seed)


def out_of_fold_predictions(split: Scenes, folds_dir: str | Path, device="cpu") -> np.ndarray:
    return out_of_fold(split, folds_dir, device).predictions


@dataclass
class CheckpointScore:
    predictions: np.ndarray
    scoring: Scoring
    loss: float | None


def predict_checkpoint(directory: str | Path, split: Scenes, device="cpu") -> CheckpointScore:
    """Predict ``split`` as honestly as :func:`scoring_for` allows, with the loss (deterministic
    prediction) when the split has ground truth."""
    directory = resolve_relative(directory)
    saved = checkpoint.load(directory, device)
    scoring = scoring_for(directory, saved.config, split)
    if scoring.kind == "out_of_fold":
        folds = out_of_fold(split, directory / "folds", device)
        return CheckpointScore(folds.predictions, scoring, folds.loss)
    loss = scene_loss(saved.model, saved.config, split.observed, split.future) if split.future is not None else None
    return CheckpointScore(predict(saved.model, split.observed), scoring, loss)


def vim_curves(predictions: dict[str, np.ndarray], future) -> dict[str, list[float]]:
    """VIM (cm) per future frame of each ``{id: predictions}``: the README figure's data."""
    return {name: [float(v) for v in vim_per_frame(p, future)] for name, p in predictions.items()}
