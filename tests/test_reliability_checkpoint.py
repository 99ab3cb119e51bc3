"""Checkpoints: a kill or a full disk at every step of a save, flipped bytes, doctored weights,
special files, two writers, work never replaced silently, resume semantics, interrupts, and the
conversion of earlier layouts."""

import os
import subprocess
import sys
import tempfile
import textwrap
import warnings

import numpy as np
import pytest
import torch

from posepred import checkpoint
from posepred.additions import DeRPoFPlus
from posepred.config import Config
from posepred.convert import convert
from posepred.errors import CheckpointError, ConfigError
from posepred.forecasters import build_model
from posepred.trainer import Trainer, TrainingDiverged

TINY = Config(hidden_dim=8, latent_dim=4, embedding_dim=4, batch_size=4, n_epochs=3, seed=11, rotate=True,
              mirror=True, dev="cpu")


@pytest.fixture(autouse=True)
def no_disk_flush(monkeypatch):
    """fsync is still called (and failed on purpose below) but does not wait for the disk."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 1, 13, 3))
    drift = np.cumsum(rng.normal(0, 0.02, size=(4, 30, 1, 3)), axis=1)
    return base + drift + rng.normal(0, 0.01, size=(4, 30, 13, 3))


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.fixture(scope="module")
def straight(windows, tmp_path_factory):
    """An uninterrupted 3-epoch run: its final weights."""
    trainer = Trainer(TINY.replace(checkpoint_dir=str(tmp_path_factory.mktemp("straight"))), windows, progress=False)
    trainer.fit()
    return _weights(trainer.model)


class Killed(BaseException):
    """A simulated SIGKILL at the k-th step of a save."""


STEPS = (("tempfile", "mkstemp"), ("os", "fdopen"), ("os", "fsync"), ("os", "chmod"), ("os", "replace"), ("os", "open"))


def faulty(monkeypatch, k: int, error: BaseException):
    """Make the k-th call of any save step (temporary file, write, fsync, rename, directory fsync) raise."""
    count = [0]
    for module, name in STEPS:
        owner = tempfile if module == "tempfile" else os
        real = getattr(owner, name)

        def step(*args, real=real, **kwargs):
            count[0] += 1
            if count[0] == k:
                raise error
            return real(*args, **kwargs)
        monkeypatch.setattr(owner, name, step)
    return count


@pytest.mark.parametrize("first_save", [True, False])
@pytest.mark.parametrize("error", [Killed(), OSError(28, "No space left on device")], ids=["kill", "disk full"])
def test_a_fault_at_every_step_of_a_save_leaves_the_previous_or_the_new_checkpoint(tmp_path, monkeypatch, first_save,
                                                                                     error):
    old, new = DeRPoFPlus(8, 4, 4), DeRPoFPlus(8, 4, 4)
    config = TINY.replace(checkpoint_dir=str(tmp_path))
    k = 1
    while True:
        directory = tmp_path / f"k{k}"
        if not first_save:
            checkpoint.save(directory, old, config)
        with monkeypatch.context() as patch:
            count = faulty(patch, k, error)
            try:
                checkpoint.save(directory, new, config)
                done = True
            except (Killed, CheckpointError) as exc:
                assert isinstance(error, Killed) or "No space left" in str(exc)
                done = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # config.json may lag behind after a kill between the two files
            if first_save and not (directory / checkpoint.FILE).exists():
                with pytest.raises(CheckpointError, match="no checkpoint here"):
                    checkpoint.load(directory)
            else:
                loaded = _weights(checkpoint.load(directory).model)
                assert torch.equal(loaded, _weights(new)) or (not done and torch.equal(loaded, _weights(old)))
        if done and count[0] < k:
            break
        k += 1
    assert k > 8  # two files, each: temporary file, write, fsync, chmod, rename, directory fsync


def test_resume_after_an_interrupted_run_is_exact(straight, windows, tmp_path, capsys):
    trainer = Trainer(TINY.replace(checkpoint_dir=str(tmp_path)), windows, progress=False)
    real_epoch, calls = trainer.train_epoch, []

    def interrupted_in_epoch_2():
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch()

    trainer.train_epoch = interrupted_in_epoch_2
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    out = capsys.readouterr().out
    assert "epoch 1" in out and "--load_checkpoint true" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint.FILE, checkpoint.CONFIG]
    resumed = Trainer(TINY.replace(checkpoint_dir=str(tmp_path), load_checkpoint=True), windows, progress=False)
    assert resumed.epoch == 1
    resumed.fit()
    assert torch.equal(_weights(resumed.model), straight)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saved")
    torch.manual_seed(0)
    model = build_model(TINY.replace(vae="conditional", social=True, skeleton=True, residual_damping=0.8))
    checkpoint.save(directory, model, TINY.replace(vae="conditional", social=True, skeleton=True, residual_damping=0.8))
    return directory, _weights(model)


@pytest.mark.parametrize("position", np.linspace(0.0, 0.999, 40).tolist())
def test_a_flipped_byte_never_loads_other_weights(saved, tmp_path, position):
    directory, weights = saved
    data = bytearray((directory / checkpoint.FILE).read_bytes())
    data[int(position * len(data))] ^= 0xFF
    (tmp_path / checkpoint.FILE).write_bytes(bytes(data))
    (tmp_path / checkpoint.CONFIG).write_bytes((directory / checkpoint.CONFIG).read_bytes())
    try:
        loaded = checkpoint.load(tmp_path)
    except CheckpointError as exc:
        assert str(tmp_path / checkpoint.FILE) in str(exc) and "\n" not in str(exc)
    else:  # a byte the content does not depend on (zip padding, a record name): same weights
        assert torch.equal(_weights(loaded.model), weights)


def _doctored(directory, change):
    """Save a tiny model after ``change(state_dict)``, with a matching sha256 (a doctored file, not a torn one)."""
    model = DeRPoFPlus(8, 4, 4)
    weights = model.state_dict()
    change(weights)
    content = {"format": checkpoint.FORMAT, "config": __import__("json").loads(TINY.to_json()), "model": weights,
               "training": None, "history": []}
    content["sha256"] = checkpoint._digest(content["config"], weights, [None, []])
    directory.mkdir(exist_ok=True)
    torch.save(content, directory / checkpoint.FILE)


@pytest.mark.parametrize("change, fragment", [
    (lambda w: w["net_g.decoder.head.weight"].fill_(3e38), "implausible for a weight"),
    (lambda w: w["net_g.decoder.head.weight"].fill_(float("nan")), "non-finite"),
    (lambda w: w.update({"net_g.decoder.head.weight": torch.zeros(2, 2)}), "shape"),
    (lambda w: w.update({"net_g.decoder.head.weight": w["net_g.decoder.head.weight"].int()}), "dtype"),
    (lambda w: w.update({"net_g.decoder.head.weight": w["net_g.decoder.head.weight"].to_sparse()}), "dense"),
    (lambda w: w.update({"net_g.decoder.head.weight": torch.empty(3, 8, device="meta")}), "dense tensor"),
    (lambda w: w.pop("net_g.decoder.head.weight"), "missing"),
    (lambda w: w.update({"extra": torch.zeros(1)}), "unexpected"),
])
def test_doctored_weights_are_refused_in_one_line_without_torch_warnings(tmp_path, change, fragment, recwarn):
    _doctored(tmp_path, change)
    with pytest.raises(CheckpointError, match=fragment) as info:
        checkpoint.load(tmp_path)
    assert "\n" not in str(info.value) and not [w for w in recwarn if "sparse" in str(w.message).lower()]


def test_an_edited_config_json_changes_nothing_and_says_so(saved, tmp_path):
    directory, weights = saved
    for name in (checkpoint.FILE, checkpoint.CONFIG):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    text = (tmp_path / checkpoint.CONFIG).read_text().replace('"residual_damping": 0.8', '"residual_damping": null')
    (tmp_path / checkpoint.CONFIG).write_text(text)
    with pytest.warns(UserWarning, match="differs from the config inside checkpoint.pt"):
        loaded = checkpoint.load(tmp_path)
    assert loaded.config.residual_damping == 0.8 and torch.equal(_weights(loaded.model), weights)


@pytest.mark.parametrize("kind", ["symlink", "fifo", "dev_zero"])
@pytest.mark.parametrize("name", [checkpoint.FILE, checkpoint.CONFIG])
def test_special_files_are_refused_never_followed_never_waited_on(tmp_path, kind, name):
    directory, outside = tmp_path / "run", tmp_path / "outside.txt"
    checkpoint.save(directory, DeRPoFPlus(8, 4, 4), TINY)
    outside.write_text("not yours")
    (directory / name).unlink()
    if kind == "fifo":
        os.mkfifo(directory / name)
    else:
        (directory / name).symlink_to(outside if kind == "symlink" else "/dev/zero")
    with pytest.raises(CheckpointError, match=name):
        checkpoint.save(directory, DeRPoFPlus(8, 4, 4), TINY)
    if name == checkpoint.FILE:
        with pytest.raises(CheckpointError, match=name):
            checkpoint.load(directory)
    assert outside.read_text() == "not yours"


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from posepred.checkpoint import DirectoryLock
    lock = DirectoryLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_a_second_writer_stops_at_once(tmp_path, capsys):
    from posepred.cli import main

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointError, match="another run is writing checkpoints here"):
            checkpoint.save(tmp_path, DeRPoFPlus(8, 4, 4), TINY)
        code = main(["train", "--train_split", "valid", "--n_epochs", "1", "--window_stride", "30", "--dev", "cpu",
                     "--checkpoint-dir", str(tmp_path)])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and "another run is writing" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no lock file, nothing written


def test_a_finished_run_is_not_replaced_without_overwrite(tmp_path, windows):
    config = TINY.replace(checkpoint_dir=str(tmp_path), n_epochs=1)
    Trainer(config, windows, progress=False).fit()
    before = (tmp_path / checkpoint.FILE).read_bytes()
    with pytest.raises(CheckpointError, match="holds a checkpoint already.*--load_checkpoint true.*--overwrite"):
        Trainer(config.replace(seed=5), windows, progress=False).fit()
    assert (tmp_path / checkpoint.FILE).read_bytes() == before
    Trainer(config.replace(seed=5), windows, progress=False, overwrite=True).fit()
    assert checkpoint.load(tmp_path).config.seed == 5


@pytest.fixture
def one_epoch(tmp_path, windows):
    Trainer(TINY.replace(checkpoint_dir=str(tmp_path), n_epochs=1), windows, progress=False).fit()
    return tmp_path


def test_changed_lr_on_resume_is_applied_and_recorded(one_epoch, windows, capsys):
    trainer = Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, n_epochs=2, lr=1e-4),
                      windows, progress=False)
    assert "lr 0.004 -> 0.0001 applied" in capsys.readouterr().out
    assert all(group["lr"] == 1e-4 for group in trainer.optimizer.param_groups)
    trainer.fit()
    assert trainer.history[1]["lr"] == 1e-4 and trainer.history[1]["changed_on_resume"] == {"lr": [0.004, 1e-4]}
    assert checkpoint.load(one_epoch).config.lr == 1e-4


@pytest.mark.parametrize("change", [{"hidden_dim": 16}, {"seed": 5}, {"double": True},
                                    {"exclude_sequences": ["courtyard_hug_00"]}])
def test_changed_model_or_data_on_resume_is_refused(one_epoch, windows, change):
    name = next(iter(change))
    with pytest.raises(ConfigError, match=f"resuming with a changed {name} .* is refused"):
        Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, **change), windows, progress=False)


def test_extending_a_run_is_quiet_other_training_options_are_reported(one_epoch, windows, capsys):
    quiet = Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, n_epochs=2), windows,
                    progress=False)
    assert "resuming" not in capsys.readouterr().out and not quiet.changes
    changed = Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, n_epochs=2, batch_size=2,
                                   grad_clip=0.5, scheduler_factor=0.5), windows, progress=False)
    out = capsys.readouterr().out
    assert "batch_size 4 -> 2 applied" in out and "grad_clip None -> 0.5 applied" in out
    assert changed.scheduler.factor == 0.5
    changed.fit()
    assert set(changed.history[1]["changed_on_resume"]) == {"batch_size", "grad_clip", "scheduler_factor"}


def test_weights_only_checkpoints_cannot_be_resumed(tmp_path, windows):
    checkpoint.save(tmp_path, build_model(TINY), TINY)
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        Trainer(TINY.replace(checkpoint_dir=str(tmp_path), load_checkpoint=True), windows, progress=False)


@pytest.mark.parametrize("fault", ["optimiser shape", "epoch", "rng"])
def test_unusable_training_state(one_epoch, windows, fault):
    saved = checkpoint.load(one_epoch)
    state = saved.training
    if fault == "optimiser shape":
        next(iter(state["optimizer"]["state"].values()))["exp_avg"] = torch.zeros(3)
    elif fault == "epoch":
        state["epoch"] = "1"
    else:
        state["torch_rng"] = torch.zeros(3)
    checkpoint.save(one_epoch, saved.model, saved.config, state, saved.history)
    with pytest.raises(CheckpointError, match="training state|optimiser state|epoch"):
        Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True), windows, progress=False)


@pytest.mark.parametrize("saved_before", [False, True])
def test_non_finite_loss_names_what_is_kept(tmp_path, windows, saved_before):
    config = TINY.replace(checkpoint_dir=str(tmp_path), n_epochs=1, loader_shuffle=False)
    if saved_before:
        Trainer(config, windows, progress=False).fit()
    broken = windows.copy()
    broken[0, 20, 0, 0] = np.inf
    trainer = Trainer(config.replace(n_epochs=2, load_checkpoint=saved_before), broken, progress=False)
    expected = "last good checkpoint kept .*epoch 1" if saved_before else "no checkpoint of this run was saved"
    with pytest.raises(TrainingDiverged, match=expected):
        trainer.fit()


# -- earlier layouts ------------------------------------------------------------------------------
OLD_PREFIXES = [  # the present weight names -> (network file, name in the earlier layout)
    ("net_g.embed.", "g", "embed."), ("net_g.encoder.", "g", "encoder."), ("net_g.decoder.cell.", "g", "decoder."),
    ("net_g.decoder.head.", "g", "head."), ("social.", "g", "social."), ("net_l.encoder.", "l", "encoder.lstm."),
    ("net_l.mean.", "l", "encoder.mean."), ("net_l.log_var.", "l", "encoder.log_var."),
    ("net_l.past.", "l", "past.lstm."), ("net_l.init_hidden.", "l", "decoder.init_hidden."),
    ("net_l.decoder.", "l", "decoder."), ("net_l.future.", "l", "future."), ("net_l.posterior.", "l", "posterior."),
    ("net_l.to_global.", "l", "to_global."),
]


def legacy_files(directory, model, config: Config, manifest: bool) -> None:
    """Write ``model`` as the earlier layout: checkpoint_g.pt / checkpoint_l.pt with the old weight names."""
    import hashlib
    import json

    old = {"g": {}, "l": {}}
    for name, tensor in model.state_dict().items():
        net, prefix = next((net, old_prefix) for new_prefix, net, old_prefix in OLD_PREFIXES
                           if name.startswith(new_prefix))
        old[net][prefix + name[len(next(p for p, n, o in OLD_PREFIXES if name.startswith(p))):]] = tensor
    directory.mkdir()
    values = json.loads(config.to_json())
    values["vae"] = "seed" if config.vae == "original" else config.vae
    del values["model"]
    files = {"checkpoint_g.pt": old["g"], "checkpoint_l.pt": old["l"]}
    for name, state in files.items():
        torch.save(state, directory / name)
    (directory / "config.json").write_text(json.dumps(values))
    if manifest:
        sums = {n: {"sha256": hashlib.sha256((directory / n).read_bytes()).hexdigest(), "bytes": 0}
                for n in (*files, "config.json")}
        (directory / "manifest.json").write_text(json.dumps({"format": 2, "files": sums}))


@pytest.mark.parametrize("kind", ["paper", "shipped"])
def test_earlier_layouts_are_refused_until_converted_then_predict_the_same(tmp_path, kind, capsys):
    from posepred.cli import main

    config = TINY if kind == "paper" else TINY.replace(vae="conditional", social=True, skeleton=True,
                                                       residual_damping=0.8)
    torch.manual_seed(1)
    model = build_model(config).eval()
    legacy_files(tmp_path / "old", model, config, manifest=kind == "shipped")
    with pytest.raises(CheckpointError, match="earlier layout.*posepred convert"):
        checkpoint.load(tmp_path / "old")
    assert main(["convert", str(tmp_path / "old")]) == 0
    assert ("unverified" in capsys.readouterr().out) == (kind == "paper")
    converted = checkpoint.load(tmp_path / "old")
    observed = torch.randn(3, 16, 13, 3)
    assert torch.equal(converted.model.predict(observed), model.predict(observed))


def test_converting_a_modified_set_is_refused(tmp_path):
    config = TINY.replace(vae="conditional")
    legacy_files(tmp_path / "old", build_model(config), config, manifest=True)
    (tmp_path / "old" / "config.json").write_text((tmp_path / "old" / "config.json").read_text().replace("11", "12"))
    with pytest.raises(CheckpointError, match="does not match manifest.json"):
        convert(tmp_path / "old")
