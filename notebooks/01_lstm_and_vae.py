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
# # 01 — LSTMs and VAEs, the two building blocks of DeRPoF
#
# **What you will learn**
# - how an LSTM encoder-decoder forecasts a sequence by feeding back its own outputs;
# - what a variational auto-encoder (VAE) is: an encoder to a mean and a log-variance, the
#   *reparameterisation trick*, the KL term, and sampling new data from the prior.
#
# DeRPoF uses an LSTM for the global (hip-centre) motion and an LSTM-based VAE for the local
# joint motion. Here both ideas run on toy data in a few seconds.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred import toy

torch.manual_seed(0)
np.random.seed(0)
generator = torch.Generator().manual_seed(0)

# %% [markdown]
# ## 1. An LSTM forecasting a noisy sine wave
#
# ```
#  observed x1 x2 ... x30 ──► [encoder LSTM] ──► state (h, c)
#                                                   │
#  last x30 ──► [decoder cell] ──► y31 ──► [decoder cell] ──► y32 ──► ...   (fed its own output)
# ```
# The encoder summarises the past into its state; the decoder starts from that state and rolls
# forward one step at a time. DeRPoF's `net_g` does exactly this with 3-D hip velocities.

# %%
series = toy.noisy_sine(256, 45, generator=generator)
observed, future = series[:, :30], series[:, 30:]
lstm = toy.SineLSTM(hidden_dim=32)
losses = toy.fit(lstm, lambda m: torch.mean((m(observed, 15) - future) ** 2), steps=150, lr=0.01)
print(f"mean squared error: first step {losses[0]:.3f}, last step {losses[-1]:.3f}")

# %%
with torch.no_grad():
    forecast = lstm(observed[:3], 15)
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8), sharey=True)
for i, ax in enumerate(axes):
    ax.plot(range(30), observed[i, :, 0], "b.-", label="observed")
    ax.plot(range(30, 45), future[i, :, 0], "g.-", label="truth")
    ax.plot(range(30, 45), forecast[i, :, 0], "r.-", label="LSTM forecast")
axes[0].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## 2. A VAE on 2D points
#
# ```
#  x ──► encoder ──► mean, log_var ──► z = mean + exp(0.5 log_var) * eps ──► decoder ──► x̂
#                                          eps ~ N(0, I)
# loss = reconstruction error + KL( N(mean, var) || N(0, I) )
# ```
# Drawing `eps` outside the network makes `z` a differentiable function of `mean` and `log_var`
# (the reparameterisation trick), so gradients flow through the sampling. The KL term pulls every
# code towards the standard normal prior, so that decoding `z ~ N(0, I)` gives plausible new data.

# %%
points = toy.two_moons(1024, generator=generator)
vae = toy.PointVAE(latent_dim=2)


def vae_loss(model, kl_weight=0.05):
    reconstruction, mean, log_var = model(points)
    return torch.mean(torch.sum((reconstruction - points) ** 2, dim=-1)) + kl_weight * toy.kl_divergence(mean, log_var)


losses = toy.fit(vae, vae_loss, steps=400, lr=0.005)
with torch.no_grad():
    _, mean, log_var = vae(points)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; KL at the end {toy.kl_divergence(mean, log_var).item():.2f}")

# %%
with torch.no_grad():
    samples = vae.sample(1024, generator=generator)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
axes[0].scatter(*points.T, s=3)
axes[0].set_title("data")
axes[1].scatter(*mean.T, s=3, c=points[:, 0], cmap="viridis")
axes[1].set_title("codes (mean) of the data")
axes[2].scatter(*samples.T, s=3, color="tab:red")
axes[2].set_title("decoded from z ~ N(0, I)")
fig.tight_layout()

# %% [markdown]
# ## Takeaway
# - An LSTM encoder-decoder forecasts by rolling its decoder forward on its own outputs.
# - A VAE learns a distribution: the reparameterisation trick makes sampling trainable, and the KL
#   term keeps the latent space close to N(0, I) so new samples can be drawn.
# - DeRPoF combines both: an LSTM for where the person goes, a VAE for how the body moves.
