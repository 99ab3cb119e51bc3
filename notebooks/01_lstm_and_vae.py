# %% [markdown]
# # 01 — LSTMs and VAEs, the two building blocks of DeRPoF
#
# DeRPoF ([Parsaeifard et al., "Learning Decoupled Representations for Human Pose Forecasting",
# ICCV 2021 Workshops](https://openaccess.thecvf.com/content/ICCV2021W/SoMoF/html/Parsaeifard_Learning_Decoupled_Representations_for_Human_Pose_Forecasting_ICCVW_2021_paper.html))
# splits a person's motion in two: where the body goes (the hip centre, forecast by an LSTM
# encoder-decoder) and how the limbs move around it (forecast by an LSTM-based VAE). This notebook
# builds both pieces from scratch on toy data, small enough to train in a second each.
#
# **What you will learn**
# 1. The LSTM cell ([Hochreiter & Schmidhuber 1997](https://doi.org/10.1162/neco.1997.9.8.1735)),
#    written from its gate equations and checked against `torch.nn.LSTMCell`.
# 2. An LSTM encoder-decoder that forecasts noisy sine waves, evaluated honestly: on held-out
#    series, against a naive baseline, error against forecast horizon.
# 3. Teacher forcing versus feeding the decoder its own predictions, and why the second wins at test
#    time (exposure bias, [Bengio et al. 2015](https://arxiv.org/abs/1506.03099)).
# 4. The variational auto-encoder ([Kingma & Welling 2014](https://arxiv.org/abs/1312.6114)): the
#    ELBO, the closed-form KL term checked by Monte Carlo, the reparameterisation trick, and what the
#    size of the latent code changes. DeRPoF's local branch is an LSTM-based VAE whose decoder
#    forecasts the joints' motion. The model shipped with this repository makes it a conditional VAE
#    ([Sohn et al. 2015](https://papers.nips.cc/paper/2015/hash/8d55a249e6baa5c06772297520da2051-Abstract.html),
#    `vae="conditional"`, see `posepred/additions.py`): its decoder also reads the observed past,
#    and in training its encoder reads the future motion the code has to explain.
#
# Every check prints a number. Exercises with worked solutions are at the end.

# %%
import math

import matplotlib.pyplot as plt
import torch
from torch import nn

from posepred import toy

torch.manual_seed(0)  # fixed seeds (here and before every training): the same numbers on every run
torch.set_num_threads(1)  # small model: one thread is fastest, especially on a busy machine

# %% [markdown]
# ## 1. The LSTM cell, from its gate equations
#
# An LSTM reads a sequence one step at a time. It carries two vectors from step to step: the *cell
# state* `c` (its memory) and the *hidden state* `h` (what it shows to the next layer). At each step
# four small linear layers read the input `x` and the previous `h`:
#
# | name | formula | range | role |
# |---|---|---|---|
# | input gate `i` | σ(W_ii x + b_ii + W_hi h + b_hi) | 0 to 1 | how much new content to write |
# | forget gate `f` | σ(W_if x + b_if + W_hf h + b_hf) | 0 to 1 | how much old memory to keep |
# | candidate `g` | tanh(W_ig x + b_ig + W_hg h + b_hg) | -1 to 1 | the new content |
# | output gate `o` | σ(W_io x + b_io + W_ho h + b_ho) | 0 to 1 | how much memory to show |
#
# Then the memory is updated and read out:
#
# `c' = f * c + i * g`  and  `h' = o * tanh(c')`   (`*` is element by element, σ is the sigmoid).
#
# ```
#   x (this step), h (last step)
#      │
#      ├──► i = σ(...)     input gate   ─┐
#      ├──► f = σ(...)     forget gate  ─┤
#      ├──► g = tanh(...)  candidate    ─┤
#      └──► o = σ(...)     output gate  ─┤
#                                        ▼
#   c (last step) ───────────►  c' = f * c + i * g  ───────► c' (to the next step)
#                                        │
#                                        ▼
#                               h' = o * tanh(c')   ───────► h' (the output, and to the next step)
# ```
#
# The memory path from `c` to `c'` has no squashing non-linearity: when `f` is close to 1 the memory
# (and its gradient) passes through many steps almost unchanged. That is what lets an LSTM remember
# further back than a plain recurrent network. (The forget gate is not in the 1997 paper; it was
# added by Gers, Schmidhuber & Cummins, "Learning to Forget: Continual Prediction with LSTM",
# *Neural Computation* 2000, and every LSTM in PyTorch has it.)

