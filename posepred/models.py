"""DeRPoF: a global LSTM for the hip-centre velocity plus a local VAE for each joint's velocity.

Shapes: ``B`` person sequences, 16 observed frames (15 velocities), 14 predicted frames.

- :class:`GlobalLSTM` (``net_g``): global velocity ``(B, 15, 3)`` -> ``(B, 14, 3)``.
- :class:`LocalVAE` (``net_l``): local velocity ``(B, 15, 39)`` -> mean, log_var ``(B, latent)``
  -> z -> ``(B, 14, 39)``.
- :class:`DeRPoF`: observed positions ``(B, 16, 13, 3)`` -> predicted positions ``(B, 14, 13, 3)``.

Both decoders are fed their own last output and are stepped together in one loop.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import N_FUTURE
from .motion import combine_global_local, positions_to_velocities, split_global_local, velocities_to_positions
from .skeleton import N_COORDS, N_JOINTS


class GlobalLSTM(nn.Module):
    """``net_g``: LSTM encoder-decoder on the hip-centre velocity (3 numbers per frame)."""

    def __init__(self, hidden_dim: int = 64, embedding_dim: int = 8, dropout: float = 0.2):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(3, embedding_dim), nn.Tanh())
        self.encoder = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.decoder = nn.LSTMCell(embedding_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 3)

    def encode(self, global_velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 3)`` -> decoder state ``(h, c)``, each ``(B, hidden_dim)``."""
        _, (h, c) = self.encoder(self.embed(global_velocity))
        return h[-1], c[-1]

    def step(self, velocity: torch.Tensor, state):
        """One decoder step: last velocity ``(B, 3)`` -> next velocity ``(B, 3)`` and new state."""
        h, c = self.decoder(self.embed(velocity), state)
        return self.head(self.dropout(h)), (h, c)

    def forward(self, global_velocity: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
        """``(B, T, 3)`` -> ``(B, n_future, 3)``."""
        state, velocity, outputs = self.encode(global_velocity), global_velocity[:, -1], []
        for _ in range(n_future):
            velocity, state = self.step(velocity, state)
            outputs.append(velocity)
        return torch.stack(outputs, dim=1)


class Encoder(nn.Module):
    """VAE encoder: 2-layer LSTM over local velocities ``(B, T, 39)`` -> mean, log_var ``(B, latent)``."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2, n_layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(N_COORDS, hidden_dim, num_layers=n_layers, batch_first=True, dropout=dropout)
        self.mean = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)

    def forward(self, local_velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output, _ = self.lstm(local_velocity)
        last = output[:, -1]
        return self.mean(last), self.log_var(last)


class Decoder(nn.Module):
    """VAE decoder: LSTM cell whose hidden state starts at ``Linear(z)``; emits 39 numbers per step."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.init_hidden = nn.Linear(latent_dim, hidden_dim)
        self.cell = nn.LSTMCell(N_COORDS, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, N_COORDS)

    def initial_state(self, z: torch.Tensor):
        """``z (B, latent)`` -> ``(h, c)`` with ``h = Linear(z)`` and ``c = 0``."""
        h = self.init_hidden(z)
        return h, torch.zeros_like(h)

    def step(self, velocity: torch.Tensor, state):
        """Last local velocity ``(B, 39)`` -> next ``(B, 39)`` and new state."""
        h, c = self.cell(velocity, state)
        return self.head(self.dropout(h)), (h, c)


class LocalVAE(nn.Module):
    """``net_l``: variational auto-encoder of the local (hip-relative) joint velocities."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.encoder = Encoder(hidden_dim, latent_dim, dropout)
        self.decoder = Decoder(hidden_dim, latent_dim, dropout)

    @staticmethod
    def reparameterise(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """``z = mean + exp(0.5 log_var) * eps`` with ``eps ~ N(0, I)``."""
        return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)

    def forward(self, local_velocity: torch.Tensor, n_future: int = N_FUTURE, sample: bool = True):
        """``(B, T, 39)`` -> predicted ``(B, n_future, 39)``, mean, log_var."""
        mean, log_var = self.encoder(local_velocity)
        z = self.reparameterise(mean, log_var) if sample else mean
        state, velocity, outputs = self.decoder.initial_state(z), local_velocity[:, -1], []
        for _ in range(n_future):
            velocity, state = self.decoder.step(velocity, state)
            outputs.append(velocity)
        return torch.stack(outputs, dim=1), mean, log_var


def damped_offsets(last_velocity: torch.Tensor, factor: float, n_future: int) -> torch.Tensor:
    """Damped extrapolation of a velocity, ``(B, D) -> (B, n_future, D)``: step k is ``factor**k v``."""
    powers = factor ** torch.arange(1, n_future + 1, dtype=last_velocity.dtype, device=last_velocity.device)
    return powers.view(1, -1, 1) * last_velocity.unsqueeze(1)


class DeRPoF(nn.Module):
    """Decoupled pose forecasting: positions in, positions out.

    ``residual_damping``: when set to a factor ``f``, both nets predict a correction on top of the
    damped-velocity extrapolation ``f**k * v_last`` instead of the raw velocity (None: the seed model).
    """

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, embedding_dim: int = 8,
                 dropout: float = 0.2, residual_damping: float | None = None, vae: str = "seed",
                 social: bool = False, skeleton: bool = False):
        super().__init__()
        self.vae, self.social, self.skeleton = vae, social, skeleton
        self.net_g = GlobalLSTM(hidden_dim, embedding_dim, dropout)
        self.net_l = LocalVAE(hidden_dim, latent_dim, dropout)
        self.residual_damping = residual_damping

    def decode(self, global_velocity: torch.Tensor, local_velocity: torch.Tensor, z: torch.Tensor,
               n_future: int = N_FUTURE) -> tuple[torch.Tensor, torch.Tensor]:
        """Step both decoders together: ``(B, T, 3), (B, T, 39), z (B, latent)`` ->
        global ``(B, n_future, 3)`` and local ``(B, n_future, 39)`` velocities."""
        state_g = self.net_g.encode(global_velocity)
        state_l = self.net_l.decoder.initial_state(z)
        step_g, step_l = global_velocity[:, -1], local_velocity[:, -1]
        out_g, out_l = [], []
        for _ in range(n_future):
            step_g, state_g = self.net_g.step(step_g, state_g)
            step_l, state_l = self.net_l.decoder.step(step_l, state_l)
            out_g.append(step_g)
            out_l.append(step_l)
        pred_g, pred_l = torch.stack(out_g, dim=1), torch.stack(out_l, dim=1)
        if self.residual_damping is not None:
            pred_g = pred_g + damped_offsets(global_velocity[:, -1], self.residual_damping, n_future)
            pred_l = pred_l + damped_offsets(local_velocity[:, -1], self.residual_damping, n_future)
        return pred_g, pred_l

    @staticmethod
    def observed_velocities(observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 16, 13, 3)`` -> global ``(B, 15, 3)`` and flattened local ``(B, 15, 39)`` velocities."""
        global_velocity, local_velocity = split_global_local(positions_to_velocities(observed))
        return global_velocity, local_velocity.flatten(-2)

    def forward_velocities(self, observed: torch.Tensor, sample: bool, n_future: int = N_FUTURE):
        """Predicted global ``(B, F, 3)``, local ``(B, F, 39)`` velocities, and mean, log_var."""
        global_velocity, local_velocity = self.observed_velocities(observed)
        mean, log_var = self.net_l.encoder(local_velocity)
        z = LocalVAE.reparameterise(mean, log_var) if sample else mean
        pred_g, pred_l = self.decode(global_velocity, local_velocity, z, n_future)
        return pred_g, pred_l, mean, log_var

    @staticmethod
    def to_positions(observed: torch.Tensor, pred_g: torch.Tensor, pred_l: torch.Tensor) -> torch.Tensor:
        """Sum global and local velocities and integrate from the last observed pose."""
        local = pred_l.unflatten(-1, (N_JOINTS, 3))
        return velocities_to_positions(observed[:, -1], combine_global_local(pred_g, local))

    def forward(self, observed: torch.Tensor, n_samples: int | None = None,
                n_future: int = N_FUTURE) -> torch.Tensor:
        """Observed positions ``(B, 16, 13, 3)`` -> predicted positions ``(B, n_future, 13, 3)``.

        With ``n_samples=K`` the VAE draws K latent codes per sequence and the result is
        ``(K, B, n_future, 13, 3)``; otherwise z = mean (deterministic).
        """
        if n_samples is None:
            pred_g, pred_l, _, _ = self.forward_velocities(observed, sample=False, n_future=n_future)
            return self.to_positions(observed, pred_g, pred_l)
        global_velocity, local_velocity = self.observed_velocities(observed)
        mean, log_var = self.net_l.encoder(local_velocity)
        repeat = (n_samples,) + (1,) * (observed.dim() - 1)
        z = LocalVAE.reparameterise(mean.repeat(n_samples, 1), log_var.repeat(n_samples, 1))
        pred_g, pred_l = self.decode(global_velocity.repeat(n_samples, 1, 1),
                                     local_velocity.repeat(n_samples, 1, 1), z, n_future)
        positions = self.to_positions(observed.repeat(*repeat), pred_g, pred_l)
        return positions.view(n_samples, *observed.shape[:1], n_future, N_JOINTS, 3)


def resolve_device(dev: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:1``, ``mps``, or ``auto`` (cuda, then mps, then cpu)."""
    if dev == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(dev)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--dev {dev}: CUDA is not available on this machine (try --dev auto or cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--dev {dev}: MPS is not available on this machine (try --dev auto or cpu)")
    return device
