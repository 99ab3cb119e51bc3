# %% [markdown]
# # 07 — Your own forecaster, on the same honest protocol
#
# Notebooks 04 and 05 trained and scored one model family, DeRPoF ([Parsaeifard et al., "Learning
# Decoupled Representations for Human Pose Forecasting", ICCV 2021
# workshops](https://github.com/vita-epfl/decoupled-pose-prediction)), on the SoMoF 3DPW benchmark
# ([somof.stanford.edu](https://somof.stanford.edu)). Research means comparing families: an MLP such
# as siMLPe ([Guo et al., "Back to MLP: A Simple Baseline for Human Motion Prediction", WACV
# 2023](https://arxiv.org/abs/2207.01567)), a transformer, a sampler. A comparison means something
# only when every family is trained and scored on the same data with the same protocol. This
# notebook shows how to put a forecaster you write yourself through exactly the protocol that
# produced DeRPoF's numbers, with one call, and how to read the result.
#
# **What you will learn**
# 1. The protocol in one picture: cross-validation by sequence, and why no window of a held-out video
#    may ever be trained on.
# 2. What a forecaster is here (one method, `predict`), by writing one in a few dozen lines: a small MLP
#    on the last few velocities, translation-invariant, that samples futures by dropout.
# 3. One call, `cross_validate_forecaster`, gives its out-of-fold VIM table, bone drift, best-of-K rows
#    and VIM against the horizon, beside the baselines.
# 4. How to compare it with DeRPoF on the same folds, and how large a difference has to be before 36
#    samples from 4 videos can tell it from noise.
# 5. How to run the same call on your own data (plain arrays, or an `.npz` file).
#
# Errors are VIM (the SoMoF metric: per person and future frame, the Euclidean norm of the error over
# all 39 coordinates, in cm, averaged over persons), at future frames 2, 4, 8, 10, 14 (named 100, 240,
# 500, 640, 900 ms) and as `mean14`, the mean over all 14 future frames. Lower is better.

# %%
import hashlib
import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posepred.additions import OutputSteps
from posepred.baselines import Extrapolation
from posepred.cv import cross_validate_forecaster, write_cv_results
from posepred.data import N_FUTURE, N_OBSERVED, Scenes, load_split
from posepred.evaluate import predict, row
from posepred.forecasters import Ensemble
from posepred.paths import results_dir
from posepred.results import load_results
from posepred.tables import DRIFT_COLUMNS, VIM_COLUMNS, format_table
from posepred.viz import plot_vim_curves
from posepred.windows import rotate_about_y, split_windows

torch.set_num_threads(1)  # small models: one thread is fastest, especially on a busy machine
torch.manual_seed(0)  # fixed seeds (here and before every training): the same numbers on every run
np.random.seed(0)
valid = load_split("valid")
print(f"valid: {len(valid)} samples from {len(valid.sequence_names)} videos, 2 persons each; "
      f"observed {valid.observed.shape}, future {valid.future.shape} (scenes, persons, frames, joints, xyz)")

# %% [markdown]
# ## 1. The protocol in one picture
#
# The SoMoF train poses are not available here, so the honest numbers come from the 36 samples of
# `valid`, which tile four videos. Cross-validation by sequence trains four times, each time on the
# windows of three videos, and predicts the samples of the fourth:
#
# ```
# video (courtyard_...)   dancing_00    drinking_00   hug_00        rangeOfMotions_01
# samples                 7             11            9             9
# fold 1                  PREDICT       train         train         train
# fold 2                  train         PREDICT       train         train
# fold 3                  train         train         PREDICT       train
# fold 4                  train         train         train         PREDICT
#
# -> every sample is predicted exactly once, by the one model that never saw its video
# ```
#
# Why whole videos, and not a random quarter of the samples? The samples of a video are consecutive:
# stitched together they form one continuous track per person, and *any* 30 frames of a track make a
# training window (16 observed + 14 future frames). Around a held-out sample the windows of its own
# video look like this:
#
# ```
# one person's track in one video, frame by frame   (o: observed, +: future)
#
# held-out sample              |oooooooooooooooo++++++++++++++|     the answer: its 14 + frames
# window starting 3 earlier |oooooooooooooooo++++++++++++++|        its last 11 frames are 11 of the answer's 14
# window at the same frame     |oooooooooooooooo++++++++++++++|     is the held-out sample itself
# window starting 3 later         |oooooooooooooooo++++++++++++++|  its inputs hold 3 answer frames, its future 11
# ```
#
# A model trained on windows of the held-out video has been shown the answer it is then asked for,
# or most of it; its score measures memory, not forecasting. Holding out the whole video removes
# that, and the subtler leak of the same person's gait and the same scene's typical motions too.
#
# The check below cuts each fold's training windows exactly as the cross-validation does and confirms
# that none of the held-out video's poses is among their frames.

