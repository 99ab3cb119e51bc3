# %% [markdown]
# # 06 — Looking at predictions
#
# **What you will learn**
# - how to step through observed and predicted frames with a slider, and turn the view;
# - how to step through the VAE's sampled futures next to the deterministic prediction;
# - how to make a filmstrip, an animated GIF, and the seed's per-frame PNGs.

# %%
from pathlib import Path

import numpy as np
import torch
from IPython.display import Image

from posepred import viz  # importing posepred first sets torch's thread count (posepred.runtime)
from posepred.data import load_split
from posepred.evaluate import out_of_fold

torch.manual_seed(0)
np.random.seed(0)
valid = load_split("valid")
folds = out_of_fold(valid, "checkpoints/derpof/folds", n_samples=20, seed=0)  # as results/valid_oof_samples.npz
predictions, samples = folds.predictions, folds.samples  # (36, 2, 14, 13, 3) and (20, 36, 2, 14, 13, 3)
out = Path("visualizations")
out.mkdir(exist_ok=True)

# %% [markdown]
# ## 1. The frame viewer
# ```
# frames 0..15: observed (blue)  |  frames 16..29: ground truth (green) and/or prediction (red)
# ```
# Choose a sample and a person, toggle what to show, drag the frame slider, and turn the view with
# the elevation and azimuth sliders when a pose looks like a stick from the default angle (sample
# 12, person 1, for example). The axes stay fixed, so motion is real motion.
#
# The viewer needs a live kernel. Here is its starting picture as a plain figure (frame 15, the
# last observed one, of sample 0), which any static render of this notebook shows:

# %%
fig = viz.frame_figure(valid.observed[0], valid.future[0], predictions[0], frame=15)

# %% [markdown]
# And the viewer itself. Before the cell has run in this session, JupyterLab shows only a line of
# text here (the widget's name); run the cell to get the controls.
#
# Given `samples`, the viewer gets a "prediction" dropdown: the deterministic prediction (z = 0,
# the prior mean) or any of the 20 futures drawn from the prior, drawn in red in its place. Pick a
# future frame (say 29), then step through the samples to see how differently the same past can
# continue; notebook 05 prints which two persons its fans of samples show.

# %% tags=["nbval-ignore-output"]
labels = [f"{i}: {s}" for i, s in enumerate(valid.sequences)]
viz.frame_viewer(valid.observed, valid.future, predictions, labels=labels, samples=samples)

# %% [markdown]
# ## 2. A filmstrip: every third frame of one sample, in rows of five

# %%
fig = viz.filmstrip(valid.observed[12], valid.future[12], predictions[12], every=3)

# %% [markdown]
# ## 3. An animated GIF

# %% tags=["nbval-ignore-output"]
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
# - `viz.frame_viewer` steps through observed, true and predicted frames on fixed axes, from any angle,
#   and, given `samples`, through the VAE's sampled futures; `viz.frame_figure` draws one of its
#   frames as a plain figure.
# - `viz.filmstrip`, `viz.save_gif` and `viz.save_frame_pngs` make pictures for papers and slides.
