"""Did the LM learn known motifs? LM conservation over promoters and its enrichment at
JASPAR yeast motif matches vs their flanks.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .. import YeastzoiError
from .lm_conservation import DEFAULT_PSEUDOCOUNT, conservation_many

log = logging.getLogger(__name__)


def promoter_regions(genes: pd.DataFrame, chrom_sizes: dict, upstream: int = 500,
                     downstream: int = 0) -> pd.DataFrame:
    """Promoter intervals (chrom, start, end, strand, gene_name) of ``upstream`` bp 5′ of each
    TSS (plus ``downstream`` bp into the gene), strand-aware, clipped to the chromosome;
    genes on chromosomes missing from ``chrom_sizes`` or clipped to nothing are dropped."""
    rows = []
    for g in genes.itertuples(index=False):
        if g.chrom not in chrom_sizes:
            continue
        tss = int(g.tss)
        if g.strand == "-":
            s, e = tss + 1 - downstream, tss + 1 + upstream
        else:
            s, e = tss - upstream, tss + downstream
        s, e = max(0, s), min(int(chrom_sizes[g.chrom]), e)
        if e > s:
            rows.append((g.chrom, s, e, g.strand, g.gene_name or g.gene_id))
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "gene_name"])


def pick_genes(genes: pd.DataFrame, chrom_sizes: dict, n: int | None) -> pd.DataFrame:
    """``n`` genes spread evenly over the annotation (protein-coding when the biotype is
    known), on chromosomes of ``chrom_sizes``; all when ``n`` is None."""
    g = genes[genes["chrom"].isin(list(chrom_sizes))]
    if "gene_biotype" in g and (g["gene_biotype"] == "protein_coding").any():
        g = g[g["gene_biotype"] == "protein_coding"]
    if g.empty:
        raise YeastzoiError("the annotation has no genes on the FASTA's chromosomes")
    if n is not None and n < len(g):
        g = g.iloc[np.unique(np.linspace(0, len(g) - 1, int(n)).round().astype(int))]
    return g.reset_index(drop=True)


def find_motif_sites(codes_by_region, log_odds: dict, thresholds: dict) -> pd.DataFrame:
    """Motif matches in each region's codes.

    ``codes_by_region``: list of uint8 code arrays; ``log_odds``: motif → (L, 5) from
    :func:`yeastzoi.genome.motifs.pwm_log_odds`; ``thresholds``: motif → score threshold (bits).
    Returns DataFrame motif, region (index), start, end (region offsets), strand, score; a
    window passing on both strands is one site (the better strand). Sites of one motif may
    overlap one another.
    """
    from ..genome.motifs import scan_pwm

    rows = []
    for name, lo in log_odds.items():
        thr = float(thresholds[name])
        width = lo.shape[0]
        for ri, codes in enumerate(codes_by_region):
            fwd, rev = scan_pwm(codes, lo)
            best = np.maximum(fwd, rev)
            for i in np.nonzero(best >= thr)[0]:
                strand = "+" if fwd[i] >= rev[i] else "-"
                rows.append((name, ri, int(i), int(i) + width, strand, float(best[i])))
    return pd.DataFrame(rows, columns=["motif", "region", "start", "end", "strand", "score"])


def motif_enrichment(conservation_tracks, sites: pd.DataFrame, flank: int = 20,
                     alternative: str = "greater") -> pd.DataFrame:
    """Conservation at motif sites vs their flanks, per motif.

    ``conservation_tracks``: list (or dict) region → 1-D conservation array (bits), indexed
    by the ``region`` column of ``sites``; ``sites``: DataFrame motif, region, start, end
    (offsets into the region's array). For each site the motif value is the mean C over
    [start, end) and the flank value the mean C over up to ``flank`` bp on each side (inside
    the region, excluding the site). Sites without any flank are dropped.

    Returns one row per motif: motif, n_sites, motif_C, flank_C (means over sites),
    delta (motif_C − flank_C), enrichment (motif_C / flank_C), pvalue — the Wilcoxon
    signed-rank test (scipy, paired motif vs flank per site, ``alternative`` "greater":
    motif more conserved) — NaN with fewer than 2 sites or when every pair is tied.
    """
    from scipy.stats import wilcoxon

    cols = ["motif", "n_sites", "motif_C", "flank_C", "delta", "enrichment", "pvalue"]
    out = []
    for name, grp in sites.groupby("motif", sort=False):
        inside, around = [], []
        for r in grp.itertuples(index=False):
            c = np.asarray(conservation_tracks[r.region], dtype=np.float64)
            s, e = int(r.start), int(r.end)
            if s < 0 or e > len(c) or e <= s:
                raise YeastzoiError(f"motif site {name} {s}-{e} lies outside region {r.region} "
                                    f"({len(c)} bp)")
            fl = np.concatenate([c[max(0, s - flank):s], c[e:e + flank]])
            if fl.size == 0:
                continue
            inside.append(c[s:e].mean())
            around.append(fl.mean())
        inside, around = np.asarray(inside), np.asarray(around)
        n = len(inside)
        pval = np.nan
        if n >= 2 and np.any(inside != around):
            pval = float(wilcoxon(inside, around, alternative=alternative).pvalue)
        mc = float(inside.mean()) if n else np.nan
        fc = float(around.mean()) if n else np.nan
        out.append((name, n, mc, fc, mc - fc, mc / fc if n and fc > 0 else np.nan, pval))
    return pd.DataFrame(out, columns=cols)


def motif_check(model, genome, gtf_df: pd.DataFrame, motifs, n_genes: int | None = 100,
                upstream: int = 500, pvalue: float = 1e-4, flank: int = 20,
                batch_size: int | None = None, pseudocount: float = DEFAULT_PSEUDOCOUNT,
                progress=None, species=None) -> dict:
    """LM conservation over promoters and its enrichment at JASPAR yeast motif matches.

    Promoters: ``upstream`` bp 5′ of the TSS of ``n_genes`` genes (:func:`pick_genes`).
    Motif matches: one-strand p ≤ ``pvalue`` against the promoters' base composition.
    Returns dict with ``enrichment`` (:func:`motif_enrichment`), ``sites`` (with chrom and
    genomic start/end added), ``promoters`` and ``tables`` (one conservation table per
    promoter). ``model``: an LM Predictor (or SeqNN; see
    :func:`yeastzoi.interpret.lm_conservation.lm_probs`).
    """
    from ..genome import genes_table
    from ..genome import background_from_codes, load_yeast_motifs, pwm_log_odds, score_pvalue_threshold

    genes = pick_genes(genes_table(gtf_df), genome.chroms, n_genes)
    prom = promoter_regions(genes, genome.chroms, upstream=upstream)
    tables = conservation_many(model, genome, list(zip(prom["chrom"], prom["start"], prom["end"])),
                               batch_size, pseudocount, progress=progress, species=species)
    codes = [genome.fetch_codes(c, s, e) for c, s, e in zip(prom["chrom"], prom["start"], prom["end"])]
    bg = background_from_codes(np.concatenate(codes))
    pwms = load_yeast_motifs(motifs)
    lo = {k: pwm_log_odds(v, bg) for k, v in pwms.items()}
    thr = {k: score_pvalue_threshold(v, bg, pvalue) for k, v in lo.items()}
    sites = find_motif_sites(codes, lo, thr)
    tracks = [t["conservation"].to_numpy() for t in tables]
    enr = motif_enrichment(tracks, sites, flank=flank)
    missing = [k for k in lo if k not in set(enr["motif"])]
    if missing:
        log.warning("no promoter matches at p <= %g for: %s", pvalue, ", ".join(missing))
        enr = pd.concat([enr, pd.DataFrame({"motif": missing, "n_sites": 0})], ignore_index=True)
    enr["threshold_bits"] = enr["motif"].map(thr)
    if len(sites):
        sites = sites.assign(chrom=prom["chrom"].to_numpy()[sites["region"]],
                             gene_name=prom["gene_name"].to_numpy()[sites["region"]],
                             genome_start=prom["start"].to_numpy()[sites["region"]] + sites["start"],
                             genome_end=prom["start"].to_numpy()[sites["region"]] + sites["end"])
    return {"enrichment": enr, "sites": sites, "promoters": prom, "tables": tables}
