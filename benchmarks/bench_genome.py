#!/usr/bin/env python3
"""Throughput of yeastzoi.genome.assembly: R64 build, GTF read, window fetches, genome import.

    .venv/bin/python benchmarks/bench_genome.py [--windows 5000]

Prints times and rates; asserts nothing about speed.
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from yeastzoi.genome import (Genome, build_r64, genes_table, import_genome, open_genome_dir,
                             read_gtf)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--windows", type=int, default=5000)
    ap.add_argument("--length", type=int, default=16384)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r64"
        t0 = time.perf_counter()
        build_r64(out)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_r64(out)
        t_skip = time.perf_counter() - t0
        print(f"build_r64: {t_build:.2f} s fresh, {t_skip * 1000:.1f} ms when already built")

        t0 = time.perf_counter()
        gtf = read_gtf(out / "genes.gtf")
        genes = genes_table(gtf)
        print(f"read_gtf + genes_table: {time.perf_counter() - t0:.2f} s for {len(gtf):,} rows, {len(genes):,} genes")

        rng = np.random.default_rng(0)
        for label, genome in [("cached", open_genome_dir(out)), ("uncached", Genome(out / "genome.fa", cache=False))]:
            chroms = list(genome.chroms)
            picks = [(chroms[i], int(rng.integers(-1000, genome.chroms[chroms[i]])))
                     for i in rng.integers(0, len(chroms), args.windows)]
            t0 = time.perf_counter()
            for c, s in picks:
                genome.fetch_codes(c, s, s + args.length)
                genome.repeat_mask(c, s, s + args.length)
            dt = time.perf_counter() - t0
            print(f"fetch_codes+repeat_mask ({label}): {args.windows / dt:,.0f} windows/s of {args.length:,} bp "
                  f"({args.windows * args.length / dt / 1e6:,.0f} Mbp/s)")

        t0 = time.perf_counter()
        import_genome(out / "genome.fa", out / "genes.gtf", Path(tmp) / "imported")
        print(f"import_genome (R64 FASTA + GTF): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
