import json

import numpy as np
import pytest

from posepred.commands import score_checkpoints
from posepred.config import Config
from posepred.cv import cross_validate, out_of_fold_predictions, write_cv_results
from posepred.metrics import summary
from posepred.train import Trainer


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


def test_rows_and_labels(cv_run):
    rows = cv_run[0].rows
    assert "DeRPoF best-of-3 (oracle)" in rows and "damped-velocity (0.8)" in rows
    assert any("TEST split (not comparable)" in name for name in rows)
    assert rows["DeRPoF best-of-3 (oracle)"]["vim_mean"] <= rows["DeRPoF (z = mean)"]["vim_mean"] + 5


def test_result_files(cv_run, valid, tmp_path):
    paths = write_cv_results(cv_run[0], tmp_path)
    oof = np.asarray(json.loads(paths[0].read_text()))
    assert oof.shape == (36, 2, 14, 39)
    assert summary(oof.reshape(36, 2, 14, 13, 3), valid.future)["vim_900"] == pytest.approx(
        cv_run[0].rows["DeRPoF (z = mean)"]["vim_900"])
    assert "oracle" in paths[1].read_text() and json.loads(paths[2].read_text())["rows"]


def test_model_trained_on_all_valid_is_scored_out_of_fold(cv_run, valid):
    _, root = cv_run
    windows = np.zeros((4, 30, 13, 3)) + np.random.default_rng(0).normal(size=(4, 1, 13, 3))
    full = Trainer(Config(n_epochs=1, train_split="valid", checkpoint_dir=str(root)), windows, progress=False)
    full.fit()
    predictions, label, loss = score_checkpoints(root, valid)
    assert "out of fold" in label and loss > 0
    np.testing.assert_allclose(predictions, cv_run[0].predictions, atol=1e-5)


def test_results_figure(tmp_path, cv_run):
    from posepred.evaluate import write_poses_json
    from posepred.report import vim_figure

    oof = write_poses_json(tmp_path / "oof.json", cv_run[0].predictions)
    figure = vim_figure(oof, tmp_path / "vim.png")
    assert figure.stat().st_size > 10_000
