"""Positions <-> velocities, and the global (hip-centre) / local split at the heart of DeRPoF.

All functions take torch tensors shaped ``(..., frames, 13, 3)`` and are exact inverses of each
other up to floating-point rounding:

    velocities = positions_to_velocities(positions)            # (..., frames - 1, 13, 3)
    global_velocity, local_velocity = split_global_local(velocities)
    velocities = combine_global_local(global_velocity, local_velocity)
    positions[..., 1:, :, :] == velocities_to_positions(positions[..., 0, :, :], velocities)
"""

from __future__ import annotations

import torch

from .skeleton import HIP_JOINTS


def positions_to_velocities(positions: torch.Tensor) -> torch.Tensor:
    """Frame-to-frame displacement ``s[t] = p[t] - p[t-1]``: ``(..., F, J, 3) -> (..., F-1, J, 3)``."""
    return positions[..., 1:, :, :] - positions[..., :-1, :, :]


def hip_centre(positions: torch.Tensor) -> torch.Tensor:
    """Mean of the two hip joints: ``(..., J, 3) -> (..., 3)``."""
    return positions[..., list(HIP_JOINTS), :].mean(dim=-2)


def split_global_local(velocities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split joint velocities into the hip-centre motion and each joint's motion relative to it.

    ``(..., F, J, 3)`` -> global velocity ``(..., F, 3)`` and local velocity ``(..., F, J, 3)``.
    """
    global_velocity = hip_centre(velocities)
    return global_velocity, velocities - global_velocity.unsqueeze(-2)


def combine_global_local(global_velocity: torch.Tensor, local_velocity: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_global_local`: ``(..., F, 3), (..., F, J, 3) -> (..., F, J, 3)``."""
    return local_velocity + global_velocity.unsqueeze(-2)


def velocities_to_positions(last_pose: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
    """Integrate velocities from the last observed pose ("speed2pos").

    ``last_pose (..., J, 3)``, ``velocities (..., F, J, 3)`` -> positions ``(..., F, J, 3)`` where
    frame ``k`` is ``last_pose + velocities[0] + ... + velocities[k]``.
    """
    return last_pose.unsqueeze(-3) + torch.cumsum(velocities, dim=-3)
