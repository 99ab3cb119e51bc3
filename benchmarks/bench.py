"""Speed and memory of posepred on this machine: prints figures, asserts nothing.

    python benchmarks/bench.py                 # training steps, threads, inference, memory vs corpus size
    python benchmarks/bench.py --cv            # also time a full `posepred cv`
    python benchmarks/bench.py --quick         # fewer repeats, no memory rows
    python benchmarks/bench.py --profile       # where a default training step spends its time

Every comparison is measured side by side: the variants of one table are timed in turn, round
after round, and each figure is the median over rounds, so load from other processes falls on
all of them alike. Training throughput counts person sequences (the default batch of 60 scenes
is 120 sequences) through forward, loss, backward and an Adam step.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

from posepred.config import RECIPES, Config
from posepred.data import load_split, split_windows
from posepred.evaluate import predict
from posepred.models import DeRPoF
from posepred.paths import default_corpus_path
from posepred.train import derpof_loss


def side_by_side(variants: dict, rounds: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each ``name -> fn``, timed in turn round after round."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def seed_style_step(model: DeRPoF, observed, future, config: Config):
    """The published implementation's structure, as a reference: float64, net_g and net_l run one
    after the other, a fresh dropout draw at every decoder step. Same loss as posepred's."""
    from posepred.motion import positions_to_velocities, split_global_local
    global_velocity, local_velocity = model.observed_velocities(observed)
    target_g, target_l = split_global_local(positions_to_velocities(torch.cat([observed[:, -1:], future], 1)))
    pred_g = model.net_g(global_velocity)
    pred_l, mean, log_var = model.net_l(local_velocity)
    kl = -0.5 * torch.mean(torch.sum(1 + log_var - mean ** 2 - log_var.exp(), dim=-1))
    loss_l = (pred_l.unflatten(-1, (-1, 3)) - target_l).norm(dim=-1).mean()
    return torch.mean((pred_g - target_g) ** 2) + config.local_weight * (loss_l + config.kl_weight * kl)


def training_step(config: Config, batch, dtype, reference: bool = False):
    """A closure running one training step of a fresh model on ``batch`` (person, partner, has)."""
    torch.manual_seed(0)
    model = DeRPoF(**config.model_kwargs()).to(dtype).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    person, partner, has_partner = (b.to(dtype) if b.is_floating_point() else b for b in batch)
    observed, future, partner = person[:, :16], person[:, 16:], partner[:, :16]

    def step():
        if reference:
            loss = seed_style_step(model, observed, future, config)
        else:
            loss = derpof_loss(model, observed, future, config, partner=partner, has_partner=has_partner)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def threads_table(batch, rounds: int) -> None:
    print("\nthreads (default Config, float32, batch 120), side by side:")
    counts = sorted({1, 2, os.cpu_count() or 1})
    step = training_step(Config(), batch, torch.float32)
    times = {}
    for _ in range(3):  # alternate thread counts in blocks; torch's thread pool is process-wide
        for n in counts:
            torch.set_num_threads(n)
            times.setdefault(n, []).append(side_by_side({n: step}, max(3, rounds // 3))[n])
    torch.set_num_threads(1)
    for n in counts:
        print(f"  {n} thread(s): {len(batch[0]) / statistics.median(times[n]):>8,.0f} seq/s")


MEMORY_CHILD = """
import sys, torch, posepred
from posepred.config import RECIPES
from posepred.mocap import load_corpus_windows
from posepred.train import Trainer
windows = load_corpus_windows([sys.argv[1]] * int(sys.argv[2]))
trainer = Trainer(RECIPES['pretrain'].replace(n_epochs=1), windows, save=False, progress=False)
batches = trainer.batches()
for _ in range(20):
    observed, future, partner, has = next(batches)
    from posepred.train import derpof_loss
    loss, _ = derpof_loss(trainer.model, observed, future, trainer.config, partner=partner, has_partner=has)
    trainer.optimizer.zero_grad(); loss.backward(); trainer.optimizer.step()
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak over the fork)
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(len(windows), peak / 1024)
"""


def memory_table() -> None:
    print("\npeak resident memory of pretraining (20 steps) against corpus size (the CMU corpus tiled):")
    print(f"  {'windows':>9} {'peak MiB':>9} {'materialised float64 windows would be':>40}")
    for copies in (1, 15):
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(default_corpus_path()), str(copies)],
                             capture_output=True, text=True, check=True).stdout.split()
        windows, peak = int(out[0]), float(out[1])
        print(f"  {windows:>9,} {peak:>9,.0f} {windows * 30 * 39 * 8 / 2**20:>34,.0f} MiB")


def profile_table(batch, steps: int = 10) -> None:
    """The operators a default training step spends its time in (torch.profiler, self time)."""
    from torch.profiler import profile
    step = training_step(Config(), batch, torch.float32)
    for _ in range(3):
        step()
    with profile() as prof:
        for _ in range(steps):
            step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\nwhere a default training step (float32, batch 120) spends its time, {steps} steps:")
    for event in events[:12]:
        share = 100 * event.self_cpu_time_total / total
        print(f"  {event.key:<45} {share:5.1f}%  {event.count // steps:>5} calls/step")
    rnn = sum(e.self_cpu_time_total for e in events if "rnn" in e.key)
    print(f"  the encoders' LSTM layers (mkldnn rnn, forward and backward): {100 * rnn / total:.0f}% of the step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 rounds, no memory table")
    parser.add_argument("--cv", action="store_true", help="also time a full cross-validation run")
    parser.add_argument("--profile", action="store_true", help="also profile a default training step")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds

    valid, test = load_split("valid"), load_split("test")
    windows = split_windows(valid)
    batch = windows.gather(torch.arange(120))
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at start, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), python {platform.python_version()}")

    shipped = RECIPES["finetune"]
    steps = {
        "seed-style step, float64 (reference)": training_step(Config(), batch, torch.float64, reference=True),
        "posepred, default Config, float32": training_step(Config(), batch, torch.float32),
        "posepred, default Config, float64": training_step(Config(), batch, torch.float64),
        "posepred, shipped recipe, float32": training_step(shipped, batch, torch.float32),
    }
    print(f"\ntraining throughput at the default batch (120 sequences), {rounds} rounds side by side:")
    times = side_by_side(steps, rounds)
    reference = times["seed-style step, float64 (reference)"]
    for name, seconds in times.items():
        print(f"  {name:<40} {120 / seconds:>8,.0f} seq/s  {reference / seconds:>5.2f}x reference")

    threads_table(batch, rounds)
    if args.profile:
        profile_table(batch)

    model = DeRPoF(**shipped.model_kwargs()).eval()
    latency = side_by_side({"z": lambda: predict(model, test.observed),
                            "K": lambda: predict(model, test.observed, n_samples=20)}, rounds)
    print(f"\ninference, shipped recipe, 85 test scenes: deterministic {1000 * latency['z']:.1f} ms, "
          f"20 samples {1000 * latency['K']:.1f} ms")

    if not args.quick:
        memory_table()
    if args.cv:
        from posepred.cv import cross_validate
        start = time.perf_counter()
        cross_validate(shipped, valid, n_samples=20, progress=False)
        print(f"\nposepred cv (shipped recipe, {shipped.n_epochs} epochs x 4 folds, K=20): "
              f"{time.perf_counter() - start:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
