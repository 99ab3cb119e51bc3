import numpy as np
import pytest
import torch

from posepred.baselines import constant_velocity, damped_velocity, fit_damping_factor, zero_velocity
from posepred.metrics import (
    apd,
    bone_drift,
    mpjpe,
    rms_joint_error,
    samples_better_than,
    summary,
    vim_at_horizons,
    vim_per_frame,
    vim_per_sample,
)
from posepred.tables import DRIFT_COLUMNS, VIM_COLUMNS, format_table

REFERENCE = {  # VIM cm on valid (README, Command line and Results) at 100/240/500/640/900 ms
    "zero": (zero_velocity, [20.90, 40.75, 71.26, 81.84, 97.16]),
    "constant": (constant_velocity, [9.88, 27.69, 72.00, 94.69, 140.78]),
    "damped": (damped_velocity, [10.17, 26.36, 58.28, 70.38, 89.52]),
}


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_table(valid, name):
    predictor, expected = REFERENCE[name]
    got = vim_at_horizons(predictor(torch.as_tensor(valid.observed)), valid.future)
    assert list(got) == [100, 240, 500, 640, 900]
    np.testing.assert_allclose(list(got.values()), expected, atol=0.005 + 1e-9)


def test_vim_definition_by_hand():
    target = np.zeros((1, 2, 14, 13, 3))
    prediction = target.copy()
    prediction[0, 0, :, 0, 0] = 0.03  # one joint off by 3 cm for person 0
    prediction[0, 1, :, :, 1] = 0.01  # every joint off by 1 cm for person 1
    per_frame = vim_per_frame(prediction, target)
    np.testing.assert_allclose(per_frame, (3 + np.sqrt(13)) / 2)
    rms = rms_joint_error(prediction, target)
    np.testing.assert_allclose(rms[0], 0.03 / np.sqrt(13))
    np.testing.assert_allclose(mpjpe(prediction, target)[1], 0.01)
    assert summary(target, target)["vim_900"] == 0


def test_mpjpe_never_exceeds_rms(valid):
    scores = summary(zero_velocity(torch.as_tensor(valid.observed)), valid.future)
    assert scores["ade_mpjpe"] <= scores["ade_rms"] and scores["fde_mpjpe"] <= scores["fde_rms"]
    assert scores["fde_rms"] > scores["ade_rms"]


def test_metric_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        vim_per_frame(np.zeros((2, 14, 13, 3)), np.zeros((2, 13, 13, 3)))


def test_table_labels_units():
    text = format_table({"x": {"vim_100": 1.0}})
    assert "VIM in cm" in text and "rms" in text and "-" in text
    assert format_table({"x": {"vim_100": 1.0}}, markdown=True).startswith("| predictor |")


def test_vim_per_sample_averages_to_the_summary_and_counts_wins(valid):
    damped, still = damped_velocity(torch.as_tensor(valid.observed)), zero_velocity(torch.as_tensor(valid.observed))
    per_sample = vim_per_sample(damped, valid.future)
    assert per_sample.shape == (len(valid),)
    assert per_sample.mean() == pytest.approx(summary(damped, valid.future)["vim_mean"], rel=1e-12)
    wins = int((per_sample < vim_per_sample(still, valid.future)).sum())
    assert samples_better_than(damped, still, valid.future) == wins and 0 < wins < len(valid)


def test_text_table_fits_a_notebook_and_keeps_every_word():
    long = "DeRPoF published, TEST split (Parsaeifard et al. 2021; not comparable)"
    rows = {long: {"vim_100": 19.53, "vim_mean": 123.45}, "damped velocity 0.8": {"vim_100": 10.17}}
    lines = format_table(rows, columns=VIM_COLUMNS).splitlines()
    header, first, second, damped = lines[:4]
    assert max(len(line) for line in lines[:-1]) <= 100  # 1000 px of JupyterLab hold about 110 characters
    assert first.split()[-6:] == ["19.53", "-", "-", "-", "-", "123.45"]  # the numbers on the label's first line
    assert second.startswith("  ") and " ".join(first.split()[:-6] + second.split()) == long
    assert damped.split()[-6:] == ["10.17", "-", "-", "-", "-", "-"]
    assert header.index("mean14") + len("mean14") == len(first) == len(damped)  # right-aligned under the header


