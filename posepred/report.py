"""Generated numbers: every results table, figure and count in the documents comes from a file.

    posepred report            # regenerate
    posepred report --check    # exit 1 when a document or results/*.md disagrees with its source

It rewrites ``results/valid_cv.md`` (from ``valid_cv.json``), ``results/ablations.md`` (from
``ablations.json``), ``results/vim_vs_horizon.png``, and the marked blocks of the documents
(:data:`posepred.paths.DOCUMENTS`: the README, ``benchmarks/README.md`` whose figures come from ``bench.json``,
written by ``benchmarks/bench.py --save``, and ``docs/reliability.md``). A block is the text
between ``<!-- results:NAME -->`` and ``<!-- /results -->``; NAME is one of :data:`BLOCKS`. A single
number in prose is ``<!-- value:FILE:ID:METRIC -->48.66<!-- /value -->``
(for example ``value:valid_cv:derpof:vim_mean``, ``value:ablations:<experiment id>:vim_900``).
The markers are parsed strictly before anything is rendered or written: block markers on lines of
their own, blocks closed and not nested, value markers closed on their line; any other marker, or a
comment that looks like one, is an error naming the README's line.
``tests/test_report.py`` fails when a document or the markdown files disagree with their sources.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from .data import N_FUTURE, read_bytes
from .errors import DataError, PosepredError
from .files import atomic_write_bytes, atomic_write_text, refuse_special
from .results import MAX_RESULTS_MB, ResultRow, load_results
from .tables import COLUMNS, DRIFT_COLUMNS, VIM_COLUMNS, format_table, format_value

# A well-formed block (to list a README's blocks; fill_readme goes by parse_markers, which checks them all)
MARKER = re.compile(r"(<!-- results:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)
# Anything that looks like one of the four markers; each must be exactly one of them (see parse_markers).
MARKER_LIKE = re.compile(r"<!--[ \t]*(?:/[ \t]*(?:results|value)|(?:results|value)[ \t]*:)[^\n]*?(?:-->|$)", re.M)
OPEN_BLOCK = re.compile(r"<!-- results:(?P<name>[\w.-]+) -->")
# One number in prose: <!-- value:FILE:ID:METRIC -->48.66<!-- /value --> (FILE without .json)
OPEN_VALUE = re.compile(r"<!-- value:(?P<file>[\w-]+):(?P<id>[\w.-]+):(?P<metric>\w+) -->")
CLOSE_BLOCK, CLOSE_VALUE = "<!-- /results -->", "<!-- /value -->"
MAIN_IDS = ("derpof", "derpof_best_of_20", "damped_velocity", "constant_velocity", "zero_velocity",
            "derpof_published_test")
DRIFT_IDS = ("ground_truth", "derpof", "damped_velocity", "damped_velocity_fitted", "constant_velocity",
             "zero_velocity")
HORIZONS = ("vim_100", "vim_240", "vim_500", "vim_640", "vim_900")


def _table(rows: dict[str, ResultRow], ids, columns, bold=()) -> str:
    chosen = [rows[i] for i in ids if i in rows]
    return format_table({r.label: r.metrics for r in chosen}, markdown=True, columns=columns,
                        bold=tuple(rows[i].label for i in bold if i in rows))


def samples_text(rows: dict[str, ResultRow], extra: dict) -> str:
    """Best-of-K rows (oracle), APD and active latent dimensions, from a cv results file."""
    name = extra.get("forecaster", "derpof")
    ids = sorted((i for i in rows if i.startswith(f"{name}_best_of_")), key=lambda i: int(i.rsplit("_", 1)[1]))
    if not ids:
        return f"{rows[name].label} does not sample: no best-of-K rows."
    lines = [_table(rows, [name, *ids], VIM_COLUMNS), ""]
    div = extra.get("diversity") or {}
    if div:
        lines.append(f"APD of the {div['k']} samples (mean distance between two samples of one person, "
                     f"cm over the 39 coordinates, averaged over the 14 frames): {div['apd_cm']:.2f}.")
    latent = extra.get("latent")
    lines.append(f"Active latent dimensions (KL > {latent['threshold_nats']} nats on the held-out samples), "
                 f"mean over folds: {latent['mean']:.1f} (per fold: "
                 + ", ".join(f"{k} {v}" for k, v in latent["per_fold"].items()) + ")."
                 if latent else "Active latent dimensions: not measured (the model has no `kl_per_dimension`).")
    return "\n".join(lines)


def cv_markdown(path: str | Path) -> str:
    """``results/<split>_cv.md`` rendered from ``<split>_cv.json``."""
    rows, extra = load_results(path)
    per_sequence = {r["id"]: ResultRow.from_dict(r, str(path)) for r in extra.get("per_sequence", [])}
    split, name = extra.get("split", "valid"), extra.get("forecaster", "derpof")
    main = [i for i in rows if "vim_100" in rows[i].metrics]
    drift = [i if i != "derpof" else name for i in DRIFT_IDS]
    return (f"# Cross-validation by sequence on `{split}` (out of fold)\n\n"
            f"Generated from `{Path(path).name}` by `posepred report`; reproduce the numbers with "
            f"`{extra.get('command', 'posepred cv')}` ({extra.get('seconds', '?')} s). Each sample is predicted by "
            "the fold model that did not see its sequence. The best-of-K rows pick, per person, the sample "
            "closest to the ground truth: an oracle that measures diversity, not accuracy. The published row "
            "is on the hidden test split, for context only.\n\n"
            + _table(rows, main, COLUMNS) + "\n\n## Plausibility: bone drift\n\n"
            + _table(rows, drift, DRIFT_COLUMNS) + "\n\n## Samples\n\n" + samples_text(rows, extra)
            + f"\n\n## Per held-out sequence ({rows[name].label})\n\n"
            + _table(per_sequence, list(per_sequence), COLUMNS) + "\n")


def ablations_markdown(path: str | Path) -> str:
    """``results/ablations.md`` rendered from ``ablations.json``: each experiment against the
    damped-velocity row of the same file (means over seeds, sd after +-)."""
    rows, extra = load_results(path)
    damped = rows["damped_velocity"].metrics
    seconds = extra.get("seconds", {})
    lines = ["# Ablations (cross-validation by sequence on valid, out of fold, VIM cm)", "",
             f"Generated from `{Path(path).name}` by `python -m posepred.report`; reproduce the numbers with "
             f"`{extra.get('command', 'python benchmarks/ablations.py')}`. {rows['damped_velocity'].label}, "
             "the baseline to beat: " + " / ".join(f"{damped[k]:.2f}" for k in HORIZONS)
             + f" | mean14 {damped['vim_mean']:.2f}.", "",
             "| experiment | seeds | 100 | 240 | 500 | 640 | 900 | mean14 | best-of-20 (oracle) | APD cm "
             "| active dims | rigid-bone drift max % | samples better than damped (of 36) "
             "| beats damped at all 5 | s |",
             "|---" * 15 + "|"]
    for row_id in extra.get("experiments", [i for i in rows if i not in ("damped_velocity", "constant_velocity",
                                                                         "zero_velocity")]):
        m = rows[row_id].metrics
        wins = all(m[k] < damped[k] for k in HORIZONS)
        spent = seconds.get(row_id)

        def sd(key, m=m):
            return f" +- {m[key + '_sd']:.2f}" if m.get(key + "_sd") else ""
        lines.append(f"| {rows[row_id].label} | {m.get('seeds', 1):.0f} | "
                     + " | ".join(f"{m[k]:.2f}" for k in HORIZONS) + f" | {m['vim_mean']:.2f}{sd('vim_mean')} | "
                     + (f"{m['best_of_20_vim_mean']:.2f}{sd('best_of_20_vim_mean')} | {m['apd_cm']:.2f} | "
                        f"{m['active_latent_dims']:.1f} | " if "apd_cm" in m else "- | - | - | ")
                     + (f"{m['bone_drift_max']:.1f} | " if "bone_drift_max" in m else "- | ")
                     + (f"{m['samples_better_than_damped']:.1f} | " if "samples_better_than_damped" in m else "- | ")
                     + f"{'yes' if wins else 'no'} | {'-' if spent is None else f'{spent:.0f}'} |")
    if extra.get("notes"):
        lines += ["", extra["notes"]]
    return "\n".join(lines) + "\n"


def bench_text(rows: dict[str, ResultRow], extra: dict) -> str:
    """What ``benchmarks/bench.py --save`` printed, as a code block headed by its command."""
    output, command = extra["output"], extra.get("command", "python benchmarks/bench.py")
    if not isinstance(output, list) or not all(map(_one_line, output)):
        raise TypeError("'output' must be a list of lines (strings without newlines or comment markers)")
    if not _one_line(command):
        raise TypeError("'command' must be one line (a string without newlines or comment markers)")
    return "\n".join(["```", f"$ {command}", *output, "```"])


def _one_line(text) -> bool:
    """Whether ``text`` is a string that keeps a README block intact: no newline, no comment marker."""
    return isinstance(text, str) and not any(part in text for part in ("\n", "\r", "<!--", "-->"))


def format_figure(metric: str, value: float) -> str:
    """A benchmark figure as printed: rates and sizes whole, times and shares to one decimal (times
    under 1 to three)."""
    if metric.endswith(("seq_per_s", "windows", "_mib")):
        return f"{value:,.0f}"
    if metric.endswith(("ms", "us", "percent", "seconds_to_compile")):
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"
    return f"{value:.2f}"


# Which part of the package each module is: the core (data -> windows -> model -> loss -> training
# loop -> metric, and the evaluation protocol), the infrastructure around it, and pictures for lessons.
CORE = ("skeleton", "data", "windows", "motion", "derpof", "additions", "forecasters", "trainer", "resume",
        "metrics", "baselines", "evaluate", "cv", "config")
INFRASTRUCTURE = ("checkpoint", "convert", "files", "paths", "runtime", "errors", "results", "report", "tables", "cli",
                  "commands", "__init__", "__main__", "mocap", "bvh")
READING_ORDER = ("skeleton", "data", "windows", "motion", "derpof", "trainer", "metrics")


def module_lines(package: Path | None = None) -> dict[str, int]:
    """Lines of each module of the package, ``{name: lines}``."""
    package = package or Path(__file__).parent
    return {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in sorted(package.glob("*.py"))}


def lines_text() -> str:
    """The reading order with each file's length, and the package's lines by part."""
    lines = module_lines()
    parts = {"core": CORE, "infrastructure": INFRASTRUCTURE,
             "lessons and pictures": tuple(m for m in lines if m not in CORE + INFRASTRUCTURE)}
    order = " -> ".join(f"`{m}.py` ({lines[m]})" for m in READING_ORDER)
    counts = "; ".join(f"{part} {sum(lines.get(m, 0) for m in names):,} lines ({len(names)} modules)"
                       for part, names in parts.items())
    return (f"{order}: {sum(lines[m] for m in READING_ORDER):,} lines.\n\n"
            f"The whole package ({sum(lines.values()):,} lines): {counts}.")


def other_forecasters(results: Path) -> dict[str, ResultRow]:
    """The row of every other forecaster's ``valid_cv_<name>.json`` (same data, same folds), the
    ensemble last."""
    others = {}
    for path in sorted(results.glob("valid_cv_*.json"), key=lambda p: (p.stem.endswith("ensemble"), p.name)):
        other_rows, extra = load_results(path)
        name = extra.get("forecaster", path.stem.removeprefix("valid_cv_"))
        others[name] = other_rows[name]
    return others


def beside_derpof(rows: dict[str, ResultRow], results: Path, ids, columns, bold=()) -> str:
    """:func:`_table` of ``ids`` with the other forecasters' rows right after DeRPoF's."""
    others = other_forecasters(results)
    at = ids.index("derpof") + 1
    return _table(rows | others, [*ids[:at], *others, *ids[at:]], columns, bold)


BLOCKS = {  # block name -> (results file or None, renderer of (rows, extra, results dir))
    "valid_cv": ("valid_cv.json", lambda rows, extra, results: beside_derpof(rows, results, MAIN_IDS, VIM_COLUMNS,
                                                                             bold=("derpof",))),
    "valid_cv_drift": ("valid_cv.json", lambda rows, extra, results: beside_derpof(rows, results, DRIFT_IDS,
                                                                                   DRIFT_COLUMNS)),
    "valid_cv_samples": ("valid_cv.json", lambda rows, extra, results: samples_text(rows, extra)),
    "bench": ("bench.json", lambda rows, extra, results: bench_text(rows, extra)),
    "lines": (None, lines_text),
}


def rendered(source: Path, render, *args):
    """``render(*args)``, a results file whose fields have the wrong structure (a missing row or
    field, a string where a list belongs) reported as a :class:`DataError` naming ``source``."""
    try:
        return render(*args)
    except PosepredError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DataError(f"{source}: malformed results file ({type(exc).__name__}: {exc})") from None


def render_block(name: str, results: Path) -> str:
    if name not in BLOCKS:
        raise DataError(f"README: unknown results block '{name}'; known: {sorted(BLOCKS)}")
    filename, render = BLOCKS[name]
    if filename is None:
        return render()
    return rendered(results / filename, render, *load_results(results / filename), results)


def render_value(file: str, row_id: str, metric: str, results: Path, where: str = "README") -> str:
    rows, _ = load_results(results / f"{file}.json")
    if row_id not in rows or metric not in rows[row_id].metrics:
        raise DataError(f"{where}: {file}.json has no metric '{metric}' in row '{row_id}' "
                        f"(rows: {', '.join(rows)})")
    value = rows[row_id].metrics[metric]
    return format_figure(metric, value) if file == "bench" else format_value(metric, value)


def _alone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` has nothing but blanks beside it on its line."""
    line_end = text.find("\n", end)
    after = text[end:] if line_end < 0 else text[end:line_end]
    return not text[text.rfind("\n", 0, start) + 1:start].strip() and not after.strip()


