"""The paper's model and its additions (shapes, equivariance, determinism, the prior, the other
person, the skeleton step) and the trainer (learning, callbacks, exact resume, seeds)."""

import numpy as np
import pytest
import torch

from posepred import checkpoint
from posepred.additions import DeRPoFPlus, OutputSteps, derpof_plus_loss
from posepred.config import Config
from posepred.data import cut_windows, stitch_tracks
from posepred.derpof import DeRPoF, GlobalLSTM, LocalVAE, derpof_loss, kl_divergence
from posepred.runtime import resolve_device
from posepred.trainer import Trainer

CPU = Config(dev="cpu")


@pytest.fixture(scope="module")
def windows(valid):
    return cut_windows(stitch_tracks(valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))), stride=5)


def test_shapes_of_the_paper_model():
    torch.manual_seed(0)
    model = DeRPoF()
    observed = torch.randn(6, 16, 13, 3)
    positions, mean, log_var = model(observed)
    assert positions.shape == (6, 14, 13, 3) and mean.shape == log_var.shape == (6, 32)
    assert model(observed, n_future=3)[0].shape == (6, 3, 13, 3)
    assert GlobalLSTM()(torch.randn(6, 15, 3)).shape == (6, 14, 3)
    mean, log_var = LocalVAE().encode(torch.randn(6, 15, 39))
    assert LocalVAE().decode(mean, torch.randn(6, 39)).shape == (6, 14, 39)
    assert next(model.parameters()).dtype == torch.float32


def test_the_plus_model_without_additions_is_the_paper_model():
    torch.manual_seed(0)
    paper, plus = DeRPoF().eval(), DeRPoFPlus().eval()
    plus.load_state_dict(paper.state_dict())
    observed = torch.randn(4, 16, 13, 3)
    assert torch.equal(plus(observed)[0], paper(observed)[0])
    assert plus.predict(observed, n_samples=3).shape == (3, 4, 14, 13, 3)


def test_mean_prediction_is_deterministic_and_samples_differ():
    model = DeRPoFPlus().eval()
    observed = torch.randn(3, 16, 13, 3)
    torch.testing.assert_close(model.predict(observed), model.predict(observed))
    samples = model.predict(observed, n_samples=5)
    assert not torch.allclose(samples[0], samples[1])


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_the_residual_step_adds_the_damped_extrapolation():
    from posepred.baselines import damped_velocity

    observed = torch.randn(4, 16, 13, 3, dtype=torch.float64)
    last = observed[:, -1:].expand(4, 14, 13, 3)
    torch.testing.assert_close(OutputSteps(0.8)(last, observed), damped_velocity(observed, 0.8))


def test_the_loss_names_its_terms_and_matches_the_formula():
    torch.manual_seed(0)
    observed, future = torch.randn(2, 6, 16, 13, 3).unbind(0)[0], torch.randn(6, 14, 13, 3)
    mean, log_var = torch.randn(2, 6, 32).unbind(0)
    kl = kl_divergence(mean, log_var).mean(0).sum()
    perfect, terms = derpof_loss(future, future, observed, kl)
    assert terms["global_mse"] == terms["local_l2"] == 0 and perfect.item() == pytest.approx(0.1 * 0.01 * kl.item())
    loss, terms = derpof_loss(future + torch.randn_like(future), future, observed, kl)
    terms = {k: float(v) for k, v in terms.items()}
    assert set(terms) == {"global_mse", "local_l2", "kl"} and min(terms.values()) > 0
    assert loss.item() == pytest.approx(terms["global_mse"] + 0.1 * (terms["local_l2"] + 0.01 * terms["kl"]), rel=1e-5)


def test_tiny_overfit(windows, tmp_path):
    from posepred.commands import format_record

    config = CPU.replace(n_epochs=40, batch_size=4, lr=0.004, checkpoint_dir=str(tmp_path), dropout=0.0)
    trainer = Trainer(config, windows[:8], save=False, progress=False)
    history = trainer.fit()
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert "train_vim_900" in history[-1] and "train_global_mse" in history[-1]
    assert "e: 40" in format_record(history[-1])


