#!/usr/bin/env python3
"""Accuracy harness: the tiny spec fine-tuned from a tiny masked LM vs the same run on
shuffled targets (and, with --scratch, trained from random initialisation).

  bin/yeastzoi_genome.py r64 G && bin/yeastzoi_simulate.py G SIM --chroms chrI,chrII,chrIII,chrVI
  bin/yeastzoi_data.py G/genome.fa SIM/targets.txt -o TRACKS -l 4096 -w 16 -c 256 -t chrI -v chrVI \\
      --limit sim_chroms.bed --no-homology
  bin/yeastzoi_lm_data.py species.tsv -o LM -l 4096 --stride 2048 -t chrI -v chrVI --no-homology
  benchmarks/bench_train.py TRACKS LM -o OUT [--scratch]

The spec is json_params/tiny(_lm).json at seq_length 4096 (Cropping1D 16 → 224 bins of 16 bp,
matching -c 256). The shuffled baseline rewrites TRACKS' train and valid records with the
targets permuted across windows (test untouched), so it can learn only the average profile.
Prints test Pearson R (mean over tracks, all bins of the test split) of each model and the
wall time of each stage. Numbers, not asserts.
"""
import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from yeastzoi import zoo_spec


def shuffled_copy(src: Path, dst: Path, seed: int = 0) -> Path:
    """Copy a track data dir with train/valid targets permuted across records."""
    import tensorflow as tf
    from yeastzoi.data.pipeline import record_files
    from yeastzoi.data.tfrecords import ShardWriter, parse_example, serialize_example
    if (dst / "statistics.json").exists():
        return dst
    stats = json.loads((src / "statistics.json").read_text())
    (dst / "tfrecords").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    L, tl, nt = stats["seq_length"], stats["target_length"], stats["num_targets"]
    for split in ("train", "valid", "test"):
        seqs, tgts = [], []
        for rec in tf.data.TFRecordDataset(record_files(src, split), compression_type="ZLIB"):
            ex = parse_example(rec, L, tl, nt)
            seqs.append(ex["sequence"].numpy())
            tgts.append(ex["target"].numpy())
        order = rng.permutation(len(tgts)) if split != "test" else np.arange(len(tgts))
        with ShardWriter(dst / "tfrecords", split, seqs_per_file=256) as w:
            for s, i in zip(seqs, order):
                w.write(serialize_example(s, tgts[i]))
    for name in ("statistics.json", "targets.txt", "sequences.bed"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)
    return dst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tracks")
    ap.add_argument("lm")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--lm-epochs", type=int, default=3)
    ap.add_argument("--lm-steps", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--scratch", action="store_true", help="also train from random initialisation")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("absl").setLevel(logging.WARNING)
    from yeastzoi.train.loop import train
    out = Path(args.out)
    seq = json.loads((Path(args.tracks) / "statistics.json").read_text())
    L, crop_bins = seq["seq_length"], seq["crop_bp"] // seq["pool_width"]
    lm_sets = [f"model.seq_length={L}", f"train.train_epochs_max={args.lm_epochs}",
               f"train.steps_per_epoch_max={args.lm_steps}", f"train.batch_size={args.batch}",
               "train.eval_steps_max=10"]
    ft_sets = [f"model.seq_length={L}", f"model.trunk[6].cropping={crop_bins}",
               f"train.train_epochs_max={args.epochs}", f"train.steps_per_epoch_max={args.steps}",
               f"train.batch_size={args.batch}", f"train.patience={args.epochs}"]
    timings, results = {}, {}
    t0 = time.time()
    lm = train(zoo_spec("tiny_lm"), [args.lm], out / "lm", overrides=lm_sets)
    timings["lm"] = time.time() - t0
    results["lm"] = lm.get("test", {})
    runs = [("finetune", args.tracks, dict(restore=out / "lm" / "model_best.h5", trunk=True)),
            ("shuffled", shuffled_copy(Path(args.tracks), out / "tracks_shuffled"),
             dict(restore=out / "lm" / "model_best.h5", trunk=True))]
    if args.scratch:
        runs.append(("scratch", args.tracks, dict(overrides_extra=["train.task=supervised"])))
    for name, data, kw in runs:
        t0 = time.time()
        extra = kw.pop("overrides_extra", [])
        s = train(zoo_spec("tiny"), [data], out / name, overrides=ft_sets + extra, **kw)
        timings[name] = time.time() - t0
        results[name] = s.get("test", {})
    print(f"{'model':10s} {'test pearsonr':>14s} {'test r2':>9s} {'seconds':>8s}")
    for name in [r[0] for r in runs]:
        r = results[name]
        print(f"{name:10s} {r.get('pearsonr', float('nan')):14.4f} {r.get('r2', float('nan')):9.4f} "
              f"{timings[name]:8.0f}")
    lmr = results["lm"]
    print(f"LM test: loss {lmr.get('loss', float('nan')):.4f} accuracy {lmr.get('accuracy', float('nan')):.4f} "
          f"perplexity {lmr.get('perplexity', float('nan')):.3f} ({timings['lm']:.0f} s)")
    json.dump({"results": results, "seconds": timings}, open(out / "bench.json", "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
