"""Generated numbers: the README's result blocks and results/*.md must agree with results/*.json."""

import json
import re
import shutil

import pytest

from posepred import paths
from posepred.errors import DataError
from posepred.report import BLOCKS, MARKER, fill_readme, generated_files, report
from posepred.results import ResultRow, load_results, save_results

RESULTS = paths.REPO_ROOT / "results" if paths.REPO_ROOT else None
needs_repo = pytest.mark.skipif(RESULTS is None or not (RESULTS / "valid_cv.json").is_file(),
                                reason="needs the repository's results/valid_cv.json (a source checkout)")


@needs_repo
def test_documents_and_markdown_agree_with_their_sources():
    expected = generated_files(RESULTS, paths.documents())
    assert paths.REPO_ROOT / "README.md" in expected and RESULTS / "valid_cv.md" in expected
    stale = [str(path) for path, text in expected.items() if path.read_text(encoding="utf-8") != text]
    assert not stale, f"regenerate with `posepred report`: {stale}"


@needs_repo
def test_the_documents_have_their_blocks():
    def names(document):
        return [m.group("name") for m in MARKER.finditer((paths.REPO_ROOT / document).read_text(encoding="utf-8"))]
    assert {"valid_cv", "lines"} <= set(names("README.md")) and names("benchmarks/README.md") == ["bench"]
    assert set(names("README.md")) <= set(BLOCKS)


@needs_repo
def test_infrastructure_is_no_larger_than_the_core_and_the_reading_order_is_short():
    from posepred.report import CORE, INFRASTRUCTURE, READING_ORDER, module_lines

    lines = module_lines()
    assert not set(CORE) & set(INFRASTRUCTURE) and set(READING_ORDER) <= set(CORE)
    assert sum(lines[m] for m in INFRASTRUCTURE if m in lines) <= sum(lines[m] for m in CORE)
    assert sum(lines[m] for m in READING_ORDER) <= 1200


@needs_repo
def test_check_fails_on_a_hand_edited_number(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results, ignore=shutil.ignore_patterns("*.npz", "*oof_predictions.json", "*.png"))
    readme = tmp_path / "README.md"
    shutil.copy(paths.REPO_ROOT / "README.md", readme)
    assert report(results, readme, check=True) == 0
    rows, extra = load_results(results / "valid_cv.json")
    metrics = dict(rows["derpof"].metrics, vim_900=rows["derpof"].metrics["vim_900"] + 1.0)
    rows["derpof"] = ResultRow("derpof", rows["derpof"].label, metrics)
    save_results(results / "valid_cv.json", rows.values(), **extra)
    assert report(results, readme, check=True) == 1
    assert "README.md: disagrees" in capsys.readouterr().err
    assert report(results, readme, figure=False) == 0 and report(results, readme, check=True) == 0
    assert f"{metrics['vim_900']:.2f}" in readme.read_text()


def test_fill_readme_replaces_only_the_blocks(tmp_path):
    rows = [ResultRow("derpof", "DeRPoF (z = mean)", {f"vim_{ms}": 1.0 + i for i, ms in
                                                       enumerate((100, 240, 500, 640, 900, "mean"))}),
            ResultRow("zero_velocity", "zero velocity", {"vim_100": 20.9})]
    save_results(tmp_path / "valid_cv.json", rows)
    text = "intro 48.66\n<!-- results:valid_cv -->\nold table\n<!-- /results -->\noutro\n"
    filled = fill_readme(text, tmp_path)
    assert filled.startswith("intro 48.66\n<!-- results:valid_cv -->\n| predictor |") and filled.endswith(
        "<!-- /results -->\noutro\n")
    assert "old table" not in filled and "| **DeRPoF (z = mean)** | **1.00** |" in filled
    assert "| zero velocity | 20.90 | - |" in filled and fill_readme(filled, tmp_path) == filled
    with pytest.raises(DataError, match="unknown results block"):
        fill_readme("<!-- results:nope -->\n<!-- /results -->", tmp_path)
    prose = "reached (<!-- value:valid_cv:derpof:vim_900 -->85.25<!-- /value -->, later)"
    assert fill_readme(prose, tmp_path) == "reached (<!-- value:valid_cv:derpof:vim_900 -->5.00<!-- /value -->, later)"
    with pytest.raises(DataError, match="no metric 'ade_rms'"):
        fill_readme("<!-- value:valid_cv:derpof:ade_rms -->1<!-- /value -->", tmp_path)


