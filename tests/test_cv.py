import json

import numpy as np
import pytest

from posepred.config import Config
from posepred.cv import SOMOF_VALID, cross_validate, write_cv_results
from posepred.data import Scenes, load_split
from posepred.errors import OptionError
from posepred.evaluate import (
    out_of_fold,
    out_of_fold_predictions,
    predict_checkpoint,
    scoring_for,
)
from posepred.metrics import summary
from posepred.results import load_results
from posepred.trainer import Trainer

from .conftest import DATA


@pytest.fixture(scope="module")
def cv_run(valid, tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    config = Config(n_epochs=1, window_stride=10, batch_size=30, dev="cpu")
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


def test_the_result_set_is_one_file_with_its_view(cv_run, valid, tmp_path):
    paths = write_cv_results(cv_run[0], valid, tmp_path, command="posepred cv --n_epochs 1")
    assert [p.name for p in paths] == ["valid_cv.json", "valid_cv.md"]
    rows, extra = load_results(paths[0])
    assert rows["derpof"].metrics["vim_900"] == pytest.approx(summary(cv_run[0].predictions, valid.future)["vim_900"])
    assert extra["command"] == "posepred cv --n_epochs 1" and extra["diversity"]["k"] == 3
    assert extra["data"]["fingerprint"] == valid.fingerprint() == SOMOF_VALID and extra["data"]["samples"] == 36
    assert len(extra["vim_per_frame"]["derpof"]) == 14 and extra["diversity"]["apd_cm"] > 0
    assert extra["latent"] is None or extra["latent"]["threshold_nats"] == 0.01
    assert "NaN" not in paths[0].read_text() and "Infinity" not in paths[0].read_text()
    markdown = paths[1].read_text()
    assert "oracle" in markdown and "bone drift" in markdown and "posepred cv --n_epochs 1" in markdown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid_cv.json", "valid_cv.md"]


def test_results_of_other_data_are_never_replaced_silently(cv_run, valid, tmp_path):
    write_cv_results(cv_run[0], valid, tmp_path)
    before = (tmp_path / "valid_cv.json").read_bytes()
    other = Scenes.from_arrays("valid", valid.observed + 1.0, valid.future + 1.0, valid.sequences)
    with pytest.raises(OptionError, match="holds results of other data.*--results DIR.*--overwrite"):
        write_cv_results(cv_run[0], other, tmp_path)
    assert (tmp_path / "valid_cv.json").read_bytes() == before
    write_cv_results(cv_run[0], other, tmp_path, overwrite=True)
    assert load_results(tmp_path / "valid_cv.json")[1]["data"]["fingerprint"] == other.fingerprint()


def test_another_split_name_never_touches_the_shipped_results(tmp_path, monkeypatch, capsys):
    """The reported bug: `cv --valid_split mydata` replaced results/valid_*, recorded split "valid" and
    added the published SoMoF row. Now its results go to results/mydata/ and say where they came from."""
    import shutil

    from posepred import paths
    from posepred.cli import main

    data, results = tmp_path / "data", tmp_path / "results"
    data.mkdir()
    for part in ("in", "out", "frames_in"):
        shutil.copy(DATA / f"3dpw_valid_{part}.json", data / f"3dpw_mydata_{part}.json")
    shutil.copytree(paths.REPO_ROOT / "results", results)
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    monkeypatch.setattr(paths, "results_dir", lambda: results)
    folds = str(paths.REPO_ROOT / "checkpoints" / "derpof" / "folds")
    assert main(["cv", "--data", str(data), "--valid_split", "mydata", "--folds", folds, "--samples", "0"]) == 0
    assert {p: p.read_bytes() for p in before} == before  # every shipped results file unchanged
    rows, extra = load_results(results / "mydata" / "mydata_cv.json")
    assert extra["split"] == "mydata" and "derpof_published_test" not in rows  # same poses, another name
    assert f"wrote {results / 'mydata' / 'mydata_cv.json'}" in capsys.readouterr().out.replace("\n", " ")
    # the same scenes as plain arrays in an .npz
    np.savez(tmp_path / "mine.npz", observed=np.asarray(json.loads((data / "3dpw_mydata_in.json").read_text()))
             .reshape(36, 2, 16, 13, 3), future=np.asarray(json.loads((data / "3dpw_mydata_out.json").read_text()))
             .reshape(36, 2, 14, 13, 3), sequences=np.array(load_split("mydata", data).sequences))
    assert main(["cv", "--data", str(tmp_path / "mine.npz"), "--folds", folds, "--samples", "0"]) == 0
    npz_rows, _ = load_results(results / "mine" / "mine_cv.json")
    assert npz_rows["derpof"].metrics["vim_mean"] == pytest.approx(rows["derpof"].metrics["vim_mean"], rel=1e-9)
    assert {p: p.read_bytes() for p in before} == before


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


def test_results_figure(tmp_path, cv_run, valid):
    from posepred.report import vim_figure

    paths = write_cv_results(cv_run[0], valid, tmp_path)
    figure = vim_figure(paths[0], tmp_path / "vim.png")
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


def test_cv_folds_refuses_training_options(cv_run, tmp_path, capsys):
    from posepred.cli import main

    _, root = cv_run
    assert main(["cv", "--folds", str(root / "folds"), "--hidden_dim", "99", "--n_epochs", "3", "--seed", "1",
                 "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "drop --hidden_dim --n_epochs" in err and "--seed" not in err and not list(tmp_path.iterdir())


def test_a_result_is_replaced_only_by_the_same_command_or_with_overwrite(cv_run, valid, tmp_path):
    write_cv_results(cv_run[0], valid, tmp_path, command="posepred cv --folds shipped")
    before = (tmp_path / "valid_cv.json").read_bytes()
    with pytest.raises(OptionError, match="results of another run .*posepred cv --folds shipped.*--overwrite"):
        write_cv_results(cv_run[0], valid, tmp_path, command="posepred cv --n_epochs 1")
    assert (tmp_path / "valid_cv.json").read_bytes() == before
    write_cv_results(cv_run[0], valid, tmp_path, command="posepred cv --folds shipped --overwrite")  # the same run


def test_own_data_with_bad_frame_numbers_or_a_bomb_is_one_error(valid, tmp_path, monkeypatch):
    from posepred.errors import DataError

    with pytest.raises(DataError, match="frame_numbers shaped \\[3, 3\\]"):
        Scenes.from_arrays("mine", valid.observed, valid.future, valid.sequences, np.zeros((3, 3)))
    np.savez_compressed(tmp_path / "bomb.npz", observed=np.zeros((40000, 2, 16, 13, 3)),
                        sequences=np.array(["a"] * 40000))
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", "1")
    with pytest.raises(DataError, match="unpacks to .* more than the 1 MB cap"):
        Scenes.load_npz(tmp_path / "bomb.npz")


def test_a_fold_model_is_refused_on_poses_it_trained_on_whatever_their_name(cv_run, valid):
    from posepred.errors import CheckpointError

    _, root = cv_run
    swap = {"courtyard_hug_00": "courtyard_dancing_00", "courtyard_dancing_00": "courtyard_hug_00"}
    renamed = Scenes.from_arrays("other", valid.observed, valid.future, [swap.get(s, s) for s in valid.sequences],
                                 valid.frame_numbers)
    with pytest.raises(CheckpointError, match="was trained on courtyard_.*'s poses"):
        out_of_fold(renamed, root / "folds")
