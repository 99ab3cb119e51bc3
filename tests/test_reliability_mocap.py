"""Motion-capture inputs an adversary might hand `posepred mocap` / `pretrain --corpus`: every one a
one-line DataError naming the file, and nothing can hang (a truncated BVH included)."""

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posepred.bvh import BVH_TO_SOMOF, read_bvh
from posepred.cli import main
from posepred.data import DataError
from posepred.mocap import (
    CMU_JOINTS,
    STORED_HZ,
    load_corpus_clips,
    read_cmu_skeleton,
    read_cmu_txt,
    resample,
)

from .conftest import deadline


def bvh_text(frames=3, rows=None, frame_time="0.016667", root_channels="6 Xposition Yposition Zposition "
             "Zrotation Yrotation Xrotation", joint_channels="3 Zrotation Yrotation Xrotation", row=None):
    """A small BVH file of the iClone rig's 13 joints (each a child of the root)."""
    lines = ["HIERARCHY", "ROOT CC_Base_Hip", "{", "  OFFSET 0.0 90.0 0.0", f"  CHANNELS {root_channels}"]
    for k, name in enumerate(BVH_TO_SOMOF):
        lines += [f"  JOINT {name}", "  {", f"    OFFSET {k - 6}.0 {-k}.5 1.0", f"    CHANNELS {joint_channels}",
                  "    End Site", "    {", "      OFFSET 0.0 1.0 0.0", "    }", "  }"]
    lines += ["}", "MOTION", f"Frames: {frames}", f"Frame Time: {frame_time}"]
    n = 6 + 3 * len(BVH_TO_SOMOF)
    for t in range(frames if rows is None else rows):
        lines.append(row if row is not None and t == 1 else " ".join(f"{0.5 * t + 0.01 * c:.4f}" for c in range(n)))
    return "\n".join(lines) + "\n"


def test_valid_bvh_reads(tmp_path):
    (tmp_path / "ok.bvh").write_text(bvh_text())
    joints, fps = read_bvh(tmp_path / "ok.bvh")
    assert joints.shape == (2, 13, 3) and np.isfinite(joints).all() and round(fps) == 60


def test_truncated_bvh_is_an_error_not_a_hang(tmp_path):
    (tmp_path / "cut.bvh").write_text(bvh_text(frames=500, rows=3))
    with deadline(), pytest.raises(DataError, match=r"cut.bvh: 'Frames: 500' but 3 motion rows"):
        read_bvh(tmp_path / "cut.bvh")


