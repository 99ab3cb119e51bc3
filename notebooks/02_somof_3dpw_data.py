# %% [markdown]
# # 02 — The SoMoF 3DPW data
#
# The benchmark is SoMoF, "Social Motion Forecasting" ([Adeli et al., "TRiPOD: Human Trajectory and
# Pose Dynamics Forecasting in the Wild", ICCV 2021](https://arxiv.org/abs/2104.04029);
# [somof.stanford.edu](https://somof.stanford.edu)). Its 3DPW track cuts short clips out of
# 3DPW, "3D Poses in the Wild" ([von Marcard et al., ECCV 2018](https://virtualhumans.mpi-inf.mpg.de/3DPW/)):
# videos filmed outdoors with a hand-held phone, the people's poses recovered from body-worn IMUs and
# the video. Each SoMoF sample shows two people: one second observed, the next second to forecast.
# DeRPoF ([Parsaeifard et al. 2021](https://arxiv.org/abs/2108.08349)), the model of this project,
# was designed for this benchmark.
#
# **What you will learn**
# - the files, their shapes and the 13-joint skeleton;
# - how the samples of one video tile it, and the continuity check that stitches them into one long
#   track per person: written out here and checked against `posepred.data.stitch_tracks`;
# - why any 30 frames of a track are a training example, and how few of them are independent;
# - rotation and mirror augmentation written out and checked against `posepred.windows`, and what
#   they keep (bone lengths, left and right);
# - CMU motion capture ([mocap.cs.cmu.edu](http://mocap.cs.cmu.edu)) mapped to the same skeleton,
#   and how to check such a mapping.
#
# Exercises with worked solutions are at the end.

# %%
import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred import viz
from posepred.data import MAX_BOUNDARY_STEP, cut_windows, load_split, stitch_tracks
from posepred.paths import default_data_dir
from posepred.skeleton import BONES, JOINT_NAMES, MIRROR_PAIRS, bone_lengths
from posepred.windows import augment, mirror, rotate_about_y, split_windows

torch.set_num_threads(1)  # small model: one thread is fastest, especially on a busy machine
torch.manual_seed(0)  # fixed seeds: the same numbers on every run
DATA = default_data_dir()
print("data directory:", DATA.name, sorted(p.name for p in DATA.glob("*.json")))

# %% [markdown]
# ## 1. Files and shapes
# Each sample holds 2 persons; each person has 16 observed and 14 future frames of 13 joints x
# (x, y, z) in metres, y pointing up, 15 frames per second. The files store 39 numbers per frame;
# `load_split` reshapes them to `(..., 13, 3)` and checks everything. The test split's future is
# hidden by the benchmark: predictions for it are what you submit to the SoMoF server.

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
# Even numbers are the left side of the body, odd ones the right (the head, 6, is alone).

# %%
for i, name in enumerate(JOINT_NAMES):
    print(f"{i:2d} {name}")
fig, ax = viz.new_axes((5, 5))
viz.draw_skeletons(ax, valid.observed[0, :, -1], "tab:blue", title="sample 0, last observed frame, both persons")
legend = ax.legend(handles=viz.legend_handles(["input"], n_persons=2), fontsize=8, loc="upper left")

# %% [markdown]
# ## 3. Samples tile a video: stitching them into tracks
# SoMoF keeps every second image of a 30 fps video (15 Hz). Sample k of a video starts at image
# `20 + 60k`: 16 observed frames, then 14 future ones; the next sample starts right after.
# ```
# image:     20  22 ...  50 | 52 ...  78 | 80  82 ... 110 | 112 ... 138 | 140 ...
# sample 0:  [ 16 observed  | 14 future ]
# sample 1:                               [ 16 observed   | 14 future   ]
# sample 2:                                                               [ ...
# track:     one person, frame after frame: 30 frames per sample, no gap
# ```
# So the samples of one video join into one continuous track per person, if two things hold at every
# boundary: the images follow each other, and the person is still the same person. SoMoF does not
# promise that person 0 of one sample is person 0 of the next. A swap would show as a jump: the
# first pose of the new sample would be the *other* person's, a metre away. The check, for each
# pair of consecutive samples of one sequence:
#
# 1. same frame step, and the first image of sample k+1 = first image of sample k + 30 x step;
# 2. the mean joint distance between the last frame of sample k and the first of sample k+1 is at
#    most `MAX_BOUNDARY_STEP` = 0.25 m (a normal step between two frames is a few centimetres).
#
# Where either fails, the track is cut. Written out:

