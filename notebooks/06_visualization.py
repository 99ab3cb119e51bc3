# %% [markdown]
# # 06 — Looking at predictions
#
# Numbers say how far a forecast is off (notebook 05), pictures say how: a limb that stretches, a
# person who keeps walking into a wall, a raised arm nobody saw coming. This notebook draws the SoMoF
# 3DPW poses ([Adeli et al., ICCV 2021](https://arxiv.org/abs/2104.04029);
# [von Marcard et al., ECCV 2018](https://virtualhumans.mpi-inf.mpg.de/3DPW/)) and the shipped
# DeRPoF model's forecasts ([Parsaeifard et al. 2021](https://arxiv.org/abs/2108.08349)), out of
# fold, with its sampled futures.
#
# **What you will learn**
# - how a pose of 13 joints in metres, y up, becomes a 3D picture on fixed axes: written out here and
#   checked against `posepred.viz`;
# - how to step through observed, true and predicted frames, and through the VAE's sampled futures,
#   with the frame viewer, and turn the view;
# - how to make a filmstrip, an animated GIF and per-frame PNGs (named as the seed scripts, the code
#   this project started from, named them), into a folder outside the repository;
# - why the viewer's cell looks the same in every saved copy of this notebook.
#
# Exercises with worked solutions are at the end.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image

from posepred import viz
from posepred.data import load_split
from posepred.evaluate import out_of_fold
from posepred.skeleton import BONES, JOINT_NAMES

torch.set_num_threads(1)  # small model: one thread is fastest, especially on a busy machine
torch.manual_seed(0)  # fixed seeds: the same pictures on every run
valid = load_split("valid")
folds = out_of_fold(valid, "checkpoints/derpof/folds", n_samples=20, seed=0)  # each sample by a model that never saw it
predictions, samples = folds.predictions, folds.samples  # (36, 2, 14, 13, 3) and (20, 36, 2, 14, 13, 3)

# Where the files of sections 5 and 6 go: a temporary folder, removed at the end of the notebook, so
# that running it leaves nothing behind. To keep them, name a folder of yours instead, for example
# KEEP_IN = Path.home() / "posepred-pictures".
KEEP_IN = None
workdir = None if KEEP_IN else tempfile.TemporaryDirectory(prefix="posepred-06-")
out = Path(KEEP_IN) if KEEP_IN else Path(workdir.name)
out.mkdir(parents=True, exist_ok=True)  # (a folder of yours may not exist yet)

# %% [markdown]
# ## 1. From joints to a picture
# A pose is 13 joints x (x, y, z) in metres with y pointing up. Matplotlib's 3D axes draw their
# *third* coordinate upwards, so each joint is plotted as (x, z, y), and each bone is a line between
# its two joints:
# ```
#   SoMoF          matplotlib 3D                 a bone (a, b): plot([x_a, x_b], [z_a, z_b], [y_a, y_b])
#     y up           Z up
#     │              │   Y                       fixed axes: one centre and one half-width for ALL frames
#     └── x    ──►   └── X                         centre = (lowest + highest point) / 2, per axis
#    /                                             half   = largest extent / 2 + 0.1 m, the same on every axis
#   z
# ```
# The axes stay the same for all 30 frames of a sample, so what moves in the picture moved in the
# world, and they are cubic, so that no limb looks stretched by the axes. Written out for sample 12,
# and drawn by hand next to `viz.draw_skeletons`:

# %%
scene = (valid.observed[12], valid.future[12], predictions[12])  # (2, 16, 13, 3), (2, 14, ...), (2, 14, ...)
points = np.concatenate([poses.reshape(-1, 3) for poses in scene])  # every joint of every frame
low, high = points.min(axis=0), points.max(axis=0)
centre, half = (low + high) / 2, (high - low).max() / 2 + 0.1
package_centre, package_half = viz.axis_limits(*scene)
print(f"axes written out: centre {np.round(centre, 3)} m, half-width {half:.3f} m; "
      f"same as viz.axis_limits: {np.allclose(centre, package_centre) and np.isclose(half, package_half)}")

fig = plt.figure(figsize=(8, 4))
by_hand = fig.add_subplot(1, 2, 1, projection="3d")
for person, style in zip(valid.observed[12, :, -1], ("-", "--")):  # the last observed frame of both persons
    for a, b in BONES:
        by_hand.plot(person[[a, b], 0], person[[a, b], 2], person[[a, b], 1], style, color="tab:blue")
