"""DeRPoF: a global LSTM for the hip-centre velocity plus a local VAE for each joint's velocity.

Shapes: ``B`` person sequences, 16 observed frames (15 velocities), 14 predicted frames.

- :class:`GlobalLSTM` (``net_g``): global velocity ``(B, 15, 3)`` -> ``(B, 14, 3)``; optionally
  with a :class:`SocialEncoder` reading the other person of the scene.
- :class:`LocalVAE` (``net_l``, the seed's): local velocity ``(B, 15, 39)`` -> mean, log_var
  ``(B, latent)`` -> z -> ``(B, 14, 39)``. Its encoder sees only the past.
- :class:`ConditionalLocalVAE` (``net_l`` with ``vae="conditional"``): a deterministic path
  carries the past into the decoder; the recognition network q(z | past, future) sees the future
  local motion in training; at test time z comes from the prior N(0, I) (z = 0 for the
  deterministic prediction).
- :class:`DeRPoF`: observed positions ``(B, 16, 13, 3)`` (and the partner's) -> predicted
  positions ``(B, 14, 13, 3)``, optionally with every rigid bone kept at its observed length.

Both decoders are fed their own last output and are stepped together in one loop.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import N_FUTURE
from .motion import (
    combine_global_local,
    hip_centre,
    positions_to_velocities,
    split_global_local,
    velocities_to_positions,
)
from .skeleton import N_COORDS, N_JOINTS, enforce_bone_lengths, rigid_bone_lengths

VAES = ("seed", "conditional")


class SocialEncoder(nn.Module):
    """The other person, relative to this one: ``(B, 15, 6)`` features (partner hip centre minus own,
    partner hip velocity) -> additive contexts for net_g's state and net_l's decoder, ``(B, hidden)``
    each. Its output layer starts at zero, so a model without a partner is unchanged."""

    def __init__(self, hidden_dim: int = 64):
        super().__init__()
        self.lstm = nn.LSTM(6, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, 2 * hidden_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @staticmethod
    def features(observed: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        """Positions ``(B, 16, 13, 3)`` of a person and their partner -> ``(B, 15, 6)``."""
        own, other = hip_centre(observed), hip_centre(partner)
        return torch.cat([(other - own)[:, 1:], other[:, 1:] - other[:, :-1]], dim=-1)

    def forward(self, observed, partner, has_partner) -> tuple[torch.Tensor, torch.Tensor]:
        _, (h, _) = self.lstm(self.features(observed, partner))
        context = self.out(h[-1]) * has_partner.view(-1, 1).to(h.dtype)
        return context.chunk(2, dim=-1)


class GlobalLSTM(nn.Module):
    """``net_g``: LSTM encoder-decoder on the hip-centre velocity (3 numbers per frame)."""

    def __init__(self, hidden_dim: int = 64, embedding_dim: int = 8, dropout: float = 0.2, social: bool = False):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(3, embedding_dim), nn.Tanh())
        self.encoder = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.decoder = nn.LSTMCell(embedding_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, 3)
        self.social = SocialEncoder(hidden_dim) if social else None

    def encode(self, global_velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 3)`` -> decoder state ``(h, c)``, each ``(B, hidden_dim)``."""
        _, (h, c) = self.encoder(self.embed(global_velocity))
        return h[-1], c[-1]

    def step(self, velocity: torch.Tensor, state, mask: torch.Tensor | None = None):
        """One decoder step: last velocity ``(B, 3)`` -> next velocity ``(B, 3)`` and new state
        (``mask``: this step's dropout mask from :func:`dropout_masks`)."""
        h, c = self.decoder(self.embed(velocity), state)
        return self.head(self.dropout(h) if mask is None else h * mask), (h, c)

    def forward(self, global_velocity: torch.Tensor, n_future: int = N_FUTURE) -> torch.Tensor:
        """``(B, T, 3)`` -> ``(B, n_future, 3)``."""
        state, velocity, outputs = self.encode(global_velocity), global_velocity[:, -1], []
        for _ in range(n_future):
            velocity, state = self.step(velocity, state)
            outputs.append(velocity)
        return torch.stack(outputs, dim=1)


