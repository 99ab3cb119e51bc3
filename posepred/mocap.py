"""CMU motion capture -> the 13 SoMoF joints at 15 Hz, for pretraining.

Two sources in ``mocap_cmu/`` (see its SOURCE.txt; CMU Graphics Lab data, mocap.cs.cmu.edu):

- ``data/cmu/**/*.txt``: 120 fps, root translation + 38 exponential-map rotations; forward
  kinematics with the numbers in ``cmu_skeleton.json`` (row-vector convention).
- ``All_BVH/subjects/**/*.bvh``: 60 fps, iClone rig in centimetres, first frame a T-pose; read by
  :mod:`posepred.bvh` (validation, the ``bvhio`` parser, forward kinematics; re-exported here).

Both come out y-up in metres. The corpus keeps every clip at 30 Hz (centred on its first hip
centre, float32); 15 Hz training windows are cut from both frame phases.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .bvh import (  # noqa: F401 - BVH_TO_SOMOF, check_bvh, quaternion_to_rotmat re-exported: their old home
    BVH_TO_SOMOF,
    MAX_MOCAP_VALUE,
    bvhio_module,
    check_bvh,
    quaternion_to_rotmat,
    read_bvh,
)
from .data import WINDOW, DataError, read_bytes, read_json
from .files import atomic_write_bytes
from .paths import default_corpus_path
from .skeleton import BONES, HIP_JOINTS, JOINT_NAMES, bone_lengths
from .windows import WindowSet

CMU_UNIT_METRES = 0.05644
CMU_TO_SOMOF = [2, 8, 3, 9, 4, 10, 18, 21, 30, 22, 31, 23, 32]  # CMU joint index of each SoMoF joint
STORED_HZ = 30
# Mean thigh and shin length of the SoMoF people, measured on the observed (input) frames of valid
# and test (0.39 m); CMU performers on the iClone rig are taller, so clips are scaled to match.
SOMOF_LEG_BONE = 0.39
LEG_BONES = [1, 2, 3, 4]  # indices into skeleton.BONES: hip-knee and knee-ankle, both sides
TRAIN_HZ = 15
ACKNOWLEDGEMENT = ("The data used in this project was obtained from mocap.cs.cmu.edu. "
                   "The database was created with funding from NSF EIA-0196217.")


def expmap_to_rotmat(r: np.ndarray) -> np.ndarray:
    """Rodrigues: axis-angle ``(..., 3)`` -> rotation matrices ``(..., 3, 3)``."""
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    axis = r / np.maximum(angle, 1e-12)
    kx, ky, kz = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(kx)
    k = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(*r.shape[:-1], 3, 3)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def cmu_forward_kinematics(frames: np.ndarray, parent: list[int], offset: np.ndarray) -> np.ndarray:
    """``frames (T, 117)`` -> joint positions ``(T, 38, 3)`` in CMU units (row-vector convention)."""
    rotations = expmap_to_rotmat(frames[:, 3:].reshape(len(frames), -1, 3))
    positions = np.zeros((len(frames), len(parent), 3))
    world = np.zeros((len(frames), len(parent), 3, 3))
    for j, p in enumerate(parent):
        if p < 0:
            positions[:, j] = offset[j] + frames[:, :3]
            world[:, j] = rotations[:, j]
        else:
            positions[:, j] = np.einsum("i,tij->tj", offset[j], world[:, p]) + positions[:, p]
            world[:, j] = rotations[:, j] @ world[:, p]
    return positions


CMU_JOINTS = 38


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_cmu_skeleton(skeleton, source: str = "cmu_skeleton.json") -> dict:
    """Validate the skeleton facts of the CMU text files (types, tree order, offsets, frame rate)."""
    if not isinstance(skeleton, dict):
        raise DataError(f"{source}: expected a JSON object, got {type(skeleton).__name__}")
    missing = [key for key in ("parent", "offset", "frame_rate_hz") if key not in skeleton]
    if missing:
        raise DataError(f"{source}: missing {missing}")
    rate = skeleton["frame_rate_hz"]
    if not _is_number(rate) or not 0 < rate <= 10_000 or abs(rate / STORED_HZ - round(rate / STORED_HZ)) > 1e-6:
        raise DataError(f"{source}: frame_rate_hz must be a positive multiple of {STORED_HZ}, got {rate!r}")
    parent, offset = skeleton["parent"], skeleton["offset"]
    if not isinstance(parent, list) or len(parent) != CMU_JOINTS:
        raise DataError(f"{source}: parent must list the {CMU_JOINTS} joints' parents")
    for j, p in enumerate(parent):
        if isinstance(p, bool) or not isinstance(p, int) or not -1 <= p < j or (p == -1) != (j == 0):
            raise DataError(f"{source}: parent[{j}] = {p!r}: joint 0 is the root (-1), every other joint's "
                            "parent is an earlier joint")
    if not isinstance(offset, list) or len(offset) != CMU_JOINTS or not all(
            isinstance(o, list) and len(o) == 3 and all(_is_number(v) and abs(v) < 1e3 for v in o) for o in offset):
        raise DataError(f"{source}: offset must list {CMU_JOINTS} [x, y, z] triples of finite numbers")
    if "n_joints" in skeleton and skeleton["n_joints"] != CMU_JOINTS:
        raise DataError(f"{source}: n_joints {skeleton['n_joints']!r}, expected {CMU_JOINTS}")
    return skeleton


def read_cmu_skeleton(path: Path) -> dict:
    """``cmu_skeleton.json``, validated."""

    return check_cmu_skeleton(read_json(Path(path)), str(path))


def read_cmu_txt(path: Path, skeleton: dict) -> np.ndarray:
    """One CMU benchmark file -> SoMoF joints ``(T, 13, 3)`` in metres at 120 Hz. The file is read
    through :func:`posepred.data.read_bytes` (a regular file within the input size cap)."""
    check_cmu_skeleton(skeleton)
    columns = 3 + 3 * CMU_JOINTS
    path = Path(path)
    data = read_bytes(path, what="input files")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file is reported below
            frames = np.loadtxt(data.decode("utf-8").splitlines(), delimiter=",", ndmin=2, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: expected rows of {columns} comma-separated numbers "
                        f"({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from exc
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc.strerror or exc})") from exc
    if frames.shape[0] < 1 or frames.shape[1] != columns:
        raise DataError(f"{path}: expected rows of {columns} numbers, got shape {list(frames.shape)}")
    if not np.isfinite(frames).all():
        row = int(np.argwhere(~np.isfinite(frames))[0][0]) + 1
        raise DataError(f"{path}: non-finite values (NaN or Inf) in row {row}")
    if np.abs(frames).max() > MAX_MOCAP_VALUE:
        raise DataError(f"{path}: implausible values (up to {np.abs(frames).max():.3g})")
    joints = cmu_forward_kinematics(frames, skeleton["parent"], np.asarray(skeleton["offset"], dtype=np.float64))
    return joints[:, CMU_TO_SOMOF] * CMU_UNIT_METRES


def resample(positions: np.ndarray, source_hz: float, target_hz: float = STORED_HZ) -> np.ndarray:
    """Keep every ``source_hz / target_hz``-th frame (an integer ratio is required)."""
    ratio = source_hz / target_hz
    if not math.isfinite(ratio) or ratio < 1 or abs(ratio - round(ratio)) > 1e-3:
        raise DataError(f"cannot resample {source_hz} Hz to {target_hz} Hz by frame skipping")
    return positions[:: int(round(ratio))]


MAX_STEP_30HZ = 0.25  # metres of mean joint motion per 30 Hz frame (7.5 m/s): faster is a glitch


def split_at_jumps(clip: np.ndarray, max_step: float = MAX_STEP_30HZ, min_frames: int = 2 * WINDOW) -> list:
    """Cut a clip ``(T, 13, 3)`` where a frame step is implausibly large; drop pieces too short to use."""
    steps = np.linalg.norm(np.diff(clip, axis=0), axis=-1).mean(axis=-1)
    cuts = np.flatnonzero(steps > max_step) + 1
    return [piece for piece in np.split(clip, cuts) if len(piece) >= min_frames]


def _normalised(clip: np.ndarray, leg_bone: float | None) -> np.ndarray:
    """Centre a clip on its first hip centre (horizontally) and scale it to ``leg_bone`` metres of
    mean thigh/shin length (None: keep the performer's size)."""
    centre = clip[0, list(HIP_JOINTS)].mean(axis=0) * np.array([1, 0, 1])
    scale = 1.0 if leg_bone is None else leg_bone / bone_lengths(clip)[:, LEG_BONES].mean()
    return ((clip - centre) * scale).astype(np.float32)


def build_corpus(source: str | Path, out: str | Path | None = None, leg_bone: float | None = SOMOF_LEG_BONE) -> Path:
    """Convert every CMU text and BVH file under ``source`` into one ``.npz`` corpus at 30 Hz,
    each clip scaled to SoMoF's body size (``leg_bone``; None keeps the performers' size)."""
    source = Path(source)
    skeleton_path = source / "cmu_skeleton.json"
    if not skeleton_path.is_file():
        raise DataError(f"{skeleton_path}: not found (pass --source pointing at mocap_cmu/)")
    skeleton = read_cmu_skeleton(skeleton_path)
    bvh_files = sorted(source.glob("All_BVH/subjects/**/*.bvh"))
    if bvh_files:
        bvhio_module(bvh_files[0])  # missing? say so now, not after converting every text file
    clips, names = [], []

    def add(positions, path):
        for piece in split_at_jumps(positions):
            clips.append(_normalised(piece, leg_bone))
            names.append(str(path.relative_to(source)))

    for path in tqdm(sorted(source.glob("data/cmu/**/*.txt")), desc="CMU text"):
        add(resample(read_cmu_txt(path, skeleton), skeleton["frame_rate_hz"]), path)
    for path in tqdm(bvh_files, desc="BVH"):
        positions, fps = read_bvh(path)
        try:
            add(resample(positions, round(fps)), path)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from exc
    if not clips:
        raise DataError(f"{source}: no .txt or .bvh motion files found")
    out = Path(out) if out else default_corpus_path()
    import io
    buffer = io.BytesIO()
    np.savez_compressed(buffer, positions=np.concatenate(clips), lengths=np.array([len(c) for c in clips]),
                        names=np.array(names), hz=np.array(STORED_HZ), acknowledgement=np.array(ACKNOWLEDGEMENT))
    atomic_write_bytes(out, buffer.getvalue())
    return out


def load_corpus_clips(path: str | Path | None = None) -> tuple[list[np.ndarray], list[str]]:
    """The corpus clips ``(frames, 13, 3)`` at 30 Hz and their source file names."""
    path = Path(path) if path else default_corpus_path()
    if path.is_dir():
        path = path / default_corpus_path().name
    if not path.is_file():
        raise DataError(f"{path}: mocap corpus not found (build it with `posepred mocap`)")
    try:
        with np.load(path, allow_pickle=False) as corpus:
            missing = sorted({"positions", "lengths", "names"} - set(corpus.files))
            if missing:
                raise DataError(f"{path}: not a posepred mocap corpus (missing arrays {missing})")
            positions, lengths, names = corpus["positions"], corpus["lengths"], corpus["names"]
            hz = corpus["hz"] if "hz" in corpus.files else None
    except DataError:
        raise
    except (OSError, KeyError, ValueError, EOFError, TypeError, zipfile.BadZipFile, MemoryError) as exc:
        reason = "empty file" if path.stat().st_size == 0 else (str(exc).splitlines()[0][:120] if str(exc)
                                                                  else type(exc).__name__)
        raise DataError(f"{path}: not a posepred mocap corpus ({reason})") from exc
    check_corpus(path, positions, lengths, names, hz)
    return np.split(positions, np.cumsum(lengths)[:-1]), [str(n) for n in names]


def check_corpus(path, positions, lengths, names, hz=None) -> None:
    """Shapes, dtypes and values of a corpus' arrays; DataError naming ``path`` and the array."""
    if positions.dtype not in (np.float32, np.float64) or positions.ndim != 3 or positions.shape[1:] != (13, 3):
        raise DataError(f"{path}: positions must be float (frames, 13, 3), got {positions.dtype} "
                        f"{list(positions.shape)}")
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or len(lengths) == 0 or (lengths < 1).any():
        raise DataError(f"{path}: lengths must be a non-empty list of positive integers (frames per clip)")
    if int(lengths.sum()) != len(positions):
        raise DataError(f"{path}: lengths sum to {int(lengths.sum())} frames but positions has {len(positions)}")
    if names.ndim != 1 or names.dtype.kind not in "US" or len(names) != len(lengths):
        raise DataError(f"{path}: names must be {len(lengths)} strings (one per clip), got {names.dtype} "
                        f"{list(names.shape)}")
    if hz is not None and (hz.shape != () or hz.dtype.kind not in "iuf" or float(hz) != STORED_HZ):
        raise DataError(f"{path}: hz {hz!r}, expected {STORED_HZ}")
    if not np.isfinite(positions).all():
        raise DataError(f"{path}: non-finite positions (NaN or Inf)")
    if np.abs(positions).max(initial=0) > 1e4:
        raise DataError(f"{path}: implausible positions (up to {np.abs(positions).max():.3g} m)")


def load_corpus_windows(paths=None, stride: int = 1):
    """15 Hz training windows from both frame phases of every 30 Hz clip of one or several corpora
    (default: the shipped one), as one :class:`posepred.windows.WindowSet` (frames stored once)."""

    paths = [None] if paths is None else [paths] if isinstance(paths, (str, Path)) else list(paths) or [None]
    return WindowSet.concat([WindowSet.from_clips(load_corpus_clips(path)[0], step=STORED_HZ // TRAIN_HZ,
                                                  stride=stride) for path in paths])


def facing_chirality(positions: np.ndarray) -> float:
    """Median cosine between ``(right hip - left hip) x up`` and the knees' forward bulge.

    Near -1 for a correctly labelled left/right skeleton in a right-handed y-up frame (SoMoF valid:
    -0.92); near +1 when left and right are swapped. ``positions (..., 13, 3)``.
    """
    x = np.asarray(positions).reshape(-1, 13, 3)
    forward = (x[:, 2] + x[:, 3]) / 2 - ((x[:, 0] + x[:, 1]) / 2 + (x[:, 4] + x[:, 5]) / 2) / 2
    side = np.cross(x[:, 1] - x[:, 0], [0.0, 1.0, 0.0])
    cosine = np.sum(side * forward, axis=1) / (np.linalg.norm(side, axis=1) * np.linalg.norm(forward, axis=1) + 1e-12)
    return float(np.median(cosine))


def compare_bone_lengths(somof_positions: np.ndarray, mocap_positions: np.ndarray) -> list[tuple[str, float, float]]:
    """Mean length of every bone in SoMoF and in the mocap corpus: ``[(bone name, somof m, mocap m)]``."""
    somof = bone_lengths(np.asarray(somof_positions).reshape(-1, 13, 3)).mean(axis=0)
    mocap = bone_lengths(np.asarray(mocap_positions).reshape(-1, 13, 3)).mean(axis=0)
    return [(f"{JOINT_NAMES[a]} - {JOINT_NAMES[b]}", float(s), float(m)) for (a, b), s, m in zip(BONES, somof, mocap)]
