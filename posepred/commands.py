"""What each ``posepred`` subcommand does, given the parsed options (:mod:`posepred.cli` parses).

Each ``run_*`` takes the :class:`argparse.Namespace` and returns an exit code; bad input raises a
:class:`~posepred.errors.PosepredError`. Nothing here imports the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import sys
from pathlib import Path

from tqdm.auto import tqdm

from . import checkpoint, paths
from .config import RECIPES, Config
from .data import Scenes, available_splits, check_split_name, load_split
from .errors import DataError, OptionError
from .evaluate import (
    held_out_sequences,
    load_ensemble_folds,
    load_folds,
    predict,
    predict_checkpoint,
    row,
    write_poses_json,
)
from .files import refuse_special
from .forecasters import family
from .paths import resolve_relative
from .results import check_finite, label_of
from .runtime import configure_threads, resolve_device
from .tables import format_table
from .trainer import Trainer
from .windows import split_windows


def format_record(record: dict) -> str:
    """One log line per epoch (like the paper's scripts), plus the active latent dimensions on valid."""
    parts = [f"e: {record['epoch']}", f"lr: {record['lr']:.5f}"]
    for split in ("train", "valid"):
        if f"{split}_loss" in record:
            parts.append(f"{split} loss {record[f'{split}_loss']:.5f} ade {record[f'{split}_ade_rms']:.4f} "
                         f"fde {record[f'{split}_fde_rms']:.4f} vim900 {record[f'{split}_vim_900']:.2f}")
    if "valid_active_dims" in record:
        parts.append(f"active latent dims {record['valid_active_dims']}")
    return " | ".join(parts)


def config_from_args(args, base: Config | None = None) -> Config:
    """``base`` (default: the paper's Config) with every Config field given on the command line."""
    names = {f.name for f in dataclasses.fields(Config)}
    return (base or Config()).replace(**{k: v for k, v in vars(args).items() if k in names})


def print_json(value) -> None:
    """Strict JSON on stdout (NaN or Infinity is a bug here: metrics are checked finite before)."""
    print(json.dumps(value, indent=1, allow_nan=False))


def load_named_split(name: str, data_dir: Path):
    """``load_split``, with an unknown ``--split`` reported as an option error listing the splits."""
    check_split_name(name)
    if data_dir.is_dir() and not (data_dir / f"3dpw_{name}_in.json").exists():
        raise OptionError(f"--split {name}: no such split in {data_dir}; available: "
                          + (", ".join(available_splits(data_dir)) or "none"))
    return load_split(name, data_dir)


def writable_folder(folder: Path, option: str) -> None:
    """Refuse at once an output folder that is a file (or under one), before hours of work."""
    for parent in (folder, *folder.parents):
        if parent.exists():
            if not parent.is_dir():
                raise OptionError(f"{option} {folder}: {parent} exists and is not a directory")
            return


def device(dev: str):
    try:
        return resolve_device(dev)
    except RuntimeError:
        raise OptionError(f"--dev {dev}: expected cpu, cuda, cuda:N, mps or auto") from None
    except ValueError as exc:
        raise OptionError(str(exc).splitlines()[0]) from None


def checkpoint_dir(args) -> Path:
    """``--checkpoint-dir``, else ``checkpoints/`` when you trained there, else the shipped model."""
    if getattr(args, "checkpoint_dir", None):  # an empty one is refused by the parser (cli.path_text)
        return Path(args.checkpoint_dir)
    if Path("checkpoints", checkpoint.FILE).is_file():
        return Path("checkpoints")
    shipped = paths.shipped_model()
    print(f"using the shipped model {shipped} (pass --checkpoint-dir to choose)", file=sys.stderr)
    return shipped


def data_dir(args) -> Path:
    return Path(getattr(args, "data_dir", None) or paths.default_data_dir())


def run_evaluate(args) -> int:
    if not (math.isfinite(args.damping) and 0 <= args.damping <= 1):
        raise OptionError(f"--damping {args.damping}: expected a factor from 0 to 1")
    split = load_named_split(args.split, data_dir(args))
    if split.future is None:
        raise DataError(f"split '{args.split}' has no ground truth ({args.split}_out.json) to score against")
    loss = None
    if args.predictor == "derpof":
        on = device(args.dev)
        scored = predict_checkpoint(checkpoint_dir(args), split, on)
        result, label, loss = row("derpof", scored.predictions, split), scored.scoring.label, scored.loss
    else:
        from .evaluate import baseline_predictions

        result = row(args.predictor, baseline_predictions(args.predictor, split.observed, args.damping), split,
                     label=f"damped velocity {args.damping:g}" if args.predictor == "damped_velocity" else None)
        label = result.label
    scores = check_finite(result.metrics | ({"loss": loss} if loss is not None else {}), f"{args.split}: {result.id}")
    if args.json:
        print_json({"predictor": result.id, "label": result.label, "split": args.split, "scored_with": label,
                    **scores})
    else:
        print(format_table({result.label: scores}))
        print(f"split: {args.split} ({len(split)} samples); {label}")
    return 0


def training_data(config: Config):
    """Training windows, validation scenes and the sha256 of each sequence trained on, for a config:
    the valid split's held-out sequences (:func:`posepred.evaluate.held_out_sequences`) validate, never
    a sequence trained on."""
    trained_on = []
    if config.train_split == "mocap":
        from .mocap import load_corpus_windows
        windows = load_corpus_windows(config.corpus, config.window_stride)
    else:
        try:
            train = load_split(config.train_split, config.data_dir)
        except DataError as exc:
            if config.train_split == "train" and "not found" in str(exc):
                raise DataError(f"{exc}. The SoMoF train poses are not shipped (see somof_data_3dpw/README.md); "
                                "run `posepred cv` for cross-validation on valid instead") from exc
            raise
        windows = split_windows(train, config.train_sequences, config.exclude_sequences, config.window_stride)
        used = train.subset(train.sample_mask(config.train_sequences, config.exclude_sequences))
        trained_on = list(used.sequence_fingerprints().values())
    valid = load_split(config.valid_split, config.data_dir if config.train_split != "mocap" else None)
    include = held_out_sequences(config, valid)
    if include == []:
        tqdm.write("note: every valid sequence is used for training, so no validation metrics are shown")
        return windows, None, trained_on
    return windows, valid.subset(valid.sample_mask(include=include)), trained_on


def run_train(args, base: Config | None = None) -> int:
    config = config_from_args(args, base or RECIPES[getattr(args, "recipe", "paper")])
    if config.load_checkpoint and (Path(config.checkpoint_dir) / checkpoint.FILE).exists():
        # resuming: the saved run's settings, with only the options given on this command line changed
        config = config_from_args(args, checkpoint.load(config.checkpoint_dir).config)
    on = device(config.dev)  # an unavailable device fails here, before the data is loaded
    windows, valid, trained_on = training_data(config)
    print(f"training on {len(windows)} person windows of '{config.train_split}'"
          + (f", validating on {len(valid)} '{config.valid_split}' samples" if valid is not None else "")
          + f"; device {on}, {configure_threads(getattr(args, 'threads', None))} torch thread(s)")
    trainer = Trainer(config, windows, *(() if valid is None else (valid.observed, valid.future)),
                      callbacks=[lambda record: tqdm.write(format_record(record))], overwrite=args.overwrite)
    trainer.trained_on = trainer.trained_on or trained_on  # kept from a resumed run, else what this one learns from
    trainer.fit()
    print(f"checkpoints in {config.checkpoint_dir}/")
    return 0


def run_pretrain(args) -> int:
    return run_train(args, RECIPES[args.recipe])


def run_valid(args) -> int:
    writable_folder(Path(args.visualizations), "--visualizations")  # before any scoring, not after it
    split = load_named_split("valid", data_dir(args))
    if not 0 <= args.sample < len(split):
        raise OptionError(f"--sample {args.sample}: valid has samples 0..{len(split) - 1}")
    on = device(args.dev)
    scored = predict_checkpoint(checkpoint_dir(args), split, on)
    scores = check_finite(row("derpof", scored.predictions, split).metrics | {"loss": scored.loss}, "valid: derpof")
    from .viz import save_frame_pngs
    pngs = save_frame_pngs(split.observed[args.sample, [args.person]], split.future[args.sample, [args.person]],
                           scored.predictions[args.sample, [args.person]], args.visualizations)
    if args.json:
        print_json({"predictor": "derpof", "scored_with": scored.scoring.label, "device": str(on),
                    "is_validation": scored.scoring.is_validation, **scores})
    else:
        print(format_table({label_of("derpof"): scores}))
        print(f"loss (deterministic z) {scored.loss:.5f}; {scored.scoring.label}; device {on}")
    print(f"{len(pngs)} PNGs of sample {args.sample} person {args.person} in {args.visualizations}/",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def run_test(args) -> int:
    split = load_named_split("test", data_dir(args))
    on = device(args.dev)
    directory = checkpoint_dir(args)
    saved = checkpoint.load(directory, on)
    config, predictions = saved.config, predict(saved.model, split.observed)
    path = write_poses_json(args.out, predictions, n_scenes=len(split))
    print(f"wrote {path}: {len(split)} scenes x 2 persons x 14 frames x 39, model {directory} "
          f"(trained on '{config.train_split}'), device {on}")
    return 0


# the Config fields that `cv --folds` uses; any other given with --folds is refused (it would be ignored)
FOLDS_FIELDS = {"data_dir", "valid_split", "dev", "seed", "window_stride"}


def scenes(config: Config):
    """The scenes to cross-validate: ``--data FILE.npz`` (:meth:`~posepred.data.Scenes.load_npz`), else
    the split ``--valid_split`` of the SoMoF folder ``--data``."""
    if config.data_dir and config.data_dir.endswith(".npz"):
        return Scenes.load_npz(config.data_dir)
    return load_split(config.valid_split, config.data_dir)


def run_cv(args) -> int:
    from .cv import cross_validate, default_results_dir, results_path, score_folds, write_cv_results

    config = config_from_args(args, RECIPES[args.recipe])
    if args.init is not None:
        config = config.replace(init_checkpoint=None if args.init.lower() == "none" else args.init)
    if args.samples < 0:
        raise OptionError(f"--samples {args.samples}: expected 0 (no sampling) or more")
    threads = configure_threads(getattr(args, "threads", None))
    split = scenes(config)
    results = Path(args.results) if args.results else default_results_dir(split, paths.results_dir())
    writable_folder(results, "--results")  # before any training, not after it
    command = shlex.join(["posepred", *getattr(args, "argv", ["cv"])])
    # the family of each --folds directory (from its first fold model), or the config's
    families = [checkpoint.load(Path(resolve_relative(d)) / split.sequence_names[0]).config.model
                for d in args.folds or ()]
    name = "ensemble" if len(families) > 1 else (families or [config.model])[0]
    target = results_path(split, results, name, command, args.overwrite)  # refused now, not after training
    if args.predictions:
        writable_folder(Path(args.predictions).parent, "--predictions")
        refuse_special(Path(args.predictions))
        if Path(args.predictions).resolve() in (target.resolve(), target.with_suffix(".md").resolve()):
            raise OptionError(f"--predictions {args.predictions}: that is the results file; choose another name")
    on = device(config.dev)
    if args.folds:
        training = {f.name for f in dataclasses.fields(Config)} - FOLDS_FIELDS
        ignored = [f"--{name}" for name in vars(args) if name in training]
        ignored += ["--save-folds"] * bool(args.save_folds) + ["--init"] * (args.init is not None)
        if ignored:
            raise OptionError(f"--folds scores saved fold models and trains nothing: drop {' '.join(ignored)}")
        print(f"scoring the fold models in {' and '.join(args.folds)} (<sequence>/ each; no training); device {on}, "
              f"{threads} torch thread(s)")
        if len(args.folds) == 1:
            folds, label = load_folds(split, resolve_relative(args.folds[0]), on), None
        else:
            joined = " and ".join(families)
            label = None if families == ["derpof", "simlpe"] else f"ensemble of {joined} (equal weights)"
            folds = load_ensemble_folds(split, args.folds, on)
        samples = args.samples if len(args.folds) == 1 and family(name).samples else 0
        result = score_folds(split, folds, samples, config.seed, config.window_stride, name=name, label=label)
    else:
        print(f"recipe '{args.recipe}', starting from "
              + (f"the weights in {config.init_checkpoint}" if config.init_checkpoint else "random weights")
              + f"; device {on}, {threads} torch thread(s)")
        result = cross_validate(config, split, n_samples=args.samples, checkpoint_root=args.save_folds,
                                overwrite=args.overwrite)
    written = write_cv_results(result, split, results, command=command, overwrite=args.overwrite)
    if args.predictions:
        written.append(write_poses_json(args.predictions, result.predictions))
    print(format_table({r.label: r.metrics for r in result.rows.values() if "vim_100" in r.metrics}))
    print(f"{result.seconds:.0f} s; wrote " + ", ".join(str(p) for p in written))
    return 0


def run_report(args) -> int:
    from .report import report

    results = Path(args.results) if args.results else paths.results_dir()
    return report(results, [Path(p) for p in args.readme] if args.readme else paths.documents(), check=args.check)


def run_convert(args) -> int:
    from .convert import convert

    path, verified = convert(args.directory)
    print(f"wrote {path}" + ("" if verified else " (the old files had no manifest: converted unverified)"))
    return 0


def run_mocap(args) -> int:
    from .mocap import build_corpus

    if args.out and Path(args.out).is_dir():
        raise OptionError(f"--out {args.out}: a directory; give the corpus file name (.npz)")
    path = build_corpus(args.source, args.out)
    print(f"wrote {path}")
    return 0


COMMANDS = {"evaluate": run_evaluate, "train": run_train, "valid": run_valid, "test": run_test, "cv": run_cv,
            "pretrain": run_pretrain, "report": run_report, "mocap": run_mocap,
            "convert": run_convert}
