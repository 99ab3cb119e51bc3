"""Pictures of the VAE: which latent dimensions carry information, and what its samples look like.

- :func:`plot_kl_per_dimension`: KL of each latent dimension on held-out data, one bar group per
  model (a collapsed VAE has every bar at ~0).
- :func:`plot_sample_fan`: a person's observed path, the true future and K sampled futures, seen
  from above (hip centre) and for one wrist.
- :func:`plot_best_of_k`: best-of-K VIM (an oracle) against K, with the deterministic prediction.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .metrics import ACTIVE_KL_NATS


def plot_kl_per_dimension(kl: dict[str, np.ndarray], threshold: float = ACTIVE_KL_NATS):
    """Bars of KL per latent dimension (nats, log scale) for each named model ``{name: (latent,)}``."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / max(len(kl), 1)
    for i, (name, values) in enumerate(kl.items()):
        values = np.maximum(np.asarray(values, dtype=float), 1e-8)  # log axis: show ~0 as 1e-8
        active = int((values > threshold).sum())
        ax.bar(np.arange(len(values)) + i * width, values, width, label=f"{name}: {active} active")
    ax.axhline(threshold, color="k", linestyle="--", linewidth=1, label=f"active: KL > {threshold} nats")
    ax.set_yscale("log")
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("KL to the prior (nats)")
    ax.set_title("How much each latent dimension carries (held-out samples)")
    # below the axes: inside, it would cover bars of one model or the other
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(kl) + 1, frameon=False)
    fig.tight_layout()
    return fig


def _hip_path(poses: np.ndarray) -> np.ndarray:
    """``(..., F, 13, 3)`` -> hip-centre ground track ``(..., F, 2)`` (x, z)."""
    return poses[..., :2, :].mean(axis=-2)[..., [0, 2]]


def plot_sample_fan(observed: np.ndarray, samples: np.ndarray, future: np.ndarray, deterministic=None,
                    wrist: int = 12, title: str = ""):
    """One person: ``observed (16, 13, 3)``, ``samples (K, 14, 13, 3)``, ``future (14, 13, 3)`` and
    optionally the deterministic prediction ``(14, 13, 3)``. Left: the hip centre seen from above;
    right: the height of one wrist (joint 12, right wrist) over time."""
    fig, (top, side) = plt.subplots(1, 2, figsize=(9, 3.6))
    last = observed[-1:]
    for k, sample in enumerate(samples):
        label = f"{len(samples)} samples from the prior" if k == 0 else None
        path = _hip_path(np.concatenate([last, sample]))
        top.plot(path[:, 0], path[:, 1], color="tab:red", alpha=0.35, linewidth=1, label=label)
        side.plot(np.arange(16, 31), np.concatenate([last, sample])[:, wrist, 1], color="tab:red", alpha=0.35,
                  linewidth=1, label=label)
    for poses, colour, label, start in ((observed, "tab:blue", "observed", 1),
                                        (np.concatenate([last, future]), "tab:green", "truth", 16),
                                        (None if deterministic is None else np.concatenate([last, deterministic]),
                                         "k", "prediction (z = 0)", 16)):
        if poses is None:
            continue
        path = _hip_path(poses)
        top.plot(path[:, 0], path[:, 1], color=colour, linewidth=2, label=label)
        side.plot(np.arange(start, start + len(poses)), poses[:, wrist, 1], color=colour, linewidth=2, label=label)
    top.set_aspect("equal", adjustable="datalim")
    top.set_xlabel("x (m)")
    top.set_ylabel("z (m)")
    top.set_title("hip centre, seen from above")
    side.set_xlabel("frame (15 per second; 16 observed)")
    side.set_ylabel("wrist height y (m)")
    side.set_title("right wrist")
    side.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_best_of_k(best_of: dict[int, float], deterministic: float, metric: str = "mean VIM over 14 frames"):
    """Best-of-K VIM ``{K: cm}`` against K (log axis), with the deterministic prediction as a line."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ks = sorted(best_of)
    ax.plot(ks, [best_of[k] for k in ks], "o-", color="tab:red", label="best of K samples (oracle)")
    ax.axhline(deterministic, color="k", linestyle="--", label="deterministic prediction (z = 0)")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("K, samples drawn per person")
    ax.set_ylabel(f"{metric} (cm)")
    ax.set_title("What the samples cover")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