def test_truncated_bvh_in_the_cli_exits_2(tmp_path, capsys):
    source = tmp_path / "mocap"
    (source / "All_BVH" / "subjects" / "001").mkdir(parents=True)
    skeleton = {"frame_rate_hz": 120, "parent": [-1] + list(range(CMU_JOINTS - 1)),
                "offset": [[0.0, 1.0, 0.0]] * CMU_JOINTS}
    (source / "cmu_skeleton.json").write_text(json.dumps(skeleton))
    (source / "All_BVH" / "subjects" / "001" / "001_01.bvh").write_text(bvh_text(frames=10**6, rows=2))
    with deadline():
        code = main(["mocap", "--source", str(source), "--out", str(tmp_path / "corpus.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "001_01.bvh" in err and "motion rows" in err and not (tmp_path / "corpus.npz").exists()


BAD_BVH = {
    "more rows than Frames": (dict(frames=3, rows=5), "'Frames: 3' but 5 motion rows"),
    "one frame": (dict(frames=1), "needs the T-pose and at least one motion frame"),
    "Frame Time 0": (dict(frame_time="0"), "Frame Time '0'"),
    "negative Frame Time": (dict(frame_time="-0.016667"), "Frame Time '-0.016667'"),
    "nan Frame Time": (dict(frame_time="nan"), "Frame Time 'nan'"),
    "text Frame Time": (dict(frame_time="fast"), "Frame Time 'fast'"),
    "CHANNELS 2 with 3 names": (dict(joint_channels="2 Zrotation Yrotation Xrotation"), "CHANNELS 2 but 3"),
    "CHANNELS 4 with 3 names": (dict(joint_channels="4 Zrotation Yrotation Xrotation"), "CHANNELS 4 but 3"),
    "unknown channel": (dict(joint_channels="3 Zrotation Yrotation Wrotation"), "CHANNELS 3 but 2"),
    "two rotations": (dict(joint_channels="2 Zrotation Yrotation"), "expected X, Y and Z rotations"),
    "repeated rotation": (dict(joint_channels="3 Zrotation Zrotation Xrotation"), "expected X, Y and Z"),
    "positions off the root": (dict(joint_channels="6 Xposition Yposition Zposition Zrotation Yrotation "
                                                   "Xrotation"), "positions on the root only"),
    "short row": (dict(row="1.0 2.0"), "motion row 2 has 2 values"),
    "nan value": (dict(row=" ".join(["nan"] + ["0"] * 44)), "non-finite motion values"),
    "inf value": (dict(row=" ".join(["0"] * 44 + ["-inf"])), "non-finite motion values"),
    "huge value": (dict(row=" ".join(["1e308"] * 45)), "implausible motion values"),
    "text value": (dict(row=" ".join(["zero"] * 45)), "non-numeric motion values"),
}


@pytest.mark.parametrize("case", list(BAD_BVH))
def test_malformed_bvh(tmp_path, case):
    kwargs, fragment = BAD_BVH[case]
    (tmp_path / "bad.bvh").write_text(bvh_text(**kwargs))
    with deadline(), pytest.raises(DataError, match="bad.bvh") as info:
        read_bvh(tmp_path / "bad.bvh")
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace("MOTION", "MOTON"), "needs HIERARCHY and MOTION"),
    (lambda t: t.replace("HIERARCHY", "", 1), "needs HIERARCHY and MOTION"),
    (lambda t: t.replace("  }\n}", "  }\n", 1), "unbalanced"),
    (lambda t: t.replace("JOINT CC_Base_R_Hand", "JOINT CC_Base_L_Hand"), "repeated"),
    (lambda t: t.replace("OFFSET 0.0 90.0 0.0", "OFFSET 0.0 90.0"), "OFFSET needs 3"),
    (lambda t: t.replace("OFFSET 0.0 90.0 0.0", "OFFSET 0.0 nan 0.0"), "OFFSET needs 3 finite"),
    (lambda t: t.replace("Frames: 3", "Frames: three"), "malformed BVH motion header"),
    (lambda t: t.replace("ROOT CC_Base_Hip", "ROOT CC_Base_Hip\n{\n}\nROOT Other", 1), "unexpected ROOT"),
    (lambda t: "", "not a BVH file"),
])
def test_malformed_bvh_structure(tmp_path, edit, fragment):
    (tmp_path / "bad.bvh").write_text(edit(bvh_text()))
    with deadline(), pytest.raises(DataError, match="bad.bvh") as info:
        read_bvh(tmp_path / "bad.bvh")
    assert fragment in str(info.value)


def test_binary_bvh(tmp_path):
    (tmp_path / "bad.bvh").write_bytes(b"HIERARCHY\n\xff\xfe\x00")
    with deadline(), pytest.raises(DataError, match="bad.bvh: not a BVH file"):
        read_bvh(tmp_path / "bad.bvh")


# -- cmu_skeleton.json and the CMU text files --------------------------------------------------
def skeleton(**changes):
    value = {"frame_rate_hz": 120, "n_joints": CMU_JOINTS, "parent": [-1] + list(range(CMU_JOINTS - 1)),
             "offset": [[0.0, 1.0, 0.5]] * CMU_JOINTS}
    value.update(changes)
    return value


