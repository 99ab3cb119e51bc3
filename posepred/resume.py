"""Starting a run from saved weights: resuming it exactly, or fine-tuning from another run's model.

Resuming (``--load_checkpoint true``) continues from the saved run's config; options that differ
from it are applied and reported (a changed ``lr`` is set in the optimiser and recorded in the next
history record), except those that would make the saved run something it was not (the model, the
training data, the seed, the precision), which are refused.
"""

from __future__ import annotations

import dataclasses

import torch
from tqdm.auto import tqdm

from . import checkpoint
from .config import MODEL_FIELDS, Config
from .errors import CheckpointError, ConfigError

REFUSED = MODEL_FIELDS + ("double", "seed", "train_split", "train_sequences", "exclude_sequences", "corpus",
                          "window_stride")
KEPT = ("init_checkpoint",)  # the weights come from the checkpoint: the saved value stays
QUIET = ("n_epochs", "load_checkpoint", "checkpoint_dir", "dev", "pin_memory")
# Model fields a fine-tuning run may change from its initial weights: the skeleton step has no
# weights, and the other person's encoder starts as a no-op (its output layer is zero) or is dropped.
FREE_FROM_INIT = ("skeleton", "social")


def resume(trainer, directory) -> None:
    """Load weights, optimiser, scheduler, epoch, random states and history from ``directory`` into
    ``trainer`` (a :class:`~posepred.trainer.Trainer` built with the config to continue with)."""
    saved = checkpoint.load(directory, trainer.device)
    if saved.training is None:
        raise CheckpointError(f"{directory}: holds weights only (no training state); it cannot be resumed")
    changed = {f.name: (getattr(saved.config, f.name), getattr(trainer.config, f.name))
               for f in dataclasses.fields(Config) if getattr(saved.config, f.name) != getattr(trainer.config, f.name)}
    refused = [f"{k} (saved {a!r}, given {b!r})" for k, (a, b) in changed.items() if k in REFUSED]
    if refused:
        raise ConfigError(f"{directory}: resuming with a changed " + "; ".join(refused) + " is refused: the "
                          "checkpoint was trained otherwise. Resume without these options, or train into "
                          "another --checkpoint-dir")
    for name in KEPT:
        if name in changed:
            trainer.config = trainer.config.replace(**{name: changed[name][0]})
    trainer.model.load_state_dict(saved.model.state_dict())
    state = saved.training
    try:
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        trainer.generator.set_state(state["generator"])
        if "cuda_rng" in state and trainer.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], trainer.device)
        epoch = state["epoch"]
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{directory}: unusable training state ({first})") from exc
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch != len(saved.history):
        raise CheckpointError(f"{directory}: epoch {epoch!r} but {len(saved.history)} history records")
    for group in trainer.optimizer.param_groups:
        if "lr" in changed:  # else the optimiser keeps the rate the schedule had reached
            group["lr"] = trainer.config.lr
        for parameter in group["params"]:
            moment = trainer.optimizer.state.get(parameter, {}).get("exp_avg")
            if moment is not None and moment.shape != parameter.shape:
                raise CheckpointError(f"{directory}: optimiser state of shape {list(moment.shape)} for a "
                                      f"parameter of shape {list(parameter.shape)}")
    trainer.scheduler.factor = trainer.config.scheduler_factor
    trainer.scheduler.patience = trainer.config.scheduler_patience
    trainer.epoch, trainer.history, trainer.saved_epoch = epoch, list(saved.history), epoch
    trainer.trained_on = list(state.get("trained_on", []))
    trainer.changes = {k: [a, b] for k, (a, b) in changed.items() if k not in QUIET + KEPT}
    messages = [f"{k} {a!r} -> {b!r} applied" for k, (a, b) in changed.items()
                if k not in ("n_epochs", "load_checkpoint", "checkpoint_dir") + KEPT]
    messages += [f"{k} {b!r} ignored, {a!r} kept (the weights come from the checkpoint)"
                 for k, (a, b) in changed.items() if k in KEPT]
    if messages:
        tqdm.write(f"resuming {directory} after epoch {epoch}: " + "; ".join(messages))


def start_from(model: torch.nn.Module, config: Config, directory) -> None:
    """Initial weights from another run's checkpoint (fine-tuning): every model field must match,
    except :data:`FREE_FROM_INIT`; only the other person's encoder may be missing or left over."""
    saved = checkpoint.load(directory)
    differ = [f"{k}: checkpoint {getattr(saved.config, k)!r}, configured {getattr(config, k)!r}"
              for k in MODEL_FIELDS if k not in FREE_FROM_INIT and getattr(saved.config, k) != getattr(config, k)]
    if differ:
        raise CheckpointError(f"{directory}: initial weights trained with other hyperparameters: " + "; ".join(differ))
    state = {k: v for k, v in saved.model.state_dict().items() if not k.startswith("social.") or config.social}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("social.") for k in missing):
        raise CheckpointError(f"{directory}: initial weights do not fit: missing {missing[:4]}, "
                              f"unexpected {unexpected[:4]}")
