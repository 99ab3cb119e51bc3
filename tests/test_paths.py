"""posepred.paths: the repository layout, and what happens without a repository (non-editable install)."""

import pytest

from posepred import paths
from posepred.cli import main
from posepred.errors import CheckpointError, DataError

from .conftest import DATA


def test_repository_defaults():
    assert paths.REPO_ROOT is not None and (paths.REPO_ROOT / "pyproject.toml").is_file()
    assert paths.shipped_model() == paths.REPO_ROOT / "checkpoints" / "derpof"
    assert paths.results_dir().name == "results" and paths.default_corpus_path().suffix == ".npz"


def test_environment_overrides_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("POSEPRED_DATA", str(tmp_path))
    assert paths.default_data_dir() == tmp_path


def test_relative_checkpoints_resolve_from_anywhere(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_relative("checkpoints/derpof") == paths.REPO_ROOT / "checkpoints" / "derpof"
    (tmp_path / "checkpoints" / "derpof").mkdir(parents=True)
    assert str(paths.resolve_relative("checkpoints/derpof")) == "checkpoints/derpof"  # yours first


def test_without_a_repository(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(paths, "REPO_ROOT", None)
    monkeypatch.delenv("POSEPRED_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"--data DIR or set \$POSEPRED_DATA"):
        paths.default_data_dir()
    with pytest.raises(CheckpointError, match="--checkpoint-dir"):
        paths.shipped_model()
    assert str(paths.resolve_relative("checkpoints/derpof")) == "checkpoints/derpof"
    assert main(["evaluate", "--predictor", "zero_velocity"]) == 2
    assert "installed without its repository" in capsys.readouterr().err
    assert main(["evaluate", "--predictor", "zero_velocity", "--data", str(DATA)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--predictor", "derpof", "--data", str(DATA)]) == 2
    err = capsys.readouterr().err
    assert "no shipped model" in err and "--checkpoint-dir" in err and len(err.strip().splitlines()) == 1