# %%
STRIDE = 3  # training windows start every 3rd frame: neighbours overlap by 27 of 30 frames anyway
for held_out in valid.sequence_names:
    windows = split_windows(valid, exclude=[held_out], stride=STRIDE)  # exactly what the fold trains on
    held = valid.subset(valid.sample_mask(include=[held_out]))
    held_poses = torch.as_tensor(np.concatenate([held.observed, held.future], axis=2).reshape(-1, 39))
    nearest = torch.cdist(held_poses.float(), windows.frames.reshape(-1, 39)).min()  # metres over 39 numbers
    print(f"hold out {held_out:<28} {len(held):2d} samples | train on {len(windows):4d} windows | "
          f"nearest training pose {100 * nearest:5.1f} cm")

# %% [markdown]
# ## 2. Write your own forecaster
#
# To the protocol, a forecaster is any object with one method,
#
# ```python
# predict(observed, partner=None, n_samples=None) -> positions
# #   observed (B, 16, 13, 3) torch tensor, metres  ->  (B, 14, 13, 3)
# #   with n_samples=K                               ->  (K, B, 14, 13, 3)   (forecasters that sample)
# #   partner: the other person of each scene, same shape (use it or ignore it)
# ```
#
# and a `fit(windows)` function that trains one on a fold's training windows (`np.asarray(windows)`
# gives `(W, 30, 13, 3)`: 16 observed then 14 future frames). Nothing else: no registration, no
# config, no base class. The cross-validation hands `predict` a `float32` tensor when your forecaster
# is an `nn.Module` with `float32` weights, `float64` otherwise; cast to what your network needs.
#
# Ours is deliberately small, in the spirit of siMLPe (an MLP is a strong baseline when data are few):
#
# - **input**: the last 4 frame-to-frame velocities, 4 x 39 numbers. Velocities do not change when
#   the whole scene is shifted, so the forecaster is *translation-invariant* by construction;
# - **output**: the offsets of the 14 future poses from the last observed pose (a residual: predicting
#   zero means "stand still");
# - one hidden layer of 32 units with dropout, 23k weights;
# - **training**: Adam on VIM itself (in metres), 300 steps of 128 windows, each window turned by a
#   random angle about the vertical axis (3DPW's camera, not the person, decides which way "x"
#   points; three videos are too few to learn every heading);
# - **samples**: dropout left on at test time ("Monte-Carlo dropout"), so every pass drops other units
#   and gives another future. It is the cheapest way to sample; it is not a trained generative model
#   like DeRPoF's conditional VAE.

# %%
N_VELOCITIES, HIDDEN, DROPOUT = 4, 32, 0.1
STEPS, BATCH, LR = 300, 128, 3e-3


class VelocityMLP(nn.Module):
    """The last N_VELOCITIES velocities -> offsets of the 14 future poses from the last observed pose."""

    def __init__(self, hidden=HIDDEN, dropout=DROPOUT):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(N_VELOCITIES * 39, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, N_FUTURE * 39))

    def forward(self, observed):  # (B, T, 13, 3), T > N_VELOCITIES -> (B, 14, 13, 3)
        recent = observed[:, -N_VELOCITIES - 1:]
        velocities = (recent[:, 1:] - recent[:, :-1]).flatten(1)  # (B, N_VELOCITIES * 39), metres per frame
        offsets = self.net(10 * velocities).view(-1, N_FUTURE, 13, 3)  # x10: inputs of order 0.1 to 1
        return observed[:, -1:] + offsets

    def predict(self, observed, partner=None, n_samples=None):
        observed = torch.as_tensor(observed, dtype=torch.float32)
        if n_samples is None:
            return self(observed)  # eval mode: dropout off, one deterministic future
        self.train()  # Monte-Carlo dropout: every pass drops other units
        try:
            return torch.stack([self(observed) for _ in range(n_samples)])
        finally:
            self.eval()


