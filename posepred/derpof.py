"""DeRPoF as the paper tells it: a global LSTM for the hip centre, a local VAE for the joints.

Parsaeifard, Saadatnejad, Liu, Mordan and Alahi, "Learning Decoupled Representations for Human
Pose Forecasting", ICCV 2021 workshops, pp. 2294-2303
(https://infoscience.epfl.ch/handle/20.500.14299/183773; code: https://github.com/vita-epfl/decoupled-pose-prediction).

    observed positions (B, 16, 13, 3)
      -> velocities (B, 15, 13, 3) -> global (hip centre, B, 15, 3) + local (each joint minus it, B, 15, 39)
      -> net_g: LSTM encoder-decoder           -> future global velocity (B, 14, 3)
      -> net_l: LSTM-VAE (mean, log_var, z)    -> future local velocity  (B, 14, 39)
      -> sum per joint, integrate from the last observed pose -> predicted positions (B, 14, 13, 3)

Both decoders are fed their own last output (no teacher forcing). :mod:`posepred.additions` holds
what the shipped model adds to this (a conditional VAE, the other person, a correction over damped
velocity, the skeleton step), each measured.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import N_FUTURE
from .motion import combine_global_local, positions_to_velocities, split_global_local, velocities_to_positions
from .skeleton import N_COORDS, N_JOINTS


class FeedbackDecoder(nn.Module):
    """An LSTM cell rolled forward on its own output: ``state (h, c)``, last value ``(B, D)`` ->
    ``(B, n_future, D)``. ``embed`` maps each fed-back value to the cell's input (default: as it is)."""

    def __init__(self, size: int, input_dim: int, hidden_dim: int, dropout: float):
        super().__init__()
        self.cell = nn.LSTMCell(input_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, size)

    def forward(self, state: tuple[torch.Tensor, torch.Tensor], last: torch.Tensor, n_future: int,
                embed: nn.Module | None = None) -> torch.Tensor:
        masks = self.dropout_masks(n_future, state[0])
        outputs = []
        for mask in masks:
            state = self.cell(last if embed is None else embed(last), state)
            last = self.head(state[0] if mask is None else state[0] * mask)
            outputs.append(last)
        return torch.stack(outputs, dim=1)

    def dropout_masks(self, n_steps: int, like: torch.Tensor) -> list:
        """Dropout on ``h`` at every step, its masks drawn in one random call for all steps (faster
        than one call per step); ``None`` per step in eval mode."""
        p = self.dropout.p
        if not self.training or p == 0:
            return [None] * n_steps
        keep = torch.rand(n_steps, *like.shape, dtype=like.dtype, device=like.device) >= p
        return list((keep.to(like.dtype) / (1 - p)).unbind(0))


