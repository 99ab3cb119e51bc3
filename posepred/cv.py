"""Cross-validation by sequence: train on all other sequences, predict the held-out one.

Every sample of the split then has an out-of-fold prediction from a model that never saw its
sequence; the headline numbers are computed over those (:mod:`posepred.evaluate` scores them).

``posepred cv`` writes one result set, one file: ``results/valid_cv.json`` for SoMoF's valid split,
``results/<name>/<name>_cv.json`` for any other data (:func:`default_results_dir`). It holds rows
keyed by id (``derpof``, ``derpof_best_of_{1,5,20}``, ``damped_velocity``, ``damped_velocity_fitted``,
``constant_velocity``, ``zero_velocity``, ``ground_truth``, and for SoMoF's valid split
``derpof_published_test``) with VIM, ADE/FDE and bone drift; per held-out sequence rows; VIM per
future frame (the figure's data); APD of the samples; active latent dimensions per fold; and the
data it came from (a fingerprint of the poses). ``<name>_cv.md`` beside it is the same as tables,
generated from the JSON. The out-of-fold predictions go to a file of their own only when asked
(``--predictions FILE``); samples are drawn again, seeded, from the fold models.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .baselines import DEFAULT_DAMPING, fit_damping_factor
from .checkpoint import DirectoryLock, holds_a_run
from .config import Config
from .data import Scenes, load_split
from .errors import CheckpointError, DataError, OptionError
from .evaluate import (
    BEST_OF,
    baseline_predictions,
    baseline_rows,
    diversity,
    ground_truth_row,
    out_of_fold_predictions,
    predict_folds,
    row,
    sample_rows,
    vim_curves,
)
from .files import refuse_special
from .forecasters import family
from .metrics import ACTIVE_KL_NATS
from .results import PUBLISHED_TEST_ROW, ResultRow, label_of, load_results, rows_by_id, save_results
from .trainer import Trainer
from .windows import split_windows

__all__ = ["CVResult", "cross_validate", "cross_validate_forecaster", "fold_config", "out_of_fold_predictions",
           "score_folds", "write_cv_results"]


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
    name: str = "derpof"

    def table(self, markdown: bool = False) -> str:
        """VIM and bone drift of the forecaster and the baselines, as text (or markdown)."""
        from .tables import COLUMNS, DRIFT_COLUMNS, format_table

        vim = {r.label: r.metrics for r in self.rows.values() if "vim_100" in r.metrics}
        drift = {r.label: r.metrics for r in self.rows.values() if "bone_drift_mean" in r.metrics}
        return (format_table(vim, markdown, COLUMNS[:6]) + "\n\n"
                + format_table(drift, markdown, DRIFT_COLUMNS))

    def figure(self):
        """VIM against the future frame, the forecaster beside the baselines (a matplotlib figure)."""
        from .viz import plot_vim_curves

        return plot_vim_curves({self.rows[k].label if k in self.rows else k: np.asarray(v)
                                for k, v in self.curves.items()}, "cross-validated by sequence")

    def latent(self) -> dict | None:
        """Active latent dimensions per fold and their mean; None when the model cannot tell."""
        if not self.active_dims:
            return None
        return {"threshold_nats": ACTIVE_KL_NATS, "per_fold": self.active_dims,
                "mean": float(np.mean(list(self.active_dims.values())))}


def fold_config(config: Config, split: Scenes, held_out: str, checkpoint_root: Path | None) -> Config:
    directory = str(checkpoint_root / "folds" / held_out) if checkpoint_root else config.checkpoint_dir
    return config.replace(train_split=split.name, valid_split=split.name, train_sequences=None,
                          exclude_sequences=[held_out], valid_sequences=[held_out],
                          load_checkpoint=False, checkpoint_dir=directory)


def cross_validate_forecaster(name: str, fit: Callable, split: Scenes, n_samples: int = 0, label: str | None = None,
                              seed: int = 0, window_stride: int = 1, progress: bool = True) -> CVResult:
    """Leave-one-sequence-out cross-validation of any forecaster, in one call.

    ``fit(windows)`` gets the training windows of the other sequences (a
    :class:`~posepred.windows.WindowSet`; ``np.asarray`` gives ``(W, 30, 13, 3)``) and returns a
    forecaster (:mod:`posepred.forecasters`: ``predict(observed, partner=None, n_samples=None)``).
    Rows are keyed by ``name`` and labelled ``label``; best-of-K rows come when ``n_samples`` > 0
    (the forecaster must sample). ``result.table()`` and ``result.figure()`` show them."""
    start = time.perf_counter()

    def fitted() -> Iterator[tuple[str, object, None]]:
        for held_out in tqdm(split.sequence_names, desc="folds", disable=not progress):
            yield held_out, fit(split_windows(split, exclude=[held_out], stride=window_stride)), None

    return score_folds(split, fitted(), n_samples, seed, window_stride, start, name, label)


def cross_validate(config: Config, split: Scenes | None = None, n_samples: int = 20,
                   checkpoint_root: str | Path | None = None, progress: bool = True,
                   callbacks=(), overwrite: bool = False) -> CVResult:
    """Leave-one-sequence-out training of the config's model family on ``split`` (default: the
    config's valid split), through :class:`~posepred.trainer.Trainer`.

    Fold models are saved under ``checkpoint_root/folds/<sequence>/`` when a root is given (locked
    for the whole run; fold models of an earlier run there are replaced only with ``overwrite``).
    Baselines are scored alongside; the damping factor is also fitted per fold on its training
    windows. A KeyboardInterrupt propagates: nothing is written.
    """
    start = time.perf_counter()
    split = split or load_split(config.valid_split, config.data_dir)
    root = Path(checkpoint_root) if checkpoint_root else None

    fingerprints = split.sequence_fingerprints()

    def trained_folds() -> Iterator[tuple[str, object, Config]]:
        for held_out in tqdm(split.sequence_names, desc="folds", disable=not progress):
            mask = split.sample_mask(include=[held_out])
            windows = split_windows(split, exclude=[held_out], stride=config.window_stride)
            held = split.subset(mask)
            fold = fold_config(config, split, held_out, root)
            trainer = Trainer(fold, windows, held.observed, held.future, callbacks=callbacks,
                              save=root is not None, progress=progress, overwrite=overwrite)
            trainer.trained_on = [f for s, f in fingerprints.items() if s != held_out]  # what it learnt from
            trainer.fit()
            yield held_out, trainer.model, fold

    def scored() -> CVResult:
        samples = n_samples if family(config.model).samples else 0
        return score_folds(split, trained_folds(), samples, config.seed, config.window_stride, start, config.model)

    if root is None:
        return scored()
    for folder in (root, root / "folds", *(root / "folds" / s for s in split.sequence_names)):
        if folder.is_symlink():  # fold models are written into these: never through a link to elsewhere
            raise CheckpointError(f"{folder}: is a symbolic link; refusing to write fold models through it")
    with DirectoryLock(root):  # one cv run per --save-folds folder at a time
        if not overwrite:
            taken = [s for s in split.sequence_names if holds_a_run(root / "folds" / s)]
            if taken:
                raise CheckpointError(f"{root / 'folds'}: holds fold models of an earlier run ({', '.join(taken)}); "
                                      "replace them with --overwrite, or choose another --save-folds")
        return scored()


def score_folds(split: Scenes, folds: Iterable[tuple[str, object, Config | None]], n_samples: int = 20,
                seed: int = 0, window_stride: int = 1, start: float | None = None, name: str = "derpof",
                label: str | None = None) -> CVResult:
    """Every row of the cross-validation table from fold forecasters: ``folds`` yields ``(held-out
    sequence, forecaster, config or None)``, trained just now (:func:`cross_validate`,
    :func:`cross_validate_forecaster`) or loaded from disk (:func:`posepred.evaluate.load_folds`,
    ``posepred cv --folds DIR``); rows are keyed by ``name``. The damped-velocity factor is fitted
    per fold on the other sequences' windows."""
    start = time.perf_counter() if start is None else start
    label = label or label_of(name)
    folds = predict_folds(split, folds, n_samples=n_samples, seed=seed)
    damped = np.zeros_like(split.future)
    for sequence in split.sequence_names:
        mask = split.sample_mask(include=[sequence])
        windows = split_windows(split, exclude=[sequence], stride=window_stride)
        damped[mask] = baseline_predictions("damped_velocity", split.observed[mask], fit_damping_factor(windows))
    rows = [row(name, folds.predictions, split, label)]
    if folds.samples is not None:
        rows += sample_rows(folds.samples, split, BEST_OF, name, label)
    rows += baseline_rows(split, DEFAULT_DAMPING)
    rows += [row("damped_velocity_fitted", damped, split), ground_truth_row(split)]
    if is_somof_valid(split):  # the published test number is context for SoMoF's valid split only
        rows.append(ResultRow("derpof_published_test", label_of("derpof_published_test"), dict(PUBLISHED_TEST_ROW)))
    per_sequence = {}
    for sequence in split.sequence_names:
        mask = split.sample_mask(include=[sequence])
        per_sequence[sequence] = row(sequence, folds.predictions[mask], split.subset(mask), label=sequence)
    curves = vim_curves({name: folds.predictions, **{baseline: baseline_predictions(baseline, split.observed)
                                                     for baseline in ("damped_velocity", "constant_velocity",
                                                                      "zero_velocity")}}, split.future)
    return CVResult(folds.predictions, folds.samples, rows_by_id(rows), per_sequence, curves,
                    diversity(folds.samples) if folds.samples is not None else {}, folds.active_dims,
                    time.perf_counter() - start, name)


