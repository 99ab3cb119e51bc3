"""Fail when a notebooks/NN_*.py percent script and its .ipynb differ in cells (sources and cell
tags; outputs aside), or when a notebook carries what JupyterLab would change on opening it (no
`python3` kernelspec) or what a run should not leave behind (execution timestamps, saved widget
state, a cell's stdout in several pieces: that records when it arrived, not what it says)."""

import json
import sys
from pathlib import Path

import jupytext
from execute_notebooks import JUPYTEXT  # scripts/ is on sys.path when this runs as a script


def cells(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", []))) for cell in notebook.cells]


def metadata_problems(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    problems = []
    if notebook["metadata"].get("kernelspec", {}).get("name") != "python3":
        problems.append(f"{path.name}: no python3 kernelspec (run `python scripts/execute_notebooks.py --no-execute`)")
    if "widgets" in notebook["metadata"]:
        problems.append(f"{path.name}: saved widget state should not be committed")
    if notebook["metadata"].get("jupytext") != JUPYTEXT:
        problems.append(f"{path.name}: metadata 'jupytext' should be {JUPYTEXT} (what JupyterLab saves)")
    if any("execution" in cell.get("metadata", {}) or "ExecuteTime" in cell.get("metadata", {})
           for cell in notebook["cells"]):
        problems.append(f"{path.name}: cells carry execution timestamps")
    for number, cell in enumerate(notebook["cells"], 1):
        outputs = cell.get("outputs", [])
        if any(a["output_type"] == b["output_type"] == "stream" and a["name"] == b["name"]
               for a, b in zip(outputs, outputs[1:])):
            problems.append(f"{path.name}: cell {number} has a stream output in pieces "
                            "(run `make notebooks`)")
    return problems


def main() -> int:
    root = Path(__file__).resolve().parent.parent / "notebooks"
    scripts = sorted(root.glob("[0-9][0-9]_*.py"))
    problems = []
    for script in scripts:
        notebook = script.with_suffix(".ipynb")
        if not notebook.exists():
            problems.append(f"{notebook.name}: missing (run `jupytext --sync {script.name}`)")
        elif cells(script) != cells(notebook):
            problems.append(f"{script.name} and {notebook.name} differ: run `jupytext --sync` and re-execute")
        else:
            problems += metadata_problems(notebook)
    for notebook in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        if not notebook.with_suffix(".py").exists():
            problems.append(f"{notebook.name}: no paired .py script")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"notebooks in sync: {len(scripts) - len(problems)} of {len(scripts)}")
    return 1 if problems or not scripts else 0


if __name__ == "__main__":
    sys.exit(main())
