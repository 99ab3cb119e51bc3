import json

import numpy as np
import pytest
import torch

from posepred.checkpoint import CheckpointError, load_model, save_checkpoint
from posepred.config import Config
from posepred.data import cut_windows, stitch_tracks
from posepred.models import Decoder, DeRPoF, Encoder, GlobalLSTM, LocalVAE
from posepred.runtime import resolve_device
from posepred.train import Trainer, TrainingDiverged, derpof_loss, format_record


@pytest.fixture(scope="module")
def windows(valid):
    return cut_windows(stitch_tracks(valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))), stride=5)


def test_entry_point_shapes():
    torch.manual_seed(0)
    model = DeRPoF()
    observed = torch.randn(6, 16, 13, 3)
    assert model(observed).shape == (6, 14, 13, 3)
    assert model(observed, n_samples=4).shape == (4, 6, 14, 13, 3)
    assert model(observed, n_future=3).shape == (6, 3, 13, 3)
    assert GlobalLSTM()(torch.randn(6, 15, 3)).shape == (6, 14, 3)
    mean, log_var = Encoder()(torch.randn(6, 15, 39))
    assert mean.shape == log_var.shape == (6, 32)
    assert Decoder().initial_state(mean)[0].shape == (6, 64)
    out, mean, _ = LocalVAE()(torch.randn(6, 15, 39))
    assert out.shape == (6, 14, 39)
    assert next(model.parameters()).dtype == torch.float32


def test_mean_prediction_is_deterministic_and_samples_differ():
    model = DeRPoF().eval()
    observed = torch.randn(3, 16, 13, 3)
    torch.testing.assert_close(model(observed), model(observed))
    samples = model(observed, n_samples=5)
    assert not torch.allclose(samples[0], samples[1])


def test_translation_equivariance():
    model = DeRPoF().eval().double()
    observed = torch.randn(5, 16, 13, 3, dtype=torch.float64)
    shift = torch.tensor([3.0, -1.0, 250.0], dtype=torch.float64)
    torch.testing.assert_close(model(observed + shift), model(observed) + shift)


def test_double_precision_option():
    model = DeRPoF().double()
    assert model(torch.randn(2, 16, 13, 3, dtype=torch.float64)).dtype == torch.float64


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_tiny_overfit(windows, tmp_path):
    config = Config(n_epochs=40, batch_size=4, lr=0.004, checkpoint_dir=str(tmp_path), dropout=0.0)
    trainer = Trainer(config, windows[:8], save=False, progress=False)
    history = trainer.fit()
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert "train_vim_900" in history[-1] and "e: 40" in format_record(history[-1])


def test_callback_and_history_and_checkpoint_files(valid, windows, tmp_path):
    seen = []
    held = valid.subset(valid.sample_mask(include=["courtyard_dancing_00"]))
    config = Config(n_epochs=2, checkpoint_dir=str(tmp_path))
    Trainer(config, windows, held.observed, held.future, callbacks=[seen.append], progress=False).fit()
    assert [r["epoch"] for r in seen] == [1, 2] and "valid_vim_100" in seen[0]
    for name in ("checkpoint_g.pt", "checkpoint_l.pt", "config.json", "training_state.pt", "history.json"):
        assert (tmp_path / name).is_file()
    assert json.loads((tmp_path / "history.json").read_text())[1]["epoch"] == 2
    assert Config.load(tmp_path / "config.json") == config
    model, _ = load_model(tmp_path)
    assert isinstance(model, DeRPoF)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_resume_is_exact(windows, tmp_path):
    base = Config(n_epochs=10, batch_size=8, rotate=True, mirror=True, seed=3)
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
    config = Config(n_epochs=2, batch_size=8, rotate=True, seed=7)
    first = Trainer(config, windows, save=False, progress=False)
    first.fit()
    second = Trainer(config, windows, save=False, progress=False)
    second.fit()
    assert torch.equal(_weights(first.model), _weights(second.model))
    assert first.history == second.history


def test_loss_is_finite_and_positive(windows):
    batch = torch.as_tensor(windows[:4], dtype=torch.float32)
    loss, predicted = derpof_loss(DeRPoF(), batch[:, :16], batch[:, 16:], Config())
    assert loss.item() > 0 and predicted.shape == (4, 14, 13, 3)


# -- checkpoint error paths ----------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    save_checkpoint(tmp_path, DeRPoF(), Config())
    return tmp_path