def parse_markers(text: str, source: str | Path = "README") -> list[tuple[int, int, int, re.Match]]:
    """Every block and value marker of ``text`` as ``(line, start, end, opening)``: ``text[start:end]``
    is regenerated, ``opening`` is :data:`OPEN_BLOCK`'s or :data:`OPEN_VALUE`'s match. Strict: a results
    block's markers are on lines of their own, with a known NAME, closed, not nested and holding no value
    marker; a value marker is closed on its line and not nested; a stray closing marker, or anything else
    that looks like a marker, is a :class:`DataError` naming ``source`` and the line."""
    found, block, value = [], None, None  # block, value: (line, opening match) while one is open

    def fail(line, what):
        raise DataError(f"{source}: line {line}: {what}")

    for match in MARKER_LIKE.finditer(text):
        line, marker = text.count("\n", 0, match.start()) + 1, match.group()
        opens_block, opens_value = OPEN_BLOCK.fullmatch(marker), OPEN_VALUE.fullmatch(marker)
        if value is not None:  # the only marker allowed next: the value's closing marker, on its line
            if marker != CLOSE_VALUE or line != value[0]:
                nested = " (nested value marker)" if opens_value and line == value[0] else ""
                fail(value[0], f"{value[1].group()} is not closed by {CLOSE_VALUE} on the same line{nested}")
            found.append((value[0], value[2], match.start(), value[1]))
            value = None
        elif opens_value:
            if block is not None:
                fail(line, f"{marker} inside the results block opened at line {block[0]}: is that block's "
                           f"{CLOSE_BLOCK} missing? (a marker inside a block would be overwritten)")
            value = (line, opens_value, match.end())
        elif opens_block:
            if block is not None:
                fail(line, f"{marker} nested in the results block opened at line {block[0]}: is that block's "
                           f"{CLOSE_BLOCK} missing?")
            if opens_block["name"] not in BLOCKS:
                fail(line, f"unknown results block '{opens_block['name']}'; known: {sorted(BLOCKS)}")
            if not _alone(text, match.start(), match.end()):
                fail(line, f"{marker} must be on a line of its own")
            block = (line, opens_block, text.find("\n", match.end()) + 1)
        elif marker in (CLOSE_BLOCK, CLOSE_VALUE):
            if marker == CLOSE_VALUE or block is None:
                fail(line, f"stray {marker} (no opening marker before it)")
            if not _alone(text, match.start(), match.end()):
                fail(line, f"{marker} must be on a line of its own")
            found.append((block[0], block[2], match.start(), block[1]))
            block = None
        else:
            fail(line, f"malformed marker {marker[:80]!r} (expected <!-- results:NAME -->, {CLOSE_BLOCK}, "
                       f"<!-- value:FILE:ID:METRIC --> or {CLOSE_VALUE}, spaced exactly so)")
    if value is not None:
        fail(value[0], f"{value[1].group()} is not closed by {CLOSE_VALUE} on the same line")
    if block is not None:
        fail(block[0], f"{block[1].group()} has no closing {CLOSE_BLOCK} (it would swallow the text after it)")
    return found


