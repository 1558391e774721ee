"""Checkpoint + history as one atomic unit, killed at every stage; reruns that differ from the
run in the folder (continue from the checkpoint's contract, or refuse in one line).

The kills use the trainer's fault hook (YEASTZOI_FAULT_AT=STAGE:EPOCH → os._exit(137) at that
point), not signals and timing: every stage of epoch 2 of a 3-epoch run is hit exactly.
The model is a micro spec (one conv_dna block with BatchNorm, dropout and pooling to 16 bp,
Cropping1D, a softplus head) so each run costs little more than importing TensorFlow.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_trainer import make_track_dir
from yeastzoi import YeastzoiError
from yeastzoi.train import FAULT_STAGES

ROOT = Path(__file__).resolve().parents[1]
SEQ = 2048
EPOCHS, STEPS = 3, 2
MICRO = {
    "train": {"task": "supervised", "loss": "poisson", "optimizer": "adam", "learning_rate": 0.01,
              "batch_size": 2, "shuffle_buffer": 8, "warmup_steps": 0, "patience": 100,
              "train_epochs_max": EPOCHS, "steps_per_epoch_max": STEPS},
    "model": {"seq_length": SEQ, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
              "trunk": [{"name": "conv_dna", "filters": 8, "kernel_size": 11, "pool_size": 16, "dropout": 0.1},
                        {"name": "Cropping1D", "cropping": 8}],
              "head": {"name": "final", "units": 3, "activation": "softplus"}},
}


def write_micro(path, **train):
    spec = json.loads(json.dumps(MICRO))
    spec["train"].update(train)
    Path(path).write_text(json.dumps(spec))
    return Path(path)


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("YEASTZOI_FAULT_AT", None)
    env.update(extra)
    return env


def _train_cli(spec, data, out, fault=None, extra=()):
    env = _env(**({"YEASTZOI_FAULT_AT": fault} if fault else {}))
    return subprocess.run(["timeout", "-k", "5", "300", sys.executable, str(ROOT / "bin" / "yeastzoi_train.py"),
                           str(spec), str(data), "-o", str(out), "-q", *map(str, extra)],
                          capture_output=True, text=True, env=env)


def _history(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _predict(model_file):
    from yeastzoi.model.seqnn import SeqNN
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (2, SEQ))]
    return np.asarray(SeqNN.from_file(model_file).model(x, training=False))


def _tree(folder):
    """name → (size, mtime_ns) of every file under ``folder`` (None when it does not exist)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_track_dir(tmp_path_factory.mktemp("resume_tracks"), n=(8, 4, 4))


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """An uninterrupted run (a fresh process, like the faulted ones)."""
    base = tmp_path_factory.mktemp("reference")
    spec = write_micro(base / "micro.json")
    r = _train_cli(spec, data, base / "out")
    assert r.returncode == 0, r.stderr[-3000:]
    return spec, base / "out"


