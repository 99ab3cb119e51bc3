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
# # 06 — Looking at predictions
#
# **What you will learn**
# - how to step through observed and predicted frames with a slider;
# - how to make a filmstrip, an animated GIF, and the seed's per-frame PNGs.

# %%
from pathlib import Path

import numpy as np
import torch
from IPython.display import Image

from posepred import viz
from posepred.cv import out_of_fold_predictions
from posepred.data import load_split

torch.manual_seed(0)
np.random.seed(0)
valid = load_split("valid")
predictions = out_of_fold_predictions(valid, "checkpoints/derpof/folds")
out = Path("visualizations")
out.mkdir(exist_ok=True)

# %% [markdown]
# ## 1. The frame viewer
# ```
# frames 0..15: observed (blue)  |  frames 16..29: ground truth (green) and/or prediction (red)
# ```
# Choose a sample and a person, toggle what to show, and drag the slider. The axes stay fixed, so
# motion is real motion. (Needs a live kernel: in a static render you see the first frame only.)

# %%
# NBVAL_IGNORE_OUTPUT
labels = [f"{i}: {s}" for i, s in enumerate(valid.sequences)]
viz.frame_viewer(valid.observed, valid.future, predictions, labels=labels)

# %% [markdown]
# ## 2. A filmstrip: every third frame of one sample

# %%
fig = viz.filmstrip(valid.observed[12], valid.future[12], predictions[12], every=3)

# %% [markdown]
# ## 3. An animated GIF

# %%
gif = viz.save_gif(valid.observed[12], valid.future[12], predictions[12], out / "sample_12.gif", fps=5)
Image(filename=str(gif))

# %% [markdown]
# ## 4. The seed's PNGs
# `posepred valid --sample 12` writes the same files: `_Input_00..15`, `_GroundTruth_00..13`,
# `_Prediction_00..13`, one 3D plot per frame on fixed axes.

# %%
paths = viz.save_frame_pngs(valid.observed[12], valid.future[12], predictions[12], out / "sample_12")
print(len(paths), "PNGs:", paths[0].name, "...", paths[-1].name)
Image(filename=str(paths[-1]))

# %% [markdown]
# ## Takeaway
# - `viz.frame_viewer` steps through observed, true and predicted frames on fixed axes.
# - `viz.filmstrip`, `viz.save_gif` and `viz.save_frame_pngs` make pictures for papers and slides.
