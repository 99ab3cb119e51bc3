import json

import numpy as np
import pytest
import torch

from posepred.data import DataError, cut_windows, load_split, stitch_tracks
from posepred.skeleton import bone_lengths
from posepred.windows import augment, mirror, rotate_about_y, split_windows

from .conftest import write_json


def test_valid_shapes(valid):
    assert valid.observed.shape == (36, 2, 16, 13, 3)
    assert valid.future.shape == (36, 2, 14, 13, 3)
    assert valid.frame_numbers.shape == (36, 16)
    assert valid.sequence_names == ["courtyard_dancing_00", "courtyard_drinking_00", "courtyard_hug_00",
                                    "courtyard_rangeOfMotions_01"]


def test_test_split_has_no_future():
    test = load_split("test")
    assert test.observed.shape == (85, 2, 16, 13, 3) and test.future is None
    assert len(test.sequence_names) == 10
    with pytest.raises(DataError, match="no future"):
        stitch_tracks(test)


def test_data_dir_from_environment(monkeypatch, data_copy):
    monkeypatch.setenv("POSEPRED_DATA", str(data_copy))
    (data_copy / "3dpw_valid_out.json").unlink()
    assert load_split("valid").future is None


def test_valid_stitches_into_four_tracks_per_person(valid):
    tracks = stitch_tracks(valid)
    lengths = {(t.sequence, t.person): len(t.positions) for t in tracks}
    assert len(tracks) == 8
    for person in (0, 1):
        assert [lengths[(s, person)] for s in valid.sequence_names] == [210, 330, 270, 270]
    # the stitched track reproduces the samples exactly
    first = [t for t in tracks if t.sequence == "courtyard_drinking_00" and t.person == 1][0]
    index = valid.sequences.index("courtyard_drinking_00") + 2
    np.testing.assert_array_equal(first.positions[60:76], valid.observed[index, 1])


def test_stitching_splits_where_persons_swap(valid):
    swapped = valid.subset(np.ones(len(valid), bool))
    swapped.observed[5] = swapped.observed[5, ::-1].copy()
    swapped.future[5] = swapped.future[5, ::-1].copy()
    tracks = stitch_tracks(swapped)
    assert len(tracks) > 8
    assert sum(len(t.positions) for t in tracks) == 2 * 30 * 36


def test_stitching_splits_at_a_frame_gap(valid):
    gapped = valid.subset(np.ones(len(valid), bool))
    gapped.frame_numbers[3:] += 2  # sample 3 no longer starts right after sample 2
    assert len(stitch_tracks(gapped)) == 10


def test_windows_and_sequence_selection(valid):
    windows = cut_windows(stitch_tracks(valid))
    assert windows.shape == (2 * (181 + 301 + 241 + 241), 30, 13, 3)
    assert cut_windows(stitch_tracks(valid), stride=30).shape[0] == 72
    held_out = split_windows(valid, exclude=["courtyard_dancing_00"])
    assert len(held_out) == 2 * (301 + 241 + 241)
    assert len(split_windows(valid, include=["courtyard_hug_00"], stride=10)) == 2 * 25
    with pytest.raises(DataError, match="unknown sequences"):
        valid.sample_mask(include=["courtyard_nothing"])
    with pytest.raises(ValueError):
        cut_windows(stitch_tracks(valid), stride=0)


def test_augmentation_keeps_bone_lengths(valid):
    batch = torch.as_tensor(cut_windows(stitch_tracks(valid), stride=15), dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    augmented = augment(batch, generator, rotate=True, mirror_prob=0.5)
    assert not torch.allclose(augmented, batch)
    # mirroring exchanges left and right bones, so compare each pose's set of bone lengths
    torch.testing.assert_close(bone_lengths(augmented).sort(dim=-1).values, bone_lengths(batch).sort(dim=-1).values)
    rotated = augment(batch, generator, rotate=True, mirror_prob=0.0)
    torch.testing.assert_close(bone_lengths(rotated), bone_lengths(batch))


def test_rotation_and_mirror_properties():
    poses = torch.randn(4, 30, 13, 3, dtype=torch.float64)
    quarter = rotate_about_y(poses, torch.full((4,), np.pi / 2, dtype=torch.float64))
    torch.testing.assert_close(quarter[..., 1], poses[..., 1])  # y is untouched
    torch.testing.assert_close(quarter[..., 0], poses[..., 2])  # x' = z for a quarter turn
    torch.testing.assert_close(mirror(mirror(poses)), poses)
    torch.testing.assert_close(mirror(poses)[..., 1, 0], -poses[..., 0, 0])  # right hip = mirrored left hip


# -- one test per kind of bad file ------------------------------------------------------------
def _expect(data_copy, fragment):
    with pytest.raises(DataError) as info:
        load_split("valid", data_copy)
    assert fragment in str(info.value)
    return str(info.value)


def test_missing_file(data_copy):
    (data_copy / "3dpw_valid_in.json").unlink()
    assert "3dpw_valid_in.json: file not found" in _expect(data_copy, "not found")


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        load_split("valid", tmp_path / "nope")


def test_malformed_json(data_copy):
    path = data_copy / "3dpw_valid_out.json"
    path.write_text(path.read_text()[:1000])  # truncated
    assert "3dpw_valid_out.json: malformed JSON" in _expect(data_copy, "malformed JSON")


def test_binary_garbage(data_copy):
    (data_copy / "3dpw_valid_in.json").write_bytes(bytes(range(256)) * 4)
    _expect(data_copy, "3dpw_valid_in.json")


def test_ragged_lists(data_copy):
    path = data_copy / "3dpw_valid_in.json"
    value = json.loads(path.read_text())
    value[3][1][5] = value[3][1][5][:20]
    write_json(path, value)
    _expect(data_copy, "ragged")


def test_non_numeric_entries(data_copy):
    path = data_copy / "3dpw_valid_in.json"
    value = json.loads(path.read_text())
    value[0][0][0][0] = "x"
    write_json(path, value)
    _expect(data_copy, "non-numeric")


def test_wrong_shape(data_copy):
    path = data_copy / "3dpw_valid_out.json"
    value = np.asarray(json.loads(path.read_text()))[:, :, :10]
    write_json(path, value.tolist())
    assert "[36, 2, 10, 39]" in _expect(data_copy, "wrong shape")


def test_empty_list(data_copy):
    write_json(data_copy / "3dpw_valid_in.json", [])
    _expect(data_copy, "empty")


def test_non_finite_values(data_copy):
    path = data_copy / "3dpw_valid_in.json"
    path.write_text(path.read_text().replace("0.20540327716646756", "NaN", 1))
    assert "sample 0" in _expect(data_copy, "non-finite")


def test_counts_differ_between_in_and_out(data_copy):
    path = data_copy / "3dpw_valid_out.json"
    write_json(path, json.loads(path.read_text())[:-1])
    _expect(data_copy, "35 samples but valid_in has 36")


def test_counts_differ_between_in_and_frames(data_copy):
    path = data_copy / "3dpw_valid_frames_in.json"
    write_json(path, json.loads(path.read_text())[:-2])
    _expect(data_copy, "3dpw_valid_frames_in.json: 34 samples")


def test_bad_frame_paths(data_copy):
    path = data_copy / "3dpw_valid_frames_in.json"
    value = json.loads(path.read_text())
    value[2][4] = "not a path"
    write_json(path, value)
    _expect(data_copy, "sample 2 has a path")
    value[2][4] = value[2][3]
    write_json(path, value)
    _expect(data_copy, "not evenly increasing")