# %%
def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step from the gate equations: x (B, n_in), h and c (B, n_hidden) -> h', c'."""
    gates = (x @ weight_ih.T + bias_ih) + (h @ weight_hh.T + bias_hh)  # the four layers at once: (B, 4 * n_hidden)
    i, f, g, o = gates.chunk(4, dim=1)  # PyTorch stacks the four gates in this order: i, f, g, o
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)
    c_next = f * c + i * g  # keep part of the old memory, add part of the new content
    h_next = o * torch.tanh(c_next)  # show part of the memory
    return h_next, c_next


reference = nn.LSTMCell(input_size=3, hidden_size=8)  # PyTorch's cell, randomly initialised
print("PyTorch's weights:", {name: tuple(p.shape) for name, p in reference.named_parameters()})

generator = torch.Generator().manual_seed(0)
inputs = torch.randn(20, 4, 3, generator=generator)  # 20 time steps, a batch of 4, 3 numbers each
h_ours = h_torch = torch.zeros(4, 8)
c_ours = c_torch = torch.zeros(4, 8)
h_diff = c_diff = 0.0
with torch.no_grad():
    for x in inputs:  # run both cells over the same sequence, with the same weights
        h_ours, c_ours = lstm_cell(x, h_ours, c_ours, reference.weight_ih, reference.weight_hh,
                                   reference.bias_ih, reference.bias_hh)
        h_torch, c_torch = reference(x, (h_torch, c_torch))
        h_diff = max(h_diff, (h_ours - h_torch).abs().max().item())
        c_diff = max(c_diff, (c_ours - c_torch).abs().max().item())
print(f"max |our cell - nn.LSTMCell| over 20 steps: h {h_diff:.1e}, c {c_diff:.1e}")
n_parameters = sum(p.numel() for p in reference.parameters())
print(f"parameters: {n_parameters} = 4 gates x 8 units x (3 inputs + 8 hidden + 2 biases) = {4 * 8 * (3 + 8 + 2)}")

# %% [markdown]
# The difference is exactly zero: our cell does the same arithmetic in the same order as PyTorch's.
# Add the four terms in another order, `x @ W_ih.T + h @ W_hh.T + b_ih + b_hh`, and you would see
# differences around 1e-8 instead: float32 rounding, not a different cell. PyTorch keeps two bias
# vectors (`bias_ih`, `bias_hh`) where one would do; only their sum matters.

# %% [markdown]
# ## 2. An encoder-decoder forecaster on noisy sine waves
#
# The task: see 30 values of a noisy sine wave, forecast the next 15. Each series has its own
# random phase and period (15 to 25 steps), so the model has to read them off the observed part.
#
# ```
#  observed x1 x2 ... x30 ──► [encoder LSTM] ──► state (h, c)
#                                                   │
#  last x30 ──► [decoder cell] ──► y31 ──► [decoder cell] ──► y32 ──► ...   (fed its own output)
# ```
#
# The encoder (`nn.LSTM`, the cell above applied at every step) summarises the past into its state.
# The decoder is one `nn.LSTMCell` started from that state. It is stepped once per future value; a
# linear layer turns its `h` into the forecast value, and that value is the decoder's next input.
# DeRPoF's global branch does exactly this with the 3-D velocity of the hip centre.
#
# An honest evaluation needs two more things: **held-out series** the model never trained on (new
# phases and periods), and a **naive baseline** to beat. Ours repeats the last observed value.

# %%
N_OBSERVED, N_FUTURE = 30, 15
train = toy.noisy_sine(64, N_OBSERVED + N_FUTURE, generator=torch.Generator().manual_seed(0))
held_out = toy.noisy_sine(500, N_OBSERVED + N_FUTURE, generator=torch.Generator().manual_seed(1))
observed, future = train[:, :N_OBSERVED], train[:, N_OBSERVED:]
held_observed, held_future = held_out[:, :N_OBSERVED], held_out[:, N_OBSERVED:]
print(f"training set: {len(train)} series; held-out set: {len(held_out)} other series; "
      f"each {N_OBSERVED} observed + {N_FUTURE} to forecast")

baseline_error = toy.error_by_horizon(toy.repeat_last(held_observed, N_FUTURE), held_future)
baseline_mse = torch.mean((toy.repeat_last(held_observed, N_FUTURE) - held_future) ** 2).item()
print(f"naive baseline (repeat the last value), held-out mean absolute error: 1 step ahead "
      f"{baseline_error[0]:.3f}, 15 steps ahead {baseline_error[-1]:.3f}, all steps {baseline_error.mean():.3f}")

# %% [markdown]
# The training loop, written out: forecast, measure the mean squared error against the truth,
# back-propagate, take an Adam step. Every 10 steps we also measure the error on the held-out
# series, without gradients. (Later cells call `toy.fit`, which is this loop without the held-out
# part.) One step sees all 64 training series at once.

# %%
STEPS, LR = 120, 0.01
torch.manual_seed(0)  # the initial weights
model = toy.SineLSTM(hidden_dim=32)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
train_loss, held_out_steps, held_out_loss = [], [], []
for step in range(1, STEPS + 1):
    forecast = model(observed, N_FUTURE)  # free running: the decoder is fed its own outputs
    loss = torch.mean((forecast - future) ** 2)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    train_loss.append(loss.item())
    if step % 10 == 0:
        with torch.no_grad():
            held_out_steps.append(step)
            held_out_loss.append(torch.mean((model(held_observed, N_FUTURE) - held_future) ** 2).item())
print(f"training loss (mean squared error): step 1 {train_loss[0]:.3f}, step {STEPS} {train_loss[-1]:.4f}")
print(f"held-out mean squared error after {STEPS} steps: {held_out_loss[-1]:.4f} (naive baseline {baseline_mse:.3f})")

with torch.no_grad():
    lstm_error = toy.error_by_horizon(model(held_observed, N_FUTURE), held_future)
print(f"LSTM held-out mean absolute error: 1 step ahead {lstm_error[0]:.3f}, 15 steps ahead "
      f"{lstm_error[-1]:.3f}, all steps {lstm_error.mean():.3f} (baseline {baseline_error.mean():.3f})")

# %%
def finish(ax, xlabel, ylabel, title):
    """Label a plot's axes, start its y axis at zero (a linear axis), add the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, None)
    ax.set_title(title)
    ax.legend(fontsize=8)


