"""The 13-joint SoMoF skeleton: joint names, bones, left/right mirror pairs, hips.

Joint positions are arrays shaped ``(..., 13, 3)`` in metres, y pointing up.
"""

from __future__ import annotations

import numpy as np
import torch

JOINT_NAMES: tuple[str, ...] = (
    "left hip", "right hip", "left knee", "right knee", "left ankle", "right ankle", "head",
    "left shoulder", "right shoulder", "left elbow", "right elbow", "left wrist", "right wrist",
)
N_JOINTS = len(JOINT_NAMES)
N_COORDS = 3 * N_JOINTS  # 39 numbers per person per frame

BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (7, 0), (8, 1),
    (7, 8), (6, 7), (6, 8), (7, 9), (9, 11), (8, 10), (10, 12),
)
# The 9 bones whose length never changes in the SoMoF ground truth (indices into BONES): hip width,
# thighs, shins, upper arms, forearms. The torso and head edges vary with joint placement.
RIGID_BONES: tuple[int, ...] = (0, 1, 2, 3, 4, 10, 11, 12, 13)
MIRROR_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (2, 3), (4, 5), (7, 8), (9, 10), (11, 12))
HIP_JOINTS: tuple[int, int] = (0, 1)


def mirror_permutation() -> list[int]:
    """Joint order after swapping left and right: ``positions[..., perm, :]``."""
    perm = list(range(N_JOINTS))
    for left, right in MIRROR_PAIRS:
        perm[left], perm[right] = right, left
    return perm


def bone_lengths(positions):
    """Length of every bone, ``(..., 13, 3) -> (..., 14)``; numpy arrays or torch tensors."""
    starts = [a for a, _ in BONES]
    ends = [b for _, b in BONES]
    diff = positions[..., starts, :] - positions[..., ends, :]
    if isinstance(diff, np.ndarray):
        return np.linalg.norm(diff, axis=-1)
    return diff.norm(dim=-1)


def rigid_bone_lengths(positions):
    """Lengths of the 9 rigid bones (``RIGID_BONES`` order), ``(..., 13, 3) -> (..., 9)``."""
    return bone_lengths(positions)[..., list(RIGID_BONES)]


def _unit(vectors: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    return vectors / torch.sqrt((vectors * vectors).sum(dim=-1, keepdim=True) + eps * eps)


def enforce_bone_lengths(positions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Give every frame the person's rigid bone lengths, keeping the predicted bone directions.

    ``positions (..., F, 13, 3)``, ``lengths (..., 9)`` (``RIGID_BONES`` order, e.g. from the last
    observed frame) -> ``(..., F, 13, 3)``. One step along the kinematic tree: the hips are placed
    symmetrically about their predicted centre, then each knee, ankle, elbow and wrist is put at its
    bone's length from its (already corrected) parent, along the predicted parent-to-child
    direction. The hip centre, shoulders and head are kept, so the global motion is unchanged; the
    torso and head edges stay free, as in the ground truth. Differentiable, used in training too.
    """
    joints = list(positions.unbind(dim=-2))
    lengths = lengths.unsqueeze(-2).to(positions.dtype)  # (..., 1, 9): the same for every frame
    centre = (joints[0] + joints[1]) / 2
    half_width = _unit(joints[0] - joints[1]) * lengths[..., 0:1] / 2
    corrected = list(joints)
    corrected[0], corrected[1] = centre + half_width, centre - half_width
    for k, bone in enumerate(RIGID_BONES[1:], start=1):
        parent, child = BONES[bone]
        corrected[child] = corrected[parent] + _unit(joints[child] - joints[parent]) * lengths[..., k:k + 1]
    return torch.stack(corrected, dim=-2)
