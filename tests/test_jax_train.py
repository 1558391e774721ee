"""Training under KERAS_BACKEND=jax: the same spec, data, checkpoints and outputs as TensorFlow.

This file runs under the default (TensorFlow) backend and starts the JAX side in
subprocesses (``KERAS_BACKEND=jax JAX_PLATFORMS=cpu``, two forced host devices):

* a CLI run (``bin/yeastzoi_train.py``) killed by the fault hook after the first step of
  epoch 2;
* one script that trains the uninterrupted reference, resumes the killed run, continues a
  checkpoint written by TensorFlow, fine-tunes with ``--restore`` from a TensorFlow-saved
  model, and evaluates the shared losses and clipping on fixed arrays;
* (slow) one script that continues a masked-LM checkpoint written by TensorFlow and trains
  on two devices with Keras' DataParallel.

TensorFlow (this process) then checks: killed + resumed == uninterrupted under JAX; the
JAX-trained model_best.h5/.keras restore into TensorFlow with the predictions JAX made; a
checkpoint written by TensorFlow continued under JAX gives the epochs TensorFlow gives
(deterministic spec: no dropout; BatchNorm, an L2 penalty and global-norm clipping on), so
the two step modules compute the same loss, penalty, clipping and update; losses and
clipping equal TensorFlow's and hand values; (slow) the same for the masked LM, and
2 devices × batch 1 == 1 device × batch 2. The models are micro specs (one conv_dna block).
"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import needs_jax
from test_trainer import make_lm_dir, make_track_dir

ROOT = Path(__file__).resolve().parents[1]
BACKEND = keras.backend.backend()
pytestmark = [pytest.mark.skipif(
    BACKEND != "tensorflow", reason="compares a JAX subprocess with TensorFlow in this process: "
    "runs under the default backend (make test), not under KERAS_BACKEND=jax"), needs_jax]
SEQ, LM_SEQ, EPOCHS, STEPS = 2048, 256, 3, 2
MICRO = {
    "train": {"task": "supervised", "loss": "poisson", "optimizer": "adam", "learning_rate": 0.01,
              "batch_size": 2, "shuffle_buffer": 8, "warmup_steps": 0, "patience": 100,
              "train_epochs_max": EPOCHS, "steps_per_epoch_max": STEPS},
    "model": {"seq_length": SEQ, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
              "trunk": [{"name": "conv_dna", "filters": 8, "kernel_size": 11, "pool_size": 16, "dropout": 0.1},
                        {"name": "Cropping1D", "cropping": 8}],
              "head": {"name": "final", "units": 3, "activation": "softplus"}},
}
MICRO_LM = {
    "train": {"task": "self-supervised", "loss": "mlm", "optimizer": "adam", "learning_rate": 0.01,
              "batch_size": 2, "shuffle_buffer": 8, "warmup_steps": 0, "patience": 100, "mask_rate": 0.15,
              "use_bert": True, "exon_loss_scale": 0.1, "non_exon_loss_scale": 1.0, "repeat_loss_scale": 0.1,
              "non_repeat_loss_scale": 1.0, "global_clipnorm": 0.05, "train_epochs_max": 2,
              "steps_per_epoch_max": STEPS},
    "model": {"seq_length": LM_SEQ, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
              "l2_scale": 1e-3, "trunk": [{"name": "conv_dna", "filters": 8, "kernel_size": 11}],
              "head": {"name": "final", "units": 4, "activation": "softmax"}},
}
#: no dropout (backends draw different random numbers); BatchNorm, L2 and clipping stay on
DETERMINISTIC = ["model.trunk[0].dropout=0", "model.l2_scale=0.001", "train.global_clipnorm=0.5"]

JAX_SCRIPT = r"""
import json, sys
from pathlib import Path
import numpy as np
import keras, jax
from keras import ops
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.train import train
from yeastzoi.train import losses as L
from yeastzoi.train.optimizer import clip_gradients

a = json.loads(sys.argv[1])
out = {"backend": keras.backend.backend(), "devices": jax.device_count()}
jobs = a["jobs"]
if "losses" in jobs:
    f = {k: np.asarray(v, "float32") for k, v in np.load(a["arrays"]).items()}
    y_int = np.load(a["arrays"])["y_int"]
    vals = {"poisson": L.poisson(f["y"], f["p"]), "mse": L.mse(f["y"], f["p"]),
            "poisson_mn": L.poisson_mn(f["y"], f["p"], 0.2),
            "mlm_sums": ops.stack(L.mlm_sums(y_int, f["probs"], f["w"], f["m"])),
            "terms": ops.stack(L.loss_terms((None, f["y"]), f["p"], L.poisson)),
            "reg": L.regularization_penalty([f["y"][0, 0, 0], f["y"][1, 1, 1]])}
    out["losses"] = {k: np.asarray(v).tolist() for k, v in vals.items()}
    out["clip"] = [[np.asarray(g).tolist() for g in clip_gradients([f["g1"], f["g2"]], *c)]
                   for c in ((2.5, None), (None, 2.0), (None, None))]

