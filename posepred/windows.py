"""Training windows cut by index at batch time, so memory grows with frames, not with windows.

A :class:`WindowSet` stores every clip's frames once, contiguously, in float32 (``frames``,
``(F, 13, 3)``), and describes each 30-frame window by three integers: where it starts in
``frames``, the frame ``step`` (1 for SoMoF's 15 Hz tracks, 2 for 30 Hz motion capture cut at
15 Hz) and where the window of the *other person* of the scene starts (``-1`` when there is
none, as in single-person motion capture). A batch gathers its windows with one indexing op:

    windows = WindowSet.from_tracks(stitch_tracks(split))       # SoMoF: persons paired by frame
    person, partner, has_partner = windows.gather(torch.arange(8))  # (8, 30, 13, 3) x 2, (8,)

250,000 windows of 30 frames cost 6 MB of indices on top of the frames, instead of
250,000 x 30 x 39 numbers when every window is materialised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .data import N_OBSERVED, WINDOW, Scenes, Track, stitch_tracks
from .errors import DataError
from .skeleton import N_JOINTS, mirror_permutation


@dataclass
class WindowSet:
    """Windows as indices into one frame tensor; see the module docstring."""

    frames: torch.Tensor  # (F, 13, 3) float32, every clip once
    starts: torch.Tensor  # (W,) int64: first frame of each window in ``frames``
    steps: torch.Tensor  # (W,) int64: frame step inside the window
    partners: torch.Tensor  # (W,) int64: first frame of the other person's window, -1 if none
    length: int = WINDOW

    def __post_init__(self):
        if not (len(self.starts) == len(self.steps) == len(self.partners)):
            raise ValueError("starts, steps and partners must have one entry per window")
        if len(self.starts):
            last = self.starts + self.steps * (self.length - 1)
            own_ok = (self.starts >= 0) & (last < len(self.frames))
            has = self.partners >= 0
            partner_last = self.partners + self.steps * (self.length - 1)
            if not bool(own_ok.all()) or bool((has & (partner_last >= len(self.frames))).any()):
                raise ValueError("a window reaches outside the frame tensor")

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def n_paired(self) -> int:
        """How many windows have the other person of their scene."""
        return int((self.partners >= 0).sum())

    def gather(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Windows ``index (B,)`` -> person ``(B, 30, 13, 3)``, partner ``(B, 30, 13, 3)`` (zeros where
        there is none) and ``has_partner (B,)`` booleans."""
        offsets = self.steps[index, None] * torch.arange(self.length)
        person = self.frames[self.starts[index, None] + offsets]
        partner_start = self.partners[index]
        has_partner = partner_start >= 0
        partner = self.frames[partner_start.clamp(min=0)[:, None] + offsets]
        partner = partner * has_partner.view(-1, 1, 1, 1).to(partner.dtype)
        return person, partner, has_partner

    def materialise(self) -> np.ndarray:
        """Every person window as one array ``(W, 30, 13, 3)`` (small sets only: notebooks, tests)."""
        return self.gather(torch.arange(len(self)))[0].double().numpy()

    def __array__(self, dtype=None, copy=None):
        array = self.materialise()
        return array if dtype is None else array.astype(dtype)

    @classmethod
    def from_arrays(cls, windows) -> WindowSet:
        """Materialised windows ``(W, L, 13, 3)`` (no partners) as a WindowSet."""
        windows = torch.as_tensor(np.asarray(windows), dtype=torch.float32)
        if windows.ndim != 4 or windows.shape[2:] != (N_JOINTS, 3):
            raise DataError(f"training windows shaped {list(windows.shape)}, expected (W, frames, 13, 3)")
        count, length = windows.shape[:2]
        return cls(windows.reshape(-1, N_JOINTS, 3), torch.arange(count) * length,
                   torch.ones(count, dtype=torch.long), torch.full((count,), -1, dtype=torch.long), length)

    @classmethod
    def from_clips(cls, clips: list[np.ndarray], step: int = 1, stride: int = 1, phases: bool = True) -> WindowSet:
        """Single-person clips ``(T, 13, 3)``: windows every ``stride`` frames (in window frames), taking
        every ``step``-th frame, from each of the ``step`` phases when ``phases``."""
        if stride < 1 or step < 1:
            raise ValueError(f"need stride >= 1 and step >= 1, got stride={stride}, step={step}")
        frames = torch.as_tensor(np.concatenate(clips) if clips else np.zeros((0, N_JOINTS, 3)), dtype=torch.float32)
        starts, offset = [], 0
        for clip in clips:
            for phase in range(step if phases else 1):
                usable = (len(clip) - phase + step - 1) // step  # frames of this phase
                starts.append(offset + phase + step * np.arange(0, max(usable - WINDOW + 1, 0), stride))
            offset += len(clip)
        starts = torch.as_tensor(np.concatenate(starts) if starts else np.zeros(0), dtype=torch.long)
        return cls(frames, starts, torch.full_like(starts, step), torch.full_like(starts, -1))

    @classmethod
    def from_tracks(cls, tracks: list[Track], stride: int = 1) -> WindowSet:
        """SoMoF tracks (15 Hz, one per person and continuous stretch): every window of every track,
        ``stride`` frames apart, paired with the other person's window over the same frames when
        the other person's track covers them."""
        if stride < 1:
            raise ValueError(f"need stride >= 1, got stride={stride}")
        clips = [t.positions for t in tracks]
        offsets = np.cumsum([0] + [len(c) for c in clips])
        # which frame of ``frames`` shows person p of a sequence at a given image number
        where: dict[tuple[str, int, int], tuple[int, int]] = {}  # -> (track number, frame in ``frames``)
        image_step = 2  # SoMoF keeps every second image of the 30 fps video
        for number, (track, offset) in enumerate(zip(tracks, offsets)):
            for i in range(len(track.positions)):
                where[(track.sequence, track.person, track.first_image + image_step * i)] = number, offset + i
        starts, partners = [], []
        for track, offset in zip(tracks, offsets):
            for s in range(0, len(track.positions) - WINDOW + 1, stride):
                image = track.first_image + image_step * s
                first = where.get((track.sequence, 1 - track.person, image))
                last = where.get((track.sequence, 1 - track.person, image + image_step * (WINDOW - 1)))
                paired = first is not None and last is not None and first[0] == last[0]  # one unbroken track
                starts.append(offset + s)
                partners.append(first[1] if paired else -1)
        frames = torch.as_tensor(np.concatenate(clips) if clips else np.zeros((0, N_JOINTS, 3)), dtype=torch.float32)
        starts = torch.as_tensor(starts, dtype=torch.long)
        return cls(frames, starts, torch.ones_like(starts), torch.as_tensor(partners, dtype=torch.long))

    @classmethod
    def concat(cls, sets: list[WindowSet]) -> WindowSet:
        """One set holding the windows of several (for example several motion-capture corpora)."""
        if not sets:
            raise ValueError("nothing to concatenate")
        shift = np.cumsum([0] + [len(s.frames) for s in sets[:-1]])
        return cls(torch.cat([s.frames for s in sets]),
                   torch.cat([s.starts + int(k) for s, k in zip(sets, shift)]),
                   torch.cat([s.steps for s in sets]),
                   torch.cat([torch.where(s.partners >= 0, s.partners + int(k), s.partners)
                              for s, k in zip(sets, shift)]))