def test_fault_hook_rejects_an_unknown_stage(data, tmp_path, monkeypatch):
    from yeastzoi.train.loop import train
    monkeypatch.setenv("YEASTZOI_FAULT_AT", "after_lunch:2")
    with pytest.raises(YeastzoiError, match="YEASTZOI_FAULT_AT=after_lunch:2: expected STAGE"):
        train(write_micro(tmp_path / "m.json"), [data], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stage", FAULT_STAGES)
def test_kill_at_each_stage_then_resume_equals_uninterrupted(stage, data, reference, tmp_path):
    """Killed at STAGE of epoch 2, rerun: history.csv, optimizer step and model_best are those
    of the uninterrupted run."""
    from yeastzoi.train.checkpoints import committed_checkpoint
    from yeastzoi.train.loop import train
    spec, ref = reference
    out = tmp_path / "out"
    r = _train_cli(spec, data, out, fault=f"{stage}:2")
    assert r.returncode == 137, r.stderr[-3000:]
    committed = committed_checkpoint(out)
    done = 2 if FAULT_STAGES.index(stage) >= FAULT_STAGES.index("after_commit") else 1
    assert committed.state["epoch"] + 1 == done and committed.state["step"] == STEPS * done
    assert [int(row["epoch"]) for row in committed.history] == list(range(1, done + 1))
    top = _history(out / "history.csv")                    # never ahead of the commit
    assert top == committed.history[:len(top)] and len(top) >= 1

    s = train(spec, [data], out)
    log_text = (out / "train.log").read_text()
    assert f"epoch {done} done, optimizer step {STEPS * done}" in log_text
    want, got = _history(ref / "history.csv"), _history(out / "history.csv")
    assert [int(row["epoch"]) for row in got] == list(range(1, EPOCHS + 1)) and len(got) == len(want)
    assert list(got[0]) == list(want[0])
    for a, b in zip(got, want):
        assert (a["steps"], a["lr"]) == (b["steps"], b["lr"])
        for k in ("train_loss", "valid_loss", "valid_pearsonr", "valid_r2"):
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-4, abs=1e-6), (k, a["epoch"])
    final = committed_checkpoint(out)
    assert final.name == f"epoch-{EPOCHS - 1}" and final.state["step"] == STEPS * EPOCHS
    assert (final.path / "history.csv").read_text() == (out / "history.csv").read_text()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-2", "latest"]
    # model_best is the best epoch's model: by its metadata and by its predictions
    losses = [float(row["valid_loss"]) for row in got]
    best = int(np.argmin(losses)) + 1
    meta = json.loads((out / "model_meta.json").read_text())
    assert meta["best_epoch"] == s["best_epoch"] == final.state["best_epoch"] + 1 == best
    assert json.loads((ref / "model_meta.json").read_text())["best_epoch"] == best
    np.testing.assert_allclose(_predict(out / "model_best.h5"), _predict(ref / "model_best.h5"),
                               rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------- reruns that differ
@pytest.fixture(scope="module")
def finetuned(data, tmp_path_factory):
    """FT trained 1 epoch with --restore LM --trunk from a 6-channel (1-species) 'LM' file."""
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN
    from yeastzoi.train.loop import train
    base = tmp_path_factory.mktemp("ft")
    spec = write_micro(base / "micro.json", train_epochs_max=1, steps_per_epoch_max=1)
    lm = SeqNN(load_params(spec)["model"], num_features=6, meta={"species": ["s_a"]})
    lm.save(base / "lm" / "model_best.h5")
    train(spec, [data], base / "FT", restore=base / "lm" / "model_best.h5", trunk=True)
    assert json.loads((base / "FT" / "model_meta.json").read_text())["num_features"] == 6
    return spec, base


def _cli_main():
    import importlib.util
    mod_spec = importlib.util.spec_from_file_location("yeastzoi_train_cli", ROOT / "bin" / "yeastzoi_train.py")
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.main


def _refused(capsys, argv, folder, *fragments):
    from yeastzoi.cli import call
    before = _tree(folder)
    assert call(_cli_main(), [str(a) for a in argv]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, errors
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert _tree(folder) == before
    return errors[0]


def test_rerun_without_restore_continues_from_the_checkpoint_contract(finetuned, data, capsys):
    """The issue's reproduction: FT trained with --restore LM --trunk (6 channels); rerun without
    --restore continues the 6-channel model (before: a 4-channel rebuild that crashed in TF after
    overwriting FT/params.json)."""
    from yeastzoi.cli import call
    spec, base = finetuned
    ft = base / "FT"
    assert call(_cli_main(), [str(spec), str(data), "-o", str(ft), "-q",
                              "--set", "train.train_epochs_max=2"]) == 0
    assert [int(r["epoch"]) for r in _history(ft / "history.csv")] == [1, 2]
    assert json.loads((ft / "params.json").read_text())["model"]["num_features"] == 6
    assert json.loads((ft / "model_meta.json").read_text())["num_features"] == 6
    assert "resuming from" in (ft / "train.log").read_text()
    # the same command with --restore again is fine too (it is not applied a second time)
    assert call(_cli_main(), [str(spec), str(data), "-o", str(ft), "-q", "--restore",
                              str(base / "lm" / "model_best.h5"), "--trunk",
                              "--set", "train.train_epochs_max=2"]) == 0
    capsys.readouterr()


def test_rerun_with_another_spec_data_or_restore_is_refused(finetuned, data, tmp_path, capsys):
    spec, base = finetuned
    ft = base / "FT"
    _refused(capsys, [spec, data, "-o", ft, "--set", "model.trunk[0].filters=4"], ft,
             str(ft), "model.trunk[0].filters is 4 here but 8 there", "--out")
    other = make_track_dir(tmp_path / "other", n=(4, 2, 2))
    _refused(capsys, [spec, other, "-o", ft], ft, "data ", str(other))
    _refused(capsys, [spec, data, "-o", ft, "--restore", spec.parent / "micro.json"], ft, "--restore")
    _refused(capsys, [spec, data, "-o", ft, "--seed", "7"], ft, "seed 7 here but 0 there")


def test_a_folder_holding_another_model_is_refused_and_left_alone(finetuned, data, tmp_path, capsys):
    spec, base = finetuned
    # a model folder without a checkpoint (e.g. copied model files)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "model_best.h5").write_bytes((base / "FT" / "model_best.h5").read_bytes())
    _refused(capsys, [spec, data, "-o", foreign], foreign, str(foreign), "holds another model",
             "model_best.h5", "--out")
    # a folder whose params.json is another spec
    other_spec = tmp_path / "other_spec"
    other_spec.mkdir()
    p = json.loads(spec.read_text())
    p["model"]["trunk"][0]["kernel_size"] = 5
    (other_spec / "params.json").write_text(json.dumps(p))
    _refused(capsys, [spec, data, "-o", other_spec], other_spec, "holds another model's params.json",
             "model.trunk[0].kernel_size is 11 here but 5 there")
    # a run that fails validation leaves no folder behind (no params.json / train.log-only folders)
    _refused(capsys, [spec, data, "-o", tmp_path / "new", "--set", "model.trunk[1].cropping=4"],
             tmp_path / "new", "outputs 120 bins")
    assert not (tmp_path / "new").exists()