def vim_loss(predicted, future):
    """VIM in metres: the norm of the error over the 39 coordinates, averaged over persons and frames."""
    return (predicted - future).pow(2).sum(dim=(-1, -2)).sqrt().mean()


def train(windows, model_class=VelocityMLP):
    """A fresh model trained on one fold's windows (W, 30, 13, 3), returned in eval mode."""
    torch.manual_seed(0)  # the same initial weights and batches on every run
    windows = torch.as_tensor(windows, dtype=torch.float32)
    model = model_class()
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    for _ in range(STEPS):
        batch = windows[torch.randint(len(windows), (BATCH,))]
        batch = rotate_about_y(batch, 2 * math.pi * torch.rand(BATCH))  # any heading
        loss = vim_loss(model(batch[:, :N_OBSERVED]), batch[:, N_OBSERVED:])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()  # the protocol calls predict as it finds the model: switch dropout off here


trained = {}  # (model class, the windows' sha256) -> model


def fit(windows, model_class=VelocityMLP):
    """The protocol's fit. Training is seeded, so the same windows always give the same model: we keep
    each one, and the exercises reuse the fold models instead of training them again."""
    windows = np.asarray(windows, dtype=np.float32)  # (W, 30, 13, 3): 16 observed, then 14 future frames
    key = (model_class.__name__, hashlib.sha256(windows.tobytes()).hexdigest())
    if key not in trained:
        trained[key] = train(windows, model_class)
    return trained[key]


# %% [markdown]
# Before spending any training on it, check the contract on an untrained model: the shapes, and that
# shifting a scene by a few metres shifts the forecast by exactly as much.

# %%
torch.manual_seed(0)
untrained = VelocityMLP().eval()
observed = torch.as_tensor(valid.observed[:2].reshape(4, N_OBSERVED, 13, 3), dtype=torch.float32)  # 2 scenes
shift = torch.tensor([3.0, 0.0, -2.0])  # metres
with torch.no_grad():
    print("predict:", tuple(untrained.predict(observed).shape),
          "| n_samples=20:", tuple(untrained.predict(observed, n_samples=20).shape))
    change = (untrained.predict(observed + shift) - shift - untrained.predict(observed)).abs().max()
    print(f"translation-invariant (forecast moves with the scene, to float32 rounding): {bool(change < 1e-5)}")
print(f"{sum(p.numel() for p in untrained.parameters()):,} weights")

# %% [markdown]
# ## 3. One call
#
# `cross_validate_forecaster(name, fit, scenes, n_samples, label)` runs the four folds of section 1:
# for each video it calls `fit` on the other three videos' windows, predicts the held-out samples (and
# `n_samples` futures per person, torch seeded per fold), and scores every out-of-fold prediction
# against the same baselines as `posepred cv`. Rows are keyed by `name` and shown with `label`.
# `window_stride=3` cuts the training windows every 3rd frame, as in section 1 (the baseline whose
# damping factor is fitted per fold uses the same windows); `progress=False` hides the folds' progress
# bar. A few seconds on one core.

# %%
result = cross_validate_forecaster("my_mlp", fit, valid, n_samples=20, label="my MLP",
                                   window_stride=STRIDE, progress=False)
print(result.table())

# %% [markdown]
# How to read it:
#
# - **my MLP** is the deterministic forecast (dropout off): the number to compare.
# - **best-of-K** rows pick, for each person, the one of the first K samples nearest the truth. They
#   peek at the answer (an oracle), so they measure how well the samples *cover* the truth, never
#   accuracy; that is the practice of DLow ([Yuan & Kitani, "DLow: Diversifying Latent Flows for
#   Diverse Human Motion Prediction", ECCV 2020](https://arxiv.org/abs/2003.08386)). Best-of-1 is a
#   single random sample: worse than the deterministic forecast, as dropout noise only adds error.
# - **damped velocity 0.8** (keep moving with the last velocity, slowing by 0.8 per frame) is the
#   baseline a learned model has to beat; "factor fitted per fold" chooses the factor on each fold's
#   training windows.
# - **bone drift** (second table): how far the 9 rigid bones (thighs, shins, arms, hip width) stray
#   from their last observed length. Nothing in our MLP knows about bones, and it shows.
#
# The numbers per held-out video, and the diversity of the samples (APD: the average distance between
# two samples of the same person, cm):

