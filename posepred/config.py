"""One configuration object for model, training and data; saved as ``config.json`` with checkpoints."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

# Fields that fix the shapes and meaning of the weights: a checkpoint must agree on all of them.
MODEL_FIELDS = ("model", "mlp_blocks", "hidden_dim", "latent_dim", "embedding_dim", "residual_damping", "vae",
                "social", "skeleton")

# Fields added after a checkpoint format was released, with the value that reproduces the behaviour
# before them: only these may be missing from a saved config; any other missing field is an error.
LATER_FIELDS: dict[str, object] = {"mlp_blocks": 48}
MAX_CONFIG_BYTES = 1 << 20


def _between(lo, hi, lo_open=False, hi_open=False):
    """Range rule: ``lo <= value <= hi`` (``<`` at an open end)."""
    text = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"

    def rule(value):
        ok = (lo < value if lo_open else lo <= value) and (value < hi if hi_open else value <= hi)
        return None if ok else f"a value in {text}"
    return rule


def _one_of(*choices):
    return lambda value: None if value in choices else f"one of {list(choices)}"


def _matches(pattern: str, what: str):
    compiled = re.compile(pattern)
    return lambda value: None if compiled.fullmatch(value) else what


_NAME = _matches(r"[A-Za-z0-9_.\-]+", "a name of letters, digits, '_', '.', '-'")
_PATH = _matches(r"(?s).+", "a non-empty path")


def _each(rule):
    def check(values):
        problems = [rule(v) for v in values]
        return next((f"a list of {p}" for p in problems if p), None)
    return check


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(hint, rule, value, label: str):
    """``value`` checked against the type ``hint`` and the range ``rule``; returns it normalised
    (an integer given for a float becomes a float, lists are copied); raises ConfigError."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{label}: expected {_describe(hint)}, got null/None")
    kind = next(o for o in options if o is not type(None))
    if typing.get_origin(kind) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{label}: expected {_describe(hint)}, got {_short(value)}")
        value = list(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{label}: expected {_describe(hint)}, got {_short(value)}")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(f"{label}: expected a finite number, got {_short(value)}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{label}: expected {_describe(hint)}, got {_short(value)}")
    elif kind in (bool, str):
        if type(value) is not kind:
            raise ConfigError(f"{label}: expected {_describe(hint)}, got {_short(value)}")
    problem = rule(value) if rule is not None else None
    if problem:
        raise ConfigError(f"{label}: expected {problem}, got {_short(value)}")
    return value


_UnionType = type(int | None)


def _describe(hint) -> str:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,)
    names = [("a list of strings" if typing.get_origin(o) is list else _TYPE_NAMES.get(o, str(o)))
             for o in options if o is not type(None)]
    return " or ".join(names) + (" or null" if type(None) in options else "")


def option(default, help: str, rule=None, **kwargs):
    """A Config field: its default, its one-line help (the command line shows it) and its range rule."""
    if isinstance(default, list):
        kwargs["default_factory"] = lambda: list(default)
    else:
        kwargs["default"] = default
    return field(metadata={"help": help, "rule": rule}, **kwargs)


_DEVICE = _matches(r"cpu|cuda|cuda:\d{1,3}|mps|auto", "cpu, cuda, cuda:N, mps or auto")


