"""What the shipped model adds to the paper's DeRPoF (:mod:`posepred.derpof`), each one measured.

Five fine-tuning seeds each, cross-validated by sequence on valid, mean VIM over the 14 future
frames (``results/ablations.md``; lower is better):

1. :class:`OutputSteps` ``residual_damping``: the networks predict a *correction* on top of the
   damped-velocity extrapolation ``v_k = 0.8^k v`` instead of the motion itself. The extrapolation is
   a strong baseline at short horizons, so the networks only learn what physics gets wrong.
2. :class:`OutputSteps` ``skeleton``: every predicted frame is put back on the rigid bone lengths of
   the last observed frame (:func:`posepred.skeleton.enforce_bone_lengths`), in training too.
   Without it: 48.52 instead of 46.61 cm, and rigid bones drift by up to 161% (damped velocity).
3. :class:`ConditionalLocalVAE`: the paper's VAE collapses (its encoder sees only the past, which
   the decoder already has: KL about 1e-6 nats, 0 of 32 latent dimensions in use). Here the
   recognition network q(z | past, future) reads the future in training, a deterministic summary of
   the past feeds the decoder, z also enters net_g, *free bits* leave each dimension's first nat of
   KL unpenalised (Kingma et al. 2016, https://arxiv.org/abs/1606.04934), and at test time z comes
   from the prior N(0, I) (Sohn et al. 2015, conditional VAE). z = 0 is the deterministic prediction,
   and the loss trains it too (``prior_mean_loss``; without it 47.94 cm). All 32 dimensions stay in
   use and the best of 20 samples is about 17% closer to the truth than z = 0.
4. :class:`SocialEncoder`: net_g and net_l also read the other person's hip-centre trajectory,
   relative to this person. It adds nothing measurable yet (46.49 without it, 46.61 with it).

:class:`DeRPoFPlus` is the paper's model with these additions switched on by its arguments.
"""

from __future__ import annotations

import torch
from torch import nn

from .baselines import damped_displacement
from .derpof import (
    N_FUTURE,
    DeRPoF,
    FeedbackDecoder,
    derpof_loss,
    future_velocities,
    kl_divergence,
    observed_velocities,
    reparameterise,
    to_positions,
)
from .motion import hip_centre
from .skeleton import N_COORDS, enforce_bone_lengths, rigid_bone_lengths


