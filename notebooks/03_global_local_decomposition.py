# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

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

from posepred.data import load_split, split_windows
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
windows = torch.as_tensor(split_windows(valid, stride=2))
velocities = positions_to_velocities(windows)
global_velocity, local_velocity = split_global_local(velocities)
print("positions", tuple(windows.shape), "-> velocities", tuple(velocities.shape))
print("global", tuple(global_velocity.shape), " local", tuple(local_velocity.shape))

# %% [markdown]
# ## 3. Why decouple? Their magnitudes and behaviour differ
# The global velocity is smooth and carries most of the displacement when people walk; the local
# velocities are small, oscillating limb motions. One network for both would have to model two
# very different signals at once.

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
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
bins = np.linspace(0, 1.5, 60)
axes[0].hist(speed_global.numpy(), bins, alpha=0.6, density=True, label="global (hip centre)")
axes[0].hist(speed_local.numpy(), bins, alpha=0.6, density=True, label="local (per joint)")
axes[0].set_xlabel("speed (m/s)")
axes[0].legend()
axes[1].plot(global_velocity[100, :, 0].numpy(), label="global x-velocity")
axes[1].plot(local_velocity[100, :, 11, 0].numpy(), label="local x-velocity, left wrist")
axes[1].set_xlabel("frame")
axes[1].legend()
fig.tight_layout()

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
# - Global motion (where the body goes) is smooth and larger; local motion (how the limbs move) is
#   small and oscillating. Two networks, each for one signal.
# - Positions -> velocities -> global + local -> velocities -> positions is exact.
