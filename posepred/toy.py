"""Tiny, fast examples for notebook 01: an LSTM forecasting a sine wave and a VAE on 2D points.

They teach the two building blocks of DeRPoF in isolation; nothing here is used by the pose model.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def noisy_sine(n_series: int = 256, length: int = 60, noise: float = 0.05, generator=None) -> torch.Tensor:
    """Sine waves with random phase and period, plus noise: ``(n_series, length, 1)``."""
    phase = torch.rand(n_series, 1, generator=generator) * 2 * math.pi
    period = 15 + 10 * torch.rand(n_series, 1, generator=generator)
    t = torch.arange(length).float()
    clean = torch.sin(2 * math.pi * t / period + phase)
    return (clean + noise * torch.randn(n_series, length, generator=generator)).unsqueeze(-1)


class SineLSTM(nn.Module):
    """Encoder LSTM over the observed values, then a decoder cell fed its own last output."""

    def __init__(self, hidden_dim: int = 32):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden_dim, batch_first=True)
        self.decoder = nn.LSTMCell(1, hidden_dim)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, observed: torch.Tensor, n_future: int) -> torch.Tensor:
        """``(B, T, 1)`` -> ``(B, n_future, 1)``."""
        _, (h, c) = self.encoder(observed)
        state, value, outputs = (h[-1], c[-1]), observed[:, -1], []
        for _ in range(n_future):
            h, c = self.decoder(value, state)
            state, value = (h, c), self.head(h)
            outputs.append(value)
        return torch.stack(outputs, dim=1)


def two_moons(n_points: int = 512, noise: float = 0.08, generator=None) -> torch.Tensor:
    """2D points on two interleaved half circles: ``(n_points, 2)``."""
    angle = torch.rand(n_points, generator=generator) * math.pi
    upper = torch.rand(n_points, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return torch.stack([x, y], dim=1) + noise * torch.randn(n_points, 2, generator=generator)


class PointVAE(nn.Module):
    """A VAE on 2D points: encoder -> mean, log_var -> z (reparameterised) -> decoder."""

    def __init__(self, latent_dim: int = 2, hidden_dim: int = 64):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(2, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2))
        self.latent_dim = latent_dim

    def forward(self, points: torch.Tensor):
        """``(B, 2)`` -> reconstruction ``(B, 2)``, mean and log_var ``(B, latent)``."""
        mean, log_var = self.encoder(points).chunk(2, dim=-1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)  # the reparameterisation trick
        return self.decoder(z), mean, log_var

    def sample(self, n: int, generator=None) -> torch.Tensor:
        """New points decoded from z ~ N(0, I): ``(n, 2)``."""
        return self.decoder(torch.randn(n, self.latent_dim, generator=generator))


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    return -0.5 * torch.mean(torch.sum(1 + log_var - mean ** 2 - log_var.exp(), dim=-1))


def fit(model: nn.Module, loss_fn, steps: int = 300, lr: float = 0.01) -> list[float]:
    """Minimise ``loss_fn(model)`` with Adam; returns the loss after each step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
