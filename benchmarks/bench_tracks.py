#!/usr/bin/env python
"""Track recipe on SIMULATED data: learning curves and the variant-truth goal, per run.

    benchmarks/bench_tracks.py -o bench_tracks --data track_data --sim sim --genome genome \
        --run fine-tuned=tracks_ft --run scratch=tracks_scratch

For every training folder (``yeastzoi_train.py`` output) it reads ``history.csv`` (valid
mean Pearson R per epoch, seconds per epoch) and, unless they exist already in OUT/<name>/,
runs ``yeastzoi_eval.py`` on the test split (mean test R per track group) and
``yeastzoi_snpgene.py`` on the simulator's truth VCF (gene-level logSED), then scores the
variants against the truth with :func:`yeastzoi.plots.demo_truth.class_accuracy` (sign
accuracy of the disrupt / create variants, effect AUROC vs neutral ones). Writes
OUT/summary.tsv, OUT/truth.tsv, OUT/curves.tsv and OUT/curves.png (valid R vs cumulative
wall time). Numbers, not asserts; every number is SIMULATED-data accuracy.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, args: list) -> None:
    subprocess.run([sys.executable, str(ROOT / "bin" / script)] + [str(a) for a in args] + ["-q"], check=True)


def evaluate_run(name: str, train_dir: Path, out: Path, a) -> tuple[pd.DataFrame, pd.DataFrame]:
    from yeastzoi.plots.demo_truth import class_accuracy, truth_frame
    model = train_dir / "model_best.h5"
    ev, var = out / name / "eval", out / name / "variants"
    if not (ev / "tracks.tsv").exists():
        run_script("yeastzoi_eval.py", ["-", model, a.data, "--split", "test", "-o", ev])
    if not (var / "scores.h5").exists():
        run_script("yeastzoi_snpgene.py", ["-", model, a.sim / "truth" / "variants.vcf", "-f",
                                           a.genome / "genome.fa", "-g", a.genome / "genes.gtf",
                                           "--targets", a.sim / "targets.txt", "--stats", "logSED", "-o", var])
    tracks = pd.read_csv(ev / "tracks.tsv", sep="\t")
    groups = tracks.groupby("group")["pearsonr"].mean()
    row = {"run": name, "epochs": None, "hours": None, "test_mean_r": tracks["pearsonr"].mean(),
           **{f"test_r_{g}": v for g, v in groups.items()}}
    truth = class_accuracy(truth_frame(var / "scores.h5", a.sim / "truth" / "variants.vcf"),
                           test_chroms=a.test_chroms.split(","))
    truth.insert(0, "run", name)
    return pd.DataFrame([row]), truth


def curve(name: str, train_dir: Path) -> pd.DataFrame:
    h = pd.read_csv(train_dir / "history.csv")
    return pd.DataFrame({"run": name, "epoch": h["epoch"], "hours": h["seconds"].cumsum() / 3600,
                         "steps": h["steps"].cumsum(), "valid_pearsonr": h["valid_pearsonr"],
                         "valid_loss": h["valid_loss"]})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path, help="track data directory (test split)")
    ap.add_argument("--sim", required=True, type=Path, help="yeastzoi_simulate.py output (truth/, targets.txt)")
    ap.add_argument("--genome", required=True, type=Path, help="genome folder (genome.fa, genes.gtf)")
    ap.add_argument("--run", action="append", required=True, help="NAME=TRAIN_DIR (repeatable)")
    ap.add_argument("--test-chroms", default="chrXII,chrXIV,chrXVI")
    a = ap.parse_args(argv)
    runs = [(r.split("=", 1)[0], Path(r.split("=", 1)[1])) for r in a.run]
    summaries, truths, curves = [], [], []
    for name, d in runs:
        s, t = evaluate_run(name, d, a.out, a)
        c = curve(name, d)
        s["epochs"], s["hours"] = int(c["epoch"].iloc[-1]), round(float(c["hours"].iloc[-1]), 3)
        summaries.append(s), truths.append(t), curves.append(c)
    a.out.mkdir(parents=True, exist_ok=True)
    summary, truth, curves = pd.concat(summaries), pd.concat(truths), pd.concat(curves)
    summary.to_csv(a.out / "summary.tsv", sep="\t", index=False, float_format="%.4f")
    truth.to_csv(a.out / "truth.tsv", sep="\t", index=False, float_format="%.4f")
    curves.to_csv(a.out / "curves.tsv", sep="\t", index=False, float_format="%.4f")
    from yeastzoi.figures import new_figure
    from yeastzoi.fileio import save_figure
    fig, ax = new_figure(5.5, 3.6)
    for name, c in curves.groupby("run", sort=False):
        ax.plot(c["hours"], c["valid_pearsonr"], "-o", ms=3, label=name)
    ax.set_xlabel("training wall time (hours, 2 shared CPU cores)")
    ax.set_ylabel("valid mean Pearson R (SIMULATED tracks)")
    ax.legend(fontsize=8)
    save_figure(fig, a.out / "curves.png")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.to_string(index=False))
        print(truth[truth["condition"] == "basal"].to_string(index=False))


if __name__ == "__main__":
    main()