def test_callback_and_history_and_checkpoint_files(valid, windows, tmp_path):
    seen = []
    held = valid.subset(valid.sample_mask(include=["courtyard_dancing_00"]))
    config = CPU.replace(n_epochs=2, checkpoint_dir=str(tmp_path))
    Trainer(config, windows, held.observed, held.future, callbacks=[seen.append], progress=False).fit()
    assert [r["epoch"] for r in seen] == [1, 2] and "valid_vim_100" in seen[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "config.json"]
    assert Config.load(tmp_path / "config.json") == config
    saved = checkpoint.load(tmp_path)
    assert isinstance(saved.model, DeRPoF) and saved.history[1]["epoch"] == 2 and saved.training["epoch"] == 2


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_resume_is_exact(windows, tmp_path):
    base = CPU.replace(n_epochs=10, batch_size=8, rotate=True, mirror=True, seed=3)
    straight = Trainer(base.replace(checkpoint_dir=str(tmp_path / "a")), windows, progress=False)
    straight.fit()
    Trainer(base.replace(n_epochs=5, checkpoint_dir=str(tmp_path / "b")), windows, progress=False).fit()
    resumed = Trainer(base.replace(checkpoint_dir=str(tmp_path / "b"), load_checkpoint=True), windows,
                      progress=False)
    assert resumed.epoch == 5
    resumed.fit()
    assert torch.equal(_weights(straight.model), _weights(resumed.model))
    assert straight.history == resumed.history


def test_same_seed_same_weights(windows):
    config = CPU.replace(n_epochs=2, batch_size=8, rotate=True, seed=7)
    first = Trainer(config, windows, save=False, progress=False)
    first.fit()
    second = Trainer(config, windows, save=False, progress=False)
    second.fit()
    assert torch.equal(_weights(first.model), _weights(second.model))
    assert first.history == second.history


@pytest.mark.parametrize("options", [dict(vae="conditional"), dict(vae="conditional", social=True),
                                     dict(skeleton=True), dict(residual_damping=0.8),
                                     dict(vae="conditional", social=True, skeleton=True, residual_damping=0.8)])
def test_model_options_shapes_equivariance_and_determinism(options):
    torch.manual_seed(0)
    model = DeRPoFPlus(**options).eval().double()
    observed, partner = torch.randn(2, 5, 16, 13, 3, dtype=torch.float64)
    for other in (None, partner):
        assert model.predict(observed, partner=other).shape == (5, 14, 13, 3)
        assert model.predict(observed, partner=other, n_samples=3).shape == (3, 5, 14, 13, 3)
    shift = torch.tensor([3.0, -1.0, 250.0], dtype=torch.float64)
    moved = model.predict(observed + shift, partner=partner + shift)
    torch.testing.assert_close(moved, model.predict(observed, partner=partner) + shift)
    torch.testing.assert_close(model.predict(observed, partner=partner), model.predict(observed, partner=partner))
    assert model.kl_per_dimension(observed, torch.randn(5, 14, 13, 3, dtype=torch.float64)).shape == (32,)


def test_the_other_person_needs_the_conditional_vae():
    with pytest.raises(ValueError, match="social needs 'conditional'"):
        DeRPoFPlus(social=True)


def test_conditional_vae_samples_from_the_prior_and_predicts_with_its_mean():
    torch.manual_seed(0)
    model = DeRPoFPlus(vae="conditional").eval()
    observed = torch.randn(4, 16, 13, 3)
    samples = model.predict(observed, n_samples=6)
    assert not torch.allclose(samples[0], samples[1])
    local_velocity = torch.randn(4, 15, 39)
    _, mean, log_var = model.net_l.encode(local_velocity)  # no future: the prior N(0, I), z = mean = 0
    assert torch.equal(mean, torch.zeros_like(mean)) and torch.equal(log_var, torch.zeros_like(log_var))
    future = torch.randn(4, 14, 42)  # with the future, q's mean depends on it
    means = [model.net_l.encode(local_velocity, future + shift)[1] for shift in (0, 1)]
    assert not torch.allclose(*means)


