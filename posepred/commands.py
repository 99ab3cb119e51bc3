"""What each ``posepred`` subcommand does; :mod:`posepred.cli` parses the arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .checkpoint import load_model, resolve_dir
from .cli import config_from_args, default_path, print_json
from .config import RECIPES, Config
from .cv import cross_validate, out_of_fold, write_cv_results
from .data import DataError, default_data_dir, load_split, split_windows
from .evaluate import baseline_predictions, predict, seen_sequences, write_poses_json
from .metrics import format_table, summary
from .models import resolve_device
from .train import Trainer, format_record, scene_loss

SHIPPED_MODEL = default_path("checkpoints", "derpof")


def score_checkpoints(directory: str | Path, split, device="cpu") -> tuple[np.ndarray, str, float | None]:
    """Predict ``split`` honestly: with the model in ``directory`` when it never saw these samples,
    else with ``directory/folds/<sequence>/`` (out of fold), else labelled as seen in training.

    Returns predictions ``(N, 2, 14, 13, 3)``, a label saying which, and the loss (z = mean) when
    the split has ground truth.
    """
    directory = resolve_dir(directory)
    model, config = load_model(directory, device=device)
    seen = seen_sequences(config, split)
    has_truth = split.future is not None
    if seen and (directory / "folds").is_dir():
        folds = directory / "folds"
        predictions, loss = out_of_fold(split, folds, device)
        return predictions, f"out of fold: each sequence scored by {folds}/<sequence>, which did not see it", loss
    label = (f"WARNING: model {directory} was trained on these samples ({sorted(seen)}): NOT a validation score"
             if seen else f"model {directory} (never trained on {split.name})")
    return (predict(model, split.observed), label,
            scene_loss(model, config, split.observed, split.future) if has_truth else None)


def _checkpoint_dir(args) -> Path:
    """``--checkpoint-dir``, else ``checkpoints/`` when you trained there, else the shipped model."""
    if getattr(args, "checkpoint_dir", None):
        return Path(args.checkpoint_dir)
    if Path("checkpoints", "checkpoint_g.pt").is_file():
        return Path("checkpoints")
    print(f"using the shipped model {SHIPPED_MODEL} (pass --checkpoint-dir to choose)", file=sys.stderr)
    return SHIPPED_MODEL


def _data_dir(args) -> Path:
    return Path(getattr(args, "data_dir", None) or default_data_dir())


def run_evaluate(args) -> int:
    split = load_split(args.split, _data_dir(args))
    if split.future is None:
        raise DataError(f"split '{args.split}' has no ground truth ({args.split}_out.json) to score against")
    if args.predictor == "derpof":
        predictions, label, loss = score_checkpoints(_checkpoint_dir(args), split, resolve_device(args.dev))
    else:
        predictions, label = baseline_predictions(args.predictor, split.observed, args.damping), args.predictor
        loss = None
    scores = summary(predictions, split.future) | ({"loss": loss} if loss is not None else {})
    if args.json:
        print_json({"predictor": args.predictor, "split": args.split, "scored_with": label, **scores})
    else:
        print(format_table({args.predictor: scores}))
        print(f"split: {args.split} ({len(split)} samples); {label}")
    return 0


def _training_data(config: Config):
    """Training windows and validation scenes for a config; the split's own held-out sequences
    validate when training and validation use the same split."""
    if config.train_split == "mocap":
        from .mocap import load_corpus_windows
        windows = load_corpus_windows(config.corpus[0] if config.corpus else None, config.window_stride)
    else:
        try:
            train = load_split(config.train_split, config.data_dir)
        except DataError as exc:
            if config.train_split == "train" and "not found" in str(exc):
                raise DataError(f"{exc}. The SoMoF train poses are not shipped (see somof_data_3dpw/README.md); "
                                "run `posepred cv` for cross-validation on valid instead") from exc
            raise
        windows = split_windows(train, config.train_sequences, config.exclude_sequences, config.window_stride)
    valid = load_split(config.valid_split, config.data_dir if config.train_split != "mocap" else None)
    include = config.valid_sequences
    if include is None and config.train_split == config.valid_split:
        include = sorted(set(valid.sequence_names) - seen_sequences(config, valid)) or None
        if include is None:
            tqdm.write("note: every valid sequence is used for training, so no validation metrics are shown")
            return windows, None
    return windows, valid.subset(valid.sample_mask(include=include))


def run_train(args, base: Config | None = None) -> int:
    config = config_from_args(args, base or RECIPES[getattr(args, "recipe", "seed")])
    windows, valid = _training_data(config)
    print(f"training on {len(windows)} person windows of '{config.train_split}'"
          + (f", validating on {len(valid)} '{config.valid_split}' samples" if valid is not None else ""))
    trainer = Trainer(config, windows, *(() if valid is None else (valid.observed, valid.future)),
                      callbacks=[lambda record: tqdm.write(format_record(record))])
    trainer.fit()
    print(f"checkpoints in {config.checkpoint_dir}/")
    return 0


def run_pretrain(args) -> int:
    return run_train(args, RECIPES["pretrain"])


def run_valid(args) -> int:
    split = load_split("valid", _data_dir(args))
    predictions, label, loss = score_checkpoints(_checkpoint_dir(args), split, resolve_device(args.dev))
    scores = summary(predictions, split.future) | {"loss": loss}
    if not 0 <= args.sample < len(split):
        raise ValueError(f"--sample {args.sample}: valid has samples 0..{len(split) - 1}")
    from .viz import save_frame_pngs
    paths = save_frame_pngs(split.observed[args.sample, [args.person]], split.future[args.sample, [args.person]],
                            predictions[args.sample, [args.person]], args.visualizations)
    if args.json:
        print_json({"scored_with": label, **scores})
    else:
        print(format_table({"DeRPoF": scores}))
        print(f"loss (z = mean) {loss:.5f}; {label}")
    print(f"{len(paths)} PNGs of sample {args.sample} person {args.person} in {args.visualizations}/",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def run_test(args) -> int:
    split = load_split("test", _data_dir(args))
    directory = _checkpoint_dir(args)
    model, config = load_model(directory, device=resolve_device(args.dev))
    predictions = predict(model, split.observed)
    path = write_poses_json(args.out, predictions, n_scenes=len(split))
    print(f"wrote {path}: {len(split)} scenes x 2 persons x 14 frames x 39, model {directory} "
          f"(trained on '{config.train_split}')")
    return 0


def run_cv(args) -> int:
    config = config_from_args(args, RECIPES[args.recipe])
    if args.init is not None:
        config = config.replace(init_checkpoint=None if args.init.lower() == "none" else args.init)
    print(f"recipe '{args.recipe}', starting from "
          + (f"the weights in {config.init_checkpoint}" if config.init_checkpoint else "random weights"))
    result = cross_validate(config, n_samples=args.samples, checkpoint_root=args.save_folds)
    paths = write_cv_results(result, args.results, command=" ".join(["posepred", "cv"] + sys.argv[2:])
                             if sys.argv[1:2] == ["cv"] else "posepred cv")
    print(format_table(result.rows))
    print(f"{result.seconds:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


def run_mocap(args) -> int:
    from .mocap import build_corpus
    path = build_corpus(args.source, args.out)
    print(f"wrote {path}")
    return 0

