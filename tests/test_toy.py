"""posepred.toy: the small examples of notebook 01 (sine-wave LSTM, two-moons VAE) and their helpers."""

import math

import pytest
import torch

from posepred import toy


def test_noisy_sine_is_reproducible_and_bounded():
    series = toy.noisy_sine(8, 20, generator=torch.Generator().manual_seed(0))
    assert series.shape == (8, 20, 1)
    assert torch.equal(series, toy.noisy_sine(8, 20, generator=torch.Generator().manual_seed(0)))
    assert series.abs().max() < 1.5  # a unit sine plus noise of standard deviation 0.05
    clean = toy.noisy_sine(8, 20, noise=0.0, generator=torch.Generator().manual_seed(0))
    assert clean.abs().max() <= 1.0


def test_sine_lstm_learns():
    generator = torch.Generator().manual_seed(0)
    series = toy.noisy_sine(64, 40, generator=generator)
    torch.manual_seed(0)
    model = toy.SineLSTM(16)
    losses = toy.fit(model, lambda m: torch.mean((m(series[:, :30], 10) - series[:, 30:]) ** 2), steps=60)
    assert len(losses) == 60
    assert model(series[:, :30], 10).shape == (64, 10, 1)
    assert losses[-1] < 0.5 * losses[0]


def decode_by_hand(model, observed, inputs):
    """The decoder stepped on given inputs (the first one is the last observed value)."""
    _, (h, c) = model.encoder(observed)
    state, outputs = (h[-1], c[-1]), []
    for value in inputs:
        state = model.decoder(value, state)
        outputs.append(model.head(state[0]))
    return torch.stack(outputs, dim=1)


def test_sine_lstm_free_running_feeds_its_own_outputs():
    torch.manual_seed(0)
    model = toy.SineLSTM(8)
    observed = toy.noisy_sine(3, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        forecast = model(observed, 4)
        by_hand = decode_by_hand(model, observed, [observed[:, -1], *forecast[:, :3].unbind(1)])
    assert torch.equal(forecast, by_hand)


def test_sine_lstm_teacher_forcing_feeds_the_truth():
    torch.manual_seed(0)
    model = toy.SineLSTM(8)
    observed = toy.noisy_sine(3, 12, generator=torch.Generator().manual_seed(1))
    truth = torch.randn(3, 4, 1, generator=torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(3)
    state = generator.get_state()
    with torch.no_grad():
        forced = model(observed, 4, teacher=truth, generator=generator)
        by_hand = decode_by_hand(model, observed, [observed[:, -1], *truth[:, :3].unbind(1)])
        assert torch.equal(forced, by_hand)
        assert torch.equal(generator.get_state(), state)  # ratio 1: no coin drawn
        assert torch.equal(model(observed, 4, teacher=truth, teacher_ratio=0.0), model(observed, 4))
        # causal: step k sees the truth up to step k - 1 only
        changed = truth.clone()
        changed[:, 2] += 1.0
        moved = model(observed, 4, teacher=changed)
        assert torch.equal(moved[:, :3], forced[:, :3]) and not torch.equal(moved[:, 3], forced[:, 3])


def test_sine_lstm_teacher_ratio_mixes_per_series():
    torch.manual_seed(0)
    model = toy.SineLSTM(8)
    observed = toy.noisy_sine(200, 12, generator=torch.Generator().manual_seed(1))
    truth = toy.noisy_sine(200, 3, generator=torch.Generator().manual_seed(2)) + 5.0  # far from any forecast
    with torch.no_grad():
        free = model(observed, 3)
        forced = model(observed, 3, teacher=truth)
        mixed = model(observed, 3, teacher=truth, teacher_ratio=0.5, generator=torch.Generator().manual_seed(0))
        again = model(observed, 3, teacher=truth, teacher_ratio=0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mixed, again)  # the coins come from the generator
    assert torch.equal(mixed[:, 0], free[:, 0])  # the first input is always the last observed value
    like_forced = torch.isclose(mixed[:, 1], forced[:, 1]).squeeze(-1)
    like_free = torch.isclose(mixed[:, 1], free[:, 1]).squeeze(-1)
    assert torch.all(like_forced ^ like_free)  # each series got either the truth or its own output
    assert 60 < like_forced.sum() < 140  # about half of 200


def test_sine_lstm_refuses_a_teacher_of_the_wrong_length():
    model = toy.SineLSTM(4)
    with pytest.raises(ValueError, match="teacher shaped"):
        model(torch.zeros(2, 5, 1), 3, teacher=torch.zeros(2, 4, 1))


def test_repeat_last_and_error_by_horizon():
    observed = torch.tensor([[[1.0], [2.0]], [[3.0], [-1.0]]])  # 2 series of 2 steps
    forecast = toy.repeat_last(observed, 3)
    assert forecast.shape == (2, 3, 1) and forecast[:, :, 0].tolist() == [[2.0] * 3, [-1.0] * 3]
    truth = torch.tensor([[[2.0], [3.0], [5.0]], [[-1.0], [-2.0], [1.0]]])
    assert toy.error_by_horizon(forecast, truth).tolist() == [0.0, 1.0, 2.5]
    with pytest.raises(ValueError, match="prediction shaped"):
        toy.error_by_horizon(forecast, truth[:, :2])


def test_point_vae_and_kl():
    generator = torch.Generator().manual_seed(0)
    points = toy.two_moons(128, generator=generator)
    assert points.shape == (128, 2)
    model = toy.PointVAE()
    reconstruction, mean, log_var = model(points)
    assert reconstruction.shape == (128, 2) and mean.shape == (128, 2) and log_var.shape == (128, 2)
    encoded = model.encode(points)
    assert torch.equal(encoded[0], mean) and torch.equal(encoded[1], log_var)
    assert toy.kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0
    assert toy.kl_divergence(torch.ones(3, 2), torch.zeros(3, 2)).item() == 1.0
    assert model.sample(5).shape == (5, 2)
    assert toy.PointVAE(latent_dim=1).sample(7).shape == (7, 2)


def test_kl_divergence_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(16, 3, generator=generator), torch.randn(16, 3, generator=generator)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=-1).mean()
    assert math.isclose(toy.kl_divergence(mean, log_var).item(), expected.item(), rel_tol=1e-5)


def test_nearest_distance():
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    reference = torch.tensor([[0.0, 1.0], [3.0, 4.0], [10.0, 10.0]])
    assert toy.nearest_distance(points, reference) == pytest.approx(0.5)  # (1 + 0) / 2
    assert toy.nearest_distance(reference, points) == pytest.approx((1 + 0 + math.hypot(7, 6)) / 3)
    assert toy.nearest_distance(points, points) == 0.0


def test_fit_runs_the_given_number_of_adam_steps():
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    target = torch.tensor([[3.0]])
    losses = toy.fit(model, lambda m: ((m(torch.ones(1, 1)) - target) ** 2).mean(), steps=200, lr=0.1)
    assert len(losses) == 200 and losses[-1] < 1e-3 < losses[0]