by_hand.set_xlim(centre[0] - half, centre[0] + half)
by_hand.set_ylim(centre[2] - half, centre[2] + half)  # matplotlib's Y is the world's z ...
by_hand.set_zlim(centre[1] - half, centre[1] + half)  # ... and its Z the world's y
by_hand.set_title("by hand: plot(x, z, y) per bone", fontsize=9)
viz.draw_skeletons(fig.add_subplot(1, 2, 2, projection="3d"), valid.observed[12, :, -1], "tab:blue",
                   (centre, half), title="viz.draw_skeletons (labels, joints, ticks)")

# %% [markdown]
# ## 2. The frame viewer
# ```
# frames 0..15: observed (blue)  |  frames 16..29: ground truth (green) and/or prediction (red)
# ```
# The viewer shows one frame of one sample, with controls above it: the sample and the person (solid
# line person 0, dashed person 1), which prediction to draw, what to show, the frame, and the view
# (elevation and azimuth, in degrees). Turn the view when a pose looks like a stick from the default
# angle (sample 12, person 1, for example). The axes stay fixed, so motion is real motion.
#
# The picture is made by `viz.frame_figure`, which you can also call yourself, for a paper, say. Here
# frame 29 of sample 12, the end of the forecast:

# %%
fig = viz.frame_figure(valid.observed[12], valid.future[12], predictions[12], frame=29)

# %% [markdown]
# And the viewer itself. Run the cell to get its controls. With `samples`, the "prediction" dropdown
# offers the deterministic prediction (z = 0, the prior mean) or any of the 20 futures drawn from the
# prior, drawn in red in its place: pick a future frame (say 29), then step through the samples to
# see how differently the same past can continue; notebook 05 prints which two persons its fans of
# samples show.
#
# A viewer needs a live kernel and a person moving its controls. Under a notebook executor
# (`jupyter nbconvert --execute`, `pytest --nbval`, `make notebooks`) nobody can, so there the cell
# shows the viewer's starting picture instead, and so does a copy of this notebook on GitHub. The fixed
# `model_id` names the widget the same on every run: run everything in JupyterLab and save, and the
# notebook file does not change.

# %% tags=["nbval-ignore-output"]
labels = [f"{i}: {s}" for i, s in enumerate(valid.sequences)]
viz.frame_viewer(valid.observed, valid.future, predictions, labels=labels, samples=samples,
                 model_id="posepred-06-frame-viewer")

# %% [markdown]
# ## 3. Sampled futures side by side
# The viewer shows one sampled future at a time; `viz.draw_frame` on axes of your own puts several
# in one figure. Here the end of the forecast (frame 29) of sample 8, person 0, the person whose
# samples spread most in notebook 05: the deterministic prediction and three samples, each against
# the truth.

# %%
person = valid.observed[8, :1], valid.future[8, :1]  # keep the person axis: (1, 16, 13, 3), (1, 14, 13, 3)
limits = viz.axis_limits(*person, predictions[8, :1], samples[:3, 8, :1])
fig = plt.figure(figsize=(12, 3.4))
for i, (name, forecast) in enumerate([("z = 0", predictions[8, :1])] +
                                     [(f"sample {k + 1} of 20", samples[k, 8, :1]) for k in range(3)]):
    ax = fig.add_subplot(1, 4, i + 1, projection="3d")
    viz.draw_frame(ax, viz.sequence_frames(*person, forecast), 29, limits=limits)
    ax.set_title(f"frame 29, {name}", fontsize=9)
legend = fig.legend(handles=viz.legend_handles(["truth", "prediction"], person_ids=[0]), loc="lower center",
                    ncol=3, fontsize=8, frameon=False)

# %% [markdown]
# ## 4. A filmstrip: every fourth frame of one sample, in rows of four

# %%
fig = viz.filmstrip(valid.observed[12], valid.future[12], predictions[12], every=4, columns=4)

# %% [markdown]
# ## 5. An animated GIF
# The 30 frames at 5 frames per second, written into `out` (the temporary folder of the first cell,
# unless you chose your own):

# %% tags=["nbval-ignore-output"]
gif = viz.save_gif(valid.observed[12], valid.future[12], predictions[12], out / "sample_12.gif", fps=5)
Image(filename=str(gif))

# %% [markdown]
# ## 6. Per-frame PNGs, as the seed scripts wrote them
# `posepred valid --sample 12 --visualizations <folder>` writes the same files: `_Input_00..15`,
# `_GroundTruth_00..13`, `_Prediction_00..13`, one 3D plot per frame on fixed axes.