# %%
print(format_table({name: r.metrics for name, r in result.per_sequence.items()}, columns=VIM_COLUMNS))
rows = result.rows
print(f"\nAPD of {result.diversity['k']} samples: {result.diversity['apd_cm']:.1f} cm; "
      f"best-of-20 mean14 {rows['my_mlp_best_of_20'].metrics['vim_mean']:.2f} cm against "
      f"{rows['my_mlp'].metrics['vim_mean']:.2f} cm deterministic")
print(f"samples (of 36) on which my MLP beats damped velocity 0.8: "
      f"{rows['my_mlp'].metrics['samples_better_than_damped']:.0f}")

# %% [markdown]
# VIM against the horizon, our forecaster beside the three baselines (`result.figure()` returns a
# matplotlib figure; `fig.savefig(...)` keeps it):

# %%
fig = result.figure()

# %% [markdown]
# ## 4. Against DeRPoF, on the same folds
#
# The shipped DeRPoF results (`results/valid_cv.json`, written by `posepred cv`) come from the same
# four folds of the same 36 samples, so the rows are directly comparable. When a second learned family
# has been cross-validated into `results/valid_cv_simlpe.json` (the package's siMLPe-style MLP,
# `posepred/simlpe.py`, through `posepred cv`), its row is shown too: the cell checks whether that file
# exists and says so when it does not.

# %%
shipped, _ = load_results(results_dir() / "valid_cv.json")
compare = {
    "my MLP (this notebook)": rows["my_mlp"].metrics,
    "DeRPoF (shipped, out of fold)": shipped["derpof"].metrics,
    "damped velocity 0.8": shipped["damped_velocity"].metrics,
}
simlpe_file = results_dir() / "valid_cv_simlpe.json"
if simlpe_file.exists():
    simlpe, simlpe_extra = load_results(simlpe_file)
    family = simlpe[simlpe_extra.get("forecaster", "simlpe")]  # its own row, beside the same baselines
    compare[f"{family.label} (results/{simlpe_file.name})"] = family.metrics
else:
    print(f"(no results/{simlpe_file.name} here: the siMLPe row is shown when that file exists)\n")
print(format_table(compare, columns=VIM_COLUMNS))
print("samples (of 36) better than damped velocity 0.8:",
      ", ".join(f"{name} {m.get('samples_better_than_damped', float('nan')):.0f}" for name, m in compare.items()
                if name != "damped velocity 0.8"))
mine, derpof = rows["my_mlp"].metrics["vim_mean"], shipped["derpof"].metrics["vim_mean"]
print(f"\nmean14: my MLP {mine:.2f} cm, DeRPoF {derpof:.2f} cm; my MLP - DeRPoF = {mine - derpof:+.2f} cm "
      f"({100 * (mine / derpof - 1):+.0f}%)")

# %% [markdown]
# Against the horizon, and per held-out video (where the uncertainty lives):

# %%
_, extra = load_results(results_dir() / "valid_cv.json")  # the file's other fields: per video, per frame
fig = plot_vim_curves({"my MLP": result.curves["my_mlp"], "DeRPoF (shipped)": extra["vim_per_frame"]["derpof"],
                       "damped velocity 0.8": result.curves["damped_velocity"]}, "out of fold, the same four folds")
derpof_by_video = {r["id"]: r["metrics"]["vim_mean"] for r in extra["per_sequence"]}
print(f"{'held-out video':<28} {'my MLP':>8} {'DeRPoF':>8} {'MLP - DeRPoF':>13}   (mean14, cm)")
for video, r in result.per_sequence.items():
    print(f"{video:<28} {r.metrics['vim_mean']:8.2f} {derpof_by_video[video]:8.2f} "
          f"{r.metrics['vim_mean'] - derpof_by_video[video]:13.2f}")

