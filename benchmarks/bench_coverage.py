#!/usr/bin/env python3
"""Throughput of yeastzoi.coverage.tracks on a synthetic 12 Mb genome (prints reads/s; no asserts).

  python benchmarks/bench_coverage.py [--reads 1000000] [--workdir DIR]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam

from yeastzoi.coverage import CoverageFile, bam_to_coverage, write_bigwig, write_w5


def make_bam(path: Path, sizes: dict, n: int, seed: int = 0) -> None:
    """Sorted, indexed BAM with n reads of 50-100 bp, 20% spliced, 10% reverse-duplicate."""
    rng = np.random.default_rng(seed)
    names = list(sizes)
    lens = np.array([sizes[c] for c in names])
    chrom = rng.choice(len(names), n, p=lens / lens.sum())
    rlen = rng.integers(50, 101, n)
    pos = (rng.random(n) * (lens[chrom] - 2000)).astype(np.int64)
    rev = rng.random(n) < 0.5
    spliced = rng.random(n) < 0.2
    intron = rng.integers(50, 500, n)
    dup = rng.random(n) < 0.05
    nh = np.where(rng.random(n) < 0.05, 2, 1)
    order = np.lexsort((pos, chrom))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": c, "LN": int(sizes[c])} for c in names]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in order:
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{i}"
            a.flag = (16 if rev[i] else 0) | (0x400 if dup[i] else 0)
            a.reference_id = int(chrom[i])
            a.reference_start = int(pos[i])
            L = int(rlen[i])
            if spliced[i]:
                h = L // 2
                a.cigarstring = f"{h}M{int(intron[i])}N{L - h}M"
            else:
                a.cigarstring = f"{L}M"
            a.query_sequence = "A" * L
            a.mapping_quality = 60
            a.set_tag("NH", int(nh[i]))
            out.write(a)
    pysam.index(str(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=1_000_000)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    sizes = {f"chr{i + 1}": 750_000 for i in range(16)}  # 12 Mb
    with tempfile.TemporaryDirectory(dir=args.workdir) as d:
        d = Path(d)
        bam = d / "reads.bam"
        t = time.perf_counter()
        make_bam(bam, sizes, args.reads)
        print(f"make BAM: {args.reads} reads in {time.perf_counter() - t:.1f} s")
        for mode in ("5p", "all"):
            t = time.perf_counter()
            res = bam_to_coverage(bam, sizes, mode=mode, multimap="weight")
            dt = time.perf_counter() - t
            print(f"bam_to_coverage mode={mode}: {dt:.2f} s, {args.reads / dt / 1e6:.2f} M reads/s "
                  f"(used {res.counts['used']}, duplicates {res.counts['duplicate']})")
        t = time.perf_counter()
        write_bigwig(d / "c.bw", res.coverage, sizes)
        print(f"write_bigwig (mode all): {time.perf_counter() - t:.2f} s, "
              f"{(d / 'c.bw').stat().st_size / 1e6:.1f} MB")
        t = time.perf_counter()
        write_w5(d / "c.w5", res.coverage, sizes)
        print(f"write_w5 (mode all): {time.perf_counter() - t:.2f} s, "
              f"{(d / 'c.w5').stat().st_size / 1e6:.1f} MB")
        for name in ("c.bw", "c.w5"):
            with CoverageFile(d / name) as cf:
                rng = np.random.default_rng(1)
                t = time.perf_counter()
                for _ in range(200):
                    c = f"chr{rng.integers(1, 17)}"
                    s = int(rng.integers(0, 750_000 - 16384))
                    cf.values(c, s, s + 16384)
                dt = time.perf_counter() - t
                print(f"CoverageFile({name}).values 16,384 bp: {200 / dt:.0f} windows/s")


if __name__ == "__main__":
    main()
