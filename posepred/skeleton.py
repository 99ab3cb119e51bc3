"""The 13-joint SoMoF skeleton: joint names, bones, left/right mirror pairs, hips.

Joint positions are arrays shaped ``(..., 13, 3)`` in metres, y pointing up.
"""

from __future__ import annotations

import numpy as np

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
