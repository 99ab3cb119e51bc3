"""Speed and memory of posepred on this machine: prints figures, asserts nothing.

    python benchmarks/bench.py                 # training steps, threads, inference, memory vs corpus size
    python benchmarks/bench.py --floor         # also: what bounds a training step (op costs, batch scaling)
    python benchmarks/bench.py --profile       # also: where a default training step spends its time
    python benchmarks/bench.py --compile       # also: the step under torch.compile (about a minute to compile)
    python benchmarks/bench.py --cv            # also: time a full `posepred cv`
    python benchmarks/bench.py --quick         # fewer repeats, no memory rows
    python benchmarks/bench.py --floor --profile --save   # what the README shows: results/bench.json

Every comparison is measured side by side: the variants of one table are timed in turn, round
after round, and each figure is the median over rounds, so load from other processes falls on
all of them alike. Training throughput counts person sequences (the default batch of 60 scenes
is 120 sequences) through forward, loss, backward and an Adam step. ``--save`` writes the printed
output and its figures to ``results/bench.json``; ``python -m posepred.report`` copies them into
the README, and a test checks the two agree.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import torch
import torch._dynamo

from posepred.config import RECIPES, Config
from posepred.data import N_FUTURE, N_OBSERVED, load_split
from posepred.derpof import DeRPoF, kl_divergence, observed_velocities, reparameterise
from posepred.evaluate import predict
from posepred.forecasters import build_model, family
from posepred.motion import positions_to_velocities, split_global_local
from posepred.paths import default_corpus_path, results_dir
from posepred.results import ResultRow, save_results
from posepred.skeleton import N_COORDS
from posepred.windows import Batch, split_windows

REFERENCE = "step_reference_float64"
# printed by torch.backends.mkldnn.flags() (the "whole" compile variant) on CPUs without Intel GPU support
warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")


class Output:
    """Prints lines and keeps them, with the figures behind them as result rows (``--save``)."""

    def __init__(self):
        self.lines, self.rows = [], []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.extend(line.split("\n"))

    def figure(self, row_id: str, label: str, **metrics: float) -> None:
        self.rows.append(ResultRow(row_id, label, {k: float(v) for k, v in metrics.items()}))


def amx() -> str:
    """", AMX" or ", no AMX" (Intel's matrix unit for bfloat16, from /proc/cpuinfo); "" where unknown."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    return ", AMX" if "amx_bf16" in flags else ", no AMX"


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


def published_style_step(model: DeRPoF, observed, future, config: Config):
    """The published implementation's structure, as a reference: net_g and net_l run one after the
    other, the loss taken on the predicted velocities directly (the paper's model, in float64 here)."""
    global_velocity, local_velocity = observed_velocities(observed)
    target_g, target_l = split_global_local(positions_to_velocities(torch.cat([observed[:, -1:], future], 1)))
    pred_g = model.net_g(global_velocity)
    mean, log_var = model.net_l.encode(local_velocity)
    pred_l = model.net_l.decode(reparameterise(mean, log_var), local_velocity[:, -1])
    kl = kl_divergence(mean, log_var).sum(-1).mean()
    loss_l = (pred_l.unflatten(-1, (-1, 3)) - target_l).norm(dim=-1).mean()
    return torch.mean((pred_g - target_g) ** 2) + config.local_weight * (loss_l + config.kl_weight * kl)


def training_step(config: Config, batch, dtype, reference: bool = False, compiled: str | None = None):
    """A closure running one training step of a fresh model on ``batch`` (person, partner, has).

    ``compiled="loss"``: the loss under torch.compile, the LSTM layers left to eager mkldnn (dynamo's
    default); ``"whole"``: the LSTM layers traced into the graph too (mkldnn off), so that inductor
    fuses the elementwise work of every recurrent step."""
    torch.manual_seed(0)
    model = build_model(config).to(dtype).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    person, partner, has_partner = (b.to(dtype) if b.is_floating_point() else b for b in batch)
    step_batch = Batch(person[:, :N_OBSERVED], person[:, N_OBSERVED:], partner[:, :N_OBSERVED], has_partner)
    loss_of = family(config.model).loss

    def loss():
        if reference:
            return published_style_step(model, step_batch.observed, step_batch.future, config)
        return loss_of(model, step_batch, config)[0]
    if compiled == "whole":
        torch._dynamo.config.allow_rnn = True  # process-wide: compile the "loss" variant first
        loss_fn = torch.compile(lambda: loss())  # a code object of its own: compiled afresh, not reused
    else:
        loss_fn = torch.compile(loss) if compiled else loss

    def step():
        with torch.backends.mkldnn.flags(enabled=compiled != "whole"):
            value = loss_fn()
            optimizer.zero_grad(set_to_none=True)
            value.backward()
        optimizer.step()
    return step


def throughput_table(out: Output, batch, rounds: int) -> float:
    """The default step against the published float64 structure; returns the reference's seconds."""
    variants = {  # id -> (label, step)
        REFERENCE: ("published-style step, float64 (reference)",
                    training_step(Config(), batch, torch.float64, reference=True)),
        "step_default_float32": ("posepred, default Config, float32", training_step(Config(), batch, torch.float32)),
        "step_default_float64": ("posepred, default Config, float64", training_step(Config(), batch, torch.float64)),
        "step_shipped_float32": ("posepred, shipped recipe (pretrain, finetune)",
                                 training_step(RECIPES["finetune"], batch, torch.float32)),
    }
    out(f"\ntraining throughput at the default batch ({len(batch[0])} sequences), {rounds} rounds side by side:")
    times = side_by_side({i: step for i, (_, step) in variants.items()}, rounds)
    for row_id, (label, _) in variants.items():
        rate, ratio = len(batch[0]) / times[row_id], times[REFERENCE] / times[row_id]
        out(f"  {label:<45} {rate:>8,.0f} seq/s  {ratio:>5.2f}x reference")
        out.figure(row_id, label, seq_per_s=rate, x_reference=ratio)
    return times[REFERENCE]


# a CPU-bound process that ends by itself when this one does, however this one ends
BURNER = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass"


def threads_table(out: Output, batch, rounds: int, busy_per_core: int = 0) -> None:
    """Training throughput per thread count; with ``busy_per_core``, that many CPU-bound processes
    per core run beside it (a shared machine, made on purpose)."""
    busy = busy_per_core * (os.cpu_count() or 1)
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(busy)]
    try:
        counts = sorted({1, 2, os.cpu_count() or 1})
        step = training_step(Config(), batch, torch.float32)
        times = {}
        for _ in range(3):  # alternate thread counts in blocks; torch's thread pool is process-wide
            for n in counts:
                torch.set_num_threads(n)
                times.setdefault(n, []).append(side_by_side({n: step}, max(3, rounds // 3))[n])
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        torch.set_num_threads(1)
    beside = f", {busy} busy processes beside it" if busy else ", nothing else started"
    out(f"\nthreads (default Config, float32, batch {len(batch[0])}{beside}), side by side:")
    for n in counts:
        rate = len(batch[0]) / statistics.median(times[n])
        out(f"  {n} thread(s): {rate:>8,.0f} seq/s")
        row_id = f"threads_{n}" + (f"_busy_{busy_per_core}_per_core" if busy else "")
        out.figure(row_id, f"{n} thread(s){beside}", seq_per_s=rate)


def matmul_flops(config: Config, batch: int) -> float:
    """Floating-point operations in the matrix products of one training step of ``config``'s paper
    model (forward, and backward at twice the forward): the LSTM gates of the encoders (net_g, and
    net_l's two layers, over the 15 observed velocities) and decoders (14 future frames), and the
    decoders' output layers."""
    h, e, local, past = config.hidden_dim, config.embedding_dim, N_COORDS, N_OBSERVED - 1
    gates = (past * ((e + h) + (local + h) + (h + h)) + N_FUTURE * ((e + h) + (local + h))) * 4 * h
    return 3 * 2 * batch * (gates + N_FUTURE * h * (3 + local))


def floor_table(out: Output, windows, reference_seconds: float, rounds: int) -> None:
    """What bounds the default step: its time against the batch, and what its pieces cost."""
    sizes = (12, 120, 480)
    steps = {n: training_step(Config(), windows.gather(torch.arange(n) % len(windows)), torch.float32)
             for n in sizes}
    times = side_by_side(steps, rounds)
    torch.manual_seed(0)
    cell, gates = torch.nn.LSTMCell(39, 64), torch.randn(120, 256)
    x, h, c, a = torch.randn(120, 39), torch.randn(120, 64), torch.randn(120, 64), torch.randn(120, 64)
    inputs, weights = torch.cat([x, h], 1), torch.cat([cell.weight_ih, cell.weight_hh], 1).detach().t().contiguous()
    inputs16, weights16 = inputs.bfloat16(), weights.bfloat16()
    with torch.no_grad():
        ops = side_by_side({"mul": lambda: a * h, "mm": lambda: inputs @ weights,
                            "mm_bf16": lambda: inputs16 @ weights16, "sigmoid": lambda: gates.sigmoid(),
                            "cell": lambda: cell(x, (h, c))}, 20 * rounds)
    out("\nwhat bounds the default step (float32), side by side:")
    out("  batch  ms/step  seq/s")
    for n in sizes:
        out(f"  {n:>5} {1000 * times[n]:>8.1f} {n / times[n]:>6,.0f}")
        out.figure(f"floor_batch_{n}", f"default step, batch {n}", ms=1000 * times[n], seq_per_s=n / times[n])
    out("  one operation at the decoder's sizes (batch 120, 39 -> 64 hidden), forward, no autograd:")
    gflops = {}
    for key, label in (("mul", "an elementwise multiply (120 x 64): the cost of dispatching one op"),
                       ("mm", "the gate matmul (120 x 103) @ (103 x 256)"),
                       ("mm_bf16", "the same matmul in bfloat16 (AMX where the CPU has it)"),
                       ("sigmoid", "a sigmoid of the gates (120 x 256)"),
                       ("cell", "one nn.LSTMCell step")):
        if key.startswith("mm"):
            gflops[key] = 2 * 120 * 103 * 256 / ops[key] / 1e9
        out(f"    {1e6 * ops[key]:>7.1f} us  {label}" + (f", {gflops[key]:.0f} GFLOP/s" if key in gflops else ""))
        out.figure(f"op_{key}", label, us=1e6 * ops[key], **({"gflop_per_s": gflops[key]} if key in gflops else {}))
    flops = matmul_flops(Config(), 120)
    per_sequence = (times[480] - times[120]) / (480 - 120)
    best = max(gflops.values()) * 1e9
    out(f"  each sequence beyond 120 adds {1000 * per_sequence:.3f} ms: with no fixed cost at all, the step would "
        f"run at most {1 / per_sequence:,.0f} seq/s")
    out(f"  the step's matrix products (73 LSTM cell steps and 28 output layers, forward and backward): "
        f"{flops / 1e9:.2f} GFLOP, at least {1000 * flops / best:.1f} ms at the best matmul speed above "
        f"(the step takes {1000 * times[120]:.1f} ms)")
    out.figure("floor", "the default step at batch 120", ms=1000 * times[120], per_sequence_ms=1000 * per_sequence,
               cap_seq_per_s=1 / per_sequence, matmul_gflop=flops / 1e9, matmul_ms=1000 * flops / best)


def compile_table(out: Output, batch, rounds: int) -> None:
    """The default step under torch.compile (two ways, see :func:`training_step`), each compiled
    from an empty cache, side by side with the eager step."""
    variants, seconds = {"eager": training_step(Config(), batch, torch.float32)}, {}
    with tempfile.TemporaryDirectory(prefix="posepred-inductor-") as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # read when inductor is first imported, below
        for mode in ("loss", "whole"):
            start = time.perf_counter()
            variants[mode] = training_step(Config(), batch, torch.float32, compiled=mode)
            variants[mode]()  # compiles forward and backward
            seconds[mode] = time.perf_counter() - start
    os.environ.pop("TORCHINDUCTOR_CACHE_DIR")
    times = side_by_side(variants, rounds)
    out("\ntorch.compile (inductor) of the default step, side by side:")
    labels = {"eager": "eager (not compiled)", "loss": "compiled, LSTM layers eager (mkldnn)",
              "whole": "compiled whole, LSTM layers traced and fused"}
    for mode, label in labels.items():
        spent = f"  after {seconds[mode]:.0f} s of compiling" if mode in seconds else ""
        out(f"  {label:<45} {len(batch[0]) / times[mode]:>8,.0f} seq/s  {times['eager'] / times[mode]:.2f}x{spent}")
        if mode in seconds:
            out.figure(f"compile_{mode}", label, seconds_to_compile=seconds[mode], x_eager=times["eager"] / times[mode])


def profile_table(out: Output, batch, steps: int = 10) -> None:
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
    out(f"\nwhere a default training step (float32, batch {len(batch[0])}) spends its time, {steps} steps:")
    for event in events[:12]:
        share = 100 * event.self_cpu_time_total / total
        out(f"  {event.key:<45} {share:5.1f}%  {event.count // steps:>5} calls/step")
    rnn = 100 * sum(e.self_cpu_time_total for e in events if "rnn" in e.key) / total
    out(f"  the encoders' LSTM layers (mkldnn rnn, forward and backward): {rnn:.0f}% of the step")
    out.figure("profile_encoder_lstm", "encoders' LSTM layers", share_percent=rnn)


MEMORY_CHILD = """
import sys, torch, posepred
from posepred.config import RECIPES
from posepred.mocap import load_corpus_windows
from posepred.trainer import Trainer
windows = load_corpus_windows([sys.argv[1]] * int(sys.argv[2]))
trainer = Trainer(RECIPES['pretrain'].replace(n_epochs=1, dev='cpu'), windows, save=False, progress=False)
batches = trainer.batches()
for _ in range(20):
    loss = trainer.family.loss(trainer.model, next(batches), trainer.config)[0]
    trainer.optimizer.zero_grad(); loss.backward(); trainer.optimizer.step()
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak over the fork)
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(len(windows), peak / 1024)
"""


def memory_table(out: Output) -> None:
    out("\npeak resident memory of pretraining (20 steps) against corpus size (the CMU corpus tiled):")
    out(f"  {'windows':>9} {'peak MiB':>9} {'materialised float64 windows would be':>40}")
    for copies in (1, 15):
        result = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(default_corpus_path()), str(copies)],
                                capture_output=True, text=True, check=True).stdout.split()
        windows, peak = int(result[0]), float(result[1])
        out(f"  {windows:>9,} {peak:>9,.0f} {windows * 30 * 39 * 8 / 2**20:>34,.0f} MiB")
        out.figure(f"memory_corpus_x{copies}", f"pretraining, CMU corpus x{copies}", windows=windows, peak_mib=peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 rounds, no memory table")
    parser.add_argument("--floor", action="store_true", help="also measure what bounds a training step")
    parser.add_argument("--profile", action="store_true", help="also profile a default training step")
    parser.add_argument("--compile", action="store_true", help="also time the step under torch.compile")
    parser.add_argument("--cv", action="store_true", help="also time a full cross-validation run")
    parser.add_argument("--save", action="store_true", help="write the output and figures to results/bench.json")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    out = Output()

    valid, test = load_split("valid"), load_split("test")
    windows = split_windows(valid)
    batch = windows.gather(torch.arange(120))
    load = os.getloadavg()[0]
    out(f"machine: {platform.machine()}, {os.cpu_count()} cores{amx()}, load average {load:.1f} at start, "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), python {platform.python_version()}")
    out.figure("machine", "machine", cores=os.cpu_count() or 1, load_average=load)

    reference = throughput_table(out, batch, rounds)
    threads_table(out, batch, rounds)
    for busy_per_core in (2, 4):  # a shared machine: two and four CPU-bound processes per core
        threads_table(out, batch, rounds, busy_per_core)
    if args.floor:
        floor_table(out, windows, reference, rounds)
    if args.profile:
        profile_table(out, batch)
    if args.compile:
        compile_table(out, batch, rounds)

    shipped = RECIPES["finetune"]
    model = build_model(shipped).eval()
    latency = side_by_side({"z": lambda: predict(model, test.observed),
                            "K": lambda: predict(model, test.observed, n_samples=20)}, rounds)
    out(f"\ninference, shipped recipe, 85 test scenes: deterministic {1000 * latency['z']:.1f} ms, "
        f"20 samples {1000 * latency['K']:.1f} ms")
    out.figure("inference", "inference, 85 test scenes", ms=1000 * latency["z"], ms_20_samples=1000 * latency["K"])

    if not args.quick:
        memory_table(out)
    if args.cv:
        from posepred.cv import cross_validate
        start = time.perf_counter()
        cross_validate(shipped, valid, n_samples=20, progress=False)
        out(f"\nposepred cv (shipped recipe, {shipped.n_epochs} epochs x 4 folds, K=20): "
            f"{time.perf_counter() - start:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out(f"\npeak resident memory of this process: {peak:.0f} MiB")
    if args.save:
        path = save_results(results_dir() / "bench.json", out.rows, output=out.lines,
                            command="python benchmarks/bench.py " + " ".join(sys.argv[1:]))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
