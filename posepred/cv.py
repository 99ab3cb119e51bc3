"""Cross-validation by sequence: train on all other sequences, predict the held-out one.

Every sample of the split then has an out-of-fold prediction from a model that never saw its
sequence; the headline numbers are computed over those.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .baselines import DEFAULT_DAMPING, fit_damping_factor
from .checkpoint import atomic_write_text, load_model
from .config import Config
from .data import SomofSplit, load_split, split_windows
from .evaluate import PUBLISHED_TEST_ROW, baseline_predictions, baseline_rows, best_of_k, predict, write_poses_json
from .metrics import format_table, summary
from .train import Trainer, scene_loss


@dataclass
class CVResult:
    """Out-of-fold predictions ``(N, 2, 14, 13, 3)`` and the table rows built from them."""

    predictions: np.ndarray
    best_of_k: np.ndarray | None
    rows: dict[str, dict[str, float]]
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


def fold_config(config: Config, split: SomofSplit, held_out: str, checkpoint_root: Path | None) -> Config:
    directory = str(checkpoint_root / "folds" / held_out) if checkpoint_root else config.checkpoint_dir
    return config.replace(train_split=split.name, valid_split=split.name, train_sequences=None,
                          exclude_sequences=[held_out], valid_sequences=[held_out],
                          load_checkpoint=False, checkpoint_dir=directory)


def cross_validate(config: Config, split: SomofSplit | None = None, n_samples: int = 20,
                   checkpoint_root: str | Path | None = None, progress: bool = True,
                   callbacks=()) -> CVResult:
    """Leave-one-sequence-out training on ``split`` (default: the config's valid split).

    Fold models are saved under ``checkpoint_root/folds/<sequence>/`` when a root is given.
    Baselines are scored alongside; the damping factor is fitted per fold on its training windows.
    """
    start = time.perf_counter()
    split = split or load_split(config.valid_split, config.data_dir)
    root = Path(checkpoint_root) if checkpoint_root else None
    predictions = np.zeros_like(split.future)
    damped = np.zeros_like(split.future)
    samples = np.zeros((n_samples, *split.future.shape)) if n_samples else None
    per_sequence = {}
    for held_out in tqdm(split.sequence_names, desc="folds", disable=not progress):
        mask = split.sample_mask(include=[held_out])
        windows = split_windows(split, exclude=[held_out], stride=config.window_stride)
        held = split.subset(mask)
        trainer = Trainer(fold_config(config, split, held_out, root), windows, held.observed, held.future,
                          callbacks=callbacks, save=root is not None, progress=progress)
        trainer.fit()
        predictions[mask] = predict(trainer.model, held.observed)
        if samples is not None:
            samples[:, mask] = predict(trainer.model, held.observed, n_samples=n_samples)
        damped[mask] = baseline_predictions("damped-velocity", held.observed, fit_damping_factor(windows))
        per_sequence[held_out] = summary(predictions[mask], held.future)
    rows = {"DeRPoF (z = mean)": summary(predictions, split.future)}
    best = best_of_k(samples, split.future) if samples is not None else None
    if best is not None:
        rows[f"DeRPoF best-of-{n_samples} (oracle)"] = summary(best, split.future)
    rows.update(baseline_rows(split, DEFAULT_DAMPING))
    rows["damped-velocity (fitted per fold)"] = summary(damped, split.future)
    rows["DeRPoF published, TEST split (not comparable)"] = dict(PUBLISHED_TEST_ROW)
    return CVResult(predictions, best, rows, per_sequence, time.perf_counter() - start)


def write_cv_results(result: CVResult, out_dir: str | Path = "results", split_name: str = "valid",
                     command: str = "posepred cv") -> list[Path]:
    """``{split}_oof_predictions.json`` (shaped like ``3dpw_{split}_out.json``), ``{split}_cv.md``
    and ``{split}_cv.json``."""
    out_dir = Path(out_dir)
    paths = [write_poses_json(out_dir / f"{split_name}_oof_predictions.json", result.predictions)]
    markdown = (f"# Cross-validation by sequence on `{split_name}` (out of fold)\n\n"
                f"Reproduce with `{command}`. Each sample is predicted by the fold model that did not "
                "see its sequence. The best-of-K row picks, per person, the sample closest to the "
                "ground truth: an oracle that measures diversity, not accuracy. The published row is "
                "on the hidden test split, for context only.\n\n"
                + format_table(result.rows, markdown=True) + "\n\nPer held-out sequence (DeRPoF, z = mean):\n\n"
                + format_table(result.per_sequence, markdown=True) + "\n")
    paths.append(out_dir / f"{split_name}_cv.md")
    atomic_write_text(paths[-1], markdown)
    paths.append(out_dir / f"{split_name}_cv.json")
    atomic_write_text(paths[-1], json.dumps({"rows": result.rows, "per_sequence": result.per_sequence,
                                             "seconds": round(result.seconds, 1)}, indent=1))
    return paths


def fold_models(split: SomofSplit, folds_dir: str | Path, device="cpu"):
    """For each sequence of ``split``: its sample mask, and the model and config in
    ``folds_dir/<sequence>/``, checked not to have been trained on that sequence."""
    for sequence in split.sequence_names:
        model, config = load_model(Path(folds_dir) / sequence, device=device)
        if sequence not in config.exclude_sequences:
            raise ValueError(f"{folds_dir}/{sequence}: this fold model was trained on {sequence}")
        yield split.sample_mask(include=[sequence]), model, config


def out_of_fold(split: SomofSplit, folds_dir: str | Path, device="cpu") -> tuple[np.ndarray, float | None]:
    """One pass over the fold models: every sample predicted by ``folds_dir/<its sequence>/``, the
    fold model that did not see it, and their loss (z = mean), sample-weighted; None without truth."""
    predictions = np.zeros((len(split), 2, 14, 13, 3))
    total = 0.0
    for mask, model, config in fold_models(split, folds_dir, device):
        predictions[mask] = predict(model, split.observed[mask])
        if split.future is not None:
            total += mask.sum() * scene_loss(model, config, split.observed[mask], split.future[mask])
    return predictions, (float(total / len(split)) if split.future is not None else None)


def out_of_fold_predictions(split: SomofSplit, folds_dir: str | Path, device="cpu") -> np.ndarray:
    """Predict every sample with ``folds_dir/<its sequence>/``, the fold model that did not see it."""
    return out_of_fold(split, folds_dir, device)[0]
