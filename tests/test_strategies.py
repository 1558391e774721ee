"""The same training under MirroredStrategy (2 logical CPUs) and MultiWorkerMirroredStrategy
(2 processes on 127.0.0.1) matches a single-device run.

Each run trains the 2048-bp tiny spec for 1 epoch of 2 steps (global batch 2) on the same
records with the same seed. BatchNorm and dropout are switched off by overrides so the
computation does not depend on how the batch is split; the remaining differences are
float32 summation order, hence the relative tolerance of 1e-4 on the epoch's mean training
loss and the validation loss (both after parameter updates).
"""
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from test_trainer import SMALL, make_track_dir
from yeastzoi import zoo_spec

DETERMINISTIC = SMALL + ["model.norm_type=null", "model.trunk[1].dropout=0", "model.trunk[2].dropout=0",
                         "model.trunk[2].attention_dropout=0", "model.trunk[2].position_dropout=0",
                         "train.train_epochs_max=1", "train.steps_per_epoch_max=2", "train.loss=poisson",
                         "train.learning_rate=0.002"]
RTOL = 1e-4

RUNNER = r"""
import json, sys
args = json.loads(sys.argv[1])
if args.get("logical_cpus"):
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args["logical_cpus"])
from yeastzoi.train.loop import train
s = train(args["params"], [args["data"]], args["out"], strategy=args["strategy"], seed=3,
          overrides=args["overrides"])
print("SUMMARY " + json.dumps({"replicas": s["replicas"], "history": s["history"]}))
"""


def _env(**extra):
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra)


def _losses(summary):
    row = summary["history"][-1]
    return float(row["train_loss"]), float(row["valid_loss"])


def _parse(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("SUMMARY ")]
    assert lines, stdout[-2000:]
    return json.loads(lines[-1][len("SUMMARY "):])


def _args(data, out, strategy, batch, **kw):
    return json.dumps(dict(params=str(zoo_spec("tiny")), data=str(data), out=str(out), strategy=strategy,
                           overrides=DETERMINISTIC + [f"train.batch_size={batch}"], **kw))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_track_dir(tmp_path_factory.mktemp("strat_tracks"), n=(8, 2, 0))


@pytest.fixture(scope="module")
def single(data, tmp_path_factory):
    """Reference: one device, batch 2."""
    from yeastzoi.train.loop import train
    s = train(zoo_spec("tiny"), [data], tmp_path_factory.mktemp("single"), seed=3,
              overrides=DETERMINISTIC + ["train.batch_size=2"])
    assert s["replicas"] == 1
    return _losses(s)


def test_mirrored_two_logical_cpus_matches_single_device(data, single, tmp_path):
    r = subprocess.run(["timeout", "-k", "5", "400", sys.executable, "-c", RUNNER,
                        _args(data, tmp_path / "mirrored", "mirrored", 1, logical_cpus=2)],
                       capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr[-3000:]
    s = _parse(r.stdout)
    assert s["replicas"] == 2
    train_loss, valid_loss = _losses(s)
    assert train_loss == pytest.approx(single[0], rel=RTOL)
    assert valid_loss == pytest.approx(single[1], rel=RTOL)
    assert (tmp_path / "mirrored" / "model_best.h5").exists()


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_multiworker_two_processes_matches_single_device(data, single, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "mw"
    procs = []
    try:
        for i in range(2):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            procs.append(subprocess.Popen(
                ["timeout", "-k", "5", "400", sys.executable, "-c", RUNNER,
                 _args(data, out, "multiworker", 1)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=_env(TF_CONFIG=tf_config), start_new_session=True))
        results = [p.communicate(timeout=420) for p in procs]
    finally:
        for p in procs:                 # a worker whose peer died ignores SIGTERM: kill its group
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr[-3000:]
    chief = _parse(results[0][0])
    other = _parse(results[1][0])
    assert chief["replicas"] == 2 and other["replicas"] == 2
    for s in (chief, other):
        train_loss, valid_loss = _losses(s)
        assert train_loss == pytest.approx(single[0], rel=RTOL)
        assert valid_loss == pytest.approx(single[1], rel=RTOL)
    assert (out / "model_best.h5").exists() and (out / "history.csv").exists()
    assert not (out / ".worker-1").exists()          # the non-chief cleaned up its scratch dir
