"""train -> valid -> test through the command line, with synthesised train files."""

import json

import numpy as np
import pytest

from posepred.cli import main

from .conftest import synthetic_split


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    import shutil

    from .conftest import DATA
    for path in DATA.glob("3dpw_*.json"):
        if "train" not in path.name:
            shutil.copy(path, data)
    synthetic_split(data, "train", n_samples=6)
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    code = main(["train", "--data", str(data), "--checkpoint-dir", str(checkpoints), "--n_epochs", "2",
                 "--batch_size", "16", "--loader_shuffle", "false"])
    assert code == 0
    return data, checkpoints


def test_train_standard_protocol_writes_checkpoints(trained, capsys):
    _, checkpoints = trained
    config = json.loads((checkpoints / "config.json").read_text())
    assert config["train_split"] == "train" and config["loader_shuffle"] is False and config["n_epochs"] == 2
    from posepred import checkpoint

    history = checkpoint.load(checkpoints).history
    assert len(history) == 2 and "valid_vim_900" in history[0]  # validated on the valid split


def test_valid_prints_metrics_and_writes_pngs(trained, tmp_path, capsys):
    data, checkpoints = trained
    out = tmp_path / "vis"
    assert main(["valid", "--data", str(data), "--checkpoint-dir", str(checkpoints), "--sample", "3",
                 "--visualizations", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "never trained on valid" in printed and "900ms" in printed and "loss (deterministic z)" in printed
    names = sorted(p.name for p in out.glob("*.png"))
    assert len(names) == 44
    assert "_Input_15.png" in names and "_GroundTruth_13.png" in names and "_Prediction_00.png" in names
    assert main(["valid", "--data", str(data), "--checkpoint-dir", str(checkpoints), "--sample", "99"]) == 2


def test_test_writes_a_valid_submission(trained, tmp_path, capsys):
    data, checkpoints = trained
    out = tmp_path / "sub" / "predictions.json"
    assert main(["test", "--data", str(data), "--checkpoint-dir", str(checkpoints), "--out", str(out)]) == 0
    submission = np.asarray(json.loads(out.read_text()))
    assert submission.shape == (85, 2, 14, 39) and np.isfinite(submission).all()
    assert not list(out.parent.glob("*.tmp"))


def test_model_trained_on_valid_is_labelled(tmp_path, capsys, valid):
    checkpoints = tmp_path / "ck"
    assert main(["train", "--train_split", "valid", "--train_sequences", "courtyard_hug_00",
                 "--checkpoint-dir", str(checkpoints), "--n_epochs", "1", "--window_stride", "10"]) == 0
    assert main(["evaluate", "--predictor", "derpof", "--checkpoint-dir", str(checkpoints)]) == 0
    assert "NOT a validation score" in capsys.readouterr().out
