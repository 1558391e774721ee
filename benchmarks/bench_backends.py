#!/usr/bin/env python3
"""Training throughput: the same spec, data and loop under TensorFlow and under JAX.

  benchmarks/bench_backends.py -o OUT                       # tiny.json at 16,384 bp, batch 4
  benchmarks/bench_backends.py -o OUT --spec json_params/lm_dilated_cnn_small.json --batch 2
  benchmarks/bench_backends.py -o OUT --set model.seq_length=4096 --set model.trunk[6].cropping=16

Writes a random track data dir matching the spec's output (OUT/data: random sequences, the
GC count per bin as targets), then trains it once per backend, each in its own process
(``KERAS_BACKEND=tensorflow`` / ``jax``; same seed, same batches) for ``--epochs`` epochs of
``--steps`` steps. Epoch 1 includes compilation (tf.function tracing; XLA compilation
under JAX) and is reported apart; throughput is over the remaining epochs, from the
trainer's own per-epoch training time (history.csv ``seconds``: the training steps and the
input pipeline, not validation). Prints s/step, sequences/s, the first epoch's time and the
JAX : TensorFlow throughput ratio. Numbers, not asserts; on a shared machine they are noisy
(compare only within one run, and rerun).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def make_data(out: Path, seq_length: int, target_length: int, num_targets: int, n_train: int,
              seed: int = 0) -> Path:
    """A track data dir: random sequences, targets = GC count per bin (all tracks, scaled)."""
    from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_statistics
    if (out / "statistics.json").exists():
        return out
    rng = np.random.default_rng(seed)
    pool = 16
    crop = (seq_length - target_length * pool) // 2
    stats = {"seq_length": seq_length, "seq_depth": 4, "seq_1hot": True, "target_length": target_length,
             "num_targets": num_targets, "pool_width": pool, "crop_bp": crop, "num_species": 1}
    for split, k in (("train", n_train), ("valid", 4), ("test", 0)):
        if k == 0:
            continue
        with ShardWriter(out / "tfrecords", split, seqs_per_file=64) as w:
            for _ in range(k):
                seq = rng.integers(0, 4, seq_length).astype(np.uint8)
                gc = np.isin(seq, (1, 2))[crop:crop + target_length * pool].reshape(target_length, pool).sum(1)
                w.write(serialize_example(seq, np.repeat(gc[:, None] / 4.0, num_targets, 1)))
        stats[f"{split}_seqs"] = k
    write_statistics(out / "statistics.json", stats)
    (out / "targets.txt").write_text("\tidentifier\tfile\n" +
                                     "".join(f"{j}\ttrack{j}\tt{j}.bw\n" for j in range(num_targets)))
    return out


def worker(args) -> int:
    """One backend: build the data (first worker), train, print the history as JSON."""
    import keras
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN
    from yeastzoi.train import train
    spec = load_params(args.spec, args.overrides)
    seqnn = SeqNN(spec["model"], num_features=4)
    meta, num_params = seqnn.meta, seqnn.num_params
    data = make_data(Path(args.out) / "data", meta["seq_length"], meta["target_length"], meta["num_targets"],
                     n_train=args.batch * args.steps)
    del seqnn
    keras.backend.clear_session()
    sets = list(args.overrides) + [f"train.batch_size={args.batch}", f"train.steps_per_epoch_max={args.steps}",
                                   f"train.train_epochs_max={args.epochs}", f"train.patience={args.epochs}",
                                   "train.task=supervised", "train.loss=poisson", "train.shuffle_buffer=8",
                                   "train.eval_steps_max=1"]
    out = Path(args.out) / keras.backend.backend()
    t0 = time.time()
    train(args.spec, [data], out, overrides=sets, mixed_precision=args.mixed_precision)
    rows = list(csv.DictReader(open(out / "history.csv")))
    print("RESULT " + json.dumps({"backend": keras.backend.backend(), "rows": rows, "total_s": time.time() - t0,
                                  "params": num_params}))
    return 0


def summarize(res: dict, batch: int) -> dict:
    """s/step and sequences/s over epochs 2.. (epoch 1 reported apart)."""
    rows = res["rows"]
    later = rows[1:] or rows
    secs = sum(float(r["seconds"]) for r in later)
    steps = sum(int(r["steps"]) for r in later)
    return {"s_per_step": secs / steps, "seq_per_s": steps * batch / secs, "first_epoch_s": float(rows[0]["seconds"]),
            "total_s": res["total_s"], "params": res["params"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", required=True, help="work folder (data and one run per backend)")
    ap.add_argument("--spec", default=None, help="params.json [json_params/tiny.json]")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=8, help="steps per epoch [8]")
    ap.add_argument("--epochs", type=int, default=3, help="epochs; the first is reported apart [3]")
    ap.add_argument("--backends", default="tensorflow,jax")
    ap.add_argument("--mixed-precision", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.spec is None:
        from yeastzoi import zoo_spec
        args.spec = str(zoo_spec("tiny"))
    if args.worker:
        return worker(args)
    results = {}
    for backend in args.backends.split(","):
        cmd = [sys.executable, str(HERE), "--worker", "-o", args.out, "--spec", args.spec, "--batch", str(args.batch),
               "--steps", str(args.steps), "--epochs", str(args.epochs)]
        cmd += [a for s in args.overrides for a in ("--set", s)]
        cmd += ["--mixed-precision"] if args.mixed_precision else []
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
        if r.returncode or not lines:
            print(f"{backend}: failed (exit {r.returncode})\n{r.stderr[-2000:]}", file=sys.stderr)
            return 1
        results[backend] = summarize(json.loads(lines[-1][7:]), args.batch)
    params = next(iter(results.values()))["params"]
    print(f"spec {args.spec} {' '.join(args.overrides)} ({params:,} parameters); batch {args.batch}, {args.steps} steps x "
          f"{args.epochs - 1} timed epochs (epoch 1 = compile + first steps)")
    print(f"{'backend':11s} {'s/step':>8s} {'seq/s':>8s} {'epoch 1 s':>10s} {'run s':>7s}")
    for b, s in results.items():
        print(f"{b:11s} {s['s_per_step']:8.3f} {s['seq_per_s']:8.2f} {s['first_epoch_s']:10.1f} {s['total_s']:7.1f}")
    if {"tensorflow", "jax"} <= set(results):
        ratio = results["jax"]["seq_per_s"] / results["tensorflow"]["seq_per_s"]
        print(f"JAX : TensorFlow training throughput = {ratio:.2f}")
    (Path(args.out) / "bench_backends.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
