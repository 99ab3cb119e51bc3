import json

import numpy as np
import pytest

from posepred.config import Config
from posepred.cv import cross_validate, write_cv_results
from posepred.evaluate import (
    out_of_fold,
    out_of_fold_predictions,
    predict_checkpoint,
    scoring_for,
)
from posepred.metrics import summary
from posepred.results import load_results, load_samples
from posepred.trainer import Trainer


@pytest.fixture(scope="module")
def cv_run(valid, tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    config = Config(n_epochs=1, window_stride=10, batch_size=30)
    result = cross_validate(config, valid, n_samples=3, checkpoint_root=root, progress=False)
    return result, root


def test_every_sample_predicted_out_of_fold(cv_run, valid):
    result, root = cv_run
    assert result.predictions.shape == valid.future.shape and np.isfinite(result.predictions).all()
    assert set(result.per_sequence) == set(valid.sequence_names)
    for sequence in valid.sequence_names:
        config = Config.load(root / "folds" / sequence / "config.json")
        assert config.exclude_sequences == [sequence] and config.train_split == "valid"
    np.testing.assert_allclose(out_of_fold_predictions(valid, root / "folds"), result.predictions, atol=1e-5)


def test_samples_reproduce_from_saved_folds(cv_run, valid):
    """The notebooks' path (fold models from disk, seeded sampling) gives cv's samples exactly."""
    result, root = cv_run
    again = out_of_fold(valid, root / "folds", n_samples=3, seed=0)
    assert result.samples.shape == (3, *valid.future.shape)
    np.testing.assert_allclose(again.samples, result.samples, atol=1e-5)


def test_rows_are_keyed_by_id(cv_run):
    rows = cv_run[0].rows
    for row_id in ("derpof", "derpof_best_of_1", "derpof_best_of_3", "damped_velocity", "constant_velocity",
                   "zero_velocity", "damped_velocity_fitted", "ground_truth", "derpof_published_test"):
        assert rows[row_id].id == row_id
    assert "derpof_best_of_5" not in rows and "oracle" in rows["derpof_best_of_3"].label
    assert "not comparable" in rows["derpof_published_test"].label
    assert rows["derpof_best_of_3"].metrics["vim_mean"] <= rows["derpof_best_of_1"].metrics["vim_mean"] + 1e-9
    assert round(rows["damped_velocity"].metrics["vim_900"], 2) == 89.52  # computed, never copied
    assert rows["ground_truth"].metrics["bone_drift_max"] < 1e-6 and "vim_100" not in rows["ground_truth"].metrics
    assert rows["derpof"].metrics["bone_drift_mean"] > 0


def test_result_files(cv_run, valid, tmp_path):
    paths = write_cv_results(cv_run[0], tmp_path, command="posepred cv --n_epochs 1")
    assert [p.name for p in paths] == ["valid_oof_predictions.json", "valid_oof_samples.npz", "valid_cv.json",
                                       "valid_cv.md"]
    oof = np.asarray(json.loads(paths[0].read_text()))
    assert oof.shape == (36, 2, 14, 39)
    rows, extra = load_results(paths[2])
    assert summary(oof.reshape(36, 2, 14, 13, 3), valid.future)["vim_900"] == pytest.approx(
        rows["derpof"].metrics["vim_900"])
    with np.load(paths[1]) as npz:
        samples = npz["samples"]
    assert samples.shape == (3, 36, 2, 14, 39) and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, cv_run[0].samples.reshape(3, 36, 2, 14, 39).astype(np.float32))
    np.testing.assert_array_equal(load_samples(paths[1]), cv_run[0].samples.astype(np.float32))
    assert extra["command"] == "posepred cv --n_epochs 1" and extra["diversity"]["k"] == 3
    assert len(extra["vim_per_frame"]["derpof"]) == 14 and extra["diversity"]["apd_cm"] > 0
    assert extra["latent"] is None or extra["latent"]["threshold_nats"] == 0.01
    assert "NaN" not in paths[2].read_text() and "Infinity" not in paths[2].read_text()
    markdown = paths[3].read_text()
    assert "oracle" in markdown and "bone drift" in markdown and "posepred cv --n_epochs 1" in markdown
    assert not list(tmp_path.glob(".*tmp"))


