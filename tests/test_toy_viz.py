import matplotlib

matplotlib.use("Agg")

import base64
import io

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
    slider, elevation, azimuth = (widget.controls[k] for k in ("frame", "elevation", "azimuth"))
    image = widget.image
    assert slider.max == 29
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"  # rendered off-screen into an Image widget, no Output widget
    slider.value = 25  # re-renders without error
    assert image.value != first
    before = image.value
    elevation.value, azimuth.value = 0, 90
    assert image.value != before


def test_viewer_picture_is_shown_at_its_own_size_beside_compact_controls(valid):
    """A 400-pixel PNG stretched to a 964-pixel output looked blurred and pushed the controls off screen."""
    from PIL import Image

    widget = viz.frame_viewer(valid.observed[:2], valid.future[:2], valid.future[:2])
    with Image.open(io.BytesIO(widget.image.value)) as picture:
        width, height = picture.size
    assert (width, height) == tuple(round(inches * viz.PNG_DPI) for inches in viz.VIEWER_SIZE) == (360, 360)
    assert (widget.image.width, widget.image.height) == (str(width), str(height))
    assert (widget.image.layout.width, widget.image.layout.height) == (f"{width}px", f"{height}px")
    # the controls: two columns of 270 px above the picture, so both fit a 1000 x 700 window
    assert all(control.layout.width == "270px" for control in widget.controls.values())
    assert widget.children[-1] is widget.image and len(widget.children[0].children) == 2


def test_viewer_output_is_the_same_live_and_under_an_executor(valid):
    """Saving the notebook after a run must not change it: the fixed model id and the starting
    picture make one output, and an executor (no stdin) gets no widget, so no widget state is saved."""
    args = valid.observed[:2], valid.future[:2], valid.future[:2]
    live = viz.frame_viewer(*args, model_id="test-viewer", interactive=True)
    static = viz.frame_viewer(*args, model_id="test-viewer", interactive=False)
    assert isinstance(static, viz.StaticViewer) and live.model_id == "test-viewer"
    bundle = live._repr_mimebundle_()
    assert bundle == static._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == "test-viewer"
    assert base64.b64decode(bundle["image/png"]) == live.image.value
    # the cell runs again: the new viewer takes the id, the old one is closed
    again = viz.frame_viewer(*args, model_id="test-viewer", interactive=True)
    assert again.model_id == "test-viewer" and live.comm is None and live.image.comm is None
    again.close()


def test_executor_is_detected_by_its_request_without_stdin(monkeypatch):
    import IPython

    class Kernel:
        def __init__(self, allow_stdin):
            self.allow_stdin = allow_stdin

        def get_parent(self, channel=None):
            return {"content": {"allow_stdin": self.allow_stdin}}

    class Shell:
        kernel = None

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert not viz.executor_is_running()  # a script or a test: no kernel
    shell.kernel = Kernel(allow_stdin=True)  # JupyterLab, Notebook, VS Code
    assert not viz.executor_is_running()
    shell.kernel = Kernel(allow_stdin=False)  # nbconvert, nbclient, nbval, papermill
    assert viz.executor_is_running()
    assert isinstance(viz.frame_viewer(np.zeros((1, 1, 16, 13, 3))), viz.StaticViewer)


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


def test_filmstrip_of_chosen_frames(valid):
    figure = viz.filmstrip(valid.observed[0], valid.future[0], valid.future[0], frames=[15, 29])
    assert [ax.get_title() for ax in figure.axes] == ["frame 15 observed", "frame 29 future"]
    with pytest.raises(ValueError, match="frames"):
        viz.filmstrip(valid.observed[0], valid.future[0], None, frames=[30])


def test_a_skeleton_is_one_line_per_person(valid):
    """Fourteen bones in one line (gaps between them) draw several times faster than 14 lines."""
    fig, ax = viz.new_axes()
    viz.draw_skeletons(ax, valid.observed[0, :, 0], "tab:blue")
    assert len(ax.lines) == 2
    x, z, y = ax.lines[0].get_data_3d()
    a, b = viz.BONES[3]
    assert np.allclose([x[9], y[9], z[9]], valid.observed[0, 0, 0, a]) and np.isnan(x[11])
    assert np.allclose([x[10], y[10], z[10]], valid.observed[0, 0, 0, b])


def test_filmstrip_gif_and_curves(valid, tmp_path):
    figure = viz.filmstrip(valid.observed[0], valid.future[0], None, every=5)
    assert len(figure.axes) == 6
    path = viz.save_gif(valid.observed[0, :1], valid.future[0, :1], valid.future[0, :1], tmp_path / "a.gif", fps=10)
    from PIL import Image
    with Image.open(path) as gif:
        assert gif.n_frames == 30 and gif.size == (320, 320)
    curves = viz.plot_vim_curves({"a": np.arange(14), "b": np.ones(14)})
    assert len(curves.axes[0].lines) == 2 + 5


def test_viewer_steps_through_samples(valid):
    rng = np.random.default_rng(0)
    future = valid.future[:2]
    samples = future[None] + rng.normal(0, 0.05, size=(3, *future.shape))
    widget = viz.frame_viewer(valid.observed[:2], future, future, samples=samples)
    which, image, slider = widget.controls["prediction"], widget.image, widget.controls["frame"]
    assert [label for label, _ in which.options] == ["deterministic (z = 0)", "sample 1 of 3", "sample 2 of 3",
                                                     "sample 3 of 3"]
    slider.value = 29  # a future frame, where the prediction is drawn
    deterministic = image.value
    which.value = 2  # sample 3
    assert image.value[:8] == b"\x89PNG\r\n\x1a\n" and image.value != deterministic
    which.value = -1
    assert image.value == deterministic  # back to z = 0: the same picture
    # without samples the prediction dropdown is there but disabled
    assert viz.frame_viewer(valid.observed[:2], future, future).controls["prediction"].disabled


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
