"""SoMoF 3DPW data: load and validate the JSON files, stitch samples into tracks, cut windows.

Shapes (N samples, 2 persons, 13 joints, xyz in metres, y up):

- observed poses ``(N, 2, 16, 13, 3)``, future poses ``(N, 2, 14, 13, 3)`` (None for ``test``),
- frame paths ``N x 16`` strings such as ``courtyard_hug_00/image_00020.jpg``.

Every fault in a file raises :class:`DataError` naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .files import read_regular_file
from .paths import default_data_dir  # noqa: F401  (the data directory is paths' business)
from .skeleton import N_COORDS, N_JOINTS

N_OBSERVED = 16
N_FUTURE = 14
WINDOW = N_OBSERVED + N_FUTURE
MAX_BOUNDARY_STEP = 0.25  # metres, mean joint displacement allowed between stitched samples
# ASCII digits only (\d also matches other scripts' digits, which int() reads), to the very end (no "\n")
_FRAME_PATH = re.compile(r"^(?P<sequence>[^/]+)/image_(?P<frame>[0-9]+)\.jpg\Z")




MAX_JSON_MB = 512  # default cap on an input JSON file; override with $POSEPRED_MAX_JSON_MB
MAX_JSON_MB_LIMIT = 1 << 20  # the largest cap $POSEPRED_MAX_JSON_MB may set: 1 TiB
MAX_COORDINATE = 1e4  # metres: a coordinate farther from the origin is not a person on Earth's surface
_NUMERIC_BYTES = b"[],0123456789.eE+- \t\r\n"
_STRAY = re.compile(rb"NaN|-?Infinity|([^\[\],0-9.eE+\- \t\r\n])")  # NaN/Infinity: reported as non-finite


def max_json_bytes() -> int:
    """The input-size cap in bytes: ``$POSEPRED_MAX_JSON_MB`` megabytes (at most
    :data:`MAX_JSON_MB_LIMIT`), default :data:`MAX_JSON_MB`."""
    text = os.environ.get("POSEPRED_MAX_JSON_MB")
    if text is None:
        return MAX_JSON_MB << 20
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and 0 < megabytes <= MAX_JSON_MB_LIMIT):
        raise DataError(f"POSEPRED_MAX_JSON_MB={text!r}: expected a positive number of megabytes, at most "
                        f"{MAX_JSON_MB_LIMIT}")
    return int(megabytes * (1 << 20))


@contextmanager
def _faults_named(path: Path, messages: dict):
    """Turn the exceptions listed in ``messages`` (type -> function of the exception giving the text;
    the first matching type wins) into one-line DataErrors naming ``path``."""
    try:
        yield
    except DataError:
        raise
    except tuple(messages) as exc:
        text = next(describe(exc) for kind, describe in messages.items() if isinstance(exc, kind))
        raise DataError(f"{path}: {text}") from exc


def read_bytes(path: Path, cap: int | None = None, what: str = "input JSON") -> bytes:
    """A data file's bytes (:func:`posepred.files.read_regular_file`, symlinks to regular files
    allowed): within ``cap`` bytes, default :func:`max_json_bytes`; ``what`` names the files the cap is for."""
    limit = max_json_bytes() if cap is None else cap
    too_large = (f"larger than the {limit / (1 << 20):.0f} MB cap on {what}"
                 + (" (raise it with POSEPRED_MAX_JSON_MB)" if cap is None else ""))
    return read_regular_file(path, limit, DataError, follow_symlinks=True, too_large=too_large)


def parse_json(path: Path, data: bytes):
    """Strict JSON (NaN and Infinity are not JSON) with one-line DataErrors naming ``path``."""
    with _faults_named(path, {
            UnicodeDecodeError: lambda exc: "not UTF-8 text (binary or corrupted file)",
            json.JSONDecodeError: lambda exc: f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            MemoryError: lambda exc: "not enough memory to parse it (lower POSEPRED_MAX_JSON_MB?)",
            RecursionError: lambda exc: "unreadable JSON (nested too deeply)",
            ValueError: lambda exc: f"unreadable JSON ({exc})"}):
        return json.loads(data.decode("utf-8"))


def read_json(path: Path):
    return parse_json(path, read_bytes(path))


def _read_poses(path: Path, n_frames: int) -> np.ndarray:
    """Read ``[N][2][n_frames][39]`` poses as float64 ``(N, 2, n_frames, 13, 3)``.

    Only nested lists of JSON numbers are accepted (checked on the raw text, so a string
    ``"1.5"``, ``true``, ``null`` or ``NaN`` is an error, not a coordinate); every coordinate
    must be finite and within :data:`MAX_COORDINATE` metres.
    """
    data = read_bytes(path)
    expected = f"[N][2][{n_frames}][{N_COORDS}]"
    if data.translate(None, _NUMERIC_BYTES):  # fast: anything but digits and brackets left? then look closer
        stray = next((m for m in _STRAY.finditer(data) if m.group(1) is not None), None)
        if stray is not None:
            line = data.count(b"\n", 0, stray.start()) + 1
            token = re.match(rb'"[^"]{0,20}"?|[A-Za-z_]{1,12}|.', data[stray.start():], re.S).group()
            raise DataError(f"{path}: non-numeric entry {token.decode('utf-8', 'replace')!r} at line {line} (not a "
                            f"JSON number); expected {expected} numbers")
    raw = parse_json(path, data)
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{path}: expected a non-empty list shaped {expected}, got {type(raw).__name__}"
                        + (" (empty)" if isinstance(raw, list) else ""))
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{path}: ragged or non-numeric entries, expected {expected} numbers") from exc
    except MemoryError as exc:
        raise DataError(f"{path}: not enough memory for its poses") from exc
    if array.ndim != 4 or array.shape[1:] != (2, n_frames, N_COORDS):
        raise DataError(f"{path}: wrong shape {list(array.shape)}, expected {expected}")
    return _checked_poses(path, array.reshape(len(array), 2, n_frames, N_JOINTS, 3), n_frames)


def _checked_poses(source, poses, n_frames: int) -> np.ndarray:
    """``poses`` as float64 ``(N, 2, n_frames, 13, 3)``: finite and within :data:`MAX_COORDINATE`
    metres; a DataError naming ``source`` otherwise."""
    try:
        array = np.asarray(poses, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: not an array of numbers") from exc
    if array.ndim != 5 or array.shape[1:] != (2, n_frames, N_JOINTS, 3) or not len(array):
        raise DataError(f"{source}: shaped {list(array.shape)}, expected [N, 2, {n_frames}, {N_JOINTS}, 3]")
    bad = ~np.isfinite(array)
    if bad.any():
        sample = int(np.argwhere(bad)[0][0])
        raise DataError(f"{source}: {int(bad.sum())} non-finite values (NaN or Inf), first in sample {sample}")
    far = np.abs(array) > MAX_COORDINATE
    if far.any():
        sample = int(np.argwhere(far)[0][0])
        raise DataError(f"{source}: implausible coordinates ({int(far.sum())} beyond {MAX_COORDINATE:g} m, largest "
                        f"{np.abs(array).max():.3g} m), first in sample {sample}")
    return array


def _read_frame_paths(path: Path) -> tuple[list[str], np.ndarray]:
    """Read ``[N][16]`` frame paths; returns each sample's sequence and image numbers ``(N, 16)``."""
    raw = read_json(path)
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{path}: expected a non-empty list shaped [N][{N_OBSERVED}] of image paths")
    sequences, numbers = [], []
    for i, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != N_OBSERVED:
            raise DataError(f"{path}: sample {i} should list {N_OBSERVED} image paths")
        matches = [_FRAME_PATH.match(p) if isinstance(p, str) else None for p in row]
        if not all(matches):
            raise DataError(f"{path}: sample {i} has a path not shaped 'sequence/image_00020.jpg'")
        names = {m["sequence"] for m in matches}
        if len(names) != 1:
            raise DataError(f"{path}: sample {i} mixes sequences {sorted(names)}")
        if names & {"", ".", ".."}:  # a sequence name becomes a folder name (cv --save-folds DIR/folds/<sequence>)
            raise DataError(f"{path}: sample {i} has the sequence name {names.pop()!r} "
                            "(a sequence may not be named '.' or '..')")
        digits = max((m["frame"].lstrip("0") for m in matches), key=len)
        if len(digits) > 9:  # never int() thousands of digits (Python refuses beyond 4300)
            raise DataError(f"{path}: sample {i} has an implausible image number {digits[:20]}"
                            + ("..." if len(digits) > 20 else ""))
        frames = [int(m["frame"]) for m in matches]
        steps = set(np.diff(frames).tolist())
        if len(steps) != 1 or steps.pop() <= 0:
            raise DataError(f"{path}: sample {i} frame numbers are not evenly increasing: {frames}")
        sequences.append(names.pop())
        numbers.append(frames)
    return sequences, np.asarray(numbers, dtype=np.int64)