def fill_readme(text: str, results: Path, source: str | Path = "README") -> str:
    """``text`` with every ``<!-- results:NAME -->`` block and ``<!-- value:FILE:ID:METRIC -->``
    number regenerated from ``results``; the markers are checked (:func:`parse_markers`) first."""
    pieces, done = [], 0
    for line, start, end, opening in parse_markers(text, source):
        if opening.re is OPEN_BLOCK:
            new = render_block(opening["name"], results) + "\n"
        else:
            new = render_value(opening["file"], opening["id"], opening["metric"], results, f"{source}: line {line}")
        pieces += [text[done:start], new]
        done = end
    return "".join(pieces) + text[done:]


def generated_files(results: Path, documents: list[Path]) -> dict[Path, str]:
    """Every generated text file and its expected content (files whose JSON is absent are skipped)."""
    expected = {}
    sources = [(p.name, p.with_suffix(".md").name, cv_markdown) for p in sorted(results.glob("*_cv*.json"))]
    for source, target, render in [*sources, ("ablations.json", "ablations.md", ablations_markdown)]:
        if (results / source).is_file():
            expected[results / target] = rendered(results / source, render, results / source)
    for document in documents:
        if not document.is_file():
            raise DataError(f"{document}: document not found (or not a file): pass --readme FILE")
        expected[document] = fill_readme(read_text(document), results, document)
    return expected


