import argparse
import json
import subprocess
import sys

import pytest

from posepred.cli import main, parse_bool


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_prints_reference_numbers(capsys):
    code, out, _ = run(capsys, "evaluate", "--predictor", "zero-velocity", "--split", "valid")
    assert code == 0
    assert "20.90      40.75      71.26      81.84      97.16" in out


def test_evaluate_json(capsys):
    code, out, _ = run(capsys, "evaluate", "--predictor", "damped-velocity", "--json")
    values = json.loads(out)
    assert code == 0 and round(values["vim_900"], 2) == 89.52 and "ade_rms" in values and "ade_mpjpe" in values


@pytest.mark.parametrize("argv, fragment", [
    (["evaluate", "--split", "test"], "no ground truth"),
    (["evaluate", "--split", "nope"], "3dpw_nope_in.json: file not found"),
    (["evaluate", "--data", "/nonexistent"], "data directory not found"),
    (["train", "--n_epochs", "1"], "posepred cv"),
    (["valid", "--checkpoint-dir", "/nonexistent"], "config.json: missing"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--predictor", "nonsense"])
    assert info.value.code == 2


def test_booleans_parse_like_words():
    assert parse_bool("false") is False and parse_bool("True") is True and parse_bool("0") is False
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "posepred", "evaluate", "--predictor", "zero-velocity"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "97.16" in result.stdout


def test_config_options_parse_to_their_types():
    from posepred.cli import build_parser, config_from_args

    args = build_parser().parse_args(["train", "--exclude_sequences", "a_00", "b_00", "--residual_damping", "none",
                                      "--lr", "0.01", "--loader_shuffle", "false", "--train_sequences", "c_00"])
    config = config_from_args(args)
    assert config.exclude_sequences == ["a_00", "b_00"] and config.train_sequences == ["c_00"]
    assert config.residual_damping is None and config.lr == 0.01 and config.loader_shuffle is False
    assert config_from_args(build_parser().parse_args(["train"])).n_epochs == 50