class Encoder(nn.Module):
    """LSTM over local velocities ``(B, T, 39)`` -> mean, log_var ``(B, latent)`` (the seed VAE's
    encoder); :meth:`summary` gives the last output ``(B, hidden)`` (the conditional VAE's past path)."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2, n_layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(N_COORDS, hidden_dim, num_layers=n_layers, batch_first=True,
                            dropout=dropout if n_layers > 1 else 0.0)
        self.mean = nn.Linear(hidden_dim, latent_dim)
        self.log_var = nn.Linear(hidden_dim, latent_dim)

    def summary(self, local_velocity: torch.Tensor) -> torch.Tensor:
        return self.lstm(local_velocity)[0][:, -1]

    def forward(self, local_velocity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        last = self.summary(local_velocity)
        return self.mean(last), self.log_var(last)


class Decoder(nn.Module):
    """VAE decoder: LSTM cell whose hidden state starts at ``Linear(code)``; emits 39 numbers per step.
    The code is z (seed VAE) or z joined with the past's summary (conditional VAE)."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.init_hidden = nn.Linear(latent_dim, hidden_dim)
        self.cell = nn.LSTMCell(N_COORDS, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, N_COORDS)

    def initial_state(self, code: torch.Tensor):
        """``code (B, latent)`` -> ``(h, c)`` with ``h = Linear(code)`` and ``c = 0``."""
        h = self.init_hidden(code)
        return h, torch.zeros_like(h)

    def step(self, velocity: torch.Tensor, state, mask: torch.Tensor | None = None):
        """Last local velocity ``(B, 39)`` -> next ``(B, 39)`` and new state."""
        h, c = self.cell(velocity, state)
        return self.head(self.dropout(h) if mask is None else h * mask), (h, c)


def dropout_masks(dropout: nn.Dropout, n_steps: int, like: torch.Tensor) -> list[torch.Tensor | None]:
    """Inverted-dropout masks for ``n_steps`` decoder steps, drawn with one random call (one draw per
    step is most of a training step's random-number cost); ``None`` per step when not training."""
    if not dropout.training or dropout.p == 0:
        return [None] * n_steps
    keep = torch.rand(n_steps, *like.shape, dtype=like.dtype, device=like.device) >= dropout.p
    return list((keep.to(like.dtype) / (1 - dropout.p)).unbind(0))


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """``z = mean + exp(0.5 log_var) * eps`` with ``eps ~ N(0, I)``."""
    return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)


def decode_steps(decoder: Decoder, state, velocity: torch.Tensor, n_future: int) -> torch.Tensor:
    outputs = []
    for _ in range(n_future):
        velocity, state = decoder.step(velocity, state)
        outputs.append(velocity)
    return torch.stack(outputs, dim=1)


class LocalVAE(nn.Module):
    """``net_l`` of the seed: a VAE whose encoder sees only the observed local velocities."""

    conditional = False

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.encoder = Encoder(hidden_dim, latent_dim, dropout)
        self.decoder = Decoder(hidden_dim, latent_dim, dropout)

    def encode(self, local_velocity, future_velocity=None):
        """No past summary (``None``), and mean, log_var ``(B, latent)`` of q(z | past)."""
        return None, *self.encoder(local_velocity)

    def initial_states(self, z, context=None):
        """The decoder's initial state from z; no context for net_g (``None``)."""
        return self.decoder.initial_state(z), None

    def latent(self, local_velocity, future_velocity=None, sample: bool = True):
        """z, (mean, log_var), the decoder's initial state and net_g's context (see subclasses)."""
        context, mean, log_var = self.encode(local_velocity, future_velocity)
        z = reparameterise(mean, log_var) if sample else mean
        return z, (mean, log_var), *self.initial_states(z, context)

    def forward(self, local_velocity: torch.Tensor, n_future: int = N_FUTURE, sample: bool = True):
        """``(B, T, 39)`` -> predicted ``(B, n_future, 39)``, mean, log_var."""
        _, (mean, log_var), state, _ = self.latent(local_velocity, sample=sample)
        return decode_steps(self.decoder, state, local_velocity[:, -1], n_future), mean, log_var


