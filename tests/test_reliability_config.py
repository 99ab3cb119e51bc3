"""Typed configuration: every field checked for type, range and presence, from a config.json and
from the command line; errors name the file or the option and the field."""

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posepred.cli import main
from posepred.config import RECIPES, Config
from posepred.errors import ConfigError

from .conftest import DATA


def test_every_field_has_help_and_every_recipe_is_valid():
    for f in dataclasses.fields(Config):
        assert Config.help(f.name) and "rule" in f.metadata  # a new field is declared with option(...)
    for recipe in RECIPES.values():
        assert Config.from_json(recipe.to_json()) == recipe


BAD_VALUES = [
    ("hidden_dim", "64", "expected an integer, got '64'"),
    ("hidden_dim", 64.5, "expected an integer, got 64.5"),
    ("hidden_dim", True, "expected an integer, got True"),
    ("hidden_dim", None, "expected an integer, got null"),
    ("hidden_dim", [64], "expected an integer, got [64]"),
    ("hidden_dim", 10**12, "expected a value in [1, 4096]"),
    ("hidden_dim", 0, "expected a value in [1, 4096]"),
    ("latent_dim", -3, "expected a value in [1, 4096]"),
    ("embedding_dim", 5000, "expected a value in [1, 4096]"),
    ("dropout", "0.2", "expected a number, got '0.2'"),
    ("dropout", 1.0, "expected a value in [0.0, 1.0)"),
    ("dropout", -0.1, "expected a value in [0.0, 1.0)"),
    ("residual_damping", "0.8", "expected a number or null"),
    ("residual_damping", 1.5, "expected a value in [0.0, 1.0]"),
    ("vae", "vq", "expected one of ['original', 'conditional']"),
    ("social", 1, "expected true or false, got 1"),
    ("social", "true", "expected true or false"),
    ("free_bits", -1.0, "expected a value in [0.0"),
    ("kl_anneal_epochs", -1, "expected a value in [0"),
    ("lr", 0.0, "expected a value in (0.0, 100.0]"),
    ("lr", -0.004, "expected a value in (0.0"),
    ("lr", 1000.0, "expected a value in (0.0, 100.0]"),
    ("n_epochs", 0, "expected a value in [1,"),
    ("n_epochs", -1, "expected a value in [1,"),
    ("batch_size", 0, "expected a value in [1,"),
    ("batch_size", 10**9, "expected a value in [1, 100000]"),
    ("loader_shuffle", "yes", "expected true or false"),
    ("dev", "foo", "expected cpu, cuda, cuda:N, mps or auto"),
    ("dev", "cuda:", "expected cpu, cuda, cuda:N, mps or auto"),
    ("dev", 0, "expected a string"),
    ("scheduler_factor", 1.0, "expected a value in (0.0, 1.0)"),
    ("scheduler_factor", 0.0, "expected a value in (0.0, 1.0)"),
    ("scheduler_patience", -5, "expected a value in [0,"),
    ("grad_clip", 0.0, "expected a value in (0.0"),
    ("seed", -1, "expected a value in [0,"),
    ("seed", 2**40, "expected a value in [0,"),
    ("window_stride", 0, "expected a value in [1,"),
    ("train_split", "../etc", "expected a name of letters"),
    ("train_split", "", "expected a name of letters"),
    ("exclude_sequences", "courtyard_hug_00", "expected a list of strings"),
    ("exclude_sequences", [1, 2], "expected a list of strings"),
    ("exclude_sequences", None, "expected a list of strings, got null"),
    ("train_sequences", ["a/b"], "expected a list of a name"),
    ("corpus", [], "expected a non-empty list of paths"),
    ("corpus", "data/mocap.npz", "expected a list of strings or null"),
    ("checkpoint_dir", "", "expected a non-empty path"),
    ("checkpoint_dir", None, "expected a string, got null"),
    ("init_checkpoint", 3, "expected a string or null"),
]


