import contextlib
import json
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from posepred.data import default_data_dir, load_split

DATA = default_data_dir()


@pytest.fixture(scope="session")
def valid():
    return load_split("valid", DATA)


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the shipped data directory."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value))


def synthetic_split(directory: Path, split: str, n_samples: int = 6, sequence: str = "courtyard_synth_00",
                    seed: int = 0) -> None:
    """Write a smooth synthetic split (walking people) in the SoMoF file format."""
    rng = np.random.default_rng(seed)
    base = np.asarray(json.loads((DATA / "3dpw_valid_in.json").read_text()))[0, :, 0].reshape(2, 13, 3)
    frames = n_samples * 30
    t = np.arange(frames)[:, None, None]
    tracks = []
    for person in range(2):
        velocity = rng.normal(0, 0.02, size=3) * np.array([1, 0, 1])
        sway = 0.03 * np.sin(t / 5.0 + person) * rng.normal(size=(1, 13, 3))
        tracks.append(base[person][None] + t * velocity + sway)
    tracks = np.stack(tracks)  # (2, frames, 13, 3)
    samples = tracks.reshape(2, n_samples, 30, 39).transpose(1, 0, 2, 3)
    write_json(directory / f"3dpw_{split}_in.json", samples[:, :, :16].tolist())
    write_json(directory / f"3dpw_{split}_out.json", samples[:, :, 16:].tolist())
    paths = [[f"{sequence}/image_{20 + 60 * k + 2 * i:05d}.jpg" for i in range(16)] for k in range(n_samples)]
    write_json(directory / f"3dpw_{split}_frames_in.json", paths)


@contextlib.contextmanager
def deadline(seconds=10):
    """Fail instead of hanging (a blocked open() or a Python-level loop gets the alarm)."""
    def expired(*_):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