def test_results_files_are_strict_json(tmp_path):
    with pytest.raises(Exception, match="not finite"):
        save_results(tmp_path / "r.json", [ResultRow("x", "x", {"vim_100": float("nan")})])
    assert not (tmp_path / "r.json").exists()
    with pytest.raises(ValueError, match="duplicate"):
        save_results(tmp_path / "r.json", [ResultRow("x", "x", {}), ResultRow("x", "y", {})])


def test_benchmark_output_and_figures_fill_the_performance_section(tmp_path):
    rows = [ResultRow("threads_1", "1 thread(s)", {"seq_per_s": 3629.4}),
            ResultRow("step_default_float32", "posepred", {"x_reference": 2.004, "seq_per_s": 1188.0}),
            ResultRow("floor", "floor", {"fixed_ms": 9.06, "per_sequence_ms": 0.2431, "share_percent": 27.04}),
            ResultRow("memory_corpus_x15", "memory", {"windows": 261105.0, "peak_mib": 542.6})]
    save_results(tmp_path / "bench.json", rows, output=["machine: x86_64", "  1 thread(s): 3,629 seq/s"],
                 command="python benchmarks/bench.py --save")
    text = ("<!-- results:bench -->\nold\n<!-- /results -->\n"
            + " ".join(f"<!-- value:bench:{r.id}:{m} -->?<!-- /value -->" for r in rows for m in r.metrics))
    filled = fill_readme(text, tmp_path)
    assert filled.startswith("<!-- results:bench -->\n```\n$ python benchmarks/bench.py --save\nmachine: x86_64\n"
                             "  1 thread(s): 3,629 seq/s\n```\n<!-- /results -->")
    numbers = re.findall(r"-->([^<]*)<!-- /value", filled)
    assert numbers == ["3,629", "2.00", "1,188", "9.1", "0.243", "27.0", "261,105", "543"]


def _corrupt(results, name, change):
    value = json.loads((results / name).read_text())
    change(value)
    (results / name).write_text(json.dumps(value))


CORRUPTIONS = {  # results file -> a change that keeps it valid JSON but breaks its structure
    "duplicate row": ("valid_cv.json", lambda v: v["rows"].append(v["rows"][0])),
    "metric as text": ("valid_cv.json", lambda v: v["rows"][0]["metrics"].update(vim_100="x")),
    "metric null": ("valid_cv.json", lambda v: v["rows"][0]["metrics"].update(vim_100=None)),
    "per_sequence not a list": ("valid_cv.json", lambda v: v.update(per_sequence="x")),
    "per_sequence rows without ids": ("valid_cv.json", lambda v: v.update(per_sequence=[{}])),
    "latent as text": ("valid_cv.json", lambda v: v.update(latent="x")),
    "no vim_per_frame": ("valid_cv.json", lambda v: v.pop("vim_per_frame")),
    "vim_per_frame as text": ("valid_cv.json", lambda v: v.update(vim_per_frame={"derpof": "x"})),
    "ablations without rows": ("ablations.json", lambda v: v.update(rows=[])),
    "ablations experiments as text": ("ablations.json", lambda v: v.update(experiments="x")),
    "bench without output": ("bench.json", lambda v: v.pop("output")),
    "bench output a number": ("bench.json", lambda v: v.update(output=5)),
}


@needs_repo
@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_malformed_results_file_is_one_error_naming_it_and_nothing_is_written(tmp_path, case, capsys):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results, ignore=shutil.ignore_patterns("*.npz", "*oof_predictions.json"))
    readme, bench = tmp_path / "README.md", tmp_path / "bench.md"
    shutil.copy(paths.REPO_ROOT / "README.md", readme)
    shutil.copy(paths.REPO_ROOT / "benchmarks" / "README.md", bench)
    name, change = CORRUPTIONS[case]
    _corrupt(results, name, change)
    before = {p: p.read_bytes() for p in [readme, bench, *results.iterdir()]}
    from posepred.cli import main
    documents = ["--results", str(results), "--readme", str(readme), "--readme", str(bench)]
    assert main(["report", "--check", *documents]) == 2
    assert main(["report", *documents]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(name in line and "Traceback" not in line for line in err), err
    assert {p: p.read_bytes() for p in [readme, bench, *results.iterdir()]} == before