class ConditionalLocalVAE(nn.Module):
    """``net_l`` as a conditional VAE: a deterministic summary of the past feeds the decoder; z comes
    from q(z | past, future) in training and from the prior N(0, I) at test time. The recognition
    network reads the future global and local velocities, and z also enters net_g's initial state,
    so a sample can choose where the person goes as well as how the limbs move."""

    conditional = True

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.latent_dim = latent_dim
        self.past = Encoder(hidden_dim, latent_dim, dropout)  # its mean/log_var heads stay unused
        self.future = nn.LSTM(3 + N_COORDS, hidden_dim, batch_first=True)
        self.posterior = nn.Linear(2 * hidden_dim, 2 * latent_dim)
        self.decoder = Decoder(hidden_dim, latent_dim + hidden_dim, dropout)
        self.to_global = nn.Linear(latent_dim, hidden_dim)

    def encode(self, local_velocity, future_velocity=None):
        """The past's summary ``(B, hidden)``, and mean, log_var ``(B, latent)`` of q(z | past, future)
        (of the prior N(0, I) without ``future_velocity``, the future global and local velocities
        ``(B, F, 42)``)."""
        context = self.past.summary(local_velocity)
        if future_velocity is None:
            mean = log_var = torch.zeros(len(context), self.latent_dim, dtype=context.dtype, device=context.device)
        else:
            future_summary = self.future(future_velocity)[0][:, -1]
            mean, log_var = self.posterior(torch.cat([context, future_summary], dim=-1)).chunk(2, dim=-1)
        return context, mean, log_var

    def initial_states(self, z, context):
        """The decoder's initial state from z and the past's summary, and z's context for net_g."""
        return self.decoder.initial_state(torch.cat([z, context], dim=-1)), self.to_global(z)

    latent = LocalVAE.latent


