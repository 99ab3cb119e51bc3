"""Pictures of poses: 3D skeleton frames, the seed's per-frame PNGs, filmstrips, GIFs, a slider viewer.

Poses are ``(persons, frames, 13, 3)`` arrays in metres, y up. Matplotlib draws y as its vertical
axis (its z), so skeletons stand upright.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, MultipleLocator

from .files import atomic_write_bytes, make_dir
from .metrics import HORIZON_FRAMES, HORIZON_MS
from .skeleton import BONES
from .tables import format_value

COLOURS = {"input": "tab:blue", "truth": "tab:green", "prediction": "tab:red"}
WIDTHS = {"input": 2.0, "truth": 3.2, "prediction": 1.6}  # truth drawn wide under a thin prediction: both visible
KIND_NAMES = {"input": "observed", "truth": "ground truth", "prediction": "prediction"}
PERSON_STYLES = ("-", "--")
VIEW = (30.0, -60.0)  # matplotlib's default elevation and azimuth (degrees)
PNG_DPI = 80  # pixels per inch of every PNG made here
VIEWER_SIZE = (4.5, 4.5)  # inches: the viewer's picture is 360 x 360 pixels, shown at that size


def _as_scene(poses) -> np.ndarray:
    poses = np.asarray(poses, dtype=float)
    return poses[None] if poses.ndim == 3 else poses  # (persons, frames, 13, 3)


def axis_limits(*pose_sets) -> tuple[np.ndarray, float]:
    """A common centre and half-width covering every pose given, so frames share fixed axes."""
    points = np.concatenate([np.asarray(p, dtype=float).reshape(-1, 3) for p in pose_sets if p is not None])
    low, high = points.min(axis=0), points.max(axis=0)
    return (low + high) / 2, float((high - low).max() / 2 + 0.1)


def new_axes(figsize=(4, 4)):
    fig = plt.figure(figsize=figsize)
    return fig, fig.add_subplot(projection="3d")


def draw_skeletons(ax, poses, colour: str, limits=None, title: str | None = None, clear: bool = True,
                   linewidth: float = 2, person_ids=None) -> None:
    """Draw one frame of every person, ``(persons, 13, 3)`` or ``(13, 3)``, on a 3D axis; person ``p``
    (``person_ids[i]`` for the i-th pose when given) gets line style ``PERSON_STYLES[p]``."""
    poses = np.asarray(poses, dtype=float)
    poses = poses[None] if poses.ndim == 2 else poses
    if clear:
        clear_skeletons(ax)
    for person, pose in zip(person_ids if person_ids is not None else range(len(poses)), poses):
        style = PERSON_STYLES[person % len(PERSON_STYLES)]
        path = np.full((len(BONES), 3, 3), np.nan)  # each bone: start, end, a gap; one line per person draws fast
        path[:, 0], path[:, 1] = pose[[a for a, _ in BONES]], pose[[b for _, b in BONES]]
        path = path.reshape(-1, 3)
        ax.plot(path[:, 0], path[:, 2], path[:, 1], style, color=colour, linewidth=linewidth)
        ax.scatter(pose[:, 0], pose[:, 2], pose[:, 1], color=colour, s=8)
    centre, half = limits if limits is not None else axis_limits(poses)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[2] - half, centre[2] + half)
    ax.set_zlim(centre[1] - half, centre[1] + half)
    ax.set_xlabel("x (m)", fontsize=8)
    ax.set_ylabel("z (m)", fontsize=8)
    ax.set_zlabel("y, up (m)", fontsize=8)
    ax.tick_params(labelsize=6, pad=0)
    step = 0.5 if half > 0.6 else 0.25
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # round metre steps; a few ticks whatever the extent
        axis.set_major_locator(MultipleLocator(step) if half <= 4 * step else MaxNLocator(5))
    ax.set_box_aspect(None, zoom=0.85)
    if title:
        ax.set_title(title, fontsize=9)


def clear_skeletons(ax) -> None:
    """Remove what is drawn on a 3D axis (lines, joints, texts, legend) but keep the axis itself: its
    ticks survive, so the next frame draws several times faster than after ``ax.cla()``."""
    for artist in [*ax.lines, *ax.collections, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_title("")


def legend_handles(kinds=("input", "truth", "prediction"), n_persons: int = 2, person_ids=None,
                   names: dict[str, str] | None = None) -> list[Line2D]:
    """Proxy lines for a legend: one per colour (observed, truth, prediction), one per person style;
    ``names`` overrides a colour's label (e.g. ``{"prediction": "sample 3"}``)."""
    names = KIND_NAMES | (names or {})
    handles = [Line2D([], [], color=COLOURS[k], linewidth=WIDTHS[k], label=names[k]) for k in kinds]
    handles += [Line2D([], [], color="black", linestyle=PERSON_STYLES[p % len(PERSON_STYLES)], linewidth=1.5,
                       label=f"person {p}") for p in (person_ids if person_ids is not None else range(n_persons))]
    return handles