class GlobalLSTM(nn.Module):
    """``net_g``: the hip-centre velocity ``(B, T, 3)`` -> its next ``n_future`` values ``(B, F, 3)``."""

    def __init__(self, hidden_dim: int = 64, embedding_dim: int = 8, dropout: float = 0.2):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(3, embedding_dim), nn.Tanh())
        self.encoder = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.decoder = FeedbackDecoder(3, embedding_dim, hidden_dim, dropout)

    def encode(self, velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 3)`` -> the decoder's initial state ``(h, c)``, each ``(B, hidden_dim)``."""
        _, (h, c) = self.encoder(self.embed(velocity))
        return h[-1], c[-1]

    def forward(self, velocity: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
        return self.decoder(self.encode(velocity), velocity[:, -1], n_future, self.embed)


class LocalVAE(nn.Module):
    """``net_l``: local velocities ``(B, T, 39)`` -> mean, log_var ``(B, latent)`` -> z -> ``(B, F, 39)``.

    The encoder (a 2-layer LSTM) sees only the observed frames; the decoder starts from
    ``h = Linear(z)``, ``c = 0``."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.encoder = nn.LSTM(N_COORDS, hidden_dim, num_layers=2, batch_first=True, dropout=dropout)
        self.mean = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)
        self.init_hidden = nn.Linear(latent_dim, hidden_dim)
        self.decoder = FeedbackDecoder(N_COORDS, N_COORDS, hidden_dim, dropout)

    def encode(self, velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 39)`` -> mean and log-variance of q(z | past), ``(B, latent)`` each."""
        last = self.encoder(velocity)[0][:, -1]
        return self.mean(last), self.log_var(last)

    def decode(self, z: torch.Tensor, last: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
        """``z (B, latent)``, the last observed local velocity ``(B, 39)`` -> ``(B, n_future, 39)``."""
        h = self.init_hidden(z)
        return self.decoder((h, torch.zeros_like(h)), last, n_future)


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``z = mean + exp(0.5 log_var) * eps``, ``eps ~ N(0, I)``: a sample that gradients flow through."""
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per latent dimension, ``(B, latent)``, in nats."""
    return -0.5 * (1 + log_var - mean ** 2 - log_var.exp())


def observed_velocities(observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions ``(B, T, 13, 3)`` -> global ``(B, T-1, 3)`` and flattened local ``(B, T-1, 39)`` velocities."""
    global_velocity, local_velocity = split_global_local(positions_to_velocities(observed))
    return global_velocity, local_velocity.flatten(-2)


def to_positions(observed: torch.Tensor, global_velocity: torch.Tensor, local_velocity: torch.Tensor) -> torch.Tensor:
    """Sum global ``(B, F, 3)`` and local ``(B, F, 39)`` velocities per joint and integrate them from
    the last observed pose of ``observed (B, T, 13, 3)``: positions ``(B, F, 13, 3)``."""
    velocity = combine_global_local(global_velocity, local_velocity.unflatten(-1, (N_JOINTS, 3)))
    return velocities_to_positions(observed[:, -1], velocity)


class DeRPoF(nn.Module):
    """Positions in, positions out: ``observed (B, 16, 13, 3)`` -> ``(B, n_future, 13, 3)``."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, embedding_dim: int = 8, dropout: float = 0.2):
        super().__init__()
        self.net_g = GlobalLSTM(hidden_dim, embedding_dim, dropout)
        self.net_l = LocalVAE(hidden_dim, latent_dim, dropout)

    def forward(self, observed: torch.Tensor, n_future: int = N_FUTURE, sample: bool = False):
        """Predicted positions ``(B, n_future, 13, 3)`` and the mean and log_var ``(B, latent)`` of
        q(z | past); z is drawn from it when ``sample``, else z = mean."""
        global_velocity, local_velocity = observed_velocities(observed)
        mean, log_var = self.net_l.encode(local_velocity)
        z = reparameterise(mean, log_var) if sample else mean
        future_global = self.net_g(global_velocity, n_future)
        future_local = self.net_l.decode(z, local_velocity[:, -1], n_future)
        return to_positions(observed, future_global, future_local), mean, log_var


def future_velocities(observed: torch.Tensor, future: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The velocities of ``future (B, F, 13, 3)`` after ``observed (B, T, 13, 3)``: global ``(B, F, 3)``
    and local ``(B, F, 13, 3)``."""
    return split_global_local(positions_to_velocities(torch.cat([observed[:, -1:], future], dim=1)))


def derpof_loss(predicted: torch.Tensor, future: torch.Tensor, observed: torch.Tensor, kl: torch.Tensor,
                local_weight: float = 0.1, kl_weight: float = 0.01) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's loss, on velocities: ``global_mse + local_weight * (local_l2 + kl_weight * kl)``.

    ``predicted`` and ``future`` positions ``(B, F, 13, 3)``, ``observed (B, T, 13, 3)``; ``kl`` the KL
    term in nats (summed over latent dimensions, averaged over the batch). Returns the loss and its
    named terms (detached tensors: no ``.item()`` here, so the loss compiles without graph breaks)."""
    predicted_global, predicted_local = future_velocities(observed, predicted)
    true_global, true_local = future_velocities(observed, future)
    global_mse = torch.mean((predicted_global - true_global) ** 2)  # net_g: squared error of the hip velocity
    local_l2 = (predicted_local - true_local).norm(dim=-1).mean()  # net_l: Euclidean error per joint and frame
    loss = global_mse + local_weight * (local_l2 + kl_weight * kl)
    return loss, {"global_mse": global_mse.detach(), "local_l2": local_l2.detach(), "kl": kl.detach()}