def as_window_set(windows) -> WindowSet:
    """A WindowSet as it is, or materialised windows ``(W, 30, 13, 3)`` converted."""
    return windows if isinstance(windows, WindowSet) else WindowSet.from_arrays(windows)


def split_windows(split: Scenes, include=None, exclude=None, stride: int = 1):
    """Training windows of the selected sequences of ``split``, persons paired by frame: a
    :class:`WindowSet` (``np.asarray`` of it gives ``(W, 30, 13, 3)``)."""
    return WindowSet.from_tracks(stitch_tracks(split.subset(split.sample_mask(include, exclude))), stride)


def rotate_about_y(positions: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each item about the vertical axis: ``(B, ..., 3)`` by ``angles (B,)`` radians."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    zero, one = torch.zeros_like(angles), torch.ones_like(angles)
    rotation = torch.stack([cos, zero, sin, zero, one, zero, -sin, zero, cos], dim=-1).view(-1, 3, 3)
    flat = positions.reshape(len(positions), -1, 3)
    return (flat @ rotation.transpose(1, 2)).reshape(positions.shape)


def mirror(positions: torch.Tensor) -> torch.Tensor:
    """Swap left and right: negate x and exchange the mirror-pair joints, ``(..., 13, 3)``."""
    flipped = positions[..., mirror_permutation(), :].clone()
    flipped[..., 0] = -flipped[..., 0]
    return flipped


def augment(batch: torch.Tensor, generator: torch.Generator, rotate: bool = True,
            mirror_prob: float = 0.5) -> torch.Tensor:
    """Random y-rotation (uniform angle) and random mirroring of a batch ``(B, F, 13, 3)``.

    Both keep every bone length; random numbers come from ``generator`` (on the CPU).
    """
    if rotate:
        angles = torch.rand(len(batch), generator=generator) * (2 * math.pi)
        batch = rotate_about_y(batch, angles.to(batch.device, batch.dtype))
    if mirror_prob > 0:
        flip = (torch.rand(len(batch), generator=generator) < mirror_prob).to(batch.device)
        batch = torch.where(flip.view(-1, 1, 1, 1), mirror(batch), batch)
    return batch


@dataclass
class Batch:
    """Person sequences: ``observed (B, 16, 13, 3)``, ``future (B, 14, 13, 3)``, the other person of
    the scene ``partner (B, 16, 13, 3)`` and ``has_partner (B,)`` (False where there is none)."""

    observed: torch.Tensor
    future: torch.Tensor
    partner: torch.Tensor | None = None
    has_partner: torch.Tensor | None = None


def scene_batch(observed, future, device="cpu", dtype=torch.float32) -> Batch:
    """Scenes ``(N, 2, 16, 13, 3)``, ``(N, 2, F, 13, 3)`` as a batch of ``2N`` persons, each with its partner."""
    observed, future = (torch.as_tensor(np.asarray(a), dtype=dtype, device=device) for a in (observed, future))
    return Batch(observed.flatten(0, 1), future.flatten(0, 1), observed[:, [1, 0]].flatten(0, 1))


def window_batch(windows: WindowSet, index: torch.Tensor, device="cpu", dtype=torch.float32,
                 generator: torch.Generator | None = None, rotate: bool = False, mirror_prob: float = 0.0) -> Batch:
    """The windows ``index (B,)`` as a batch, cut by index and augmented on the fly (each person and
    partner rotated and mirrored together, random numbers from ``generator``)."""
    person, partner, has_partner = windows.gather(index)
    both = torch.stack([person, partner], dim=1).to(device, dtype, non_blocking=True)
    if rotate or mirror_prob > 0:
        both = augment(both.flatten(1, 2), generator, rotate, mirror_prob).unflatten(1, (2, -1))
    return Batch(both[:, 0, :N_OBSERVED], both[:, 0, N_OBSERVED:], both[:, 1, :N_OBSERVED], has_partner.to(device))
