#!/usr/bin/env python3
"""Benchmark of the SIMULATED coverage generator (yeastzoi.simulate.run).

Runs simulate_genome on the R64 genome (built into a temporary folder unless
--genome-dir is given) and prints the wall time per step, reads per second and the read
count of every track. Never asserts timing.

  python benchmarks/bench_simulate.py                       # whole genome, default settings
  python benchmarks/bench_simulate.py --chroms chrI,chrII,chrIII --depth 2
"""
import argparse
import tempfile
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genome-dir", help="genome folder (default: build R64 in a temporary folder)")
    ap.add_argument("--chroms", help="comma-separated chromosomes [all]")
    ap.add_argument("--depth", type=float, default=1.0)
    ap.add_argument("--conditions", type=int, default=4)
    args = ap.parse_args()
    from yeastzoi.simulate.run import simulate_genome

    with tempfile.TemporaryDirectory() as tmp:
        gdir = args.genome_dir
        if gdir is None:
            from yeastzoi.genome import build_r64
            gdir = Path(tmp) / "r64"
            t = time.time()
            build_r64(gdir)
            print(f"built R64 genome folder in {time.time() - t:.1f} s")
        marks = []

        def progress(msg):
            marks.append((time.time(), msg))

        t0 = time.time()
        s = simulate_genome(gdir, Path(tmp) / "sim", chroms=args.chroms.split(",") if args.chroms else None,
                            depth=args.depth, conditions=args.conditions, progress=progress)
        total = time.time() - t0
        marks.append((t0 + total, "end"))
        print(f"SIMULATED {len(s['chroms'])} chromosomes, {s['genes']} genes, {s['bound_sites']} bound sites, "
              f"{s['variants']} truth variants, {len(s['tracks'])} tracks")
        print(f"total {total:.1f} s; {s['total_reads']:,} reads written = {s['total_reads'] / total:,.0f} reads/s "
              f"end to end (BAM + index + bigWig)")
        steps = {}
        for (ta, ma), (tb, _) in zip(marks[:-1], marks[1:]):
            key = ma.split()[0]
            steps[key] = steps.get(key, 0.0) + (tb - ta)
        steps["setup"] = marks[0][0] - t0 if marks else 0.0
        for k, v in steps.items():
            print(f"  step {k:8s} {v:7.1f} s  ({100 * v / total:4.1f} %)")
        for tr in s["tracks"]:
            print(f"  {tr['identifier']:24s} {tr['group']:8s} {tr['reads']:>10,} reads")


if __name__ == "__main__":
    main()
