# %% [markdown]
# # 05 — Evaluation: honest numbers
#
# **What you will learn**
# - VIM (SoMoF's official metric) versus ADE/FDE, and why each number must say which it is;
# - cross-validation by sequence: every valid sample predicted by a model that never saw its video;
# - the results table against the baselines, VIM versus horizon, VAE samples and best-of-K, and
#   where the model fails.

# %%
import numpy as np
import torch

from posepred import viz
from posepred.baselines import damped_velocity, zero_velocity
from posepred.checkpoint import load_model
from posepred.cv import out_of_fold_predictions
from posepred.data import load_split
from posepred.evaluate import best_of_k, predict
from posepred.metrics import summary, vim_per_frame

torch.manual_seed(0)
np.random.seed(0)
valid = load_split("valid")
FOLDS = "checkpoints/derpof/folds"  # shipped; `posepred cv --save-folds checkpoints/derpof` rebuilds them

# %% [markdown]
# ## 1. The metrics
# ```
# VIM(frame)   = mean over persons of  sqrt( sum over 39 coordinates of error² )      [cm]
# ADE rms      = mean over frames of   sqrt( sum of error² / 13 )                      [m]
# ADE mpjpe    = mean over frames and joints of the joint's Euclidean error             [m]
# ```
# VIM sums over all joints (it grows with sqrt(13)); ADE/FDE average. Both are reported, labelled.

# %%
observed = torch.as_tensor(valid.observed)
print(f"zero velocity, frame 14: VIM {vim_per_frame(zero_velocity(observed), valid.future)[-1]:.2f} cm")

# %% [markdown]
# ## 2. Out-of-fold predictions from the shipped fold models
# Fold model `folds/<sequence>` was fine-tuned on the other three sequences (from a model pretrained
# on CMU motion capture, which never saw 3DPW). Each sample is predicted by the fold that did not
# see it, so every number below is a validation number.

# %%
predictions = out_of_fold_predictions(valid, FOLDS)
rows = {
    "DeRPoF (out of fold)": summary(predictions, valid.future),
    "zero velocity": summary(zero_velocity(observed), valid.future),
    "damped velocity 0.8": summary(damped_velocity(observed, 0.8), valid.future),
}
viz.results_table(rows, caption="valid split: 36 samples x 2 persons; lower is better, best in bold")

# %% [markdown]
# ## 3. VIM versus horizon

# %%
curves = {name: vim_per_frame(p, valid.future) for name, p in [
    ("DeRPoF (out of fold)", predictions), ("zero velocity", zero_velocity(observed)),
    ("damped velocity 0.8", damped_velocity(observed, 0.8))]}
fig = viz.plot_vim_curves(curves, "valid, out of fold")

# %% [markdown]
# ## 4. Samples from the VAE and best-of-K
# Drawing z from the posterior gives different futures. *Best-of-K* picks, for each person, the
# sample closest to the truth: it peeks at the answer, so it measures diversity, never accuracy.

# %%
torch.manual_seed(0)
samples = np.zeros((20, *valid.future.shape))
for sequence in valid.sequence_names:
    mask = valid.sample_mask(include=[sequence])
    model, _ = load_model(f"{FOLDS}/{sequence}")
    samples[:, mask] = predict(model, valid.observed[mask], n_samples=20)
spread = np.linalg.norm(samples - samples.mean(axis=0), axis=-1).mean()
oracle = summary(best_of_k(samples, valid.future), valid.future)
print(f"mean distance of a sample from the sample mean: {100 * spread:.2f} cm")
print(f"best-of-20 (oracle) VIM at 900 ms: {oracle['vim_900']:.2f} cm, "
      f"z = mean: {rows['DeRPoF (out of fold)']['vim_900']:.2f} cm")

# %% [markdown]
# Compare the two numbers. A spread of a few millimetres and an oracle barely below the mean
# prediction mean that the decoder relies little on z: the VAE is then close to deterministic
# (posterior collapse, a known trade-off of the KL weight). A spread of centimetres and a clearly
# lower oracle mean that the samples are genuinely different futures.
#
# ## 5. The worst predictions

# %%
per_sample = np.linalg.norm((predictions - valid.future).reshape(36, 2, 14, -1), axis=-1).mean(axis=(1, 2)) * 100
for index in np.argsort(per_sample)[::-1][:3]:
    moved = np.linalg.norm(valid.future[index, :, -1] - valid.observed[index, :, -1], axis=-1).mean()
    print(f"sample {index:2d} ({valid.sequences[index]}): mean VIM {per_sample[index]:.1f} cm; "
          f"joints moved {moved:.2f} m on average in the 14 future frames")
worst = int(np.argmax(per_sample))
fig = viz.filmstrip(valid.observed[worst], valid.future[worst], predictions[worst], every=3)

# %% [markdown]
# Read the sequence names and the distances above. The worst cases are typically motions that start
# or change direction inside the 14 future frames (a new arm movement in the range-of-motion
# exercises, a dance step), not simply the fastest ones: the past second does not announce them, and
# the model, like any extrapolation, continues the recent trend. The filmstrip shows the worst one.
#
# ## Takeaway
# - Say which metric you print: VIM (cm, summed over joints) or ADE/FDE (m, averaged; rms or mpjpe).
# - Without train poses, cross-validation by sequence gives honest numbers; the shipped fold models
#   reproduce `results/valid_cv.md`.
# - Best-of-K is an oracle; the mean prediction is what counts.
