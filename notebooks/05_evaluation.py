# %% [markdown]
# # 05 — Evaluation: honest numbers
#
# **What you will learn**
# - VIM (SoMoF's official metric) versus ADE/FDE, and why each number must say which it is;
# - cross-validation by sequence: every valid sample predicted by a model that never saw its video;
# - the results table against the baselines and VIM versus horizon;
# - posterior collapse: why the seed's VAE ignores z and what a conditional VAE changes;
# - sampled futures, best-of-K against K (an oracle) and APD; whether predicted bones keep their
#   length; where the model fails.

# %%
import numpy as np
import torch

from posepred import viz, viz_samples
from posepred.baselines import damped_velocity, zero_velocity
from posepred.checkpoint import load_model
from posepred.data import load_split
from posepred.evaluate import load_results, load_samples, out_of_fold, sample_rows
from posepred.metrics import ACTIVE_KL_NATS, apd, bone_drift, summary, vim_per_frame
from posepred.paths import results_dir

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
# see it, so every number below is a validation number. Each fold model also draws 20 futures per
# person from its prior (torch seeded per fold): the same samples `posepred cv` wrote to
# `results/valid_oof_samples.npz`.

# %%
folds = out_of_fold(valid, FOLDS, n_samples=20, seed=0)
predictions, samples = folds.predictions, folds.samples  # (36, 2, 14, 13, 3), (20, 36, 2, 14, 13, 3)
print("samples equal results/valid_oof_samples.npz:",
      np.array_equal(samples, load_samples(results_dir() / "valid_oof_samples.npz")))
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
# ## 4. Posterior collapse: which latent dimensions carry anything?
# ```
# seed VAE:         q(z | past)          decoder(past, z)   ->  z adds nothing the past has not
# conditional VAE:  q(z | past, future)  decoder(past, z)   ->  z can say which future it was
# test time:        z ~ N(0, I) for samples, z = 0 for the deterministic prediction
# ```
# The KL of a dimension's recognition distribution from the prior N(0, 1) measures how much that
# dimension tells the decoder (in nats). We compute it on the 9 held-out samples of
# `courtyard_hug_00` for two fold models that never saw that video: the seed's VAE
# (`checkpoints/seed_vae`, kept for this comparison) and the shipped conditional VAE, which also
# reads the other person of the scene (its partner).

# %%
held_out = valid.sample_mask(include=["courtyard_hug_00"])
scenes = torch.as_tensor(valid.observed[held_out], dtype=torch.float32)  # (9, 2, 16, 13, 3)
truth = torch.as_tensor(valid.future[held_out], dtype=torch.float32)
observed_persons, future_persons = scenes.flatten(0, 1), truth.flatten(0, 1)  # (18, ...): one row per person
partners = scenes[:, [1, 0]].flatten(0, 1)  # each person's partner: the other person of the scene
seed_vae, _ = load_model("checkpoints/seed_vae/courtyard_hug_00")
conditional_vae, _ = load_model(f"{FOLDS}/courtyard_hug_00")
kl = {"seed VAE": seed_vae.kl_per_dimension(observed_persons, future_persons).numpy(),
      "conditional VAE": conditional_vae.kl_per_dimension(observed_persons, future_persons, partners).numpy()}
for name, values in kl.items():
    print(f"{name}: total KL {values.sum():.2e} nats, largest dimension {values.max():.2e}, "
          f"{(values > ACTIVE_KL_NATS).sum()} of {len(values)} dimensions above {ACTIVE_KL_NATS} nats")
fig = viz_samples.plot_kl_per_dimension(kl)

# %% [markdown]
# The seed's VAE has collapsed: every dimension sits orders of magnitude below the threshold, so its
# z is noise the decoder has learned to ignore. The reason is what its encoder sees: only the past,
# which the decoder is given anyway. Whatever z could carry is already available to the decoder for
# free, while every bit in z costs KL, so the optimum is q(z | past) = N(0, I) and a decoder that
# ignores z (this is not fixed by lowering the KL weight). The conditional VAE changes three things:
# its recognition network sees the true future in training, so z can carry what the past cannot
# tell (which of the possible futures happened); free bits leave each dimension's first nat of KL
# unpenalised, so small amounts of information are not squeezed out; and z enters net_g as well as
# net_l, so it can shape where the body goes, not only how the limbs move. Its dimensions are then
# in use (see the printed counts and the orange bars).
#
# ## 5. A fan of sampled futures
# Samples drawn from the prior are different futures for the same past. Which persons to show: the
# person whose samples spread most (largest mean distance from the sample mean) and the person the
# deterministic prediction gets most wrong, so a failure is on the page, not hidden.