def read_text(path: Path) -> str:
    """A README or generated markdown file: regular, UTF-8, within the results cap; newlines read as
    ``Path.read_text`` reads them (CRLF and CR as LF)."""
    data = read_bytes(path, MAX_RESULTS_MB << 20, "README and results files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_current(path: Path, text: str) -> bool:
    """Whether ``path`` holds ``text`` (an unreadable or missing file does not: it is regenerated)."""
    try:
        return read_text(path) == text
    except DataError:
        return False


def write_cv_markdown(json_path: Path, out: Path) -> Path:
    atomic_write_text(out, cv_markdown(json_path))
    return out


def vim_figure_png(cv_json: str | Path) -> bytes:
    """VIM per future frame of each predictor in ``cv_json``'s ``vim_per_frame``, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .viz import plot_vim_curves, png_bytes

    def draw(rows, extra):
        curves = {(rows[i].label if i in rows else i): np.asarray(values, dtype=float)
                  for i, values in extra["vim_per_frame"].items()}
        if not curves or any(c.shape != (N_FUTURE,) for c in curves.values()):
            raise DataError(f"{cv_json}: 'vim_per_frame' must map each predictor to {N_FUTURE} numbers")
        figure = plot_vim_curves(curves, f"SoMoF 3DPW {extra.get('split', 'valid')}, cross-validated by sequence")
        png = png_bytes(figure, dpi=110)
        plt.close(figure)
        return png
    return rendered(Path(cv_json), draw, *load_results(cv_json))


def vim_figure(cv_json: str | Path, out: str | Path) -> Path:
    """:func:`vim_figure_png` written (atomically) to ``out``."""
    atomic_write_bytes(Path(out), vim_figure_png(cv_json))
    return Path(out)


def report(results: Path, documents: Path | list[Path] | None, check: bool = False, figure: bool = True) -> int:
    """Regenerate (or with ``check``, compare) the generated files and ``documents``; returns an exit
    code. Every file is rendered (and so every results file checked) before any is written."""
    documents = [documents] if isinstance(documents, Path) else list(documents or [])
    expected = generated_files(results, documents)
    cv_json = results / "valid_cv.json"
    # the figure is rendered (its data checked) but not compared: PNG bytes vary with matplotlib's version
    figure_png = vim_figure_png(cv_json) if figure and cv_json.is_file() else None
    stale = [path for path, text in expected.items() if not is_current(path, text)]
    if check:
        for path in stale:
            print(f"{path}: disagrees with {results}/*.json (run `posepred report`)", file=sys.stderr)
        print(f"{len(expected) - len(stale)} of {len(expected)} generated files agree with {results}/*.json")
        return 1 if stale else 0
    for target in [*stale, *([results / "vim_vs_horizon.png"] if figure_png is not None else [])]:
        refuse_special(target, DataError)  # every target checked before anything is written
    for path in stale:
        atomic_write_text(path, expected[path])
        print(f"wrote {path}")
    if figure_png is not None:
        atomic_write_bytes(results / "vim_vs_horizon.png", figure_png)
        print(f"wrote {results / 'vim_vs_horizon.png'}")
    return 0

