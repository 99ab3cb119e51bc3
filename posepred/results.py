"""Result rows and result files: a :class:`ResultRow` is one table row with a stable ``id``
(``derpof``, ``derpof_best_of_20``, ``damped_velocity``, ...) and a display ``label``;
:func:`save_results` / :func:`load_results` write and read ``results/*.json`` (rows keyed by id),
:mod:`posepred.evaluate` makes the rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .baselines import DEFAULT_DAMPING
from .data import parse_json
from .errors import DataError
from .files import atomic_write_text, read_regular_file

PUBLISHED_TEST_ROW = {  # Parsaeifard et al. 2021, SoMoF 3DPW test server; VIM only
    "vim_100": 19.53, "vim_240": 36.89, "vim_500": 68.29, "vim_640": 85.45, "vim_900": 118.21}
MAX_RESULTS_MB = 64  # cap on a results file (and on the README report fills): ours are well under 1 MB
# A label is a markdown table cell: a newline, a comment marker or a '|' would break the table or the README.
MARKDOWN_BREAKERS = ("\n", "\r", "<!--", "-->", "|")
# Stable ids of the predictors (result files and code use these) and their display labels.
LABELS = {
    "derpof": "DeRPoF (deterministic z)",
    "simlpe": "siMLPe-style MLP (second family)",
    "ensemble": "ensemble: DeRPoF and siMLPe-style MLP, equal weights",
    "damped_velocity": f"damped velocity {DEFAULT_DAMPING:g}",
    "damped_velocity_fitted": "damped velocity, factor fitted per fold",
    "constant_velocity": "constant velocity",
    "zero_velocity": "zero velocity",
    "ground_truth": "ground truth",
    "derpof_published_test": "DeRPoF published, TEST split (Parsaeifard et al. 2021; not comparable)",
}


def best_of_id(k: int, name: str = "derpof") -> str:
    return f"{name}_best_of_{k}"


def label_of(row_id: str, labels: dict[str, str] | None = None) -> str:
    """Display label of a row id, from ``labels`` or :data:`LABELS` (best-of-K ids from their
    forecaster's label; unknown ids label themselves)."""
    labels = {**LABELS, **(labels or {})}
    if "_best_of_" in row_id:
        name, k = row_id.rsplit("_best_of_", 1)
        base = labels.get(name, name).replace(" (deterministic z)", "")
        return f"{base} best-of-{k} (oracle: the sample nearest the truth)"
    return LABELS.get(row_id, row_id)


@dataclass(frozen=True)
class ResultRow:
    """One predictor's scores: ``metrics`` keys as in :func:`posepred.metrics.summary` (VIM cm,
    ADE/FDE m) and :func:`posepred.metrics.bone_drift` (%); ``id`` is stable, ``label`` for display."""

    id: str
    label: str
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "metrics": self.metrics}

    @classmethod
    def from_dict(cls, value, source: str = "results") -> ResultRow:
        if not isinstance(value, dict) or not isinstance(value.get("id"), str) \
                or not isinstance(value.get("metrics"), dict):
            raise DataError(f"{source}: a result row must be an object with 'id' and 'metrics'")
        for key, number in value["metrics"].items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise DataError(f"{source}: row '{value['id']}': metric '{key}' is {number!r}, expected a number")
        metrics = check_finite(dict(value["metrics"]), f"{source}: row '{value['id']}'")
        return cls(value["id"], check_label(value.get("label", value["id"]), f"{source}: row {value['id']!r}"), metrics)


def check_label(label, source: str) -> str:
    """``label`` as text, refusing what would break a markdown table cell (:data:`MARKDOWN_BREAKERS`)."""
    label = str(label)
    bad = [text for text in MARKDOWN_BREAKERS if text in label]
    if bad:
        raise DataError(f"{source}: label {label[:60]!r} contains {bad[0]!r}, which would break the markdown tables")
    return label


def rows_by_id(rows: Iterable[ResultRow]) -> dict[str, ResultRow]:
    """``{id: row}``, refusing duplicate ids."""
    result = {}
    for row in rows:
        if row.id in result:
            raise ValueError(f"duplicate result row id '{row.id}'")
        result[row.id] = row
    return result


def check_finite(metrics: dict[str, float], source: str) -> dict[str, float]:
    """``metrics`` unchanged, or a :class:`DataError` naming ``source`` and the non-finite metrics."""
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    if bad:
        raise DataError(f"{source}: metrics {bad} are not finite (the input poses are too large or not numbers)")
    return metrics


def save_results(path: str | Path, rows: Iterable[ResultRow], **extra) -> Path:
    """Write ``{"rows": [...], **extra}`` as strict JSON (no NaN/Infinity), atomically."""
    path = Path(path)
    rows = list(rows_by_id(rows).values())
    for result in rows:
        check_finite(result.metrics, f"{path}: row '{result.id}'")
    atomic_write_text(path, json.dumps({"rows": [r.to_dict() for r in rows], **extra}, indent=1,
                                       allow_nan=False) + "\n")
    return path


def load_results(path: str | Path) -> tuple[dict[str, ResultRow], dict]:
    """``({id: row}, the file's other fields)`` from a results JSON written by :func:`save_results`."""
    path = Path(path)
    if not os.path.lexists(path):
        raise DataError(f"{path}: results file not found")
    # a results file is ours: a symbolic link in its place is refused, never followed
    value = parse_json(path, read_regular_file(path, MAX_RESULTS_MB << 20, DataError,
                                               too_large=f"larger than the {MAX_RESULTS_MB} MB cap on results files"))
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list):
        raise DataError(f"{path}: expected an object with a 'rows' list")
    rows = [ResultRow.from_dict(r, str(path)) for r in value.pop("rows")]
    try:
        rows = rows_by_id(rows)
    except ValueError as exc:  # a duplicate id
        raise DataError(f"{path}: {exc}") from None
    return rows, value
