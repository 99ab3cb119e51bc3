"""BVH files of the iClone rig -> the 13 SoMoF joints: validation before any parser sees a file,
parsing with the ``bvhio`` library, forward kinematics with quaternions (60 fps, centimetres in,
metres out, the first frame's T-pose dropped). :mod:`posepred.mocap` builds the corpus from them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .data import read_bytes
from .errors import DataError

BVH_TO_SOMOF = ["CC_Base_L_Thigh", "CC_Base_R_Thigh", "CC_Base_L_Calf", "CC_Base_R_Calf", "CC_Base_L_Foot",
                "CC_Base_R_Foot", "CC_Base_Head", "CC_Base_L_Upperarm", "CC_Base_R_Upperarm",
                "CC_Base_L_Forearm", "CC_Base_R_Forearm", "CC_Base_L_Hand", "CC_Base_R_Hand"]
MAX_MOCAP_VALUE = 1e6  # any translation (cm or CMU units) or angle (degrees, radians) beyond this is garbage
INSTALL_BVHIO = 'pip install -e ".[mocap]" (or pip install bvhio)'


def bvhio_module(path: Path | str):
    """The optional BVH parser ``bvhio``; without it, a DataError naming ``path`` and the install command."""
    try:
        import bvhio
    except ImportError:
        raise DataError(f"{path}: reading BVH files needs the optional package bvhio: {INSTALL_BVHIO}") from None
    return bvhio


def quaternion_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` as (w, x, y, z) -> column-vector rotation matrices ``(..., 3, 3)``."""
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    rows = [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
    return np.stack(rows, -1).reshape(*q.shape[:-1], 3, 3)


_CHANNELS = {f"{axis}{kind}" for axis in "XYZ" for kind in ("position", "rotation")}
_BVH_KEYWORDS = {"ROOT", "JOINT", "End", "OFFSET", "CHANNELS", "{", "}"}


def check_bvh(path: Path) -> tuple[int, float]:
    """Validate a BVH file completely before any parser sees it: the hierarchy (balanced braces,
    unique joints, finite offsets, ``CHANNELS n`` with n known channel names: 3 rotations, plus 3
    positions on the root only), ``Frames:`` equal to the number of motion rows, ``Frame Time`` finite
    and positive, every row with one finite, plausible number per channel. Returns (frames, frame time)."""

    path = Path(path)
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a BVH file (not UTF-8 text)") from exc
    split = re.search(r"^[ \t]*MOTION[ \t]*\r?$", text, re.M)
    if not text.lstrip().startswith("HIERARCHY") or split is None:
        raise DataError(f"{path}: not a BVH file (needs HIERARCHY and MOTION sections)")
    tokens, i = text[:split.start()].split()[1:], 0
    depth, names, n_channels, root_seen = 0, set(), 0, False

    def fail(what):
        raise DataError(f"{path}: malformed BVH hierarchy: {what}")

    def numbers(count, where):
        try:
            values = [float(t) for t in tokens[i:i + count]]
        except ValueError:
            fail(f"{where} needs {count} numbers")
        if len(values) != count or not all(math.isfinite(v) and abs(v) < MAX_MOCAP_VALUE for v in values):
            fail(f"{where} needs {count} finite numbers")
        return values

    while i < len(tokens):
        token = tokens[i]
        if token in ("ROOT", "JOINT"):
            if (token == "ROOT") != (depth == 0) or (token == "ROOT" and root_seen) or i + 2 >= len(tokens):
                fail(f"unexpected {token}")
            root_seen = root_seen or token == "ROOT"
            name = tokens[i + 1]
            if name in names or tokens[i + 2] != "{":
                fail(f"joint {name!r} repeated or without '{{'")
            names.add(name)
            current, i, depth = name, i + 3, depth + 1
            is_root = token == "ROOT"
        elif token == "End":
            if depth == 0 or tokens[i + 1:i + 3] != ["Site", "{"]:
                fail("'End' must open 'End Site {'")
            i, depth, current = i + 3, depth + 1, None
        elif token == "OFFSET":
            i += 1
            numbers(3, "OFFSET")
            i += 3
        elif token == "CHANNELS":
            if current is None:
                fail("CHANNELS in an End Site")
            try:
                count = int(tokens[i + 1])
            except (ValueError, IndexError):
                fail(f"joint {current!r}: CHANNELS needs a count")
            listed = []
            while i + 2 + len(listed) < len(tokens) and tokens[i + 2 + len(listed)] in _CHANNELS:
                listed.append(tokens[i + 2 + len(listed)])
            rotations = sorted(c for c in listed if c.endswith("rotation"))
            positions = sorted(c for c in listed if c.endswith("position"))
            if count != len(listed):
                fail(f"joint {current!r}: CHANNELS {count} but {len(listed)} known channel names {listed} "
                     f"(known: {sorted(_CHANNELS)})")
            if rotations != ["Xrotation", "Yrotation", "Zrotation"] or positions not in (
                    [], ["Xposition", "Yposition", "Zposition"]) or (positions and not is_root):
                fail(f"joint {current!r}: channels {listed}: expected X, Y and Z rotations (and X, Y, Z "
                     "positions on the root only)")
            n_channels += count
            i += 2 + count
        elif token == "}":
            depth -= 1
            if depth < 0:
                fail("unbalanced '}'")
            i += 1
        else:
            fail(f"unexpected {token[:30]!r}")
    if depth != 0 or not root_seen:
        fail("unbalanced braces or no ROOT")
    lines = text[split.end():].splitlines()
    lines = [line for line in lines if line.strip()]
    frames_match = re.fullmatch(r"\s*Frames:\s*(\d+)\s*", lines[0]) if lines else None
    time_match = re.fullmatch(r"\s*Frame Time:\s*(\S+)\s*", lines[1]) if len(lines) > 1 else None
    if frames_match is None or time_match is None:
        raise DataError(f"{path}: malformed BVH motion header (needs 'Frames: N' and 'Frame Time: T' lines)")
    n_frames = int(frames_match.group(1))
    try:
        frame_time = float(time_match.group(1))
    except ValueError:
        frame_time = math.nan
    if not (math.isfinite(frame_time) and 1e-4 <= frame_time <= 1.0):
        raise DataError(f"{path}: Frame Time {time_match.group(1)!r}: expected seconds per frame, "
                        "a number in [0.0001, 1]")
    rows = lines[2:]
    if len(rows) != n_frames:
        raise DataError(f"{path}: 'Frames: {n_frames}' but {len(rows)} motion rows (file cut short or extended?)")
    if n_frames < 2:
        raise DataError(f"{path}: {n_frames} frames: needs the T-pose and at least one motion frame")
    counts = [len(row.split()) for row in rows]
    ragged = next((k for k, c in enumerate(counts) if c != n_channels), None)
    if ragged is not None:
        raise DataError(f"{path}: motion row {ragged + 1} has {counts[ragged]} values, the hierarchy declares "
                        f"{n_channels} channels")
    try:
        values = np.array(" ".join(rows).split(), dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric motion values ({str(exc)[:80]})") from exc
    if not np.isfinite(values).all():
        raise DataError(f"{path}: non-finite motion values (NaN or Inf) in row "
                        f"{int(np.argwhere(~np.isfinite(values))[0][0]) // n_channels + 1}")
    if np.abs(values).max() > MAX_MOCAP_VALUE:
        raise DataError(f"{path}: implausible motion values (up to {np.abs(values).max():.3g})")
    return n_frames, frame_time


def read_bvh(path: Path) -> tuple[np.ndarray, float]:
    """One iClone-rig BVH file -> SoMoF joints ``(T - 1, 13, 3)`` in metres (T-pose dropped), and its fps."""
    bvhio = bvhio_module(path)
    check_bvh(path)  # the parser below loops forever on some malformed files: it only sees valid ones
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
