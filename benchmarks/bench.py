"""Speed and memory of posepred on this machine: prints figures, asserts nothing.

    python benchmarks/bench.py            # training throughput, epoch time, inference latency, memory
    python benchmarks/bench.py --cv       # also time a full `posepred cv` (4 folds, finetune recipe)

Figures are medians over repeats. Training throughput counts person sequences (a batch of
60 scenes = 120 sequences) through forward, loss, backward and an Adam step.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time

import numpy as np
import torch

from posepred.config import RECIPES, Config
from posepred.cv import cross_validate
from posepred.data import load_split, split_windows
from posepred.evaluate import predict
from posepred.models import DeRPoF
from posepred.train import Trainer, derpof_loss


def timed(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_throughput(dtype, scenes: int, windows: np.ndarray, repeats: int) -> float:
    torch.manual_seed(0)
    config = Config()
    model = DeRPoF(**config.model_kwargs()).to(dtype).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    batch = torch.as_tensor(windows[: 2 * scenes], dtype=dtype)
    observed, future = batch[:, :16], batch[:, 16:]

    def step():
        loss, _ = derpof_loss(model, observed, future, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return len(batch) / timed(step, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cv", action="store_true", help="also time a full cross-validation run")
    args = parser.parse_args()

    valid, test = load_split("valid"), load_split("test")
    fold_windows = split_windows(valid, exclude=["courtyard_dancing_00"])
    all_windows = split_windows(valid)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, python {platform.python_version()}")
    print(f"one cross-validation fold: {len(fold_windows)} person windows\n")
    print(f"{'dtype':<8} {'train seq/s @60':>16} {'train seq/s @256':>17} {'s/epoch (fold)':>15} "
          f"{'test 85 z=mean ms':>18} {'test 85 K=20 ms':>16}")
    for dtype in (torch.float32, torch.float64):
        per_60 = training_throughput(dtype, 60, all_windows, args.repeats)
        per_256 = training_throughput(dtype, 256, all_windows, max(3, args.repeats // 4))
        trainer = Trainer(Config(double=dtype == torch.float64, n_epochs=1), fold_windows, save=False,
                          progress=False)
        epoch = timed(trainer.train_epoch, 3, warmup=1)
        model = trainer.model.eval()
        mean_ms = 1000 * timed(lambda m=model: predict(m, test.observed), args.repeats)
        sample_ms = 1000 * timed(lambda m=model: predict(m, test.observed, n_samples=20), max(3, args.repeats // 4))
        name = str(dtype).replace("torch.", "")
        print(f"{name:<8} {per_60:>16,.0f} {per_256:>17,.0f} {epoch:>15.3f} {mean_ms:>18.1f} {sample_ms:>16.1f}")
    if args.cv:
        config = RECIPES["finetune"]
        result = cross_validate(config, valid, n_samples=20, progress=False)
        print(f"\nposepred cv (finetune recipe, {config.n_epochs} epochs x 4 folds, K=20 samples): "
              f"{result.seconds:.1f} s; mean VIM {result.rows['DeRPoF (z = mean)']['vim_mean']:.2f} cm")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
