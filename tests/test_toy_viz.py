import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from posepred import viz
from posepred.errors import OptionError


def test_frame_pngs_named_like_the_seed(valid, tmp_path):
    paths = viz.save_frame_pngs(valid.observed[0], valid.future[0], valid.future[0], tmp_path)
    names = [p.name for p in paths]
    assert len(paths) == 44 and names[0] == "_Input_00.png" and names[-1] == "_Prediction_13.png"
    assert all(p.stat().st_size > 1000 for p in paths)


def test_frame_pngs_are_written_whole_or_refused(valid, tmp_path):
    paths = viz.save_frame_pngs(valid.observed[0], None, valid.future[0], tmp_path)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths) and not list(tmp_path.glob(".*tmp"))
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "_Prediction_00.png").mkdir()  # a directory where a PNG goes
    with pytest.raises(OptionError, match="_Prediction_00.png: is a directory"):
        viz.save_frame_pngs(valid.observed[0], None, valid.future[0], tmp_path / "x")
    with pytest.raises(OptionError, match="cannot create directory"):  # a folder under a file
        viz.save_frame_pngs(valid.observed[0], None, valid.future[0], paths[0] / "pngs")


def test_sequence_frames_and_viewer(valid):
    frames = viz.sequence_frames(valid.observed[0], valid.future[0], valid.future[0])
    assert len(frames) == 30 and set(frames[20]) == {"truth", "prediction"}
    assert len(viz.sequence_frames(valid.observed[0], None, valid.future[0])) == 30
    widget = viz.frame_viewer(valid.observed[:3], valid.future[:3], valid.future[:3])
    slider, (elevation, azimuth), image = widget.children[2], widget.children[3].children, widget.children[4]
    assert slider.max == 29
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"  # rendered off-screen into an Image widget, no Output widget
    slider.value = 25  # re-renders without error
    assert image.value != first
    before = image.value
    elevation.value, azimuth.value = 0, 90
    assert image.value != before


def test_viewer_cell_does_not_use_output_widgets(valid, monkeypatch):
    import ipywidgets

    def refuse(*args, **kwargs):
        raise AssertionError("an Output widget makes nbconvert/nbval mimic it by messaging the kernel mid-cell")

    monkeypatch.setattr(ipywidgets, "Output", refuse)
    monkeypatch.setattr(ipywidgets.widgets, "Output", refuse)
    viz.frame_viewer(valid.observed[:2], None, valid.future[:2])


def test_results_table_html_and_text():
    rows = {"model": {"vim_100": 1.234, "vim_900": 9.0, "ade_rms": 0.12}, "baseline": {"vim_100": 2.0, "vim_900": 8.0}}
    table = viz.results_table(rows, caption="valid")
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "<b>1.23</b>" in html and "<b>8.00</b>" in html and "<caption>valid" in html
    assert repr(table).splitlines()[0].startswith("model: VIM (cm) 1.23 - - - 9.00 -")


def test_filmstrip_wraps_into_rows(valid):
    figure = viz.filmstrip(valid.observed[0], valid.future[0], valid.future[0], every=3, columns=5)
    assert len(figure.axes) == 10
    width, height = figure.get_size_inches()
    assert width < 14 and height > 5  # two rows of five, not one strip of ten
    assert len(figure.legends) == 1 and len(figure.legends[0].get_lines()) == 5
    assert figure.axes[0].get_xlabel() == "x (m)"


def test_filmstrip_gif_and_curves(valid, tmp_path):
    figure = viz.filmstrip(valid.observed[0], valid.future[0], None, every=5)
    assert len(figure.axes) == 6
    path = viz.save_gif(valid.observed[0, :1], valid.future[0, :1], valid.future[0, :1], tmp_path / "a.gif", fps=10)
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.n_frames == 30
    curves = viz.plot_vim_curves({"a": np.arange(14), "b": np.ones(14)})
    assert len(curves.axes[0].lines) == 2 + 5


def test_viewer_steps_through_samples(valid):
    rng = np.random.default_rng(0)
    future = valid.future[:2]
    samples = future[None] + rng.normal(0, 0.05, size=(3, *future.shape))
    widget = viz.frame_viewer(valid.observed[:2], future, future, samples=samples)
    sample, person, which = widget.children[0].children
    image, slider = widget.children[4], widget.children[2]
    assert [label for label, _ in which.options] == ["deterministic (z = 0)", "sample 1 of 3", "sample 2 of 3",
                                                     "sample 3 of 3"]
    slider.value = 29  # a future frame, where the prediction is drawn
    deterministic = image.value
    which.value = 2  # sample 3
    assert image.value[:8] == b"\x89PNG\r\n\x1a\n" and image.value != deterministic
    which.value = -1
    assert image.value == deterministic  # back to z = 0: the same picture
    # without samples the viewer keeps its two dropdowns
    assert len(viz.frame_viewer(valid.observed[:2], future, future).children[0].children) == 2


def test_viewer_refuses_samples_of_another_split(valid):
    import pytest

    with pytest.raises(ValueError, match="samples shaped"):
        viz.frame_viewer(valid.observed[:2], valid.future[:2], valid.future[:2], samples=valid.future[None, :3])


def test_results_table_drift_columns():
    rows = {"ground truth": {"bone_drift_mean": 0.0, "bone_drift_max": 0.0, "bone_drift_over_10": 0.0,
                             "edge_drift_over_10": 14.58},
            "damped velocity": {"bone_drift_mean": 3.25, "bone_drift_max": 161.48, "bone_drift_over_10": 32.24,
                                "edge_drift_over_10": 33.63}}
    table = viz.results_table(rows, kind="drift")
    assert "<b>" not in table._repr_html_() and "frames &gt;10%" in table._repr_html_()
    assert repr(table).splitlines()[1] == ("damped velocity: rigid bone drift (%) 3.25 161.48 32.24 | "
                                           "all edges (%) 33.63")


def test_a_frame_with_a_joint_far_away_draws_quickly(valid):
    """An adversarial run found 4,000 ticks per axis (minutes per PNG) for a joint 1 km away."""
    import io

    from posepred.viz import draw_skeletons, new_axes

    pose = valid.observed[0, :, 0].copy()
    pose[0, 3] += 1000.0
    fig, ax = new_axes()
    draw_skeletons(ax, pose, "tab:blue")
    fig.savefig(io.BytesIO(), format="png")
    assert all(len(ticks) < 20 for ticks in (ax.get_xticks(), ax.get_yticks(), ax.get_zticks()))