def save_frame_pngs(observed, future, predicted, out_dir: str | Path, prefix: str = "") -> list[Path]:
    """The seed's PNGs: ``{prefix}_Input_00..15``, ``_GroundTruth_00..13``, ``_Prediction_00..13``.

    ``observed (persons, 16, 13, 3)``, ``future``/``predicted`` ``(persons, 14, 13, 3)`` (future may
    be None); one 3D plot per frame, every frame on the same axes. Each PNG is written atomically;
    a folder that cannot hold them, or a directory in a PNG's place, is an :class:`OptionError`.
    """
    out_dir = Path(out_dir)
    make_dir(out_dir)
    parts = [("Input", _as_scene(observed), "input"), ("GroundTruth", future, "truth"),
             ("Prediction", predicted, "prediction")]
    parts = [(name, _as_scene(p), colour) for name, p, colour in parts if p is not None]
    limits = axis_limits(*[p for _, p, _ in parts])
    fig, ax = new_axes()
    paths = []
    try:
        for name, poses, colour in parts:
            for frame in range(poses.shape[1]):
                draw_skeletons(ax, poses[:, frame], COLOURS[colour], limits, f"{name} {frame:02d}")
                if poses.shape[0] > 1:
                    ax.legend(handles=legend_handles([colour], poses.shape[0]), fontsize=7, loc="upper left")
                paths.append(out_dir / f"{prefix}_{name}_{frame:02d}.png")
                atomic_write_bytes(paths[-1], png_bytes(fig))
    finally:
        plt.close(fig)
    return paths


def sequence_frames(observed, future=None, predicted=None) -> list[dict]:
    """The 30 frames a viewer steps through: 16 observed, then 14 with truth and/or prediction."""
    observed = _as_scene(observed)
    frames = [{"input": observed[:, t]} for t in range(observed.shape[1])]
    n_future = max((_as_scene(p).shape[1] for p in (future, predicted) if p is not None), default=0)
    for t in range(n_future):
        frame = {}
        if future is not None:
            frame["truth"] = _as_scene(future)[:, t]
        if predicted is not None:
            frame["prediction"] = _as_scene(predicted)[:, t]
        frames.append(frame)
    return frames


def draw_frame(ax, frames: list[dict], index: int, show=("truth", "prediction"), limits=None,
               person_ids=None) -> None:
    """Draw frame ``index`` of :func:`sequence_frames`: observed in blue, truth green, prediction red."""
    clear_skeletons(ax)
    frame = frames[index]
    kinds = ["input"] if "input" in frame else [k for k in show if k in frame]
    for kind in kinds:
        draw_skeletons(ax, frame[kind], COLOURS[kind], limits, clear=False, linewidth=WIDTHS[kind],
                       person_ids=person_ids)
    ax.set_title(f"frame {index:02d} " + ("observed" if "input" in frame else "future"), fontsize=9)


def _kinds(future, predicted) -> list[str]:
    return ["input"] + [k for k, p in (("truth", future), ("prediction", predicted)) if p is not None]


