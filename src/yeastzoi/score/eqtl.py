"""Benchmarks of variant scores: eQTL AUROC/AUPRC (positives vs negatives, effect sign) with a
ROC plot, and the accuracy of scores against the simulator's truth variants.

    m = eqtl_benchmark("out/scores.h5", "pos.vcf", "neg.vcf", stat="logSED", tracks="rna")
    plot_roc(m, "eval/roc.png")
    acc = truth_accuracy("out/scores.h5", "sim/truth/variants.vcf", {"basal": ["RNA_basal"]})
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from .. import YeastzoiError
from ..fileio import save_figure
from .results import ScoreResult, read_scores_h5
from .variants import read_variants

log = logging.getLogger(__name__)


def variant_key(chrom: str, pos: int, ref: str, alt: str):
    """(canonical chromosome, 1-based pos, REF, ALT): how scores and truth sets are matched."""
    from ..genome.aliases import canonical_chrom

    return (canonical_chrom(chrom) or chrom, int(pos), ref.upper(), alt.upper())


def variant_scores(result: ScoreResult, stat: str, tracks=None, genes: dict | None = None):
    """One number per scored variant: ``stat`` averaged (NaN-aware) over ``tracks`` (ids,
    labels or indices; None = all). For gene-level results the row of the gene
    ``genes[variant key]`` is used when given, else the gene row with the largest |score|.
    Returns {variant key: score} (keys from :func:`_variant_key`; flipped variants are
    stored under their original orientation too, with the sign reversed)."""
    if stat not in result.stats:
        raise YeastzoiError(f"statistic {stat} is not in the scores file (it has {', '.join(result.stats)})")
    arr = np.asarray(result.stats[stat], np.float64)
    cols = select_tracks(result, tracks)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_row = np.nanmean(arr[:, cols], axis=1)
    out = {}
    if result.pairs is None:
        rows = {i: [i] for i in range(len(result.variants))}
        gene_of = [None] * len(per_row)
    else:
        rows = {}
        for r, si in enumerate(result.pairs["si"]):
            rows.setdefault(int(si), []).append(r)
        gene_of = list(result.pairs["gene_id"])
    for i, v in enumerate(result.variants):
        rr = [r for r in rows.get(i, []) if np.isfinite(per_row[r])]
        key = variant_key(v.chrom, v.pos, v.ref, v.alt)
        if not rr:
            continue
        want = (genes or {}).get(key)
        if want is not None:
            rr = [r for r in rr if gene_of[r] == want]
            if not rr:
                continue
        r = max(rr, key=lambda r: abs(per_row[r]))
        out[key] = per_row[r]
        if v.flipped:
            out[variant_key(v.chrom, v.pos, v.alt, v.ref)] = -per_row[r]
    return out


def select_tracks(result: ScoreResult, tracks) -> list[int]:
    """Track columns for ``tracks`` (ids, labels, indices, or '*'-free substrings)."""
    T = len(result.target_ids)
    if tracks is None or (isinstance(tracks, str) and tracks in ("", "all")):
        return list(range(T))
    if isinstance(tracks, str):
        tracks = [t for t in tracks.split(",") if t]
    cols = []
    for t in tracks:
        t = str(t)
        if t in result.target_ids:
            cols.append(result.target_ids.index(t))
        elif t in result.target_labels:
            cols.append(result.target_labels.index(t))
        elif t.isdigit() and int(t) < T:
            cols.append(int(t))
        else:
            hits = [i for i, x in enumerate(result.target_ids) if t in x]
            if not hits:
                raise YeastzoiError(f"track {t}: not among the scored tracks ({', '.join(result.target_ids[:10])}"
                                    f"{' ...' if T > 10 else ''})")
            cols.extend(hits)
    return sorted(set(cols))


def auc_ap(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(AUROC, average precision) of scores ``s`` for binary labels ``y``; NaN for one class."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(set(y.tolist())) < 2:
        return float("nan"), float("nan")
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def effect_sign(info: dict) -> float | None:
    """±1 from an effect-size field (beta, effect, slope, LFC, sign, z), None without one."""
    for k in ("beta", "BETA", "effect", "EFFECT", "slope", "LFC", "lfc", "sign", "z", "Z"):
        if k in info:
            try:
                x = float(str(info[k]).split(",")[0])
            except ValueError:
                return None
            return float(np.sign(x)) if x != 0 else None
    return None


def eqtl_benchmark(scores_h5, positives, negatives, stat: str = "logSED", tracks=None) -> dict:
    """AUROC/AUPRC of |score| for positives vs negatives (both VCF/TSV; every listed
    variant must be in the scores file, else it is counted as missing), and the sign AUROC
    of the score against the positives' effect direction (INFO/column beta, effect, slope,
    LFC, sign or z; positives without one are left out of it). A positive with a ``gene``
    (INFO GENE or a gene column) uses that gene's row in gene-level scores.
    Returns the metrics plus the arrays for plotting (``labels``, ``scores``, ``sign_labels``,
    ``sign_scores``)."""
    res = read_scores_h5(scores_h5)
    sets = {}
    for name, path in (("positives", positives), ("negatives", negatives)):
        vs, _ = read_variants(path)
        sets[name] = vs
    genes = {}
    for v in sets["positives"] + sets["negatives"]:
        g = v.info.get("GENE") or v.info.get("gene")
        if g:
            genes[variant_key(v.chrom, v.pos, v.ref, v.alt)] = g
    sc = variant_scores(res, stat, tracks, genes)
    labels, scores, missing = [], [], {"positives": 0, "negatives": 0}
    sign_y, sign_s = [], []
    for name, lab in (("positives", 1), ("negatives", 0)):
        for v in sets[name]:
            key = variant_key(v.chrom, v.pos, v.ref, v.alt)
            if key not in sc:
                missing[name] += 1
                continue
            labels.append(lab)
            scores.append(sc[key])
            if lab:
                sgn = effect_sign(v.info)
                if sgn is not None:
                    sign_y.append(int(sgn > 0))
                    sign_s.append(sc[key])
    if missing["positives"] + missing["negatives"]:
        log.warning("variants without a score: %d positives, %d negatives", missing["positives"], missing["negatives"])
    labels, scores = np.array(labels), np.array(scores)
    if labels.size == 0 or labels.min() == labels.max():
        raise YeastzoiError(f"{scores_h5}: needs scored positives and negatives (scored: {int(labels.sum())} "
                            f"positives, {int((labels == 0).sum())} negatives); score both sets into one file")
    auroc, auprc = auc_ap(labels, np.abs(scores))
    s_auroc, _ = auc_ap(np.array(sign_y), np.array(sign_s)) if sign_y else (float("nan"), None)
    return {"stat": stat, "n_positives": int(labels.sum()), "n_negatives": int((labels == 0).sum()),
            "missing_positives": missing["positives"], "missing_negatives": missing["negatives"],
            "auroc": auroc, "auprc": auprc, "auprc_baseline": float(labels.mean()),
            "n_sign": len(sign_y), "sign_auroc": s_auroc,
            "labels": labels, "scores": scores, "sign_labels": np.array(sign_y), "sign_scores": np.array(sign_s)}


def plot_roc(metrics: dict, path) -> Path:
    """ROC curves (|score| positives vs negatives; sign) of :func:`eqtl_benchmark` → image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    fpr, tpr, _ = roc_curve(metrics["labels"], np.abs(metrics["scores"]))
    ax.plot(fpr, tpr, label=f"|{metrics['stat']}| AUROC {metrics['auroc']:.3f}")
    if len(set(metrics["sign_labels"].tolist())) == 2:
        fpr, tpr, _ = roc_curve(metrics["sign_labels"], metrics["sign_scores"])
        ax.plot(fpr, tpr, label=f"sign AUROC {metrics['sign_auroc']:.3f}")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def truth_conditions(truth_vcf: Path) -> list[str]:
    """Condition order of the simulator's LFC values (conditions.txt beside the VCF, else its header)."""
    cond_file = truth_vcf.parent / "conditions.txt"
    if cond_file.is_file():
        return [ln.split("\t")[0] for ln in cond_file.read_text().splitlines() if ln.strip()]
    with open(truth_vcf) as fh:
        for line in fh:
            if line.startswith("##INFO=<ID=LFC") and "order:" in line:
                return [c.strip() for c in line.split("order:")[1].split('"')[0].split(",")]
            if not line.startswith("#"):
                break
    raise YeastzoiError(f"{truth_vcf}: cannot tell the LFC condition order (no conditions.txt beside it "
                        "and no 'order:' in the LFC header)")


