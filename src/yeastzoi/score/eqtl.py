"""Benchmarks of variant scores: eQTL AUROC/AUPRC (positives vs negatives, effect sign) with a
ROC plot, Shorkie's benchmark over several negative sets with AUPRC by TSS-distance bin, and
the accuracy of scores against the simulator's truth variants.

    m = eqtl_benchmark("out/scores.h5", "pos.vcf", "neg.vcf", stat="logSED", tracks="rna")
    plot_roc(m, "eval/roc.png")
    ms = eqtl_benchmark_sets("out/scores.h5", "negs/positives.vcf",
                             [f"negs/negatives_{k}.vcf" for k in (1, 2, 3, 4)], tracks="rna")
    plot_eqtl_sets({"logSED": ms}, "eval/eqtl.png")
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


def _set_genes(*variant_lists) -> dict:
    """{variant key: gene} of variants naming one (INFO GENE or a gene column)."""
    genes = {}
    for vs in variant_lists:
        for v in vs:
            g = v.info.get("GENE") or v.info.get("gene")
            if g and g is not True:
                genes[variant_key(v.chrom, v.pos, v.ref, v.alt)] = g
    return genes


def _benchmark(res: ScoreResult, pos_vs, neg_vs, stat: str, tracks, where) -> dict:
    """Metrics of :func:`eqtl_benchmark` on read variants (plus ``distances``: |TSS_DIST|
    per scored variant, NaN where a variant has none)."""
    sc = variant_scores(res, stat, tracks, _set_genes(pos_vs, neg_vs))
    labels, scores, dist, missing = [], [], [], {"positives": 0, "negatives": 0}
    sign_y, sign_s = [], []
    for name, vs, lab in (("positives", pos_vs, 1), ("negatives", neg_vs, 0)):
        for v in vs:
            key = variant_key(v.chrom, v.pos, v.ref, v.alt)
            if key not in sc:
                missing[name] += 1
                continue
            labels.append(lab)
            scores.append(sc[key])
            dist.append(_info_distance(v))
            if lab:
                sgn = effect_sign(v.info)
                if sgn is not None:
                    sign_y.append(int(sgn > 0))
                    sign_s.append(sc[key])
    if missing["positives"] + missing["negatives"]:
        log.warning("variants without a score: %d positives, %d negatives", missing["positives"], missing["negatives"])
    labels, scores = np.array(labels), np.array(scores)
    if labels.size == 0 or labels.min() == labels.max():
        raise YeastzoiError(f"{where}: needs scored positives and negatives (scored: {int(labels.sum())} "
                            f"positives, {int((labels == 0).sum())} negatives); score both sets into one file")
    auroc, auprc = auc_ap(labels, np.abs(scores))
    s_auroc, _ = auc_ap(np.array(sign_y), np.array(sign_s)) if sign_y else (float("nan"), None)
    return {"stat": stat, "n_positives": int(labels.sum()), "n_negatives": int((labels == 0).sum()),
            "missing_positives": missing["positives"], "missing_negatives": missing["negatives"],
            "auroc": auroc, "auprc": auprc, "auprc_baseline": float(labels.mean()),
            "n_sign": len(sign_y), "sign_auroc": s_auroc,
            "labels": labels, "scores": scores, "distances": np.array(dist, np.float64),
            "sign_labels": np.array(sign_y), "sign_scores": np.array(sign_s)}


def _info_distance(v) -> float:
    """|INFO TSS_DIST| of a variant (as
    :func:`yeastzoi.score.eqtl_negatives.write_negative_sets` writes it), NaN without."""
    x = v.info.get("TSS_DIST", v.info.get("tss_distance"))
    try:
        return abs(float(x)) if x is not None and x is not True else float("nan")
    except ValueError:
        return float("nan")


def eqtl_benchmark(scores_h5, positives, negatives, stat: str = "logSED", tracks=None) -> dict:
    """AUROC/AUPRC of |score| for positives vs negatives (both VCF/TSV; every listed
    variant must be in the scores file, else it is counted as missing), and the sign AUROC
    of the score against the positives' effect direction (INFO/column beta, effect, slope,
    LFC, sign or z; positives without one are left out of it). A positive with a ``gene``
    (INFO GENE or a gene column) uses that gene's row in gene-level scores.
    Returns the metrics plus the arrays for plotting (``labels``, ``scores``, ``sign_labels``,
    ``sign_scores``, ``distances``)."""
    res = read_scores_h5(scores_h5)
    pos_vs, _ = read_variants(positives)
    neg_vs, _ = read_variants(negatives)
    return _benchmark(res, pos_vs, neg_vs, stat, tracks, scores_h5)


#: upper edges (bp) of the |TSS distance| bins of :func:`eqtl_benchmark_sets` (Shorkie's bins;
#: the last bin, above 8,000 bp, is open)
TSS_BINS = (600, 1000, 2000, 3000, 5000, 8000)


def bin_labels(edges) -> list[str]:
    """'0-600', '600-1000', ..., '>8000' for upper edges ``edges``."""
    e = [0] + [int(x) for x in edges]
    return [f"{a}-{b}" for a, b in zip(e[:-1], e[1:])] + [f">{e[-1]}"]


def _by_bin(m: dict, edges) -> dict:
    """AUPRC (and counts) of one set within each |TSS distance| bin."""
    idx = np.digitize(m["distances"], np.asarray(edges, np.float64), right=False)
    idx[~np.isfinite(m["distances"])] = -1
    out = {"auprc": [], "auroc": [], "n_positives": [], "n_negatives": [], "baseline": []}
    for b in range(len(edges) + 1):
        sel = idx == b
        y, s = m["labels"][sel], np.abs(m["scores"][sel])
        auroc, auprc = auc_ap(y, s)
        out["auprc"].append(auprc)
        out["auroc"].append(auroc)
        out["n_positives"].append(int(y.sum()))
        out["n_negatives"].append(int((y == 0).sum()))
        out["baseline"].append(float(y.mean()) if y.size else float("nan"))
    out["no_distance"] = int((idx == -1).sum())
    return out


def eqtl_benchmark_sets(scores_h5, positives, negatives: list, stat: str = "logSED", tracks=None,
                        bins=TSS_BINS, gtf=None) -> dict:
    """The eQTL benchmark over several negative sets (Shorkie's protocol: four sets from
    :func:`yeastzoi.score.eqtl_negatives.build_negative_sets`): per set the AUROC/AUPRC of
    |``stat``| (averaged over ``tracks``; the LM's ``LLR`` file works the same way), their
    mean, and per set the AUPRC within bins of |TSS distance| (upper edges ``bins`` in bp; the
    last bin open) and its mean over sets. A variant's distance is its INFO ``TSS_DIST``
    (written by the negative-set builder), else computed from ``gtf`` and its GENE; variants
    with neither fall in no bin (counted as ``no_distance``).

    Returns {stat, n_sets, auroc, auprc (means over sets), auroc_sets, auprc_sets,
    n_positives, n_negatives (sum over sets), missing_*, sign_auroc, n_sign, sets: [per-set
    metrics incl. arrays], bins: {labels, edges, auprc_mean, auprc_sets, n_positives,
    n_negatives_sets, baseline_mean}}."""
    if isinstance(negatives, (str, Path)):
        negatives = [negatives]
    if not negatives:
        raise YeastzoiError("give at least one negative set")
    edges = [int(x) for x in bins]
    if not edges or any(b <= a for a, b in zip([0] + edges[:-1], edges)):
        raise YeastzoiError(f"--bins {','.join(map(str, edges))}: give increasing positive bp edges, "
                            "e.g. 600,1000,2000")
    res = read_scores_h5(scores_h5)
    pos_vs, _ = read_variants(positives)
    neg_sets = [read_variants(n)[0] for n in negatives]
    if gtf is not None:
        _fill_distances(gtf, [pos_vs] + neg_sets)
    sets = []
    for neg_vs in neg_sets:
        m = _benchmark(res, pos_vs, neg_vs, stat, tracks, scores_h5)
        m["bins"] = _by_bin(m, edges)
        sets.append(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        auprc_bins = np.array([m["bins"]["auprc"] for m in sets], np.float64)
        base_bins = np.array([m["bins"]["baseline"] for m in sets], np.float64)
        track_text = tracks if tracks is None or isinstance(tracks, str) else ",".join(map(str, tracks))
        out = {"stat": stat, "tracks": track_text,
               "n_sets": len(sets), "negatives": [str(n) for n in negatives],
               "auroc": float(np.nanmean([m["auroc"] for m in sets])),
               "auprc": float(np.nanmean([m["auprc"] for m in sets])),
               "auroc_sets": [m["auroc"] for m in sets], "auprc_sets": [m["auprc"] for m in sets],
               "auprc_baseline": float(np.mean([m["auprc_baseline"] for m in sets])),
               "n_positives": sets[0]["n_positives"], "n_negatives": int(sum(m["n_negatives"] for m in sets)),
               "n_negatives_sets": [m["n_negatives"] for m in sets],
               "missing_positives": sets[0]["missing_positives"],
               "missing_negatives": int(sum(m["missing_negatives"] for m in sets)),
               "sign_auroc": sets[0]["sign_auroc"], "n_sign": sets[0]["n_sign"], "sets": sets,
               "bins": {"labels": bin_labels(edges), "edges": edges,
                        "auprc_mean": np.nanmean(auprc_bins, 0).tolist(), "auprc_sets": auprc_bins.tolist(),
                        "baseline_mean": np.nanmean(base_bins, 0).tolist(),
                        "n_positives": sets[0]["bins"]["n_positives"],
                        "n_negatives_sets": [m["bins"]["n_negatives"] for m in sets],
                        "no_distance_sets": [m["bins"]["no_distance"] for m in sets]}}
    return out


def _fill_distances(gtf, variant_lists) -> None:
    """Set INFO TSS_DIST from ``gtf`` for variants with a GENE but no TSS_DIST."""
    from ..genome import genes_table, read_gtf
    from ..genome.aliases import canonical_chrom
    from .eqtl_negatives import tss_distance

    genes = genes_table(read_gtf(gtf))
    by_id = {str(g.gene_id): g for g in genes.itertuples(index=False)}
    by_name = {str(g.gene_name).upper(): g for g in genes.itertuples(index=False) if g.gene_name}
    for vs in variant_lists:
        for v in vs:
            name = v.info.get("GENE") or v.info.get("gene")
            if "TSS_DIST" in v.info or not name or name is True:
                continue
            g = by_id.get(str(name)) or by_name.get(str(name).upper())
            if g is not None and (canonical_chrom(g.chrom) or g.chrom) == (canonical_chrom(v.chrom) or v.chrom):
                v.info["TSS_DIST"] = tss_distance(v.start, g.tss, g.strand)


def json_summary(obj):
    """``obj`` with numpy arrays dropped and numpy scalars made plain (for metrics.json)."""
    if isinstance(obj, dict):
        return {k: json_summary(v) for k, v in obj.items() if not isinstance(v, np.ndarray)}
    if isinstance(obj, (list, tuple)):
        return [json_summary(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def plot_eqtl_sets(results: dict, path) -> Path:
    """Two panels for :func:`eqtl_benchmark_sets` results {name: metrics} (e.g. the model's
    logSED and the LM's LLR): ROC curves of every negative set, and the AUPRC per |TSS
    distance| bin (mean over sets, whiskers: min–max over sets; grey ticks: the baseline,
    the positive fraction)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.5]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    nb = len(next(iter(results.values()))["bins"]["labels"])
    width = 0.8 / max(len(results), 1)
    for ci, (name, m) in enumerate(results.items()):
        col = colors[ci % len(colors)]
        for k, st in enumerate(m["sets"]):
            fpr, tpr = roc_curve(st["labels"], np.abs(st["scores"]))[:2]
            a1.plot(fpr, tpr, color=col, lw=1, alpha=0.8,
                    label=f"{name}: AUROC {m['auroc']:.3f} (mean of {m['n_sets']})" if k == 0 else None)
        b = m["bins"]
        x = np.arange(nb) + (ci - (len(results) - 1) / 2) * width
        sets = np.array(b["auprc_sets"], np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(sets, 0), np.nanmax(sets, 0)
        mean = np.array(b["auprc_mean"], np.float64)
        a2.bar(x, np.nan_to_num(mean), width=width * 0.9, color=col, alpha=0.8,
               label=f"{name}: AUPRC {m['auprc']:.3f}")
        a2.errorbar(x, mean, yerr=[np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)], fmt="none", ecolor="0.2",
                    lw=0.8, capsize=2)
        a2.scatter(x, b["baseline_mean"], marker="_", color="0.4", s=80, zorder=3)
    a1.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    a1.set_xlabel("false positive rate")
    a1.set_ylabel("true positive rate")
    a1.legend(loc="lower right", fontsize=7)
    b = next(iter(results.values()))["bins"]
    a2.set_xticks(np.arange(nb), [f"{lab}\n(n+={n})" for lab, n in zip(b["labels"], b["n_positives"])], fontsize=7)
    a2.set_xlabel("|TSS distance| (bp)")
    a2.set_ylabel("AUPRC")
    a2.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


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
