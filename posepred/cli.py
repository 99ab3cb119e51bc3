"""Command line: ``posepred evaluate|train|valid|test|cv|pretrain|mocap`` (also ``python -m posepred``).

Options of ``train``/``cv``/``pretrain`` are the fields of :class:`posepred.config.Config` with the
seed scripts' names and defaults (``--n_epochs 50``, ``--loader_shuffle false``, ...). Bad input ends
with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path

from .config import Config

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def parse_bool(text: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (the seed's ``type=bool`` took any text as True)."""
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def _optional(kind):
    def parse(text: str):
        return None if text.lower() in ("none", "null", "") else kind(text)
    parse.__name__ = kind.__name__
    return parse


def add_config_options(parser: argparse.ArgumentParser, skip=("data_dir", "checkpoint_dir")) -> None:
    """One ``--field`` option per Config field, typed from its annotation, defaulting to the dataclass."""
    hints = typing.get_type_hints(Config)
    group = parser.add_argument_group("configuration (Config fields, seed defaults)")
    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        hint, kwargs = hints[f.name], {"dest": f.name, "default": argparse.SUPPRESS}
        args = typing.get_args(hint) if typing.get_origin(hint) is not list else ()
        base = next((a for a in args if a is not type(None)), hint)
        if base is bool:
            kwargs.update(type=parse_bool, metavar="true|false")
        elif typing.get_origin(base) is list:
            kwargs.update(nargs="*", metavar="SEQUENCE")
        elif type(None) in args:
            kwargs.update(type=_optional(base), metavar=base.__name__.upper())
        else:
            kwargs.update(type=base, metavar=base.__name__.upper())
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        group.add_argument(f"--{f.name}", help=f"(default: {default})", **kwargs)


def add_common(parser: argparse.ArgumentParser, checkpoint_default: str | None = "checkpoints") -> None:
    parser.add_argument("--data", dest="data_dir", default=argparse.SUPPRESS, metavar="DIR",
                        help="SoMoF data directory (default: $POSEPRED_DATA, else somof_data_3dpw/)")
    if checkpoint_default is not None:
        parser.add_argument("--checkpoint-dir", "--checkpoint_dir", dest="checkpoint_dir",
                            default=argparse.SUPPRESS, metavar="DIR",
                            help=f"checkpoint directory (default: {checkpoint_default})")


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    names = {f.name for f in dataclasses.fields(Config)}
    return (base or Config()).replace(**{k: v for k, v in vars(args).items() if k in names})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posepred", description="3D human pose forecasting on SoMoF 3DPW")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("evaluate", help="score a baseline or a checkpoint on a split")
    p.add_argument("--predictor", default="damped-velocity",
                   choices=["zero-velocity", "constant-velocity", "damped-velocity", "derpof"])
    p.add_argument("--split", default="valid")
    p.add_argument("--damping", type=float, default=0.8, help="damped-velocity factor (default 0.8)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--dev", default="cpu")
    add_common(p)

    p = commands.add_parser("train", help="train DeRPoF (standard protocol: train split, valid split)")
    p.add_argument("--recipe", choices=["seed", "finetune"], default="seed",
                   help="starting Config: the seed's (default) or fine-tuning from checkpoints/pretrained")
    add_common(p)
    add_config_options(p)

    p = commands.add_parser("valid", help="score checkpoints on valid and draw one sample's frames")
    add_common(p)
    p.add_argument("--dev", default="cpu")
    p.add_argument("--sample", type=int, default=0, help="sample index to draw (default 0)")
    p.add_argument("--person", type=int, default=0, choices=[0, 1])
    p.add_argument("--visualizations", default="visualizations", metavar="DIR")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("test", help="write the SoMoF submission for the test split")
    add_common(p)
    p.add_argument("--dev", default="cpu")
    p.add_argument("--out", default="3dpw_predictions.json", metavar="FILE")

    for name, text in (("cv", "cross-validation by sequence on valid"), ("pretrain", "train on the mocap corpus")):
        p = commands.add_parser(name, help=text)
        add_common(p, None if name == "cv" else "checkpoints/pretrained")
        add_config_options(p)
        if name == "cv":
            p.add_argument("--init", default=None, metavar="CHECKPOINT_DIR",
                           help="fine-tune each fold from it (default: the recipe's, 'none' for random weights)")
            p.add_argument("--recipe", choices=["seed", "finetune"], default="finetune",
                           help="'finetune' (default): 10 epochs from checkpoints/pretrained with the project's "
                                "best settings; 'seed': the seed's Config from random weights")
            p.add_argument("--samples", type=int, default=20, help="K for the best-of-K oracle row")
            p.add_argument("--results", default="results", metavar="DIR")
            p.add_argument("--save-folds", default=None, metavar="DIR", help="also save fold models under DIR/folds/")

    p = commands.add_parser("mocap", help="build the 15 Hz SoMoF-joint corpus from CMU motion capture")
    p.add_argument("--source", default="../shared/mocap_cmu", metavar="DIR")
    p.add_argument("--out", default=None, metavar="NPZ")
    return parser


def main(argv=None) -> int:
    from . import commands
    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import TrainingDiverged

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return getattr(commands, f"run_{args.command}")(args)
    except TrainingDiverged as exc:
        print(f"posepred {args.command}: {exc}", file=sys.stderr)
        return 1
    except (DataError, CheckpointError, ValueError, OSError, KeyError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"posepred {args.command}: error: {message}", file=sys.stderr)
        return 2


def print_json(value) -> None:
    print(json.dumps(value, indent=1))


def default_path(*parts: str) -> Path:
    return Path(__file__).resolve().parent.parent.joinpath(*parts)