# %% [markdown]
# **Reading the comparison honestly.** In mean14 the shipped DeRPoF (CMU-pretrained, fine-tuned, a
# residual over damped velocity, conditional VAE, skeleton step) is 2.2 cm (5%) better than our small
# MLP. Both beat damped velocity by 4 to 6 cm from 500 ms on, and both beat it on 23 of the 36 samples.
# The MLP is *worse* than damped velocity at 100 ms (13.5 against 10.2 cm): it does not simply continue
# the last velocity, and every first-frame error it makes is a lasting offset (exercise 2 repairs that).
#
# How sure can we be of the 2.2 cm? Look at the videos: the MLP is ahead or level on three of the
# four, and DeRPoF's lead comes entirely from `courtyard_rangeOfMotions_01` (range-of-motion
# exercises, unlike anything in the other three videos), where it is 14.7 cm better. With 36 samples
# from only 4 videos, one video moves the mean by several cm, and a difference of about 1 cm in mean14
# is within what another seed, another window stride or another hyperparameter changes (we tried a
# handful of MLP settings; their mean14 spread over several cm, and choosing the best by this very
# score makes it optimistic). The fair summary: the MLP is competitive with DeRPoF on three videos and
# clearly worse on one; neither ranking is established here. The benchmark's hidden test split (10
# videos) is where such a claim is settled.

# %% [markdown]
# ## 5. Your own data
#
# The protocol needs only scenes of two people as plain arrays: `observed (N, 2, 16, 13, 3)` and
# `future (N, 2, 14, 13, 3)` in metres (y up, the SoMoF joint order), and a sequence name per sample.
# Cross-validation holds out one *sequence* at a time, so name them by recording: samples cut from
# the same take must share a name, or the leak of section 1 comes back. `frame_numbers (N, 16)`
# (image numbers of the observed frames, step 2 at 15 Hz from 30 fps video) say which samples continue
# each other, so that consecutive samples are stitched into tracks and every 30-frame stretch becomes a
# training window; without them every sample is a track of its own and gives one window per person.
#
# As a stand-in for your recordings we take valid's arrays under new sequence names. The same call runs
# on them, and since the poses and the windows are the same, so are the numbers: a check that the seam
# treats your data exactly as SoMoF's.

# %%
names = {video: f"take_{i + 1}" for i, video in enumerate(valid.sequence_names)}
mine = Scenes.from_arrays("mine", valid.observed, valid.future, [names[s] for s in valid.sequences],
                          frame_numbers=valid.frame_numbers)
print(f"{mine.name}: {len(mine)} scenes, sequences {mine.sequence_names}")
unstitched = Scenes.from_arrays("mine", mine.observed, mine.future, mine.sequences)  # no frame numbers
print(f"training windows of fold 1 (stride 1): {len(split_windows(mine, exclude=['take_1']))} with frame numbers, "
      f"{len(split_windows(unstitched, exclude=['take_1']))} without")
models_before = len(trained)
mine_result = cross_validate_forecaster("my_mlp", fit, mine, n_samples=20, label="my MLP",
                                        window_stride=STRIDE, progress=False)
print(f"new models trained: {len(trained) - models_before} (each fold's windows are byte for byte valid's, "
      "so fit found its models)")
print(format_table({r.label: r.metrics for r in mine_result.rows.values() if r.id in ("my_mlp", "damped_velocity")},
                   columns=VIM_COLUMNS))
print("same out-of-fold predictions as on valid:", np.allclose(mine_result.predictions, result.predictions))
print("published test row (SoMoF valid only):", "derpof_published_test" in mine_result.rows)

# %% [markdown]
# From a file: `np.savez("mine.npz", observed=..., future=..., sequences=..., frame_numbers=...)`, then
# `Scenes.load_npz("mine.npz")` (named after the file), and the command line cross-validates DeRPoF on
# it with `posepred cv --data mine.npz`, writing `results/mine/mine_cv.json`. `write_cv_results` writes
# the same kind of result set for your forecaster, named after the data and the forecaster. Here both go
# to a temporary folder, so the notebook leaves nothing in the repository. (Written into `results/`, a
# result set on SoMoF's valid split becomes `valid_cv_<name>.json`, and `posepred report` shows the rows
# of every such file beside DeRPoF's in the repository's README: put it there only to publish it.)