SOMOF_VALID = "e395929f385a83f2ccbcdeb0f6b63b0e0c255e6b7a47095671fd9b5ab90c7883"  # Scenes.fingerprint() of valid


def is_somof_valid(split: Scenes) -> bool:
    """Whether ``split`` is SoMoF's valid split itself (its name and its poses)."""
    return split.name == "valid" and split.fingerprint() == SOMOF_VALID


def _without_overwrite(command: str) -> str:
    return " ".join(part for part in command.split() if part != "--overwrite")


def default_results_dir(split: Scenes, root: Path) -> Path:
    """``root`` for the SoMoF valid split, ``root/<name>`` for any other data: never each other's files."""
    return root if is_somof_valid(split) else root / split.name


def write_cv_results(result: CVResult, split: Scenes, out_dir: str | Path, command: str = "posepred cv",
                     overwrite: bool = False) -> list[Path]:
    """The result set ``{name}_cv.json`` (``{name}_cv_{forecaster}.json`` for forecasters other
    than DeRPoF): rows, per-sequence rows, VIM per frame, diversity, latent dimensions and the data it
    came from, written atomically in one file, then its view ``.md``. Results of other data in the
    same file are replaced only with ``overwrite``."""
    from .report import write_cv_markdown

    path = results_path(split, out_dir, result.name, command, overwrite)
    data = {"name": split.name, "fingerprint": split.fingerprint(), "samples": len(split),
            "sequences": split.sequence_names}
    save_results(path, result.rows.values(), split=split.name, forecaster=result.name, data=data, command=command,
                 seconds=round(result.seconds, 1), per_sequence=[r.to_dict() for r in result.per_sequence.values()],
                 vim_per_frame=result.curves, diversity=result.diversity, latent=result.latent())
    return [path, write_cv_markdown(path, path.with_suffix(".md"))]


def results_path(split: Scenes, out_dir: str | Path, name: str, command: str, overwrite: bool = False) -> Path:
    """Where :func:`write_cv_results` writes ``name``'s results, checked before any work: no special
    file in the way, and only the same command on the same data replaces a result (else ``overwrite``)."""
    suffix = "" if name == "derpof" else f"_{name}"
    path = Path(out_dir) / f"{split.name}_cv{suffix}.json"
    for target in (path, path.with_suffix(".md")):  # both checked before either is written
        refuse_special(target)
    if os.path.lexists(path) and not overwrite:
        try:
            earlier = load_results(path)[1]
        except DataError:
            earlier = {}
        if earlier.get("data", {}).get("fingerprint") != split.fingerprint():
            raise OptionError(f"{path}: holds results of other data ({earlier.get('data', {}).get('name', 'unknown')});"
                              " write these elsewhere with --results DIR, or replace them with --overwrite")
        if _without_overwrite(earlier.get("command", "")) != _without_overwrite(command):
            raise OptionError(f"{path}: holds the results of another run (`{earlier.get('command', '?')}`); write "
                              "these elsewhere with --results DIR, or replace them with --overwrite")
    return path
