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
MODEL_FIELDS = ("hidden_dim", "latent_dim", "embedding_dim", "residual_damping", "vae", "social", "skeleton")

# Fields added after the first release, with the value that reproduces the old behaviour. Only these
# may be missing from a config.json (an older checkpoint's); any other missing field is an error.
LATER_FIELDS = {"vae": "seed", "social": False, "skeleton": False, "free_bits": 0.0, "kl_anneal_epochs": 0,
                "corpus": None, "prior_mean_loss": True}
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


# Range rules, one line per field, applied after the type check (types come from the annotations;
# None passes when the annotation allows it). A new Config field gets its line here.
RULES: dict[str, typing.Callable] = {
    "hidden_dim": _between(1, 4096),
    "latent_dim": _between(1, 4096),
    "embedding_dim": _between(1, 4096),
    "dropout": _between(0.0, 1.0, hi_open=True),
    "residual_damping": _between(0.0, 1.0),
    "vae": _one_of("seed", "conditional"),
    "social": None,
    "skeleton": None,
    "free_bits": _between(0.0, 1e3),
    "kl_anneal_epochs": _between(0, 1_000_000),
    "prior_mean_loss": None,
    "lr": _between(0.0, 100.0, lo_open=True),
    "n_epochs": _between(1, 1_000_000),
    "batch_size": _between(1, 100_000),
    "loader_shuffle": None,
    "pin_memory": None,
    "loader_workers": _between(0, 1024),
    "load_checkpoint": None,
    "dev": _matches(r"cpu|cuda|cuda:\d{1,3}|mps|auto", "cpu, cuda, cuda:N, mps or auto"),
    "double": None,
    "local_weight": _between(0.0, 1e6),
    "kl_weight": _between(0.0, 1e6),
    "scheduler_factor": _between(0.0, 1.0, lo_open=True, hi_open=True),
    "scheduler_patience": _between(0, 1_000_000),
    "grad_clip": _between(0.0, 1e9, lo_open=True),
    "seed": _between(0, 2**32 - 1),
    "data_dir": _PATH,
    "corpus": lambda v: "a non-empty list of paths" if not v else _each(_PATH)(v),
    "train_split": _NAME,
    "valid_split": _NAME,
    "train_sequences": _each(_NAME),
    "exclude_sequences": _each(_NAME),
    "valid_sequences": _each(_NAME),
    "window_stride": _between(1, 100_000),
    "rotate": None,
    "mirror": None,
    "checkpoint_dir": _PATH,
    "init_checkpoint": _PATH,
}

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


@dataclass
class Config:
    """Every option of the seed scripts (same names and defaults) plus data, seed and augmentation."""

    # model (seed defaults)
    hidden_dim: int = 64
    latent_dim: int = 32
    embedding_dim: int = 8
    dropout: float = 0.2
    residual_damping: float | None = None  # predict a correction over damped velocity (None: seed model)
    vae: str = "seed"  # local VAE: "seed" (encoder sees the past only) or "conditional" (sees past and future)
    social: bool = False  # give each person's forecaster the other person's observed motion
    skeleton: bool = False  # keep each person's rigid bone lengths in every predicted frame
    free_bits: float = 0.0  # conditional VAE: KL below this many nats per latent dimension is not penalised
    kl_anneal_epochs: int = 0  # ramp the KL weight from 0 to kl_weight over this many epochs
    prior_mean_loss: bool = True  # conditional VAE: also train the prediction from z = 0 (the prior mean)
    # optimisation (seed defaults)
    lr: float = 0.004
    n_epochs: int = 50
    batch_size: int = 60  # scenes per batch: 2 x batch_size person sequences
    loader_shuffle: bool = True
    pin_memory: bool = False  # pin the window tensor in page-locked memory (faster copies to CUDA)
    loader_workers: int = 0  # the seed's option; batches are sliced from one in-memory tensor, so unused
    load_checkpoint: bool = False
    dev: str = "cpu"
    double: bool = False  # float64 instead of float32
    # loss and schedule (the seed's)
    local_weight: float = 0.1
    kl_weight: float = 0.01
    scheduler_factor: float = 0.7
    scheduler_patience: int = 35
    grad_clip: float | None = None
    # data
    seed: int = 0
    data_dir: str | None = None
    corpus: list[str] | None = None  # mocap corpora (.npz) for train_split "mocap"; None: data/mocap_cmu30.npz
    train_split: str = "train"
    valid_split: str = "valid"
    train_sequences: list[str] | None = None  # None: every sequence of train_split
    exclude_sequences: list[str] = field(default_factory=list)
    valid_sequences: list[str] | None = None
    window_stride: int = 1
    rotate: bool = False  # random rotation about the vertical axis
    mirror: bool = False  # random left/right mirroring
    # output
    checkpoint_dir: str = "checkpoints"
    init_checkpoint: str | None = None  # start from these weights (fine-tuning), fresh optimiser

    def __post_init__(self):
        self._check(vars(self).copy(), "config field {name}")

    def _check(self, values: dict, label: str) -> None:
        """Type- and range-check ``values`` (field -> value) and store the normalised values."""
        hints = _hints()
        for name, value in values.items():
            if name not in hints:
                raise ConfigError(f"{label.format(name=name)}: unknown config field")
            object.__setattr__(self, name, check_value(hints[name], RULES.get(name), value,
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
        checked = {name: check_value(hints[name], RULES.get(name), values.get(name, LATER_FIELDS.get(name)),
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

    def model_kwargs(self) -> dict:
        return dict(hidden_dim=self.hidden_dim, latent_dim=self.latent_dim, embedding_dim=self.embedding_dim,
                    dropout=self.dropout, residual_damping=self.residual_damping, vae=self.vae,
                    social=self.social, skeleton=self.skeleton)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_HINTS: dict = {}


def _hints() -> dict:
    if not _HINTS:
        _HINTS.update(typing.get_type_hints(Config))
    return _HINTS


# Named starting points; the CLI's options override their fields.
PRETRAIN_EPOCHS = 20
# The shipped model: a conditional VAE (free bits 1 nat per dimension), the skeleton step, the other
# person, a correction over damped velocity (results/ablations.md measures each choice).
SHIPPED_MODEL = dict(residual_damping=0.8, vae="conditional", skeleton=True, social=True, free_bits=1.0)
RECIPES = {
    "seed": Config(),
    # pretraining on the CMU corpus, validated on all of valid (never trained on)
    "pretrain": Config(train_split="mocap", n_epochs=PRETRAIN_EPOCHS, rotate=True, mirror=True, grad_clip=1.0,
                       checkpoint_dir="checkpoints/pretrained", **SHIPPED_MODEL),
    # fine-tuning from the pretrained weights (cross-validation folds and the shipped model)
    "finetune": Config(n_epochs=10, lr=0.001, rotate=True, mirror=True, grad_clip=1.0,
                       init_checkpoint="checkpoints/pretrained", **SHIPPED_MODEL),
}
