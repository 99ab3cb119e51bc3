"""A second model family: a feed-forward forecaster in the style of siMLPe.

Written here from the description in Guo, Du, Mehta, Chen, Wang, Zhou and Yang, "Back to MLP: A Simple
Baseline for Human Motion Prediction", WACV 2023 (https://arxiv.org/abs/2207.01567):

    observed (B, 16, 13, 3) -> minus the last observed hip centre (translation invariance) -> (B, 16, 39)
      -> DCT over time -> FC over the 39 coordinates
      -> n_blocks x [ FC over time (16 -> 16), LayerNorm over the 39 coordinates, + residual ]
      -> FC over the 39 coordinates -> inverse DCT -> the first 14 frames: a correction (B, 14, 13, 3)
    predicted = last observed pose + correction, then posepred.additions.OutputSteps (a residual over
    damped velocity and the skeleton step, both optional, the same as DeRPoF's)

As in the paper, the blocks have no activation (LayerNorm is the only nonlinearity) and start near the
identity, and the output layer starts at zero, so the untrained model repeats the last pose. It reads
one person at a time and does not sample. Loss (the paper's): mean per-joint position error plus the
same on frame-to-frame velocities.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .additions import OutputSteps
from .data import N_FUTURE, N_OBSERVED
from .motion import hip_centre
from .skeleton import N_COORDS, N_JOINTS


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: ``coefficients = D @ signal``, ``signal = D.T @ coefficients``."""
    time = torch.arange(n, dtype=torch.float64)
    matrix = torch.cos(math.pi * (2 * time[None, :] + 1) * time[:, None] / (2 * n)) * math.sqrt(2 / n)
    matrix[0] /= math.sqrt(2)
    return matrix.float()


class TemporalBlock(nn.Module):
    """``x + LayerNorm(FC over time(x))`` on ``(B, T, C)``: the FC mixes the T coefficients of each
    coordinate, the LayerNorm normalises the C coordinates of each coefficient."""

    def __init__(self, n_frames: int, n_channels: int, init_scale: float = 1e-4):
        super().__init__()
        self.temporal_fc = nn.Linear(n_frames, n_frames)
        self.norm = nn.LayerNorm(n_channels)
        nn.init.xavier_uniform_(self.temporal_fc.weight, gain=init_scale)
        nn.init.zeros_(self.temporal_fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.temporal_fc(x.transpose(1, 2)).transpose(1, 2))


class SiMLPe(nn.Module):
    """Observed positions ``(B, 16, 13, 3)`` (metres) -> predicted positions ``(B, 14, 13, 3)``."""

    def __init__(self, n_blocks: int = 48, residual_damping: float | None = None, skeleton: bool = False):
        super().__init__()
        self.register_buffer("dct", dct_matrix(N_OBSERVED), persistent=False)
        self.spatial_in = nn.Linear(N_COORDS, N_COORDS)
        self.blocks = nn.Sequential(*[TemporalBlock(N_OBSERVED, N_COORDS) for _ in range(n_blocks)])
        self.spatial_out = nn.Linear(N_COORDS, N_COORDS)
        nn.init.zeros_(self.spatial_out.weight)  # the untrained model repeats the last pose
        nn.init.zeros_(self.spatial_out.bias)
        self.steps = OutputSteps(residual_damping, skeleton)

    def forward(self, observed: torch.Tensor) -> torch.Tensor:
        x = (observed - hip_centre(observed[:, -1:]).unsqueeze(-2)).flatten(2)  # (B, 16, 39), hip-centred
        h = self.blocks(self.spatial_in(self.dct @ x))  # DCT over time, FC over coordinates, blocks
        correction = (self.dct.T @ self.spatial_out(h))[:, :N_FUTURE].unflatten(-1, (N_JOINTS, 3))
        return self.steps(observed[:, -1:] + correction, observed)

    @torch.no_grad()
    def predict(self, observed, partner=None, n_samples: int | None = None) -> torch.Tensor:
        """The forecaster protocol (:mod:`posepred.forecasters`), in eval mode; it does not sample."""
        if n_samples is not None:
            raise ValueError("siMLPe is deterministic: it does not sample")
        was_training = self.training
        self.eval()
        try:
            return self(observed)
        finally:
            self.train(was_training)


def simlpe_loss(model: SiMLPe, observed: torch.Tensor, future: torch.Tensor, velocity_weight: float = 1.0):
    """The paper's loss on ``observed (B, 16, 13, 3)``, ``future (B, 14, 13, 3)``: mean per-joint
    position error (m) + ``velocity_weight`` x the same on velocities (from the last observed pose on).
    Returns the loss, its named terms and the predicted positions."""
    predicted = model(observed)
    position = (predicted - future).norm(dim=-1).mean()
    last = observed[:, -1:]
    velocity = (torch.diff(torch.cat([last, predicted], 1), dim=1)
                - torch.diff(torch.cat([last, future], 1), dim=1)).norm(dim=-1).mean()
    loss = position + velocity_weight * velocity
    return loss, {"position": position.detach(), "velocity": velocity.detach()}, predicted
