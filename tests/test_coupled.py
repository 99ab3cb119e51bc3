"""The coupled forecaster of notebook 03: shapes, the forecaster protocol, translation equivariance,
the same size as DeRPoF, the paper's loss without KL, and that it learns."""

import torch

from posepred.coupled import CoupledLSTM, coupled_loss, n_parameters
from posepred.derpof import DeRPoF, derpof_loss
from posepred.evaluate import predict


def test_shapes_and_the_forecaster_protocol():
    torch.manual_seed(0)
    model = CoupledLSTM()
    observed = torch.randn(5, 16, 13, 3)
    assert model(observed).shape == (5, 14, 13, 3)
    assert model(observed, n_future=3).shape == (5, 3, 13, 3)
    model.train()
    prediction = model.predict(observed)
    assert model.training  # predict restores the mode it found
    torch.testing.assert_close(prediction, model.predict(observed))  # eval mode: no dropout, deterministic
    samples = model.predict(observed, n_samples=4)
    assert samples.shape == (4, 5, 14, 13, 3) and torch.equal(samples[2], prediction)
    scenes = torch.randn(3, 2, 16, 13, 3).numpy()
    assert predict(model, scenes).shape == (3, 2, 14, 13, 3)


def test_about_the_size_of_the_paper_model():
    coupled, paper = n_parameters(CoupledLSTM()), n_parameters(DeRPoF())
    assert coupled == 132_439 and paper == 133_962
    assert abs(coupled - paper) / paper < 0.02


def test_a_silent_decoder_repeats_the_last_observed_pose():
    """The prediction integrates predicted velocities from the last observed pose: with the decoder's
    output layer at zero, every future frame repeats the last pose."""
    model = CoupledLSTM().eval()
    torch.nn.init.zeros_(model.decoder.head.weight)
    torch.nn.init.zeros_(model.decoder.head.bias)
    observed = torch.randn(2, 16, 13, 3)
    torch.testing.assert_close(model.predict(observed), observed[:, -1:].expand(2, 14, 13, 3))


def test_loss_is_the_paper_loss_without_kl():
    torch.manual_seed(0)
    model = CoupledLSTM().eval()
    observed, future = torch.randn(3, 16, 13, 3), torch.randn(3, 14, 13, 3)
    loss, terms, predicted = coupled_loss(model, observed, future)
    expected, expected_terms = derpof_loss(model(observed), future, observed, torch.zeros(()), 0.1, 0.0)
    torch.testing.assert_close(loss, expected)
    assert terms == expected_terms and terms["kl"] == 0.0
    assert predicted.shape == future.shape


def test_it_learns_a_constant_velocity():
    """A walk at constant speed: a few Adam steps bring the loss well down."""
    torch.manual_seed(0)
    t = torch.arange(30, dtype=torch.float32).view(1, 30, 1, 1)
    base = torch.randn(16, 1, 13, 3) * 0.3
    speed = torch.randn(16, 1, 1, 3) * 0.02
    walks = base + t * speed  # (16, 30, 13, 3)
    observed, future = walks[:, :16], walks[:, 16:]
    model = CoupledLSTM(hidden_dim=32, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.004)
    first = coupled_loss(model, observed, future)[0].item()
    for _ in range(60):
        loss = coupled_loss(model, observed, future)[0]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.3 * first
