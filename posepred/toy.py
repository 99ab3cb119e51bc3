"""Tiny, fast examples for notebook 01: an LSTM forecasting sine waves and a VAE on 2D points.

They teach the two building blocks of DeRPoF in isolation; nothing here is used by the pose model.
The notebook writes the mechanisms out (the LSTM cell, the KL term, the reparameterisation trick);
this module holds what several of its cells reuse, so that it is tested (tests/test_toy.py).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def noisy_sine(n_series: int = 256, length: int = 60, noise: float = 0.05, generator=None) -> torch.Tensor:
    """Sine waves with random phase and period (15 to 25 steps), plus noise: ``(n_series, length, 1)``."""
    phase = torch.rand(n_series, 1, generator=generator) * 2 * math.pi
    period = 15 + 10 * torch.rand(n_series, 1, generator=generator)
    t = torch.arange(length).float()
    clean = torch.sin(2 * math.pi * t / period + phase)
    return (clean + noise * torch.randn(n_series, length, generator=generator)).unsqueeze(-1)


class SineLSTM(nn.Module):
    """Encoder LSTM over the observed values, then a decoder cell stepped once per future value."""

    def __init__(self, hidden_dim: int = 32):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden_dim, batch_first=True)
        self.decoder = nn.LSTMCell(1, hidden_dim)
        self.head = nn.Linear(hidden_dim, 1)

    def forward(self, observed: torch.Tensor, n_future: int, teacher: torch.Tensor | None = None,
                teacher_ratio: float = 1.0, generator=None) -> torch.Tensor:
        """``(B, T, 1)`` -> ``(B, n_future, 1)``.

        The decoder's first input is the last observed value. Each later input is its own previous
        output (free running, as at test time), or, given ``teacher`` (the true future
        ``(B, n_future, 1)``), the true previous value (teacher forcing): for every series at each
        step with probability ``teacher_ratio`` (drawn with ``generator``; none drawn at 1.0).
        """
        if teacher is not None and teacher.shape[:2] != (observed.shape[0], n_future):
            raise ValueError(f"teacher shaped {tuple(teacher.shape)}, expected ({observed.shape[0]}, {n_future}, 1)")
        _, (h, c) = self.encoder(observed)
        state, value, outputs = (h[-1], c[-1]), observed[:, -1], []
        for step in range(n_future):
            h, c = self.decoder(value, state)
            state, value = (h, c), self.head(h)
            outputs.append(value)
            if teacher is not None and teacher_ratio >= 1.0:
                value = teacher[:, step]
            elif teacher is not None and teacher_ratio > 0.0:
                use_truth = torch.rand(len(value), 1, generator=generator) < teacher_ratio
                value = torch.where(use_truth, teacher[:, step], value)
        return torch.stack(outputs, dim=1)


def repeat_last(observed: torch.Tensor, n_future: int) -> torch.Tensor:
    """The naive baseline: the last observed value repeated, ``(B, T, D)`` -> ``(B, n_future, D)``."""
    return observed[:, -1:].expand(-1, n_future, -1)


def error_by_horizon(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Mean absolute error at each future step, ``(B, F, D)`` twice -> ``(F,)``."""
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction shaped {tuple(prediction.shape)}, truth {tuple(truth.shape)}")
    return (prediction - truth).abs().mean(dim=(0, 2))


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

    def encode(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 2)`` -> mean and log_var of q(z | x), each ``(B, latent)``."""
        mean, log_var = self.encoder(points).chunk(2, dim=-1)
        return mean, log_var

    def forward(self, points: torch.Tensor):
        """``(B, 2)`` -> reconstruction ``(B, 2)``, mean and log_var ``(B, latent)``."""
        mean, log_var = self.encode(points)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)  # the reparameterisation trick
        return self.decoder(z), mean, log_var

    def sample(self, n: int, generator=None) -> torch.Tensor:
        """New points decoded from z ~ N(0, I): ``(n, 2)``."""
        return self.decoder(torch.randn(n, self.latent_dim, generator=generator))


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    return -0.5 * torch.mean(torch.sum(1 + log_var - mean ** 2 - log_var.exp(), dim=-1))


def nearest_distance(points: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean distance from each of ``points (N, D)`` to its nearest neighbour in ``reference (M, D)``."""
    return torch.cdist(points, reference).min(dim=1).values.mean().item()


def fit(model: nn.Module, loss_fn, steps: int = 300, lr: float = 0.01) -> list[float]:
    """Minimise ``loss_fn(model)`` with Adam, one full batch per step; returns the loss of each step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
