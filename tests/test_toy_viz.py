import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch

from posepred import toy, viz


def test_sine_lstm_learns():
    generator = torch.Generator().manual_seed(0)
    series = toy.noisy_sine(64, 40, generator=generator)
    torch.manual_seed(0)
    model = toy.SineLSTM(16)
    losses = toy.fit(model, lambda m: torch.mean((m(series[:, :30], 10) - series[:, 30:]) ** 2), steps=60)
    assert model(series[:, :30], 10).shape == (64, 10, 1)
    assert losses[-1] < 0.5 * losses[0]


def test_point_vae_and_kl():
    generator = torch.Generator().manual_seed(0)
    points = toy.two_moons(128, generator=generator)
    model = toy.PointVAE()
    reconstruction, mean, log_var = model(points)
    assert reconstruction.shape == (128, 2) and mean.shape == (128, 2)
    assert toy.kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0
    assert toy.kl_divergence(torch.ones(3, 2), torch.zeros(3, 2)).item() == 1.0
    assert model.sample(5).shape == (5, 2)


def test_frame_pngs_named_like_the_seed(valid, tmp_path):
    paths = viz.save_frame_pngs(valid.observed[0], valid.future[0], valid.future[0], tmp_path)
    names = [p.name for p in paths]
    assert len(paths) == 44 and names[0] == "_Input_00.png" and names[-1] == "_Prediction_13.png"
    assert all(p.stat().st_size > 1000 for p in paths)


def test_sequence_frames_and_viewer(valid):
    frames = viz.sequence_frames(valid.observed[0], valid.future[0], valid.future[0])
    assert len(frames) == 30 and set(frames[20]) == {"truth", "prediction"}
    assert len(viz.sequence_frames(valid.observed[0], None, valid.future[0])) == 30
    widget = viz.frame_viewer(valid.observed[:3], valid.future[:3], valid.future[:3])
    slider = widget.children[2]
    assert slider.max == 29
    slider.value = 25  # re-renders without error


def test_filmstrip_gif_and_curves(valid, tmp_path):
    figure = viz.filmstrip(valid.observed[0], valid.future[0], None, every=5)
    assert len(figure.axes) == 6
    path = viz.save_gif(valid.observed[0, :1], valid.future[0, :1], valid.future[0, :1], tmp_path / "a.gif", fps=10)
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.n_frames == 30
    curves = viz.plot_vim_curves({"a": np.arange(14), "b": np.ones(14)})
    assert len(curves.axes[0].lines) == 2 + 5