# %%
def my_stitch(split, max_step=MAX_BOUNDARY_STEP):
    """Tracks as (sequence, person, first image, positions (frames, 13, 3)), one per continuous stretch."""
    full = np.concatenate([split.observed, split.future], axis=2)  # (N, 2, 30, 13, 3)
    step = split.frame_numbers[:, 1] - split.frame_numbers[:, 0]  # 2: every second image
    tracks = []
    for person in range(full.shape[1]):
        for k in range(len(split)):
            jump = np.linalg.norm(full[k, person, 0] - full[k - 1, person, -1], axis=-1).mean()
            continues = (k > 0 and split.sequences[k] == split.sequences[k - 1] and step[k] == step[k - 1]
                         and split.frame_numbers[k, 0] == split.frame_numbers[k - 1, 0] + 30 * step[k]
                         and jump <= max_step)
            if continues:
                tracks[-1][3].append(full[k, person])
            else:
                tracks.append((split.sequences[k], person, int(split.frame_numbers[k, 0]), [full[k, person]]))
    tracks = [(sequence, person, first, np.concatenate(parts)) for sequence, person, first, parts in tracks]
    return sorted(tracks, key=lambda t: (t[0], t[2], t[1]))


mine, theirs = my_stitch(valid), stitch_tracks(valid)
same = len(mine) == len(theirs) and all(
    (a[0], a[1], a[2]) == (b.sequence, b.person, b.first_image) and np.array_equal(a[3], b.positions)
    for a, b in zip(mine, theirs))
print("image numbers of the first 3 observed frames, samples 0 and 1:", valid.frame_numbers[0][:3],
      valid.frame_numbers[1][:3])
print("written out == posepred.data.stitch_tracks:", same)
for track in theirs:
    print(f"{track.sequence:30s} person {track.person}: {len(track.positions)} frames")

# %% [markdown]
# Is 0.25 m a good threshold? Below, one track frame by frame: the mean joint step between
# consecutive frames (grey), the step at each sample boundary (blue dots), and what that step would
# be if the two persons had been swapped there (red crosses).

# %%
full = np.concatenate([valid.observed, valid.future], axis=2)
boundaries = [k for k in range(1, len(valid)) if valid.sequences[k] == valid.sequences[k - 1]]
kept = [np.linalg.norm(full[k, p, 0] - full[k - 1, p, -1], axis=-1).mean() for k in boundaries for p in (0, 1)]
swapped = [np.linalg.norm(full[k, 1 - p, 0] - full[k - 1, p, -1], axis=-1).mean() for k in boundaries for p in (0, 1)]
print(f"{len(kept)} boundary steps: same person {min(kept):.3f}-{max(kept):.3f} m, "
      f"persons swapped {min(swapped):.2f}-{max(swapped):.2f} m")