# %%
paths = viz.save_frame_pngs(valid.observed[12], valid.future[12], predictions[12], out / "sample_12")
print(len(paths), "PNGs:", paths[0].name, "...", paths[-1].name)
Image(filename=str(paths[-1]))

# %% [markdown]
# The pictures above are stored in the notebook itself; the files were only needed to make them. The
# temporary folder goes (a folder of your own, `KEEP_IN`, stays):

# %%
if workdir is not None:
    workdir.cleanup()
print("files kept:", "none (temporary folder removed)" if workdir is not None else len(list(out.rglob("*"))))

# %% [markdown]
# ## Takeaway
# - A pose becomes a picture by plotting (x, z, y), y being up, on cubic axes fixed for all frames.
# - `viz.frame_viewer` steps through observed, true and predicted frames, from any angle, and, given
#   `samples`, through the VAE's sampled futures; `viz.frame_figure` draws one of its frames as a
#   plain figure, `viz.draw_frame` onto axes of your own.
# - `viz.filmstrip`, `viz.save_gif` and `viz.save_frame_pngs` make pictures for papers and slides;
#   write them to a folder of your choice, never into the repository.
#
# ## Exercises
#
# Try each one before you open its solution below (the solutions' code is collapsed in JupyterLab:
# click the three dots to show it).
#
# 1. **Turn the view.** Draw frame 29 of sample 12 from (nearly) above and from the side, for example
#    with `viz.frame_figure(..., view=(elevation, azimuth))` or `ax.view_init(elevation, azimuth)`.
#    Which view shows where the two people went, which shows how high their arms are?
# 2. **The stretched limb of a baseline.** Damped velocity stretches some rigid bone by up to 161%
#    (notebook 05, bone drift). Find the person and frame where it stretches a bone most, and draw
#    that frame with the damped-velocity forecast as the prediction, next to the same forecast put
#    back on the observed bone lengths (`posepred.skeleton.enforce_bone_lengths`).
# 3. **All twenty futures at once.** Draw frame 29 of sample 8, person 0, with the truth and all 20
#    sampled futures on one pair of axes (`viz.draw_skeletons(..., clear=False, linewidth=0.5)`).
#    How far do the samples spread at each joint, as drawn and relative to each sample's own hip
#    centre? What do they disagree about?
# 4. **The best of the twenty.** For sample 8, person 0 (the widest fan of notebook 05) and sample 5,
#    person 1 (the deterministic prediction's worst case), find the sample nearest the truth (mean
#    joint error over the 14 frames, as best-of-K does). Does it beat z = 0? Show frame 29 of the
#    second with it, labelled as what it is: an oracle's pick.

# %% [markdown]
# ### Solutions

# %% jupyter={"source_hidden": true}
# Exercise 1: turn the view. From above the floor plan: where each person stands and went. From the
# side heights: arms, legs, a crouch. (5° off the axis, so that the tick labels do not pile up.)
fig = plt.figure(figsize=(9, 4.2))
for i, (view, name) in enumerate([((85, -90), "from above"), ((5, -90), "from the side")]):
    ax = fig.add_subplot(1, 2, i + 1, projection="3d")
    viz.draw_frame(ax, viz.sequence_frames(*scene), 29, limits=viz.axis_limits(*scene))
    ax.view_init(elev=view[0], azim=view[1])
    ax.set_title(f"frame 29, {name} (elevation {view[0]}°)", fontsize=9)
legend = fig.legend(handles=viz.legend_handles(["truth", "prediction"]), loc="lower center", ncol=4, fontsize=8,
                    frameon=False)

# %% jupyter={"source_hidden": true}
# Exercise 2: the stretched limb. Bone drift per person and frame over the 9 rigid bones.
from posepred.baselines import damped_velocity  # noqa: E402
from posepred.skeleton import RIGID_BONES, bone_lengths, enforce_bone_lengths, rigid_bone_lengths  # noqa: E402