def test_model_trained_on_all_valid_is_scored_out_of_fold(cv_run, valid):
    _, root = cv_run
    windows = np.zeros((4, 30, 13, 3)) + np.random.default_rng(0).normal(size=(4, 1, 13, 3))
    config = Config(n_epochs=1, train_split="valid", checkpoint_dir=str(root), dev="cpu")
    full = Trainer(config, windows, progress=False)
    full.fit()
    scoring = scoring_for(root, full.config, valid)
    assert scoring.kind == "out_of_fold" and scoring.is_validation and "out of fold" in scoring.label
    scored = predict_checkpoint(root, valid)
    assert scored.loss > 0
    np.testing.assert_allclose(scored.predictions, cv_run[0].predictions, atol=1e-5)


def test_seen_without_folds_is_not_validation(tmp_path, valid):
    directory = tmp_path / "full"
    windows = np.zeros((4, 30, 13, 3)) + np.random.default_rng(0).normal(size=(4, 1, 13, 3))
    config = Config(n_epochs=1, train_split="valid", checkpoint_dir=str(directory), dev="cpu")
    Trainer(config, windows, progress=False).fit()
    scoring = scoring_for(directory, config, valid)
    assert scoring.kind == "seen" and not scoring.is_validation and "NOT a validation score" in scoring.label


def test_results_figure(tmp_path, cv_run):
    from posepred.report import vim_figure

    paths = write_cv_results(cv_run[0], tmp_path)
    figure = vim_figure(paths[2], tmp_path / "vim.png")
    assert figure.stat().st_size > 10_000


def test_interrupted_cv_writes_nothing(tmp_path, monkeypatch, capsys):
    from posepred import cv
    from posepred.cli import main

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(cv.Trainer, "fit", interrupted)
    results = tmp_path / "results"
    assert main(["cv", "--init", "none", "--n_epochs", "1", "--results", str(results)]) == 130
    assert "interrupted" in capsys.readouterr().err and not results.exists()


def test_cv_scores_saved_folds_without_training(cv_run, tmp_path, capsys):
    from posepred.cli import main

    _, root = cv_run
    assert main(["cv", "--folds", str(root / "folds"), "--samples", "3", "--results", str(tmp_path)]) == 0
    rows, extra = load_results(tmp_path / "valid_cv.json")
    assert rows["derpof"].metrics == pytest.approx(cv_run[0].rows["derpof"].metrics, rel=1e-5)
    assert extra["command"] == f"posepred cv --folds {root / 'folds'} --samples 3 --results {tmp_path}"
    assert main(["cv", "--folds", str(root / "folds"), "--save-folds", str(tmp_path)]) == 2


def test_a_run_without_samples_removes_the_stale_samples_file(cv_run, tmp_path, capsys):
    import dataclasses

    write_cv_results(cv_run[0], tmp_path)
    assert (tmp_path / "valid_oof_samples.npz").is_file()
    capsys.readouterr()
    paths = write_cv_results(dataclasses.replace(cv_run[0], samples=None), tmp_path)
    assert "valid_oof_samples.npz" not in [p.name for p in paths] and not (tmp_path / "valid_oof_samples.npz").exists()
    assert f"removed {tmp_path / 'valid_oof_samples.npz'}" in capsys.readouterr().out


def test_cv_folds_refuses_training_options(cv_run, tmp_path, capsys):
    from posepred.cli import main

    _, root = cv_run
    assert main(["cv", "--folds", str(root / "folds"), "--hidden_dim", "99", "--n_epochs", "3", "--seed", "1",
                 "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "drop --hidden_dim --n_epochs" in err and "--seed" not in err and not list(tmp_path.iterdir())
