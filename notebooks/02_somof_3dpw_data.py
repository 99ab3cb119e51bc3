# %% [markdown]
# # 02 — The SoMoF 3DPW data
#
# **What you will learn**
# - the files, their shapes and the 13-joint skeleton;
# - how samples of one video stitch into continuous tracks, and how tracks become training windows;
# - what rotation and mirror augmentation do to a pose (and what they keep).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred import viz
from posepred.data import augment, cut_windows, default_data_dir, load_split, stitch_tracks
from posepred.skeleton import BONES, JOINT_NAMES, bone_lengths

torch.manual_seed(0)
np.random.seed(0)
DATA = default_data_dir()
print("data directory:", DATA.name, sorted(p.name for p in DATA.glob("*.json")))

# %% [markdown]
# ## 1. Files and shapes
# Each sample holds 2 persons; each person has 16 observed and 14 future frames of 13 joints x
# (x, y, z) in metres, y pointing up, 15 frames per second. The files store 39 numbers per frame;
# `load_split` reshapes them to `(..., 13, 3)` and checks everything.

# %%
valid, test = load_split("valid"), load_split("test")
print("valid observed", valid.observed.shape, "future", valid.future.shape)
print("test observed ", test.observed.shape, "future", test.future)
print("valid sequences:", valid.sequence_names)

# %% [markdown]
# ## 2. The skeleton
# ```
#          6 head
#      7 ─────── 8        shoulders
#      │ \     / │
#      9  \   /  10       elbows
#      │   0─1   │        hips (their centre is the "global" position)
#     11   │ │   12       wrists
#          2 3            knees
#          4 5            ankles
# ```

# %%
for i, name in enumerate(JOINT_NAMES):
    print(f"{i:2d} {name}")
fig, ax = viz.new_axes((5, 5))
viz.draw_skeletons(ax, valid.observed[0, :, -1], "tab:blue", title="sample 0, last observed frame, both persons")
legend = ax.legend(handles=viz.legend_handles(["input"], n_persons=2), fontsize=8, loc="upper left")

# %% [markdown]
# ## 3. Frame paths and stitching
# Sample k of a video starts at image `20 + 60k`: 16 observed frames and 14 future ones, every
# second image. The next sample starts right after, so the samples of one video join into a
# continuous track per person. `stitch_tracks` checks the frame numbers and the size of the jump
# at each boundary, and splits a track where either is off.

# %%
print(valid.sequences[0], valid.frame_numbers[0][:4], "...", valid.frame_numbers[1][:2])
tracks = stitch_tracks(valid)
for track in tracks:
    print(f"{track.sequence:30s} person {track.person}: {len(track.positions)} frames")

# %%
track = tracks[0].positions
boundary = [np.linalg.norm(track[k * 30] - track[k * 30 - 1], axis=-1).mean() for k in range(1, len(track) // 30)]
inside = np.linalg.norm(np.diff(track, axis=0), axis=-1).mean(axis=-1)
print(f"mean joint step inside samples {inside.mean():.3f} m; at sample boundaries {np.mean(boundary):.3f} m")

# %% [markdown]
# ## 4. Windows
# Any 30 consecutive frames of a track is a training example (16 in, 14 out): far more than the 36
# samples themselves.

# %%
windows = cut_windows(tracks, stride=1)
print("windows:", windows.shape, " with stride 30:", cut_windows(tracks, stride=30).shape[0])

# %% [markdown]
# ## 5. Augmentation
# A random rotation about the vertical axis and a left/right mirror (negate x, swap left and right
# joints) make new, equally plausible motions. Neither changes a bone's length.

# %%
batch = torch.as_tensor(windows[:1].repeat(4, axis=0))
augmented = augment(batch, torch.Generator().manual_seed(1), rotate=True, mirror_prob=0.5)
fig = plt.figure(figsize=(12, 3))
for i in range(4):
    ax = fig.add_subplot(1, 4, i + 1, projection="3d")
    viz.draw_skeletons(ax, augmented[i, 15].numpy(), "tab:purple", title=f"augmented copy {i}")
lengths_before = bone_lengths(batch).sort(dim=-1).values
lengths_after = bone_lengths(augmented).sort(dim=-1).values
print(f"largest change of any bone length: {float((lengths_after - lengths_before).abs().max()):.1e} m")
print("bones:", len(BONES))

# %% [markdown]
# ## 6. Real motion capture for pretraining
# 36 samples are not much to learn human motion from. `data/mocap_cmu30.npz` holds CMU motion
# capture (mocap.cs.cmu.edu) converted to the same 13 joints: forward kinematics of the CMU
# skeleton, joints mapped to SoMoF's, metres, y up. A mapping error would show as a skeleton
# that looks wrong, bones of odd length, or left and right swapped, so check all three.

# %%
from posepred.mocap import compare_bone_lengths, facing_chirality, load_corpus_clips  # noqa: E402

clips, names = load_corpus_clips()
print(f"{len(clips)} clips, {sum(len(c) for c in clips)} frames at 30 Hz, e.g. {names[0]} and {names[-1]}")
fig = plt.figure(figsize=(9, 4))
viz.draw_skeletons(fig.add_subplot(1, 2, 1, projection="3d"), valid.observed[0, 0, -1], "tab:blue",
                   title="SoMoF (3DPW)")
viz.draw_skeletons(fig.add_subplot(1, 2, 2, projection="3d"), clips[0][40], "tab:orange",
                   title="CMU mocap, mapped")
corpus = np.concatenate(clips)
print(f"left/right handedness (negative = correct): SoMoF {facing_chirality(valid.observed):.2f}, "
      f"mocap {facing_chirality(corpus):.2f}")
for bone, somof_length, mocap_length in compare_bone_lengths(valid.observed, corpus):
    print(f"{bone:32s} SoMoF {somof_length:.3f} m   mocap {mocap_length:.3f} m")

# %% [markdown]
# Each clip is scaled so that its thigh and shin lengths match SoMoF's (the CMU performers on the
# iClone rig are taller). Thighs and shins then agree within 1.5 cm, head to shoulders within
# 2.5 cm, and left/right handedness matches. The mocap hips are about 4 cm wider, the torso about
# 12 cm shorter, the upper arms about 2.5 cm and the forearms about 6 cm shorter, because the two
# skeletons put the hip, shoulder and wrist joints in different places. The model works on velocities,
# so such offsets matter less than the motion itself; pretraining on this corpus is what moved the
# results most (notebook 05, `results/ablations.md`).
#
# ## Takeaway
# - Poses are `(samples, 2 persons, frames, 13 joints, 3)` in metres, y up, 15 Hz.
# - Samples of a video stitch into tracks (valid: 210, 330, 270, 270 frames), and every 30-frame
#   window of a track is a training example.
# - Rotation about y and mirroring multiply the data without changing the skeleton.
# - CMU motion capture, mapped to the same 13 joints and checked, adds far more real motion.
