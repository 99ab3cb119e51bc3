import json
from pathlib import Path

import numpy as np
import pytest
import torch

from posepred.bvh import quaternion_to_rotmat, read_bvh
from posepred.data import DataError, load_split
from posepred.mocap import (
    MAX_STEP_30HZ,
    expmap_to_rotmat,
    facing_chirality,
    load_corpus_clips,
    load_corpus_windows,
    read_cmu_txt,
    resample,
    split_at_jumps,
)
from posepred.skeleton import bone_lengths, mirror_permutation
from posepred.windows import mirror

LIMBS = [0, 1, 2, 3, 4, 10, 11, 12, 13]  # rigid bones: hips, legs, arms (the torso bends)

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "mocap_cmu"
needs_source = pytest.mark.skipif(
    not SOURCE.is_dir(),
    reason=f"raw CMU motion capture not found at {SOURCE}: these tests read the source files, not the shipped "
           "data/mocap_cmu30.npz. To run them, put there the CMU-Mocap benchmark text files (data/cmu/, from "
           "the DMGNN repository), the iClone-retargeted CMU BVH files (All_BVH/subjects/, from the "
           "IClone-CMU-Mocap repository) and cmu_skeleton.json (README, 'Motion-capture pretraining data'; "
           "CMU data: mocap.cs.cmu.edu)")


def test_rotations_are_proper():
    r = np.random.default_rng(0).normal(size=(50, 3))
    for matrices in (expmap_to_rotmat(r), quaternion_to_rotmat(np.random.default_rng(1).normal(size=(50, 4)))):
        np.testing.assert_allclose(matrices @ np.swapaxes(matrices, -1, -2), np.broadcast_to(np.eye(3), (50, 3, 3)),
                                   atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(matrices), 1.0)
    quarter = expmap_to_rotmat(np.array([0.0, np.pi / 2, 0.0]))
    np.testing.assert_allclose(quarter @ [1.0, 0, 0], [0, 0, -1.0], atol=1e-12)
    np.testing.assert_allclose(expmap_to_rotmat(np.zeros(3)), np.eye(3))


def test_resample():
    x = np.arange(120)
    assert list(resample(x, 120, 30)[:3]) == [0, 4, 8]
    with pytest.raises(ValueError):
        resample(x, 100, 30)


def test_split_at_jumps():
    clip = np.zeros((200, 13, 3))
    clip[120:] += 5.0
    assert [len(p) for p in split_at_jumps(clip)] == [120, 80]
    assert [len(p) for p in split_at_jumps(clip, min_frames=100)] == [120]


def test_somof_chirality_reference(valid):
    assert facing_chirality(valid.observed) < -0.5
    # swapping the left/right labels flips it; a true mirror image (x negated too) does not
    assert facing_chirality(valid.observed[..., mirror_permutation(), :]) > 0.5
    assert facing_chirality(mirror(torch.as_tensor(valid.observed)).numpy()) < -0.5


@needs_source
def test_cmu_text_forward_kinematics():
    skeleton = json.loads((SOURCE / "cmu_skeleton.json").read_text())
    joints = read_cmu_txt(SOURCE / "data/cmu/train/walking/walking_1.txt", skeleton)
    assert joints.shape[1:] == (13, 3)
    lengths = bone_lengths(joints)
    assert lengths[:, LIMBS].std(axis=0).max() < 1e-6  # rigid bones
    np.testing.assert_allclose(lengths[0, 1], 0.43, atol=0.02)  # thigh, per cmu_skeleton.json
    assert abs(joints[:, 4:6, 1].mean()) < 0.2 and 1.2 < joints[:, 6, 1].mean() < 1.6  # y up, metres
    assert facing_chirality(joints) < -0.5


@needs_source
def test_bvh_import():
    joints, fps = read_bvh(SOURCE / "All_BVH/subjects/001/001_01.bvh")
    assert round(fps) == 60 and joints.shape[1:] == (13, 3)
    lengths = bone_lengths(joints)
    assert lengths[:, LIMBS].std(axis=0).max() < 1e-4 and 0.35 < lengths[:, 1].mean() < 0.55
    assert 1.4 < joints[:, 6, 1].mean() < 2.0 and facing_chirality(joints) < -0.5


def test_bad_bvh(tmp_path):
    (tmp_path / "bad.bvh").write_text("HIERARCHY\nROOT nothing\n")
    with pytest.raises(DataError, match="bad.bvh"):
        read_bvh(tmp_path / "bad.bvh")


def test_shipped_corpus_is_plausible():
    clips, names = load_corpus_clips()
    assert len(clips) == len(names) > 50
    somof = bone_lengths(load_split("valid").observed).mean(axis=(0, 1, 2))
    corpus = bone_lengths(np.concatenate(clips)).mean(axis=0)
    assert np.all(np.abs(corpus / somof - 1) < 0.6)  # same skeleton, comparable bones
    windows = np.asarray(load_corpus_windows(stride=10))
    assert windows.shape[1:] == (30, 13, 3) and np.isfinite(windows).all()
    steps = np.linalg.norm(np.diff(windows, axis=1), axis=-1).mean(axis=-1)
    assert steps.max() < 2 * MAX_STEP_30HZ  # 15 Hz steps, no glitches or jumps between clips


def test_bad_corpus(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_corpus_clips(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a posepred mocap corpus"):
        load_corpus_clips(tmp_path / "bad.npz")