horizon = range(1, N_FUTURE + 1)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
left.plot(range(1, STEPS + 1), train_loss, label="training loss")
left.plot(held_out_steps, held_out_loss, "o", color="tab:orange", label="held-out error")
left.axhline(baseline_mse, color="grey", linestyle="--", label="naive baseline, held-out")
finish(left, "training step", "mean squared error (value²)", "learning curve")
right.plot(horizon, lstm_error, "o-", label="LSTM encoder-decoder")
right.plot(horizon, baseline_error, "--", color="grey", label="naive baseline: repeat the last value")
finish(right, "steps ahead", "mean absolute error (value)", "held-out error against horizon")
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the learning curve against its reference line. Before training the network outputs values
# near zero, which already beats repeating the last value over 15 steps: a sine wave half a period
# later is on the other side of zero, so the baseline's error grows to about 1 and then falls again
# as the wave comes back (right). The training loss falls fast and the held-out error follows it:
# the model learned sine waves, not the 64 training series. On held-out series the LSTM's error
# stays small at every horizon.
#
# Three held-out series, forecast:

# %%
with torch.no_grad():
    forecast = model(held_observed[:3], N_FUTURE)
fig, axes = plt.subplots(1, 3, figsize=(12, 2.8), sharey=True)
for i, ax in enumerate(axes):
    ax.plot(range(N_OBSERVED), held_observed[i, :, 0], ".-", color="tab:blue", label="observed")
    ax.plot(range(N_OBSERVED, N_OBSERVED + N_FUTURE), held_future[i, :, 0], ".-", color="tab:green", label="truth")
    ax.plot(range(N_OBSERVED, N_OBSERVED + N_FUTURE), forecast[i, :, 0], ".-", color="tab:red", label="forecast")
    ax.set_xlabel("time step")
    ax.set_title(f"held-out series {i}", fontsize=10)
axes[0].set_ylabel("value")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Teacher forcing or its own predictions?
#
# During training the decoder's input at each step can be
# - its **own previous prediction** (free running), as above and as at test time, or
# - the **true previous value** (teacher forcing). Every step then starts from the truth, so each
#   step is learned on its own: training is easier and the training loss falls faster.
#
# At test time the truth is unknown and the decoder must eat its own predictions. A model trained
# with teacher forcing has never seen its own (slightly wrong) outputs as inputs. One small error
# puts it in a state it was not trained for, and the errors compound along the horizon. This
# mismatch between training and test is called **exposure bias**. Bengio et al. 2015,
# ["Scheduled Sampling for Sequence Prediction with Recurrent Neural Networks"](https://arxiv.org/abs/1506.03099),
# propose to move gradually from the truth to the model's own predictions during training.
#
# Below: the same model, the same initial weights, the same 120 steps, trained with teacher
# forcing. Both are evaluated the test-time way, free running, on the held-out series.

