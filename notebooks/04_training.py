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
# # 04 — Training DeRPoF
#
# **What you will learn**
# - how `net_g` (global LSTM) and `net_l` (local VAE) fit together in `DeRPoF`;
# - the loss: MSE on the global velocity + 0.1 x (mean L2 error of local velocity + 0.01 x KL);
# - training with a live loss curve through the trainer's callback, and saving/resuming checkpoints.
#
# By default this notebook fine-tunes the shipped pretrained model for a few epochs on one
# cross-validation fold (seconds on a CPU). Set `FULL_TRAINING = True` for a longer run.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import clear_output, display

from posepred.config import RECIPES
from posepred.data import load_split, split_windows
from posepred.models import DeRPoF, resolve_device
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
# The shipped recipe also predicts a *correction on top of damped-velocity extrapolation*
# (`residual_damping=0.8`): the networks learn what physics gets wrong.

# %%
model = DeRPoF()
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
# ## 3. Train with a live curve
# The callback receives one record per epoch; here it redraws the losses.

# %%
# NBVAL_IGNORE_OUTPUT
workdir = tempfile.mkdtemp()
config = RECIPES["finetune"].replace(n_epochs=30 if FULL_TRAINING else 4, dev=str(device),
                                     exclude_sequences=[held_out], checkpoint_dir=workdir)
records = []


def live_plot(record):
    records.append(record)
    clear_output(wait=True)
    fig, ax = plt.subplots(figsize=(6, 3))
    epochs = [r["epoch"] for r in records]
    ax.plot(epochs, [r["train_loss"] for r in records], "o-", label="train loss")
    ax.plot(epochs, [r["valid_loss"] for r in records], "o-", label="held-out loss (z = mean)")
    ax.set_xlabel("epoch")
    ax.legend()
    display(fig)
    plt.close(fig)


trainer = Trainer(config, windows, held.observed, held.future, callbacks=[live_plot])
history = trainer.fit()

# %%
# NBVAL_IGNORE_OUTPUT
last = history[-1]
print(f"after {last['epoch']} epochs: held-out VIM at 900 ms {last['valid_vim_900']:.1f} cm, "
      f"mean over 14 frames {last['valid_vim_mean']:.1f} cm")

# %% [markdown]
# ## 4. Save and resume
# Every epoch writes `checkpoint_g.pt`, `checkpoint_l.pt`, `config.json` and the optimiser state,
# each atomically. `load_checkpoint=True` continues exactly where training stopped.

# %%
resumed = Trainer(config.replace(n_epochs=config.n_epochs + 1, load_checkpoint=True), windows, progress=False)
print("resumed at epoch", resumed.epoch)
same = all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), trainer.model.state_dict().values()))
print("weights identical to the trained model:", same)

# %% [markdown]
# ## Takeaway
# - `DeRPoF` = global LSTM + local VAE on velocities, summed and integrated into positions.
# - `Trainer(config, windows, ..., callbacks=[fn])` trains with a progress bar and calls `fn` after
#   each epoch, which is all a notebook needs for live curves.
# - Checkpoints carry their `config.json` and resume exactly.
