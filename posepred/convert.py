"""``posepred convert DIR``: a checkpoint of an earlier layout -> one ``checkpoint.pt`` (see
:mod:`posepred.checkpoint`), once, explicitly.

Earlier layouts kept ``checkpoint_g.pt`` (net_g), ``checkpoint_l.pt`` (net_l), ``config.json`` and
optionally ``training_state.pt``, ``history.json`` and a ``manifest.json`` of sha256 sums (the first
release, like the paper's code, had no manifest: its files are converted unverified, and the
conversion says so). The weights are renamed to the present modules, the config gets the fields
added since (with the values that reproduce the old behaviour) and the optimiser state follows its
parameters. The converted checkpoint predicts exactly what the old one did (tested).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch

from . import checkpoint
from .config import Config
from .errors import CheckpointError, ConfigError
from .files import read_regular_file

MAX_BYTES = 1 << 30
# fields a config.json of an earlier release may lack, with the value that reproduces its model
OLD_DEFAULTS = {"model": "derpof", "vae": "original", "social": False, "skeleton": False, "free_bits": 0.0,
                "kl_anneal_epochs": 0, "corpus": None, "prior_mean_loss": True}
DROPPED_FIELDS = ("loader_workers",)
RENAMES = [  # (net, old name pattern, new name); None drops an unused weight
    ("g", r"embed\.(.*)", r"net_g.embed.\1"), ("g", r"encoder\.(.*)", r"net_g.encoder.\1"),
    ("g", r"decoder\.(.*)", r"net_g.decoder.cell.\1"), ("g", r"head\.(.*)", r"net_g.decoder.head.\1"),
    ("g", r"social\.(.*)", r"social.\1"),
    ("l", r"encoder\.lstm\.(.*)", r"net_l.encoder.\1"), ("l", r"encoder\.(mean|log_var)\.(.*)", r"net_l.\1.\2"),
    ("l", r"past\.lstm\.(.*)", r"net_l.past.\1"), ("l", r"past\.(mean|log_var)\..*", None),
    ("l", r"decoder\.init_hidden\.(.*)", r"net_l.init_hidden.\1"),
    ("l", r"decoder\.(cell|head)\.(.*)", r"net_l.decoder.\1.\2"),
    ("l", r"(future|posterior|to_global)\.(.*)", r"net_l.\1.\2"),
]


def new_name(net: str, old: str) -> str | None:
    for which, pattern, replacement in RENAMES:
        if which == net and re.fullmatch(pattern, old):
            return None if replacement is None else re.sub(pattern, replacement, old)
    raise CheckpointError(f"checkpoint_{net}.pt: unknown weight {old!r}")


def _files(directory: Path) -> tuple[dict[str, bytes], bool]:
    """The old layout's files, checked against ``manifest.json`` when there is one."""
    names = ("checkpoint_g.pt", "checkpoint_l.pt", "config.json", "training_state.pt", "history.json")
    files = {n: read_regular_file(directory / n, MAX_BYTES, CheckpointError) for n in names
             if (directory / n).exists() or (directory / n).is_symlink()}
    if not (directory / "manifest.json").exists():
        return files, False
    manifest = _json(directory / "manifest.json", read_regular_file(directory / "manifest.json", 1 << 20,
                                                                      CheckpointError))
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise CheckpointError(f"{directory / 'manifest.json'}: not a manifest of files and sha256 sums")
    for name, entry in entries.items():
        if hashlib.sha256(files.get(name, b"")).hexdigest() != entry.get("sha256"):
            raise CheckpointError(f"{directory / name}: does not match manifest.json (torn or modified)")
    return files, {"checkpoint_g.pt", "checkpoint_l.pt", "config.json"} <= set(entries)


def _json(path: Path, data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not JSON ({type(exc).__name__})") from None


def _state_dict(path: Path, data: bytes) -> dict:
    """An old network file: a state dict of tensors named by strings."""
    state = checkpoint.torch_load(path, data)
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return state


def _optimizer(state: dict, old_names: list[str], new_names: list[str]) -> dict:
    """Adam's state keyed by parameter index: follow each parameter to its new index (dropped ones go)."""
    index = {name: i for i, name in enumerate(new_names)}
    moved = {i: index[name] for i, name in enumerate(old_names) if name in index}
    groups = [{**group, "params": sorted(moved[i] for i in group["params"] if i in moved)}
              for group in state["param_groups"]]
    return {"state": {moved[i]: v for i, v in state["state"].items() if i in moved}, "param_groups": groups}


def convert(directory: str | Path) -> tuple[Path, bool]:
    """Write ``directory/checkpoint.pt`` from the earlier layout found there; returns its path and
    whether a manifest verified the weights and config. The old weight files stay; ``config.json`` becomes
    the readable copy of the converted config; a directory that already holds ``checkpoint.pt`` is refused."""
    directory = Path(directory)
    if os.path.lexists(directory / checkpoint.FILE):
        raise CheckpointError(f"{directory / checkpoint.FILE}: already here (converted before?); nothing done")
    files, verified = _files(directory)
    for name in ("checkpoint_g.pt", "checkpoint_l.pt", "config.json"):
        if name not in files:
            raise CheckpointError(f"{directory / name}: missing; not a checkpoint of the earlier layout")
    values = _json(directory / "config.json", files["config.json"])
    if not isinstance(values, dict):
        raise CheckpointError(f"{directory / 'config.json'}: not a config")
    values = {**OLD_DEFAULTS, **{k: v for k, v in values.items() if k not in DROPPED_FIELDS}}
    values["vae"] = "original" if values["vae"] == "seed" else values["vae"]
    try:
        config = Config.from_dict(values, str(directory / "config.json"))
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from exc
    weights, old_names = {}, []
    for net in ("g", "l"):
        for old, tensor in _state_dict(directory / f"checkpoint_{net}.pt", files[f"checkpoint_{net}.pt"]).items():
            name = new_name(net, old)
            old_names.append(name or f"dropped.{net}.{old}")
            if name is not None:
                weights[name] = tensor
    model = checkpoint.build_model(config)
    checkpoint.check_weights(directory / "checkpoint_*.pt", model, weights)
    model.load_state_dict(weights)
    training, history = None, []
    if "training_state.pt" in files:
        training = checkpoint.torch_load(directory / "training_state.pt", files["training_state.pt"])
        optimizer = training.get("optimizer") if isinstance(training, dict) else None
        if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict) or \
                not isinstance(optimizer.get("param_groups"), list):
            raise CheckpointError(f"{directory / 'training_state.pt'}: not a training state with an optimiser")
        history = training.pop("history", [])
        try:
            training["optimizer"] = _optimizer(optimizer, old_names, [n for n, _ in model.named_parameters()])
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{directory / 'training_state.pt'}: unusable optimiser state ({exc!r})") from None
    path = checkpoint.save(directory, model, config, training, history)
    return path, verified