def run(key, spec, data, **kw):
    s = train(spec, [data], a[key], **kw)
    out[key] = {"history": s["history"], "replicas": s["replicas"], "best_epoch": s["best_epoch"]}

if "ref" in jobs:
    run("ref", a["spec"], a["tracks"])
if "cut" in jobs:
    run("cut", a["spec"], a["tracks"])                   # resumes the killed CLI run
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (2, a["seq"]))]
    np.save(a["pred"], np.asarray(SeqNN.from_file(Path(a["cut"]) / "model_best.h5").model(x, training=False)))
if "cross" in jobs:                                      # a TensorFlow checkpoint, continued
    run("cross", a["spec"], a["tracks"], overrides=a["det"])
if "ft" in jobs:
    run("ft", a["spec"], a["tracks"], restore=a["tf_model"], overrides=["train.train_epochs_max=1"])
if "cross_lm" in jobs:
    run("cross_lm", a["lm_spec"], a["lm"])
if "dp" in jobs:
    one = a["det"] + ["train.train_epochs_max=1"]
    run("dp_one", a["spec"], a["tracks"], overrides=one)
    run("dp_two", a["spec"], a["tracks"], overrides=one + ["train.batch_size=1"], strategy="mirrored")
Path(a["result"]).write_text(json.dumps(out))
"""


def _env(cache, **extra):
    """A JAX subprocess's environment: CPU, 2 host devices, a compilation cache shared by the
    runs of the same micro spec (the CLI run, the reference, the resume, the fine-tune)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", KERAS_BACKEND="jax",
               JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_COMPILATION_CACHE_DIR=str(cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    env.pop("YEASTZOI_FAULT_AT", None)
    env.update(extra)
    return env


def _history(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _same_rows(got, want, rel):
    assert [int(r["epoch"]) for r in got] == [int(r["epoch"]) for r in want]
    for a, b in zip(got, want):
        assert (str(a["steps"]), str(a["lr"])) == (str(b["steps"]), str(b["lr"]))
        for k in ("train_loss", "valid_loss", "valid_pearsonr", "valid_r2", "valid_ce", "valid_accuracy"):
            if k in b:
                assert float(a[k]) == pytest.approx(float(b[k]), rel=rel, abs=1e-6), (k, a["epoch"])


def _specs(base):
    spec, lm_spec = base / "micro.json", base / "micro_lm.json"
    spec.write_text(json.dumps(MICRO))
    lm_spec.write_text(json.dumps(MICRO_LM))
    return spec, lm_spec


def _tf_then_copy(spec, data, base, key, overrides=()):
    """TensorFlow trains epoch 1 into ``base/KEY_tf``; a copy goes to ``base/KEY`` (for JAX);
    then TensorFlow continues ``KEY_tf`` to the spec's last epoch."""
    from yeastzoi.train import train
    train(spec, [data], base / f"{key}_tf", overrides=list(overrides) + ["train.train_epochs_max=1"])
    shutil.copytree(base / f"{key}_tf", base / key)
    return train(spec, [data], base / f"{key}_tf", overrides=list(overrides))


def _jax_script(base, jobs, **paths):
    args = dict(jobs=jobs, seq=SEQ, det=DETERMINISTIC, arrays=str(base / "arrays.npz"),
                pred=str(base / "jax_pred.npy"), result=str(base / f"jax-{jobs[0]}.json"),
                **{k: str(v) for k, v in paths.items()},
                **{k: str(base / k) for k in ("ref", "cut", "cross", "cross_lm", "dp_one", "dp_two", "ft")})
    r = subprocess.run(["timeout", "-k", "5", "600", sys.executable, "-c", JAX_SCRIPT, json.dumps(args)],
                       capture_output=True, text=True, env=_env(base / "jax-cache"))
    assert r.returncode == 0, f"the JAX script exited {r.returncode}: {r.stderr[-4000:]}"
    return json.loads(Path(args["result"]).read_text())


def _arrays(path):
    """Fixed arrays for the loss / clipping comparison."""
    rng = np.random.default_rng(0)
    arrays = dict(y=rng.gamma(2.0, 1.0, (3, 10, 4)), p=rng.gamma(2.0, 1.0, (3, 10, 4)),
                  probs=rng.dirichlet(np.ones(4), (2, 6)), y_int=rng.integers(0, 5, (2, 6)).astype("int32"),
                  w=rng.random((2, 6)), m=(rng.random((2, 6)) < 0.5).astype(float),
                  g1=np.array([3.0, 0.0]), g2=np.array([[0.0], [4.0]]))
    arrays["w"] *= arrays["m"]
    np.savez(path, **arrays)
    return arrays


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The JAX CLI run killed in epoch 2, then one JAX process: the reference, the resume, the
    TensorFlow checkpoint continued, a fine-tune from a TensorFlow file, the losses."""
    base = tmp_path_factory.mktemp("jax_train")
    tracks = make_track_dir(base / "tracks", n=(8, 4, 4))
    spec, _ = _specs(base)
    arrays = _arrays(base / "arrays.npz")
    _tf_then_copy(spec, tracks, base, "cross", DETERMINISTIC)
    r = subprocess.run(["timeout", "-k", "5", "300", sys.executable, str(ROOT / "bin" / "yeastzoi_train.py"),
                        str(spec), str(tracks), "-o", str(base / "cut"), "-q"], capture_output=True, text=True,
                       env=_env(base / "jax-cache", YEASTZOI_FAULT_AT="mid_epoch:2"))
    assert r.returncode == 137, f"the killed JAX CLI run exited {r.returncode}: {r.stderr[-3000:]}"
    jx = _jax_script(base, ["losses", "ref", "cut", "cross", "ft"], spec=spec, tracks=tracks,
                     tf_model=base / "cross_tf" / "model_best.h5")
    return dict(base=base, tracks=tracks, spec=spec, arrays=arrays, jax=jx)


@pytest.fixture(scope="module")
def more_runs(tmp_path_factory):
    """A masked-LM checkpoint of TensorFlow continued under JAX; DataParallel on 2 devices."""
    base = tmp_path_factory.mktemp("jax_train_more")
    tracks = make_track_dir(base / "tracks", n=(8, 4, 4))
    lm = make_lm_dir(base / "lm", seq_length=LM_SEQ)
    spec, lm_spec = _specs(base)
    _tf_then_copy(lm_spec, lm, base, "cross_lm")
    jx = _jax_script(base, ["cross_lm", "dp"], spec=spec, lm_spec=lm_spec, tracks=tracks, lm=lm)
    return dict(base=base, jax=jx)


def test_jax_runs_on_jax_with_two_devices(runs):
    assert runs["jax"]["backend"] == "jax" and runs["jax"]["devices"] == 2
    state = json.loads((runs["base"] / "ref" / "checkpoints" / "epoch-2" / "state.json").read_text())
    assert state["backend"] == "jax" and state["step"] == EPOCHS * STEPS


def test_jax_killed_and_resumed_equals_uninterrupted(runs):
    """The killed CLI run (epoch 1 committed) resumed under JAX: history, step counter and best
    model are those of the uninterrupted JAX run; the outputs contract is TensorFlow's."""
    base, jx = runs["base"], runs["jax"]
    cut, ref = base / "cut", base / "ref"
    assert "resuming from" in (cut / "train.log").read_text()
    assert "epoch 1 done, optimizer step 2" in (cut / "train.log").read_text()
    _same_rows(_history(cut / "history.csv"), _history(ref / "history.csv"), rel=1e-6)
    assert len(_history(ref / "history.csv")) == EPOCHS
    assert jx["cut"]["best_epoch"] == jx["ref"]["best_epoch"]
    assert json.loads((cut / "model_meta.json").read_text())["best_epoch"] == jx["ref"]["best_epoch"]
    for name in ("model_best.h5", "model_best.keras", "model_meta.json", "params.json", "train.log",
                 "test_metrics.json", "test_tracks.tsv"):
        assert (cut / name).exists(), name
    ck = cut / "checkpoints"
    assert sorted(p.name for p in ck.iterdir()) == ["epoch-2", "latest"]
    assert (ck / "epoch-2" / "train_state.h5").exists() and not list((ck / "epoch-2").glob("ckpt*"))


def test_jax_trained_model_restores_into_tensorflow_with_the_same_predictions(runs):
    from yeastzoi.model.seqnn import SeqNN
    want = np.load(runs["base"] / "jax_pred.npy")
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (2, SEQ))]
    for name in ("model_best.h5", "model_best.keras"):
        got = np.asarray(SeqNN.from_file(runs["base"] / "cut" / name).model(x, training=False))
        assert got.shape == want.shape == (2, 112, 3)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.ptp(want) > 1e-3                      # a trained, input-dependent output


