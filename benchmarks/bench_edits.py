#!/usr/bin/env python3
"""Tower reuse (``Predictor.predict_edits``) against predicting every alternative whole, in one
process: the same model, the same windows, alternating rounds.

    .venv/bin/python benchmarks/bench_edits.py [--model r64_sim_tracks | --spec SPEC.json --tracks 16]
                                               [--rounds 3] [--batch 8] [--json FILE]

Two workloads on random sequences: *snp* (every alternative has its own reference window, one
SNV each: 32 references, 32 alternatives — exact variant scoring) and *ism* (one reference, 96
single-base alternatives in a 32 bp stretch — in-silico mutagenesis, shared-window scoring).
Compiled prediction (traced once before timing). Prints sequences/s of both paths, the ratio and
the largest difference between their predictions (relative to the largest prediction).
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def workloads(L: int, rng):
    refs = rng.integers(0, 4, (32, L)).astype(np.int8)
    pos = rng.integers(L // 8, L - L // 8, 32)
    alts = refs.copy()
    alts[np.arange(32), pos] = (alts[np.arange(32), pos] + 1) % 4
    snp = (refs, alts, np.arange(32))
    one = refs[:1]
    ism = np.repeat(one, 96, axis=0)
    for k in range(96):
        p = L // 2 - 16 + k // 3
        ism[k, p] = (one[0, p] + 1 + k % 3) % 4
    return {"snp": snp, "ism": (one, ism, np.zeros(96, np.int64))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="r64_sim_tracks", help="model file or shipped name [r64_sim_tracks]")
    ap.add_argument("--spec", help="build a random-weight model from this spec instead")
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    from yeastzoi.model.predictor import Predictor
    if args.spec:
        from yeastzoi.model.seqnn import SeqNN
        spec = json.loads(Path(args.spec).read_text())["model"]
        spec["head"]["units"] = args.tracks
        from bench_peer import _calibrate_batchnorm, _nontrivial_weights
        net = SeqNN(spec, num_features=4)
        _nontrivial_weights(net.model, 0)           # the SNP benchmark's model, built the same way
        _calibrate_batchnorm(net.model, 0)
        name = f"{Path(args.spec).name} ({args.tracks} tracks, random weights)"
    else:
        from yeastzoi import zoo_model
        from yeastzoi.model.loader import load_model
        path = Path(args.model) if Path(args.model).exists() else zoo_model(args.model)
        net, name = load_model(path), args.model
    pred = Predictor(net, batch_size=args.batch, compiled=True)
    split = pred._split(net)
    print(f"model {name}: seq_length {net.seq_length}, tower split "
          + (f"at {len(split.resolution)} tensors, receptive field ±{split.extent} bp, sub-window "
             f"{split.patch_bp} bp" if split else "none (every alternative predicted whole)"), flush=True)
    results = {}
    for wname, (refs, alts, idx) in workloads(net.seq_length, np.random.default_rng(1)).items():
        times = {True: [], False: []}
        outs = {}
        for reuse in (True, False):                  # trace both paths before timing
            pred.reuse_tower = reuse
            outs[reuse] = pred.predict_edits(refs, alts, idx)
        for r in range(args.rounds):
            for reuse in ((True, False) if r % 2 == 0 else (False, True)):
                pred.reuse_tower = reuse
                t = time.perf_counter()
                pred.predict_edits(refs, alts, idx)
                times[reuse].append(time.perf_counter() - t)
        n = len(refs) + len(alts)
        a, b = statistics.median(times[True]), statistics.median(times[False])
        diff = max(float(np.abs(outs[True][i] - outs[False][i]).max()) for i in (0, 1))
        scale = float(np.abs(outs[False][1]).max())
        results[wname] = dict(sequences=n, reuse_s=a, whole_s=b, ratio=b / a, max_abs_diff=diff,
                              max_abs_prediction=scale, rounds=args.rounds)
        print(f"{wname}: {len(refs)} references + {len(alts)} alternatives: tower reuse {n / a:.1f} seq/s, "
              f"whole {n / b:.1f} seq/s, ratio {b / a:.2f}; max |diff| {diff:.3g} (max prediction "
              f"{scale:.3g})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(model=name, batch=args.batch, results=results), indent=1))


if __name__ == "__main__":
    main()
