#!/usr/bin/env python
"""Track recipe on SIMULATED data: learning curves, seeds, sizes and the variant-truth goal.

Train (one run, resumed stage by stage; after each stage the best model so far is kept in
RUN.snap/eEPOCH/ with its history, so the curve can be scored afterwards):

    benchmarks/bench_tracks.py train runs/ft-2.98M-s12 --init fine-tuned --seed 12 \
        --data track_data [--spec r64_tracks] [--stages 4,10,20]

Report (every stage of every run):

    benchmarks/bench_tracks.py report -o bench_tracks --data track_data --sim sim --genome genome \
        --run ft-2.98M-s12=runs/ft-2.98M-s12 --run scratch-2.98M-s12=runs/scratch-2.98M-s12 ...

With ``--library LIB_DATA`` every step also takes ``--library-batch`` promoter-library rows
(``yeastzoi_train.py --library``); name such runs e.g. ``fine-tuned+lib40k-2.98M-s11``.

Run names are ``INIT-SIZE-sSEED``. For each stage's model, unless its outputs exist already
in OUT/<name>/e<epoch>/, the report runs ``yeastzoi_eval.py`` on the test split (mean test R
per track group) and ``yeastzoi_snpgene.py`` on the simulator's truth VCF (gene-level
logSED), then scores the variants against the truth with
:func:`yeastzoi.plots.demo_truth.class_accuracy` (sign accuracy of the disrupt / create
variants, effect AUROC vs neutral ones, and the median |predicted logSED| of those variants
beside their median |true LFC|: how strongly the model responds to promoter variants). Writes OUT/stages.tsv (one row per stage),
OUT/summary.tsv (last stage of each run), OUT/goal.tsv (per seed and size: fine-tuned above
scratch on every track group?), OUT/truth.tsv (every variant class, last stages),
OUT/curves.tsv (valid R per epoch) and OUT/curves.png (test R and sign accuracy vs
training wall time). Numbers, not asserts; every number is SIMULATED-data accuracy.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOAL_ROW = ("disrupt+create", "basal")


def run_script(script: str, args: list) -> None:
    subprocess.run([sys.executable, str(ROOT / "bin" / script)] + [str(a) for a in args] + ["-q"], check=True)


# ----------------------------------------------------------------------------- train
def train(a) -> None:
    """Train one run to each of ``a.stages`` epochs (resuming), snapshot after each."""
    import shutil
    extra = (["--restore", "r64_lm", "--trunk", "--set", 'train.task="fine-tune"'] if a.init == "fine-tuned" else
             ["--set", "model.num_features=6", "--set", 'model.species=["Saccharomyces_cerevisiae_R64"]',
              "--set", 'train.task="supervised"'])
    if a.library:
        extra += ["--library", a.library, "--set", f"train.library_batch_size={a.library_batch}",
                  "--set", f"train.library_weight={a.library_weight}"]
    for epochs in [int(e) for e in a.stages.split(",")]:
        run_script("yeastzoi_train.py", [a.spec, a.data, "-o", a.run, *extra, "--seed", a.seed,
                                         "--set", f"train.train_epochs_max={epochs}"])
        snap = Path(f"{a.run}.snap") / f"e{epochs}"
        snap.mkdir(parents=True, exist_ok=True)
        for name in ("model_best.h5", "history.csv"):
            shutil.copy(a.run / name, snap / name)
        print(f"{a.run}: stage {epochs} epochs done", flush=True)


# ----------------------------------------------------------------------------- report
def stages_of(run_dir: Path) -> list[tuple[int, Path]]:
    """(epochs, folder with model_best.h5 + history.csv) for each snapshot of a run, else the run."""
    snaps = Path(f"{run_dir}.snap")
    found = sorted((int(p.name[1:]), p) for p in snaps.glob("e*") if (p / "model_best.h5").exists())
    return found or [(len(pd.read_csv(run_dir / "history.csv")), run_dir)]


def score_stage(name: str, epochs: int, folder: Path, out: Path, a) -> tuple[dict, pd.DataFrame]:
    from yeastzoi.plots.demo_truth import class_accuracy, truth_frame
    model, dest = folder / "model_best.h5", out / name / f"e{epochs}"
    ev, var = dest / "eval", dest / "variants"
    if not (ev / "tracks.tsv").exists():
        run_script("yeastzoi_eval.py", ["-", model, a.data, "--split", "test", "-o", ev])
    if not (var / "scores.h5").exists():
        run_script("yeastzoi_snpgene.py", ["-", model, a.sim / "truth" / "variants.vcf", "-f",
                                           a.genome / "genome.fa", "-g", a.genome / "genes.gtf",
                                           "--targets", a.sim / "targets.txt", "--stats", "logSED", "-o", var])
    tracks = pd.read_csv(ev / "tracks.tsv", sep="\t")
    hist = pd.read_csv(folder / "history.csv").iloc[:epochs]
    init, size, seed = name.rsplit("-", 2)
    frame = truth_frame(var / "scores.h5", a.sim / "truth" / "variants.vcf")
    truth = class_accuracy(frame, test_chroms=a.test_chroms.split(","))
    effect = frame[(frame["condition"] == GOAL_ROW[1]) & frame["cls"].isin(GOAL_ROW[0].split("+"))]
    goal = truth[(truth["variants"] == GOAL_ROW[0]) & (truth["condition"] == GOAL_ROW[1])].iloc[0]
    row = {"run": name, "init": init, "size": size, "seed": int(seed.lstrip("s")), "epochs": epochs,
           "steps": int(hist["steps"].sum()), "hours": round(float(hist["seconds"].sum()) / 3600, 3),
           "test_mean_r": tracks["pearsonr"].mean(),
           **{f"test_r_{g}": v for g, v in tracks.groupby("group")["pearsonr"].mean().items()},
           "sign_accuracy": goal["sign_accuracy"], "sign_auroc": goal["sign_auroc"],
           "effect_auroc": goal["effect_auroc"],
           # how strongly the model responds: median |predicted logSED| / median |true LFC| (log2)
           "median_abs_score": effect["score"].abs().median(), "median_abs_lfc": effect["lfc"].abs().median()}
    truth.insert(0, "run", name)
    return row, truth


def goal_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (size, seed) with both inits: fine-tuned minus scratch test R per group, and whether
    fine-tuned is above scratch on every group."""
    groups = [c for c in summary.columns if c.startswith("test_r_")]
    rows = []
    for (size, seed), g in summary.groupby(["size", "seed"]):
        by = g.set_index("init")
        if not {"fine-tuned", "scratch"} <= set(by.index):
            continue
        diff = {c.replace("test_r_", "ft_minus_scratch_"): by.at["fine-tuned", c] - by.at["scratch", c] for c in groups}
        rows.append({"size": size, "seed": seed, **diff, "ft_above_scratch_every_group": all(v > 0 for v in diff.values()),
                     "sign_accuracy_ft": by.at["fine-tuned", "sign_accuracy"],
                     "sign_accuracy_scratch": by.at["scratch", "sign_accuracy"]})
    return pd.DataFrame(rows)