def _continued_equals_tensorflow(base, key):
    got, want = _history(base / key / "history.csv"), _history(base / f"{key}_tf" / "history.csv")
    assert len(got) == len(want) >= 2 and got[0] == want[0]          # the TF epoch, carried over
    _same_rows(got[1:], want[1:], rel=1e-4)
    assert float(got[-1]["train_loss"]) != pytest.approx(float(got[0]["train_loss"]), rel=1e-3)  # it trained
    assert "written under tensorflow, continued under jax" in (base / key / "train.log").read_text()
    assert json.loads((base / key / "checkpoints" / f"epoch-{len(got) - 1}" / "state.json").read_text())[
        "backend"] == "jax"


def test_tensorflow_checkpoint_continued_under_jax_equals_tensorflow(runs):
    """Epoch 1 trained by TensorFlow; epochs 2-3 under JAX equal epochs 2-3 under TensorFlow
    (BatchNorm, an L2 penalty, global-norm clipping): one loss, penalty, clipping, update."""
    _continued_equals_tensorflow(runs["base"], "cross")


@pytest.mark.slow
def test_masked_lm_checkpoint_continued_under_jax_equals_tensorflow(more_runs):
    """The same for the masked LM (weighted CE / mask count, BERT masks from tf.data, L2, clipping)."""
    _continued_equals_tensorflow(more_runs["base"], "cross_lm")


