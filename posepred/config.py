"""One configuration object for model, training and data; saved as ``config.json`` with checkpoints."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

# Fields that fix the shapes and meaning of the weights: a checkpoint must agree on all of them.
MODEL_FIELDS = ("hidden_dim", "latent_dim", "embedding_dim", "residual_damping", "vae", "social", "skeleton")


@dataclass
class Config:
    """Every option of the seed scripts (same names and defaults) plus data, seed and augmentation."""

    # model (seed defaults)
    hidden_dim: int = 64
    latent_dim: int = 32
    embedding_dim: int = 8
    dropout: float = 0.2
    residual_damping: float | None = None  # predict a correction over damped velocity (None: seed model)
    vae: str = "seed"  # local VAE: "seed" (encoder sees the past only) or "conditional" (sees past and future)
    social: bool = False  # give each person's forecaster the other person's observed motion
    skeleton: bool = False  # keep each person's rigid bone lengths in every predicted frame
    free_bits: float = 0.0  # conditional VAE: KL below this many nats per latent dimension is not penalised
    kl_anneal_epochs: int = 0  # ramp the KL weight from 0 to kl_weight over this many epochs
    # optimisation (seed defaults)
    lr: float = 0.004
    n_epochs: int = 50
    batch_size: int = 60  # scenes per batch: 2 x batch_size person sequences
    loader_shuffle: bool = True
    pin_memory: bool = False  # pin the window tensor in page-locked memory (faster copies to CUDA)
    loader_workers: int = 0  # the seed's option; batches are sliced from one in-memory tensor, so unused
    load_checkpoint: bool = False
    dev: str = "cpu"
    double: bool = False  # float64 instead of float32
    # loss and schedule (DESIGN.md)
    local_weight: float = 0.1
    kl_weight: float = 0.01
    scheduler_factor: float = 0.7
    scheduler_patience: int = 35
    grad_clip: float | None = None
    # data
    seed: int = 0
    data_dir: str | None = None
    corpus: list[str] | None = None  # mocap corpora (.npz) for train_split "mocap"; None: data/mocap_cmu30.npz
    train_split: str = "train"
    valid_split: str = "valid"
    train_sequences: list[str] | None = None  # None: every sequence of train_split
    exclude_sequences: list[str] = field(default_factory=list)
    valid_sequences: list[str] | None = None
    window_stride: int = 1
    rotate: bool = False  # random rotation about the vertical axis
    mirror: bool = False  # random left/right mirroring
    # output
    checkpoint_dir: str = "checkpoints"
    init_checkpoint: str | None = None  # start from these weights (fine-tuning), fresh optimiser

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> Config:
        """Build from a dict; unknown keys raise ValueError naming them and ``source``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown config fields {unknown}")
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError(f"{path}: config file not found") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: unreadable config ({exc})") from exc
        if not isinstance(values, dict):
            raise ValueError(f"{path}: config must be a JSON object")
        return cls.from_dict(values, str(path))

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def model_kwargs(self) -> dict:
        return dict(hidden_dim=self.hidden_dim, latent_dim=self.latent_dim, embedding_dim=self.embedding_dim,
                    dropout=self.dropout, residual_damping=self.residual_damping, vae=self.vae,
                    social=self.social, skeleton=self.skeleton)


# Named starting points; the CLI's options override their fields.
RECIPES = {
    "seed": Config(),
    # pretraining on the CMU corpus, validated on all of valid (never trained on)
    "pretrain": Config(train_split="mocap", n_epochs=20, rotate=True, mirror=True, grad_clip=1.0,
                       residual_damping=0.8, checkpoint_dir="checkpoints/pretrained"),
    # fine-tuning from the pretrained weights (cross-validation folds and the shipped model)
    "finetune": Config(n_epochs=10, lr=0.001, rotate=True, mirror=True, grad_clip=1.0, residual_damping=0.8,
                       init_checkpoint="checkpoints/pretrained"),
}
