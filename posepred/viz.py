"""Pictures of poses: 3D skeleton frames, the seed's per-frame PNGs, filmstrips, GIFs, a slider viewer.

Poses are ``(persons, frames, 13, 3)`` arrays in metres, y up. Matplotlib draws y as its vertical
axis (its z), so skeletons stand upright.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .metrics import HORIZON_FRAMES, HORIZON_MS
from .skeleton import BONES

COLOURS = {"input": "tab:blue", "truth": "tab:green", "prediction": "tab:red"}
PERSON_STYLES = ("-", "--")


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


def draw_skeletons(ax, poses, colour: str, limits=None, title: str | None = None, clear: bool = True) -> None:
    """Draw one frame of every person, ``(persons, 13, 3)`` or ``(13, 3)``, on a 3D axis."""
    poses = np.asarray(poses, dtype=float)
    poses = poses[None] if poses.ndim == 2 else poses
    if clear:
        ax.cla()
    for person, pose in enumerate(poses):
        style = PERSON_STYLES[person % len(PERSON_STYLES)]
        for a, b in BONES:
            ax.plot(pose[[a, b], 0], pose[[a, b], 2], pose[[a, b], 1], style, color=colour, linewidth=2)
        ax.scatter(pose[:, 0], pose[:, 2], pose[:, 1], color=colour, s=8)
    centre, half = limits if limits is not None else axis_limits(poses)
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[2] - half, centre[2] + half)
    ax.set_zlim(centre[1] - half, centre[1] + half)
    ax.set_xlabel("x")
    ax.set_ylabel("z")
    ax.set_zlabel("y (up)")
    if title:
        ax.set_title(title)


def save_frame_pngs(observed, future, predicted, out_dir: str | Path, prefix: str = "") -> list[Path]:
    """The seed's PNGs: ``{prefix}_Input_00..15``, ``_GroundTruth_00..13``, ``_Prediction_00..13``.

    ``observed (persons, 16, 13, 3)``, ``future``/``predicted`` ``(persons, 14, 13, 3)`` (future may
    be None); one 3D plot per frame, every frame on the same axes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
                paths.append(out_dir / f"{prefix}_{name}_{frame:02d}.png")
                fig.savefig(paths[-1], dpi=80)
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


def draw_frame(ax, frames: list[dict], index: int, show=("truth", "prediction"), limits=None) -> None:
    """Draw frame ``index`` of :func:`sequence_frames`: observed in blue, truth green, prediction red."""
    ax.cla()
    frame = frames[index]
    kinds = ["input"] if "input" in frame else [k for k in show if k in frame]
    for kind in kinds:
        draw_skeletons(ax, frame[kind], COLOURS[kind], limits, clear=False)
    ax.set_title(f"frame {index:02d} " + ("observed" if "input" in frame else "future"), fontsize=9)


def filmstrip(observed, future=None, predicted=None, every: int = 3, size: float = 2.2):
    """One row of 3D frames, every ``every``-th of the 30; returns the Figure."""
    frames = sequence_frames(observed, future, predicted)
    limits = axis_limits(*[p for p in (observed, future, predicted) if p is not None])
    picks = list(range(0, len(frames), every))
    fig = plt.figure(figsize=(size * len(picks), size + 0.4))
    for i, index in enumerate(picks):
        draw_frame(fig.add_subplot(1, len(picks), i + 1, projection="3d"), frames, index, limits=limits)
    fig.suptitle("blue: observed   green: ground truth   red: prediction   (solid: person 0, dashed: person 1)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def save_gif(observed, future, predicted, path: str | Path, fps: int = 5) -> Path:
    """An animated GIF of the 30 frames (observed, then truth and prediction together)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    frames = sequence_frames(observed, future, predicted)
    limits = axis_limits(*[p for p in (observed, future, predicted) if p is not None])
    fig, ax = new_axes()
    try:
        animation = FuncAnimation(fig, lambda i: draw_frame(ax, frames, i, limits=limits), frames=len(frames))
        animation.save(str(path), writer=PillowWriter(fps=fps))
    finally:
        plt.close(fig)
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


def frame_viewer(observed, future=None, predicted=None, labels=None):
    """An ipywidgets viewer: a slider over the 30 frames, sample and person dropdowns, and a
    toggle between ground truth, prediction or both, on fixed axes.

    ``observed (N, persons, 16, 13, 3)``; ``future``/``predicted`` ``(N, persons, 14, 13, 3)`` or None.
    Returns the widget (display it in a notebook).
    """
    import ipywidgets as widgets

    observed = np.asarray(observed)
    labels = labels or [f"sample {i}" for i in range(len(observed))]
    sample = widgets.Dropdown(options=[(label, i) for i, label in enumerate(labels)], description="sample")
    person = widgets.Dropdown(options=[("both", -1)] + [(f"person {p}", p) for p in range(observed.shape[1])],
                              description="person")
    show = widgets.ToggleButtons(options=[("both", ("truth", "prediction")), ("ground truth", ("truth",)),
                                          ("prediction", ("prediction",))], description="show")
    frame = widgets.IntSlider(min=0, max=29, value=15, description="frame",
                              continuous_update=False)
    output = widgets.Output()

    def render(*_):
        pick = slice(None) if person.value < 0 else [person.value]
        parts = [None if a is None else np.asarray(a)[sample.value][pick] for a in (observed, future, predicted)]
        frames = sequence_frames(*parts)
        frame.max = len(frames) - 1
        with output:
            output.clear_output(wait=True)
            fig, ax = new_axes((5, 5))
            draw_frame(ax, frames, min(frame.value, len(frames) - 1), show.value,
                       axis_limits(*[p for p in parts if p is not None]))
            plt.show()
            plt.close(fig)

    for control in (sample, person, show, frame):
        control.observe(render, names="value")
    render()
    return widgets.VBox([widgets.HBox([sample, person]), show, frame, output])
