"""Training DeRPoF: loss, a trainer loop you can watch, checkpoints and exact resumption.

    trainer = Trainer(config, train_windows, valid_observed, valid_future, callbacks=[plot_fn])
    history = trainer.fit()        # one dict per epoch; plot_fn(record) is called after each

``train_windows`` is ``(W, 30, 13, 3)`` person windows; validation arrays are
``(N, 2, 16, 13, 3)`` / ``(N, 2, 14, 13, 3)`` scenes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from .config import MODEL_FIELDS, Config
from .data import N_OBSERVED, augment
from .errors import ConfigError, DataError
from .lock import DirectoryLock
from .metrics import ACTIVE_KL_NATS, summary
from .models import DeRPoF, future_velocities, kl_divergence
from .runtime import resolve_device
from .windows import as_window_set

__all__ = ["Config", "Trainer", "TrainingDiverged", "derpof_loss", "format_record"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


def derpof_loss(model: DeRPoF, observed: torch.Tensor, future: torch.Tensor, config: Config, sample: bool = True,
                partner: torch.Tensor | None = None, has_partner: torch.Tensor | None = None, kl_scale: float = 1.0):
    """The seed's loss on velocities: ``MSE(global) + local_weight * (mean L2 local error + kl_weight * KL)``.

    ``observed (B, 16, 13, 3)``, ``future (B, F, 13, 3)``, ``partner`` the other person ``(B, 16, 13, 3)``
    (social models); returns ``(loss, predicted positions)``. The local error is the Euclidean norm
    per joint and frame; KL is taken per latent dimension, averaged over the batch, each dimension
    raised to at least ``config.free_bits`` nats, summed, and scaled by ``kl_scale`` (annealing).
    Skeleton-true models are scored on the velocities of their bone-corrected positions. The
    conditional VAE, when ``sample``, draws z from q(z | past, future) and (``config.prior_mean_loss``)
    also decodes z = 0, the prior mean it predicts with at test time, in the same pass: its
    reconstruction terms are then the sum of the two (results/ablations.md measures the prior-mean
    prediction without the second). With ``sample=False`` it predicts from the prior mean and KL is that of
    q's mean.
    """
    target = future_velocities(observed, future)  # (B, F, 42): global, then flattened local
    both = model.net_l.conditional and sample and config.prior_mean_loss
    pred_g, pred_l, mean, log_var = model.forward_velocities(
        observed, sample, future.shape[1], partner, has_partner,
        target if model.net_l.conditional and sample else None, prior_mean_too=both)
    if both:  # predictions from z ~ q, then from z = 0, for the same sequences
        observed, target = torch.cat([observed, observed]), torch.cat([target, target])
    target_g, target_l = target[..., :3], target[..., 3:].unflatten(-1, (-1, 3))
    positions = model.to_positions(observed, pred_g, pred_l)
    if model.skeleton:  # score the velocities of the bone-corrected positions
        corrected = future_velocities(observed, positions)
        pred_g, pred_l = corrected[..., :3], corrected[..., 3:]
    if model.net_l.conditional and not sample:
        kl_dims = model.kl_per_dimension(observed, future)
    else:
        kl_dims = kl_divergence(mean, log_var).mean(dim=0)
    if config.free_bits > 0:
        kl_dims = kl_dims.clamp(min=config.free_bits)
    terms = 2 if both else 1  # each reconstruction term summed over the two halves
    loss_g = terms * torch.mean((pred_g - target_g) ** 2)
    loss_l = terms * (pred_l.unflatten(-1, (-1, 3)) - target_l).norm(dim=-1).mean()
    loss = loss_g + config.local_weight * (loss_l + kl_scale * config.kl_weight * kl_dims.sum())
    return loss, positions[len(positions) // terms * (terms - 1):]


def partners_of(scenes: torch.Tensor) -> torch.Tensor:
    """Scenes ``(N, 2, ...)`` -> each person's partner, flattened like the persons: ``(2N, ...)``."""
    return scenes[:, [1, 0]].flatten(0, 1)


@torch.no_grad()
def scene_loss(model: DeRPoF, config: Config, observed, future) -> float:
    """The training loss with z deterministic on scenes ``(N, 2, 16, 13, 3)`` / ``(N, 2, 14, 13, 3)``."""
    parameter = next(model.parameters())
    observed, future = (torch.as_tensor(np.asarray(a), dtype=parameter.dtype, device=parameter.device)
                        for a in (observed, future))
    model.eval()
    return derpof_loss(model, observed.flatten(0, 1), future.flatten(0, 1), config, sample=False,
                       partner=partners_of(observed))[0].item()