@dataclass
class Scenes:
    """Scenes of two people: a SoMoF split (:func:`load_split`), or your own data
    (:meth:`from_arrays`, :meth:`load_npz`). ``future`` is None when the ground truth is hidden (test).
    ``frame_numbers`` say which samples continue each other (:func:`stitch_tracks`)."""

    name: str
    observed: np.ndarray  # (N, 2, 16, 13, 3) float64
    future: np.ndarray | None  # (N, 2, 14, 13, 3) float64
    sequences: list[str]  # sequence name of each sample
    frame_numbers: np.ndarray  # (N, 16) image numbers of the observed frames

    def __len__(self) -> int:
        return len(self.observed)

    def fingerprint(self, names: bool = True) -> str:
        """sha256 of the poses (and the sequence names): which data a result came from."""
        digest = hashlib.sha256()
        for array in (self.observed, self.future if self.future is not None else np.zeros(0)):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        if names:
            digest.update("\n".join(self.sequences).encode())
        return digest.hexdigest()

    def sequence_fingerprints(self) -> dict[str, str]:
        """Each sequence's poses as a sha256, without its name: a renamed copy has the same one."""
        return {s: self.subset(self.sample_mask(include=[s])).fingerprint(names=False) for s in self.sequence_names}

    @classmethod
    def from_arrays(cls, name: str, observed, future, sequences, frame_numbers=None) -> Scenes:
        """Your own data: ``observed (N, 2, 16, 13, 3)`` and ``future (N, 2, 14, 13, 3)`` (or None) in
        metres, y up, the SoMoF joint order; ``sequences`` names each sample's sequence (cross-validation
        holds out one sequence at a time). Without ``frame_numbers (N, 16)`` every sample is its own
        track. Checked like the SoMoF files: shapes, finite, plausible, names."""
        check_split_name(name)
        observed = _checked_poses(f"{name}: observed", observed, N_OBSERVED)
        future = None if future is None else _checked_poses(f"{name}: future", future, N_FUTURE)
        sequences = [str(s) for s in sequences]
        if len(sequences) != len(observed) or (future is not None and len(future) != len(observed)):
            raise DataError(f"{name}: {len(observed)} observed, {None if future is None else len(future)} future "
                            f"and {len(sequences)} sequence names: expected one of each per sample")
        for sequence in set(sequences):
            check_split_name(sequence)  # a sequence name becomes a folder name (cv --save-folds)
        if frame_numbers is None:  # each sample a track of its own: far apart in a sequence of its own
            frame_numbers = (np.arange(len(observed))[:, None] * 10 * WINDOW + np.arange(N_OBSERVED)) * 2
        try:
            frame_numbers = np.asarray(frame_numbers, dtype=np.int64)
        except (ValueError, TypeError, OverflowError):
            raise DataError(f"{name}: frame_numbers are not whole numbers") from None
        if frame_numbers.shape != (len(observed), N_OBSERVED):
            raise DataError(f"{name}: frame_numbers shaped {list(frame_numbers.shape)}, expected "
                            f"[{len(observed)}, {N_OBSERVED}] (the image number of each observed frame)")
        return cls(name, observed, future, sequences, frame_numbers)

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> Scenes:
        """:meth:`from_arrays` from an ``.npz`` holding ``observed``, ``sequences`` and optionally
        ``future`` and ``frame_numbers``; the scenes are named after the file."""
        path = Path(path)
        data = read_bytes(path)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                unpacked = sum(info.file_size for info in npz.zip.infolist())
                if unpacked > max_json_bytes():  # the cap holds for what it unpacks to, not just the file
                    raise DataError(f"{path}: unpacks to {unpacked / (1 << 20):.0f} MB, more than the "
                                    f"{max_json_bytes() / (1 << 20):.0f} MB cap (raise it with POSEPRED_MAX_JSON_MB)")
                arrays = {k: npz[k] for k in ("observed", "future", "sequences", "frame_numbers") if k in npz}
        except DataError:
            raise
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, MemoryError) as exc:
            raise DataError(f"{path}: not a readable .npz of arrays ({type(exc).__name__})") from None
        missing = [k for k in ("observed", "sequences") if k not in arrays]
        if missing:
            raise DataError(f"{path}: missing arrays {missing} (needs observed, sequences; optionally future, "
                            "frame_numbers)")
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem)[:64] or "scenes"
        try:
            return cls.from_arrays(name, arrays["observed"], arrays.get("future"), arrays["sequences"].tolist(),
                                   arrays.get("frame_numbers"))
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None

    @property
    def sequence_names(self) -> list[str]:
        """Sequence names in order of first appearance."""
        return list(dict.fromkeys(self.sequences))

    def sample_mask(self, include=None, exclude=None) -> np.ndarray:
        """Boolean mask over samples: sequences in ``include`` (all if None), minus ``exclude``."""
        known = set(self.sequences)
        for names in (include, exclude):
            unknown = sorted(set(names or ()) - known)
            if unknown:
                raise DataError(f"split '{self.name}': unknown sequences {unknown}; known: {sorted(known)}")
        keep = np.array([include is None or s in include for s in self.sequences])
        return keep & np.array([s not in (exclude or ()) for s in self.sequences])

    def subset(self, mask: np.ndarray) -> Scenes:
        """The samples where ``mask`` is true, order kept."""
        return Scenes(self.name, self.observed[mask],
                          None if self.future is None else self.future[mask],
                          [s for s, m in zip(self.sequences, mask) if m], self.frame_numbers[mask])