def plot_curves(stages: pd.DataFrame, path: Path, x: str = "hours") -> None:
    import matplotlib.pyplot as plt
    from yeastzoi.fileio import save_figure
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, s in stages.groupby("run", sort=False):
        for ax, col in zip(axes, ("test_mean_r", "sign_accuracy")):
            ax.plot(s[x], s[col], "-" if name.startswith("fine") else "--", marker="o", ms=3, label=name)
    axes[0].set_ylabel("test mean Pearson R (SIMULATED tracks)")
    axes[1].set_ylabel("sign accuracy, disrupt + create variants")
    axes[1].axhline(0.9, color="grey", lw=0.8, ls=":")
    for ax in axes:
        ax.set_xlabel("training wall time (hours, 2 shared CPU cores)" if x == "hours" else "training steps")
    axes[1].legend(fontsize=7)
    save_figure(fig, path)


def report(a) -> None:
    runs = [(r.split("=", 1)[0], Path(r.split("=", 1)[1])) for r in a.run]
    rows, truths, curves = [], [], []
    for name, d in runs:
        for epochs, folder in stages_of(d):
            row, truth = score_stage(name, epochs, folder, a.out, a)
            rows.append(row)
        truths.append(truth)
        h = pd.read_csv(folder / "history.csv")
        curves.append(pd.DataFrame({"run": name, "epoch": h["epoch"], "hours": h["seconds"].cumsum() / 3600,
                                    "steps": h["steps"].cumsum(), "valid_pearsonr": h["valid_pearsonr"],
                                    "valid_loss": h["valid_loss"]}))
    a.out.mkdir(parents=True, exist_ok=True)
    stages = pd.DataFrame(rows)
    summary = stages.groupby("run", sort=False).tail(1)
    tables = {"stages": stages, "summary": summary, "goal": goal_table(summary),
              "truth": pd.concat(truths), "curves": pd.concat(curves)}
    for key, table in tables.items():
        table.to_csv(a.out / f"{key}.tsv", sep="\t", index=False, float_format="%.4f")
    shown = stages
    if a.baseline:
        earlier = pd.read_csv(a.baseline, sep="\t")
        shown = pd.concat([earlier[earlier["run"].isin(a.baseline_run)], stages])
    plot_curves(shown, a.out / "curves.png", a.x)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(stages.to_string(index=False))
        print(tables["goal"].to_string(index=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train one run in stages")
    t.add_argument("run", type=Path, help="training folder (NAME = INIT-SIZE-sSEED)")
    t.add_argument("--init", choices=("fine-tuned", "scratch"), required=True)
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--data", required=True, type=Path)
    t.add_argument("--spec", default="r64_tracks")
    t.add_argument("--stages", default="4,10,20", help="epochs (50 steps each) after which to snapshot")
    t.add_argument("--library", type=Path, help="a promoter-library dataset (yeastzoi_library_data.py) mixed "
                   "into every step (yeastzoi_train.py --library)")
    t.add_argument("--library-batch", type=int, default=4, help="library rows per step [4]")
    t.add_argument("--library-weight", type=float, default=1.0, help="train.library_weight [1.0]")
    r = sub.add_parser("report", help="score every stage of every run")
    r.add_argument("-o", "--out", required=True, type=Path)
    r.add_argument("--data", required=True, type=Path, help="track data directory (test split)")
    r.add_argument("--sim", required=True, type=Path, help="yeastzoi_simulate.py output (truth/, targets.txt)")
    r.add_argument("--genome", required=True, type=Path, help="genome folder (genome.fa, genes.gtf)")
    r.add_argument("--run", action="append", required=True, help="NAME=TRAIN_DIR (repeatable)")
    r.add_argument("--test-chroms", default="chrXII,chrXIV,chrXVI")
    r.add_argument("--x", choices=("hours", "steps"), default="hours", help="x axis of curves.png [hours]")
    r.add_argument("--baseline", type=Path, help="an earlier report's stages.tsv: its --baseline-run rows "
                   "are drawn in curves.png too (not rescored)")
    r.add_argument("--baseline-run", action="append", default=[], help="run name in --baseline (repeatable)")
    a = ap.parse_args(argv)
    train(a) if a.cmd == "train" else report(a)


if __name__ == "__main__":
    main()
