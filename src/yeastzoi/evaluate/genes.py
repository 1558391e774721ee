"""Gene-level evaluation: genes assigned to the evaluated windows, the bins each gene owns,
per-gene sums of predictions and targets, and the gene-level Pearson R.

Exact definition (``yeastzoi_eval.py --gtf``):

1. Each gene's exons are merged over its transcripts (:func:`yeastzoi.genome.exons_by_gene`;
   genes without exon rows use their CDS rows).
2. A window's target bins cover ``[start + crop_bp, end − crop_bp)`` of its ``sequences.bed``
   row (:mod:`yeastzoi.model.geometry`). A gene is **evaluated** when every one of its exons
   lies inside the target region of at least one window of the split; if several windows
   contain it, the one whose target-region centre is nearest the centre of the gene's exon
   span is used (ties: the first in sequences.bed order). Genes only partly inside, or
   outside, the evaluated windows are left out.
3. Its **bins** are :meth:`yeastzoi.model.geometry.Geometry.gene_bins` of that window: every
   bin overlapping an exon by at least 1 bp, each counted once — the rule gene-level
   variant scoring uses too (why ≥ 1 bp: the geometry module docstring).
4. Gene value per track = Σ over its bins of the untransformed prediction (resp.
   untransformed target).
5. ``pearsonr`` per track = Pearson R over the evaluated genes of log2(1 + value) of the
   prediction vs log2(1 + value) of the target; ``pearsonr_raw`` uses the values
   themselves. A track with fewer than 2 genes (or constant values) gets NaN.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..model.geometry import Geometry
from .stats import pearsonr

log = logging.getLogger(__name__)


@dataclass
class GeneBins:
    """Genes evaluated on a split: ``genes`` (DataFrame gene_id, gene_name, chrom, start, end,
    window, n_bins) and ``by_window``: window row → [(gene row, bin indices)]."""
    genes: pd.DataFrame
    by_window: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=dict)


def gene_exon_bins(exons: dict[str, list[tuple[int, int]]], gene_chrom: dict[str, str],
                   windows: pd.DataFrame, geo: Geometry,
                   gene_names: dict[str, str] | None = None) -> GeneBins:
    """Assign genes to windows and list the bins each owns (module docstring).

    exons: gene_id → merged (start, end) bp, 0-based half-open; gene_chrom: gene_id → chrom
    (named as in ``windows``); windows: the split's sequences.bed rows in record order
    (chrom, start, end: full input windows); geo: the model's output geometry. A gene's bins
    are :meth:`yeastzoi.model.geometry.Geometry.gene_bins` (the rule variant scoring uses).
    """
    starts = windows["start"].to_numpy(np.int64)
    t0 = starts + geo.offset
    t1 = t0 + geo.span
    chroms = windows["chrom"].astype(str).to_numpy()
    by_chrom = {c: np.flatnonzero(chroms == c) for c in np.unique(chroms)}
    rows, by_window = [], {}
    for gid, ex in exons.items():
        idx = by_chrom.get(gene_chrom.get(gid))
        if not ex or idx is None:
            continue
        es, ee = min(s for s, _ in ex), max(e for _, e in ex)
        inside = idx[(t0[idx] <= es) & (t1[idx] >= ee)]
        if inside.size == 0:
            continue
        dist = np.abs((t0[inside] + t1[inside]) / 2.0 - (es + ee) / 2.0)
        w = int(inside[np.argmin(dist)])  # argmin: first among ties (record order)
        b = geo.gene_bins(int(starts[w]), ex)
        by_window.setdefault(w, []).append((len(rows), b))
        rows.append({"gene_id": gid, "gene_name": (gene_names or {}).get(gid, ""), "chrom": gene_chrom[gid],
                     "start": int(es), "end": int(ee), "window": w, "n_bins": int(b.size)})
    genes = pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "start", "end", "window", "n_bins"])
    return GeneBins(genes, by_window)


def load_gene_bins(gtf, windows: pd.DataFrame, geo: Geometry, all_chroms=None) -> GeneBins:
    """:func:`gene_exon_bins` from a GTF/GFF3 file; its chromosome names are matched to the
    windows' (``all_chroms``: every chromosome of the data dir) through the R64 aliases."""
    from ..genome import exons_by_gene, genes_table, match_chroms, read_gtf

    raw = read_gtf(gtf)
    ref = list(all_chroms) if all_chroms is not None else list(windows["chrom"].astype(str).unique())
    cmap = match_chroms(raw["chrom"].unique(), ref, what="GTF", reference="sequences.bed",
                        path=gtf, strict=False)
    if cmap.unmatched:
        log.info("%s: genes on %d chromosome(s) not in the data are ignored: %s", gtf,
                 len(cmap.unmatched), ", ".join(cmap.unmatched[:8]))
    df = raw[raw["chrom"].isin(list(cmap))].copy()
    df["chrom"] = df["chrom"].map(dict(cmap))
    genes = genes_table(df)
    gb = gene_exon_bins(exons_by_gene(df), dict(zip(genes["gene_id"], genes["chrom"])), windows, geo,
                        gene_names=dict(zip(genes["gene_id"], genes["gene_name"])))
    log.info("%s: %d of %d genes lie inside the evaluated windows", gtf, len(gb.genes), len(genes))
    return gb


class GeneSums:
    """Accumulate per-gene sums of (untransformed) predictions and targets, window by window."""

    def __init__(self, gene_bins: GeneBins, num_targets: int):
        self.gene_bins = gene_bins
        n = len(gene_bins.genes)
        self.pred = np.zeros((n, num_targets))
        self.true = np.zeros((n, num_targets))

    def update(self, window: int, pred: np.ndarray, true: np.ndarray) -> None:
        """pred, true: (target_length, T) untransformed values of window row ``window``."""
        for g, bins in self.gene_bins.by_window.get(int(window), ()):
            self.pred[g] = np.asarray(pred, np.float64)[bins].sum(0)
            self.true[g] = np.asarray(true, np.float64)[bins].sum(0)


def gene_pearsonr(pred_sums: np.ndarray, true_sums: np.ndarray, log_space: bool = True) -> np.ndarray:
    """Per-track R over genes (rows) of gene sums; ``log_space``: of log2(1 + max(x, 0))."""
    p, t = np.asarray(pred_sums, np.float64), np.asarray(true_sums, np.float64)
    if p.shape[0] < 2:
        return np.full(p.shape[1], np.nan)
    if log_space:
        p, t = np.log2(1 + np.maximum(p, 0)), np.log2(1 + np.maximum(t, 0))
    return pearsonr(p, t, axis=0)