class OutputSteps(nn.Module):
    """Additions 1 and 2, on predicted positions ``(B, F, 13, 3)`` given ``observed (B, T, 13, 3)``;
    no weights, so any forecaster can use them."""

    def __init__(self, residual_damping: float | None = None, skeleton: bool = False):
        super().__init__()
        self.residual_damping, self.skeleton = residual_damping, skeleton

    def forward(self, positions: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        if self.residual_damping is not None:  # 1. add the damped extrapolation: step k moves f**k * v
            positions = positions + damped_displacement(observed, self.residual_damping, positions.shape[1])
        if self.skeleton:  # 2. keep every rigid bone at its last observed length
            positions = enforce_bone_lengths(positions, rigid_bone_lengths(observed[:, -1]))
        return positions


class SocialEncoder(nn.Module):
    """Addition 4: the other person relative to this one, ``(B, T-1, 6)`` features (partner hip centre
    minus own, partner hip velocity) -> additive contexts for net_g's and net_l's decoder states,
    ``(B, hidden)`` each. Its output layer starts at zero, so a model without a partner is unchanged."""

    def __init__(self, hidden_dim: int = 64):
        super().__init__()
        self.lstm = nn.LSTM(6, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, 2 * hidden_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, observed, partner, has_partner) -> tuple[torch.Tensor, torch.Tensor]:
        """``observed``, ``partner (B, T, 13, 3)``, ``has_partner (B,)`` -> contexts for net_g, net_l."""
        own, other = hip_centre(observed), hip_centre(partner)
        features = torch.cat([(other - own)[:, 1:], other[:, 1:] - other[:, :-1]], dim=-1)
        _, (h, _) = self.lstm(features)
        return (self.out(h[-1]) * has_partner.view(-1, 1).to(h.dtype)).chunk(2, dim=-1)


class ConditionalLocalVAE(nn.Module):
    """Addition 3, ``net_l`` as a conditional VAE: the past's summary ``(B, hidden)`` always feeds the
    decoder; q(z | past, future) reads the true future global and local velocities ``(B, F, 42)`` in
    training; without a future, z's distribution is the prior N(0, I)."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, dropout: float = 0.2):
        super().__init__()
        self.latent_dim = latent_dim
        self.past = nn.LSTM(N_COORDS, hidden_dim, num_layers=2, batch_first=True, dropout=dropout)
        self.future = nn.LSTM(3 + N_COORDS, hidden_dim, batch_first=True)
        self.posterior = nn.Linear(2 * hidden_dim, 2 * latent_dim)
        self.init_hidden = nn.Linear(latent_dim + hidden_dim, hidden_dim)
        self.decoder = FeedbackDecoder(N_COORDS, N_COORDS, hidden_dim, dropout)
        self.to_global = nn.Linear(latent_dim, hidden_dim)  # z's share of net_g's initial state

    def encode(self, velocity: torch.Tensor, future: torch.Tensor | None = None):
        """Past ``(B, T, 39)`` -> its summary ``(B, hidden)`` and mean, log_var ``(B, latent)``."""
        summary = self.past(velocity)[0][:, -1]
        if future is None:  # the prior N(0, I)
            zeros = summary.new_zeros(len(summary), self.latent_dim)
            return summary, zeros, zeros
        mean, log_var = self.posterior(torch.cat([summary, self.future(future)[0][:, -1]], -1)).chunk(2, dim=-1)
        return summary, mean, log_var


def future_features(observed: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
    """The true future as q reads it: global and flattened local velocities ``(B, F, 42)``."""
    global_velocity, local_velocity = future_velocities(observed, future)
    return torch.cat([global_velocity, local_velocity.flatten(-2)], dim=-1)


class DeRPoFPlus(DeRPoF):
    """The paper's model with the additions above; ``vae="original"`` keeps the paper's net_l (the
    other person then needs the conditional VAE)."""

    def __init__(self, hidden_dim: int = 64, latent_dim: int = 32, embedding_dim: int = 8, dropout: float = 0.2,
                 residual_damping: float | None = None, skeleton: bool = False, vae: str = "original",
                 social: bool = False):
        super().__init__(hidden_dim, latent_dim, embedding_dim, dropout)
        if vae not in ("original", "conditional") or (social and vae != "conditional"):
            raise ValueError(f"vae must be 'original' or 'conditional' (social needs 'conditional'), got {vae!r}")
        if vae == "conditional":
            self.net_l = ConditionalLocalVAE(hidden_dim, latent_dim, dropout)
        self.social = SocialEncoder(hidden_dim) if social else None
        self.steps = OutputSteps(residual_damping, skeleton)
        self.conditional = vae == "conditional"

    def forward(self, observed, n_future: int = N_FUTURE, sample: bool = False, partner=None, has_partner=None,
                future=None, prior_mean_too: bool = False):
        """As :meth:`DeRPoF.forward`, plus ``partner (B, T, 13, 3)`` with ``has_partner (B,)`` (the
        other person), ``future (B, F, 13, 3)`` (training: z from q(z | past, future)), and
        ``prior_mean_too`` (also decode z = 0 in the same pass: positions are then ``(2B, ...)``)."""
        if not self.conditional:
            positions, mean, log_var = super().forward(observed, n_future, sample)
            return self.steps(positions, observed), mean, log_var
        global_velocity, local_velocity = observed_velocities(observed)
        summary, mean, log_var = self.net_l.encode(
            local_velocity, None if future is None else future_features(observed, future))
        z = reparameterise(mean, log_var) if sample else mean
        h_g, c_g = self.net_g.encode(global_velocity)
        h_l = torch.zeros_like(h_g)
        if self.social is not None and partner is not None:
            if has_partner is None:
                has_partner = torch.ones(len(observed), dtype=torch.bool, device=observed.device)
            social_g, h_l = self.social(observed, partner, has_partner)
            h_g = h_g + social_g
        if prior_mean_too:  # the same sequences again, decoded from z = 0
            z = torch.cat([z, torch.zeros_like(z)])
            observed, global_velocity, local_velocity, summary, h_g, c_g, h_l = (
                torch.cat([x, x]) for x in (observed, global_velocity, local_velocity, summary, h_g, c_g, h_l))
        h_l = h_l + self.net_l.init_hidden(torch.cat([z, summary], dim=-1))
        future_global = self.net_g.decoder((h_g + self.net_l.to_global(z), c_g), global_velocity[:, -1], n_future,
                                           self.net_g.embed)
        future_local = self.net_l.decoder((h_l, torch.zeros_like(h_l)), local_velocity[:, -1], n_future)
        return self.steps(to_positions(observed, future_global, future_local), observed), mean, log_var

    @torch.no_grad()
    def predict(self, observed, partner=None, n_samples: int | None = None, n_future: int = N_FUTURE) -> torch.Tensor:
        """The forecaster protocol (:mod:`posepred.forecasters`), in eval mode: ``(B, F, 13, 3)`` from
        the deterministic z, or ``(K, B, F, 13, 3)`` from ``n_samples=K`` draws of z."""
        was_training = self.training
        self.eval()
        try:
            if n_samples is None:
                return self(observed, n_future, partner=partner)[0]

            def repeat(x):
                return None if x is None else x.repeat(n_samples, *(1,) * (x.dim() - 1))
            positions = self(repeat(observed), n_future, sample=True, partner=repeat(partner))[0]
            return positions.unflatten(0, (n_samples, -1))
        finally:
            self.train(was_training)

    @torch.no_grad()
    def kl_per_dimension(self, observed, future) -> torch.Tensor:
        """KL of q from N(0, I) per latent dimension, averaged over ``observed (B, T, 13, 3)``, ``(latent,)``."""
        _, local_velocity = observed_velocities(observed)
        if self.conditional:
            _, mean, log_var = self.net_l.encode(local_velocity, future_features(observed, future))
        else:
            mean, log_var = self.net_l.encode(local_velocity)
        return kl_divergence(mean, log_var).mean(dim=0)


def derpof_plus_loss(model: DeRPoFPlus, observed, future, partner=None, has_partner=None, local_weight=0.1,
                     kl_weight=0.01, free_bits=0.0, prior_mean_loss=True, sample=True):
    """:func:`~posepred.derpof.derpof_loss` with addition 3's terms: KL per dimension raised to at
    least ``free_bits`` nats, and (``prior_mean_loss``, conditional VAE) the prediction from z = 0
    scored as well. Returns the loss, its named terms and the predicted positions ``(B, F, 13, 3)``
    (from z = 0 when it was decoded)."""
    conditional = model.conditional and sample
    both = conditional and prior_mean_loss
    positions, mean, log_var = model(observed, future.shape[1], sample, partner, has_partner,
                                     future if conditional else None, prior_mean_too=both)
    if model.conditional and not sample:  # the prior predicts; the KL of q(z | past, future) is still reported
        kl_dims = model.kl_per_dimension(observed, future)
    else:
        kl_dims = kl_divergence(mean, log_var).mean(dim=0)
    kl = kl_dims.clamp(min=free_bits).sum()
    n = len(observed)
    loss, terms = derpof_loss(positions[:n], future, observed, kl, local_weight, kl_weight)
    if both:
        prior_loss, prior_terms = derpof_loss(positions[n:], future, observed, kl.new_zeros(()), local_weight, 0.0)
        loss = loss + prior_loss
        terms |= {f"prior_mean_{k}": v for k, v in prior_terms.items() if k != "kl"}
    return loss, terms, positions[-n:]