def test_the_partner_changes_a_social_prediction_only_when_present():
    torch.manual_seed(0)
    model = DeRPoFPlus(vae="conditional", social=True).eval()
    torch.nn.init.normal_(model.social.out.weight, std=0.5)  # trained weights are not zero
    observed, partner = torch.randn(2, 3, 16, 13, 3)
    alone = model.predict(observed)
    assert not torch.allclose(alone, model.predict(observed, partner=partner))
    absent = model(observed, partner=partner, has_partner=torch.zeros(3, dtype=torch.bool))[0]
    torch.testing.assert_close(absent, alone)
    # a fresh social model starts exactly as the model without the other person (zero-initialised output)
    fresh = DeRPoFPlus(vae="conditional", social=True).eval()
    plain = DeRPoFPlus(vae="conditional").eval()
    plain.load_state_dict({k: v for k, v in fresh.state_dict().items() if not k.startswith("social.")})
    torch.testing.assert_close(fresh.predict(observed, partner=partner), plain.predict(observed))


def test_skeleton_true_training_keeps_rigid_bones(windows, tmp_path):
    from posepred.skeleton import rigid_bone_lengths

    config = CPU.replace(n_epochs=2, batch_size=16, skeleton=True, vae="conditional", social=True, free_bits=0.05,
                         kl_anneal_epochs=2, checkpoint_dir=str(tmp_path))
    trainer = Trainer(config, windows, save=False, progress=False)
    history = trainer.fit()
    assert len(history) == 2 and all(np.isfinite(r["train_loss"]) for r in history)
    observed = torch.as_tensor(windows[:10, :16], dtype=torch.float32)
    predicted = trainer.model.predict(observed)
    drift = (rigid_bone_lengths(predicted) / rigid_bone_lengths(observed[:, -1:]) - 1).abs()
    assert drift.max() < 1e-4


def test_free_bits_and_the_prior_mean_term_enter_the_loss(windows):
    torch.manual_seed(0)
    model = DeRPoFPlus(vae="conditional").train()
    batch = torch.as_tensor(windows[:32], dtype=torch.float32)
    observed, future = batch[:, :16], batch[:, 16:]

    def loss(**options):
        torch.manual_seed(1)
        return derpof_plus_loss(model, observed, future, **options)

    assert loss(free_bits=1.0)[0].item() > loss(free_bits=0.0)[0].item()  # 32 dims x 1 nat floor
    assert loss(kl_weight=0.0, free_bits=1.0)[0].item() < loss(free_bits=1.0)[0].item()
    with_prior, terms, _ = loss(prior_mean_loss=True)
    without, plain_terms, _ = loss(prior_mean_loss=False)
    assert "prior_mean_local_l2" in terms and "prior_mean_local_l2" not in plain_terms
    assert with_prior.item() > without.item()


def test_the_original_vae_fold_model_has_collapsed(valid):
    """checkpoints/original_vae/: a fold model of the previous recipe (the paper's VAE)."""
    saved = checkpoint.load("checkpoints/original_vae/courtyard_hug_00")
    assert (saved.config.vae, saved.config.social, saved.config.skeleton) == ("original", False, False)
    held = valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))
    observed = torch.as_tensor(held.observed, dtype=torch.float32).flatten(0, 1)
    future = torch.as_tensor(held.future, dtype=torch.float32).flatten(0, 1)
    kl = saved.model.kl_per_dimension(observed, future)
    assert kl.shape == (32,) and kl.max() < 0.01  # its posterior has collapsed: no active dimension
    assert torch.isfinite(saved.model.predict(observed)).all()


def test_the_shipped_model_keeps_every_rigid_bone_on_the_test_split():
    """README: `posepred test` output keeps every rigid bone within 0.001% of its observed length."""
    from posepred.data import load_split
    from posepred.evaluate import predict
    from posepred.skeleton import rigid_bone_lengths

    test = load_split("test")
    saved = checkpoint.load("checkpoints/derpof")
    assert saved.config.skeleton
    for predictions in (predict(saved.model, test.observed), predict(saved.model, test.observed, n_samples=3)):
        observed = rigid_bone_lengths(test.observed[:, :, -1])[..., None, :]
        drift = np.abs(rigid_bone_lengths(predictions) / observed - 1)
        assert drift.max() < 1e-5
