"""Process-wide torch settings, applied in one place before any torch work, and the device to run on.

Threads: this model is small (LSTMs of 64 units on batches of about 120 sequences), so each op is
too short for a second thread to pay for its synchronisation, and on a busy machine extra threads
wait on each other (measured by the threads table of ``benchmarks/bench.py``). The command line
therefore runs torch on ``DEFAULT_THREADS`` thread(s) unless ``--threads N`` or ``$POSEPRED_THREADS``
says otherwise (``0`` leaves torch's own default, one thread per core); each notebook sets one thread
in its first cell. Importing posepred changes nothing.
"""

from __future__ import annotations

import os
import re

from .errors import OptionError

DEFAULT_THREADS = 1
ENV_THREADS = "POSEPRED_THREADS"


def requested_threads(threads: int | str | None = None) -> int:
    """The thread count to use: ``threads`` if given, else ``$POSEPRED_THREADS``, else the default."""
    source = "--threads"
    if threads is None:
        threads, source = os.environ.get(ENV_THREADS, DEFAULT_THREADS), f"${ENV_THREADS}"
    try:
        value = int(threads)
    except (TypeError, ValueError):
        raise OptionError(f"{source}: expected a whole number of threads (0 = torch's default), "
                          f"got {threads!r}") from None
    if not 0 <= value <= 1024:
        raise OptionError(f"{source}: expected 0..1024 threads (0 = torch's default), got {value}")
    return value


def configure_threads(threads: int | str | None = None) -> int:
    """Set torch's intra-op threads (see the module docstring); returns the count in force."""
    import torch

    value = requested_threads(threads)
    if value > 0 and torch.get_num_threads() != value:
        torch.set_num_threads(value)
    return torch.get_num_threads()


DEVICES = "cpu, cuda, cuda:N, mps or auto"  # torch knows more (meta, xla, xpu, ...): posepred runs on these


def resolve_device(dev: str):
    """``cpu``, ``cuda``, ``cuda:1``, ``mps``, or ``auto`` (cuda, then mps, then cpu) -> a ``torch.device``;
    any other device (torch's ``meta``, ``xla``, ``xpu``, ...) or one this machine lacks is an OptionError."""
    import torch

    if not isinstance(dev, str) or not re.fullmatch(r"cpu|cuda|cuda:[0-9]{1,3}|mps|auto", dev):
        raise OptionError(f"--dev {str(dev)[:40]}: expected {DEVICES}")
    if dev == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    device = torch.device(dev)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"--dev {dev}: CUDA is not available on this machine (try --dev auto or cpu)")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise OptionError(f"--dev {dev}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                          f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise OptionError(f"--dev {dev}: MPS is not available on this machine (try --dev auto or cpu)")
    return device