@pytest.mark.slow
def test_data_parallel_on_two_devices_equals_one_device(more_runs):
    """--strategy mirrored under JAX (DataParallel, 2 host devices, batch 1 each) gives the
    epoch of one device with batch 2 (BatchNorm statistics are those of the global batch)."""
    one, two = more_runs["jax"]["dp_one"], more_runs["jax"]["dp_two"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    _same_rows(two["history"], one["history"], rel=1e-4)
    assert "strategy mirrored: 2 replica(s), global batch 2 (1 per replica)" in \
        (more_runs["base"] / "dp_two" / "train.log").read_text()


def test_fine_tune_restores_files_saved_under_either_backend(runs, tmp_path):
    """--restore of a TensorFlow-saved model under JAX (in the JAX script), and of the
    JAX-saved model under TensorFlow (here): every layer loaded, training continues."""
    from yeastzoi.train import train
    base = runs["base"]
    assert "restored 3 layers from " + str(base / "cross_tf" / "model_best.h5") in (base / "ft" / "train.log").read_text()
    s = train(runs["spec"], [runs["tracks"]], tmp_path / "ft_tf", restore=base / "cut" / "model_best.h5",
              overrides=["train.train_epochs_max=1"])
    log = (tmp_path / "ft_tf" / "train.log").read_text()
    assert "restored 3 layers from " + str(base / "cut" / "model_best.h5") in log and "skipped 0" in log
    # the restored JAX model starts better than the fresh TensorFlow one did at epoch 1
    assert float(s["history"][0]["valid_loss"]) < float(_history(base / "cross_tf" / "history.csv")[0]["valid_loss"])


def test_losses_and_clipping_are_one_implementation(runs):
    """The keras.ops losses, loss terms, L2 sum and gradient clipping give the same numbers
    under JAX as under TensorFlow, and the hand values."""
    from keras import ops
    from yeastzoi.train import losses as L
    from yeastzoi.train.optimizer import clip_gradients
    a = {k: np.asarray(v, "float32") for k, v in runs["arrays"].items()}
    jx = runs["jax"]["losses"]
    tf_vals = {"poisson": L.poisson(a["y"], a["p"]), "mse": L.mse(a["y"], a["p"]),
               "poisson_mn": L.poisson_mn(a["y"], a["p"], 0.2),
               "mlm_sums": ops.stack(L.mlm_sums(runs["arrays"]["y_int"], a["probs"], a["w"], a["m"])),
               "terms": ops.stack(L.loss_terms((None, a["y"]), a["p"], L.poisson)),
               "reg": L.regularization_penalty([a["y"][0, 0, 0], a["y"][1, 1, 1]])}
    for k, v in tf_vals.items():
        np.testing.assert_allclose(np.asarray(jx[k]), np.asarray(v), rtol=1e-6, err_msg=k)
    y, p = a["y"].astype(float), a["p"].astype(float)
    per = (p - y * np.log(p + 1e-7)).mean(axis=(1, 2))
    np.testing.assert_allclose(jx["terms"], [per.sum(), 3.0], rtol=1e-5)
    assert jx["reg"] == pytest.approx(float(y[0, 0, 0] + y[1, 1, 1]), rel=1e-6)
    # global norm of ([3, 0], [[0], [4]]) is 5: × 2.5/5; per variable: [3,0] × 2/3, [[0],[4]] × 2/4
    want = [[[1.5, 0.0], [[0.0], [2.0]]], [[2.0, 0.0], [[0.0], [2.0]]], [[3.0, 0.0], [[0.0], [4.0]]]]
    for got_jax, c, w in zip(runs["jax"]["clip"], ((2.5, None), (None, 2.0), (None, None)), want):
        got_tf = [np.asarray(g).tolist() for g in clip_gradients([a["g1"], a["g2"]], *c)]
        for gj, gt, gw in zip(got_jax, got_tf, w):
            np.testing.assert_allclose(gj, gw, rtol=1e-6)
            np.testing.assert_allclose(gt, gw, rtol=1e-6)
