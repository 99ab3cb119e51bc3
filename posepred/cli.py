"""Command line: ``posepred evaluate|train|valid|test|cv|pretrain|report|mocap`` (also ``python -m posepred``).

This module only parses; :mod:`posepred.commands` does the work. Options of ``train``/``cv``/``pretrain``
are the fields of :class:`posepred.config.Config` (``--n_epochs 50``, ``--loader_shuffle false``, ...),
and each subcommand's help shows the defaults of the recipe it starts from.

Exit codes: 0 done; 2 bad input (a :class:`~posepred.errors.PosepredError`: bad data, config,
checkpoint or option; also argparse's usage errors), one line on stderr; 130 interrupted (Ctrl-C);
1 anything else, which is a bug: one line "internal error ..." on stderr, and the full traceback
with ``--debug`` or ``POSEPRED_DEBUG=1``.

``--threads N`` (or ``$POSEPRED_THREADS``) sets torch's thread count before any torch work
(:mod:`posepred.runtime`; default 1, 0 = torch's own default).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import sys
import traceback
import typing
import warnings

from .commands import COMMANDS, config_from_args  # noqa: F401  (config_from_args: part of the CLI's API)
from .config import RECIPES, Config
from .errors import PosepredError
from .evaluate import BASELINES
from .runtime import ENV_THREADS, configure_threads

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
ENV_DEBUG = "POSEPRED_DEBUG"
PATH_ERRORS = (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


def one_line(text: str) -> str:
    """A message on one line: newlines (a path may hold one) shown as ``\\n``, never cut there."""
    return text.strip().replace("\r", "\\r").replace("\n", "\\n")


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


def _predictor(text: str) -> str:
    return text.replace("-", "_")


MAX_SAMPLES = 200  # cv --samples: the samples of every valid scene are held in memory at once
SAMPLE_BYTES = 10 * 2**20  # measured: --samples 1000 on valid peaked at 9.5 GB (copies for best-of-K and APD)


def _samples(text: str) -> int:
    """``cv --samples K``: 0 (no sampling) to :data:`MAX_SAMPLES`, refused before any work otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of samples, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: expected 0 (no sampling) to {MAX_SAMPLES}")
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(
            f"{value} samples: at most {MAX_SAMPLES} (each takes about {SAMPLE_BYTES / 2**20:.0f} MiB on the valid "
            f"split, measured: {value} would need about {value * SAMPLE_BYTES / 2**30:.1f} GiB)")
    return value


def add_config_options(parser: argparse.ArgumentParser, recipe: str = "paper",
                       skip=("data_dir", "checkpoint_dir")) -> None:
    """One ``--field`` option per Config field, typed from its annotation; help shows ``recipe``'s default."""
    hints = typing.get_type_hints(Config)
    base = RECIPES[recipe]
    group = parser.add_argument_group(f"configuration (Config fields; defaults of the '{recipe}' recipe)")
    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        hint, kwargs = hints[f.name], {"dest": f.name, "default": argparse.SUPPRESS}
        args = typing.get_args(hint) if typing.get_origin(hint) is not list else ()
        kind = next((a for a in args if a is not type(None)), hint)
        if kind is bool:
            kwargs.update(type=parse_bool, metavar="true|false")
        elif typing.get_origin(kind) is list:
            kwargs.update(nargs="*", metavar="NAME")
        elif type(None) in args:
            kwargs.update(type=_optional(kind), metavar=kind.__name__.upper())
        else:
            kwargs.update(type=kind, metavar=kind.__name__.upper())
        group.add_argument(f"--{f.name}", help=f"{Config.help(f.name)} (default: {getattr(base, f.name)})", **kwargs)


