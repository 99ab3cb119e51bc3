# %% [markdown]
# # 03 — Global and local motion
#
# **What you will learn**
# - velocities: why DeRPoF predicts frame-to-frame displacements rather than positions;
# - the split into the hip-centre (*global*) velocity and each joint's velocity relative to it
#   (*local*), and why decoupling them helps;
# - the exact round trip back to positions;
# - the skeleton step: how a predicted pose is put back on the person's own bone lengths.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred import viz
from posepred.data import load_split, split_windows  # importing posepred sets torch's threads first
from posepred.motion import (
    combine_global_local,
    positions_to_velocities,
    split_global_local,
    velocities_to_positions,
)
from posepred.skeleton import BONES, RIGID_BONES, bone_lengths, enforce_bone_lengths, rigid_bone_lengths

torch.manual_seed(0)
np.random.seed(0)
valid = load_split("valid")

# %% [markdown]
# ## 1. Velocities
# `s[t] = p[t] - p[t-1]`: 16 observed poses give 15 velocities. Velocities do not depend on where
# the person stands, so a model on velocities is translation-invariant by construction.
#
# ## 2. Global and local
# ```
# joint velocity  =  global velocity (mean of the 2 hip velocities)  +  local velocity
#  (13 x 3)           (3: where the body goes)                          (13 x 3: how the body moves)
# ```

# %%
windows = torch.as_tensor(np.asarray(split_windows(valid, stride=2)))  # (windows, 30 frames, 13, 3)
velocities = positions_to_velocities(windows)
global_velocity, local_velocity = split_global_local(velocities)
print("positions", tuple(windows.shape), "-> velocities", tuple(velocities.shape))
print("global", tuple(global_velocity.shape), " local", tuple(local_velocity.shape))

# %% [markdown]
# ## 3. Why decouple? Their magnitudes and behaviour differ
# The global velocity is smooth and carries most of the displacement when people walk; the local
# velocities are limb motions that swing back and forth. One network for both would have to model
# two very different signals at once. Look at the numbers below for how they differ.

# %%
speed_global = global_velocity.norm(dim=-1).flatten() * 15
speed_local = local_velocity.norm(dim=-1).flatten() * 15
print(f"global speed: median {speed_global.median():.3f} m/s, 95th percentile {speed_global.quantile(0.95):.3f}")
print(f"local speed:  median {speed_local.median():.3f} m/s, 95th percentile {speed_local.quantile(0.95):.3f}")


def relative_change(velocity):
    """Mean frame-to-frame change of a velocity, relative to its mean size."""
    return ((velocity[:, 1:] - velocity[:, :-1]).norm(dim=-1).mean() / velocity.norm(dim=-1).mean()).item()


