"""Forecasters: anything that maps observed positions to future positions, by name.

A forecaster here is an object with

    predict(observed, partner=None, n_samples=None) -> positions

``observed (B, T, 13, 3)`` in metres (``partner``: the other person of each scene, same shape, or
None) -> ``(B, F, 13, 3)``, or ``(K, B, F, 13, 3)`` with ``n_samples=K`` for forecasters that sample.
A forecaster that is a ``torch.nn.Module`` gets tensors in its weights' dtype and device and is put
in eval mode; any other gets float64 tensors on the CPU (cast them for a network inside).
Cross-validation, scoring, results and the report need nothing more. A *learned* family also
registers how to build its ``torch.nn.Module`` from a :class:`~posepred.config.Config` and its
training loss, so :class:`posepred.trainer.Trainer` and :mod:`posepred.checkpoint` work for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .additions import DeRPoFPlus, derpof_plus_loss
from .config import Config


@dataclass(frozen=True)
class Family:
    """A learned forecaster family: ``build(config) -> nn.Module`` and
    ``loss(model, batch, config, epoch) -> (loss, {name: value}, predicted positions)``."""

    build: Callable[[Config], torch.nn.Module]
    loss: Callable
    samples: bool = True  # whether its models draw samples (predict(..., n_samples=K))


def _derpof() -> Family:
    def build(config: Config) -> torch.nn.Module:
        return DeRPoFPlus(config.hidden_dim, config.latent_dim, config.embedding_dim, config.dropout,
                          config.residual_damping, config.skeleton, config.vae, config.social)

    def loss(model, batch, config: Config, epoch: int = 0):
        ramp = 1.0 if config.kl_anneal_epochs <= 0 else min(1.0, (epoch + 1) / config.kl_anneal_epochs)
        return derpof_plus_loss(model, batch.observed, batch.future, batch.partner, batch.has_partner,
                                config.local_weight, config.kl_weight * ramp, config.free_bits,
                                config.prior_mean_loss, sample=model.training)
    return Family(build, loss)


def _simlpe() -> Family:
    from .simlpe import SiMLPe, simlpe_loss

    def build(config: Config) -> torch.nn.Module:
        return SiMLPe(config.mlp_blocks, config.residual_damping, config.skeleton)

    def loss(model, batch, config: Config, epoch: int = 0):
        return simlpe_loss(model, batch.observed, batch.future)
    return Family(build, loss, samples=False)


FAMILIES: dict[str, Callable[[], Family]] = {"derpof": _derpof, "simlpe": _simlpe}


class Ensemble:
    """The equal-weight average of several forecasters' deterministic predictions (it does not sample)."""

    def __init__(self, members: list):
        self.members = list(members)

    def predict(self, observed, partner=None, n_samples=None) -> torch.Tensor:
        if n_samples is not None:
            raise ValueError("an ensemble of deterministic predictions does not sample")
        return torch.stack([_predict(m, observed, partner) for m in self.members]).mean(dim=0)


def _predict(forecaster, observed: torch.Tensor, partner) -> torch.Tensor:
    """One member's prediction in the dtype and on the device of ``observed`` (members may differ)."""
    parameter = next(forecaster.parameters(), None) if isinstance(forecaster, torch.nn.Module) else None
    cast = (lambda x: x) if parameter is None else (lambda x: None if x is None else x.to(parameter))
    return forecaster.predict(cast(observed), partner=cast(partner)).to(observed)


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown forecaster family {name!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[name]()


def build_model(config: Config) -> torch.nn.Module:
    """The untrained model ``config`` describes (its ``model`` family and sizes)."""
    return family(config.model).build(config)