def test_baseline_shapes_and_definitions():
    observed = torch.randn(5, 2, 16, 13, 3, dtype=torch.float64)
    for predictor in (zero_velocity, constant_velocity, damped_velocity):
        assert predictor(observed).shape == (5, 2, 14, 13, 3)
    torch.testing.assert_close(zero_velocity(observed)[..., 7, :, :], observed[..., -1, :, :])
    step = observed[..., -1, :, :] - observed[..., -2, :, :]
    torch.testing.assert_close(constant_velocity(observed)[..., 2, :, :], observed[..., -1, :, :] + 3 * step)
    torch.testing.assert_close(damped_velocity(observed, 0.5)[..., 1, :, :], observed[..., -1, :, :] + 0.75 * step)


def test_damping_factor_is_fitted_on_given_windows():
    t = torch.arange(30, dtype=torch.float64).view(1, 30, 1, 1)
    moving = torch.randn(3, 1, 13, 3, dtype=torch.float64) + 0.05 * t  # constant velocity
    assert fit_damping_factor(moving.numpy()) == 1.0
    still = torch.randn(3, 1, 13, 3, dtype=torch.float64).expand(3, 30, 13, 3).clone()
    still[:, 15] += 0.1  # one jitter just before the cut: best not to extrapolate it
    assert fit_damping_factor(still.numpy()) == 0.0
    with pytest.raises(ValueError):
        fit_damping_factor(np.zeros((0, 30, 13, 3)))


def test_bone_drift_by_hand():
    last = np.zeros((1, 2, 13, 3))
    last[..., :, 0] = np.arange(13) * 0.1  # every joint on the x axis, 0.1 m apart
    future = np.repeat(last[:, :, None], 14, axis=2)
    same = bone_drift(future, last)
    assert same == {"bone_drift_mean": 0.0, "bone_drift_max": 0.0, "bone_drift_over_10": 0.0,
                    "edge_drift_over_10": 0.0}
    stretched = future.copy()
    stretched[0, 0, 3, 4, 0] += 0.04  # left ankle of person 0, frame 3: shin (2, 4) from 0.2 to 0.24 m
    drift = bone_drift(stretched, last)
    assert drift["bone_drift_max"] == pytest.approx(20.0)
    assert drift["bone_drift_mean"] == pytest.approx(20.0 / (2 * 14 * 9))
    assert drift["bone_drift_over_10"] == pytest.approx(100 / 28) == drift["edge_drift_over_10"]
    torso = future.copy()
    torso[0, 1, 0, 6, 0] += 0.2  # head moves: only non-rigid edges (6, 7), (6, 8) change
    drift = bone_drift(torso, last)
    assert drift["bone_drift_max"] == 0.0 and drift["edge_drift_over_10"] == pytest.approx(100 / 28)
    with pytest.raises(ValueError, match="last_observed"):
        bone_drift(future, last[0])


def test_ground_truth_rigid_bones_do_not_drift(valid):
    drift = bone_drift(valid.future, valid.observed[:, :, -1])
    assert drift["bone_drift_max"] < 1e-6 and drift["edge_drift_over_10"] > 0  # torso edges vary
    assert "bone drift" in format_table({"x": drift}, columns=DRIFT_COLUMNS)


def test_apd_by_hand():
    samples = np.zeros((3, 1, 2, 14, 13, 3))
    samples[1] += 0.01
    samples[2] += 0.02  # pairwise distances 1, 2, 1 (x sqrt(39)) cm
    assert apd(samples) == pytest.approx(4 / 3 * np.sqrt(39))
    samples[:, 0, 1] = 0  # person 1 has identical samples: the mean over persons halves
    assert apd(samples) == pytest.approx(2 / 3 * np.sqrt(39))
    with pytest.raises(ValueError, match="at least 2 samples"):
        apd(samples[:1])