track = theirs[2]  # courtyard_drinking_00, person 0: 11 samples
steps = np.linalg.norm(np.diff(track.positions, axis=0), axis=-1).mean(axis=-1)  # (329,)
first = valid.sequences.index(track.sequence)
edges = np.arange(30, len(track.positions), 30)  # frame index where each new sample starts
other = [np.linalg.norm(full[first + e // 30, 1, 0] - full[first + e // 30 - 1, 0, -1], axis=-1).mean() for e in edges]
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(np.arange(1, len(track.positions)), steps, color="grey", linewidth=1, label="step between frames")
ax.plot(edges, steps[edges - 1], "o", color="tab:blue", label="step at a sample boundary")
ax.plot(edges, other, "x", color="tab:red", label="the same step, persons swapped")
ax.axhline(MAX_BOUNDARY_STEP, color="k", linestyle="--", linewidth=1, label=f"threshold {MAX_BOUNDARY_STEP} m")
ax.set_xlabel(f"frame of the track ({track.sequence}, person {track.person}; 15 per second)")
ax.set_ylabel("mean joint step (m)")
ax.set_ylim(0, None)
ax.legend(fontsize=8, loc="center", ncol=2)  # in the empty band between the two groups
fig.tight_layout()

# %% [markdown]
# A step across a boundary looks like any other step (a few centimetres), while a swap would be 40 cm
# or more: the threshold sits in the wide gap between the two. On valid no track breaks, so the 36
# samples make 8 tracks of 210 to 330 frames (14 to 22 seconds).
#
# ## 4. Windows
# Any 30 consecutive frames of a track is a training example (16 in, 14 out), far more than the
# 36 samples themselves. `posepred.windows.split_windows` cuts them by index, each paired with the
# other person over the same frames (the shipped model reads the other person too).
# `cut_windows` materialises them as one array.

# %%
windows = cut_windows(theirs, stride=1)
paired = split_windows(valid)
print("windows:", windows.shape, f"({paired.n_paired} of {len(paired)} with the other person);",
      "with stride 30 (no overlap):", cut_windows(theirs, stride=30).shape[0])

# %% [markdown]
# Windows one frame apart share 29 of their 30 frames, so 1,928 windows hold much less than 1,928
# examples' worth of information: a track of 330 frames has only 11 non-overlapping stretches of two
# seconds. Exercise 4 counts what a cross-validation fold trains on.
#
# ## 5. Augmentation
# Two transformations make new, equally plausible motions out of each window:
# ```
# rotation about the vertical (y) axis by θ:      mirror (left <-> right):
#     x' =  cos θ · x + sin θ · z                     x' = -x
#     y' =  y                                         then swap the joints of each
#     z' = -sin θ · x + cos θ · z                     left/right pair, (0,1) (2,3) ... (11,12)
# ```
# Gravity points down in every rotated copy (y is untouched), so a rotated person still walks on the
# ground. Negating x alone would give a body whose left side is on the right; swapping the joint
# labels as well makes it a correct body that moves like the original's mirror image. Written out:

# %%
window = torch.as_tensor(windows[0])  # (30, 13, 3)
theta = 0.7
c, s = math.cos(theta), math.sin(theta)
rotation = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=window.dtype)
rotated = window @ rotation.T
swap = list(range(13))
for left, right in MIRROR_PAIRS:
    swap[left], swap[right] = right, left
mirrored = window[:, swap] * torch.tensor([-1.0, 1.0, 1.0], dtype=window.dtype)
print("rotation == posepred.windows.rotate_about_y:",
      torch.allclose(rotated, rotate_about_y(window[None], torch.tensor([theta], dtype=window.dtype))[0]))
print("mirror   == posepred.windows.mirror:        ", torch.equal(mirrored, mirror(window)))

# %% [markdown]
# In training, `augment` draws a random angle per window, and mirrors half of them:

# %%
batch = torch.as_tensor(windows[:1].repeat(4, axis=0))
augmented = augment(batch, torch.Generator().manual_seed(1), rotate=True, mirror_prob=0.5)
fig = plt.figure(figsize=(13, 3))
viz.draw_skeletons(fig.add_subplot(1, 5, 1, projection="3d"), batch[0, 15].numpy(), "tab:blue", title="original")
for i in range(4):
    ax = fig.add_subplot(1, 5, i + 2, projection="3d")
    viz.draw_skeletons(ax, augmented[i, 15].numpy(), "tab:purple", title=f"augmented copy {i}")
lengths_before = bone_lengths(batch).sort(dim=-1).values
lengths_after = bone_lengths(augmented).sort(dim=-1).values
change = float((lengths_after - lengths_before).abs().max())  # floating-point rounding, about 1e-16 m
print(f"every one of the {len(BONES)} bone lengths unchanged (to 1e-12 m): {change < 1e-12}")

# %% [markdown]
# ## 6. Real motion capture for pretraining
# 36 samples are not much to learn human motion from. `data/mocap_cmu30.npz` holds CMU motion
# capture ([mocap.cs.cmu.edu](http://mocap.cs.cmu.edu)) converted to the same 13 joints: forward
# kinematics of the CMU skeleton, joints mapped to SoMoF's, metres, y up, 30 Hz (training takes every
# second frame: 15 Hz). A mapping error would show as a skeleton that looks wrong, bones of odd
# length, or left and right swapped, so check all three. The handedness test
# (`posepred.mocap.facing_chirality`) asks whether the knees bulge to the front of the body as the
# hips' left-to-right direction says they should: near -1 for a correct body, +1 for a mirrored one.

# %%
from posepred.mocap import compare_bone_lengths, facing_chirality, load_corpus_clips  # noqa: E402

clips, names = load_corpus_clips()
print(f"{len(clips)} clips, {sum(len(c) for c in clips)} frames at 30 Hz, e.g. {names[0]} and {names[-1]}")
corpus = np.concatenate(clips)
print(f"left/right handedness (negative = correct): SoMoF {facing_chirality(valid.observed):.2f}, "
      f"mocap {facing_chirality(corpus):.2f}")
for bone, somof_length, mocap_length in compare_bone_lengths(valid.observed, corpus):
    print(f"{bone:32s} SoMoF {somof_length:.3f} m   mocap {mocap_length:.3f} m")
fig = plt.figure(figsize=(9, 4))
viz.draw_skeletons(fig.add_subplot(1, 2, 1, projection="3d"), valid.observed[0, 0, -1], "tab:blue",
                   title="SoMoF (3DPW)")
walking = next(c for c, n in zip(clips, names) if "walking" in n)
viz.draw_skeletons(fig.add_subplot(1, 2, 2, projection="3d"), walking[40], "tab:orange",
                   title="CMU mocap (walking), mapped")

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
# - The samples of a video tile it: checked for continuity (images follow, no jump above 0.25 m),
#   they stitch into tracks (valid: 210, 330, 270, 270 frames per person), and every 30-frame window
#   of a track is a training example, though overlapping windows are far from independent.
# - Rotation about y and mirroring (negate x *and* swap left and right) multiply the data without
#   changing the skeleton.
# - CMU motion capture, mapped to the same 13 joints and checked (picture, bone lengths,
#   handedness), adds far more real motion.
#
# ## Exercises
#
# Try each one before you open its solution below (the solutions' code is collapsed in JupyterLab:
# click the three dots to show it).
#
# 1. **A swap in the files.** Make a copy of `valid` in which the two persons of sample 4 trade
#    places (`dataclasses.replace(valid, observed=..., future=...)`). How many tracks does
#    `stitch_tracks` make of it, how long are they, and how large were the jumps it refused?
# 2. **Which bones are rigid?** For each of the 14 skeleton edges, find the largest relative change
#    of its length within any track of valid. Which edges never change? (The shipped model's
#    *skeleton step* keeps exactly these at their last observed length: notebook 05.)
# 3. **A mirror that forgets to swap.** Negate x without swapping the left and right joints. What
#    does `facing_chirality` say about the result, and about `mirror`'s?
# 4. **How much does a fold train on?** Cross-validation (notebook 05) trains on three sequences and
#    tests on the fourth. For each fold, count the training windows (stride 1) and the
#    non-overlapping two-second stretches per person.
# 5. **Mocap at the right speed.** The corpus is stored at 30 Hz and SoMoF runs at 15 Hz. Compare
#    the mean joint step per frame of SoMoF, of the mocap at 30 Hz, and of the mocap taking every
#    second frame. What would a model pretrained on the 30 Hz frames have learnt about speed?

# %% [markdown]
# ### Solutions

# %% jupyter={"source_hidden": true}
# Exercise 1: a swap in the files. Trading the persons of sample 4 breaks the continuity at both of
# its boundaries (with sample 3 and with sample 5): each person's track of that sequence is cut in three.
observed, future = valid.observed.copy(), valid.future.copy()
observed[4], future[4] = observed[4, ::-1], future[4, ::-1]
swapped_split = dataclasses.replace(valid, observed=observed, future=future)
tracks = stitch_tracks(swapped_split)
print(f"{len(tracks)} tracks instead of 8:")
for track in tracks:
    print(f"  {track.sequence:30s} person {track.person}: {len(track.positions)} frames from image {track.first_image}")
full_swapped = np.concatenate([observed, future], axis=2)
for k in (4, 5):
    jump = np.linalg.norm(full_swapped[k, 0, 0] - full_swapped[k - 1, 0, -1], axis=-1).mean()
    print(f"jump of person 0 from sample {k - 1} to {k}: {jump:.2f} m (threshold {MAX_BOUNDARY_STEP} m)")
# Without the check, person 0's track would jump to the other person and back: two impossible
# "motions" of a metre in 1/15 s inside every training window that crosses them.

# %% jupyter={"source_hidden": true}
# Exercise 2: which bones are rigid? Relative change of each edge's length against the track's first
# frame, the largest over all frames of all tracks.
largest = np.zeros(len(BONES))
for track in stitch_tracks(valid):
    lengths = bone_lengths(track.positions)  # (frames, 14)
    largest = np.maximum(largest, (np.abs(lengths - lengths[0]) / lengths[0]).max(axis=0))
for (a, b), change in zip(BONES, largest):
    print(f"{JOINT_NAMES[a]:>14s} - {JOINT_NAMES[b]:<14s} {100 * change:7.3f}%")
print(f"{(largest < 1e-6).sum()} of {len(BONES)} edges never change")
# Hip width, thighs, shins, upper arms and forearms are rigid in 3DPW's body model; the torso and
# head edges change by 20-45% because they join joints placed on different body parts (shoulder,
# hip, head), not bone ends. A model that keeps the 9 rigid lengths loses nothing true.

# %% jupyter={"source_hidden": true}
# Exercise 3: a mirror that forgets to swap. Negating x alone turns a correct body into a mirrored
# one: the handedness flips sign. Swapping the left and right joint labels as well turns it back.
positions = torch.as_tensor(valid.observed)
x_negated = positions * torch.tensor([-1.0, 1.0, 1.0], dtype=positions.dtype)
print(f"original {facing_chirality(valid.observed):+.2f}, x negated only {facing_chirality(x_negated.numpy()):+.2f}, "
      f"posepred.windows.mirror {facing_chirality(mirror(positions).numpy()):+.2f}")
# A model trained on the x-negated copies would see half its training bodies with the left knee
# where the right one belongs: no person moves like that.

# %% jupyter={"source_hidden": true}
# Exercise 4: how much does a fold train on? Windows one frame apart overlap by 29 frames; windows
# 30 frames apart do not overlap at all.
counts = {}
for held_out in valid.sequence_names:
    training = split_windows(valid, exclude=[held_out])
    tracks = stitch_tracks(valid.subset(valid.sample_mask(exclude=[held_out])))
    counts[held_out] = len(training), cut_windows(tracks, stride=30).shape[0] // 2  # the second per person
for held_out, (windows_in_fold, independent) in counts.items():
    print(f"without {held_out:28s}: {windows_in_fold:5d} windows, {independent} non-overlapping per person")
# About 27 independent two-second stretches per person: this is why one model trained on three
# videos is data-limited, and why pretraining on motion capture helps.

# %% jupyter={"source_hidden": true}
# Exercise 5: mocap at the right speed. Taking every second frame doubles the step per frame.
somof_step = np.linalg.norm(np.diff(full, axis=2), axis=-1).mean()
step_30 = np.mean(np.concatenate([np.linalg.norm(np.diff(c, axis=0), axis=-1).ravel() for c in clips]))
step_15 = np.mean(np.concatenate([np.linalg.norm(np.diff(c[::2], axis=0), axis=-1).ravel() for c in clips]))
print(f"mean joint step per frame: SoMoF (15 Hz) {100 * somof_step:.2f} cm, mocap at 30 Hz {100 * step_30:.2f} cm, "
      f"mocap every second frame (15 Hz) {100 * step_15:.2f} cm")
# Per frame, the 30 Hz mocap looks closer to SoMoF than the 15 Hz frames do, yet 15 Hz is right: a
# window must span the same time as SoMoF's (16 frames = 1.07 s observed, 14 = 0.93 s forecast). The
# mocap clips are simply livelier than 3DPW's courtyard scenes (basketball, soccer, jumping, ...).
# Pretrained on 30 Hz frames, a model would learn that people cover in 14 frames what they really
# cover in 7, and would forecast SoMoF's people moving about half as far as they go. Take the frame
# rate from the source's documentation, not from a statistic that happens to match.