# %%
torch.manual_seed(0)  # the same initial weights as the free-running model
teacher_model = toy.SineLSTM(hidden_dim=32)
teacher_loss = toy.fit(teacher_model, lambda m: torch.mean((m(observed, N_FUTURE, teacher=future) - future) ** 2),
                       steps=STEPS, lr=LR)
with torch.no_grad():
    teacher_error = toy.error_by_horizon(teacher_model(held_observed, N_FUTURE), held_future)
print(f"training loss after {STEPS} steps: teacher forcing {teacher_loss[-1]:.4f}, free running {train_loss[-1]:.4f}")
print("held-out mean absolute error (both forecast free running):")
print(f"  {'steps ahead':<27}{'1':>7}{'5':>7}{'10':>7}{'15':>7}{'all':>7}")
for name, error in [("trained with teacher forcing", teacher_error), ("trained free running", lstm_error),
                    ("naive baseline", baseline_error)]:
    print(f"  {name:<27}" + "".join(f"{error[k - 1]:7.3f}" for k in (1, 5, 10, 15)) + f"{error.mean():7.3f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
left.plot(range(1, STEPS + 1), teacher_loss, color="tab:purple", label="teacher forcing")
left.plot(range(1, STEPS + 1), train_loss, color="tab:blue", label="free running")
left.axhline(baseline_mse, color="grey", linestyle="--", label="naive baseline, held-out")
finish(left, "training step", "training loss: mean squared error (value²)", "training loss")
right.plot(horizon, teacher_error, "o-", color="tab:purple", label="trained with teacher forcing")
right.plot(horizon, lstm_error, "o-", color="tab:blue", label="trained free running")
right.plot(horizon, baseline_error, "--", color="grey", label="naive baseline")
finish(right, "steps ahead", "mean absolute error (value)", "held-out error, forecasting free running")
fig.tight_layout()
plt.show()

# %% [markdown]
# Both training losses end equally low, yet on held-out series the teacher-forced model is as good
# one step ahead and much worse further out: its error grows with the horizon, the signature of
# exposure bias. Both LSTMs still beat the naive baseline by far.
#
# **DeRPoF's decoders feed back their own outputs**, in training as at test time: the global LSTM
# its last hip velocity and the VAE's decoder its last local joint velocities (`FeedbackDecoder`
# in `posepred/derpof.py`). This notebook's `SineLSTM` does the same unless it is given `teacher=`.

# %% [markdown]
# ## 4. The variational auto-encoder (VAE)
#
# A VAE learns a distribution it can sample from. It imagines each data point `x` made from a
# hidden code `z`: first `z` is drawn from a simple prior `p(z) = N(0, I)`, then a *decoder* network
# turns `z` into `x`. To train the decoder we need, for each `x`, the codes that could have made it.
# An *encoder* network guesses them as a Gaussian `q(z | x) = N(mean(x), exp(log_var(x)))`.
#
# ```
#  x ──► encoder ──► mean, log_var ──► z = mean + exp(0.5 log_var) * eps ──► decoder ──► x̂
#                                          eps ~ N(0, I)
# ```
#
# Both networks are trained together by maximising the **evidence lower bound (ELBO)** of
# [Kingma & Welling 2014](https://arxiv.org/abs/1312.6114), a lower bound on `log p(x)`:
#
# `ELBO(x) = E_{z ~ q(z|x)}[ log p(x | z) ]  -  KL( q(z | x) || p(z) )`
#
# - The first term is the **reconstruction** term: codes drawn for `x` should decode back to `x`.
#   With a Gaussian decoder of fixed standard deviation σ, `-log p(x | z)` is
#   `|x - x̂|² / (2σ²)` plus a constant.
# - The second term, the **KL divergence**, keeps each `q(z | x)` close to the prior, so that codes
#   drawn from the prior decode to plausible data.
#
# Multiplying `-ELBO` by `2σ²` gives the loss we minimise: `|x - x̂|² + kl_weight * KL`, with
# `kl_weight = 2σ²`. We use `kl_weight = 0.02`, that is σ = 0.1, close to the noise of our data.
#
# ### The KL term in closed form, checked by Monte Carlo
#
# For a diagonal Gaussian against `N(0, I)` the KL has a closed form, summed over the code's
# dimensions: `KL = -0.5 * sum(1 + log_var - mean² - exp(log_var))`. Its definition is an average,
# `KL = E_{z ~ q}[ log q(z) - log p(z) ]`, which we can estimate by drawing many `z`.

# %%
def kl_closed_form(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) for each row, summed over the code's dimensions."""
    return -0.5 * torch.sum(1 + log_var - mean ** 2 - torch.exp(log_var), dim=-1)


mean, log_var = torch.tensor([1.0, -0.5]), torch.tensor([-1.0, 0.5])  # one 2-D Gaussian q
q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))  # takes the standard deviation
prior = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
z = q.loc + q.scale * torch.randn(100_000, 2, generator=torch.Generator().manual_seed(0))  # 100,000 draws
log_ratio = (q.log_prob(z) - prior.log_prob(z)).sum(dim=-1)  # log q(z) - log p(z), one per draw
exact = kl_closed_form(mean, log_var).item()
estimate, standard_error = log_ratio.mean().item(), (log_ratio.std() / math.sqrt(len(z))).item()
print(f"KL closed form: {exact:.4f}")
print(f"KL Monte Carlo over {len(z):,} draws: {estimate:.4f} (standard error {standard_error:.4f})")
print(f"difference: {estimate - exact:+.4f}, that is {abs(estimate - exact) / standard_error:.1f} standard errors")
print(f"torch.distributions.kl_divergence agrees: {torch.distributions.kl_divergence(q, prior).sum().item():.4f}")
print(f"toy.kl_divergence (the same formula, averaged over a batch) agrees: "
      f"{toy.kl_divergence(mean[None], log_var[None]).item():.4f}")

