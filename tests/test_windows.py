import numpy as np
import pytest
import torch

from posepred.data import cut_windows, stitch_tracks
from posepred.errors import DataError
from posepred.mocap import load_corpus_clips, load_corpus_windows
from posepred.windows import WindowSet, as_window_set


def test_somof_windows_match_materialised_windows_and_pair_the_two_people(valid):
    windows = WindowSet.from_tracks(stitch_tracks(valid))
    np.testing.assert_allclose(np.asarray(windows), cut_windows(stitch_tracks(valid)), atol=1e-6)
    assert windows.frames.dtype == torch.float32 and windows.n_paired == len(windows) == 1928
    # every window at a sample boundary is sample k's person p, and its partner is person 1 - p of sample k
    full = np.concatenate([valid.observed, valid.future], axis=2)
    person, partner, has = WindowSet.from_tracks(stitch_tracks(valid), stride=30).gather(torch.arange(72))
    assert has.all()
    for a, b in zip(person.double().numpy(), partner.double().numpy()):
        distance = np.abs(full - a[None, None]).max(axis=(2, 3, 4))
        sample, who = np.unravel_index(distance.argmin(), distance.shape)
        assert distance.min() < 1e-5 and np.abs(full[sample, 1 - who] - b).max() < 1e-5


def test_a_person_whose_track_breaks_has_no_partner_there(valid):
    broken = valid.subset(valid.sample_mask(include=["courtyard_hug_00"]))
    broken.future = broken.future.copy()
    broken.future[3, 1] += 2.0  # person 1 jumps 2 m at sample 3: their track splits, person 0's does not
    windows = WindowSet.from_tracks(stitch_tracks(broken))
    _, partner, has = windows.gather(torch.arange(len(windows)))
    assert 0 < int(has.sum()) < len(windows)
    assert torch.all(partner[~has] == 0)


def test_corpus_windows_cut_by_index_equal_the_old_materialised_cut():
    clips, _ = load_corpus_clips()
    old = np.stack([clip[phase::2][s:s + 30] for clip in clips for phase in range(2)
                    for s in range(0, len(clip[phase::2]) - 30 + 1, 7)])
    windows = load_corpus_windows(stride=7)
    np.testing.assert_array_equal(np.asarray(windows), old.astype(np.float32).astype(np.float64))
    assert windows.n_paired == 0
    # several corpora: frames stored once per corpus, windows indexed into the concatenation
    twice = load_corpus_windows([None, None], stride=7)
    assert len(twice) == 2 * len(windows) and len(twice.frames) == 2 * len(windows.frames)
    np.testing.assert_array_equal(np.asarray(twice)[len(windows):], np.asarray(windows))


def test_window_sets_from_arrays_and_bad_input():
    arrays = np.random.default_rng(0).normal(size=(5, 30, 13, 3))
    windows = as_window_set(arrays)
    assert as_window_set(windows) is windows
    np.testing.assert_allclose(np.asarray(windows), arrays, atol=1e-6)
    with pytest.raises(DataError, match="expected"):
        WindowSet.from_arrays(np.zeros((5, 30, 12, 3)))
    with pytest.raises(ValueError, match="outside"):
        WindowSet(windows.frames, torch.tensor([149]), torch.tensor([1]), torch.tensor([-1]))
    with pytest.raises(ValueError, match="stride"):
        WindowSet.from_clips([arrays[0]], stride=0)
