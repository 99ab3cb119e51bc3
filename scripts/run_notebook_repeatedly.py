"""Execute one notebook N times with `jupyter nbconvert --execute` and report hangs and failures.

Notebook 06's widget viewer once stalled the executor (2 runs in 14 hung); this loop is the check
that it no longer does. Each run executes a copy of the notebook (the committed file is never
written), with a per-cell timeout and a wall-clock limit for the whole run; a run past the limit is
killed and counted as a hang.

    python scripts/run_notebook_repeatedly.py                          # notebook 06, 30 runs
    python scripts/run_notebook_repeatedly.py notebooks/04_training.ipynb -n 5 --limit 120

Exits 1 if any run hung or failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(notebook: Path, out_dir: Path, cell_timeout: int, limit: float) -> tuple[str, float, str]:
    """One execution: ('ok' | 'failed' | 'hung', seconds, last lines of output)."""
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "nbconvert", "--to", "notebook", "--execute", str(notebook),
               "--output-dir", str(out_dir), "--output", "executed",
               f"--ExecutePreprocessor.timeout={cell_timeout}", "--ExecutePreprocessor.record_timing=False"]
    start = time.perf_counter()
    # its own process group, so that a hang is ended together with the kernel it started
    process = subprocess.Popen(command, cwd=notebook.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return "hung", time.perf_counter() - start, output[-1000:]
    status = "ok" if process.returncode == 0 else "failed"
    return status, time.perf_counter() - start, output[-1000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default=str(ROOT / "notebooks" / "06_visualization.ipynb"))
    parser.add_argument("-n", "--runs", type=int, default=30, help="executions (default 30)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run (default 120)")
    parser.add_argument("--limit", type=float, default=300, help="seconds one whole run may take (default 300)")
    args = parser.parse_args(argv)
    notebook = Path(args.notebook).resolve()
    counts = {"ok": 0, "failed": 0, "hung": 0}
    seconds = []
    with tempfile.TemporaryDirectory(prefix="posepred-repeat-") as out_dir:
        for run in range(1, args.runs + 1):
            status, elapsed, tail = run_once(notebook, Path(out_dir), args.cell_timeout, args.limit)
            counts[status] += 1
            seconds.append(elapsed)
            print(f"run {run:3d}/{args.runs}: {status:6s} {elapsed:6.1f} s", flush=True)
            if status != "ok":
                print("    " + tail.strip().replace("\n", "\n    "), flush=True)
    print(f"{notebook.name}: {counts['ok']} ok, {counts['failed']} failed, {counts['hung']} hung "
          f"of {args.runs}; seconds per run: median {statistics.median(seconds):.1f}, max {max(seconds):.1f}")
    return 0 if counts["ok"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
