"""Fail when a notebooks/NN_*.py percent script and its .ipynb differ in cells (outputs aside)."""

import sys
from pathlib import Path

import jupytext


def cells(path: Path) -> list[tuple[str, str]]:
    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


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
    for notebook in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        if not notebook.with_suffix(".py").exists():
            problems.append(f"{notebook.name}: no paired .py script")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"notebooks in sync: {len(scripts) - len(problems)} of {len(scripts)}")
    return 1 if problems or not scripts else 0


if __name__ == "__main__":
    sys.exit(main())
