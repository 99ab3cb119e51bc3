"""Fuzzed inputs, corrupted files, interrupted saves and runs, extreme motions."""

import json
import os
import shutil

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posepred import checkpoint
from posepred.cli import main
from posepred.config import Config
from posepred.data import DataError, load_split
from posepred.evaluate import predict
from posepred.trainer import Trainer

from .conftest import DATA

# derandomize: CI sees the same examples every run; raise max_examples locally to search wider
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    target = tmp_path_factory.mktemp("fuzz")
    for name in ("3dpw_valid_in.json", "3dpw_valid_out.json", "3dpw_valid_frames_in.json"):
        shutil.copy(DATA / name, target)
    return target


def _restore(directory, name):
    shutil.copy(DATA / name, directory / name)


def _only_data_errors(directory):
    try:
        load_split("valid", directory)
    except DataError as exc:
        assert "3dpw_valid" in str(exc) or str(directory) in str(exc)


@FUZZ
@given(value=json_values, name=st.sampled_from(["3dpw_valid_in.json", "3dpw_valid_out.json",
                                                "3dpw_valid_frames_in.json"]))
def test_any_json_value_raises_only_data_error(fuzz_dir, value, name):
    (fuzz_dir / name).write_text(json.dumps(value))
    try:
        _only_data_errors(fuzz_dir)
    finally:
        _restore(fuzz_dir, name)


@FUZZ
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=5), fill=st.sampled_from([0.0, float("nan"), 1e308]))
def test_any_shape_raises_only_data_error(fuzz_dir, shape, fill):
    (fuzz_dir / "3dpw_valid_in.json").write_text(json.dumps(np.full(shape, fill).tolist()))
    try:
        _only_data_errors(fuzz_dir)
    finally:
        _restore(fuzz_dir, "3dpw_valid_in.json")


@FUZZ
@given(garbage=st.binary(max_size=300), cut=st.floats(0, 1, exclude_max=True))
def test_binary_garbage_and_truncation(fuzz_dir, garbage, cut):
    original = (DATA / "3dpw_valid_out.json").read_bytes()
    for content in (garbage, original[: int(cut * len(original))]):
        (fuzz_dir / "3dpw_valid_out.json").write_bytes(content)
        try:
            with pytest.raises(DataError, match="3dpw_valid_out.json"):
                load_split("valid", fuzz_dir)
        finally:
            _restore(fuzz_dir, "3dpw_valid_out.json")


def test_deeply_nested_json(fuzz_dir):
    (fuzz_dir / "3dpw_valid_in.json").write_text("[" * 100000 + "]" * 100000)
    try:
        with pytest.raises(DataError, match="3dpw_valid_in.json"):
            load_split("valid", fuzz_dir)
    finally:
        _restore(fuzz_dir, "3dpw_valid_in.json")


def test_permission_denied(fuzz_dir, monkeypatch):
    real_open = os.open

    def guarded(path, *args, **kwargs):
        if str(path).endswith("3dpw_valid_in.json"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)
    with pytest.raises(DataError, match="3dpw_valid_in.json: permission denied"):
        load_split("valid", fuzz_dir)


def test_file_that_is_a_directory(tmp_path):
    (tmp_path / "3dpw_valid_in.json").mkdir()
    with pytest.raises(DataError, match="not a regular file"):
        load_split("valid", tmp_path)


@FUZZ
@given(value=json_values)
def test_cli_on_fuzzed_file_prints_one_line_and_exits_2(fuzz_dir, value, capsys):
    (fuzz_dir / "3dpw_valid_in.json").write_text(json.dumps(value))
    try:
        code = main(["evaluate", "--data", str(fuzz_dir)])
    finally:
        _restore(fuzz_dir, "3dpw_valid_in.json")
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@FUZZ
@given(option=st.sampled_from(["--n_epochs", "--lr", "--loader_shuffle", "--hidden_dim", "--batch_size",
                               "--dev", "--window_stride", "--dropout", "--residual_damping"]),
       value=st.text(max_size=8) | st.sampled_from(["inf", "nan", "-1", "0", "1e9", "1000000000", "cuda:x"]))
def test_cli_option_values_never_crash(option, value, capsys, fuzz_dir, tmp_path_factory):
    # fuzz_dir holds valid only: a valid value stops at the missing train poses, whatever the repository holds
    checkpoints = tmp_path_factory.mktemp("never_written")
    try:
        code = main(["train", option, value, "--data", str(fuzz_dir), "--checkpoint-dir", str(checkpoints)])
    except SystemExit as exc:  # argparse rejects the value itself
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"option {option}" in err or f"argument {option}" in err or "3dpw_train_in.json" in err
    assert not any(checkpoints.iterdir())


# -- checkpoints ------------------------------------------------------------------------------
def test_ctrl_c_mid_epoch_saves_resumable_state(valid, tmp_path):
    windows = np.asarray(load_windows(valid))
    base = Config(n_epochs=4, batch_size=8, seed=5, dev="cpu")
    straight = Trainer(base.replace(checkpoint_dir=str(tmp_path / "a")), windows, progress=False)
    straight.fit()
    interrupted = Trainer(base.replace(checkpoint_dir=str(tmp_path / "b")), windows, progress=False)
    steps = {"n": 0}
    real_step = interrupted.optimizer.step

    def step_then_interrupt(*args, **kwargs):
        steps["n"] += 1
        if steps["n"] == 25:  # in the middle of epoch 3
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    interrupted.optimizer.step = step_then_interrupt
    with pytest.raises(KeyboardInterrupt):  # never swallowed
        interrupted.fit()
    assert len(interrupted.history) == 2
    resumed = Trainer(base.replace(checkpoint_dir=str(tmp_path / "b"), load_checkpoint=True), windows, progress=False)
    assert resumed.epoch == 2
    resumed.fit()
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)


def load_windows(valid):
    from posepred.windows import split_windows
    return split_windows(valid, include=["courtyard_hug_00"], stride=3)


# -- predictions --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["still", "far", "fast"])
def test_extreme_but_valid_inputs(valid, case):
    model = checkpoint.load("checkpoints/derpof/folds/courtyard_hug_00").model
    observed = np.repeat(valid.observed[:2, :, -1:], 16, axis=2)  # standing still
    if case == "far":
        observed = observed + np.array([1000.0, 0.0, -1000.0])
    if case == "fast":
        observed = observed + (np.arange(16) * 10.0 / 15).reshape(1, 1, 16, 1, 1) * np.array([1.0, 0, 0])
    predictions = predict(model, observed)
    assert predictions.shape == (2, 2, 14, 13, 3) and np.isfinite(predictions).all()
    if case == "still":
        assert np.abs(predictions - observed[:, :, -1:]).max() < 0.5  # stays near where it stands
    if case == "far":
        near = predict(model, observed - np.array([1000.0, 0.0, -1000.0]))
        np.testing.assert_allclose(predictions - np.array([1000.0, 0.0, -1000.0]), near, atol=1e-3)


def test_test_command_never_leaves_a_half_written_submission(tmp_path, monkeypatch, capsys):
    out = tmp_path / "predictions.json"
    out.write_text("previous submission")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    assert main(["test", "--checkpoint-dir", "checkpoints/derpof/folds/courtyard_hug_00", "--out", str(out)]) == 2
    assert out.read_text() == "previous submission" and [p.name for p in tmp_path.iterdir()] == [out.name]
