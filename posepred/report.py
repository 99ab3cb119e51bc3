"""The README's results figure, rebuilt from committed predictions: ``python -m posepred.report``."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from .baselines import constant_velocity, damped_velocity, zero_velocity  # noqa: E402
from .data import load_split  # noqa: E402
from .metrics import vim_per_frame  # noqa: E402
from .viz import plot_vim_curves  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def vim_figure(oof_path: Path = ROOT / "results" / "valid_oof_predictions.json",
               out: Path = ROOT / "results" / "vim_vs_horizon.png") -> Path:
    """Plot VIM per future frame of the out-of-fold DeRPoF predictions and the three baselines."""
    valid = load_split("valid")
    oof = np.asarray(json.loads(oof_path.read_text())).reshape(valid.future.shape)
    observed = torch.as_tensor(valid.observed)
    curves = {"DeRPoF (out of fold)": vim_per_frame(oof, valid.future),
              "damped velocity 0.8": vim_per_frame(damped_velocity(observed, 0.8), valid.future),
              "constant velocity": vim_per_frame(constant_velocity(observed), valid.future),
              "zero velocity": vim_per_frame(zero_velocity(observed), valid.future)}
    figure = plot_vim_curves(curves, "SoMoF 3DPW valid, cross-validated by sequence")
    figure.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(f"wrote {vim_figure()}")