def filmstrip(observed, future=None, predicted=None, every: int = 3, size: float = 2.6, columns: int = 5,
              frames=None):
    """Every ``every``-th of the 30 frames (or the frames listed in ``frames``, 0-29), wrapped into rows
    of ``columns`` 3D plots, with one legend for the colours (observed, truth, prediction) and the line
    styles (the persons); returns the Figure."""
    sequence = sequence_frames(observed, future, predicted)
    limits = axis_limits(*[p for p in (observed, future, predicted) if p is not None])
    picks = list(range(0, len(sequence), every)) if frames is None else [int(f) for f in frames]
    if not picks or not all(0 <= f < len(sequence) for f in picks):
        raise ValueError(f"filmstrip: frames {picks} must be indices 0-{len(sequence) - 1}")
    columns = min(columns, len(picks))
    rows = math.ceil(len(picks) / columns)
    height = size * rows + 0.5
    fig = plt.figure(figsize=(size * columns, height))
    for i, index in enumerate(picks):
        draw_frame(fig.add_subplot(rows, columns, i + 1, projection="3d"), sequence, index, limits=limits)
    fig.legend(handles=legend_handles(_kinds(future, predicted), _as_scene(observed).shape[0]),
               loc="upper center", ncol=5, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.97, bottom=0.04, top=1 - 0.5 / height, wspace=0.15, hspace=0.25)
    return fig


def frame_figure(observed, future=None, predicted=None, frame: int = 15, show=("truth", "prediction"),
                 view=VIEW, size=(5.0, 5.0), figure_class=None, person_ids=None,
                 prediction_label: str = "prediction"):
    """One frame of one sample as a 3D plot with a legend: the viewer's picture, on the axes of all
    30 frames. ``figure_class=Figure`` makes a figure outside pyplot (nothing is shown by itself);
    ``prediction_label`` names the red skeleton in the legend (e.g. "sample 3 of 20")."""
    frames = sequence_frames(observed, future, predicted)
    limits = axis_limits(*[p for p in (observed, future, predicted) if p is not None])
    fig = Figure(figsize=size) if figure_class is Figure else plt.figure(figsize=size)
    ax = fig.add_subplot(projection="3d")
    draw_frame(ax, frames, min(frame, len(frames) - 1), show, limits, person_ids)
    ax.view_init(elev=view[0], azim=view[1])
    kinds = ["input"] + [k for k in show if k in frames[-1]]
    fig.legend(handles=legend_handles(kinds, _as_scene(observed).shape[0], person_ids,
                                      {"prediction": prediction_label}),
               loc="lower center", ncol=3, fontsize=8, frameon=False)
    _fill_square(fig, ax, bottom=0.07)
    return fig


def _fill_square(fig, ax, bottom: float = 0.0) -> None:
    """Let a lone 3D box fill its square figure, the title inside the box's empty top margin."""
    ax.set_box_aspect(None, zoom=0.95)
    ax.set_title(ax.get_title(), fontsize=9, y=0.98)
    fig.subplots_adjust(left=-0.03, right=0.91, top=1.05, bottom=bottom)


