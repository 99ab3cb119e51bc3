"""Extrapolation baselines: ``observed (..., 16, 13, 3) -> predicted (..., 14, 13, 3)``."""

from __future__ import annotations

import numpy as np
import torch

from .data import N_FUTURE, N_OBSERVED
from .metrics import vim_per_frame

DEFAULT_DAMPING = 0.8


def damped_displacement(observed: torch.Tensor, factor: float, n_future: int = N_FUTURE) -> torch.Tensor:
    """How far damped motion carries the last pose: ``(..., T, 13, 3) -> (..., n_future, 13, 3)``,
    frame k (1-based) displaced by ``(factor + ... + factor**k) * v`` for the last velocity ``v``."""
    velocity = observed[..., -1, :, :] - observed[..., -2, :, :]
    powers = factor ** torch.arange(1, n_future + 1, dtype=observed.dtype, device=observed.device)
    return torch.cumsum(powers, dim=0).view(-1, 1, 1) * velocity.unsqueeze(-3)


def damped_velocity(observed: torch.Tensor, factor: float = DEFAULT_DAMPING,
                    n_future: int = N_FUTURE) -> torch.Tensor:
    """Keep moving with the last velocity ``v``, damped: future step k (1-based) is ``factor**k * v``."""
    observed = torch.as_tensor(observed)
    return observed[..., -1, :, :].unsqueeze(-3) + damped_displacement(observed, factor, n_future)


def zero_velocity(observed: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
    """Repeat the last observed pose."""
    return damped_velocity(observed, 0.0, n_future)


def constant_velocity(observed: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
    """Keep moving with the last observed frame-to-frame velocity."""
    return damped_velocity(observed, 1.0, n_future)


def fit_damping_factor(windows, grid=None) -> float:
    """The damping factor with the lowest mean VIM on training ``windows (W, 30, 13, 3)``.

    Chosen on training windows only, never on the samples being scored.
    """
    windows = torch.as_tensor(np.asarray(windows), dtype=torch.float64)
    if len(windows) == 0:
        raise ValueError("fit_damping_factor needs at least one training window")
    observed, future = windows[:, :N_OBSERVED], windows[:, N_OBSERVED:N_OBSERVED + N_FUTURE]
    grid = np.round(np.arange(0.0, 1.0001, 0.02), 2) if grid is None else grid
    scores = [vim_per_frame(damped_velocity(observed, float(f)), future).mean() for f in grid]
    return float(grid[int(np.argmin(scores))])


class Extrapolation:
    """A baseline as a forecaster (:mod:`posepred.forecasters`): the last velocity, damped by ``factor``
    per future frame (0: repeat the last pose, 1: constant velocity)."""

    def __init__(self, factor: float = DEFAULT_DAMPING, n_future: int = N_FUTURE):
        self.factor, self.n_future = factor, n_future

    def predict(self, observed, partner=None, n_samples=None) -> torch.Tensor:
        """``(B, T, 13, 3)`` -> ``(B, n_future, 13, 3)``; it does not sample."""
        if n_samples is not None:
            raise ValueError("an extrapolation baseline does not sample")
        return damped_velocity(observed, self.factor, self.n_future)


PREDICTORS = {  # the baselines by id
    "zero_velocity": zero_velocity,
    "constant_velocity": constant_velocity,
    "damped_velocity": damped_velocity,
}
