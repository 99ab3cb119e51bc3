"""Bad inputs to `posepred report`, the SoMoF and motion-capture readers, `cv --samples` and `--dev`:
each is refused with exit 2 and one line on stderr naming the file or option, within seconds, and
nothing in the folders involved changes (a broken README marker never deletes prose)."""

import json
import os
import sys
from pathlib import Path

import pytest

from posepred.cli import build_parser, main
from posepred.data import load_split
from posepred.errors import DataError, OptionError
from posepred.mocap import CMU_JOINTS, read_cmu_txt
from posepred.report import fill_readme
from posepred.results import ResultRow, load_results, save_results
from posepred.runtime import resolve_device

from .conftest import deadline, synthetic_split


def cli(capsys, *argv):
    """``posepred ARGV`` under a deadline: (exit code, stderr lines); argparse's exits count too."""
    try:
        with deadline():
            code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.splitlines()


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder``: its kind, and a regular file's size, mtime and (when small) bytes;
    nothing is opened but small regular files (a FIFO or a device is only looked at)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = os.lstat(path)
        small = path.is_file() and not path.is_symlink() and info.st_size < 1 << 20
        state[path] = (info.st_mode, info.st_size, info.st_mtime_ns, path.read_bytes() if small else None)
    return state


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no disk space (and must never be read)."""
    path.write_bytes(b"")
    os.truncate(path, size)


def one_line_error(code, err, *fragments, exit_code=2):
    assert code == exit_code, (code, err)
    assert len(err) == 1 and "Traceback" not in err[0] and "internal error" not in err[0], err
    for fragment in fragments:
        assert fragment in err[0], (fragment, err)


# ---------------------------------------------------------------- report: README markers

BENCH_ROWS = [ResultRow("threads_1", "1 thread(s)", {"seq_per_s": 3629.4}),
              ResultRow("floor", "floor", {"fixed_ms": 9.06})]
GOOD_README = ["# Project", "", "Intro prose.", "",
               "<!-- results:bench -->", "old output", "<!-- /results -->", "",
               "We run <!-- value:bench:threads_1:seq_per_s -->1<!-- /value --> seq/s on one thread,",
               "with <!-- value:bench:floor:fixed_ms -->2<!-- /value --> ms fixed.", "", "More prose.", "The end."]


@pytest.fixture
def project(tmp_path):
    """A README with a bench block and two value markers, and the results folder filling them."""
    results = tmp_path / "results"
    save_results(results / "bench.json", BENCH_ROWS, output=["machine: x86_64", "1 thread(s): 3,629 seq/s"],
                 command="python benchmarks/bench.py --save")
    readme = tmp_path / "README.md"
    readme.write_text("\n".join(GOOD_README) + "\n")
    return tmp_path, results, readme


def report_args(results, readme, *extra):
    return ["report", "--results", results, "--readme", readme, *extra]


def test_a_good_readme_is_filled_and_then_agrees(project, capsys):
    _, results, readme = project
    code, err = cli(capsys, *report_args(results, readme))
    assert code == 0 and err == []
    text = readme.read_text()
    assert "old output" not in text and "1 thread(s): 3,629 seq/s" in text and ">3,629<!-- /value -->" in text
    assert text.count("prose") == 2 and text.endswith("More prose.\nThe end.\n")
    assert cli(capsys, *report_args(results, readme, "--check")) == (0, [])


BROKEN_MARKERS = {  # case -> (edit of GOOD_README's lines, line number named, fragment of the message)
    "missing /results": (lambda lines: lines.remove("<!-- /results -->"), 8,
                         "inside the results block opened at line 5: is that block's <!-- /results --> missing?"),
    "missing last /results": (lambda lines: lines.__setitem__(slice(6, None), ["prose"] * 20), 5,
                              "has no closing <!-- /results -->"),
    "nested block": (lambda lines: lines.insert(6, "<!-- results:bench -->"), 7,
                     "nested in the results block opened at line 5"),
    "block opened twice, closed once": (lambda lines: lines.insert(3, "<!-- results:bench -->"), 6, "nested"),
    "stray /results": (lambda lines: lines.insert(2, "<!-- /results -->"), 3, "stray <!-- /results -->"),
    "unknown block": (lambda lines: lines.__setitem__(4, "<!-- results:benchmark -->"), 5,
                      "unknown results block 'benchmark'"),
    "block marker not alone on its line": (lambda lines: lines.__setitem__(4, "<!-- results:bench --> x"), 5,
                                           "on a line of its own"),
    "unclosed value": (lambda lines: lines.__setitem__(8, lines[8].replace("<!-- /value -->", "")), 9,
                       "not closed by <!-- /value --> on the same line"),
    "value closed on the next line": (lambda lines: lines.__setitem__(8, lines[8].replace("<!-- /value -->",
                                                                                          "\n<!-- /value -->")),
                                      9, "not closed by <!-- /value --> on the same line"),
    "nested value": (lambda lines: lines.__setitem__(9, lines[9].replace(
        "-->2", "--><!-- value:bench:floor:fixed_ms -->3<!-- /value -->")), 10, "nested"),
    "stray /value": (lambda lines: lines.__setitem__(11, "More <!-- /value --> prose."), 12, "stray <!-- /value -->"),
    "value inside a block": (lambda lines: lines.insert(5, "<!-- value:bench:floor:fixed_ms -->2<!-- /value -->"),
                             6, "inside the results block"),
    "malformed marker": (lambda lines: lines.__setitem__(11, "More <!--value:bench:floor-->1<!-- /value -->"),
                         12, "malformed marker"),
}


@pytest.mark.parametrize("case", list(BROKEN_MARKERS))
def test_a_broken_readme_marker_is_one_line_naming_file_and_line_and_nothing_is_written(project, capsys, case):
    folder, results, readme = project
    edit, line, fragment = BROKEN_MARKERS[case]
    lines = list(GOOD_README)
    edit(lines)
    readme.write_text("\n".join(lines) + "\n")
    before = snapshot(folder)
    for extra in ([], ["--check"]):
        code, err = cli(capsys, *report_args(results, readme, *extra))
        one_line_error(code, err, f"{readme}: line {line}:", fragment)
        assert "run `python -m posepred.report`" not in err[0] and "disagrees" not in err[0]
    assert snapshot(folder) == before


def test_fill_readme_names_the_line_of_a_missing_close(project):
    _, results, readme = project
    with pytest.raises(DataError, match=r"README.md: line 3: <!-- results:bench --> has no closing"):
        fill_readme("a\nb\n<!-- results:bench -->\nc\n", results, readme)


@pytest.mark.parametrize("label", ["two\nlines", "a <!-- comment", "arrow -->", "a | b"])
def test_a_row_label_that_would_break_the_markdown_is_refused(project, capsys, label):
    folder, results, readme = project
    save_results(results / "bench.json", [ResultRow("threads_1", label, {"seq_per_s": 1.0}), BENCH_ROWS[1]],
                 output=["x"])
    before = snapshot(folder)
    code, err = cli(capsys, *report_args(results, readme))
    one_line_error(code, err, f"{results / 'bench.json'}: row 'threads_1'", "label")
    assert snapshot(folder) == before


@pytest.mark.parametrize("field, value", [("output", "garbage"), ("output", 5), ("output", ["ok", 3]),
                                          ("output", ["two\nlines"]), ("output", ["<!-- /results -->"]),
                                          ("command", "bench\n<!-- /results -->"), ("command", 3)])
def test_bench_output_must_be_a_list_of_lines(project, capsys, field, value):
    folder, results, readme = project
    save_results(results / "bench.json", BENCH_ROWS, **{"output": ["x"], field: value})
    before = snapshot(folder)
    code, err = cli(capsys, *report_args(results, readme))
    one_line_error(code, err, str(results / "bench.json"), f"'{field}'")
    assert snapshot(folder) == before


# ---------------------------------------------------------------- report/results: unreadable files

def _bench_text(metric_text="3629.4"):
    return '{"rows": [{"id": "threads_1", "label": "1", "metrics": {"seq_per_s": X}}], "output": []}'.replace(
        "X", metric_text)


RESULTS_FAULTS = {  # case -> (how bench.json is made, fragment of the message)
    "metric 1e400": (lambda p: p.write_text(_bench_text("1e400")), "not finite"),
    "metric -1e400": (lambda p: p.write_text(_bench_text("-1e400")), "not finite"),
    "metric NaN": (lambda p: p.write_text(_bench_text("NaN")), "not finite"),
    "nested 100000 deep": (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    "over the cap (sparse)": (lambda p: sparse(p, 65 << 20), "64 MB cap"),
    "not UTF-8": (lambda p: p.write_bytes(b'{"rows": [], "output": ["\xff"]}'), "not UTF-8"),
    "FIFO": (lambda p: os.mkfifo(p), "not a regular file"),
    "symlink to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "is a symbolic link"),
    "directory": (lambda p: p.mkdir(), "not a regular file"),
}


@pytest.mark.parametrize("case", list(RESULTS_FAULTS))
def test_an_unreadable_results_file_is_one_line_and_never_hangs(project, capsys, case):
    folder, results, readme = project
    make, fragment = RESULTS_FAULTS[case]
    (results / "bench.json").unlink()
    make(results / "bench.json")
    before = snapshot(folder)
    for extra in ([], ["--check"]):
        code, err = cli(capsys, *report_args(results, readme, *extra))
        one_line_error(code, err, str(results / "bench.json"), fragment)
    assert snapshot(folder) == before


def test_load_results_still_says_a_missing_file_is_missing(tmp_path):
    with pytest.raises(DataError, match="missing.json: results file not found"):
        load_results(tmp_path / "missing.json")


@pytest.mark.parametrize("case", ["not UTF-8", "FIFO", "symlink to /dev/zero", "over the cap (sparse)"])
def test_an_unreadable_readme_is_one_line(project, capsys, case):
    folder, results, readme = project
    readme.unlink()
    {"not UTF-8": lambda: readme.write_bytes(b"# caf\xe9\n<!-- results:bench -->\n<!-- /results -->\n"),
     "FIFO": lambda: os.mkfifo(readme),
     "symlink to /dev/zero": lambda: readme.symlink_to("/dev/zero"),
     "over the cap (sparse)": lambda: sparse(readme, 65 << 20)}[case]()
    before = snapshot(folder)
    code, err = cli(capsys, *report_args(results, readme))
    one_line_error(code, err, str(readme))
    assert snapshot(folder) == before


# ---------------------------------------------------------------- SoMoF data files

@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    synthetic_split(folder, "valid")
    return folder


def evaluate_args(data):
    return ["evaluate", "--predictor", "zero_velocity", "--split", "valid", "--data", data]


def test_frame_numbers_are_ascii_digits_only(data, capsys):
    path = data / "3dpw_valid_frames_in.json"
    paths = json.loads(path.read_text())
    paths[0] = [p.replace("image_00", "image_\u0663\u0660") for p in paths[0]]  # Arabic-Indic 3 and 0
    path.write_text(json.dumps(paths))
    before = snapshot(data)
    code, err = cli(capsys, *evaluate_args(data))
    one_line_error(code, err, f"{path}: sample 0 has a path not shaped")
    assert snapshot(data) == before


def test_a_frame_number_of_thousands_of_digits_is_implausible_not_a_crash(data):
    path = data / "3dpw_valid_frames_in.json"
    paths = json.loads(path.read_text())
    paths[0] = [p.replace("image_", "image_" + "9" * 5000) for p in paths[0]]
    path.write_text(json.dumps(paths))
    with pytest.raises(DataError, match="sample 0 has an implausible image number"):
        load_split("valid", data)


def test_a_frame_path_with_a_trailing_newline_is_refused(data):
    path = data / "3dpw_valid_frames_in.json"
    paths = json.loads(path.read_text())
    paths[0][0] += "\n"
    path.write_text(json.dumps(paths))
    with pytest.raises(DataError, match="sample 0 has a path not shaped"):
        load_split("valid", data)


def test_a_huge_size_cap_reads_by_the_files_size(data, monkeypatch, capsys):
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", "1e6")
    code, _ = cli(capsys, *evaluate_args(data))
    assert code == 0


@pytest.mark.parametrize("value", ["1e30", "inf", "nan", "-1", "1e7"])
def test_an_absurd_size_cap_is_one_line(data, monkeypatch, capsys, value):
    monkeypatch.setenv("POSEPRED_MAX_JSON_MB", value)
    code, err = cli(capsys, *evaluate_args(data))
    one_line_error(code, err, "POSEPRED_MAX_JSON_MB")


@pytest.mark.parametrize("name", ["3dpw_valid_in.json", "3dpw_valid_out.json", "3dpw_valid_frames_in.json"])
@pytest.mark.parametrize("kind", ["FIFO", "symlink to /dev/zero", "over the cap (sparse)"])
def test_a_data_file_that_is_not_a_small_regular_file_is_one_line(data, capsys, name, kind):
    (data / name).unlink()
    {"FIFO": lambda p: os.mkfifo(p), "symlink to /dev/zero": lambda p: p.symlink_to("/dev/zero"),
     "over the cap (sparse)": lambda p: sparse(p, 513 << 20)}[kind](data / name)
    before = snapshot(data)
    code, err = cli(capsys, *evaluate_args(data))
    one_line_error(code, err, str(data / name))
    assert snapshot(data) == before


def test_a_data_folder_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err = cli(capsys, *evaluate_args(tmp_path / "file" / "data"))
    one_line_error(code, err, str(tmp_path / "file" / "data"))


def test_a_data_folder_name_too_long_is_one_line(tmp_path):
    with pytest.raises(DataError, match="d{100}.*File name too long") as info:
        load_split("valid", tmp_path / ("d" * 5000))
    assert "\n" not in str(info.value)


def test_a_data_folder_whose_files_cannot_be_looked_up_is_one_line(data, monkeypatch):
    """chmod 000 as a user (root reads anyway): every lookup inside the folder is denied."""
    real_stat = os.stat

    def denied(path, *args, **kwargs):
        if Path(path).parent == data:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", denied)
    with pytest.raises(DataError, match=f"{data}.*Permission denied") as info:
        load_split("valid", data)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 folder anyway")
def test_a_data_folder_without_permissions_is_one_line(data, capsys):
    data.chmod(0)
    try:
        code, err = cli(capsys, *evaluate_args(data))
    finally:
        data.chmod(0o755)
    one_line_error(code, err, str(data))


# ---------------------------------------------------------------- CMU motion capture

def mocap_source(tmp_path):
    source = tmp_path / "mocap"
    (source / "data" / "cmu" / "01").mkdir(parents=True)
    skeleton = {"frame_rate_hz": 120, "parent": [-1] + list(range(CMU_JOINTS - 1)),
                "offset": [[0.0, 1.0, 0.0]] * CMU_JOINTS}
    (source / "cmu_skeleton.json").write_text(json.dumps(skeleton))
    return source, skeleton


def test_a_huge_cmu_text_file_is_refused_by_its_size(tmp_path, capsys):
    source, _ = mocap_source(tmp_path)
    huge = source / "data" / "cmu" / "01" / "01_01.txt"
    sparse(huge, 3 << 30)
    before = snapshot(tmp_path)
    code, err = cli(capsys, "mocap", "--source", source, "--out", tmp_path / "corpus.npz")
    err = [line for line in err if line.strip() and "it/s]" not in line]  # less tqdm's progress bar
    one_line_error(code, err, str(huge), "3072 MB, larger than the 512 MB cap on input files")
    assert snapshot(tmp_path) == before


def test_a_cmu_text_file_that_is_a_symlink_to_a_device_is_refused(tmp_path):
    source, skeleton = mocap_source(tmp_path)
    (source / "zero.txt").symlink_to("/dev/zero")
    with deadline(), pytest.raises(DataError, match="zero.txt: not a regular file"):
        read_cmu_txt(source / "zero.txt", skeleton)


def test_mocap_without_bvhio_names_the_install_command(tmp_path, capsys, monkeypatch):
    source, _ = mocap_source(tmp_path)
    (source / "All_BVH" / "subjects" / "001").mkdir(parents=True)
    (source / "All_BVH" / "subjects" / "001" / "001_01.bvh").write_text("HIERARCHY\n")
    monkeypatch.setitem(sys.modules, "bvhio", None)  # `import bvhio` now fails as if not installed
    before = snapshot(tmp_path)
    code, err = cli(capsys, "mocap", "--source", source, "--out", tmp_path / "corpus.npz")
    one_line_error(code, err, "bvhio", 'pip install -e ".[mocap]"')
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------- options

def test_cv_samples_has_an_upper_bound_giving_the_memory(tmp_path, capsys):
    code, err = cli(capsys, "cv", "--samples", 100000, "--folds", tmp_path / "folds", "--results", tmp_path / "r")
    one_line_error(code, err, "--samples", "100000", "at most 200", "976.6 GiB")
    assert list(tmp_path.iterdir()) == []
    assert build_parser().parse_args(["cv", "--samples", "200"]).samples == 200
    assert build_parser().parse_args(["cv", "--samples", "0"]).samples == 0


@pytest.mark.parametrize("value", ["-1", "twenty", "1e3"])
def test_cv_samples_must_be_a_whole_number_in_range(capsys, value):
    code, err = cli(capsys, "cv", "--samples", value)
    one_line_error(code, err, "--samples")


@pytest.mark.parametrize("dev", ["meta", "xla", "vulkan", "hpu", "xpu", "cuda:x", "mps:0", "cpu:0", ""])
def test_unsupported_devices_are_option_errors(dev):
    with pytest.raises(OptionError, match="--dev") as info:
        resolve_device(dev)
    assert "\n" not in str(info.value) and "cpu, cuda, cuda:N, mps or auto" in str(info.value)


@pytest.mark.parametrize("dev", ["meta", "xpu"])
def test_unsupported_devices_exit_2(data, capsys, dev):
    code, err = cli(capsys, "evaluate", "--predictor", "derpof", "--split", "valid", "--data", data, "--dev", dev)
    one_line_error(code, err, f"--dev {dev}: expected", "cpu, cuda, cuda:N, mps or auto")


def test_supported_devices_still_resolve():
    assert str(resolve_device("cpu")) == "cpu" and resolve_device("auto").type in ("cpu", "cuda", "mps")


def test_a_path_that_is_not_utf8_is_refused_before_any_work(tmp_path, capsys):
    import os

    target = os.path.join(str(tmp_path), os.fsdecode(b"results\xff"))
    code, err = cli(capsys, "cv", "--folds", "checkpoints/derpof/folds", "--results", target)
    assert code == 2 and len(err) == 1 and "not UTF-8" in err[0] and not list(tmp_path.iterdir())
