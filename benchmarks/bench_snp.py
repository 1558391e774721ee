#!/usr/bin/env python3
"""Variant-scoring throughput: the batched engine (yeastzoi.score.snps) vs a naive loop with one
forward pass per sequence (ref, then alt, batch 1) for every variant, in the same run.

    .venv/bin/python benchmarks/bench_snp.py [--variants 96] [--naive 24] [--seq-length 16384] [--rc]

Random-weight tiny.json model (16,384 bp → 896 × 16 bp bins, 14 tracks), a random 2-chromosome
genome, SNVs. Two variant sets:
  sparse — random positions, every variant its own window (the engine shares nothing but batches);
  dense  — credible-set-like groups of 8 SNVs within 1 kb, scored with --cluster-bp 4096 so each
           group shares one window and one reference prediction.
Naive baselines (warm, same model): `compiled` = model.predict_on_batch per sequence;
`SeqNN.predict` = the library's eager predict per sequence (timed on fewer variants).
Prints variants/s and ratios; asserts nothing about speed.
"""
import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from yeastzoi import zoo_spec
from yeastzoi.genome.dna import codes_to_onehot
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.model.params import load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.model.geometry import variant_window_start as window_start
from yeastzoi.score.options import ScoreOptions
from yeastzoi.score.sequences import alt_codes, ref_codes
from yeastzoi.score.snps import score_variants
from yeastzoi.score.variants import Variant


def make_variants(rng, seqs, n, dense):
    out = []
    names = list(seqs)
    while len(out) < n:
        c = names[len(out) % len(names)]
        s = seqs[c]
        centre = int(rng.integers(20_000, len(s) - 20_000))
        k = 8 if dense else 1
        for p in (centre + rng.choice(1000, size=k, replace=False) if dense else [centre]):
            p = int(p)
            ref = s[p - 1]
            out.append(Variant(f"v{len(out)}", c, p, ref, rng.choice([b for b in "ACGT" if b != ref])))
    return out[:n]


def naive_rate(fn, genome, variants, L, stitch="left"):
    t0 = time.perf_counter()
    for v in variants:
        s = window_start(v.start, L)
        fn(codes_to_onehot(ref_codes(genome, v.chrom, s, L))[None])
        fn(codes_to_onehot(alt_codes(genome, v, s, L, stitch))[None])
    return len(variants) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", type=int, default=96)
    ap.add_argument("--naive", type=int, default=24, help="variants timed in the compiled naive loop")
    ap.add_argument("--naive-eager", type=int, default=6, help="variants timed with eager SeqNN.predict")
    ap.add_argument("--seq-length", type=int, default=16384)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--rc", action="store_true", help="RC ensemble in both engine and baseline")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    L = args.seq_length
    over = [f"model.seq_length={L}"] + (["model.trunk[6].cropping=8"] if L <= 4096 else [])
    model = SeqNN(load_params(zoo_spec("tiny"), over)["model"])
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        seqs = {c: "".join(rng.choice(list("ACGT"), size=200_000)) for c in ("chrA", "chrB")}
        genome = Genome(write_fasta(Path(tmp) / "g.fa", list(seqs.items())))
        ens = model.build_ensemble(rc=args.rc)
        print(f"model: tiny, {L} bp → {model.meta['target_length']} bins × {model.meta['num_targets']} tracks; "
              f"rc={args.rc}, batch {args.batch_size}")

        warm = make_variants(rng, seqs, 2 * args.batch_size, False)
        ens.predict_on_batch(codes_to_onehot(ref_codes(genome, "chrA", 0, L))[None])   # trace batch 1
        base = naive_rate(ens.predict_on_batch, genome, make_variants(rng, seqs, args.naive, False), L)
        eager = naive_rate(lambda x: model.predict(x, batch_size=1), genome,
                           make_variants(rng, seqs, args.naive_eager, False), L)
        print(f"naive compiled predict_on_batch, 2 calls/variant: {base:7.2f} variants/s")
        print(f"naive eager SeqNN.predict,       2 calls/variant: {eager:7.2f} variants/s")
        for label, dense, cluster in (("sparse", False, 0), ("dense", True, L // 4)):
            vs = make_variants(rng, seqs, args.variants, dense)
            opts = ScoreOptions(stats=["SAD", "logSED"], rc=args.rc, batch_size=args.batch_size, cluster_bp=cluster)
            score_variants([model], genome, warm, ScoreOptions(stats=["SAD"], rc=args.rc, batch_size=args.batch_size,
                                                                compiled=True))
            t0 = time.perf_counter()
            res = score_variants([model], genome, vs, opts)
            rate = len(vs) / (time.perf_counter() - t0)
            print(f"engine {label:6s} ({len(vs)} variants, {res.attrs['windows']} windows, cluster_bp {cluster}): "
                  f"{rate:7.2f} variants/s  = {rate / base:5.2f}x compiled naive, {rate / eager:6.1f}x eager naive")


if __name__ == "__main__":
    main()
