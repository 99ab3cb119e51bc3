# %% [markdown]
# # 01 — LSTMs and VAEs, the two building blocks of DeRPoF
#
# **What you will learn**
# - how an LSTM encoder-decoder forecasts a sequence by feeding back its own outputs;
# - what a variational auto-encoder (VAE) is: an encoder to a mean and a log-variance, the
#   *reparameterisation trick*, the KL term, and sampling new data from the prior.
#
# DeRPoF uses an LSTM for the global (hip-centre) motion and an LSTM-based VAE for the local
# joint motion. Here both ideas run on toy data; each training cell takes a few seconds on one CPU core.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from posepred import toy  # importing posepred first sets torch's thread count (posepred.runtime)

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
series = toy.noisy_sine(64, 45, generator=generator)  # 64 series of 45 steps: 30 observed, 15 to forecast
observed, future = series[:, :30], series[:, 30:]
lstm = toy.SineLSTM(hidden_dim=32)
losses = toy.fit(lstm, lambda m: torch.mean((m(observed, 15) - future) ** 2), steps=150, lr=0.01)
print(f"mean squared error: first step {losses[0]:.3f}, last step {losses[-1]:.3f}")

# %%
with torch.no_grad():
    forecast = lstm(observed[:3], 15)
fig, axes = plt.subplots(1, 3, figsize=(12, 3), sharey=True)
for i, ax in enumerate(axes):
    ax.plot(range(30), observed[i, :, 0], "b.-", label="observed")
    ax.plot(range(30, 45), future[i, :, 0], "g.-", label="truth")
    ax.plot(range(30, 45), forecast[i, :, 0], "r.-", label="LSTM forecast")
    ax.set_xlabel("time step")
    ax.set_title(f"series {i}", fontsize=10)
axes[0].set_ylabel("value (no unit)")
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
#
# The two moons are two curves, so a *one*-dimensional code is enough: the decoder learns to lay
# the line of `z` values along the curves. (With a 2-D code and this little training, the prior
# samples come out as a noisy cloud over both moons: the network has no reason to use the second
# dimension well.)

# %%
points = toy.two_moons(1024, generator=generator)
vae = toy.PointVAE(latent_dim=1)


def vae_loss(model, kl_weight=0.02):
    reconstruction, mean, log_var = model(points)
    return torch.mean(torch.sum((reconstruction - points) ** 2, dim=-1)) + kl_weight * toy.kl_divergence(mean, log_var)


losses = toy.fit(vae, vae_loss, steps=1000, lr=0.005)
with torch.no_grad():
    _, mean, log_var = vae(points)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; KL at the end {toy.kl_divergence(mean, log_var).item():.2f}")

# %%
with torch.no_grad():
    samples = vae.sample(1024, generator=generator)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].scatter(*points.T, s=3)
axes[0].set_title("data: two moons")
z = np.linspace(-3.5, 3.5, 200)
axes[1].hist(mean[:, 0].numpy(), bins=60, density=True, alpha=0.7, label="codes (mean) of the data")
axes[1].plot(z, np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi), "k--", label="prior N(0, 1)")
axes[1].set_xlabel("code z")
axes[1].set_ylabel("density")
axes[1].legend(fontsize=8)
axes[1].set_title("the data's codes against the prior")
axes[2].scatter(*points.T, s=3, color="lightgrey", label="data")
axes[2].scatter(*samples.T, s=3, color="tab:red", label="decoded from z ~ N(0, 1)")
axes[2].legend(fontsize=8, markerscale=3)
axes[2].set_title("new points sampled from the prior")
for ax in (axes[0], axes[2]):
    ax.set_xlabel("x (no unit)")
    ax.set_ylabel("y (no unit)")
    ax.set_aspect("equal")
fig.tight_layout()

# %% [markdown]
# The samples follow both moons: the prior covers the same range of codes as the data, and the
# decoder turns each code into a point on the curves. Two things are missing, and both teach
# something. The samples lie on thin lines, without the spread of the data, because the decoder
# outputs one point per code and this VAE does not model the noise around it. And a short bridge
# joins the two moons, because one line of codes has to pass from one moon to the other: codes in
# that stretch are rare in the data but still drawn from the prior. (Likewise the rare codes in the
# prior's tails land a little past the ends of the moons.)

# %% [markdown]
# ## Takeaway
# - An LSTM encoder-decoder forecasts by rolling its decoder forward on its own outputs.
# - A VAE learns a distribution: the reparameterisation trick makes sampling trainable, and the KL
#   term keeps the latent space close to N(0, I) so new samples can be drawn. The size of the code
#   matters: one dimension fits two curves.
# - DeRPoF combines both: an LSTM for where the person goes, a VAE for how the body moves.