# %% [markdown]
# ### The reparameterisation trick
#
# Training needs the gradient of the reconstruction term with respect to `mean` and `log_var`, but
# `z` is *drawn*: you cannot differentiate through a random number generator. The trick is to draw
# the randomness first, `eps ~ N(0, I)`, outside the network, and to compute
# `z = mean + exp(0.5 * log_var) * eps`. Now `z` is an ordinary differentiable function of
# `mean` and `log_var`: `dz/dmean = 1` and `dz/dlog_var = 0.5 * exp(0.5 * log_var) * eps`.

# %%
mean = torch.tensor([1.0, -0.5], requires_grad=True)
log_var = torch.tensor([-1.0, 0.5], requires_grad=True)
eps = torch.randn(2, generator=torch.Generator().manual_seed(0))  # the randomness, drawn outside
z = mean + torch.exp(0.5 * log_var) * eps  # the reparameterisation trick
z.sum().backward()
print("eps:", [round(v, 4) for v in eps.tolist()])
print("gradient of sum(z) w.r.t. mean:   ", [round(v, 4) for v in mean.grad.tolist()])
print("gradient of sum(z) w.r.t. log_var:", [round(v, 4) for v in log_var.grad.tolist()])
print("0.5 * exp(0.5 * log_var) * eps:   ", [round(v, 4) for v in (0.5 * torch.exp(0.5 * log_var) * eps).tolist()])
normal = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
print(f"does a draw carry a gradient? .sample(): {normal.sample().requires_grad}, "
      f".rsample() (reparameterised): {normal.rsample().requires_grad}")

# %% [markdown]
# ### A VAE on 2-D points: one training step, each loss term named
#
# Our data are points on two interleaved half circles ("two moons") with a little noise. The
# `toy.PointVAE` has a small encoder (2 -> 64 -> mean and log_var) and decoder (code -> 64 -> 2);
# its `forward` draws `z` with the line above. The loss is written out here:

# %%
points = toy.two_moons(512, generator=torch.Generator().manual_seed(0))  # training points
held_points = toy.two_moons(1000, generator=torch.Generator().manual_seed(1))  # held-out points
KL_WEIGHT = 0.02  # = 2 sigma², sigma = 0.1: the decoder's assumed noise


def vae_loss(vae, x, kl_weight=KL_WEIGHT):
    """-ELBO (times 2 sigma²), averaged over the points; returns the loss and its two terms."""
    reconstruction, mean, log_var = vae(x)
    reconstruction_error = torch.mean(torch.sum((reconstruction - x) ** 2, dim=-1))
    kl = torch.mean(kl_closed_form(mean, log_var))
    return reconstruction_error + kl_weight * kl, reconstruction_error, kl


torch.manual_seed(0)
vae = toy.PointVAE(latent_dim=1)
optimizer = torch.optim.Adam(vae.parameters(), lr=0.01)
loss, reconstruction_error, kl = vae_loss(vae, points)
optimizer.zero_grad()
loss.backward()
optimizer.step()
print(f"step 1: loss {loss.item():.4f} = reconstruction {reconstruction_error.item():.4f} "
      f"+ {KL_WEIGHT} x KL {kl.item():.4f}")