observed = torch.as_tensor(valid.observed)
damped = damped_velocity(observed, 0.8)  # (36, 2, 14, 13, 3)
stepped = enforce_bone_lengths(damped, rigid_bone_lengths(observed[:, :, -1]))
reference = bone_lengths(valid.observed[:, :, -1])[:, :, None, list(RIGID_BONES)]  # (36, 2, 1, 9)
drift = np.abs(bone_lengths(damped.numpy())[..., list(RIGID_BONES)] - reference) / reference  # (36, 2, 14, 9)
i, p, f, b = np.unravel_index(drift.argmax(), drift.shape)
a, c = BONES[RIGID_BONES[b]]
print(f"sample {i}, person {p}, future frame {f + 1}: bone {a}-{c} stretched by {100 * drift.max():.0f}%")
forecasts = {"damped velocity": damped[i, p].numpy(), "damped velocity + skeleton step": stepped[i, p].numpy()}
limits = viz.axis_limits(valid.future[i, p, f], *(forecast[f] for forecast in forecasts.values()))  # this frame only
fig = plt.figure(figsize=(9, 4.4))
for k, (name, forecast) in enumerate(forecasts.items()):
    ax = fig.add_subplot(1, 2, k + 1, projection="3d")
    viz.draw_frame(ax, viz.sequence_frames(valid.observed[i, p], valid.future[i, p], forecast), 16 + f, limits=limits)
    bone = forecast[f, [a, c]]  # the stretched bone of the prediction, in black
    ax.plot(bone[:, 0], bone[:, 2], bone[:, 1], color="k", linewidth=3)
    ax.set_title(f"frame {16 + f}: {name}", fontsize=9)
legend = fig.legend(handles=viz.legend_handles(["truth", "prediction"], person_ids=[]) +
                    [plt.Line2D([], [], color="k", linewidth=3, label=f"predicted bone {a}-{c}")],
                    loc="lower center", ncol=3, fontsize=8, frameon=False)
# Left: the forearm has grown to more than twice its length; the velocity of the last observed frame,
# extrapolated 14 frames, pulled the wrist away. Right: the same forecast with every rigid bone put
# back at its observed length, along the predicted direction.

# %% jupyter={"source_hidden": true}
# Exercise 3: all twenty futures at once.
truth, futures = valid.future[8, 0], samples[:, 8, 0]  # (14, 13, 3), (20, 14, 13, 3)
fig, ax = viz.new_axes((5, 5))
limits = viz.axis_limits(truth, futures)
for future in futures:
    viz.draw_skeletons(ax, future[-1], viz.COLOURS["prediction"], limits, clear=False, linewidth=0.5)
viz.draw_skeletons(ax, truth[-1], viz.COLOURS["truth"], limits, clear=False, linewidth=3,  # on top
                   title="frame 29, sample 8, person 0")
handles = viz.legend_handles(["truth", "prediction"], person_ids=[], names={"prediction": "20 samples"})
legend = ax.legend(handles=handles, fontsize=8, loc="upper left")
last = futures[:, -1]  # (20, 13, 3)
relative = last - last[:, :2].mean(axis=1, keepdims=True)  # each sample's joints relative to its own hip centre
for name, poses in (("as drawn", last), ("relative to the hip centre", relative)):
    spread = np.linalg.norm(poses - poses.mean(axis=0), axis=-1).mean(axis=0)  # (13,) metres
    print(f"spread of the 20 samples at frame 29, {name} (cm):",
          ", ".join(f"{joint} {100 * value:.1f}" for joint, value in zip(JOINT_NAMES, spread)))
# Every joint spreads by about 20 cm: the samples disagree mostly about where the whole body goes
# (z also steers net_g, the hip centre's LSTM). Relative to the hip centre, the limbs differ by a few
# centimetres at most, most at the wrists and least at the hips.

# %% jupyter={"source_hidden": true}
# Exercise 4: the best of the twenty (an oracle: it looks at the truth to choose). For the widest fan
# of notebook 05 (sample 8, person 0) and the deterministic prediction's worst case (sample 5, person 1).
for i, p in ((8, 0), (5, 1)):
    truth, futures = valid.future[i, p], samples[:, i, p]
    error = np.linalg.norm(futures - truth, axis=-1).mean(axis=(1, 2))  # (20,) mean joint error, metres
    deterministic = np.linalg.norm(predictions[i, p] - truth, axis=-1).mean()
    best = int(error.argmin())
    print(f"sample {i}, person {p}: the nearest of the 20 is number {best + 1}, {100 * error[best]:.1f} cm mean joint "
          f"error; z = 0: {100 * deterministic:.1f} cm; {(error < deterministic).sum()} of 20 samples beat z = 0")
fig = viz.frame_figure(valid.observed[5, 1], truth, futures[best], frame=29, size=(4, 4),
                       prediction_label=f"sample {best + 1}: best of 20 (oracle)")
# Where z = 0 is already close (sample 8), no sample beats it; where it is far off (sample 5), a third
# of the samples are nearer the truth. That is what best-of-K measures, and why it is an oracle: at
# test time nobody can tell which sample it would be.
