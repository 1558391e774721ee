"""Variant scores of the demo against the simulator's truth (SIMULATED data only).

The truth VCF (``sim/truth/variants.vcf``, :mod:`yeastzoi.simulate.variants`) gives every
variant its GENE, its CLASS (``disrupt``: lowers site occupancy; ``create``: raises it;
``neutral``: changes no site, LFC exactly 0; ``indel``) and its true log2 fold change of the
gene's expression per condition (``conditions.txt`` order). A variant's predicted effect in
condition c is the gene-level ``logSED`` of the variant's own gene, averaged over the two
stranded RNA-seq tracks of c (``SIM_RNA_<c>+``, ``SIM_RNA_<c>-``).

    frame = truth_frame("out/variants/scores.h5", "out/sim/truth/variants.vcf")
    classes = class_accuracy(frame, test_chroms=["chrXII", "chrXIV", "chrXVI"])
    plot_score_vs_truth(frame[frame.condition == "basal"], "out/figures/score_vs_truth.png")

:func:`class_accuracy` scores each group of classes together with the neutral variants:
``sign_accuracy`` / ``sign_auroc`` over the group's variants with a non-zero true effect,
``effect_auroc`` = AUROC of |score| separating them from the neutral variants
(:func:`yeastzoi.score.eqtl.truth_metrics`, the definitions ``truth_accuracy`` uses).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..score.eqtl import truth_conditions, truth_metrics, variant_key, variant_scores
from ..score.results import read_scores_h5
from ..score.variants import read_variants

#: Rows of :func:`class_accuracy`: label → truth CLASS values (None = every class).
CLASS_GROUPS = {"disrupt": ("disrupt",), "create": ("create",), "disrupt+create": ("disrupt", "create"),
                "indel": ("indel",), "all classes": None}
TRUTH_COLUMNS = ["chrom", "pos", "ref", "alt", "gene", "cls", "condition", "lfc", "score"]


def rna_tracks(condition: str) -> list[str]:
    """The stranded RNA-seq track ids of a simulated condition."""
    return [f"SIM_RNA_{condition}+", f"SIM_RNA_{condition}-"]


def condition_tracks(truth_vcf) -> dict:
    """condition → its RNA-seq track ids, for :func:`yeastzoi.score.eqtl.truth_accuracy`."""
    return {c: rna_tracks(c) for c in truth_conditions(Path(truth_vcf))}


def truth_rows(truth_vcf, score) -> pd.DataFrame:
    """One row per (scored truth variant, condition): :data:`TRUTH_COLUMNS` (``cls`` = the
    truth CLASS, ``lfc`` = the true LFC in that condition). ``score(variant, ci, cond)``
    gives the predicted score of a :class:`~yeastzoi.score.variants.Variant` in condition
    number ``ci`` named ``cond``, or None when it was not scored."""
    truth_vcf = Path(truth_vcf)
    truth, _ = read_variants(truth_vcf)
    rows = []
    for ci, cond in enumerate(truth_conditions(truth_vcf)):
        for v in truth:
            s = score(v, ci, cond) if "LFC" in v.info else None
            if s is not None:
                rows.append((v.chrom, v.pos, v.ref, v.alt, v.info.get("GENE"), str(v.info.get("CLASS", "?")),
                             cond, float(str(v.info["LFC"]).split(",")[ci]), float(s)))
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def truth_frame(scores_h5, truth_vcf, stat: str = "logSED") -> pd.DataFrame:
    """:func:`truth_rows` scored by a ``scores.h5`` (``score`` = the predicted ``stat`` of the
    variant's own gene, mean of the condition's stranded RNA-seq tracks)."""
    res = read_scores_h5(scores_h5)
    truth, _ = read_variants(Path(truth_vcf))
    genes = {variant_key(v.chrom, v.pos, v.ref, v.alt): v.info.get("GENE") for v in truth}
    per_cond = {cond: variant_scores(res, stat, rna_tracks(cond), genes) for cond in truth_conditions(Path(truth_vcf))}
    return truth_rows(truth_vcf, lambda v, ci, cond: per_cond[cond].get(variant_key(v.chrom, v.pos, v.ref, v.alt)))


def _metrics(group: pd.DataFrame, neutral: pd.DataFrame) -> dict:
    from scipy.stats import pearsonr, spearmanr

    both = pd.concat([group, neutral]) if len(neutral) else group
    return truth_metrics(both["score"].to_numpy(np.float64), both["lfc"].to_numpy(np.float64), 0.0,
                         pearsonr, spearmanr)


def class_accuracy(frame: pd.DataFrame, test_chroms=None, conditions=("basal",)) -> pd.DataFrame:
    """Accuracy per group of truth classes (:data:`CLASS_GROUPS`; each group is scored
    together with the neutral variants, see the module docstring), for each of
    ``conditions`` and pooled over all conditions; with ``test_chroms`` one more row per
    condition: disrupt+create variants (and neutral ones) on those chromosomes only.
    Columns: variants, condition, n_effect, sign_accuracy, sign_auroc, n_neutral, effect_auroc."""
    cols = ["variants", "condition", "n_effect", "sign_accuracy", "sign_auroc", "n_neutral", "effect_auroc"]
    views = [(c, frame[frame["condition"] == c]) for c in conditions if (frame["condition"] == c).any()]
    if frame["condition"].nunique() > 1:
        views.append((f"pooled ({frame['condition'].nunique()} conditions)", frame))
    rows = []
    for cond, sub in views:
        parts = [(name, sub, classes) for name, classes in CLASS_GROUPS.items()]
        if test_chroms:
            parts.append(("disrupt+create, test chromosomes", sub[sub["chrom"].isin(list(test_chroms))],
                          ("disrupt", "create")))
        for name, base, classes in parts:
            group = base if classes is None else base[base["cls"].isin(classes)]
            if not len(group):
                continue
            neutral = base.iloc[:0] if classes is None else base[base["cls"] == "neutral"]
            m = _metrics(group, neutral)
            rows.append([name, cond, m["n_effect"], m["sign_accuracy"], m["sign_auroc"], m["n_neutral"],
                         m["effect_auroc"]])
    return pd.DataFrame(rows, columns=cols)


def plot_score_vs_truth(frame: pd.DataFrame, path, ylabel: str = "predicted logSED") -> Path:
    """Predicted score vs true LFC, one colour per truth class."""
    from ..figures import new_figure
    from ..fileio import save_figure

    fig, ax = new_figure(4.8, 4.2)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    for k, cls in enumerate(sorted(frame["cls"].unique())):
        sel = frame[frame["cls"] == cls]
        ax.scatter(sel["lfc"], sel["score"], s=8, alpha=0.6, color=f"C{k % 10}", label=f"{cls} ({len(sel)})")
    ax.set_xlabel("true log2 fold change (SIMULATED truth)")
    ax.set_ylabel(ylabel)
    ax.set_title("predicted effect vs true effect")
    if len(frame):
        ax.legend(fontsize=7, title="truth class", title_fontsize=7)
    return save_figure(fig, path)