@pytest.mark.parametrize("field, value, fragment", BAD_VALUES, ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD_VALUES])
def test_bad_value_in_config_json(tmp_path, field, value, fragment):
    values = json.loads(Config().to_json())
    values[field] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ConfigError, match="config.json") as info:
        Config.load(path)
    assert f": {field}: {fragment}" in str(info.value)


@pytest.mark.parametrize("field, value, fragment", BAD_VALUES[:20],
                         ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD_VALUES[:20]])
def test_bad_value_through_replace_names_the_option(field, value, fragment):
    with pytest.raises(ConfigError) as info:
        Config().replace(**{field: value})
    assert str(info.value).startswith(f"option --{field}: {fragment}")


def test_overflowing_number_in_config_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(Config().to_json().replace('"lr": 0.004', '"lr": 1e400'))
    with pytest.raises(ConfigError, match="config.json: lr: expected a finite number, got inf"):
        Config.load(path)


def test_dataclasses_replace_and_constructor_validate_too():
    with pytest.raises(ConfigError, match="config field dropout"):
        dataclasses.replace(Config(), dropout=2.0)
    with pytest.raises(ConfigError, match="config field batch_size"):
        Config(batch_size=0)
    assert Config(lr=1).lr == 1.0 and isinstance(Config(lr=1).lr, float)


@pytest.mark.parametrize("content, fragment", [
    ("{}", "missing config fields"),
    ("[]", "config must be a JSON object"),
    ("null", "config must be a JSON object"),
    ('"hidden_dim"', "config must be a JSON object"),
    ("[" * 100000 + "]" * 100000, "config.json"),
    ('{"hidden_dim": ' * 100000 + "1" + "}" * 100000, "config.json"),
    ("{", "malformed JSON"),
    ('{"lr": NaN}', "not a JSON number"),
    ('{"lr": Infinity}', "not a JSON number"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_malformed_config_file(tmp_path, content, fragment):
    path = tmp_path / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match="config.json") as info:
        Config.load(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_missing_field_is_an_error(tmp_path):
    values = json.loads(Config().to_json())
    path = tmp_path / "config.json"
    for name in ("residual_damping", "hidden_dim", "lr"):
        broken = dict(values)
        del broken[name]
        path.write_text(json.dumps(broken))
        with pytest.raises(ConfigError, match=f"missing config fields \\['{name}'\\]"):
            Config.load(path)


def test_huge_config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(" " * (2 << 20) + "{}")
    with pytest.raises(ConfigError, match="too large"):
        Config.load(path)


@pytest.mark.parametrize("argv, fragment", [
    (["--dev", "foo"], "option --dev"),
    (["--hidden_dim", "1000000000"], "option --hidden_dim"),
    (["--n_epochs", "-1"], "option --n_epochs"),
    (["--lr", "inf"], "option --lr: expected a finite number"),
    (["--lr", "nan"], "option --lr: expected a finite number"),
    (["--window_stride", "0"], "option --window_stride"),
    (["--dropout", "1"], "option --dropout"),
    (["--batch_size", "0"], "option --batch_size"),
    (["--residual_damping", "2"], "option --residual_damping"),
    (["--vae", "other"], "option --vae"),
    (["--train_split", "../x"], "option --train_split"),
])
def test_bad_option_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, fragment):
    checkpoints = tmp_path / "checkpoints"
    try:
        code = main(["train", *argv, "--data", str(DATA), "--checkpoint-dir", str(checkpoints)])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and (fragment in err or fragment.split(":")[0].replace("option ", "argument ") in err), err
    assert len(err.strip().splitlines()) == 1 and not checkpoints.exists()


FIELDS = [f.name for f in dataclasses.fields(Config)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2),
    max_leaves=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(field=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_any_json_value_for_any_field_is_accepted_or_a_config_error(field, value):
    values = json.loads(Config().to_json())
    values[field] = value
    try:
        config = Config.from_json(json.dumps(values), "fuzz.json")
    except ConfigError as exc:
        assert str(exc).startswith(f"fuzz.json: {field}: expected") and "\n" not in str(exc)
    else:  # accepted: round-trips and still validates
        assert Config.from_json(config.to_json()) == config
