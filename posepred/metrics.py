"""Forecasting metrics. Predictions and targets are shaped ``(..., 14, 13, 3)`` in metres.

- **VIM** (SoMoF official): per person and future frame, ``sqrt(sum of squared error over the 39
  coordinates)``, in centimetres, averaged over every person of every sample.
- **ADE/FDE, rms form** (the seed scripts' numbers): per frame ``sqrt(sum sq / 13)``, the
  root-mean-square joint error in metres; ADE averages frames, FDE takes the last.
- **ADE/FDE, MPJPE form**: mean per-joint Euclidean error in metres.
"""

from __future__ import annotations

import numpy as np
import torch

from .skeleton import RIGID_BONES, bone_lengths

HORIZON_FRAMES = (1, 3, 7, 9, 13)  # 0-based future frame index of each reported horizon
HORIZON_MS = (100, 240, 500, 640, 900)
ACTIVE_KL_NATS = 0.01  # a latent dimension is active when its KL on held-out data exceeds this (nats)


def _pair(prediction, target) -> tuple[torch.Tensor, torch.Tensor]:
    # metrics are computed in float64 on the CPU (MPS has no float64; GPU results come back anyway)
    prediction = torch.as_tensor(prediction).detach().to("cpu", torch.float64)
    target = torch.as_tensor(target).detach().to("cpu", torch.float64)
    if prediction.shape != target.shape or prediction.shape[-2:] != (13, 3) or prediction.dim() < 3:
        raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} "
                         "must have the same shape (..., frames, 13, 3)")
    return prediction, target


def _per_frame(prediction, target) -> torch.Tensor:
    """Squared error summed over joints and xyz, flattened to ``(persons, frames)``."""
    prediction, target = _pair(prediction, target)
    squared = ((prediction - target) ** 2).sum(dim=(-1, -2))
    return squared.reshape(-1, squared.shape[-1])


def vim_per_frame(prediction, target) -> np.ndarray:
    """Official SoMoF VIM in cm for every future frame, ``(frames,)``."""
    return (_per_frame(prediction, target).sqrt().mean(dim=0) * 100).cpu().numpy()


def vim_at_horizons(prediction, target) -> dict[int, float]:
    """VIM in cm at 100/240/500/640/900 ms (future frames 2, 4, 8, 10, 14)."""
    per_frame = vim_per_frame(prediction, target)
    return {ms: float(per_frame[f]) for ms, f in zip(HORIZON_MS, HORIZON_FRAMES)}


def rms_joint_error(prediction, target) -> torch.Tensor:
    """Root-mean-square joint error per person and frame, metres, ``(persons, frames)``."""
    return (_per_frame(prediction, target) / 13).sqrt()


def mpjpe(prediction, target) -> torch.Tensor:
    """Mean per-joint position error per person and frame, metres, ``(persons, frames)``."""
    prediction, target = _pair(prediction, target)
    errors = (prediction - target).norm(dim=-1).mean(dim=-1)
    return errors.reshape(-1, errors.shape[-1])


def summary(prediction, target) -> dict[str, float]:
    """Every reported number: ``vim_100`` .. ``vim_900``, ``vim_mean`` (mean over all future frames),
    ``ade_rms``, ``fde_rms`` (metres, rms over joints), ``ade_mpjpe``, ``fde_mpjpe`` (metres)."""
    per_frame = vim_per_frame(prediction, target)
    rms = rms_joint_error(prediction, target)
    per_joint = mpjpe(prediction, target)
    result = {f"vim_{ms}": float(per_frame[f]) for ms, f in zip(HORIZON_MS, HORIZON_FRAMES)}
    result["vim_mean"] = float(per_frame.mean())
    result.update(ade_rms=float(rms.mean()), fde_rms=float(rms[:, -1].mean()),
                  ade_mpjpe=float(per_joint.mean()), fde_mpjpe=float(per_joint[:, -1].mean()))
    return result


def vim_per_sample(prediction, target) -> np.ndarray:
    """VIM in cm of each sample, mean over its persons and frames: ``(N, persons, F, 13, 3)`` -> ``(N,)``.
    Their mean is ``summary``'s ``vim_mean`` when every sample has the same number of persons."""
    return (_per_frame(prediction, target).sqrt().reshape(len(target), -1).mean(dim=1) * 100).cpu().numpy()


def samples_better_than(predictions, reference, future) -> int:
    """How many samples ``predictions`` score better than ``reference`` on (:func:`vim_per_sample`),
    ``(N, 2, F, 13, 3)`` each."""
    return int((vim_per_sample(predictions, future) < vim_per_sample(reference, future)).sum())


def bone_drift(predictions, last_observed, threshold: float = 0.10) -> dict[str, float]:
    """How far predicted bone lengths drift from the last observed frame (see the README, Metrics).

    ``predictions (..., F, 13, 3)`` and ``last_observed (..., 13, 3)``. Drift of a bone in a frame is
    ``|length - observed length| / observed length``. Returns percentages over the 9 rigid bones
    (:data:`posepred.skeleton.RIGID_BONES`): ``bone_drift_mean``, ``bone_drift_max`` and
    ``bone_drift_over_10`` (share of person-frames with any rigid bone off by more than
    ``threshold``), and ``edge_drift_over_10``, the same share over all 14 skeleton edges.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    last_observed = np.asarray(last_observed, dtype=np.float64)
    if predictions.shape[-2:] != (13, 3) or last_observed.shape != predictions.shape[:-3] + (13, 3):
        raise ValueError(f"bone_drift: predictions {predictions.shape} need last_observed shaped "
                         f"{predictions.shape[:-3] + (13, 3)}, got {last_observed.shape}")
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite input: caught by the callers' checks
        reference = np.maximum(bone_lengths(last_observed), 1e-6)[..., None, :]  # (..., 1, 14)
        drift = np.abs(bone_lengths(predictions) - reference) / reference  # (..., F, 14)
    drift = drift.reshape(-1, drift.shape[-1])  # (person-frames, 14)
    rigid = drift[:, list(RIGID_BONES)]
    return {"bone_drift_mean": float(100 * rigid.mean()), "bone_drift_max": float(100 * rigid.max()),
            "bone_drift_over_10": float(100 * (rigid > threshold).any(axis=1).mean()),
            "edge_drift_over_10": float(100 * (drift > threshold).any(axis=1).mean())}


def apd(samples) -> float:
    """Average pairwise distance of K samples ``(K, ..., F, 13, 3)``, in cm: for each person, the
    mean over all pairs of samples of their distance (Euclidean norm over the 39 coordinates),
    averaged over the F frames; then the mean over persons. Needs K >= 2."""
    samples = torch.as_tensor(np.asarray(samples), dtype=torch.float64)
    if samples.dim() < 4 or samples.shape[-2:] != (13, 3) or len(samples) < 2:
        raise ValueError(f"apd: expected at least 2 samples shaped (K, ..., frames, 13, 3), got {tuple(samples.shape)}")
    flat = samples.flatten(-2).flatten(1, -3).permute(1, 2, 0, 3)  # (persons, F, K, 39)
    k = flat.shape[2]
    distances = torch.cdist(flat, flat, compute_mode="donot_use_mm_for_euclid_dist")  # (persons, F, K, K)
    pairs = distances.sum(dim=(-1, -2)) / (k * (k - 1))  # the diagonal is zero
    return float(100 * pairs.mean(dim=1).mean())