# %%
spread = np.linalg.norm((samples - samples.mean(axis=0)).reshape(20, 36, 2, 14, -1), axis=-1).mean(axis=(0, 3))
error = np.linalg.norm((predictions - valid.future).reshape(36, 2, 14, -1), axis=-1).mean(axis=-1)  # (36, 2)
picks = {"samples spread most": np.unravel_index(spread.argmax(), spread.shape),
         "deterministic prediction worst": np.unravel_index(error.argmax(), error.shape)}
for reason, (i, p) in picks.items():
    print(f"{reason}: sample {i} ({valid.sequences[i]}), person {p}: spread {100 * spread[i, p]:.1f} cm, "
          f"error of z = 0 {100 * error[i, p]:.1f} cm (both over the 39 coordinates, mean over 14 frames)")
for reason, (i, p) in picks.items():
    fig = viz_samples.plot_sample_fan(valid.observed[i, p], samples[:, i, p], valid.future[i, p],
                                      deterministic=predictions[i, p],
                                      title=f"sample {i}, person {p} ({reason})")

# %% [markdown]
# Red lines are the 20 sampled futures, black is z = 0, green the truth. Where the samples fan out
# around the truth, the model knows the future is uncertain and one of its samples lands near it;
# where the truth lies outside the whole fan (a wrist raised, or a turn, that none of the samples
# makes), no sample saw it coming: a motion the past does not announce. Look for both in the two
# pictures; the samples vary, but not always in the direction the future took.
#
# ## 6. Best-of-K against K, and APD
# *Best-of-K* draws K samples per person and keeps the one nearest the truth. It is an **oracle**:
# it peeks at the answer, so it measures how well the samples cover the possible futures, never
# accuracy you could have at test time. Best-of-1 keeps a single random sample, which is worse than
# the deterministic prediction z = 0, the centre of the prior. *APD* (average pairwise distance) is
# the mean distance between two samples of the same person: how different the futures are.

# %%
best_rows = sample_rows(samples, valid, ks=(1, 2, 5, 10, 20))
best_of = {int(r.id.rsplit("_", 1)[1]): r.metrics["vim_mean"] for r in best_rows}
deterministic = summary(predictions, valid.future)["vim_mean"]
print("best-of-K mean VIM (cm, oracle):", ", ".join(f"K={k}: {v:.2f}" for k, v in best_of.items()))
print(f"deterministic prediction (z = 0): {deterministic:.2f} cm")
print(f"APD of the 20 samples: {apd(samples):.2f} cm (39 coordinates, mean over 14 frames)")
fig = viz_samples.plot_best_of_k(best_of, deterministic=deterministic)

# %% [markdown]
# Read the curve: one sample is worse than z = 0, a handful already beats it, and each doubling of
# K helps less. That the curve falls at all means the samples differ in ways that matter (a
# collapsed VAE gives a flat line on the dashed one); how far it falls is a statement about
# coverage, not about the prediction you would submit.
#
# ## 7. Do the bones keep their length?
# Bone drift: how much the 9 rigid bones (hip width, thighs, shins, upper arms, forearms) change
# length against the last observed frame, in %, from `results/valid_cv.json` (what `posepred cv`
# wrote for the same out-of-fold predictions), and the same for the 20 samples here.

# %%
results, _ = load_results(results_dir() / "valid_cv.json")
drift_ids = ["ground_truth", "derpof", "damped_velocity", "damped_velocity_fitted", "constant_velocity",
             "zero_velocity"]
print(f"the 20 samples: largest rigid-bone change "
      f"{bone_drift(samples, valid.observed[None, :, :, -1].repeat(20, axis=0))['bone_drift_max']:.2f}%")
viz.results_table({results[i].label: results[i].metrics for i in drift_ids}, kind="drift",
                  caption="bone-length drift, valid out of fold, % (lower is not always better: "
                          "compare with the ground truth)")

# %% [markdown]
# Compare the rows with the ground truth (see the table above): the skeleton step keeps DeRPoF's
# rigid bones, and its samples', exactly at the observed lengths, while the velocity baselines
# stretch limbs (zero velocity repeats the last pose, so its bones cannot drift); over all 14 edges
# some frames change by more than 10% even in the truth, because the torso and head edges are not
# rigid.
#
# ## 8. The worst predictions

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
# - A VAE whose encoder sees only what the decoder already has collapses (KL per dimension ~0);
#   letting the recognition network see the future (with free bits) puts information in z.
# - Samples fan out around the uncertain future; best-of-K is an oracle that measures their
#   coverage, APD their spread; the deterministic prediction (z = 0) is what counts for accuracy.
# - Bone drift tells whether a predictor keeps the body intact: compare it with the ground truth.