def format_record(record: dict) -> str:
    """One log line per epoch, like the seed's (plus the active latent dimensions on valid)."""
    parts = [f"e: {record['epoch']}", f"lr: {record['lr']:.5f}"]
    for split in ("train", "valid"):
        if f"{split}_loss" in record:
            parts.append(f"{split} loss {record[f'{split}_loss']:.5f} ade {record[f'{split}_ade_rms']:.4f} "
                         f"fde {record[f'{split}_fde_rms']:.4f} vim900 {record[f'{split}_vim_900']:.2f}")
    if "valid_active_dims" in record:
        parts.append(f"active latent dims {record['valid_active_dims']}")
    return " | ".join(parts)


class Trainer:
    """Adam + ReduceLROnPlateau on the training loss, a tqdm bar per run, a callback per epoch.

    ``callbacks`` are called with each epoch's record (a dict of floats). Checkpoints are written
    to ``config.checkpoint_dir`` after every epoch when ``save`` is true.
    """

    def __init__(self, config: Config, train_windows, valid_observed=None, valid_future=None,
                 callbacks: list[Callable[[dict], None]] = (), save: bool = True, progress: bool = True):
        self.config, self.callbacks, self.save, self.progress = config, list(callbacks), save, progress
        self.device = resolve_device(config.dev)
        self.dtype = torch.float64 if config.double else torch.float32
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.windows = as_window_set(train_windows)
        if len(self.windows) == 0:
            raise DataError("no training windows: the selected sequences have no 30-frame stretch (check "
                            "--train_split, --train_sequences and --exclude_sequences)")
        if config.pin_memory and self.device.type == "cuda":
            self.windows.frames = self.windows.frames.pin_memory()
        self.valid = None
        if valid_observed is not None and valid_future is not None:
            observed, future = (torch.as_tensor(np.asarray(a), dtype=self.dtype, device=self.device)
                                for a in (valid_observed, valid_future))
            self.valid = observed.flatten(0, 1), future.flatten(0, 1), partners_of(observed)
        self.model = DeRPoF(**config.model_kwargs()).to(self.device, self.dtype)
        if config.init_checkpoint:
            self.start_from(config.init_checkpoint)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=config.scheduler_factor, patience=config.scheduler_patience)
        self.epoch, self.history = 0, []
        if config.load_checkpoint:
            self.resume(config.checkpoint_dir)

    # Model fields a fine-tuning run may change from its initial weights: the skeleton step has no
    # weights, and the social encoder starts as a no-op (its output layer is zero) or is dropped.
    FREE_FROM_INIT = ("skeleton", "social")

    def start_from(self, directory: str | Path) -> None:
        """Initial weights from another run's checkpoint (fine-tuning); every other model field must
        match, and only the social encoder's weights may be missing or left over."""
        init, saved = ckpt.load_model(directory)
        differ = [f"{k}: checkpoint {getattr(saved, k)!r}, configured {getattr(self.config, k)!r}" for k in MODEL_FIELDS
                  if k not in self.FREE_FROM_INIT and getattr(saved, k) != getattr(self.config, k)]
        if differ:
            raise ckpt.CheckpointError(f"{directory}: initial weights trained with other hyperparameters: "
                                       + "; ".join(differ))
        state = {k: v for k, v in init.state_dict().items() if ".social." not in k or self.config.social}
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected or any(".social." not in k for k in missing):
            raise ckpt.CheckpointError(f"{directory}: initial weights do not fit: missing {missing[:4]}, "
                                       f"unexpected {unexpected[:4]}")

    # -- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        return {"epoch": self.epoch, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                "generator": self.generator.get_state(), "history": self.history}

    def save_checkpoint(self, directory: str | Path | None = None) -> None:
        """Replace the checkpoint set (weights, config, training state, history) all or nothing."""
        directory = directory or self.config.checkpoint_dir
        ckpt.save_checkpoint(directory, self.model, self.config, self.state(), history=self.history,
                             lock=getattr(self, "_lock", None))
        if Path(directory) == Path(self.config.checkpoint_dir):
            self._saved_epoch = self.epoch

    # On resume, options that differ from the saved run are applied (and said so), except these,
    # which would make the saved run something it was not: they are refused.
    REFUSED_ON_RESUME = MODEL_FIELDS + ("double", "seed", "train_split", "train_sequences", "exclude_sequences",
                                        "corpus", "window_stride")
    KEPT_ON_RESUME = ("init_checkpoint",)  # the weights come from the checkpoint: the saved value stays
    QUIET_ON_RESUME = ("n_epochs", "load_checkpoint", "checkpoint_dir", "dev", "pin_memory", "loader_workers")

    def resume(self, directory: str | Path) -> None:
        """Load weights, optimiser, scheduler, epoch and random states saved by :meth:`save_checkpoint`,
        all from one complete set. Options that differ from the saved run are applied (a changed
        ``lr`` is set in the optimiser and recorded in the next epoch's history record) or, for the
        model, data selection, seed and precision, refused with a ConfigError."""
        model, saved, state = ckpt.load_checkpoint_set(directory)
        changed = {f.name: (getattr(saved, f.name), getattr(self.config, f.name))
                   for f in dataclasses.fields(Config) if getattr(saved, f.name) != getattr(self.config, f.name)}
        refused = {k: v for k, v in changed.items() if k in self.REFUSED_ON_RESUME}
        if refused:
            applied = [k for k in changed if k not in refused and k not in self.QUIET_ON_RESUME + self.KEPT_ON_RESUME]
            raise ConfigError(f"{directory}: resuming with a changed " + "; ".join(
                f"{k} (saved {a!r}, given {b!r})" for k, (a, b) in refused.items())
                + " is refused: the checkpoint was trained otherwise. Resume without these options, or train "
                "into another --checkpoint-dir" + (f" (these would be applied: {', '.join(applied)})" if applied
                                                   else ""))
        for name in self.KEPT_ON_RESUME:
            if name in changed:
                self.config = self.config.replace(**{name: changed[name][0]})
        self.model.load_state_dict(model.state_dict())
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            self.generator.set_state(state["generator"])
        except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as exc:
            raise ckpt.CheckpointError(f"{Path(directory) / 'training_state.pt'}: unusable training "
                                       f"state ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                                       ) from exc
        for group in self.optimizer.param_groups:
            for parameter in group["params"]:
                for name, value in self.optimizer.state.get(parameter, {}).items():
                    if name.startswith("exp_avg") and getattr(value, "shape", None) != parameter.shape:
                        raise ckpt.CheckpointError(f"{Path(directory) / 'training_state.pt'}: optimiser state "
                                                   f"{name} has shape {list(getattr(value, 'shape', []))}, the "
                                                   f"parameter {list(parameter.shape)}")
        if "lr" in changed:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr
            self.scheduler._last_lr = [self.config.lr] * len(self.optimizer.param_groups)
        self.scheduler.factor, self.scheduler.patience = self.config.scheduler_factor, self.config.scheduler_patience
        self.epoch, self.history = int(state["epoch"]), list(state.get("history", []))
        self._saved_epoch = self.epoch
        notes = {k: v for k, v in changed.items() if k not in self.QUIET_ON_RESUME + self.KEPT_ON_RESUME}
        self._resume_changes = {k: [a, b] for k, (a, b) in notes.items()}
        messages = [f"{k} {a!r} -> {b!r} applied" for k, (a, b) in changed.items()  # n_epochs: the usual way on
                    if k not in ("n_epochs", "load_checkpoint", "checkpoint_dir") + self.KEPT_ON_RESUME]
        messages += [f"{k} {b!r} ignored, {a!r} kept (the weights come from the checkpoint)"
                     for k, (a, b) in changed.items() if k in self.KEPT_ON_RESUME]
        if messages:
            tqdm.write(f"resuming {directory} after epoch {self.epoch}: " + "; ".join(messages))

    # -- the loop ----------------------------------------------------------------------------
    def batches(self):
        """Person windows in batches of ``2 * batch_size``, shuffled, cut from the frames by index and
        augmented on the fly (each person and partner rotated and mirrored together): tuples of
        observed ``(B, 16, 13, 3)``, future ``(B, 14, 13, 3)``, partner observed ``(B, 16, 13, 3)``
        and has_partner ``(B,)``."""
        n, size = len(self.windows), 2 * self.config.batch_size
        order = torch.randperm(n, generator=self.generator) if self.config.loader_shuffle else torch.arange(n)
        for start in range(0, n, size):
            person, partner, has_partner = self.windows.gather(order[start:start + size])
            batch = torch.stack([person, partner], dim=1).to(self.device, self.dtype, non_blocking=True)
            if self.config.rotate or self.config.mirror:
                batch = augment(batch.flatten(1, 2), self.generator, self.config.rotate,
                                0.5 if self.config.mirror else 0.0).unflatten(1, (2, -1))
            yield (batch[:, 0, :N_OBSERVED], batch[:, 0, N_OBSERVED:], batch[:, 1, :N_OBSERVED],
                   has_partner.to(self.device))

    def kl_scale(self) -> float:
        """KL annealing: the KL weight ramps linearly to 1 over ``kl_anneal_epochs`` epochs."""
        epochs = self.config.kl_anneal_epochs
        return 1.0 if epochs <= 0 else min(1.0, (self.epoch + 1) / epochs)

    def train_epoch(self) -> dict:
        self.model.train()
        total, count, sums = 0.0, 0, {}
        for observed, future, partner, has_partner in self.batches():
            loss, predicted = derpof_loss(self.model, observed, future, self.config, partner=partner,
                                          has_partner=has_partner, kl_scale=self.kl_scale())
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"epoch {self.epoch + 1}: loss became {loss.item()}; training stopped, "
                                       f"last good checkpoint kept in {self.config.checkpoint_dir}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            total, count = total + loss.item() * len(observed), count + len(observed)
            # every metric of summary() is a mean over sequences: batch means weighted by size add up
            # exactly, and memory stays flat however many windows an epoch has
            for key, value in summary(predicted.detach(), future).items():
                sums[key] = sums.get(key, 0.0) + value * len(observed)
        return {"train_loss": total / count, **{f"train_{k}": v / count for k, v in sums.items()}}

    @torch.no_grad()
    def validate(self) -> dict:
        """Loss (deterministic z) and metrics on the validation scenes; {} when there are none."""
        if self.valid is None:
            return {}
        self.model.eval()
        observed, future, partner = self.valid
        loss, predicted = derpof_loss(self.model, observed, future, self.config, sample=False, partner=partner)
        metrics = summary(predicted, future)
        record = {"valid_loss": loss.item(), **{f"valid_{k}": v for k, v in metrics.items()}}
        kl = self.model.kl_per_dimension(observed, future, partner).tolist()
        return record | {"valid_kl_per_dim": kl, "valid_active_dims": sum(k > ACTIVE_KL_NATS for k in kl)}

    def _kept(self) -> str:
        """What is on disk after a stop: the last finished epoch's checkpoint, or none."""
        saved = getattr(self, "_saved_epoch", None)
        directory = self.config.checkpoint_dir
        if not self.save:
            return "checkpoints were off, nothing saved"
        if saved is None:
            return f"no checkpoint of this run was saved in {directory}"
        return f"last good checkpoint kept in {directory} (epoch {saved})"

    def fit(self) -> list[dict]:
        """Train up to ``config.n_epochs`` (counting epochs already done when resumed).

        With ``save``, the checkpoint directory is locked for the whole run (a second run on it
        stops at once) and a complete set is saved after every epoch. Ctrl-C keeps the last finished
        epoch's set, says how to resume, and re-raises KeyboardInterrupt.
        """
        lock = DirectoryLock(self.config.checkpoint_dir).acquire() if self.save else None
        self._lock = lock
        if self.epoch >= self.config.n_epochs:
            tqdm.write(f"nothing to train: {self.config.checkpoint_dir} already holds epoch {self.epoch} and "
                       f"n_epochs is {self.config.n_epochs} (raise --n_epochs to train further)")
        bar = tqdm(range(self.epoch, self.config.n_epochs), desc="epochs", disable=not self.progress,
                   initial=self.epoch, total=self.config.n_epochs)
        try:
            for _ in bar:
                record = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"]}
                changes = getattr(self, "_resume_changes", None)
                if changes:
                    record["changed_on_resume"] = changes
                record.update(self.train_epoch())
                record.update(self.validate())
                self.scheduler.step(record["train_loss"])
                self.epoch += 1
                self.history.append(record)
                self._resume_changes = None
                if self.save:
                    self.save_checkpoint()
                bar.set_postfix(loss=f"{record['train_loss']:.4f}",
                                vim900=f"{record.get('valid_vim_900', math.nan):.1f}")
                for callback in self.callbacks:
                    callback(record)
        except KeyboardInterrupt:
            saved = getattr(self, "_saved_epoch", None)
            how = (f"; resume with `--load_checkpoint true --checkpoint-dir {self.config.checkpoint_dir}`"
                   if self.save and saved is not None else "")
            tqdm.write(f"interrupted: {self._kept()}{how}")
            raise
        except TrainingDiverged as exc:
            head = str(exc).split(";")[0]
            raise TrainingDiverged(f"{head}; training stopped, {self._kept()}") from exc
        finally:
            bar.close()
            self._lock = None
            if lock is not None:
                lock.release()
        return self.history