print(f"relative frame-to-frame change: global {relative_change(global_velocity):.2f}, "
      f"local {relative_change(local_velocity):.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
bins = np.linspace(0, 1.5, 60)
axes[0].hist(speed_global.numpy(), bins, alpha=0.6, density=True, label="global (hip centre)")
axes[0].hist(speed_local.numpy(), bins, alpha=0.6, density=True, label="local (each joint, relative to the hips)")
axes[0].set_xlabel("speed (m/s)")
axes[0].set_ylabel("density (1 / (m/s))")
axes[0].set_title("speeds over all valid windows", fontsize=10)
axes[0].legend(fontsize=8)
axes[1].plot(15 * global_velocity[100, :, 0].numpy(), label="global x-velocity")
axes[1].plot(15 * local_velocity[100, :, 11, 0].numpy(), label="local x-velocity, left wrist")
axes[1].axhline(0, color="grey", linewidth=0.5)
axes[1].set_xlabel("frame (15 per second)")
axes[1].set_ylabel("velocity (m/s)")
axes[1].set_title("one window (number 100)", fontsize=10)
axes[1].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# Read the numbers above. A typical (median) joint moves *slower* relative to the hips than the hips
# move through the room, but local motion has the heavier tail: hands and feet swing fast, so its
# 95th-percentile speed is above the global one. And the local velocity changes much more from one
# frame to the next (it keeps reversing, as the wrist curve shows), while the global velocity drifts
# smoothly. So the two are not "large" and "small" signals; they are a smooth one and an
# oscillating one, which is why each gets its own network.

# %% [markdown]
# ## 4. The round trip
# Sum global and local back into joint velocities, then integrate from the last known pose
# (a cumulative sum, "speed2pos"). It is exact up to floating-point rounding.

# %%
rebuilt = velocities_to_positions(windows[:, 0], combine_global_local(global_velocity, local_velocity))
print("largest round-trip error (m):", f"{(rebuilt - windows[:, 1:]).abs().max().item():.1e}")

# %% [markdown]
# ## 5. The skeleton step
# Integrated velocities know nothing about bones, so a predicted forearm can stretch. DeRPoF ends with
# one step along the kinematic tree that puts every frame back on the person's bone lengths, measured
# in the last observed frame:
# ```
# hip centre -> left/right hip -> knee -> ankle          (hip width, thighs, shins)
# shoulder   -> elbow -> wrist                            (upper arms, forearms)
# kept as predicted: hip centre, shoulders, head, and the direction of every bone
# ```
# First, which edges are rigid in the data: the largest change of each edge's length over the true
# futures of valid, against the last observed frame.

# %%
change = np.abs(bone_lengths(valid.future) / bone_lengths(valid.observed[:, :, -1:]) - 1)  # (36, 2, 14, 14 edges)
largest = 100 * change.max(axis=(0, 1, 2))
rigid = list(RIGID_BONES)
free = [e for e in range(len(BONES)) if e not in rigid]
print(f"the {len(rigid)} rigid edges change by at most {largest[rigid].max():.4f}% over valid's true futures")
print(f"the {len(free)} torso and head edges change by up to {largest[free].max():.1f}%")

# %% [markdown]
# Now break a true future on purpose: move the right wrist 30% further from the right elbow in every
# frame, add 1 cm of noise to every joint, and apply `enforce_bone_lengths` with the lengths of the
# last observed frame.

# %%
BONE_NAMES = ["hip width", "left thigh", "left shin", "right thigh", "right shin",
              "left upper arm", "left forearm", "right upper arm", "right forearm"]
RIGHT_ELBOW, RIGHT_WRIST = 10, 12
person_observed = torch.as_tensor(valid.observed[0, 0])  # (16, 13, 3)
broken = torch.as_tensor(valid.future[0, 0]).clone()  # (14, 13, 3)
broken[:, RIGHT_WRIST] = broken[:, RIGHT_ELBOW] + 1.3 * (broken[:, RIGHT_WRIST] - broken[:, RIGHT_ELBOW])
broken += 0.01 * torch.randn(broken.shape, generator=torch.Generator().manual_seed(0), dtype=broken.dtype)
observed_lengths = rigid_bone_lengths(person_observed[-1])  # (9,)
fixed = enforce_bone_lengths(broken, observed_lengths)


def largest_change(poses):
    """Largest relative change (%) of a rigid bone against the last observed frame, over all frames."""
    return (100 * (rigid_bone_lengths(poses) / observed_lengths - 1).abs().max()).item()


print(f"largest rigid-bone change: before {largest_change(broken):.1f}%, after {largest_change(fixed):.6f}%")
centre = lambda poses: poses[:, :2].mean(dim=1)  # noqa: E731
print(f"hip centre moved by {(centre(fixed) - centre(broken)).norm(dim=-1).max():.6f} m, "
      f"head and shoulders by {(fixed[:, 6:9] - broken[:, 6:9]).norm(dim=-1).max():.6f} m")
forearm = lambda poses: poses[:, RIGHT_WRIST] - poses[:, RIGHT_ELBOW]  # noqa: E731
cosine = torch.nn.functional.cosine_similarity(forearm(fixed), forearm(broken), dim=-1)
print(f"right forearm direction: smallest cosine between before and after {cosine.min():.6f}")

# %%
last = -1  # the last future frame (frame 14, 900 ms)
fig = plt.figure(figsize=(11, 4.8))
grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.3])
ax3d = fig.add_subplot(grid[0], projection="3d")
limits = viz.axis_limits(broken[last].numpy(), fixed[last].numpy())
viz.draw_skeletons(ax3d, broken[last].numpy(), "tab:red", limits, linewidth=3)
viz.draw_skeletons(ax3d, fixed[last].numpy(), "tab:blue", limits, clear=False, linewidth=1.5,
                   title="frame 14 of the future, sample 0, person 0")
ax3d.legend(handles=[plt.Line2D([], [], color="tab:red", linewidth=3, label="stretched + noise (before)"),
                     plt.Line2D([], [], color="tab:blue", linewidth=1.5, label="after enforce_bone_lengths")],
            fontsize=8, loc="upper left")
ax3d.set_box_aspect(None, zoom=1.05)
bars = fig.add_subplot(grid[1])
x = np.arange(len(BONE_NAMES))
bars.bar(x - 0.27, 100 * observed_lengths.numpy(), 0.27, color="tab:grey", label="last observed frame")
bars.bar(x, 100 * rigid_bone_lengths(broken[last]).numpy(), 0.27, color="tab:red", label="before")
bars.bar(x + 0.27, 100 * rigid_bone_lengths(fixed[last]).numpy(), 0.27, color="tab:blue", label="after")
bars.set_xticks(x, BONE_NAMES, rotation=35, ha="right", fontsize=8)
bars.set_ylabel("bone length (cm)")
bars.set_title("the 9 rigid bones in frame 14", fontsize=10)
bars.legend(fontsize=8)
fig.subplots_adjust(left=0.0, right=0.98, bottom=0.2, top=0.92, wspace=0.3)

# %% [markdown]
# In the SoMoF data, 9 of the 14 skeleton edges are rigid (hip width, thighs, shins, upper arms,
# forearms: their change above is rounding), while the torso and head edges vary with how the joints
# were placed, so the step leaves those free. It keeps the hip centre, the shoulders and the head
# exactly where they were predicted, so the global motion is untouched, and it keeps the predicted
# direction of every bone, changing only its length (see the printed checks above: the wrist goes back
# along the same forearm direction, the noise on the other limbs is pulled onto the right lengths).
# Each corrected joint is a sum of differentiable operations (a unit vector times a length), so the
# loss is computed on corrected poses and gradients flow through the step: DeRPoF uses it in training
# as well as at inference, and its predictions cannot break the body.

# %% [markdown]
# ## Takeaway
# - DeRPoF works on velocities, so shifting a scene shifts its prediction and nothing else.
# - Global motion (where the body goes) is smooth; local motion (how the limbs move) is usually
#   slower but oscillates, with fast swings of hands and feet. Two networks, each for one signal.
# - Positions -> velocities -> global + local -> velocities -> positions is exact.
# - `enforce_bone_lengths` puts each predicted frame back on the 9 rigid bone lengths of the last
#   observed frame, keeping the hip centre, shoulders, head and every bone's direction; it is
#   differentiable, so DeRPoF trains through it and never stretches a limb.