@pytest.mark.parametrize("value, fragment", [
    ([1, 2, 3], "expected a JSON object, got list"),
    ({"parent": []}, "missing"),
    (skeleton(frame_rate_hz="120"), "frame_rate_hz must be"),
    (skeleton(frame_rate_hz=0), "frame_rate_hz must be"),
    (skeleton(frame_rate_hz=-120), "frame_rate_hz must be"),
    (skeleton(frame_rate_hz=100), "frame_rate_hz must be"),
    (skeleton(frame_rate_hz=True), "frame_rate_hz must be"),
    (skeleton(parent=[-1, 0]), "parent must list"),
    (skeleton(parent=[-1] + [5] * (CMU_JOINTS - 1)), "parent[1] = 5"),
    (skeleton(parent=[0] + list(range(CMU_JOINTS - 1))), "parent[0] = 0"),
    (skeleton(parent=[-1, -1] + list(range(1, CMU_JOINTS - 1))), "parent[1] = -1"),
    (skeleton(parent=[-1, True] + list(range(1, CMU_JOINTS - 1))), "parent[1] = True"),
    (skeleton(parent=[-1, "0"] + list(range(1, CMU_JOINTS - 1))), "parent[1] = '0'"),
    (skeleton(offset=[[0.0, 1.0]] * CMU_JOINTS), "offset must list"),
    (skeleton(offset=[[0.0, 1.0, "2"]] * CMU_JOINTS), "offset must list"),
    (skeleton(offset=[[0.0, 1.0, 1e300]] * CMU_JOINTS), "offset must list"),
    (skeleton(offset="none"), "offset must list"),
    (skeleton(n_joints=31), "n_joints 31"),
])
def test_malformed_cmu_skeleton(tmp_path, value, fragment):
    (tmp_path / "cmu_skeleton.json").write_text(json.dumps(value))
    with pytest.raises(DataError, match="cmu_skeleton.json") as info:
        read_cmu_skeleton(tmp_path / "cmu_skeleton.json")
    assert fragment in str(info.value)


def test_skeleton_with_nan_offset(tmp_path):
    (tmp_path / "cmu_skeleton.json").write_text(json.dumps(skeleton(offset=[[0.0, float("nan"), 0.0]] * 38)))
    with pytest.raises(DataError, match="offset must list"):
        read_cmu_skeleton(tmp_path / "cmu_skeleton.json")


@pytest.mark.parametrize("rows, fragment", [
    ("", "expected rows of 117 numbers"),
    (",".join(["0"] * 116), "expected rows of 117 numbers"),
    (",".join(["0"] * 116 + ["x"]), "expected rows of 117 comma-separated numbers"),
    (",".join(["0"] * 116 + ["nan"]), "non-finite values"),
    (",".join(["0"] * 116 + ["1e308"]), "implausible values"),
    (",".join(["0"] * 117) + "\n" + ",".join(["0"] * 118), "expected rows of 117"),
])
def test_malformed_cmu_text(tmp_path, rows, fragment):
    (tmp_path / "walk.txt").write_text(rows)
    with pytest.raises(DataError, match="walk.txt") as info:
        read_cmu_txt(tmp_path / "walk.txt", skeleton())
    assert fragment in str(info.value)


def test_valid_cmu_text(tmp_path):
    (tmp_path / "walk.txt").write_text("\n".join(",".join(["0.1"] * 117) for _ in range(4)))
    assert read_cmu_txt(tmp_path / "walk.txt", skeleton()).shape == (4, 13, 3)


@pytest.mark.parametrize("hz", [100, 0, float("nan"), 15])
def test_resample_refuses_rates_it_cannot_skip_to(hz):
    with pytest.raises(DataError, match="cannot resample"):
        resample(np.zeros((10, 13, 3)), hz)