def future_velocities(observed: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
    """The true future as the conditional VAE's recognition network reads it: global and local
    velocities ``(B, F, 42)`` from ``observed (B, 16, 13, 3)`` and ``future (B, F, 13, 3)``."""
    global_velocity, local_velocity = split_global_local(
        positions_to_velocities(torch.cat([observed[:, -1:], future], dim=1)))
    return torch.cat([global_velocity, local_velocity.flatten(-2)], dim=-1)


def damped_offsets(last_velocity: torch.Tensor, factor: float, n_future: int) -> torch.Tensor:
    """Damped extrapolation of a velocity, ``(B, D) -> (B, n_future, D)``: step k is ``factor**k v``."""
    powers = factor ** torch.arange(1, n_future + 1, dtype=last_velocity.dtype, device=last_velocity.device)
    return powers.view(1, -1, 1) * last_velocity.unsqueeze(1)


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per latent dimension, ``(B, latent)``, in nats."""
    return -0.5 * (1 + log_var - mean ** 2 - log_var.exp())


class DeRPoF(nn.Module):
    """Decoupled pose forecasting: positions in, positions out.

    - ``residual_damping``: when set to a factor ``f``, both nets predict a correction on top of the
      damped-velocity extrapolation ``f**k * v_last`` instead of the raw velocity (None: the seed model).
    - ``vae``: ``"seed"`` (:class:`LocalVAE`) or ``"conditional"`` (:class:`ConditionalLocalVAE`).
    - ``social``: net_g reads the other person of the scene (:class:`SocialEncoder`).
    - ``skeleton``: every predicted frame keeps the rigid bone lengths of the last observed frame
      (:func:`posepred.skeleton.enforce_bone_lengths`), in training and at inference.
    """

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, embedding_dim: int = 8,
                 dropout: float = 0.2, residual_damping: float | None = None, vae: str = "seed",
                 social: bool = False, skeleton: bool = False):
        super().__init__()
        if vae not in VAES:
            raise ValueError(f"vae must be one of {VAES}, got {vae!r}")
        self.net_g = GlobalLSTM(hidden_dim, embedding_dim, dropout, social)
        self.net_l = (ConditionalLocalVAE if vae == "conditional" else LocalVAE)(hidden_dim, latent_dim, dropout)
        self.residual_damping, self.vae, self.social, self.skeleton = residual_damping, vae, social, skeleton

    @staticmethod
    def observed_velocities(observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 16, 13, 3)`` -> global ``(B, 15, 3)`` and flattened local ``(B, 15, 39)`` velocities."""
        global_velocity, local_velocity = split_global_local(positions_to_velocities(observed))
        return global_velocity, local_velocity.flatten(-2)

    def forward_velocities(self, observed: torch.Tensor, sample: bool, n_future: int = N_FUTURE,
                           partner: torch.Tensor | None = None, has_partner: torch.Tensor | None = None,
                           future_velocity: torch.Tensor | None = None, prior_mean_too: bool = False):
        """Predicted global ``(B, F, 3)`` and local ``(B, F, 39)`` velocities, and the mean and log_var
        ``(B, latent)`` of the distribution z was drawn from.

        ``partner (B, 16, 13, 3)`` with ``has_partner (B,)``: the other person (social models).
        ``future_velocity (B, F, 42)`` (:func:`future_velocities`): the true future, for the conditional
        VAE's recognition network in training; without it z comes from the prior.
        ``prior_mean_too``: also decode z = 0 (the prior mean, the deterministic prediction) for the
        same sequences, in one pass: predictions are then ``(2B, ...)``, those from z first.
        """
        global_velocity, local_velocity = self.observed_velocities(observed)
        state_g = self.net_g.encode(global_velocity)
        context, mean, log_var = self.net_l.encode(local_velocity, future_velocity)
        z = reparameterise(mean, log_var) if sample else mean
        social = None
        if self.net_g.social is not None and partner is not None:
            if has_partner is None:
                has_partner = torch.ones(len(observed), dtype=torch.bool, device=observed.device)
            social = self.net_g.social(observed, partner, has_partner)
        if prior_mean_too:
            def twice(x):
                return None if x is None else torch.cat([x, x])
            z = torch.cat([z, torch.zeros_like(z)])
            global_velocity, local_velocity, context = twice(global_velocity), twice(local_velocity), twice(context)
            state_g = tuple(twice(x) for x in state_g)
            social = None if social is None else tuple(twice(x) for x in social)
        state_l, latent_g = self.net_l.initial_states(z, context)
        if latent_g is not None:
            state_g = (state_g[0] + latent_g, state_g[1])
        if social is not None:
            state_g = (state_g[0] + social[0], state_g[1])
            state_l = (state_l[0] + social[1], state_l[1])
        step_g, step_l = global_velocity[:, -1], local_velocity[:, -1]
        masks_g = dropout_masks(self.net_g.dropout, n_future, state_g[0])
        masks_l = dropout_masks(self.net_l.decoder.dropout, n_future, state_l[0])
        out_g, out_l = [], []
        for mask_g, mask_l in zip(masks_g, masks_l):
            step_g, state_g = self.net_g.step(step_g, state_g, mask_g)
            step_l, state_l = self.net_l.decoder.step(step_l, state_l, mask_l)
            out_g.append(step_g)
            out_l.append(step_l)
        pred_g, pred_l = torch.stack(out_g, dim=1), torch.stack(out_l, dim=1)
        if self.residual_damping is not None:
            pred_g = pred_g + damped_offsets(global_velocity[:, -1], self.residual_damping, n_future)
            pred_l = pred_l + damped_offsets(local_velocity[:, -1], self.residual_damping, n_future)
        return pred_g, pred_l, mean, log_var

    def to_positions(self, observed: torch.Tensor, pred_g: torch.Tensor, pred_l: torch.Tensor) -> torch.Tensor:
        """Sum global and local velocities, integrate from the last observed pose ``(B, 16, 13, 3)``,
        and (skeleton-true models) restore the rigid bone lengths: ``(B, F, 13, 3)``."""
        local = pred_l.unflatten(-1, (N_JOINTS, 3))
        positions = velocities_to_positions(observed[:, -1], combine_global_local(pred_g, local))
        if self.skeleton:
            positions = enforce_bone_lengths(positions, rigid_bone_lengths(observed[:, -1]))
        return positions

    def forward(self, observed: torch.Tensor, n_samples: int | None = None, n_future: int = N_FUTURE,
                partner: torch.Tensor | None = None, has_partner: torch.Tensor | None = None) -> torch.Tensor:
        """Observed positions ``(B, 16, 13, 3)`` -> predicted positions ``(B, n_future, 13, 3)``.

        With ``n_samples=K`` the VAE draws K latent codes per sequence and the result is
        ``(K, B, n_future, 13, 3)``; otherwise z is deterministic (the seed VAE's posterior mean,
        the conditional VAE's prior mean 0). ``partner``: the other person, for social models.
        """
        if n_samples is not None:
            def repeat(x):
                return None if x is None else x.repeat(n_samples, *(1,) * (x.dim() - 1))
            observed, partner, has_partner = repeat(observed), repeat(partner), repeat(has_partner)
        pred_g, pred_l, _, _ = self.forward_velocities(observed, n_samples is not None, n_future, partner, has_partner)
        positions = self.to_positions(observed, pred_g, pred_l)
        return positions if n_samples is None else positions.unflatten(0, (n_samples, -1))

    @torch.no_grad()
    def kl_per_dimension(self, observed: torch.Tensor, future: torch.Tensor, partner=None, has_partner=None):
        """KL of the recognition distribution from N(0, I) per latent dimension, averaged over the
        batch, ``(latent,)`` nats: ``observed (B, 16, 13, 3)``, ``future (B, F, 13, 3)``."""
        _, local_velocity = self.observed_velocities(observed)
        future_velocity = future_velocities(observed, future) if self.net_l.conditional else None
        _, mean, log_var = self.net_l.encode(local_velocity, future_velocity)
        return kl_divergence(mean, log_var).mean(dim=0)