def path_text(value: str) -> str:
    """A path option's value; an empty one is refused (it would read as "option not given")."""
    if not value.strip():
        raise argparse.ArgumentTypeError("empty path (give a path, or leave the option out)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 (Python keeps them as surrogates)
        raise argparse.ArgumentTypeError(f"{value.encode('utf-8', 'replace')!r}: not UTF-8 text; rename it") from None
    return value


def add_common(parser: argparse.ArgumentParser, checkpoint_default: str | None = "checkpoints") -> None:
    parser.add_argument("--data", dest="data_dir", default=argparse.SUPPRESS, type=path_text, metavar="DIR",
                        help="SoMoF data directory (default: $POSEPRED_DATA, else the repository's somof_data_3dpw/); "
                        "cv also takes an .npz of your own scenes")
    if checkpoint_default is not None:
        parser.add_argument("--checkpoint-dir", "--checkpoint_dir", dest="checkpoint_dir",
                            default=argparse.SUPPRESS, type=path_text, metavar="DIR",
                            help=f"checkpoint directory (default: {checkpoint_default})")


def add_runtime(parser: argparse.ArgumentParser, default) -> None:
    """``--threads`` and ``--debug``, accepted before or after the subcommand."""
    parser.add_argument("--threads", type=int, default=default, metavar="N",
                        help=f"torch threads (default: ${ENV_THREADS}, else 1; 0 = torch's default)")
    parser.add_argument("--debug", action="store_true", default=default,
                        help=f"print the traceback of an internal error (also ${ENV_DEBUG}=1)")


DEV_HELP = "device: cpu, cuda, cuda:N, mps or auto (default: auto, a GPU when there is one)"
OVERWRITE_HELP = "replace the checkpoints a finished run left in the checkpoint directory"
CHECKPOINT_HELP = "checkpoints/ when you trained there, else the shipped checkpoints/derpof"


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), pointing to ``--help`` instead of printing the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="posepred", description="3D human pose forecasting on SoMoF 3DPW",
                                     epilog="exit codes: 0 done, 1 internal error (a bug), 2 bad input, "
                                            "3 training diverged, 130 interrupted")
    add_runtime(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        add_runtime(sub, argparse.SUPPRESS)
        return sub

    p = command("evaluate", "score a baseline or a checkpoint on a split")
    p.add_argument("--predictor", default="damped_velocity", type=_predictor, choices=["derpof", *BASELINES],
                   help="what to score (hyphens also accepted; default: damped_velocity)")
    p.add_argument("--split", default="valid", help="split with ground truth to score on (default: valid)")
    p.add_argument("--damping", type=float, default=0.8, help="damped-velocity factor (default: 0.8)")
    p.add_argument("--json", action="store_true", help="print strict JSON instead of a table")
    p.add_argument("--dev", default="auto", help=DEV_HELP)
    add_common(p, CHECKPOINT_HELP)

    p = command("train", "train DeRPoF (standard protocol: train split, valid split)")
    p.add_argument("--recipe", choices=["paper", "finetune", "simlpe"], default="paper",
                   help="starting Config: the paper's (default), fine-tuning from checkpoints/pretrained, or the "
                        "second family fine-tuned from checkpoints/simlpe/pretrained")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    add_common(p)
    add_config_options(p, "paper")

    p = command("valid", "score checkpoints on valid and draw one sample's frames")
    add_common(p, CHECKPOINT_HELP)
    p.add_argument("--dev", default="auto", help=DEV_HELP)
    p.add_argument("--sample", type=int, default=0, help="sample index to draw (default: 0)")
    p.add_argument("--person", type=int, default=0, choices=[0, 1], help="person of the sample to draw (default: 0)")
    p.add_argument("--visualizations", default="visualizations", type=path_text, metavar="DIR",
                   help="where the PNGs of the drawn sample go (default: visualizations/)")
    p.add_argument("--json", action="store_true", help="print strict JSON instead of a table")

    p = command("test", "write the SoMoF submission for the test split")
    add_common(p, CHECKPOINT_HELP)
    p.add_argument("--dev", default="auto", help=DEV_HELP)
    p.add_argument("--out", default="3dpw_predictions.json", type=path_text, metavar="FILE",
                   help="submission file to write (default: 3dpw_predictions.json)")

    p = command("cv", "cross-validation by sequence on valid")
    add_common(p, None)
    p.add_argument("--recipe", choices=["paper", "finetune", "simlpe"], default="finetune",
                   help="'finetune' (default): from checkpoints/pretrained with the project's best settings; "
                        "'paper': the paper's Config from random weights (the option defaults below are finetune's)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace fold models of an earlier run in --save-folds, or results of other data in --results")
    p.add_argument("--init", default=None, type=path_text, metavar="CHECKPOINT_DIR",
                   help="fine-tune each fold from it (default: the recipe's, 'none' for random weights)")
    p.add_argument("--samples", type=_samples, default=20,
                   help=f"K samples per person for best-of-K and APD (default: 20, at most {MAX_SAMPLES})")
    p.add_argument("--results", default=None, type=path_text, metavar="DIR",
                   help="where results go (default: results/ for SoMoF's valid split, results/NAME/ for other data)")
    p.add_argument("--predictions", default=None, type=path_text, metavar="FILE",
                   help="also write the out-of-fold predictions as SoMoF JSON [N][2][14][39]")
    p.add_argument("--save-folds", default=None, type=path_text, metavar="DIR",
                   help="also save fold models under DIR/folds/")
    p.add_argument("--folds", default=None, type=path_text, metavar="DIR", nargs="+",
                   help="train nothing: score the fold models DIR/<sequence>/ (e.g. checkpoints/derpof/folds; "
                        "several DIRs: their equal-weight ensemble); "
                        "only --data, --valid_split, --dev, --seed, --window_stride, --samples and --results "
                        "apply, other training options are refused")
    add_config_options(p, "finetune")

    p = command("pretrain", "train on the motion-capture corpus")
    p.add_argument("--recipe", choices=["pretrain", "simlpe_pretrain"], default="pretrain",
                   help="DeRPoF's (default) or the second family's pretraining")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    add_common(p, "checkpoints/pretrained")
    add_config_options(p, "pretrain")

    p = command("report", "regenerate results/*.md, the documents' tables and counts and the figure from their sources")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    p.add_argument("--results", default=None, type=path_text, metavar="DIR",
                   help="results directory (default: results/)")
    p.add_argument("--readme", default=None, type=path_text, metavar="FILE", action="append",
                   help="document to fill, repeatable (default: README.md, benchmarks/README.md, docs/reliability.md)")

    p = command("convert", "convert a checkpoint of an earlier layout (checkpoint_g.pt, ...) to checkpoint.pt")
    p.add_argument("directory", type=path_text, metavar="DIR", help="the checkpoint directory to convert in place")

    p = command("mocap", "build the 15 Hz SoMoF-joint corpus from CMU motion capture")
    p.add_argument("--source", default="../shared/mocap_cmu", type=path_text, metavar="DIR",
                   help="folder with the CMU text and BVH files (default: ../shared/mocap_cmu)")
    p.add_argument("--out", default=None, type=path_text, metavar="NPZ",
                   help="corpus file to write (default: data/mocap_cmu30.npz)")
    return parser


def main(argv=None) -> int:
    """Parse, set the threads, run the command; returns the exit code (argparse errors exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command line, for result files that say how to reproduce them
    debug = args.debug or os.environ.get(ENV_DEBUG, "") not in ("", "0")
    warnings.formatwarning = lambda message, *_, **__: f"posepred {args.command}: warning: {one_line(str(message))}\n"
    try:
        configure_threads(args.threads)
        return COMMANDS[args.command](args)
    except PosepredError as exc:
        print(f"posepred {args.command}: error: {one_line(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses (too long, a loop, not a folder): bad input, not a bug
        if exc.filename is None or exc.errno not in PATH_ERRORS:
            raise
        print(f"posepred {args.command}: error: {one_line(str(exc.filename))}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"posepred {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so, keep the traceback for --debug
        from .trainer import TrainingDiverged

        if isinstance(exc, TrainingDiverged):  # not a bug and not bad input: the run itself failed
            print(f"posepred {args.command}: {exc}", file=sys.stderr)
            return 3
        if debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"posepred {args.command}: internal error: {type(exc).__name__}: {first} (a bug; "
              + ("traceback above)" if debug else f"rerun with --debug or {ENV_DEBUG}=1 for the traceback)"),
              file=sys.stderr)
        return 1