def test_checkpoint_from_other_hyperparameters(saved):
    with pytest.raises(CheckpointError, match="hidden_dim: checkpoint 64, configured 128"):
        load_model(saved, Config(hidden_dim=128))
    config = json.loads((saved / "config.json").read_text())
    config["latent_dim"] = 16
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"checkpoint_l.pt: does not fit .*mean.weight: shape \[32, 64\]"):
        load_model(saved)


def test_missing_config(saved):
    (saved / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json: missing"):
        load_model(saved)


def test_truncated_and_garbage_checkpoints(saved):
    data = (saved / "checkpoint_g.pt").read_bytes()
    (saved / "checkpoint_g.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="checkpoint_g.pt: not a readable torch checkpoint"):
        load_model(saved)
    (saved / "checkpoint_g.pt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError, match="checkpoint_g.pt"):
        load_model(saved)


def test_file_that_is_not_a_state_dict(saved):
    torch.save({"epoch": 3}, saved / "checkpoint_l.pt")
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_model(saved)
    torch.save([1, 2, 3], saved / "checkpoint_l.pt")
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_model(saved)


def test_unknown_config_field(saved):
    (saved / "config.json").write_text(json.dumps({"hidden_dimension": 3}))
    with pytest.raises(CheckpointError, match="unknown config fields"):
        load_model(saved)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(windows, tmp_path):
    config = Config(n_epochs=1, batch_size=8, checkpoint_dir=str(tmp_path))
    Trainer(config, windows, progress=False).fit()
    good = (tmp_path / "checkpoint_g.pt").read_bytes()
    broken = windows.copy()
    broken[0, 20, 0, 0] = np.inf
    trainer = Trainer(config.replace(n_epochs=2, load_checkpoint=True), broken, progress=False)
    trainer.config = trainer.config.replace(loader_shuffle=False)
    with pytest.raises(TrainingDiverged, match="last good checkpoint kept"):
        trainer.fit()
    assert (tmp_path / "checkpoint_g.pt").read_bytes() == good
    load_model(tmp_path)


def test_joint_decoding_matches_step_by_step_reference():
    """DeRPoF steps both decoders in one loop; the reference runs net_g and net_l on their own."""
    from posepred.motion import (
        combine_global_local,
        positions_to_velocities,
        split_global_local,
        velocities_to_positions,
    )

    torch.manual_seed(0)
    for residual in (None, 0.8):
        model = DeRPoF(residual_damping=residual).eval()
        observed = torch.randn(7, 16, 13, 3)
        global_velocity, local_velocity = split_global_local(positions_to_velocities(observed))
        local_flat = local_velocity.flatten(-2)
        reference_g = model.net_g(global_velocity)
        reference_l, _, _ = model.net_l(local_flat, sample=False)
        if residual is not None:
            powers = (residual ** torch.arange(1, 15)).view(1, 14, 1)
            reference_g = reference_g + powers * global_velocity[:, -1:]
            reference_l = reference_l + powers * local_flat[:, -1:]
        reference = velocities_to_positions(observed[:, -1], combine_global_local(
            reference_g, reference_l.unflatten(-1, (13, 3))))
        torch.testing.assert_close(model(observed), reference)


@pytest.mark.parametrize("options", [dict(vae="conditional"), dict(social=True), dict(skeleton=True),
                                     dict(vae="conditional", social=True, skeleton=True, residual_damping=0.8)])
def test_model_options_shapes_equivariance_and_determinism(options):
    torch.manual_seed(0)
    model = DeRPoF(**options).eval().double()
    observed, partner = torch.randn(2, 5, 16, 13, 3, dtype=torch.float64)
    for other in (None, partner):
        assert model(observed, partner=other).shape == (5, 14, 13, 3)
        assert model(observed, n_samples=3, partner=other).shape == (3, 5, 14, 13, 3)
    shift = torch.tensor([3.0, -1.0, 250.0], dtype=torch.float64)
    moved = model(observed + shift, partner=partner + shift)
    torch.testing.assert_close(moved, model(observed, partner=partner) + shift)
    torch.testing.assert_close(model(observed, partner=partner), model(observed, partner=partner))
    assert model.kl_per_dimension(observed, torch.randn(5, 14, 13, 3, dtype=torch.float64)).shape == (32,)


def test_conditional_vae_samples_from_the_prior_and_predicts_with_its_mean():
    torch.manual_seed(0)
    model = DeRPoF(vae="conditional").eval()
    observed = torch.randn(4, 16, 13, 3)
    samples = model(observed, n_samples=6)
    assert not torch.allclose(samples[0], samples[1])
    # the deterministic prediction decodes z = 0, the prior mean
    global_velocity, local_velocity = model.observed_velocities(observed)
    z, (mean, log_var), _, _ = model.net_l.latent(local_velocity, None, sample=False)
    assert torch.equal(z, torch.zeros_like(z)) and torch.equal(log_var, torch.zeros_like(log_var))
    # with the future, the recognition network gives a posterior that depends on it
    future = torch.randn(4, 14, 42)
    _, (mean_a, _), _, _ = model.net_l.latent(local_velocity, future, sample=False)
    _, (mean_b, _), _, _ = model.net_l.latent(local_velocity, future + 1, sample=False)
    assert not torch.allclose(mean_a, mean_b)


def test_the_partner_changes_a_social_prediction_only_when_present():
    torch.manual_seed(0)
    model = DeRPoF(social=True).eval()
    torch.nn.init.normal_(model.net_g.social.out.weight, std=0.5)  # trained weights are not zero
    observed, partner = torch.randn(2, 3, 16, 13, 3)
    alone = model(observed)
    with_partner = model(observed, partner=partner)
    assert not torch.allclose(alone, with_partner)
    absent = model.forward_velocities(observed, False, partner=partner, has_partner=torch.zeros(3, dtype=torch.bool))
    torch.testing.assert_close(model.to_positions(observed, *absent[:2]), alone)
    # a fresh social model starts exactly as the model without the other person (zero-initialised output)
    fresh = DeRPoF(social=True).eval()
    plain = DeRPoF().eval()
    plain.load_state_dict({k: v for k, v in fresh.state_dict().items() if ".social." not in k})
    torch.testing.assert_close(fresh(observed, partner=partner), plain(observed))


def test_skeleton_true_training_keeps_rigid_bones(windows, tmp_path):
    from posepred.skeleton import rigid_bone_lengths

    config = Config(n_epochs=2, batch_size=16, skeleton=True, vae="conditional", social=True, free_bits=0.05,
                    kl_anneal_epochs=2, checkpoint_dir=str(tmp_path))
    trainer = Trainer(config, windows, save=False, progress=False)
    history = trainer.fit()
    assert len(history) == 2 and all(np.isfinite(r["train_loss"]) for r in history)
    observed = torch.as_tensor(windows[:10, :16], dtype=torch.float32)
    predicted = trainer.model.eval()(observed)
    drift = (rigid_bone_lengths(predicted) / rigid_bone_lengths(observed[:, -1:]) - 1).abs()
    assert drift.max() < 1e-4


def test_kl_annealing_and_free_bits_enter_the_loss(windows):
    torch.manual_seed(0)
    model = DeRPoF(vae="conditional")
    batch = torch.as_tensor(windows[:32], dtype=torch.float32)
    observed, future = batch[:, :16], batch[:, 16:]

    def loss(**changes):
        torch.manual_seed(1)
        return derpof_loss(model, observed, future, Config(**changes), sample=True)[0].item()

    assert loss(free_bits=1.0) > loss(free_bits=0.0)  # 32 dims x 1 nat floor, where KL is far smaller
    torch.manual_seed(1)
    no_kl = derpof_loss(model, observed, future, Config(free_bits=1.0), sample=True, kl_scale=0.0)[0].item()
    assert no_kl < loss(free_bits=1.0)


def test_a_checkpoint_of_the_seed_vae_from_before_the_new_fields_still_loads(valid):
    """checkpoints/seed_vae/: a fold model of the previous recipe, saved before vae/social/skeleton existed."""
    model, config = load_model("checkpoints/seed_vae/courtyard_hug_00")
    assert (config.vae, config.social, config.skeleton) == ("seed", False, False)
    held = valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))
    observed = torch.as_tensor(held.observed, dtype=torch.float32).flatten(0, 1)
    future = torch.as_tensor(held.future, dtype=torch.float32).flatten(0, 1)
    kl = model.eval().kl_per_dimension(observed, future)
    assert kl.shape == (32,) and kl.max() < 0.01  # its posterior has collapsed: no active dimension
    assert torch.isfinite(model(observed)).all()


def test_the_shipped_model_keeps_every_rigid_bone_on_the_test_split():
    """README: `posepred test` output keeps every rigid bone within 0.001% of its observed length."""
    from posepred.data import load_split
    from posepred.evaluate import predict
    from posepred.skeleton import rigid_bone_lengths

    test = load_split("test")
    model, config = load_model("checkpoints/derpof")
    assert config.skeleton
    for predictions in (predict(model, test.observed), predict(model, test.observed, n_samples=3)):
        observed = rigid_bone_lengths(test.observed[:, :, -1])[..., None, :]
        drift = np.abs(rigid_bone_lengths(predictions) / observed - 1)
        assert drift.max() < 1e-5
