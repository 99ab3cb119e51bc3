import numpy as np
import torch

from posepred.motion import (
    combine_global_local,
    hip_centre,
    positions_to_velocities,
    split_global_local,
    velocities_to_positions,
)
from posepred.skeleton import BONES, JOINT_NAMES, MIRROR_PAIRS, N_JOINTS, bone_lengths, mirror_permutation


def test_skeleton_tables_are_consistent():
    assert N_JOINTS == len(JOINT_NAMES) == 13
    perm = mirror_permutation()
    assert [perm[p] for p in perm] == list(range(13))  # an involution
    for left, right in MIRROR_PAIRS:
        assert JOINT_NAMES[left].startswith("left") and JOINT_NAMES[right] == JOINT_NAMES[left].replace("left", "right")
    mirrored = {tuple(sorted((perm[a], perm[b]))) for a, b in BONES}
    assert mirrored == {tuple(sorted(b)) for b in BONES}  # bones map onto bones


def test_bone_lengths_numpy_and_torch_agree(valid):
    poses = valid.observed[0, 0]
    lengths = bone_lengths(poses)
    assert lengths.shape == (16, len(BONES))
    np.testing.assert_allclose(bone_lengths(torch.as_tensor(poses)).numpy(), lengths)
    assert 0.05 < lengths.min() and lengths.max() < 0.7


def test_positions_velocities_round_trip(valid):
    positions = torch.as_tensor(valid.observed)  # (N, 2, 16, 13, 3) float64
    velocities = positions_to_velocities(positions)
    assert velocities.shape == (36, 2, 15, 13, 3)
    rebuilt = velocities_to_positions(positions[..., 0, :, :], velocities)
    torch.testing.assert_close(rebuilt, positions[..., 1:, :, :], rtol=0, atol=1e-12)


def test_global_local_round_trip_and_meaning():
    velocities = torch.randn(4, 15, 13, 3, dtype=torch.float64)
    global_velocity, local_velocity = split_global_local(velocities)
    assert global_velocity.shape == (4, 15, 3) and local_velocity.shape == (4, 15, 13, 3)
    torch.testing.assert_close(combine_global_local(global_velocity, local_velocity), velocities)
    # the hip centre has no local motion, and the global part is the hip-centre velocity
    torch.testing.assert_close(hip_centre(local_velocity), torch.zeros(4, 15, 3, dtype=torch.float64))
    torch.testing.assert_close(global_velocity, hip_centre(velocities))


def test_float32_round_trip_is_exact_to_float_precision():
    positions = torch.randn(8, 30, 13, 3)
    velocities = positions_to_velocities(positions)
    g, loc = split_global_local(velocities)
    rebuilt = velocities_to_positions(positions[:, 0], combine_global_local(g, loc))
    torch.testing.assert_close(rebuilt, positions[:, 1:], rtol=0, atol=1e-5)


def test_enforcing_bone_lengths_fixes_stretched_limbs_and_keeps_the_rest(valid):
    from posepred.skeleton import RIGID_BONES, enforce_bone_lengths, rigid_bone_lengths

    poses = torch.as_tensor(valid.future[:4]).flatten(0, 1)  # (8, 14, 13, 3)
    lengths = rigid_bone_lengths(torch.as_tensor(valid.observed[:4, :, -1]).flatten(0, 1))
    assert len(RIGID_BONES) == 9 and [BONES[b] for b in RIGID_BONES][:3] == [(0, 1), (0, 2), (2, 4)]
    # the truth already has these lengths: nothing moves
    torch.testing.assert_close(enforce_bone_lengths(poses, lengths), poses)
    stretched = poses.clone()
    stretched[..., 11, :] += 0.3 * (stretched[..., 11, :] - stretched[..., 9, :])  # left forearm 30% longer
    stretched[..., 0, :] += 0.05  # a hip pushed off
    predicted = stretched + 0.02 * torch.randn_like(stretched)
    fixed = enforce_bone_lengths(predicted, lengths)
    torch.testing.assert_close(rigid_bone_lengths(fixed), lengths[:, None].expand(-1, 14, -1))
    torch.testing.assert_close(hip_centre(fixed), hip_centre(predicted))  # the global motion is unchanged
    # shoulders and head are kept; the correction is differentiable
    noisy = stretched.clone().requires_grad_(True)
    out = enforce_bone_lengths(noisy, lengths)
    torch.testing.assert_close(out[..., [6, 7, 8], :], noisy[..., [6, 7, 8], :])
    out.sum().backward()
    assert torch.isfinite(noisy.grad).all()