def save_gif(observed, future, predicted, path: str | Path, fps: int = 5, dpi: int = PNG_DPI) -> Path:
    """An animated GIF of the 30 frames (observed, then truth and prediction together), 4 x 4 inches at
    ``dpi`` (320 x 320 pixels), written atomically. Each frame is drawn once (matplotlib's animation
    writers draw it twice)."""
    from PIL import Image

    frames = sequence_frames(observed, future, predicted)
    limits = axis_limits(*[p for p in (observed, future, predicted) if p is not None])
    fig, ax = new_axes()
    fig.set_dpi(dpi)
    images = []
    try:
        for index in range(len(frames)):
            draw_frame(ax, frames, index, limits=limits)
            _fill_square(fig, ax)
            fig.canvas.draw()
            images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB"))
    finally:
        plt.close(fig)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def plot_vim_curves(per_frame: dict[str, np.ndarray], title: str = "VIM versus horizon"):
    """Lines of VIM (cm) over the future frames, one per predictor; the five SoMoF horizons are
    marked with their names (frame 2 = "100 ms", ..., frame 14 = "900 ms")."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, values in per_frame.items():
        values = np.asarray(values)
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    frames = [f + 1 for f in HORIZON_FRAMES]
    for frame in frames:
        ax.axvline(frame, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xticks(frames, [f"{f}\n{ms} ms" for f, ms in zip(frames, HORIZON_MS)])
    ax.set_xlabel("future frame (15 Hz) and SoMoF horizon name")
    ax.set_ylabel("VIM (cm)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def png_bytes(fig, dpi: int = PNG_DPI) -> bytes:
    """A figure as PNG bytes (to write atomically, or to show in a widget)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def executor_is_running() -> bool:
    """True while a notebook executor runs the current cell (nbconvert, nbclient, nbval, papermill,
    also Voila): they send it without stdin (``allow_stdin`` False), and nobody can move a widget's
    controls. False in JupyterLab, Jupyter Notebook and VS Code, which answer ``input()``, and outside
    a kernel (scripts, tests)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    kernel = getattr(get_ipython(), "kernel", None)
    return kernel is not None and not kernel.get_parent().get("content", {}).get("allow_stdin", True)


def _viewer_bundle(png: bytes, model_id: str | None) -> dict:
    """The viewer's cell output, the same live and under an executor: the widget's view (JupyterLab
    shows that), its picture (what GitHub, nbviewer and an untrusted notebook show) and a line of text."""
    bundle = {"image/png": base64.b64encode(png).decode("ascii"),
              "text/plain": "frame viewer (run the cell in JupyterLab to use its controls)"}
    if model_id is not None:
        bundle["application/vnd.jupyter.widget-view+json"] = {"version_major": 2, "version_minor": 0,
                                                              "model_id": model_id}
    return bundle


class StaticViewer:
    """What :func:`frame_viewer` gives under an executor: its starting picture, and no widget (an
    executor would save the state of every widget into the notebook)."""

    def __init__(self, png: bytes, model_id: str | None = None):
        self.png, self.model_id = png, model_id

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _viewer_bundle(self.png, self.model_id)


@functools.cache
def _viewer_class():
    import ipywidgets as widgets

    class FrameViewer(widgets.VBox):
        """The live viewer: controls in two columns above the picture (``.controls``, ``.image``)."""

        def _repr_mimebundle_(self, **kwargs) -> dict:
            return _viewer_bundle(self.image.value, self.model_id)

    return FrameViewer


_LIVE_VIEWERS: dict[str, object] = {}  # fixed model id -> the viewer holding it (closed when a new one takes it)


def frame_viewer(observed, future=None, predicted=None, labels=None, samples=None, model_id: str | None = None,
                 size=VIEWER_SIZE, interactive: bool | None = None):
    """An ipywidgets viewer on fixed axes: the picture of one frame below two columns of controls, for
    the sample, the person, the prediction, what to show (ground truth, prediction or both), the frame
    (0-29) and the view (elevation, azimuth). Controls and picture fit together in a 1000 x 700 browser
    window, JupyterLab's file browser open.

    ``observed (N, persons, 16, 13, 3)``; ``future``/``predicted`` ``(N, persons, 14, 13, 3)`` or None.
    ``samples (K, N, persons, 14, 13, 3)`` (e.g. ``posepred.evaluate.out_of_fold(..., n_samples=K)
    .samples``) enables the "prediction" dropdown: the deterministic prediction (z = 0) or sample 1..K,
    drawn in red in its place. The picture is ``size`` inches at :data:`PNG_DPI` (360 x 360 pixels)
    and shown at exactly that size.

    A saved notebook stays the same from run to run: with a fixed ``model_id`` the cell's output is
    the same in JupyterLab and under an executor (:func:`_viewer_bundle`); a new viewer with the same
    id closes the old one (re-running the cell). Under an executor (``interactive`` None and
    :func:`executor_is_running`) no widget is made at all, only a :class:`StaticViewer`.

    Each redraw renders the frame to PNG bytes off-screen (a ``Figure`` outside pyplot) and sets them
    as the value of an ``ipywidgets.Image``: no ``Output`` widget, ``display`` or ``clear_output``,
    which a notebook executor would have to mimic while the cell runs.
    """
    observed = np.asarray(observed)
    arrays = [observed] + [None if a is None else np.asarray(a) for a in (future, predicted)]
    if samples is not None:
        samples = np.asarray(samples)
        expected = (len(observed), observed.shape[1], None, 13, 3)
        if samples.ndim != 6 or any(e is not None and e != n for e, n in zip(expected, samples.shape[1:])):
            raise ValueError(f"frame_viewer: samples shaped {samples.shape}, expected (K, {len(observed)}, "
                             f"{observed.shape[1]}, frames, 13, 3)")
    n_persons = observed.shape[1]

    def picture(sample=0, person=-1, which=-1, show=("truth", "prediction"), frame=15, view=VIEW):
        pick = slice(None) if person < 0 else [person]
        source = arrays[2] if samples is None or which < 0 else samples[which]
        parts = [None if a is None else a[sample][pick] for a in (arrays[0], arrays[1], source)]
        name = "prediction" if samples is None else "prediction (z = 0)"
        if samples is not None and which >= 0:
            name = f"sample {which + 1} of {len(samples)}"
        ids = list(range(n_persons)) if person < 0 else [person]
        return png_bytes(frame_figure(*parts, frame=frame, show=show, person_ids=ids, view=view, size=size,
                                      figure_class=Figure, prediction_label=name))

    if interactive is False or (interactive is None and executor_is_running()):
        return StaticViewer(picture(), model_id)

    import ipywidgets as widgets

    if model_id in _LIVE_VIEWERS:  # the cell runs again: its old viewer gives up the id
        _close_tree(_LIVE_VIEWERS.pop(model_id))
    wide = {"layout": widgets.Layout(width="270px"), "style": {"description_width": "90px"}}
    labels = labels or [f"sample {i}" for i in range(len(observed))]
    sample = widgets.Dropdown(options=[(label, i) for i, label in enumerate(labels)], description="sample", **wide)
    person = widgets.Dropdown(options=[("both", -1)] + [(f"person {p}", p) for p in range(n_persons)],
                              description="person", **wide)
    draws = [] if samples is None else [(f"sample {k + 1} of {len(samples)}", k) for k in range(len(samples))]
    if predicted is not None:
        draws = [("deterministic (z = 0)", -1)] + draws
    which = widgets.Dropdown(options=draws or [("none", -1)], description="prediction", disabled=samples is None,
                             **wide)
    show = widgets.Dropdown(options=[("truth and prediction", ("truth", "prediction")), ("ground truth", ("truth",)),
                                     ("prediction", ("prediction",))], description="show", **wide)
    slider = {"continuous_update": False, **wide}
    n_frames = len(sequence_frames(*(None if a is None else a[0] for a in arrays)))
    frame = widgets.IntSlider(min=0, max=n_frames - 1, value=15, description="frame", **slider)
    elevation = widgets.IntSlider(min=-90, max=90, step=5, value=int(VIEW[0]), description="elevation (°)", **slider)
    azimuth = widgets.IntSlider(min=-180, max=180, step=5, value=int(VIEW[1]), description="azimuth (°)", **slider)
    width, height = (round(inches * PNG_DPI) for inches in size)
    image = widgets.Image(format="png", width=width, height=height,  # shown at the PNG's own size
                          layout=widgets.Layout(width=f"{width}px", height=f"{height}px", flex="0 0 auto"))
    controls = {"sample": sample, "person": person, "prediction": which, "show": show, "frame": frame,
                "elevation": elevation, "azimuth": azimuth}
    help_text = widgets.HTML("<small>frames 0-15 observed (blue); 16-29 future: ground truth (green), "
                             "prediction (red)</small>", layout=widgets.Layout(width="270px"))

    def render(*_):
        image.value = picture(sample.value, person.value, which.value, show.value, frame.value,
                              (elevation.value, azimuth.value))

    for control in controls.values():
        control.observe(render, names="value")
    render()
    columns = widgets.HBox([widgets.VBox([sample, person, which, show]),
                            widgets.VBox([frame, elevation, azimuth, help_text])])
    viewer = _viewer_class()([columns, image], layout=widgets.Layout(align_items="flex-start"),
                             **({} if model_id is None else {"model_id": model_id}))
    viewer.image, viewer.controls = image, controls
    if model_id is not None:
        _LIVE_VIEWERS[model_id] = viewer
    return viewer


def _close_tree(widget) -> None:
    """Close a widget and every widget inside it."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


