"""CMU motion capture -> the 13 SoMoF joints at 15 Hz, for pretraining.

Two sources in ``mocap_cmu/`` (see its SOURCE.txt; CMU Graphics Lab data, mocap.cs.cmu.edu):

- ``data/cmu/**/*.txt``: 120 fps, root translation + 38 exponential-map rotations; forward
  kinematics with the numbers in ``cmu_skeleton.json`` (row-vector convention).
- ``All_BVH/subjects/**/*.bvh``: 60 fps, iClone rig in centimetres, first frame a T-pose; parsed
  with the ``bvhio`` library, forward kinematics here.

Both come out y-up in metres. The corpus keeps every clip at 30 Hz (centred on its first hip
centre, float32); 15 Hz training windows are cut from both frame phases.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .checkpoint import atomic_write_bytes
from .data import WINDOW, DataError
from .paths import default_corpus_path
from .skeleton import BONES, HIP_JOINTS, JOINT_NAMES, bone_lengths

CMU_UNIT_METRES = 0.05644
CMU_TO_SOMOF = [2, 8, 3, 9, 4, 10, 18, 21, 30, 22, 31, 23, 32]  # CMU joint index of each SoMoF joint
BVH_TO_SOMOF = ["CC_Base_L_Thigh", "CC_Base_R_Thigh", "CC_Base_L_Calf", "CC_Base_R_Calf", "CC_Base_L_Foot",
                "CC_Base_R_Foot", "CC_Base_Head", "CC_Base_L_Upperarm", "CC_Base_R_Upperarm",
                "CC_Base_L_Forearm", "CC_Base_R_Forearm", "CC_Base_L_Hand", "CC_Base_R_Hand"]
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


def read_cmu_txt(path: Path, skeleton: dict) -> np.ndarray:
    """One CMU benchmark file -> SoMoF joints ``(T, 13, 3)`` in metres at 120 Hz."""
    frames = np.loadtxt(path, delimiter=",", ndmin=2)
    if frames.shape[1] != 117 or not np.isfinite(frames).all():
        raise DataError(f"{path}: expected finite rows of 117 numbers, got shape {frames.shape}")
    joints = cmu_forward_kinematics(frames, skeleton["parent"], np.asarray(skeleton["offset"]))
    return joints[:, CMU_TO_SOMOF] * CMU_UNIT_METRES


def quaternion_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` as (w, x, y, z) -> column-vector rotation matrices ``(..., 3, 3)``."""
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    rows = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return np.stack(rows, -1).reshape(*q.shape[:-1], 3, 3)


def read_bvh(path: Path) -> tuple[np.ndarray, float]:
    """One iClone-rig BVH file -> SoMoF joints ``(T - 1, 13, 3)`` in metres (T-pose dropped), and its fps."""
    import bvhio

    try:
        head = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc
    if not head.lstrip().startswith("HIERARCHY") or "MOTION" not in head or "Frame Time:" not in head:
        raise DataError(f"{path}: not a BVH file (needs HIERARCHY, MOTION and Frame Time sections)")
    try:
        container = bvhio.readAsBvh(str(path))
    except Exception as exc:  # the parser raises assorted types on bad files
        raise DataError(f"{path}: unreadable BVH ({type(exc).__name__}: {exc})") from exc
    chains: dict[str, tuple] = {}

    def walk(joint, parent_name):
        chains[joint.Name] = (joint, parent_name)
        for child in joint.Children:
            walk(child, joint.Name)

    walk(container.Root, None)
    missing = [name for name in BVH_TO_SOMOF if name not in chains]
    if missing:
        raise DataError(f"{path}: joints {missing} not in the skeleton (expected the iClone CC_Base rig)")
    world_rot, world_pos = {}, {}

    def solve(name):
        if name in world_pos:
            return
        joint, parent_name = chains[name]
        keys = joint.Keyframes
        local_rot = quaternion_to_rotmat(np.array([[k.Rotation.w, k.Rotation.x, k.Rotation.y, k.Rotation.z]
                                                   for k in keys]))
        offset = np.array([joint.Offset.x, joint.Offset.y, joint.Offset.z])
        if parent_name is None:
            translation = np.array([[k.Position.x, k.Position.y, k.Position.z] for k in keys])
            world_pos[name], world_rot[name] = offset + translation, local_rot
            return
        solve(parent_name)
        world_pos[name] = world_pos[parent_name] + np.einsum("tij,j->ti", world_rot[parent_name], offset)
        world_rot[name] = world_rot[parent_name] @ local_rot

    for name in BVH_TO_SOMOF:
        solve(name)
    joints = np.stack([world_pos[name] for name in BVH_TO_SOMOF], axis=1) / 100.0
    return joints[1:], 1.0 / container.FrameTime


def resample(positions: np.ndarray, source_hz: float, target_hz: float = STORED_HZ) -> np.ndarray:
    """Keep every ``source_hz / target_hz``-th frame (an integer ratio is required)."""
    ratio = source_hz / target_hz
    if abs(ratio - round(ratio)) > 1e-3:
        raise ValueError(f"cannot resample {source_hz} Hz to {target_hz} Hz by frame skipping")
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
    skeleton = json.loads(skeleton_path.read_text())
    clips, names = [], []

    def add(positions, path):
        for piece in split_at_jumps(positions):
            clips.append(_normalised(piece, leg_bone))
            names.append(str(path.relative_to(source)))

    for path in tqdm(sorted(source.glob("data/cmu/**/*.txt")), desc="CMU text"):
        add(resample(read_cmu_txt(path, skeleton), skeleton["frame_rate_hz"]), path)
    for path in tqdm(sorted(source.glob("All_BVH/subjects/**/*.bvh")), desc="BVH"):
        positions, fps = read_bvh(path)
        add(resample(positions, round(fps)), path)
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
        with np.load(path) as corpus:
            positions, lengths, names = corpus["positions"], corpus["lengths"], list(corpus["names"])
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a posepred mocap corpus ({exc})") from exc
    return np.split(positions, np.cumsum(lengths)[:-1]), [str(n) for n in names]


def load_corpus_windows(paths=None, stride: int = 1):
    """15 Hz training windows from both frame phases of every 30 Hz clip of one or several corpora
    (default: the shipped one), as one :class:`posepred.windows.WindowSet` (frames stored once)."""
    from .windows import WindowSet

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
