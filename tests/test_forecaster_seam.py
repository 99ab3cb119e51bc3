"""Any forecaster, one protocol: a model written outside the package gets the cross-validated
table, bone drift, best-of-K rows and the figure, labelled with its own name, in one call."""

import numpy as np
import pytest
import torch

from posepred.cv import cross_validate_forecaster


class LeastSquaresVelocity:  # ---- a researcher's own forecaster: 25 lines, nothing from posepred ----
    """Future frame k = last pose + scale[k] * last velocity, scale fitted by least squares; samples
    add Gaussian noise to the scales."""

    def __init__(self, windows, noise=0.3):
        windows = torch.as_tensor(np.asarray(windows), dtype=torch.float64)  # (W, 30, 13, 3)
        velocity = (windows[:, 15] - windows[:, 14]).unsqueeze(1)  # (W, 1, 13, 3)
        offset = windows[:, 16:] - windows[:, 15:16]  # (W, 14, 13, 3)
        self.scale = (offset * velocity).sum((0, 2, 3)) / (velocity ** 2).sum((0, 2, 3)).clamp(min=1e-12)
        self.noise = noise

    def predict(self, observed, partner=None, n_samples=None):
        velocity = (observed[:, -1] - observed[:, -2]).unsqueeze(1)
        if n_samples is None:
            return observed[:, -1:] + self.scale.view(1, -1, 1, 1).to(observed) * velocity
        scales = self.scale.to(observed) * (1 + self.noise * torch.randn(n_samples, 1, len(self.scale)).to(observed))
        return observed[:, -1:] + scales.view(n_samples, 1, -1, 1, 1) * velocity


def test_one_call_gives_the_table_drift_best_of_k_and_the_figure(valid):
    result = cross_validate_forecaster("least_squares", LeastSquaresVelocity, valid, n_samples=5,
                                       label="least-squares velocity", progress=False)
    rows = result.rows
    assert rows["least_squares"].label == "least-squares velocity"
    assert rows["least_squares_best_of_5"].label.startswith("least-squares velocity best-of-5 (oracle")
    assert rows["least_squares_best_of_5"].metrics["vim_mean"] <= rows["least_squares_best_of_1"].metrics["vim_mean"]
    assert "bone_drift_max" in rows["least_squares"].metrics and "vim_900" in rows["damped_velocity"].metrics
    # out of fold and honest: close to the damped-velocity baseline it generalises, never the truth
    assert 0.8 < rows["least_squares"].metrics["vim_mean"] / rows["damped_velocity"].metrics["vim_mean"] < 1.2
    table = result.table()
    assert "least-squares velocity" in table and "bone drift" in table and "damped velocity 0.8" in table
    figure = result.figure()
    assert "least-squares velocity" in [t.get_text() for t in figure.axes[0].get_legend().get_texts()]


def test_a_forecaster_that_cannot_sample_gets_no_best_of_rows(valid):
    from posepred.baselines import Extrapolation

    result = cross_validate_forecaster("zero", lambda windows: Extrapolation(0.0), valid, progress=False)
    assert not any("best_of" in k for k in result.rows)
    assert result.rows["zero"].metrics["vim_900"] == pytest.approx(result.rows["zero_velocity"].metrics["vim_900"])


@pytest.mark.parametrize("family", ["derpof", "shipped derpof", "simlpe", "coupled"])
def test_every_learned_family_is_translation_equivariant(family):
    from posepred.additions import DeRPoFPlus
    from posepred.coupled import CoupledLSTM
    from posepred.simlpe import SiMLPe

    torch.manual_seed(0)
    model = {"derpof": DeRPoFPlus, "simlpe": SiMLPe, "coupled": CoupledLSTM,
             "shipped derpof": lambda: DeRPoFPlus(residual_damping=0.8, skeleton=True, vae="conditional")}[family]()
    model = model.double().eval()
    if family == "simlpe":
        torch.nn.init.normal_(model.spatial_out.weight, std=0.1)  # as if trained: its output layer starts at zero
    observed = torch.randn(5, 16, 13, 3, dtype=torch.float64)
    shift = torch.tensor([3.0, -1.0, 250.0], dtype=torch.float64)
    torch.testing.assert_close(model.predict(observed + shift), model.predict(observed) + shift)