def available_splits(data_dir: str | os.PathLike) -> list[str]:
    """Names of the splits in ``data_dir`` (those with a ``3dpw_{split}_in.json``)."""
    return sorted(p.name[len("3dpw_"):-len("_in.json")] for p in Path(data_dir).glob("3dpw_*_in.json")
                  if not p.name.endswith("_frames_in.json"))


def check_split_name(split) -> str:
    """A split name is 1 to 64 letters, digits, '_', '.' or '-' (never a path); DataError otherwise."""
    if not isinstance(split, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", split) or split in (".", ".."):
        raise DataError(f"{str(split)[:80]!r}: not a split name (1 to 64 letters, digits, '_', '.', '-')")
    return split


def load_split(split: str, data_dir: str | os.PathLike | None = None) -> Scenes:
    """Load ``3dpw_{split}_in.json``, ``_out.json`` (if present) and ``_frames_in.json``."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if not _exists(root, "data directory") or not root.is_dir():
        raise DataError(f"{root}: data directory not found (pass --data DIR or set POSEPRED_DATA)")
    check_split_name(split)
    in_path = root / f"3dpw_{split}_in.json"
    if not _exists(in_path):
        available = available_splits(root)
        raise DataError(f"{in_path}: file not found: no split '{split}' in {root}; available splits: "
                        + (", ".join(available) if available else "none"))
    observed = _read_poses(in_path, N_OBSERVED)
    out_path = root / f"3dpw_{split}_out.json"
    future = _read_poses(out_path, N_FUTURE) if _exists(out_path) else None
    frames_path = root / f"3dpw_{split}_frames_in.json"
    sequences, numbers = _read_frame_paths(frames_path)
    if future is not None and len(future) != len(observed):
        raise DataError(f"{out_path}: {len(future)} samples but {split}_in has {len(observed)}")
    if len(sequences) != len(observed):
        raise DataError(f"{frames_path}: {len(sequences)} samples but {split}_in has {len(observed)}")
    return Scenes(split, observed, future, sequences, numbers)


def _exists(path: Path, what: str = "file") -> bool:
    """Whether ``path`` exists (a symlink to nothing does not); a lookup that fails for another
    reason (permission denied, a name too long, a symlink loop) is a DataError naming ``path``."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise DataError(f"{path}: cannot look up this {what} ({exc.strerror or type(exc).__name__})") from None
    return True


@dataclass
class Track:
    """A continuous stretch of one person: ``positions`` is ``(frames, 13, 3)`` at 15 Hz."""

    sequence: str
    person: int
    first_image: int
    positions: np.ndarray


def stitch_tracks(split: Scenes, max_step: float = MAX_BOUNDARY_STEP) -> list[Track]:
    """Join consecutive samples of each sequence into one track per person.

    Sample k+1 continues sample k when its first image follows the last future image at the same
    frame step and the pose jump across the boundary (mean joint displacement) is at most
    ``max_step`` metres; otherwise the track is split there.
    """
    if split.future is None:
        raise DataError(f"split '{split.name}' has no future poses: nothing to stitch")
    if len(split) == 0:
        return []
    full = np.concatenate([split.observed, split.future], axis=2)  # (N, 2, 30, 13, 3)
    steps = split.frame_numbers[:, 1] - split.frame_numbers[:, 0]
    tracks: list[Track] = []
    for person in range(full.shape[1]):
        current: list[np.ndarray] = []
        start = 0
        for i in range(len(split)):
            continues = (
                current and split.sequences[i] == split.sequences[i - 1]
                and steps[i] == steps[i - 1]
                and split.frame_numbers[i, 0] == split.frame_numbers[i - 1, 0] + WINDOW * steps[i]
                and np.linalg.norm(full[i, person, 0] - full[i - 1, person, -1], axis=-1).mean() <= max_step
            )
            if not continues:
                if current:
                    tracks.append(Track(split.sequences[start], person, int(split.frame_numbers[start, 0]),
                                        np.concatenate(current)))
                current, start = [], i
            current.append(full[i, person])
        tracks.append(Track(split.sequences[start], person, int(split.frame_numbers[start, 0]),
                            np.concatenate(current)))
    return sorted(tracks, key=lambda t: (t.sequence, t.first_image, t.person))


def cut_windows(tracks: list[Track], length: int = WINDOW, stride: int = 1) -> np.ndarray:
    """Every ``length``-frame window of every track, ``stride`` frames apart: ``(W, length, 13, 3)``."""
    if stride < 1 or length < 2:
        raise ValueError(f"need stride >= 1 and length >= 2, got stride={stride}, length={length}")
    pieces = [t.positions[s:s + length] for t in tracks
              for s in range(0, len(t.positions) - length + 1, stride)]
    if not pieces:
        return np.zeros((0, length, N_JOINTS, 3))
    return np.stack(pieces)
