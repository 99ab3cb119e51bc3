"""Where posepred finds its files: the one module that knows the repository layout.

In a source checkout (``pip install -e .``, or running from the repository) the package sits in
``<repo>/posepred/`` and the defaults are the repository's folders:

==================  ==========================================  ===================================
what                default                                     override
==================  ==========================================  ===================================
SoMoF data          ``<repo>/somof_data_3dpw/``                 ``--data DIR``, ``$POSEPRED_DATA``
mocap corpus        ``<repo>/data/mocap_cmu30.npz``             ``--corpus FILE ...``
shipped models      ``<repo>/checkpoints/{derpof,pretrained}``  ``--checkpoint-dir DIR``
results             ``<repo>/results/``                         ``--results DIR``
==================  ==========================================  ===================================

Under a non-editable install (``pip install .``: the package is copied into site-packages) there
is no repository: :data:`REPO_ROOT` is None, the data must come from ``--data`` or
``$POSEPRED_DATA`` (otherwise a one-line :class:`~posepred.errors.DataError`), and the shipped
checkpoints, corpus and results are absent, so commands that need them stop with a one-line
:class:`~posepred.errors.CheckpointError` or :class:`~posepred.errors.DataError` saying which
option to pass. Relative paths are taken from the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError, DataError

PACKAGE_DIR = Path(__file__).resolve().parent
ENV_DATA = "POSEPRED_DATA"


def _find_root() -> Path | None:
    candidate = PACKAGE_DIR.parent
    return candidate if (candidate / "pyproject.toml").is_file() and (candidate / "posepred").is_dir() else None


REPO_ROOT: Path | None = _find_root()  # None under a non-editable install


def repo_path(*parts: str, what: str = "file", error=DataError, hint: str = "") -> Path:
    """``<repo>/<parts>``; raises ``error`` (one line, naming ``hint``) when there is no repository."""
    if REPO_ROOT is None:
        raise error(f"no {what}: posepred is installed without its repository ({PACKAGE_DIR})"
                    + (f"; {hint}" if hint else ""))
    return REPO_ROOT.joinpath(*parts)


def default_data_dir() -> Path:
    """``$POSEPRED_DATA`` if set, else the repository's ``somof_data_3dpw/``."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env)
    return repo_path("somof_data_3dpw", what="SoMoF data directory", hint=f"pass --data DIR or set ${ENV_DATA}")


def default_corpus_path() -> Path:
    """The shipped CMU motion-capture corpus ``data/mocap_cmu30.npz``."""
    return repo_path("data", "mocap_cmu30.npz", what="motion-capture corpus", hint="pass --corpus FILE")


def shipped_model() -> Path:
    """``checkpoints/derpof``: fine-tuned on all of valid, with its fold models in ``folds/``."""
    return repo_path("checkpoints", "derpof", what="shipped model", error=CheckpointError,
                     hint="pass --checkpoint-dir DIR")


def pretrained_model() -> Path:
    """``checkpoints/pretrained``: the CMU-pretrained model the fine-tuning recipe starts from."""
    return repo_path("checkpoints", "pretrained", what="pretrained model", error=CheckpointError,
                     hint="pass --init DIR or --init_checkpoint DIR")


def results_dir() -> Path:
    """``results/``: cross-validation and ablation results, the figure."""
    return repo_path("results", what="results directory", hint="pass --results DIR")


DOCUMENTS = ("README.md", "benchmarks/README.md", "docs/reliability.md")  # with blocks `posepred report` fills


def documents() -> list[Path]:
    """The repository's documents whose numbers ``posepred report`` generates."""
    return [repo_path(*name.split("/"), what="README") for name in DOCUMENTS]


def resolve_relative(directory: str | Path) -> Path:
    """``directory`` as given when it exists (or is absolute, or there is no repository), else
    relative to the repository when it exists there: notebooks in ``notebooks/`` find the shipped
    ``checkpoints/...`` too."""
    directory = Path(directory)
    if directory.exists() or directory.is_absolute() or REPO_ROOT is None or not (REPO_ROOT / directory).exists():
        return directory
    return REPO_ROOT / directory