# %%
with tempfile.TemporaryDirectory() as folder:
    np.savez(Path(folder) / "mine.npz", observed=mine.observed, future=mine.future,
             sequences=np.array(mine.sequences), frame_numbers=mine.frame_numbers)
    loaded = Scenes.load_npz(Path(folder) / "mine.npz")
    print(f"load_npz: '{loaded.name}', {len(loaded)} scenes, same poses: {loaded.fingerprint() == mine.fingerprint()}")
    written = write_cv_results(mine_result, mine, Path(folder) / "results", command="notebook 07")
    print("write_cv_results wrote:", [p.name for p in written])
    reloaded, extra = load_results(written[0])
    print(f"  read back: {len(reloaded)} rows, data '{extra['data']['name']}', "
          f"my MLP mean14 {reloaded['my_mlp'].metrics['vim_mean']:.2f} cm")

# %% [markdown]
# ## Takeaway
#
# - A forecaster is one method, `predict(observed, partner=None, n_samples=None)`; a `fit(windows)`
#   function trains one per fold. `cross_validate_forecaster` does the rest: folds by video, the same
#   baselines, bone drift, best-of-K when it samples, the per-video rows and the figure.
# - Hold out whole videos. Any window of a held-out video contains or overlaps the answer.
# - Our small MLP (a few dozen lines, 23k weights, about a second per fold on one core) beats damped
#   velocity from 500 ms on and trails the shipped DeRPoF by 2.2 cm mean14, a lead that comes from one
#   of the four videos. With 36 samples from 4 videos, differences of about 1 cm are not established either way:
#   look at the per-video rows before believing a mean.
# - Best-of-K is an oracle: report it as diversity, next to the deterministic number, never instead.
# - Your own data is plain arrays with sequence names (and frame numbers for stitching).
#
# ## Exercises
#
# Try each one before you open its solution below (the solutions' code is collapsed in JupyterLab:
# click the three dots to show it).
#
# 1. **Keep the bones.** `posepred.additions.OutputSteps(skeleton=True)` puts every predicted pose back
#    on the person's last observed rigid bone lengths (it has no weights). Wrap your forecaster's output
#    in it, for the deterministic forecast and for each sample, and cross-validate again. What happens
#    to bone drift, and to VIM?
# 2. **A residual over damped velocity.** `OutputSteps(residual_damping=0.8)` adds the damped-velocity
#    extrapolation to whatever the network outputs. Put it inside the model's `forward`, so that the
#    MLP is *trained* to predict only the correction to damped velocity. Better or worse than the
#    plain MLP, and than damped velocity itself?
# 3. **An ensemble of two families.** Average the MLP's forecast and damped velocity 0.8 with equal
#    weights (`posepred.forecasters.Ensemble` averages forecasters; `posepred.baselines.Extrapolation`
#    is damped velocity as a forecaster). Does the average beat both?
# 4. **The leak, measured.** Train one MLP on the windows of all four videos and score it on the 36
#    valid samples it has seen. Compare with the out-of-fold number. Why must such a number never be
#    reported as validation?

# %% [markdown]
# ### Solutions

# %% jupyter={"source_hidden": true}
# Exercise 1: keep the bones. An output wrapper is itself a forecaster (it has predict), so the protocol
# takes it as it is. fit hands back the fold models of section 3: nothing is trained again.
class WithOutputSteps:
    """Any forecaster, its forecasts (and each sample) passed through OutputSteps."""

    def __init__(self, forecaster, steps):
        self.forecaster, self.steps = forecaster, steps

    def predict(self, observed, partner=None, n_samples=None):
        observed = torch.as_tensor(observed, dtype=torch.float32)
        output = self.forecaster.predict(observed, partner, n_samples)
        if n_samples is None:
            return self.steps(output, observed)
        return torch.stack([self.steps(sample, observed) for sample in output])


skeleton = cross_validate_forecaster(
    "mlp_skeleton", lambda windows: WithOutputSteps(fit(windows), OutputSteps(skeleton=True)), valid,
    n_samples=20, label="my MLP + skeleton step", window_stride=STRIDE, progress=False)
print(format_table({r.label: r.metrics for r in (rows["my_mlp"], skeleton.rows["mlp_skeleton"])},
                   columns=(*VIM_COLUMNS, *DRIFT_COLUMNS[:2])))