# %% [markdown]
# ### How many dimensions should the code have? 1-D against 2-D
#
# The two moons are two curves: one number (where along the curves) nearly describes a point, and
# the noise across the curves is the rest. We train a VAE with a 1-D code and one with a 2-D code,
# the same way (600 full-batch steps), and compare them on the held-out points:
#
# - **held-out reconstruction error**: encode a point, decode its mean code, measure the distance;
# - **samples -> data**: decode 1,000 codes drawn from the prior and measure how far each lands from
#   the nearest held-out point (small: samples look like data);
# - **data -> samples**: how far each held-out point is from the nearest sample (small: the samples
#   cover all of the data, spread included).
#
# For reference, a perfect model scores like a fresh draw of real points.

# %%
def evaluate_vae(vae):
    """Held-out reconstruction error (RMS distance), samples -> data and data -> samples distances."""
    with torch.no_grad():
        mean, _ = vae.encode(held_points)
        reconstruction = torch.sum((vae.decoder(mean) - held_points) ** 2, dim=-1).mean().sqrt().item()
        samples = vae.sample(1000, generator=torch.Generator().manual_seed(2))
    to_data, to_samples = toy.nearest_distance(samples, held_points), toy.nearest_distance(held_points, samples)
    return reconstruction, to_data, to_samples, samples


vaes, results = {}, {}
for latent_dim in (1, 2):
    torch.manual_seed(0)
    vaes[latent_dim] = toy.PointVAE(latent_dim=latent_dim)
    losses = toy.fit(vaes[latent_dim], lambda m: vae_loss(m, points)[0], steps=600, lr=0.01)
    results[latent_dim] = evaluate_vae(vaes[latent_dim])
    with torch.no_grad():
        _, reconstruction_error, kl = vae_loss(vaes[latent_dim], points)
    print(f"{latent_dim}-D code: loss {losses[0]:.3f} -> {losses[-1]:.4f} (reconstruction "
          f"{reconstruction_error.item():.4f}, KL {kl.item():.2f} nats)")
real = toy.two_moons(1000, generator=torch.Generator().manual_seed(3))  # what a perfect model would sample

print(f"\n{'held-out points':<22}{'reconstruction':>16}{'samples -> data':>17}{'data -> samples':>17}")
for latent_dim in (1, 2):
    reconstruction, to_data, to_samples, _ = results[latent_dim]
    print(f"{f'{latent_dim}-D code':<22}{reconstruction:16.3f}{to_data:17.3f}{to_samples:17.3f}")
