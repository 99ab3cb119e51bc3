# %% [markdown]
# # 03 — Global and local motion
#
# **What you will learn**
# - velocities: why DeRPoF predicts frame-to-frame displacements rather than positions;
# - the split into the hip-centre (*global*) velocity and each joint's velocity relative to it
#   (*local*), and why decoupling them helps;
# - the exact round trip back to positions.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred.data import load_split, split_windows  # importing posepred sets torch's threads first
from posepred.motion import (
    combine_global_local,
    positions_to_velocities,
    split_global_local,
    velocities_to_positions,
)

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
# ## Takeaway
# - DeRPoF works on velocities, so shifting a scene shifts its prediction and nothing else.
# - Global motion (where the body goes) is smooth; local motion (how the limbs move) is usually
#   slower but oscillates, with fast swings of hands and feet. Two networks, each for one signal.
# - Positions -> velocities -> global + local -> velocities -> positions is exact.
