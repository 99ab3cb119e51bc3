"""A coupled forecaster: one LSTM encoder-decoder on all 39 joint velocities at once.

DeRPoF (:mod:`posepred.derpof`) splits each joint's velocity into the hip centre's (``net_g``) and
the joint's motion relative to it (``net_l``). This module is the control for that choice: the
same kind of network without the split, for notebook 03's measurement of what decoupling buys.

    observed positions (B, 16, 13, 3)
      -> velocities (B, 15, 39) -> 2-layer LSTM encoder -> (h, c)
      -> LSTM decoder fed its own last output -> future velocities (B, 14, 39)
      -> integrate from the last observed pose -> predicted positions (B, 14, 13, 3)

The default ``hidden_dim=80`` gives it about as many weights as the paper's DeRPoF at its defaults
(132,439 against 133,962), so the two can be compared at the same size. It is trained with the
paper's loss (:func:`coupled_loss`: :func:`~posepred.derpof.derpof_loss` without a KL term), so the
architecture is the only difference.
"""

from __future__ import annotations

import torch
from torch import nn

from .derpof import FeedbackDecoder, derpof_loss
from .motion import positions_to_velocities, velocities_to_positions
from .skeleton import N_COORDS, N_JOINTS

N_FUTURE = 14


class CoupledLSTM(nn.Module):
    """Positions in, positions out, like :class:`~posepred.derpof.DeRPoF`, through one network:
    ``observed (B, T, 13, 3)`` -> ``(B, n_future, 13, 3)``."""

    def __init__(self, hidden_dim: int = 80, dropout: float = 0.2):
        super().__init__()
        self.encoder = nn.LSTM(N_COORDS, hidden_dim, num_layers=2, batch_first=True, dropout=dropout)
        self.decoder = FeedbackDecoder(N_COORDS, N_COORDS, hidden_dim, dropout)

    def forward(self, observed: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
        velocity = positions_to_velocities(observed).flatten(-2)  # (B, T-1, 39)
        _, (h, c) = self.encoder(velocity)
        future = self.decoder((h[-1], c[-1]), velocity[:, -1], n_future)  # (B, n_future, 39)
        return velocities_to_positions(observed[:, -1], future.unflatten(-1, (N_JOINTS, 3)))

    @torch.no_grad()
    def predict(self, observed: torch.Tensor, partner=None, n_samples: int | None = None,
                n_future: int = N_FUTURE) -> torch.Tensor:
        """The forecaster protocol (:mod:`posepred.forecasters`), in eval mode; ``partner`` is
        ignored and ``n_samples=K`` repeats the one deterministic prediction K times."""
        was_training = self.training
        self.eval()
        try:
            positions = self(observed, n_future)
        finally:
            self.train(was_training)
        return positions if n_samples is None else positions.expand(n_samples, *positions.shape)


def coupled_loss(model: CoupledLSTM, observed: torch.Tensor, future: torch.Tensor,
                 local_weight: float = 0.1) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """The paper's loss (:func:`~posepred.derpof.derpof_loss`, no KL: there is no latent code) on
    the coupled model's prediction for ``observed (B, T, 13, 3)`` against ``future (B, F, 13, 3)``.
    Returns the loss, its named terms and the predicted positions."""
    predicted = model(observed, future.shape[1])
    loss, terms = derpof_loss(predicted, future, observed, predicted.new_zeros(()), local_weight, 0.0)
    return loss, terms, predicted


def n_parameters(module: nn.Module) -> int:
    """How many trainable numbers ``module`` has."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