# Bone drift drops to 0: the rigid bones keep their observed length in every frame. VIM barely moves
# (the step keeps the hip centre, shoulders and head, and moves the hips, knees, ankles, elbows and
# wrists only along their predicted directions), so the skeleton step buys plausibility, not accuracy.
# Try it on damped velocity too: WithOutputSteps(Extrapolation(0.8), OutputSteps(skeleton=True)).

# %% jupyter={"source_hidden": true}
# Exercise 2: a residual over damped velocity, trained as such (OutputSteps inside forward).
class ResidualMLP(VelocityMLP):
    """VelocityMLP whose output is a correction added to the damped-velocity forecast."""

    def __init__(self):
        super().__init__()
        self.damped = OutputSteps(residual_damping=0.8)

    def forward(self, observed):
        return self.damped(super().forward(observed), observed)


residual = cross_validate_forecaster("mlp_residual", lambda windows: fit(windows, ResidualMLP), valid,
                                     n_samples=20, label="my MLP, residual over damped 0.8",
                                     window_stride=STRIDE, progress=False)
print(format_table({r.label: r.metrics for r in (rows["my_mlp"], residual.rows["mlp_residual"],
                                                 rows["damped_velocity"])}, columns=VIM_COLUMNS))
# The network now starts from damped velocity (untrained, its small output is a small correction), so
# the short horizons inherit the baseline's accuracy and the training only has to learn what the
# baseline gets wrong: at 100 ms the error falls from 13.5 to 9.4 cm, below damped velocity itself.
# At 900 ms it is a little worse than the plain MLP. The mean14 gain, about 1 cm, is within the noise
# of section 4; the gain at the short horizons is large and systematic. This is how the shipped DeRPoF
# is built too (posepred/additions.py, addition 1).

# %% jupyter={"source_hidden": true}
# Exercise 3: an equal-weight ensemble of two families. posepred.forecasters.Ensemble averages its
# members' deterministic forecasts (casting the input to each member's dtype); it does not sample, so
# n_samples stays 0. fit hands back the fold models of section 3: nothing is trained again.
ensemble = cross_validate_forecaster("mlp_damped", lambda windows: Ensemble([fit(windows), Extrapolation(0.8)]),
                                     valid, label="mean of my MLP and damped 0.8", window_stride=STRIDE,
                                     progress=False)
mlp_metrics, averaged = rows["my_mlp"].metrics, ensemble.rows["mlp_damped"].metrics
print(format_table({r.label: r.metrics for r in (rows["my_mlp"], rows["damped_velocity"],
                                                 ensemble.rows["mlp_damped"])}, columns=VIM_COLUMNS))
print(f"samples (of 36) better than damped velocity: my MLP {mlp_metrics['samples_better_than_damped']:.0f}, "
      f"the mean {averaged['samples_better_than_damped']:.0f}")
# The average of two forecasts is never worse than the average of their two errors (the triangle
# inequality), and it is better when their errors point different ways. Here the MLP is worse near
# 100 ms and damped velocity worse later, so the mean beats both from 240 ms on and is close to the
# better one at 100 ms. The same recipe averages any families, for example the MLP with DeRPoF's fold
# models (posepred.evaluate.load_folds; `posepred cv --folds DIR DIR` does it for saved fold models),
# always scored out of fold.

# %% jupyter={"source_hidden": true}
# Exercise 4: the leak. One MLP trained on all four videos, then "scored" on the samples it trained on.
leaky = fit(split_windows(valid, stride=STRIDE))
in_sample = row("my_mlp_seen", predict(leaky, valid.observed), valid, "my MLP trained on all 4 videos (IN-SAMPLE)")
print(format_table({r.label: r.metrics for r in (rows["my_mlp"], in_sample)}, columns=VIM_COLUMNS))
print(f"in-sample flatters by {rows['my_mlp'].metrics['vim_mean'] - in_sample.metrics['vim_mean']:.2f} cm mean14")
# Each valid sample's 30 frames are among the training windows here, or overlap one by 28 frames or more
# (section 1): the model was fitted to these very futures. Its score says how well it fits what it saw,
# not how it forecasts a new video. Even this tiny MLP, trained for 300 steps with dropout and random
# rotations, gains about 7 cm, three times its gap to DeRPoF; a big model trained long can drive the
# error towards zero. Such a number is a training score: report it only under that name, never as
# validation, and never next to out-of-fold numbers as if they were comparable.
