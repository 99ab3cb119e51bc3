"""A training loop you can watch: Adam, a learning-rate schedule, a progress bar, a callback per epoch.

    trainer = Trainer(config, windows, valid_observed, valid_future, callbacks=[plot])
    history = trainer.fit()        # one record (dict) per epoch; plot(record) is called after each

``windows``: person windows ``(W, 30, 13, 3)`` or a :class:`~posepred.windows.WindowSet`; validation
scenes ``(N, 2, 16, 13, 3)`` and ``(N, 2, 14, 13, 3)``. The model and its loss come from the config's
family (:mod:`posepred.forecasters`); saving and resuming are :mod:`posepred.checkpoint` and
:mod:`posepred.resume`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from tqdm.auto import tqdm

from . import checkpoint
from .config import Config
from .errors import CheckpointError, DataError
from .forecasters import family
from .metrics import ACTIVE_KL_NATS, summary
from .resume import resume, start_from
from .runtime import resolve_device
from .windows import Batch, as_window_set, scene_batch, window_batch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


class Trainer:
    """Adam + ReduceLROnPlateau on the training loss; ``callbacks`` get each epoch's record (a dict);
    with ``save``, a checkpoint after every epoch in ``config.checkpoint_dir``."""

    def __init__(self, config: Config, train_windows, valid_observed=None, valid_future=None,
                 callbacks: list[Callable[[dict], None]] = (), save: bool = True, progress: bool = True,
                 overwrite: bool = False):
        self.config, self.callbacks, self.save, self.progress, self.overwrite = (
            config, list(callbacks), save, progress, overwrite)
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
        self.valid = (None if valid_observed is None or valid_future is None
                      else scene_batch(valid_observed, valid_future, self.device, self.dtype))
        self.family = family(config.model)
        self.model = self.family.build(config).to(self.device, self.dtype)
        if config.init_checkpoint:
            start_from(self.model, config, config.init_checkpoint)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, factor=config.scheduler_factor, patience=config.scheduler_patience)
        self.epoch, self.history, self.saved_epoch, self.changes = 0, [], None, {}
        self.trained_on: list[str] = []  # sha256 of each sequence trained on (cross-validation sets it)
        if config.load_checkpoint:
            resume(self, config.checkpoint_dir)

    def batches(self) -> Iterator[Batch]:
        """Shuffled person windows, ``2 * batch_size`` a batch, cut by index and augmented on the fly
        (each person and partner rotated and mirrored together)."""
        n, size = len(self.windows), 2 * self.config.batch_size
        order = torch.randperm(n, generator=self.generator) if self.config.loader_shuffle else torch.arange(n)
        for start in range(0, n, size):
            yield window_batch(self.windows, order[start:start + size], self.device, self.dtype, self.generator,
                               self.config.rotate, 0.5 if self.config.mirror else 0.0)

    def train_epoch(self) -> dict:
        """One pass over the windows; the record holds the loss, its terms and the metrics, averaged."""
        self.model.train()
        sums, count = {}, 0
        for batch in self.batches():
            loss, terms, predicted = self.family.loss(self.model, batch, self.config, self.epoch)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"epoch {self.epoch + 1}: loss became {loss.item()}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            n = len(batch.observed)  # every value is a mean over sequences: weighted by size, they add up
            values = {"loss": loss.item(), **{k: float(v) for k, v in terms.items()},
                      **summary(predicted.detach(), batch.future)}
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value * n
            count += n
        return {f"train_{k}": v / count for k, v in sums.items()}

    @torch.no_grad()
    def validate(self) -> dict:
        """Loss (deterministic prediction) and metrics on the validation scenes, and the KL of each
        latent dimension for models that have one; {} without validation scenes."""
        if self.valid is None:
            return {}
        self.model.eval()
        loss, terms, predicted = self.family.loss(self.model, self.valid, self.config, self.epoch)
        record = {"valid_loss": loss.item(), **{f"valid_{k}": float(v) for k, v in terms.items()},
                  **{f"valid_{k}": v for k, v in summary(predicted, self.valid.future).items()}}
        if hasattr(self.model, "kl_per_dimension"):
            kl = self.model.kl_per_dimension(self.valid.observed, self.valid.future).tolist()
            record |= {"valid_kl_per_dim": kl, "valid_active_dims": sum(k > ACTIVE_KL_NATS for k in kl)}
        return record

    def state_dict(self) -> dict:
        """What an exact resume needs besides the weights (:mod:`posepred.resume` reads it back)."""
        state = {"epoch": self.epoch, "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                 "generator": self.generator.get_state()}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.trained_on:
            state["trained_on"] = list(self.trained_on)
        return state

    def kept(self) -> str:
        """What is on disk after a stop."""
        if not self.save:
            return "checkpoints were off, nothing saved"
        if self.saved_epoch is None:
            return f"no checkpoint of this run was saved in {self.config.checkpoint_dir}"
        return f"last good checkpoint kept in {self.config.checkpoint_dir} (epoch {self.saved_epoch})"

    def fit(self) -> list[dict]:
        """Train up to ``config.n_epochs`` (counting those done before a resume). With ``save``, the
        checkpoint directory is locked for the run and a checkpoint saved after every epoch; a
        directory that holds another run is refused unless resuming or ``overwrite``. Ctrl-C keeps the
        last finished epoch's checkpoint, says how to resume and re-raises KeyboardInterrupt."""
        directory = self.config.checkpoint_dir
        lock = checkpoint.DirectoryLock(directory).acquire() if self.save else None
        try:
            if lock and not (self.config.load_checkpoint or self.overwrite) and checkpoint.holds_a_run(directory):
                raise CheckpointError(f"{directory}: holds a checkpoint already; resume it with --load_checkpoint "
                                      "true, replace it with --overwrite, or choose another --checkpoint-dir")
            if self.epoch >= self.config.n_epochs:
                tqdm.write(f"nothing to train: {directory} holds epoch {self.epoch} of {self.config.n_epochs} "
                           "(raise --n_epochs to train further)")
            with tqdm(range(self.epoch, self.config.n_epochs), desc="epochs", disable=not self.progress,
                      initial=self.epoch, total=self.config.n_epochs) as bar:
                for _ in bar:
                    record = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"]}
                    record |= {"changed_on_resume": self.changes} if self.changes else {}
                    record |= self.train_epoch() | self.validate()
                    self.scheduler.step(record["train_loss"])
                    self.epoch, self.changes = self.epoch + 1, {}
                    self.history.append(record)
                    if lock:
                        try:  # weights a load would refuse are never saved over the last good ones
                            checkpoint.check_weights(directory, self.model, self.model.state_dict())
                        except CheckpointError as exc:
                            raise TrainingDiverged(f"epoch {self.epoch}: {str(exc).split(': ', 2)[-1]}") from None
                        checkpoint.save(directory, self.model, self.config, self.state_dict(), self.history, lock)
                        self.saved_epoch = self.epoch
                    bar.set_postfix(loss=f"{record['train_loss']:.4f}",
                                    vim900=f"{record.get('valid_vim_900', math.nan):.1f}")
                    for callback in self.callbacks:
                        callback(record)
        except KeyboardInterrupt:
            how = f"; resume with `--load_checkpoint true --checkpoint-dir {directory}`" if self.saved_epoch else ""
            tqdm.write(f"interrupted: {self.kept()}{how}")
            raise
        except TrainingDiverged as exc:
            raise TrainingDiverged(f"{exc}; training stopped, {self.kept()}") from None
        finally:
            if lock:
                lock.release()
        return self.history
