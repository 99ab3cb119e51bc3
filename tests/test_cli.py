import argparse
import json
import re
import shutil
import subprocess
import sys

import pytest

from posepred.cli import main, parse_bool

from .conftest import DATA


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_prints_reference_numbers(capsys):
    code, out, _ = run(capsys, "evaluate", "--predictor", "zero-velocity", "--split", "valid")
    assert code == 0
    assert "20.90 40.75 71.26 81.84 97.16" in " ".join(out.split())


def test_evaluate_json(capsys):
    code, out, _ = run(capsys, "evaluate", "--predictor", "damped-velocity", "--json")
    values = json.loads(out)
    assert code == 0 and round(values["vim_900"], 2) == 89.52 and "ade_rms" in values and "ade_mpjpe" in values


@pytest.mark.parametrize("argv, fragment", [
    (["evaluate", "--split", "test"], "no ground truth"),
    (["evaluate", "--split", "nope"], "--split nope: no such split in"),
    (["evaluate", "--predictor", "derpof", "--dev", "foo"], "--dev foo"),
    (["evaluate", "--data", "/nonexistent"], "data directory not found"),
    (["valid", "--checkpoint-dir", "/nonexistent"], "/nonexistent"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, fragment):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["cv", "--folds", ""], ["cv", "--save-folds", " "], ["cv", "--results", ""],
                                  ["valid", "--visualizations", ""], ["test", "--out", ""],
                                  ["evaluate", "--data", ""], ["mocap", "--source", ""],
                                  ["train", "--checkpoint-dir", ""], ["valid", "--checkpoint-dir", ""]])
def test_an_empty_path_option_is_a_usage_error_not_option_left_out(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {argv[1]}" in err and "empty path" in err
    assert len(err.strip().splitlines()) == 1


def test_train_without_train_poses_points_to_cv(capsys, tmp_path):
    # a data directory without the SoMoF train poses, whatever the repository's holds; never the repo's checkpoints/
    data = tmp_path / "data"
    data.mkdir()
    for name in ("3dpw_valid_in.json", "3dpw_valid_out.json", "3dpw_valid_frames_in.json"):
        shutil.copy(DATA / name, data / name)
    code, _, err = run(capsys, "train", "--n_epochs", "1", "--data", str(data),
                       "--checkpoint-dir", str(tmp_path / "checkpoints"))
    assert code == 2 and "posepred cv" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "checkpoints").exists()


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--predictor", "nonsense"])
    assert info.value.code == 2


def test_booleans_parse_like_words():
    assert parse_bool("false") is False and parse_bool("True") is True and parse_bool("0") is False
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "posepred", "--threads", "1", "evaluate", "--predictor",
                             "zero-velocity"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "97.16" in result.stdout


@pytest.mark.parametrize("argv", [["evaluate", "--damping", "nan"], ["evaluate", "--damping", "2"],
                                  ["cv", "--samples", "-1"], ["train", "--batch_size", "0"],
                                  ["valid", "--sample", "99"], ["evaluate", "--threads", "x"]])
