# %% [markdown]
# # 04 — Training DeRPoF
#
# **What you will learn**
# - how `net_g` (global LSTM) and `net_l` (local VAE) fit together in `DeRPoF`;
# - the loss: MSE on the global velocity + 0.1 x (mean L2 error of local velocity + 0.01 x KL),
#   with the shipped recipe's two additions: free bits and a term for the deterministic prediction;
# - training with a live dashboard (progress bar and loss curves) through the trainer's callback,
#   and saving/resuming checkpoints.
#
# By default this notebook fine-tunes the shipped pretrained model for 6 epochs on one
# cross-validation fold: about 5 seconds on one free CPU core. Set `FULL_TRAINING = True` for 30
# epochs.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from posepred.config import RECIPES  # importing posepred first sets torch's thread count (posepred.runtime)
from posepred.data import load_split, split_windows
from posepred.models import DeRPoF
from posepred.runtime import resolve_device
from posepred.train import Trainer

torch.manual_seed(0)
np.random.seed(0)
FULL_TRAINING = False
device = resolve_device("auto")
print("device:", device)

# %% [markdown]
# ## 1. The model
# ```
# observed positions (B,16,13,3) ──► velocities ──► global (B,15,3) ──► net_g: LSTM enc/dec ──► (B,14,3)
#                                                └─► local (B,15,39) ──► net_l: VAE ──────────► (B,14,39)
#                                   predicted positions = last pose + cumsum(global + local)
# ```
# This notebook trains the shipped recipe (`RECIPES["finetune"]`), which adds four things to the
# seed's model:
# - `net_l` is a *conditional* VAE: in training its recognition network reads the true future, and
#   at test time z comes from N(0, I) (z = 0 for the deterministic prediction);
# - `net_g` also reads the other person of the scene (`social=True`);
# - every predicted frame is put back on the rigid bone lengths of the last observed one (`skeleton=True`);
# - both nets predict a *correction on top of damped-velocity extrapolation* (`residual_damping=0.8`):
#   the networks learn what physics gets wrong.
#
# Its loss is the seed's, with two changes: KL below 1 nat per latent dimension is not penalised
# (`free_bits=1.0`, which keeps the latent code in use), and the reconstruction terms are summed over
# a prediction from z ~ q and one from z = 0, the deterministic prediction used at test time
# (`prior_mean_loss`). `posepred.train.derpof_loss` is the whole of it.

# %%
model = DeRPoF(**RECIPES["finetune"].model_kwargs())
print(model.net_g)
print(f"parameters: net_g {sum(p.numel() for p in model.net_g.parameters()):,}, "
      f"net_l {sum(p.numel() for p in model.net_l.parameters()):,}")
print("output shape:", tuple(model(torch.zeros(2, 16, 13, 3)).shape))

# %% [markdown]
# ## 2. Data for one fold: train on three valid sequences, validate on the fourth

# %%
valid = load_split("valid")
held_out = "courtyard_hug_00"
windows = split_windows(valid, exclude=[held_out])
held = valid.subset(valid.sample_mask(include=[held_out]))
print(f"{len(windows)} training windows; {len(held)} held-out samples of {held_out}")

# %% [markdown]
# ## 3. Train with a live dashboard
# The trainer draws a progress bar; the callback receives one record per epoch and redraws the two
# loss curves in a figure of its own (a display handle that it updates), so the bar stays visible.
# Checkpoints go to a temporary folder that the last cell of this notebook removes. (The bar is a
# widget: a saved copy of the notebook, read without a kernel, shows only its first state as text;
# the figure's title says how far training got.)

# %% tags=["nbval-ignore-output"]
workdir = tempfile.TemporaryDirectory(prefix="posepred-04-")
config = RECIPES["finetune"].replace(n_epochs=30 if FULL_TRAINING else 6, dev=str(device),
                                     exclude_sequences=[held_out], checkpoint_dir=workdir.name)
records = []
figure = None


def draw_losses(record):
    """Trainer callback: add the epoch's record and redraw the curves in place."""
    global figure
    records.append(record)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    epochs = [r["epoch"] for r in records]
    ax.plot(epochs, [r["train_loss"] for r in records], "o-", label="training loss (dropout, augmentation, z sampled)")
    ax.plot(epochs, [r["valid_loss"] for r in records], "s-", label=f"held-out loss, {held_out} (z = mean)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)")
    ax.set_xlim(0.5, config.n_epochs + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
    ax.set_title(f"epoch {record['epoch']} of {config.n_epochs}", fontsize=10)
    fig.tight_layout()
    if figure is None:
        figure = display(fig, display_id=True)
    else:
        figure.update(fig)
    plt.close(fig)


trainer = Trainer(config, windows, held.observed, held.future, callbacks=[draw_losses])
history = trainer.fit()

# %% [markdown]
# Why can the held-out loss sit *below* the training loss? The two are not measured the same way.
# During training, dropout switches off a fifth of the units, every window is randomly rotated and
# mirrored, and the VAE decodes a *sampled* z: all three add error. The held-out loss is computed
# with the model in evaluation mode (no dropout), on the poses as they are, with z = the mean. The
# curves are still useful: watch whether each goes down, not which is lower. Here they move little:
# the model starts from the shipped pretrained weights, so a few epochs of fine-tuning change it
# only slightly (`FULL_TRAINING = True` runs 30).

# %% tags=["nbval-ignore-output"]
last = history[-1]
print(f"after {last['epoch']} epochs: held-out VIM at 900 ms {last['valid_vim_900']:.1f} cm, "
      f"mean over 14 frames {last['valid_vim_mean']:.1f} cm")

# %% [markdown]
# ## 4. Save and resume
# Every epoch writes one complete set: `checkpoint_g.pt`, `checkpoint_l.pt`, `config.json`,
# `history.json`, the optimiser state (`training_state.pt`) and a `manifest.json` listing them. The
# set is replaced all at once, so an interrupted save never leaves a torn set.
# `load_checkpoint=True` continues exactly where training stopped.

# %%
resumed = Trainer(config.replace(n_epochs=config.n_epochs + 1, load_checkpoint=True), windows, progress=False)
print("resumed at epoch", resumed.epoch)
same = all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), trainer.model.state_dict().values()))
print("weights identical to the trained model:", same)

# %% [markdown]
# The checkpoints were only for this demonstration: remove the temporary folder.

# %%
workdir.cleanup()
print("temporary checkpoint folder removed:", not Path(workdir.name).exists())

# %% [markdown]
# ## Takeaway
# - `DeRPoF` = global LSTM + local VAE on velocities, summed and integrated into positions; the
#   shipped recipe makes the VAE conditional, lets net_g see the other person and keeps bone lengths.
# - `Trainer(config, windows, ..., callbacks=[fn])` trains with a progress bar and calls `fn` after
#   each epoch, which is all a notebook needs for live curves (update one display handle; do not
#   clear the cell's output, or the bar goes with it).
# - Checkpoints carry their `config.json` and resume exactly.
