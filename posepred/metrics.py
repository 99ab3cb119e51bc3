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

HORIZON_FRAMES = (1, 3, 7, 9, 13)  # 0-based future frame index of each reported horizon
HORIZON_MS = (100, 240, 500, 640, 900)


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


COLUMNS = ("vim_100", "vim_240", "vim_500", "vim_640", "vim_900", "vim_mean",
           "ade_rms", "fde_rms", "ade_mpjpe", "fde_mpjpe")
HEADERS = ("100ms", "240ms", "500ms", "640ms", "900ms", "mean14",
           "ADE rms", "FDE rms", "ADE mpjpe", "FDE mpjpe")


def format_table(rows: dict[str, dict[str, float]], markdown: bool = False) -> str:
    """A table of :func:`summary` rows: VIM in cm, ADE/FDE in metres; missing values as '-'."""
    def cell(row, key):
        value = row.get(key)
        if value is None:
            return "-"
        return f"{value:.2f}" if key.startswith("vim") else f"{value:.4f}"

    names = list(rows)
    width = max([9] + [len(n) for n in names])
    if markdown:
        lines = ["| predictor | " + " | ".join(HEADERS) + " |", "|---" * (len(HEADERS) + 1) + "|"]
        lines += [f"| {n} | " + " | ".join(cell(rows[n], k) for k in COLUMNS) + " |" for n in names]
    else:
        lines = [f"{'predictor':<{width}}  " + "  ".join(f"{h:>9}" for h in HEADERS)]
        lines += [f"{n:<{width}}  " + "  ".join(f"{cell(rows[n], k):>9}" for k in COLUMNS) for n in names]
    note = "(VIM in cm; ADE/FDE in metres: rms = root-mean-square over joints, mpjpe = mean per-joint error)"
    return "\n".join(lines) + ("\n\n" if markdown else "\n") + note