def truth_accuracy(scores_h5, truth_vcf, condition_track_map: dict, stat: str = "logSED",
                   min_lfc: float = 0.0) -> dict:
    """Score the simulator's truth variants against their true LFC.

    ``truth_vcf``: ``truth/variants.vcf`` (INFO GENE, LFC per condition in
    ``conditions.txt`` order, CLASS); ``condition_track_map``: condition → track ids (or
    labels / indices) whose ``stat`` (NaN-aware mean; in gene-level scores the row of the
    variant's GENE) is compared with that condition's LFC. Per condition and pooled over
    conditions: ``sign_accuracy`` (fraction with sign(score) = sign(LFC) among variants with
    |LFC| > ``min_lfc``), ``sign_auroc`` (AUROC of the score for LFC > 0 among them),
    ``effect_auroc`` (AUROC of |score| for |LFC| > ``min_lfc`` vs LFC = 0), ``pearson``,
    ``spearman`` and counts."""
    from scipy.stats import pearsonr, spearmanr

    truth_vcf = Path(truth_vcf)
    conds = truth_conditions(truth_vcf)
    res = read_scores_h5(scores_h5)
    truth, _ = read_variants(truth_vcf)
    genes = {variant_key(v.chrom, v.pos, v.ref, v.alt): v.info.get("GENE") for v in truth}
    out = {"stat": stat, "conditions": {}}
    pooled_s, pooled_l = [], []
    for cond, tracks in condition_track_map.items():
        if cond not in conds:
            raise YeastzoiError(f"condition {cond} is not in {truth_vcf} (it has {', '.join(conds)})")
        ci = conds.index(cond)
        sc = variant_scores(res, stat, tracks, genes)
        s, lfc = [], []
        for v in truth:
            key = variant_key(v.chrom, v.pos, v.ref, v.alt)
            if key in sc and "LFC" in v.info:
                s.append(sc[key])
                lfc.append(float(str(v.info["LFC"]).split(",")[ci]))
        s, lfc = np.array(s), np.array(lfc)
        out["conditions"][cond] = truth_metrics(s, lfc, min_lfc, pearsonr, spearmanr)
        pooled_s.append(s)
        pooled_l.append(lfc)
    if pooled_s:
        out["pooled"] = truth_metrics(np.concatenate(pooled_s), np.concatenate(pooled_l), min_lfc,
                                       pearsonr, spearmanr)
    out["n_truth_variants"] = len(truth)
    return out


def truth_metrics(s, lfc, min_lfc, pearsonr, spearmanr) -> dict:
    """Sign accuracy / AUROCs / correlations of scores ``s`` against true LFCs."""
    eff = np.abs(lfc) > min_lfc
    neutral = lfc == 0
    m = {"n_scored": int(len(s)), "n_effect": int(eff.sum()), "n_neutral": int(neutral.sum())}
    m["sign_accuracy"] = float(np.mean(np.sign(s[eff]) == np.sign(lfc[eff]))) if eff.any() else float("nan")
    m["sign_auroc"] = auc_ap((lfc[eff] > 0).astype(int), s[eff])[0] if eff.any() else float("nan")
    sel = eff | neutral
    m["effect_auroc"] = auc_ap(eff[sel].astype(int), np.abs(s[sel]))[0] if sel.any() else float("nan")
    ok = len(s) > 2 and np.std(s) > 0 and np.std(lfc) > 0
    m["pearson"] = float(pearsonr(s, lfc)[0]) if ok else float("nan")
    m["spearman"] = float(spearmanr(s, lfc)[0]) if ok else float("nan")
    return m
