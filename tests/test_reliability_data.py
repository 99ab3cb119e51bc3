"""Data files an adversary might hand the loader: every one a one-line DataError naming the file."""

import json
import re
import shutil
import time

import numpy as np
import pytest

from posepred.cli import main
from posepred.data import DataError, available_splits, load_split

from .conftest import DATA

NAMES = ("3dpw_valid_in.json", "3dpw_valid_out.json", "3dpw_valid_frames_in.json")


@pytest.fixture
def data(tmp_path):
    for name in NAMES:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _with_coordinate(data, text, name="3dpw_valid_in.json"):
    """Replace the first coordinate of ``name`` by the raw JSON ``text``."""
    raw = (data / name).read_text()
    start = raw.index("[[[[") + 4
    end = raw.index(",", start)
    (data / name).write_text(raw[:start] + text + raw[end:])


@pytest.mark.parametrize("text, fragment", [
    ('"1.5"', "non-numeric entry '\"1.5\"' at line 1"),
    ("true", "non-numeric entry 'true' at line 1"),
    ("false", "non-numeric entry 'false'"),
    ("null", "non-numeric entry 'null'"),
    ('{"x": 1}', "non-numeric entry '{'"),
    ("NaN", "non-finite values (NaN or Inf), first in sample 0"),
    ("Infinity", "non-finite values"),
    ("-Infinity", "non-finite values"),
    ("1e308", "implausible coordinates"),
    ("-20000.0", "implausible coordinates"),
    ("1e400", "non-finite values"),
    ("1.5.5", "malformed JSON"),
    ("--1", "malformed JSON"),
    ("[1.0]", "ragged or non-numeric"),
])
def test_coordinates_must_be_plausible_json_numbers(data, text, fragment):
    _with_coordinate(data, text)
    with pytest.raises(DataError, match="3dpw_valid_in.json") as info:
        load_split("valid", data)
    assert fragment in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_future_file_checked_the_same_way(data):
    _with_coordinate(data, '"0.1"', "3dpw_valid_out.json")
    with pytest.raises(DataError, match="3dpw_valid_out.json: non-numeric entry"):
        load_split("valid", data)


def test_cli_on_huge_coordinates_is_an_error_not_a_table_of_inf(data, capsys):
    _with_coordinate(data, "1e308")
    assert main(["evaluate", "--data", str(data), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "implausible" in captured.err and "Infinity" not in captured.out


def test_unknown_split_lists_the_available_ones(data):
    shutil.copy(DATA / "3dpw_test_in.json", data / "3dpw_test_in.json")
    with pytest.raises(DataError, match=r"no split 'nope' .*available splits: test, valid"):
        load_split("nope", data)
    assert available_splits(data) == ["test", "valid"]
    (data / "3dpw_valid_in.json").unlink()
    (data / "3dpw_test_in.json").unlink()
    with pytest.raises(DataError, match="available splits: none"):
        load_split("valid", data)


@pytest.mark.parametrize("name", ["../valid", "a/b", "", "..", "valid\x00"])
def test_split_names_cannot_escape_the_data_directory(data, name):
    with pytest.raises(DataError, match="not a split name"):
        load_split(name, data)


def test_size_cap_gives_one_line_error(data, monkeypatch):
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", "0.01")  # 10 kB: the valid files are larger
    with pytest.raises(DataError, match=r"3dpw_valid_in.json: .*cap on input JSON \(raise it with POSEPRED_MAX"):
        load_split("valid", data)
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", "100")
    assert len(load_split("valid", data)) == 36


@pytest.mark.parametrize("value", ["lots", "-1", "0", "nan", "inf"])
def test_size_cap_variable_must_be_a_positive_number(data, monkeypatch, value):
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", value)
    with pytest.raises(DataError, match="POSEPRED_MAX_JSON_MB"):
        load_split("valid", data)


def test_memory_error_while_parsing_is_a_data_error(data, monkeypatch):
    import posepred.data as module

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(module.json, "loads", exhausted)
    with pytest.raises(DataError, match="3dpw_valid_in.json: not enough memory"):
        load_split("valid", data)


def test_frame_paths_must_be_strings(data):
    paths = json.loads((data / "3dpw_valid_frames_in.json").read_text())
    paths[0][0] = 20
    (data / "3dpw_valid_frames_in.json").write_text(json.dumps(paths))
    with pytest.raises(DataError, match="3dpw_valid_frames_in.json: sample 0"):
        load_split("valid", data)


def test_strict_checks_keep_loading_fast(tmp_path):
    """The numeric check runs on the raw bytes: loading costs at most a little more than parsing."""
    rng = np.random.default_rng(0)
    poses = np.round(rng.normal(size=(1000, 2, 16, 39)), 6)
    text = json.dumps(poses.tolist())
    (tmp_path / "3dpw_big_in.json").write_text(text)
    paths = [[f"seq_00/image_{20 + 60 * k + 2 * i:05d}.jpg" for i in range(16)] for k in range(1000)]
    (tmp_path / "3dpw_big_frames_in.json").write_text(json.dumps(paths))
    start = time.perf_counter()
    np.asarray(json.loads(text), dtype=np.float64)
    json.loads(json.dumps(paths))
    plain = time.perf_counter() - start
    start = time.perf_counter()
    split = load_split("big", tmp_path)
    strict = time.perf_counter() - start
    np.testing.assert_array_equal(split.observed.reshape(1000, 2, 16, 39), poses)
    assert strict < 2 * plain + 0.5, (strict, plain)


def test_implausible_image_number(data):
    paths = json.loads((data / "3dpw_valid_frames_in.json").read_text())
    paths[0] = [p.replace("image_000", "image_99999999999999999999") for p in paths[0]]
    (data / "3dpw_valid_frames_in.json").write_text(json.dumps(paths))
    with pytest.raises(DataError, match="3dpw_valid_frames_in.json: sample 0 has an implausible image number"):
        load_split("valid", data)


@pytest.mark.parametrize("name", ["..", "."])
def test_sequence_names_cannot_leave_a_folder(data, name):
    # a sequence name becomes a folder name: cv --save-folds DIR writes DIR/folds/<sequence>/
    path = data / "3dpw_valid_frames_in.json"
    path.write_text(path.read_text().replace("courtyard_hug_00/", f"{name}/"))
    message = rf"3dpw_valid_frames_in.json: sample \d+ has the sequence name '{re.escape(name)}'"
    with pytest.raises(DataError, match=message):
        load_split("valid", data)
