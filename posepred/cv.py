"""Cross-validation by sequence: train on all other sequences, predict the held-out one.

Every sample of the split then has an out-of-fold prediction from a model that never saw its
sequence; the headline numbers are computed over those (:mod:`posepred.evaluate` scores them).

``posepred cv`` writes, under ``results/``:

- ``valid_cv.json``: rows keyed by id (``derpof``, ``derpof_best_of_{1,5,20}``, ``damped_velocity``,
  ``damped_velocity_fitted``, ``constant_velocity``, ``zero_velocity``, ``ground_truth``,
  ``derpof_published_test``) with VIM, ADE/FDE and bone drift; per held-out sequence rows; VIM per
  future frame (the figure's data); APD of the samples; active latent dimensions per fold;
- ``valid_cv.md``: the same as tables (generated from the JSON by :mod:`posepred.report`);
- ``valid_oof_predictions.json``: ``(36, 2, 14, 39)`` in the order of ``3dpw_valid_out.json``;
- ``valid_oof_samples.npz``: array ``samples`` ``(K, 36, 2, 14, 39)`` (float32, K = 20 by default).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .baselines import DEFAULT_DAMPING, fit_damping_factor
from .checkpoint import DirectoryLock, holds_a_run
from .config import Config
from .data import SomofSplit, load_split
from .errors import CheckpointError, OptionError
from .evaluate import (
    ACTIVE_KL_NATS,
    BEST_OF,
    baseline_predictions,
    baseline_rows,
    diversity,
    flat_poses,
    ground_truth_row,
    out_of_fold_predictions,
    predict_folds,
    row,
    sample_rows,
    vim_curves,
    write_poses_json,
)
from .files import atomic_write_bytes
from .results import PUBLISHED_TEST_ROW, ResultRow, label_of, rows_by_id, save_results
from .trainer import Trainer
from .windows import split_windows

__all__ = ["CVResult", "cross_validate", "fold_config", "out_of_fold_predictions", "score_folds",
           "write_cv_results"]


@dataclass
class CVResult:
    """Out-of-fold predictions ``(N, 2, 14, 13, 3)``, samples ``(K, N, 2, 14, 13, 3)`` (or None),
    and the rows built from them, keyed by id (``result.rows["derpof"].metrics["vim_900"]``)."""

    predictions: np.ndarray
    samples: np.ndarray | None
    rows: dict[str, ResultRow]
    per_sequence: dict[str, ResultRow] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    diversity: dict[str, float] = field(default_factory=dict)
    active_dims: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def latent(self) -> dict | None:
        """Active latent dimensions per fold and their mean; None when the model cannot tell."""
        if not self.active_dims:
            return None
        return {"threshold_nats": ACTIVE_KL_NATS, "per_fold": self.active_dims,
                "mean": float(np.mean(list(self.active_dims.values())))}


def fold_config(config: Config, split: SomofSplit, held_out: str, checkpoint_root: Path | None) -> Config:
    directory = str(checkpoint_root / "folds" / held_out) if checkpoint_root else config.checkpoint_dir
    return config.replace(train_split=split.name, valid_split=split.name, train_sequences=None,
                          exclude_sequences=[held_out], valid_sequences=[held_out],
                          load_checkpoint=False, checkpoint_dir=directory)


def cross_validate(config: Config, split: SomofSplit | None = None, n_samples: int = 20,
                   checkpoint_root: str | Path | None = None, progress: bool = True,
                   callbacks=(), overwrite: bool = False) -> CVResult:
    """Leave-one-sequence-out training on ``split`` (default: the config's valid split).

    Fold models are saved under ``checkpoint_root/folds/<sequence>/`` when a root is given (locked
    for the whole run; fold models of an earlier run there are replaced only with ``overwrite``).
    Baselines are scored alongside; the damping factor is also fitted per fold on its training
    windows. A KeyboardInterrupt propagates: nothing is written.
    """
    start = time.perf_counter()
    split = split or load_split(config.valid_split, config.data_dir)
    root = Path(checkpoint_root) if checkpoint_root else None

    def trained_folds() -> Iterator[tuple[str, object, Config]]:
        for held_out in tqdm(split.sequence_names, desc="folds", disable=not progress):
            mask = split.sample_mask(include=[held_out])
            windows = split_windows(split, exclude=[held_out], stride=config.window_stride)
            held = split.subset(mask)
            fold = fold_config(config, split, held_out, root)
            trainer = Trainer(fold, windows, held.observed, held.future, callbacks=callbacks,
                              save=root is not None, progress=progress, overwrite=overwrite)
            trainer.fit()
            yield held_out, trainer.model, fold

    if root is None:
        return score_folds(split, trained_folds(), n_samples, seed=config.seed, window_stride=config.window_stride,
                           start=start)
    with DirectoryLock(root):  # one cv run per --save-folds folder at a time
        if not overwrite:
            taken = [s for s in split.sequence_names if holds_a_run(root / "folds" / s)]
            if taken:
                raise CheckpointError(f"{root / 'folds'}: holds fold models of an earlier run ({', '.join(taken)}); "
                                      "replace them with --overwrite, or choose another --save-folds")
        return score_folds(split, trained_folds(), n_samples, seed=config.seed, window_stride=config.window_stride,
                           start=start)


def score_folds(split: SomofSplit, folds: Iterable[tuple[str, object, Config]], n_samples: int = 20, seed: int = 0,
                window_stride: int = 1, start: float | None = None) -> CVResult:
    """Every row of the cross-validation table from fold models: ``folds`` yields ``(held-out
    sequence, model, config)``, trained just now (:func:`cross_validate`) or loaded from disk
    (:func:`posepred.evaluate.load_folds`, ``posepred cv --folds DIR``). The damped-velocity
    factor is fitted per fold on the other sequences' windows."""
    start = time.perf_counter() if start is None else start
    folds = predict_folds(split, folds, n_samples=n_samples, seed=seed)
    damped = np.zeros_like(split.future)
    for sequence in split.sequence_names:
        mask = split.sample_mask(include=[sequence])
        windows = split_windows(split, exclude=[sequence], stride=window_stride)
        damped[mask] = baseline_predictions("damped_velocity", split.observed[mask], fit_damping_factor(windows))
    rows = [row("derpof", folds.predictions, split)]
    if folds.samples is not None:
        rows += sample_rows(folds.samples, split, BEST_OF)
    rows += baseline_rows(split, DEFAULT_DAMPING)
    rows += [row("damped_velocity_fitted", damped, split), ground_truth_row(split),
             ResultRow("derpof_published_test", label_of("derpof_published_test"), dict(PUBLISHED_TEST_ROW))]
    per_sequence = {}
    for sequence in split.sequence_names:
        mask = split.sample_mask(include=[sequence])
        per_sequence[sequence] = row(sequence, folds.predictions[mask], split.subset(mask), label=sequence)
    curves = vim_curves({"derpof": folds.predictions, **{name: baseline_predictions(name, split.observed)
                                                          for name in ("damped_velocity", "constant_velocity",
                                                                       "zero_velocity")}}, split.future)
    return CVResult(folds.predictions, folds.samples, rows_by_id(rows), per_sequence, curves,
                    diversity(folds.samples) if folds.samples is not None else {}, folds.active_dims,
                    time.perf_counter() - start)


def write_samples_npz(path: str | Path, samples: np.ndarray) -> Path:
    """Samples ``(K, N, 2, 14, 13, 3)`` as array ``samples`` ``(K, N, 2, 14, 39)`` float32 (the
    model's own precision), compressed, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, samples=flat_poses(samples).astype(np.float32))
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def write_cv_results(result: CVResult, out_dir: str | Path = "results", split_name: str = "valid",
                     command: str = "posepred cv") -> list[Path]:
    """``{split}_oof_predictions.json``, ``{split}_oof_samples.npz`` (with samples), ``{split}_cv.json``
    and ``{split}_cv.md`` (rendered from the JSON), each atomically. Without samples, the samples
    file of an earlier run is removed (it would not match the new predictions), with a line saying so."""
    from .report import write_cv_markdown

    out_dir = Path(out_dir)
    samples_path = out_dir / f"{split_name}_oof_samples.npz"
    if result.samples is None and (samples_path.is_file() or samples_path.is_symlink()):
        try:
            samples_path.unlink()
        except OSError as exc:
            raise OptionError(f"{samples_path}: cannot remove the stale samples of an earlier run "
                              f"({exc.strerror or exc})") from exc
        tqdm.write(f"removed {samples_path}: the samples of an earlier run (this run drew none)")
    paths = [write_poses_json(out_dir / f"{split_name}_oof_predictions.json", result.predictions)]
    if result.samples is not None:
        paths.append(write_samples_npz(samples_path, result.samples))
    paths.append(save_results(out_dir / f"{split_name}_cv.json", result.rows.values(), split=split_name,
                              command=command, seconds=round(result.seconds, 1),
                              per_sequence=[r.to_dict() for r in result.per_sequence.values()],
                              vim_per_frame=result.curves, diversity=result.diversity, latent=result.latent()))
    paths.append(write_cv_markdown(paths[-1], out_dir / f"{split_name}_cv.md"))
    return paths