@dataclass
class Config:
    """Every option of a run: the paper's defaults, plus data, seed, augmentation and the additions.

    Each field's help and range rule are its metadata (``Config.help("lr")``); types come from the
    annotations. The command line offers every field as ``--name``."""

    # the model (the paper's defaults; posepred.additions for the last five)
    model: str = option("derpof", "forecaster family: derpof, or simlpe (posepred/simlpe.py)",
                        _one_of("derpof", "simlpe"))
    mlp_blocks: int = option(48, "simlpe: temporal blocks", _between(1, 1000))
    hidden_dim: int = option(64, "LSTM width", _between(1, 4096))
    latent_dim: int = option(32, "VAE latent size", _between(1, 4096))
    embedding_dim: int = option(8, "net_g input embedding size", _between(1, 4096))
    dropout: float = option(0.2, "dropout probability", _between(0.0, 1.0, hi_open=True))
    residual_damping: float | None = option(
        None, "predict a correction over damped velocity with this factor (none: the paper's model)",
        _between(0.0, 1.0))
    skeleton: bool = option(False, "keep rigid bone lengths in every predicted frame")
    vae: str = option("original", "'original' (encoder sees the past) or 'conditional' (past and future)",
                      _one_of("original", "conditional"))
    social: bool = option(False, "give each person's forecaster the other person's motion (conditional VAE)")
    free_bits: float = option(0.0, "KL below this many nats per latent dimension is free", _between(0.0, 1e3))
    prior_mean_loss: bool = option(True, "conditional VAE: also train the prediction from z = 0")
    # optimisation (the paper's)
    lr: float = option(0.004, "Adam learning rate", _between(0.0, 100.0, lo_open=True))
    n_epochs: int = option(50, "training epochs", _between(1, 1_000_000))
    batch_size: int = option(60, "scenes per batch (2 person sequences each)", _between(1, 100_000))
    loader_shuffle: bool = option(True, "shuffle windows every epoch")
    local_weight: float = option(0.1, "weight of the local (net_l) loss", _between(0.0, 1e6))
    kl_weight: float = option(0.01, "weight of the KL term", _between(0.0, 1e6))
    kl_anneal_epochs: int = option(0, "ramp the KL weight up over this many epochs", _between(0, 1_000_000))
    scheduler_factor: float = option(0.7, "ReduceLROnPlateau factor", _between(0.0, 1.0, lo_open=True, hi_open=True))
    scheduler_patience: int = option(35, "ReduceLROnPlateau patience (epochs)", _between(0, 1_000_000))
    grad_clip: float | None = option(None, "clip the gradient norm (none: off)", _between(0.0, 1e9, lo_open=True))
    load_checkpoint: bool = option(False, "resume from --checkpoint-dir")
    dev: str = option("auto", "device: cpu, cuda, cuda:N, mps or auto (a GPU when there is one)", _DEVICE)
    pin_memory: bool = option(False, "pin the windows in page-locked memory (CUDA)")
    double: bool = option(False, "train in float64")
    seed: int = option(0, "random seed", _between(0, 2**32 - 1))
    # data
    data_dir: str | None = option(None, "SoMoF data directory", _PATH)
    corpus: list[str] | None = option(None, "motion-capture corpora (.npz) for --train_split mocap",
                                      lambda v: "a non-empty list of paths" if not v else _each(_PATH)(v))
    train_split: str = option("train", "split to train on (train, valid or mocap)", _NAME)
    valid_split: str = option("valid", "split to validate on", _NAME)
    train_sequences: list[str] | None = option(None, "train only on these sequences (default: all)", _each(_NAME))
    exclude_sequences: list[str] = option([], "never train on these sequences", _each(_NAME))
    valid_sequences: list[str] | None = option(None, "validate only on these sequences", _each(_NAME))
    window_stride: int = option(1, "frames between training windows", _between(1, 100_000))
    rotate: bool = option(False, "random rotation about the vertical axis")
    mirror: bool = option(False, "random left/right mirroring")
    # output
    checkpoint_dir: str = option("checkpoints", "checkpoint directory", _PATH)
    init_checkpoint: str | None = option(None, "start from these weights (fine-tuning)", _PATH)

    def __post_init__(self):
        self._check(vars(self).copy(), "config field {name}")

    def _check(self, values: dict, label: str) -> None:
        """Type- and range-check ``values`` (field -> value) and store the normalised values."""
        hints = _hints()
        for name, value in values.items():
            if name not in hints:
                raise ConfigError(f"{label.format(name=name)}: unknown config field")
            object.__setattr__(self, name, check_value(hints[name], _rule(name), value,
                                                       label.format(name=name)))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> Config:
        """Build from a dict (a config.json): every field present (except :data:`LATER_FIELDS`) with
        the annotated type and a value in range; any fault raises ConfigError naming ``source``."""
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: config must be a JSON object, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown config fields {unknown}")
        missing = sorted(known - set(values) - set(LATER_FIELDS))
        if missing:
            raise ConfigError(f"{source}: missing config fields {missing} (no defaults are assumed for them)")
        hints = _hints()
        checked = {name: check_value(hints[name], _rule(name), values.get(name, LATER_FIELDS.get(name)),
                                     f"{source}: {name}") for name in known}
        return cls(**checked)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "config") -> Config:
        """Parse a config.json's content: strict JSON (no NaN/Infinity), at most 1 MB."""
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source}: {len(text)} bytes, too large for a config (max {MAX_CONFIG_BYTES})")
        try:
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            values = json.loads(text, parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source}: not UTF-8 text") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"{source}: unreadable config ({str(exc) or type(exc).__name__})") from exc
        return cls.from_dict(values, source)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path)
        try:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                raise ConfigError(f"{path}: too large for a config (max {MAX_CONFIG_BYTES} bytes)")
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: unreadable config ({exc.strerror or exc})") from exc
        return cls.from_json(data, str(path))

    def replace(self, **changes) -> Config:
        """A copy with ``changes`` (command-line options): each checked, errors name ``--field``."""
        copy = dataclasses.replace(self)
        copy._check(changes, "option --{name}")  # checks each change and stores it, normalised
        return copy

    @staticmethod
    def help(name: str) -> str:
        """The one-line help of field ``name``."""
        return _FIELDS[name].metadata["help"]


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_HINTS: dict = {}
_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _hints() -> dict:
    if not _HINTS:
        _HINTS.update(typing.get_type_hints(Config))
    return _HINTS


def _rule(name: str):
    return _FIELDS[name].metadata["rule"] if name in _FIELDS else None


# Named starting points; the command line's options override their fields. "paper" is the
# published model and training; the shipped model adds posepred.additions' four changes and
# pretrains on CMU motion capture before fine-tuning (results/ablations.md measures each choice).
PRETRAIN_EPOCHS = 20
SHIPPED_MODEL = dict(residual_damping=0.8, vae="conditional", skeleton=True, social=True, free_bits=1.0)
RECIPES = {
    "paper": Config(),
    # pretraining on the CMU corpus, validated on all of valid (never trained on)
    "pretrain": Config(train_split="mocap", n_epochs=PRETRAIN_EPOCHS, rotate=True, mirror=True, grad_clip=1.0,
                       checkpoint_dir="checkpoints/pretrained", **SHIPPED_MODEL),
    # fine-tuning from the pretrained weights (cross-validation folds and the shipped model)
    "finetune": Config(n_epochs=10, lr=0.001, rotate=True, mirror=True, grad_clip=1.0,
                       init_checkpoint="checkpoints/pretrained", **SHIPPED_MODEL),
    # the second family (posepred/simlpe.py): pretrained on CMU, fine-tuned per fold; a correction to the
    # last pose (no residual over damped velocity, no skeleton step: both measured worse for it)
    "simlpe_pretrain": Config(model="simlpe", train_split="mocap", window_stride=2, n_epochs=20, lr=0.001,
                              batch_size=128, rotate=True, mirror=True, checkpoint_dir="checkpoints/simlpe/pretrained"),
    "simlpe": Config(model="simlpe", n_epochs=20, lr=0.0003, batch_size=128, rotate=True, mirror=True,
                     init_checkpoint="checkpoints/simlpe/pretrained"),
}
