"""Cross-validated ablations of the training recipe: one line per experiment in results/ablations.md.

    python benchmarks/ablations.py            # every experiment below (about 10 minutes on 2 cores)
    python benchmarks/ablations.py --only NAME   # experiments whose name contains NAME (prints only)

Each experiment is the 'finetune' recipe (or the seed's Config) with some fields changed, run
through the same leave-one-sequence-out cross-validation as `posepred cv`; numbers are out of fold.
Rows go to results/ablations.json keyed by id (with the baselines, computed here);
results/ablations.md is rendered from it (`python -m posepred.report` does the same).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from posepred import paths
from posepred.checkpoint import atomic_write_text
from posepred.config import RECIPES
from posepred.cv import cross_validate
from posepred.data import load_split
from posepred.evaluate import BASELINES, ResultRow, baseline_rows, save_results
from posepred.metrics import summary
from posepred.mocap import load_corpus_windows
from posepred.report import ablations_markdown
from posepred.train import Trainer

SEED, FINETUNE = RECIPES["seed"], RECIPES["finetune"]
EXPERIMENTS = {
    "seed Config, random init, 30 epochs": SEED.replace(n_epochs=30),
    "seed Config + residual over damped velocity, random init, 30 epochs":
        SEED.replace(n_epochs=30, residual_damping=0.8),
    "seed + residual + rotation/mirror aug + grad clip, random init, 30 epochs":
        SEED.replace(n_epochs=30, residual_damping=0.8, rotate=True, mirror=True, grad_clip=1.0),
    "finetune recipe (pretrained CMU, residual 0.8, aug, 10 epochs lr 0.001)": FINETUNE,
    "finetune, 0 epochs (pretrained model as is)": FINETUNE.replace(n_epochs=0),
    "finetune, 5 epochs": FINETUNE.replace(n_epochs=5),
    "finetune, 20 epochs": FINETUNE.replace(n_epochs=20),
    "finetune, lr 0.0005": FINETUNE.replace(lr=0.0005),
    "finetune, lr 0.002": FINETUNE.replace(lr=0.002),
    "finetune, no augmentation": FINETUNE.replace(rotate=False, mirror=False),
    "finetune, dropout 0": FINETUNE.replace(dropout=0.0),
    "finetune, kl_weight 0.1": FINETUNE.replace(kl_weight=0.1),
    "finetune, local_weight 1.0": FINETUNE.replace(local_weight=1.0),
    "finetune, batch_size 16": FINETUNE.replace(batch_size=16),
}
PRETRAIN_FIRST = {  # experiments that need their own pretrained model: (pretraining Config, fine-tuning Config)
    "pretrained and fine-tuned WITHOUT the residual over damped velocity":
        (RECIPES["pretrain"].replace(residual_damping=None), FINETUNE.replace(residual_damping=None)),
}
ENSEMBLES = {  # average of the out-of-fold predictions of experiments above
    "ensemble: mean of the finetune recipe and the WITHOUT-residual model": (
        "finetune recipe (pretrained CMU, residual 0.8, aug, 10 epochs lr 0.001)",
        "pretrained and fine-tuned WITHOUT the residual over damped velocity"),
}
HORIZONS = ("vim_100", "vim_240", "vim_500", "vim_640", "vim_900", "vim_mean")


def experiment_id(name: str) -> str:
    """A stable id for an experiment's row in results/ablations.json (its name, lower case, as a slug)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=None, help="run the experiments whose name contains this text")
    parser.add_argument("--results", default=None, help="results directory (default: results/)")
    args = parser.parse_args()
    valid = load_split("valid")
    baselines = baseline_rows(valid)  # computed here, never copied: the rows to beat
    damped = baselines[BASELINES.index("damped_velocity")].metrics
    rows, seconds, predictions = [], {}, {}

    def record(name, metrics, spent):
        rows.append(ResultRow(experiment_id(name), name, metrics))
        if spent is not None:
            seconds[rows[-1].id] = round(spent, 1)
        wins = all(metrics[k] < damped[k] for k in HORIZONS[:5])
        print(f"| {name} | " + " | ".join(f"{metrics[k]:.2f}" for k in HORIZONS)
              + f" | {'yes' if wins else 'no'} | {'-' if spent is None else f'{spent:.0f}'} |", flush=True)

    wanted = {name for name in {**EXPERIMENTS, **PRETRAIN_FIRST} if not args.only or args.only in name}
    wanted |= {member for name, members in ENSEMBLES.items() if not args.only or args.only in name
               for member in members}
    for name, config in {**EXPERIMENTS, **PRETRAIN_FIRST}.items():
        if name not in wanted:
            continue
        if name in PRETRAIN_FIRST:
            pretrain, config = config
            directory = tempfile.mkdtemp(prefix="pretrain_")
            Trainer(pretrain.replace(checkpoint_dir=directory), load_corpus_windows(), progress=False).fit()
            config = config.replace(init_checkpoint=directory)
        result = cross_validate(config, valid, n_samples=0, progress=False)
        predictions[name] = result.predictions
        record(name, result.rows["derpof"].metrics, result.seconds)
    for name, members in ENSEMBLES.items():
        if all(member in predictions for member in members):
            record(name, summary(sum(predictions[m] for m in members) / len(members), valid.future), None)
    if not args.only:
        results = Path(args.results) if args.results else paths.results_dir()
        save_results(results / "ablations.json", baselines + rows, experiments=[r.id for r in rows],
                     seconds=seconds, notes=NOTES, command="python benchmarks/ablations.py")
        atomic_write_text(results / "ablations.md", ablations_markdown(results / "ablations.json"))
        print(f"wrote {results / 'ablations.json'} and ablations.md")


NOTES = """Notes. Times are wall seconds on 2 CPU cores and vary with machine load. Pretraining on CMU
motion capture and rotation/mirror augmentation are the levers that matter; predicting a
correction over damped velocity wins the short horizons. `local_weight` and `kl_weight` change
nothing measurable: net_g and net_l have separate parameters and Adam is invariant to the scale
of each one's loss, and the VAE's posterior has collapsed onto the prior (KL about 2e-6 on valid),
so the local decoder ignores z. The 'pretrained without residual' row needs its own pretraining
run (about 2 minutes) and is measured on the same corpus."""


if __name__ == "__main__":
    main()
