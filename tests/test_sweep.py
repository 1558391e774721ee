"""Sweeps: grid expansion and names, dry-run parameter counts, training with skip/resume."""
import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yeastzoi import YeastzoiError, zoo_spec
from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_statistics

ROOT = Path(__file__).resolve().parents[1]
SEQ = 2048
#: tiny.json at 2048 bp (7 pools → 16, 3 U-Net steps → 128 bins, crop 8 → 112), 2 steps × 2 epochs
SMALL = [f"model.seq_length={SEQ}", "model.trunk[6].cropping=8", "train.batch_size=2",
         "train.warmup_steps=0", "train.shuffle_buffer=8", "train.steps_per_epoch_max=2",
         "train.train_epochs_max=2", "train.patience=100"]


def _sets(items):
    return [a for s in items for a in ("--set", s)]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def _sweep_cmd(*args):
    return [sys.executable, str(ROOT / "bin" / "yeastzoi_sweep.py"), *map(str, args)]


def _tsv(path):
    with open(path, newline="") as f:
        return {r["variant"]: r for r in csv.DictReader(f, delimiter="\t")}


def make_track_dir(out, n=(6, 2, 2), T=2, seed=0, crop=128, pool=16):
    """Train/valid/test records whose targets are GC counts per 16 bp bin."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    tl = (SEQ - 2 * crop) // pool
    stats = {"seq_length": SEQ, "seq_depth": 4, "seq_1hot": True, "target_length": tl, "num_targets": T,
             "pool_width": pool, "crop_bp": crop, "num_species": 1}
    for split, k in zip(("train", "valid", "test"), n):
        with ShardWriter(out / "tfrecords", split, seqs_per_file=4) as w:
            for _ in range(k):
                seq = rng.integers(0, 4, SEQ).astype(np.uint8)
                gc = np.isin(seq, (1, 2))[crop:SEQ - crop].reshape(tl, pool).sum(1)
                w.write(serialize_example(seq, np.stack([gc * (j + 1) / 4.0 for j in range(T)], 1)))
        stats[f"{split}_seqs"] = k
    write_statistics(out / "statistics.json", stats)
    return out


# ------------------------------------------------------------------------ grid (no TF)
def test_grid_product_names_and_explicit_variants(tmp_path):
    from yeastzoi.train import expand_grid
    g = tmp_path / "g.json"
    g.write_text(json.dumps({"grid": {"model.trunk[2].repeat": [1, 2], "train.learning_rate": [1e-3, 1e-4]},
                             "set": {"train.batch_size": 2}}))
    vs = expand_grid(zoo_spec("tiny"), g, overrides=["train.patience=3"])
    assert [v["name"] for v in vs] == ["repeat1_lr0.001", "repeat1_lr0.0001", "repeat2_lr0.001", "repeat2_lr0.0001"]
    assert vs[1]["overrides"] == ["train.patience=3", "train.batch_size=2", "model.trunk[2].repeat=1",
                                  "train.learning_rate=0.0001"]
    # two keys with the same last token get their full paths; explicit variants × grid
    g.write_text(json.dumps({"grid": {"model.trunk[1].repeat": [3], "model.trunk[2].repeat": [1, 2]},
                             "variants": [{"name": "a"}, {"name": "b", "spec": str(zoo_spec("tiny_lm")),
                                                          "set": {"train.learning_rate": 0.01}}]}))
    vs = expand_grid(zoo_spec("tiny"), g)
    assert [v["name"] for v in vs] == ["a_trunk1repeat3_trunk2repeat1", "a_trunk1repeat3_trunk2repeat2",
                                       "b_trunk1repeat3_trunk2repeat1", "b_trunk1repeat3_trunk2repeat2"]
    assert vs[2]["spec"] == zoo_spec("tiny_lm") and vs[2]["set"]["train.learning_rate"] == 0.01


def test_grid_errors_are_one_line_and_name_the_variant(tmp_path):
    from yeastzoi.train import expand_grid, prepare
    g = tmp_path / "g.json"
    g.write_text(json.dumps({"variants": [{"name": "ok"}, {"name": "deep", "set": {"model.trunk[9].repeat": 4}}]}))
    with pytest.raises(YeastzoiError, match=r"^variant deep: .*tiny.json: --set model.trunk\[9\].repeat: model.trunk\[9\] does not exist"):
        prepare(expand_grid(zoo_spec("tiny"), g), tmp_path / "out")
    assert not (tmp_path / "out" / "ok").exists()          # nothing written before all validate
    g.write_text(json.dumps({"variants": [{"name": "typed", "set": {"model.trunk[2].repeat": "4"}}]}))
    with pytest.raises(YeastzoiError, match=r"^variant typed: .*model.trunk\[2\].repeat: expected int, got \"4\""):
        prepare(expand_grid(zoo_spec("tiny"), g), tmp_path / "out")
    g.write_text(json.dumps({"variants": [{"name": "../up"}]}))
    with pytest.raises(YeastzoiError, match="names the folder"):
        expand_grid(zoo_spec("tiny"), g)
    g.write_text(json.dumps({"variants": [{"name": "x", "spec": "no/such.json"}]}))
    with pytest.raises(YeastzoiError, match="spec no/such.json: no such file"):
        expand_grid(zoo_spec("tiny"), g)
    g.write_text(json.dumps({"grid": {"train.learning_rate": []}}))
    with pytest.raises(YeastzoiError, match="non-empty list"):
        expand_grid(zoo_spec("tiny"), g)
    r = subprocess.run(_sweep_cmd(zoo_spec("tiny"), g, "-o", tmp_path / "o", "--dry-run"), capture_output=True,
                       text=True, env=_env())
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: ") \
        and "non-empty list" in r.stderr


# ---------------------------------------------------------------------------- dry run
def test_dry_run_tiny_grid_and_cnn_specs_exact_counts(tmp_path):
    """CLI dry-run over tiny.json (2 variants) + the talk's two CNN specs with 170 channels."""
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN
    out = tmp_path / "dry"
    r = subprocess.run(_sweep_cmd(zoo_spec("tiny"), ROOT / "grids" / "tiny_two_variants.json", "-o", out,
                                  "--dry-run", "--set", "train.learning_rate=0.002"),
                       capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _tsv(out / "summary.tsv")
    assert list(rows) == ["repeat1", "repeat2"]
    for name, rep in (("repeat1", 1), ("repeat2", 2)):
        spec = load_params(zoo_spec("tiny"), [f"model.trunk[2].repeat={rep}"])
        m = SeqNN(spec["model"])
        row = rows[name]
        assert int(row["params"]) == m.num_params and int(row["trainable"]) == m.num_trainable
        assert row["output_shape"] == "896x14" and row["status"] == "dry"
        assert row["overrides"] == f"model.trunk[2].repeat={rep}"
        saved = json.loads((out / name / "params.json").read_text())
        assert saved["model"]["trunk"][2]["repeat"] == rep and saved["train"]["learning_rate"] == 0.002
        assert f"{m.num_params:,}" in r.stdout
    assert int(rows["repeat2"]["params"]) > int(rows["repeat1"]["params"])
    assert "repeat1" in (out / "summary.html").read_text()

    # the talk's CNN pair, specs given by path, num_features from the grid (170)
    grid = json.loads((ROOT / "grids" / "talk_architectures.json").read_text())
    grid["variants"] = [dict(v, spec=str(ROOT / v["spec"])) for v in grid["variants"][:2]]
    (tmp_path / "cnn.json").write_text(json.dumps(grid))
    from yeastzoi.train import run_sweep
    rows = {r["variant"]: r for r in run_sweep(zoo_spec("tiny"), tmp_path / "cnn.json", tmp_path / "cnn", dry=True)}
    assert rows["dilated_cnn_small"]["params"] == 320_708
    assert rows["dilated_cnn_large"]["params"] == 3_642_116
    assert rows["dilated_cnn_small"]["num_features"] == 170
    assert rows["dilated_cnn_small"]["output_shape"] == f"{16384}x4"


@pytest.mark.slow
def test_talk_architectures_grid_dry_run_exact_counts(tmp_path):
    """grids/talk_architectures.json (the repo's file, specs relative to the repo root) from
    another working directory: the four LM architectures of the talk, exact counts."""
    out = tmp_path / "talk"
    r = subprocess.run(_sweep_cmd(ROOT / "json_params" / "tiny.json", ROOT / "grids" / "talk_architectures.json",
                                  "-o", out, "--dry-run"),
                       capture_output=True, text=True, env=_env(), timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _tsv(out / "summary.tsv")
    grid = json.loads((ROOT / "grids" / "talk_architectures.json").read_text())
    for v in grid["variants"]:
        assert int(rows[v["name"]]["params"]) == v["expected_params"]
        assert rows[v["name"]]["num_features"] == "170" and rows[v["name"]]["output_shape"] == "16384x4"
    assert [int(rows[n]["params"]) for n in rows] == [320_708, 3_642_116, 13_665_828, 71_790_564]


# ---------------------------------------------------------------------------- training
def test_train_sweep_array_index_kill_and_resume(tmp_path, caplog):
    """--array-index 0 trains only variant 0 (in process); a full sweep is killed during
    variant 1 (partial); the rerun (jobs=1: a yeastzoi_train.py subprocess) skips variant 0 and resumes 1.
    The summary equals each variant's history.csv."""
    data = make_track_dir(tmp_path / "data")
    grid = ROOT / "grids" / "tiny_two_variants.json"
    out = tmp_path / "sweep"
    from yeastzoi.train import read_history, run_sweep
    rows = run_sweep(zoo_spec("tiny"), grid, out, data_dirs=[data], array_index=0, overrides=SMALL)
    by = {r["variant"]: r for r in rows}
    assert by["repeat1"]["status"] == "finished" and by["repeat2"]["status"] == "dry"
    assert (out / "repeat1" / "test_metrics.json").exists() and not (out / "repeat2" / "history.csv").exists()
    rec0 = json.loads((out / "repeat1" / "sweep_run.json").read_text())
    assert rec0["peak_rss_mb"] > 50 and rec0["peak_rss_method"].startswith("VmHWM")
    mtime0 = (out / "repeat1" / "history.csv").stat().st_mtime_ns

    # the full sweep, killed (fault hook: os._exit(137)) right after variant 1 committed its
    # first epoch and before that epoch's history.csv was published
    cmd = ["timeout", "-k", "5", "240", *map(str, _sweep_cmd(zoo_spec("tiny"), grid, "-o", out, "--train", data,
                                                              *_sets(SMALL)))]
    proc = subprocess.run(cmd, env=dict(_env(), YEASTZOI_FAULT_AT="after_commit:1"), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 137, proc.stderr[-2000:]
    assert (out / "repeat2" / "checkpoints" / "latest").read_text().strip() == "epoch-0"
    assert not (out / "repeat2" / "history.csv").exists()        # published only on the rerun
    err = proc.stderr
    assert "variant 0 repeat1: finished; skipping" in err and "variant 1 repeat2: training" in err
    assert (out / "repeat1" / "history.csv").stat().st_mtime_ns == mtime0
    assert not (out / "repeat2" / "done.json").exists() and not (out / "repeat2" / "test_metrics.json").exists()

    caplog.set_level(logging.INFO, logger="yeastzoi.train")
    run_sweep(zoo_spec("tiny"), grid, out, data_dirs=[data], jobs=1, overrides=SMALL)
    assert "variant 0 repeat1: finished; skipping" in caplog.text
    assert "variant 1 repeat2: resuming from its checkpoint" in caplog.text
    assert "resuming from" in (out / "repeat2" / "train.log").read_text()
    assert "INFO" not in (out / "repeat2" / "sweep.log").read_text()         # -q: warnings only
    assert (out / "repeat1" / "history.csv").stat().st_mtime_ns == mtime0
    rec1 = json.loads((out / "repeat2" / "sweep_run.json").read_text())
    assert rec1["returncode"] == 0 and rec1["peak_rss_mb"] > 50 and "wait4" in rec1["peak_rss_method"]

    rows = _tsv(out / "summary.tsv")
    for name in ("repeat1", "repeat2"):
        h = read_history(out / name / "history.csv")
        row = rows[name]
        assert row["status"] == "finished"
        assert [r_["epoch"] for r_ in h] == [1.0, 2.0] and int(row["epochs"]) == 2
        assert float(row["best_valid_loss"]) == pytest.approx(min(r_["valid_loss"] for r_ in h), rel=1e-5)
        assert float(row["best_valid_pearsonr"]) == pytest.approx(max(r_["valid_pearsonr"] for r_ in h), rel=1e-5)
        best = int(row["best_epoch"])          # the trainer's best epoch (history ties at 6 digits)
        assert h[best - 1]["valid_loss"] == min(r_["valid_loss"] for r_ in h)
        state = json.loads((out / name / "checkpoints" / "epoch-1" / "state.json").read_text())
        assert best == state["best_epoch"] + 1
        sps = sum(r_["seconds"] for r_ in h) / sum(r_["steps"] for r_ in h)
        assert float(row["seconds_per_step"]) == pytest.approx(sps, rel=1e-5)
        assert float(row["peak_rss_mb"]) > 50
        # the trained model has one output per data track (the trainer sets head units)
        assert row["output_shape"] == "112x2"
    assert (out / "figures" / "learning_curves.png").stat().st_size > 1000
    assert (out / "figures" / "metric_vs_params.png").stat().st_size > 1000
    html = (out / "summary.html").read_text()
    assert "learning_curves.png" in html and "metric_vs_params.png" in html

    # a third run has nothing to do
    rows = run_sweep(zoo_spec("tiny"), grid, out, data_dirs=[data], overrides=SMALL)
    assert [r_["status"] for r_ in rows] == ["finished", "finished"]
    assert (out / "repeat1" / "history.csv").stat().st_mtime_ns == mtime0

    # a variant that cannot train on this data is 'failed' (the others go on) and is retried
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"variants": [{"name": "badcrop", "set": {"model.trunk[6].cropping": 9}}]}))
    rows = run_sweep(zoo_spec("tiny"), bad, tmp_path / "bad", data_dirs=[data], overrides=SMALL)
    assert rows[0]["status"] == "failed" and "outputs 110 bins" in rows[0]["error"]
    assert _tsv(tmp_path / "bad" / "summary.tsv")["badcrop"]["status"] == "failed"
    caplog.clear()
    run_sweep(zoo_spec("tiny"), bad, tmp_path / "bad", data_dirs=[data], overrides=SMALL)
    assert "variant 0 badcrop: retrying" in caplog.text
