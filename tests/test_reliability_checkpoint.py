"""Checkpoint sets: killed or failing at every file operation of a save, two writers, torn and
tampered sets, weights of the wrong dtype or shape, resume semantics, interrupts."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from posepred import checkpoint as ckpt
from posepred.config import Config
from posepred.errors import CheckpointError, ConfigError, OptionError
from posepred.files import atomic_write_text, torch_bytes
from posepred.lock import LOCK
from posepred.manifest import FORMAT, MANIFEST, PREVIOUS, SET_FILES
from posepred.models import DeRPoF
from posepred.train import Trainer, TrainingDiverged

TINY = Config(hidden_dim=8, latent_dim=4, embedding_dim=4, batch_size=4, n_epochs=3, seed=11, rotate=True,
              mirror=True)
FILE_OPS = ("write", "fsync", "replace", "rename", "link", "mkdir", "unlink", "rmdir")


class Killed(BaseException):
    """A simulated SIGKILL: from the k-th file operation on, nothing reaches the disk."""


@pytest.fixture(autouse=True)
def no_disk_flush(monkeypatch):
    """fsync is still called (and failed on purpose below) but does not wait for the disk: a power
    cut is not something a test can observe, and the waits would make these tests slow."""
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
    """An uninterrupted 3-epoch run; the complete set after each epoch, as bytes."""
    directory = tmp_path_factory.mktemp("straight")
    sets = {}

    def snapshot(record):
        sets[record["epoch"]] = {n: (directory / n).read_bytes() for n in SET_FILES + (MANIFEST,)}

    trainer = Trainer(TINY.replace(checkpoint_dir=str(directory)), windows, callbacks=[snapshot], progress=False)
    trainer.fit()
    return _weights(trainer.model), sets


class FaultyDisk:
    """Counts the file operations of a save; the k-th raises (``kill``: so does every later one)."""

    def __init__(self, monkeypatch, k: int, kill: bool):
        self.k, self.kill, self.count, self.tripped = k, kill, 0, False
        for name in FILE_OPS:
            real = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(real))

    def _wrap(self, real):
        def op(*args, **kwargs):
            self.count += 1
            if self.count == self.k or (self.kill and self.tripped):
                self.tripped = True
                raise Killed() if self.kill else OSError(28, "No space left on device")
            return real(*args, **kwargs)
        return op


def _count_ops(directory, windows, monkeypatch):
    """How many file operations the save of epoch 2 makes."""
    trainer = Trainer(TINY.replace(checkpoint_dir=str(directory), load_checkpoint=True, n_epochs=2), windows,
                      progress=False)
    real = ckpt.save_checkpoint
    counter = {}

    def counting(*args, **kwargs):
        with monkeypatch.context() as m:
            disk = FaultyDisk(m, k=10**9, kill=False)
            real(*args, **kwargs)
        counter["n"] = disk.count

    monkeypatch.setattr(ckpt, "save_checkpoint", counting)
    trainer.fit()
    monkeypatch.setattr(ckpt, "save_checkpoint", real)
    return counter["n"]


def _set_after_epoch_1(straight, directory):
    directory.mkdir()
    for name, data in straight[1][1].items():
        (directory / name).write_bytes(data)


@pytest.mark.parametrize("kill", [True, False], ids=["kill", "disk-full"])
def test_fault_at_every_file_operation_of_a_save(straight, windows, tmp_path, monkeypatch, kill):
    """For every k: the k-th file operation of the epoch-2 save fails (a kill: nothing after it
    happens either). The directory then holds exactly the epoch-1 or the epoch-2 set, and resuming
    from it ends bit-identical to the uninterrupted run."""
    final, sets = straight
    probe = tmp_path / "probe"
    _set_after_epoch_1(straight, probe)
    n_ops = _count_ops(probe, windows, monkeypatch)
    assert n_ops >= 20  # links, writes, fsyncs, renames, removals
    outcomes = set()
    for k in range(1, n_ops + 1):
        directory = tmp_path / f"k{k}"
        _set_after_epoch_1(straight, directory)
        trainer = Trainer(TINY.replace(checkpoint_dir=str(directory), load_checkpoint=True), windows, progress=False)
        real = ckpt.save_checkpoint

        def faulty(*args, k=k, real=real, **kwargs):
            with monkeypatch.context() as m:
                FaultyDisk(m, k, kill)
                real(*args, **kwargs)

        monkeypatch.setattr(ckpt, "save_checkpoint", faulty)
        try:
            trainer.fit()
        except (Killed, CheckpointError) as exc:
            assert isinstance(exc, Killed) == kill and (kill or "previous set is kept" in str(exc))
        else:  # a disk error while tidying up after the commit point: saved, training went on
            assert not kill and trainer.epoch == 3 and torch.equal(_weights(trainer.model), final), k
            outcomes.add(2)
            continue
        finally:
            monkeypatch.setattr(ckpt, "save_checkpoint", real)
        model, _, state = ckpt.load_checkpoint_set(directory)
        epoch = state["epoch"]
        assert epoch in (1, 2), k
        outcomes.add(epoch)
        reference = DeRPoF(**TINY.model_kwargs())
        for name, module in (("checkpoint_g.pt", reference.net_g), ("checkpoint_l.pt", reference.net_l)):
            module.load_state_dict(torch.load(__import__("io").BytesIO(sets[epoch][name]), weights_only=True))
        assert torch.equal(_weights(model), _weights(reference)), k  # the set is the epoch's, not a mix
        resumed = Trainer(TINY.replace(checkpoint_dir=str(directory), load_checkpoint=True), windows, progress=False)
        resumed.fit()
        assert torch.equal(_weights(resumed.model), final), k
        assert not (directory / LOCK).exists()
        names = sorted(p.name for p in directory.iterdir())
        assert names == sorted(SET_FILES + (MANIFEST,)), (k, names)  # tidied by the next save
        shutil.rmtree(directory)
    assert outcomes == {1, 2}  # early faults keep epoch 1, faults after the commit point keep epoch 2


def test_disk_full_message_and_previous_set_kept(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())
    before = _weights(ckpt.load_model(tmp_path)[0])

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(CheckpointError, match="No space left on device.*previous set is kept"):
        ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())
    monkeypatch.undo()
    assert torch.equal(_weights(ckpt.load_model(tmp_path)[0]), before)


def test_reader_falls_back_to_previous_set_while_switching(tmp_path):
    ckpt.save_checkpoint(tmp_path / "a", DeRPoF(), Config())
    torch.manual_seed(1)
    ckpt.save_checkpoint(tmp_path / "b", DeRPoF(), Config())
    directory = tmp_path / "a"
    os.mkdir(directory / PREVIOUS)
    for name in ("checkpoint_g.pt", "checkpoint_l.pt", "config.json", MANIFEST):
        shutil.copy(directory / name, directory / PREVIOUS / name)
    shutil.copy(tmp_path / "b" / "checkpoint_g.pt", directory / "checkpoint_g.pt")  # mid-switch: g is new
    loaded = ckpt.load_model(directory)[0]
    assert torch.equal(_weights(loaded), _weights(ckpt.load_model(directory / PREVIOUS)[0]))
    shutil.rmtree(directory / PREVIOUS)
    with pytest.raises(CheckpointError, match="torn checkpoint"):
        ckpt.load_model(directory)


def test_hand_edited_config_is_detected(tmp_path):
    ckpt.save_checkpoint(tmp_path, DeRPoF(residual_damping=0.8), Config(residual_damping=0.8))
    config = json.loads((tmp_path / "config.json").read_text())
    config["residual_damping"] = None  # same shapes, predictions off by metres
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="torn checkpoint"):
        ckpt.load_model(tmp_path)


def test_first_release_layout_loads_and_is_adopted(tmp_path):
    shutil.copytree(ckpt.resolve_dir("checkpoints/seed_vae/courtyard_hug_00"), tmp_path / "old")
    old = tmp_path / "old"
    for name in (MANIFEST, "training_state.pt"):
        (old / name).unlink(missing_ok=True)
    model, config = ckpt.load_model(old)
    assert config.vae == "seed" and config.free_bits == 0.0  # later-added fields: the old behaviour
    ckpt.save_checkpoint(old, model, config)
    assert json.loads((old / MANIFEST).read_text())["format"] == FORMAT
    assert torch.equal(_weights(ckpt.load_model(old)[0]), _weights(model))


def test_interrupted_first_save_is_a_clean_error(tmp_path, monkeypatch):
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(Killed())
                        if str(b).endswith(MANIFEST) and ".incoming" in str(a) else real(a, b))
    with pytest.raises(Killed):
        ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="no complete checkpoint saved here yet"):
        ckpt.load_model(tmp_path)


@pytest.mark.parametrize("fault", ["int64", "float16", "shape", "missing", "extra", "nan", "sparse", "not-tensor"])
def test_weights_must_have_the_dtype_and_shape_the_config_implies(tmp_path, fault):
    model = DeRPoF()
    state = model.net_g.state_dict()
    key = next(iter(state))
    if fault == "int64":
        state = {k: (v * 1000).round().to(torch.int64) for k, v in state.items()}
    elif fault == "float16":
        state[key] = state[key].half()
    elif fault == "shape":
        state[key] = torch.zeros(3, 3)
    elif fault == "missing":
        del state[key]
    elif fault == "extra":
        state["bogus.weight"] = torch.zeros(1)
    elif fault == "nan":
        state[key] = torch.full_like(state[key], float("nan"))
    elif fault == "sparse":
        state[key] = state[key].to_sparse()
    elif fault == "not-tensor":
        state[key] = [1.0, 2.0]
    (tmp_path / "checkpoint_g.pt").write_bytes(torch_bytes(state))
    (tmp_path / "checkpoint_l.pt").write_bytes(torch_bytes(model.net_l.state_dict()))
    (tmp_path / "config.json").write_text(Config().to_json())
    with pytest.raises(CheckpointError, match="checkpoint_g.pt"):
        ckpt.load_model(tmp_path)


def test_manifest_faults(tmp_path):
    ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())
    for content in ("[]", "{", '{"format": 2, "files": {"evil.sh": {"sha256": "x", "bytes": 1}}}',
                    "[" * 100000, '{"format": 9, "files": {}}'):
        (tmp_path / MANIFEST).write_text(content)
        with pytest.raises(CheckpointError, match="manifest"):
            ckpt.load_model(tmp_path)


# -- one writer per directory ------------------------------------------------------------------
HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from posepred.lock import DirectoryLock
    lock = DirectoryLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_second_writer_stops_at_once_naming_the_first(tmp_path, windows):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        trainer = Trainer(TINY.replace(checkpoint_dir=str(tmp_path)), windows, progress=False)
        with pytest.raises(CheckpointError, match=f"another run \\(pid {holder.pid}\\)"):
            trainer.fit()
        assert trainer.epoch == 0  # stopped before training
        with pytest.raises(CheckpointError, match=f"pid {holder.pid}"):
            ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())
        assert not (tmp_path / "checkpoint_g.pt").exists()
    finally:
        holder.kill()
        holder.wait()
    ckpt.save_checkpoint(tmp_path, DeRPoF(), Config())  # the lock died with its process


def test_two_runs_in_one_process(tmp_path, windows):
    first = Trainer(TINY.replace(checkpoint_dir=str(tmp_path), n_epochs=1), windows, progress=False)
    second = Trainer(TINY.replace(checkpoint_dir=str(tmp_path), n_epochs=1), windows, progress=False)
    errors = []
    first.callbacks.append(lambda record: errors.append(pytest.raises(CheckpointError, second.fit)))
    first.fit()
    assert "this process" in str(errors[0].value)


# -- atomic single files -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory", "dangling-symlink"])
def test_atomic_write_refuses_special_files(tmp_path, kind):
    target, path = tmp_path / "target.json", tmp_path / "out.json"
    target.write_text("keep")
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "dangling-symlink":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    with pytest.raises(OptionError, match="refusing to replace"):
        atomic_write_text(path, "new")
    assert target.read_text() == "keep" and (path.is_symlink() or path.exists())


def test_atomic_write_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OptionError, match="not a directory"):
        atomic_write_text(tmp_path / "file" / "out.json", "new")


def test_test_out_symlink_is_refused(tmp_path, capsys):
    from posepred.cli import main

    target = tmp_path / "elsewhere.json"
    target.write_text("previous")
    (tmp_path / "out.json").symlink_to(target)
    code = main(["test", "--checkpoint-dir", str(ckpt.resolve_dir("checkpoints/derpof/folds/courtyard_hug_00")),
                 "--out", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "symbolic link" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "previous"


# -- resume semantics --------------------------------------------------------------------------
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
    assert ckpt.load_config(one_epoch).lr == 1e-4


@pytest.mark.parametrize("change", [{"hidden_dim": 16}, {"seed": 5}, {"double": True},
                                    {"exclude_sequences": ["courtyard_hug_00"]}])
def test_changed_model_or_data_on_resume_is_refused(one_epoch, windows, change):
    name = next(iter(change))
    with pytest.raises(ConfigError, match=f"resuming with a changed {name} .* is refused"):
        Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, **change), windows, progress=False)


def test_resume_from_weights_only_checkpoint(tmp_path, windows):
    ckpt.save_checkpoint(tmp_path, DeRPoF(**TINY.model_kwargs()), TINY)
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        Trainer(TINY.replace(checkpoint_dir=str(tmp_path), load_checkpoint=True), windows, progress=False)


# -- interrupts and divergence -----------------------------------------------------------------
def test_ctrl_c_keeps_last_epoch_says_how_to_resume_and_reraises(straight, windows, tmp_path, capsys):
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
    assert not (tmp_path / LOCK).exists()
    assert ckpt.load_training_state(tmp_path)["epoch"] == 1
    resumed = Trainer(TINY.replace(checkpoint_dir=str(tmp_path), load_checkpoint=True), windows, progress=False)
    resumed.fit()
    assert torch.equal(_weights(resumed.model), straight[0])


def test_ctrl_c_in_cv_writes_no_results(tmp_path, monkeypatch):
    from posepred.cli import main

    calls = []
    real = Trainer.train_epoch

    def interrupted_in_fold_2(self):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(Trainer, "train_epoch", interrupted_in_fold_2)
    results = tmp_path / "results"
    try:
        code = main(["cv", "--recipe", "seed", "--init", "none", "--n_epochs", "1", "--window_stride", "15",
                     "--samples", "0", "--hidden_dim", "8", "--results", str(results)])
    except KeyboardInterrupt:
        code = 130
    assert code == 130 and len(calls) == 2
    assert not results.exists() or not any(results.iterdir())


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


def test_special_files_in_a_checkpoint_are_errors_not_hangs(tmp_path):
    ckpt.save_checkpoint(tmp_path / "a", DeRPoF(), Config())
    (tmp_path / "a" / "checkpoint_g.pt").unlink()
    (tmp_path / "a" / "checkpoint_g.pt").symlink_to("/dev/zero")  # endless bytes
    with pytest.raises(CheckpointError, match="checkpoint_g.pt: not a regular file"):
        ckpt.load_model(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)
    (tmp_path / "b" / MANIFEST).unlink()  # first-release layout: read without a manifest
    (tmp_path / "b" / "checkpoint_g.pt").unlink()
    os.mkfifo(tmp_path / "b" / "checkpoint_g.pt")
    with pytest.raises(CheckpointError, match="checkpoint_g.pt: not a regular file"):
        ckpt.load_model(tmp_path / "b")


@pytest.mark.parametrize("fault", ["optimiser shape", "epoch", "history", "rng", "not a dict"])
def test_unusable_training_state(one_epoch, windows, fault):
    (one_epoch / MANIFEST).unlink()  # a hand-made first-release directory: nothing verifies the bytes
    state = ckpt.load_training_state(one_epoch)
    if fault == "optimiser shape":
        first = next(iter(state["optimizer"]["state"].values()))
        first["exp_avg"] = torch.zeros(3)
    elif fault == "epoch":
        state["epoch"] = "1"
    elif fault == "history":
        state["history"] = []
    elif fault == "rng":
        state["torch_rng"] = torch.zeros(3)
    else:
        state = [state]
    (one_epoch / "training_state.pt").write_bytes(torch_bytes(state))
    with pytest.raises(CheckpointError, match="training_state.pt"):
        Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True), windows, progress=False)


def test_second_posepred_train_on_one_directory_exits_2_naming_the_pid(tmp_path, capsys):
    from posepred.cli import main

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(["train", "--train_split", "valid", "--n_epochs", "1", "--window_stride", "30",
                     "--checkpoint-dir", str(tmp_path)])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 2 and f"another run (pid {holder.pid})" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK]  # nothing written but the dead run's lock


def test_extending_a_run_is_quiet_other_training_options_are_reported(one_epoch, windows, capsys):
    quiet = Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, n_epochs=2), windows,
                    progress=False)
    assert "resuming" not in capsys.readouterr().out and not getattr(quiet, "_resume_changes", None)
    changed = Trainer(TINY.replace(checkpoint_dir=str(one_epoch), load_checkpoint=True, n_epochs=2, batch_size=2,
                                   grad_clip=0.5, scheduler_factor=0.5), windows, progress=False)
    out = capsys.readouterr().out
    assert "batch_size 4 -> 2 applied" in out and "grad_clip None -> 0.5 applied" in out
    assert changed.scheduler.factor == 0.5
    changed.fit()
    assert set(changed.history[1]["changed_on_resume"]) == {"batch_size", "grad_clip", "scheduler_factor"}
    assert "changed_on_resume" not in changed.history[0]


@pytest.mark.parametrize("start", ["first-release layout", "empty directory"])
def test_kill_at_every_file_operation_of_a_first_save(tmp_path, monkeypatch, start):
    """Adopting a directory without manifest, or saving into a new one: after a kill at any
    operation the directory holds the old weights, the new ones, or (new directory) cleanly none."""
    old_dir = ckpt.resolve_dir("checkpoints/seed_vae/courtyard_hug_00")
    old = _weights(ckpt.load_model(old_dir)[0])
    torch.manual_seed(3)
    new_model = DeRPoF(residual_damping=0.8)
    new = _weights(new_model)
    config = ckpt.load_config(old_dir)

    def prepare(directory):
        if start == "first-release layout":
            directory.mkdir()
            for name in ("checkpoint_g.pt", "checkpoint_l.pt", "config.json"):
                shutil.copy(old_dir / name, directory / name)

    probe = tmp_path / "probe"
    prepare(probe)
    with monkeypatch.context() as m:
        disk = FaultyDisk(m, k=10**9, kill=True)
        ckpt.save_checkpoint(probe, new_model, config)
    seen = set()
    for k in range(1, disk.count + 1):
        directory = tmp_path / f"k{k}"
        prepare(directory)
        with monkeypatch.context() as m, pytest.raises(Killed):
            FaultyDisk(m, k, kill=True)
            ckpt.save_checkpoint(directory, new_model, config)
        try:
            loaded = _weights(ckpt.load_model(directory)[0])
        except CheckpointError as exc:
            assert start == "empty directory" and ("no complete checkpoint" in str(exc) or "not found" in str(exc))
            seen.add("none")
        else:
            assert torch.equal(loaded, old) or torch.equal(loaded, new), k
            seen.add("old" if torch.equal(loaded, old) else "new")
        ckpt.save_checkpoint(directory, new_model, config)  # the next save tidies up
        assert torch.equal(_weights(ckpt.load_model(directory)[0]), new)
        assert sorted(p.name for p in directory.iterdir() if p.name != "folds") == sorted(FILES_AFTER_SAVE), k
    assert seen == ({"old", "new"} if start == "first-release layout" else {"none", "new"})


FILES_AFTER_SAVE = ("checkpoint_g.pt", "checkpoint_l.pt", "config.json", MANIFEST)


@pytest.fixture(scope="module")
def saved_set(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saved_set")
    ckpt.save_checkpoint(directory, DeRPoF(), Config(), {"epoch": 0, "history": []}, [])
    return directory


@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=st.sampled_from(["checkpoint_g.pt", "checkpoint_l.pt", "config.json", "training_state.pt"]),
       position=st.integers(0, 10**9), flip=st.integers(1, 255))
def test_any_flipped_byte_is_detected(saved_set, tmp_path_factory, name, position, flip):
    directory = tmp_path_factory.mktemp("flipped")
    for entry in saved_set.iterdir():
        shutil.copy(entry, directory / entry.name)
    data = bytearray((directory / name).read_bytes())
    data[position % len(data)] ^= flip
    (directory / name).write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        ckpt.load_checkpoint_set(directory)


WRITER = textwrap.dedent("""
    import sys, torch
    from posepred.checkpoint import save_checkpoint
    from posepred.config import Config
    from posepred.models import DeRPoF
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(DeRPoF(hidden_dim=8, latent_dim=4, embedding_dim=4))
    config = Config(hidden_dim=8, latent_dim=4, embedding_dim=4)
    save_checkpoint(sys.argv[1], models[0], config)
    print("first", flush=True)
    for k in range(int(sys.argv[2])):
        save_checkpoint(sys.argv[1], models[k % 2], config, {"epoch": 0, "history": []}, [])
""")


def test_reader_never_sees_a_mix_while_another_process_saves(tmp_path):
    sets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        sets.append(_weights(DeRPoF(hidden_dim=8, latent_dim=4, embedding_dim=4)))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "first"
        loads = 0
        while writer.poll() is None:
            weights = _weights(ckpt.load_model(tmp_path)[0])
            assert torch.equal(weights, sets[0]) or torch.equal(weights, sets[1])
            loads += 1
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == 0 and loads > 10