def test_bad_option_values_exit_2(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own type errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "internal error" not in err


def test_unknown_split_lists_the_splits(capsys):
    code, _, err = run(capsys, "evaluate", "--split", "nope")
    assert code == 2 and "available: test, valid" in err


def test_json_is_strict_and_keyed_by_id(capsys):
    code, out, _ = run(capsys, "evaluate", "--predictor", "zero_velocity", "--json")
    values = json.loads(out, parse_constant=lambda name: pytest.fail(f"non-strict JSON: {name}"))
    assert code == 0 and values["predictor"] == "zero_velocity" and values["label"] == "zero velocity"
    assert values["bone_drift_max"] == 0.0


def test_non_finite_metrics_are_an_error_naming_the_input(capsys, data_copy):
    observed = json.loads((data_copy / "3dpw_valid_in.json").read_text())
    observed[0][0][15] = [1e308] * 39
    (data_copy / "3dpw_valid_in.json").write_text(json.dumps(observed))
    code, out, err = run(capsys, "evaluate", "--predictor", "constant_velocity", "--json", "--data", str(data_copy))
    assert code == 2 and out == "" and "valid" in err and "Traceback" not in err


def test_a_bug_is_exit_1_with_a_one_line_internal_error(capsys, monkeypatch):
    from posepred import commands

    def broken(args):
        raise KeyError("oops")

    monkeypatch.setitem(commands.COMMANDS, "evaluate", broken)
    code, _, err = run(capsys, "evaluate")
    assert code == 1 and err.count("\n") == 1 and "internal error: KeyError" in err and "--debug" in err
    code, _, err = run(capsys, "--debug", "evaluate")
    assert code == 1 and "Traceback" in err and "internal error" in err
    monkeypatch.setenv("POSEPRED_DEBUG", "1")
    assert "Traceback" in run(capsys, "evaluate")[2]


def test_ctrl_c_is_exit_130(capsys, monkeypatch):
    from posepred import commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(commands.COMMANDS, "evaluate", interrupted)
    code, _, err = run(capsys, "evaluate")
    assert code == 130 and err.strip() == "posepred evaluate: interrupted"


def test_threads_option_is_applied_before_the_command(capsys, monkeypatch):
    import torch

    from posepred import commands

    seen = []
    monkeypatch.setitem(commands.COMMANDS, "evaluate", lambda args: seen.append(torch.get_num_threads()) or 0)
    before = torch.get_num_threads()
    try:
        assert run(capsys, "--threads", "2", "evaluate")[0] == 0 and seen == [2]
        assert run(capsys, "evaluate", "--threads", "1")[0] == 0 and seen == [2, 1]
        assert run(capsys, "evaluate", "--threads", "-3")[0] == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("command", ["evaluate", "train", "valid", "test", "cv", "pretrain", "report", "mocap"])
def test_every_option_has_help(command):
    from posepred.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    missing = [a.option_strings for a in sub._actions if a.option_strings and not a.help]
    assert not missing


def test_recipe_commands_show_their_recipe_defaults():
    from posepred.cli import build_parser

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert "training epochs (default: 10)" in choices["cv"].format_help().replace("\n", " ").replace("  ", " ")
    helps = {name: {a.dest: a.help for a in choices[name]._actions} for name in ("train", "cv", "pretrain")}
    assert "(default: 50)" in helps["train"]["n_epochs"] and "(default: 0.004)" in helps["train"]["lr"]
    assert "(default: 10)" in helps["cv"]["n_epochs"] and "(default: 0.001)" in helps["cv"]["lr"]
    assert "(default: 20)" in helps["pretrain"]["n_epochs"] and "(default: mocap)" in helps["pretrain"]["train_split"]


def test_no_module_imports_the_cli():
    from pathlib import Path

    import posepred

    package = Path(posepred.__file__).parent
    pattern = re.compile(r"^\s*(from \.cli import|from \. import .*\bcli\b|(from|import) posepred\.cli)", re.M)
    importers = [p.name for p in package.glob("*.py") if p.name not in ("cli.py", "__main__.py")
                 and pattern.search(p.read_text())]
    assert not importers


def test_config_options_parse_to_their_types():
    from posepred.cli import build_parser, config_from_args

    args = build_parser().parse_args(["train", "--exclude_sequences", "a_00", "b_00", "--residual_damping", "none",
                                      "--lr", "0.01", "--loader_shuffle", "false", "--train_sequences", "c_00"])
    config = config_from_args(args)
    assert config.exclude_sequences == ["a_00", "b_00"] and config.train_sequences == ["c_00"]
    assert config.residual_damping is None and config.lr == 0.01 and config.loader_shuffle is False
    assert config_from_args(build_parser().parse_args(["train"])).n_epochs == 50


def test_resume_from_the_command_line_keeps_the_saved_options(capsys, tmp_path):
    directory = tmp_path / "run"
    common = ["--train_split", "valid", "--window_stride", "15", "--checkpoint-dir", str(directory)]
    code, _, _ = run(capsys, "train", *common, "--n_epochs", "1", "--lr", "0.001", "--hidden_dim", "16",
                     "--exclude_sequences", "courtyard_dancing_00")
    assert code == 0
    # only --n_epochs and --load_checkpoint are given: lr, the model size and the excluded sequence are the saved run's
    code, _, err = run(capsys, "train", *common, "--n_epochs", "2", "--load_checkpoint", "true")
    assert code == 0, err
    from posepred import checkpoint

    history = checkpoint.load(directory).history
    saved = json.loads((directory / "config.json").read_text())
    assert len(history) == 2 and history[1]["lr"] == 0.001
    assert saved["hidden_dim"] == 16 and saved["exclude_sequences"] == ["courtyard_dancing_00"]


def test_faults_found_by_an_adversarial_run_are_one_line_errors(capsys, tmp_path, monkeypatch):
    # a split name far too long for a file name
    code, _, err = run(capsys, "evaluate", "--predictor", "zero_velocity", "--split", "a" * 5000)
    assert code == 2 and "not a split name" in err and len(err.strip().splitlines()) == 1
    # PNGs asked into an existing file
    code, _, err = run(capsys, "valid", "--checkpoint-dir", "checkpoints/derpof", "--visualizations", __file__)
    assert code == 2 and "not a directory" in err
    # an output folder that is a file is refused before any training
    code, out, err = run(capsys, "cv", "--results", __file__, "--n_epochs", "1")
    assert code == 2 and "not a directory" in err and "recipe" not in out
    # a README that is not there is an error, not a silent pass
    code, _, err = run(capsys, "report", "--check", "--readme", str(tmp_path / "missing.md"))
    assert code == 2 and "document not found" in err
    # usage errors: one line pointing to --help
    with pytest.raises(SystemExit) as info:
        main(["train", "--hidden_dim", "abc"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and "--help" in err
    # a malformed $POSEPRED_THREADS: one line, exit 2
    monkeypatch.setenv("POSEPRED_THREADS", "abc")
    code, _, err = run(capsys, "evaluate", "--predictor", "zero_velocity")
    assert code == 2 and "POSEPRED_THREADS" in err and len(err.strip().splitlines()) == 1


def test_a_malformed_thread_variable_is_left_to_the_command_line(capsys, monkeypatch):
    env = {**__import__("os").environ, "POSEPRED_THREADS": "abc", "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, "-c", "import posepred, torch; print(torch.get_num_threads())"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "2"  # importing posepred changes nothing
    monkeypatch.setenv("POSEPRED_THREADS", "abc")
    code, _, err = run(capsys, "evaluate")
    assert code == 2 and "POSEPRED_THREADS" in err


def test_resume_refuses_another_window_stride(capsys, tmp_path):
    common = ["--train_split", "valid", "--checkpoint-dir", str(tmp_path / "run"), "--hidden_dim", "8"]
    assert run(capsys, "train", *common, "--n_epochs", "1", "--window_stride", "15")[0] == 0
    code, _, err = run(capsys, "train", *common, "--n_epochs", "2", "--window_stride", "5", "--load_checkpoint", "true")
    assert code == 2 and "window_stride" in err
    code, out, _ = run(capsys, "train", *common, "--n_epochs", "1", "--load_checkpoint", "true")
    assert code == 0 and "nothing to train" in out


def test_a_diverging_run_exits_3_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--train_split", "valid", "--hidden_dim", "8", "--window_stride", "15",
                       "--n_epochs", "1", "--lr", "100", "--checkpoint-dir", str(tmp_path / "run"))
    messages = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("posepred")]
    assert code == 3 and len(messages) == 1 and "loss became" in messages[0]  # (the rest: the progress bar)


def test_pngs_into_a_folder_that_cannot_hold_them_are_one_line_errors(capsys, tmp_path):
    # a folder under a file: refused before scoring
    code, _, err = run(capsys, "valid", "--checkpoint-dir", "checkpoints/derpof",
                       "--visualizations", f"{__file__}/pngs")
    assert code == 2 and f"--visualizations {__file__}/pngs" in err and len(err.strip().splitlines()) == 1
    # a directory where a PNG goes
    (tmp_path / "_Input_00.png").mkdir()
    code, _, err = run(capsys, "valid", "--checkpoint-dir", "checkpoints/derpof", "--visualizations", str(tmp_path))
    assert code == 2 and f"{tmp_path / '_Input_00.png'}: is a directory" in err and len(err.strip().splitlines()) == 1


def test_an_unavailable_device_fails_before_the_data_is_loaded(capsys, tmp_path, monkeypatch):
    import torch

    from posepred import commands

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(commands, "training_data", lambda config: pytest.fail("data loaded before the device"))
    code, out, err = run(capsys, "train", "--train_split", "valid", "--dev", "cuda",
                         "--checkpoint-dir", str(tmp_path / "run"))
    assert code == 2 and out == "" and "--dev cuda: CUDA is not available" in err


def test_an_empty_train_sequences_list_trains_on_nothing_not_everything(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--train_split", "valid", "--train_sequences", "--n_epochs", "1",
                         "--checkpoint-dir", str(tmp_path / "run"))
    assert code == 2 and "no training windows" in err
    assert "every valid sequence is used for training" not in out + err and "validating on 36" in out


def test_every_command_defaults_to_dev_auto_and_says_which_device_it_chose(capsys, tmp_path, monkeypatch):
    import torch

    from posepred.cli import build_parser
    from posepred.config import Config
    from posepred.runtime import resolve_device

    assert Config().dev == "auto"
    for command in (["evaluate"], ["valid"], ["test"]):
        assert build_parser().parse_args(command).dev == "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU: the CPU
    assert resolve_device("auto").type in ("cpu", "mps")
    code, out, _ = run(capsys, "test", "--checkpoint-dir", "checkpoints/derpof/folds/courtyard_hug_00",
                       "--out", str(tmp_path / "out.json"))
    assert code == 0 and "device cpu" in out
    code, out, _ = run(capsys, "train", "--train_split", "valid", "--n_epochs", "1", "--window_stride", "30",
                       "--hidden_dim", "8", "--checkpoint-dir", str(tmp_path / "run"))
    assert code == 0 and "device cpu" in out