print(f"{'real points (perfect)':<22}{'-':>16}{toy.nearest_distance(real, held_points):17.3f}"
      f"{toy.nearest_distance(held_points, real):17.3f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharex=True, sharey=True)
axes[0].scatter(*held_points.T, s=3, color="tab:blue")
axes[0].set_title("held-out data: two moons")
for ax, latent_dim in zip(axes[1:], (1, 2)):
    ax.scatter(*held_points.T, s=3, color="lightgrey", label="held-out data")
    ax.scatter(*results[latent_dim][3].T, s=3, color="tab:red", label="decoded from z ~ N(0, I)")
    ax.set_title(f"{latent_dim}-D code: 1,000 samples from the prior")
    ax.legend(fontsize=8, markerscale=3, loc="upper right")
for ax in axes:
    ax.set_xlabel("x (no unit)")
    ax.set_aspect("equal")
axes[0].set_ylabel("y (no unit)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The code size is a trade-off you can read off the table and the pictures:
#
# - With a **1-D code** the decoder lays the line of codes along the two curves. Its samples land
#   on the moons (samples -> data is as small as for real points), but on a thin line without the
#   data's spread, so they do not cover the data (data -> samples is four times that of real
#   points), and its reconstructions are poor: one number cannot say how far off the curve a noisy
#   point lies. One line of codes also has to get from one moon to the other: it cuts across the
#   middle and leaves the inner tips of the moons empty.
# - With a **2-D code** the second dimension encodes the noise across the curves: reconstructions
#   are three times better and the samples cover all of the data, but many of them land between and
#   around the moons (samples -> data is three times that of real points). The encoder does not fill
#   the whole prior with codes of real points, and codes from the gaps decode to points off the data.
#
# DeRPoF's local VAE faces the same choice with 32-dimensional codes of joint motion.

# %% [markdown]
# ## Takeaway
#
# - An LSTM cell is four small linear layers (gates) and two lines of arithmetic:
#   `c' = f * c + i * g`, `h' = o * tanh(c')`. The memory path lets information and gradients
#   travel many steps.
# - An encoder-decoder LSTM forecasts by rolling its decoder forward on its own outputs. Judge it on
#   held-out data, against a naive baseline, at every horizon.
# - Train the decoder the way it is used: fed its own predictions. Teacher forcing trains just as
#   well on paper but suffers from exposure bias, errors that compound along the horizon.
# - A VAE maximises the ELBO: reconstruction minus the KL to the prior. The KL has a closed form;
#   the reparameterisation trick makes sampling differentiable; the code size decides what the
#   model can represent.
# - DeRPoF combines both: an LSTM for where the person goes, a VAE for how the body moves.
#
# ## Exercises
#
# Try each one before you open its solution below (the solutions' code is collapsed in JupyterLab:
# click the three dots to show it).
#
# 1. **Forget-gate bias.** Jozefowicz, Zaremba & Sutskever, "An Empirical Exploration of Recurrent
#    Network Architectures" (ICML 2015), recommend starting the forget gate's bias at 1 instead of
#    about 0. Which entries of `bias_ih` and `bias_hh` belong to the forget gate of an
#    `nn.LSTMCell`? Set them, and compute the average forget gate on random inputs before and after,
#    and what fraction of the memory survives 30 steps of that gate.
# 2. **Horizon length.** The forecaster was trained to forecast 15 steps. Ask it for 30 steps on new
#    held-out series of 60 values. How does its error grow beyond the trained horizon, compared with
#    the baseline?
# 3. **Teacher forcing ratio.** `model(observed, 15, teacher=future, teacher_ratio=0.5)` feeds the
#    truth to a random half of the series at each step. Implement scheduled sampling (Bengio et al.
#    2015): a ratio falling from 1 to 0 over the first 60 training steps, then free running, 120
#    steps in all. Where does its held-out error land, against the two models of section 3?
# 4. **KL weight and posterior collapse.** Train the 2-D VAE with `kl_weight` 5 instead of 0.02.
#    What happens to the KL of each code dimension, the reconstruction error and the spread of the
#    samples? When the KL of a dimension drops to 0, that part of the code carries no information
#    about `x` ("posterior collapse").
# 5. **A bigger code.** Train a VAE with a 4-D code (kl_weight 0.02). How many of its four dimensions
#    does it use (KL clearly above 0)?

# %% [markdown]
# ### Solutions

# %% jupyter={"source_hidden": true}
# Exercise 1: forget-gate bias. PyTorch's gate order is i, f, g, o, so the forget gate owns entries
# n_hidden to 2 * n_hidden of each bias vector. Only bias_ih + bias_hh matters: set one to 1, the other to 0.
cell = nn.LSTMCell(input_size=3, hidden_size=8)
x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
h = torch.randn(1000, 8, generator=torch.Generator().manual_seed(1)) * 0.5


def average_forget_gate(cell):
    with torch.no_grad():
        gates = (x @ cell.weight_ih.T + cell.bias_ih) + (h @ cell.weight_hh.T + cell.bias_hh)
        return torch.sigmoid(gates.chunk(4, dim=1)[1]).mean().item()


before = average_forget_gate(cell)
with torch.no_grad():
    forget = slice(cell.hidden_size, 2 * cell.hidden_size)
    cell.bias_ih[forget] = 1.0
    cell.bias_hh[forget] = 0.0
after = average_forget_gate(cell)
print(f"average forget gate: default init {before:.3f}, bias 1 {after:.3f} (sigmoid(1) = {1 / (1 + math.exp(-1)):.3f})")
print(f"share of the memory (and of its gradient) left after 30 steps at that average gate: default "
      f"{before ** 30:.1e}, bias 1 {after ** 30:.1e}, about {round(after ** 30 / before ** 30, -2):,.0f} times more")
# The memory path multiplies by f at every step. With the default, f is about 0.5 and anything older
# than a few steps is gone before training has started, gradients included. With bias 1 the gradient
# from 30 steps back is thousands of times larger, so training can find the long-range links and
# push f towards 1 where remembering pays.

# %% jupyter={"source_hidden": true}
# Exercise 2: forecasting past the trained horizon.
long = toy.noisy_sine(500, N_OBSERVED + 30, generator=torch.Generator().manual_seed(4))
long_observed, long_future = long[:, :N_OBSERVED], long[:, N_OBSERVED:]
with torch.no_grad():
    long_error = toy.error_by_horizon(model(long_observed, 30), long_future)
long_baseline = toy.error_by_horizon(toy.repeat_last(long_observed, 30), long_future)
print(f"{'steps ahead':<16}" + "".join(f"{k:>7}" for k in (1, 5, 10, 15, 20, 25, 30)))
print(f"{'LSTM':<16}" + "".join(f"{long_error[k - 1]:7.3f}" for k in (1, 5, 10, 15, 20, 25, 30)))
print(f"{'naive baseline':<16}" + "".join(f"{long_baseline[k - 1]:7.3f}" for k in (1, 5, 10, 15, 20, 25, 30)))
# Beyond step 15 the decoder runs in states it never reached in training, and its error grows;
# a model is only tested on the horizon it was trained and evaluated on.

# %% jupyter={"source_hidden": true}
# Exercise 3: scheduled sampling. The teacher forcing ratio falls linearly from 1 to 0 over the first
# 60 steps, then the decoder runs free: 120 steps in all, the budget of section 3.
torch.manual_seed(0)  # the same initial weights again
scheduled_model = toy.SineLSTM(hidden_dim=32)
ratios = iter(torch.linspace(1, 0, STEPS // 2).tolist() + [0.0] * (STEPS - STEPS // 2))  # one per step
coin = torch.Generator().manual_seed(0)  # draws which series get the truth at each step
toy.fit(scheduled_model, lambda m: torch.mean((m(observed, N_FUTURE, teacher=future, teacher_ratio=next(ratios),
                                                 generator=coin) - future) ** 2), steps=STEPS, lr=LR)
with torch.no_grad():
    scheduled_error = toy.error_by_horizon(scheduled_model(held_observed, N_FUTURE), held_future)
for name, error in [("teacher forcing", teacher_error), ("scheduled sampling", scheduled_error),
                    ("free running", lstm_error)]:
    print(f"{name:<19} held-out mean absolute error: 15 steps ahead {error[-1]:.3f}, all steps {error.mean():.3f}")
# Scheduled sampling lands between the two. On this small, smooth problem free running from the first
# step trains well, so it wins; scheduled sampling pays off where free running from scratch is slow or
# unstable (long sequences, words or other discrete outputs, as in Bengio et al. 2015).

# %% jupyter={"source_hidden": true}
# Exercise 4: the KL weight. A large weight makes every nat of information in z expensive.
def kl_per_dimension(vae):
    """The KL of q(z | x) to the prior, per code dimension, averaged over the held-out points."""
    with torch.no_grad():
        mean, log_var = vae.encode(held_points)
        return kl_closed_form(mean[:, :, None], log_var[:, :, None]).mean(dim=0).clamp(min=0)  # no -0.0


torch.manual_seed(0)
heavy_vae = toy.PointVAE(latent_dim=2)
toy.fit(heavy_vae, lambda m: vae_loss(m, points, kl_weight=5.0)[0], steps=600, lr=0.01)
print(f"{'2-D code':<17}{'KL per code dimension (nats)':>30}{'reconstruction':>16}{'spread of samples':>19}")
for name, vae in [("kl_weight 0.02", vaes[2]), ("kl_weight 5", heavy_vae)]:
    reconstruction, _, _, samples = evaluate_vae(vae)
    kl_text = str([round(v, 3) for v in kl_per_dimension(vae).tolist()])
    print(f"{name:<17}{kl_text:>30}{reconstruction:16.3f}{samples.std(dim=0).norm().item():19.3f}")
print(f"{'the data':<17}{'':>30}{'':>16}{held_points.std(dim=0).norm().item():19.3f}")
# At kl_weight 5 the KL of both dimensions is about 0: q(z | x) equals the prior for every x, the
# codes carry no information, the decoder ignores z and outputs about the mean of the data, so the
# samples shrink to a point (spread near 0); its reconstruction error equals the spread of the data.
# That is posterior collapse. Try 0.5: one dimension switches off first. It happens to the paper's
# DeRPoF VAE on real poses too, for another reason: its encoder sees only the past, which the decoder
# already has, so a code brings nothing and the KL drives it to 0 (posepred/additions.py, point 3).

# %% jupyter={"source_hidden": true}
# Exercise 5: a 4-D code. Unused dimensions cost KL and bring nothing, so the VAE switches them off:
# their q(z | x) equals the prior for every x (KL about 0), a collapse of single dimensions.
torch.manual_seed(0)
vae = toy.PointVAE(latent_dim=4)
toy.fit(vae, lambda m: vae_loss(m, points)[0], steps=600, lr=0.01)
kl_4d = kl_per_dimension(vae)
print("KL per code dimension (nats):", [round(v, 3) for v in kl_4d.tolist()])
print(f"dimensions in use (KL > 0.1 nats): {int((kl_4d > 0.1).sum())} of 4; "
      f"held-out reconstruction error {evaluate_vae(vae)[0]:.3f} (2-D code: {results[2][0]:.3f})")
