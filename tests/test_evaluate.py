"""posepred.evaluate: the rule for what may be called validation, rows keyed by id."""

import dataclasses

import numpy as np
import pytest

from posepred.config import Config
from posepred.errors import DataError
from posepred.evaluate import (
    baseline_predictions,
    baseline_rows,
    held_out_sequences,
    row,
    scoring_for,
)
from posepred.results import ResultRow, label_of, load_results, save_results


def test_the_rule_needs_the_config_alone(tmp_path, valid):
    held = scoring_for(tmp_path / "a", Config(train_split="train"), valid)
    assert held.kind == "held_out" and held.is_validation and "never trained on valid" in held.label
    trained = Config(train_split="valid", exclude_sequences=["courtyard_hug_00"])
    seen = scoring_for(tmp_path / "b", trained, valid)
    assert seen.kind == "seen" and not seen.is_validation and "courtyard_hug_00" not in seen.seen
    (tmp_path / "b" / "folds").mkdir(parents=True)
    assert scoring_for(tmp_path / "b", trained, valid).kind == "out_of_fold"


def test_held_out_sequences(valid):
    assert held_out_sequences(Config(train_split="train"), valid) is None  # all of valid validates
    assert held_out_sequences(Config(train_split="valid", train_sequences=["courtyard_hug_00"]), valid) == sorted(
        set(valid.sequence_names) - {"courtyard_hug_00"})
    assert held_out_sequences(Config(train_split="valid"), valid) == []  # everything was trained on
    assert held_out_sequences(Config(valid_sequences=["x"]), valid) == ["x"]


def test_rows_by_id_with_labels(valid, tmp_path):
    rows = baseline_rows(valid)
    assert [r.id for r in rows] == ["damped_velocity", "constant_velocity", "zero_velocity"]
    assert rows[0].label == "damped velocity 0.8" and label_of("derpof_best_of_5").startswith("DeRPoF best-of-5")
    np.testing.assert_array_equal(baseline_predictions("damped-velocity", valid.observed),
                                  baseline_predictions("damped_velocity", valid.observed))
    save_results(tmp_path / "r.json", rows, split="valid")
    loaded, extra = load_results(tmp_path / "r.json")
    assert loaded["zero_velocity"] == rows[2] and extra == {"split": "valid"}
    with pytest.raises(DataError, match="results file not found"):
        load_results(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"rows": [{"label": "no id"}]}')
    with pytest.raises(DataError, match="'id' and 'metrics'"):
        load_results(tmp_path / "bad.json")


def test_a_row_needs_ground_truth_and_finite_numbers(valid):
    test_like = dataclasses.replace(valid, future=None)  # like the test split
    with pytest.raises(DataError, match="no ground truth"):
        row("derpof", valid.future, test_like)
    broken = valid.future.copy()
    broken[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="not finite"):
        row("derpof", broken, valid)
    assert isinstance(row("zero_velocity", baseline_predictions("zero_velocity", valid.observed), valid), ResultRow)