_TABLE_COLUMNS = (("VIM (cm) by horizon; mean of 14 frames", "VIM (cm)",
                   [("vim_100", "100 ms"), ("vim_240", "240 ms"), ("vim_500", "500 ms"), ("vim_640", "640 ms"),
                    ("vim_900", "900 ms"), ("vim_mean", "mean")]),
                  ("ADE / FDE (m)", "ADE/FDE (m)", [("ade_rms", "ADE rms"), ("fde_rms", "FDE rms"),
                                                    ("ade_mpjpe", "ADE mpjpe"), ("fde_mpjpe", "FDE mpjpe")]))
# bone drift (posepred.metrics.bone_drift), in %: the 9 rigid bones against the last observed frame
_DRIFT_COLUMNS = (("rigid bone length change against the last observed frame (%)", "rigid bone drift (%)",
                   [("bone_drift_mean", "mean"), ("bone_drift_max", "max"),
                    ("bone_drift_over_10", "frames >10%")]),
                  ("all 14 edges (%)", "all edges (%)", [("edge_drift_over_10", "frames >10%")]))
TABLE_KINDS = {"accuracy": _TABLE_COLUMNS, "drift": _DRIFT_COLUMNS}


class ResultsTable:
    """Rows of :func:`posepred.metrics.summary` as an HTML table (grouped headers, units, the best value
    of each column in bold); its plain-text form lists the same numbers one predictor per line.
    ``kind="drift"`` shows :func:`posepred.metrics.bone_drift` instead (%, nothing bold: the
    ground truth, not the lowest number, is the reference there)."""

    def __init__(self, rows: dict[str, dict[str, float]], caption: str = "", kind: str = "accuracy"):
        if kind not in TABLE_KINDS:
            raise ValueError(f"results_table: kind must be one of {list(TABLE_KINDS)}, got {kind!r}")
        self.rows, self.caption, self.kind = rows, caption, kind
        self.groups = TABLE_KINDS[kind]

    def _repr_html_(self) -> str:
        columns = [key for _, _, group in self.groups for key, _ in group]
        best = {key: min((r[key] for r in self.rows.values() if r.get(key) is not None), default=None)
                for key in columns}
        style = "padding:2px 5px;text-align:right;white-space:nowrap"
        head = "".join(f'<th colspan="{len(group)}" style="text-align:center;border-bottom:1px solid #999">'
                       f'{html.escape(title)}</th>'
                       for title, _, group in self.groups)
        sub = "".join(f'<th style="{style}">{html.escape(name)}</th>' for _, _, group in self.groups
                      for _, name in group)
        body = []
        for name, row in self.rows.items():
            cells = []
            for key in columns:
                text = format_value(key, row.get(key))
                bold = (self.kind == "accuracy" and row.get(key) is not None and row.get(key) == best[key]
                        and len(self.rows) > 1)
                cells.append(f'<td style="{style}">{"<b>" + text + "</b>" if bold else text}</td>')
            body.append(f'<tr><th style="text-align:left;white-space:nowrap">{html.escape(name)}</th>'
                        f'{"".join(cells)}</tr>')
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f"<table>{caption}<thead><tr><th></th>{head}</tr>"
                f"<tr><th style='text-align:left'>predictor</th>{sub}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")

    def __repr__(self) -> str:
        lines = []
        for name, row in self.rows.items():
            parts = [f"{short} " + " ".join(format_value(k, row.get(k)) for k, _ in group)
                     for _, short, group in self.groups]
            lines.append(f"{name}: " + " | ".join(parts))
        return "\n".join(lines)


def results_table(rows: dict[str, dict[str, float]], caption: str = "", kind: str = "accuracy") -> ResultsTable:
    """:func:`posepred.metrics.summary` rows as a table (HTML in a notebook); ``kind="drift"``: bone drift."""
    return ResultsTable(rows, caption, kind)