# -- corpus npz --------------------------------------------------------------------------------
def corpus(**changes):
    positions = np.random.default_rng(0).normal(size=(70, 13, 3)).astype(np.float32)
    arrays = {"positions": positions, "lengths": np.array([40, 30]), "names": np.array(["a.bvh", "b.txt"]),
              "hz": np.array(STORED_HZ)}
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def _save(path, arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("arrays, fragment", [
    (corpus(positions=None), "missing arrays ['positions']"),
    (corpus(lengths=None, names=None), "missing arrays ['lengths', 'names']"),
    (corpus(positions=np.zeros((70, 13))), "positions must be float (frames, 13, 3)"),
    (corpus(positions=np.zeros((70, 12, 3))), "positions must be float (frames, 13, 3)"),
    (corpus(positions=np.zeros((70, 13, 3), dtype=np.int64)), "positions must be float"),
    (corpus(positions=np.full((70, 13, 3), np.nan)), "non-finite positions"),
    (corpus(positions=np.full((70, 13, 3), 1e30)), "implausible positions"),
    (corpus(lengths=np.array([40, 31])), "lengths sum to 71 frames but positions has 70"),
    (corpus(lengths=np.array([80, -10])), "positive integers"),
    (corpus(lengths=np.array([40.0, 30.0])), "positive integers"),
    (corpus(lengths=np.array([], dtype=np.int64)), "positive integers"),
    (corpus(names=np.array(["a.bvh"])), "names must be 2 strings"),
    (corpus(names=np.array([1, 2])), "names must be 2 strings"),
    (corpus(hz=np.array(60)), "hz"),
])
def test_malformed_corpus(tmp_path, arrays, fragment):
    _save(tmp_path / "corpus.npz", arrays)
    with pytest.raises(DataError, match="corpus.npz") as info:
        load_corpus_clips(tmp_path / "corpus.npz")
    assert fragment in str(info.value)


def test_valid_corpus_loads(tmp_path):
    _save(tmp_path / "corpus.npz", corpus())
    clips, names = load_corpus_clips(tmp_path / "corpus.npz")
    assert [len(c) for c in clips] == [40, 30] and names == ["a.bvh", "b.txt"]


@pytest.mark.parametrize("content, fragment", [(b"", "empty file"), (b"PK\x03\x04garbage", "not a posepred"),
                                               (b"\x93NUMPY", "not a posepred")])
def test_unreadable_corpus(tmp_path, content, fragment):
    (tmp_path / "corpus.npz").write_bytes(content)
    with pytest.raises(DataError, match="corpus.npz") as info:
        load_corpus_clips(tmp_path / "corpus.npz")
    assert fragment in str(info.value)


def test_pickled_corpus_is_refused(tmp_path):
    _save(tmp_path / "corpus.npz", corpus(names=np.array([object(), object()], dtype=object)))
    with pytest.raises(DataError, match="corpus.npz: not a posepred mocap corpus"):
        load_corpus_clips(tmp_path / "corpus.npz")


@pytest.mark.parametrize("reader", ["bvh", "txt"])
def test_fifo_in_place_of_a_motion_file_is_an_error_not_a_hang(tmp_path, reader):
    import os

    path = tmp_path / f"clip.{reader}"
    os.mkfifo(path)
    with deadline(), pytest.raises(DataError, match=f"clip.{reader}: not a regular file"):
        read_bvh(path) if reader == "bvh" else read_cmu_txt(path, skeleton())


def test_bvh_frame_rate_that_cannot_be_resampled_names_the_file(tmp_path, capsys):
    source = tmp_path / "mocap"
    (source / "All_BVH" / "subjects" / "001").mkdir(parents=True)
    (source / "cmu_skeleton.json").write_text(json.dumps(skeleton()))
    (source / "All_BVH" / "subjects" / "001" / "001_01.bvh").write_text(bvh_text(frames=80, frame_time="0.01"))
    with deadline():
        code = main(["mocap", "--source", str(source), "--out", str(tmp_path / "corpus.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "001_01.bvh: cannot resample 100 Hz" in err


@settings(max_examples=150, deadline=None, derandomize=True)
@given(cut=st.integers(0, 10**6), mode=st.sampled_from(["truncate", "drop line", "repeat line", "swap tokens",
                                                        "replace token"]),
       token=st.sampled_from(["", "{", "}", "nan", "-1", "1e999", "CHANNELS", "JOINT", "MOTION", "Frames:", "x"]))
def test_mutated_bvh_is_read_or_a_data_error_never_a_hang(tmp_path_factory, cut, mode, token):
    text = bvh_text()
    lines = text.splitlines()
    k = cut % len(lines)
    if mode == "truncate":
        text = text[:cut % len(text)]
    elif mode == "drop line":
        text = "\n".join(lines[:k] + lines[k + 1:])
    elif mode == "repeat line":
        text = "\n".join(lines[:k + 1] + lines[k:])
    else:
        words = text.split(" ")
        j = cut % len(words)
        if mode == "swap tokens":
            words[j], words[j - 1] = words[j - 1], words[j]
        else:
            words[j] = token
        text = " ".join(words)
    path = tmp_path_factory.mktemp("bvh") / "mutated.bvh"
    path.write_text(text)
    with deadline():
        try:
            joints, fps = read_bvh(path)
        except DataError as exc:
            assert "mutated.bvh" in str(exc) and "\n" not in str(exc)
        else:
            assert np.isfinite(joints).all() and fps > 0
