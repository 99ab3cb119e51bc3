"""Re-sync and re-execute the notebooks, writing clean, deterministic .ipynb files: `make notebooks`.

For each notebooks/NN_*.py (or the names given): `jupytext --sync` (the newer of the pair wins),
then execute the .ipynb in place with nbclient (the engine of `jupyter nbconvert --execute`), with a
per-cell timeout, no execution timestamps, the `python3` kernelspec, and no saved widget state
(its model ids are random on every run). Exits non-zero on the first notebook that fails.

    python scripts/execute_notebooks.py                 # all six
    python scripts/execute_notebooks.py 04 06           # by number prefix
    python scripts/execute_notebooks.py --timeout 120   # seconds per cell (default 300)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from jupytext.cli import jupytext as jupytext_cli
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# what JupyterLab's jupytext extension writes into a notebook on its first save (the filters of
# notebooks/jupytext.toml): committed as is, so that saving changes nothing
JUPYTEXT = {"cell_metadata_filter": "tags,jupyter,-all", "notebook_metadata_filter": "-all"}


def normalise(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The metadata JupyterLab would add or change on save, fixed once, and nothing run-specific."""
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["jupytext"] = dict(JUPYTEXT)  # pairing itself lives in notebooks/jupytext.toml
    notebook.metadata.pop("widgets", None)  # widget state: random model ids on every run
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
    return notebook


def sync(script: Path) -> None:
    """`jupytext --sync` in this process (the newer of the pair updates the other)."""
    if jupytext_cli(["--sync", "--quiet", str(script)]) not in (None, 0):
        raise SystemExit(f"jupytext --sync {script.name} failed")


def execute(path: Path, timeout: int) -> float:
    start = time.perf_counter()
    notebook = nbformat.read(path, as_version=4)
    # coalesce_streams: one stdout output per cell however the kernel flushed it, as JupyterLab shows it
    client = NotebookClient(normalise(notebook), timeout=timeout, kernel_name="python3", record_timing=False,
                            store_widget_state=False, coalesce_streams=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(normalise(notebook), path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook number prefixes or names (default: all)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may run (default 300)")
    parser.add_argument("--no-execute", action="store_true", help="only sync and normalise the metadata")
    args = parser.parse_args(argv)
    scripts = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if args.names:
        scripts = [s for s in scripts if any(s.stem.startswith(n) or s.name == n for n in args.names)]
    for script in scripts:
        sync(script)
        path = script.with_suffix(".ipynb")
        if args.no_execute:
            nbformat.write(normalise(nbformat.read(path, as_version=4)), path)
            print(f"{path.name}: metadata normalised")
            continue
        try:
            seconds = execute(path, args.timeout)
        except Exception as error:  # a failing cell: say which notebook, stop
            print(f"{path.name}: FAILED: {type(error).__name__}: {str(error)[-2000:]}", file=sys.stderr)
            return 1
        print(f"{path.name}: executed in {seconds:.1f} s")
    # the .ipynb files are now newer than the scripts; a last sync keeps both sides identical
    for script in scripts:
        sync(script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
