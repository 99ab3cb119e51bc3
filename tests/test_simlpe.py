"""The second family: shapes, translation equivariance, the untrained model, its loss, training and
checkpoints through the same Trainer and the same files as DeRPoF."""

import pytest
import torch

from posepred import checkpoint
from posepred.config import RECIPES, Config
from posepred.simlpe import SiMLPe, dct_matrix, simlpe_loss
from posepred.trainer import Trainer


def test_the_dct_is_orthonormal():
    dct = dct_matrix(16).double()
    torch.testing.assert_close(dct @ dct.T, torch.eye(16, dtype=torch.float64), atol=1e-6, rtol=0)


def test_shapes_equivariance_and_the_untrained_model_repeats_the_last_pose():
    torch.manual_seed(0)
    model = SiMLPe(n_blocks=4).double()
    observed = torch.randn(5, 16, 13, 3, dtype=torch.float64)
    assert model.predict(observed).shape == (5, 14, 13, 3)
    torch.testing.assert_close(model.predict(observed), observed[:, -1:].expand(5, 14, 13, 3))
    torch.nn.init.normal_(model.spatial_out.weight, std=0.1)  # as if trained
    shift = torch.tensor([2.0, 0.5, -300.0], dtype=torch.float64)
    torch.testing.assert_close(model.predict(observed + shift), model.predict(observed) + shift)
    with pytest.raises(ValueError, match="does not sample"):
        model.predict(observed, n_samples=3)


def test_the_loss_names_its_terms_and_is_zero_on_the_truth():
    model = SiMLPe(n_blocks=2)
    observed = torch.randn(4, 16, 13, 3)
    future = model(observed).detach()
    loss, terms, predicted = simlpe_loss(model, observed, future)
    assert set(terms) == {"position", "velocity"} and loss.item() == pytest.approx(0.0, abs=1e-6)
    assert predicted.shape == future.shape


def test_it_trains_saves_and_loads_like_derpof(valid, tmp_path):
    from posepred.windows import split_windows

    config = RECIPES["simlpe"].replace(init_checkpoint=None, mlp_blocks=4, n_epochs=3, batch_size=16, dev="cpu",
                                       window_stride=5, skeleton=True, checkpoint_dir=str(tmp_path))
    held = valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))
    trainer = Trainer(config, split_windows(valid, exclude=["courtyard_hug_00"], stride=5), held.observed,
                      held.future, progress=False)
    history = trainer.fit()
    assert history[-1]["train_loss"] < history[0]["train_loss"] and "valid_vim_900" in history[-1]
    saved = checkpoint.load(tmp_path)
    assert isinstance(saved.model, SiMLPe) and saved.config.model == "simlpe"
    observed = torch.as_tensor(held.observed, dtype=torch.float32).flatten(0, 1)
    torch.testing.assert_close(saved.model.predict(observed), trainer.model.predict(observed))
    from posepred.metrics import bone_drift

    predicted = saved.model.predict(observed).numpy()  # the skeleton step, switched on here
    assert bone_drift(predicted, held.observed[:, :, -1].reshape(-1, 13, 3))["bone_drift_max"] < 1e-3
    assert Config.from_json(config.to_json()) == config
