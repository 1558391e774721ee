"""Corpus QC statistics of one genome: which genomes should go into the LM corpus?

Definitions (all bp counts are over the FASTA's sequences; intervals are unions, so a base
is counted once however many features cover it):

* **length**: sum of sequence lengths; **N content**: bases that are not A/C/G/T (any case)
  / length; **GC**: (G + C) / (A + C + G + T).
* **genes**: rows of :func:`yeastzoi.genome.genes_table` (every gene of the GTF, all
  biotypes); ``protein_coding_genes`` those whose biotype is ``protein_coding``.
* **coding fraction**: bp in the union of all ``CDS`` intervals / genome length (N
  included in the denominator). ``exon fraction (genome)``: the same with ``exon`` rows
  (CDS rows for genes without exon rows), i.e. all transcribed exonic bp, ncRNA included.
* **repeat fraction**: annotated, soft-masked and DUST components and their union
  (:mod:`yeastzoi.corpus.repeats`).
* **windows**: as the LM corpus builder (:func:`yeastzoi.data.build_lm_corpus`)
  makes them: ``seq_length`` bp every ``stride`` bp along each whole chromosome, a last
  window flush with the chromosome end, windows with N fraction > ``max_n_frac`` dropped;
  the reference's valid/test chromosomes are kept here (every window of every split counts).
* **genes per window**: a gene is *in* a window by one of three rules, all reported:
  ``overlap`` (gene span shares ≥ 1 bp with the window), ``contained`` (gene span wholly
  inside the window) and ``tss`` (the gene's first transcribed base inside the window).
* **exon fraction per window**: bp of the window in exons (untrimmed exon rows as above)
  / window length.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.corpus.repeats import DUST_LEVEL, DUST_WINDOW, repeat_fractions
from yeastzoi.data.windows import filter_windows, interval_coverage, make_windows, n_fraction, split_contigs
from yeastzoi.genome import (Genome, ascii_to_codes, genes_table, intervals_by_chrom, match_chroms, open_text,
                             read_bed, read_gtf, read_species_table)

log = logging.getLogger(__name__)

#: the per-window rules of "genes per window" (see the module docstring)
RULES = {"overlap": "any gene overlapping the window by >= 1 bp",
         "contained": "any gene wholly inside the window",
         "tss": "any gene whose TSS is inside the window",
         "coding_overlap": "protein-coding gene overlapping the window by >= 1 bp",
         "coding_contained": "protein-coding gene wholly inside the window"}


def _gtf_chroms(path) -> list[str]:
    names = {}
    with open_text(path) as fh:
        for line in fh:
            if line.startswith("##FASTA"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            names.setdefault(line.split("\t", 1)[0], None)
    return list(names)


def read_species_sheet(path) -> pd.DataFrame:
    """SPECIES.tsv (name, fasta[, gtf, repeats]; first row = reference) → DataFrame with
    absolute paths, checked up front: a missing file, a duplicate species name, or a GTF /
    repeats BED whose chromosome names match none of its FASTA's is a one-line
    :class:`YeastzoiError`."""
    table = read_species_table(path)
    for row in table.itertuples(index=False):
        with Genome(row.fasta) as g:
            chroms = list(g.chroms)
        if row.gtf:
            names = _gtf_chroms(row.gtf)
            if not names:
                raise YeastzoiError(f"{path}: species '{row.name}': annotation {row.gtf} has no feature rows")
            match_chroms(names, chroms, what="GTF", reference=f"FASTA {row.fasta}", path=row.gtf, strict=False)
        if row.repeats and Path(row.repeats).stat().st_size:
            bed = read_bed(row.repeats)
            if len(bed):
                match_chroms(bed["chrom"].unique(), chroms, what="repeats BED", reference=f"FASTA {row.fasta}",
                             path=row.repeats, strict=False)
    return table


def _count_in_windows(windows: pd.DataFrame, genes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per window: genes overlapping it, wholly inside it, and with their TSS inside it."""
    n = len(windows)
    out = {k: np.zeros(n, np.int64) for k in ("overlap", "contained", "tss")}
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        g = genes[genes["chrom"] == chrom]
        if g.empty:
            continue
        gs, ge, tss = g["start"].to_numpy(), g["end"].to_numpy(), np.sort(g["tss"].to_numpy())
        order = np.argsort(gs, kind="stable")
        gs_s, ge_by_s = gs[order], ge[order]
        ge_sorted = np.sort(ge)
        ws, we = windows["start"].to_numpy()[idx], windows["end"].to_numpy()[idx]
        out["overlap"][idx] = np.searchsorted(gs_s, we, "left") - np.searchsorted(ge_sorted, ws, "right")
        out["tss"][idx] = np.searchsorted(tss, we, "left") - np.searchsorted(tss, ws, "left")
        lo = np.searchsorted(gs_s, ws, "left")
        hi = np.searchsorted(gs_s, we, "left")
        out["contained"][idx] = [int((ge_by_s[a:b] <= e).sum()) for a, b, e in zip(lo, hi, we)]
    return out


def corpus_windows(chrom_sizes: dict[str, int], seq_length: int, stride: int, held_out: dict[str, str] | None = None,
                   codes: dict[str, np.ndarray] | None = None, max_n_frac: float = 0.1) -> pd.DataFrame:
    """Windows as :func:`yeastzoi.data.builders.build_lm_corpus` makes them for one species
    (whole chromosomes; ``held_out``: chrom → "valid"/"test", else train), with windows
    whose N fraction exceeds ``max_n_frac`` removed (given ``codes``)."""
    held_out = held_out or {}
    contigs = split_contigs(chrom_sizes)
    w = make_windows([(c, held_out.get(c.chrom, "train")) for c in contigs], seq_length, stride)
    if codes is not None and len(w):
        nf = n_fraction(w, codes)
        w, _ = filter_windows(w, n_frac=nf, max_n_frac=max_n_frac)
        w["n_frac"] = n_fraction(w, codes)
    return w


def _renamed(df: pd.DataFrame, sizes, path, what: str) -> pd.DataFrame:
    """Rows of an annotation / BED table on the FASTA's chromosomes, renamed to its names."""
    cmap = match_chroms(df["chrom"].unique(), list(sizes), what=what, path=path, strict=False)
    if cmap.unmatched:
        log.warning("%s: %d %s chromosome(s) not in the FASTA ignored: %s", path, len(cmap.unmatched), what,
                    ", ".join(cmap.unmatched[:8]))
    df = df[df["chrom"].isin(list(cmap))].copy()
    df["chrom"] = df["chrom"].map(cmap)
    return df


def _sequence_stats(name, raw: dict, codes: dict) -> dict:
    """name, chroms, length_bp, n_bp, n_frac, gc of a genome (``raw``: ASCII per chromosome)."""
    total = sum(len(a) for a in raw.values())
    counts = np.zeros(5, np.int64)
    for c in raw:
        counts += np.bincount(codes[c], minlength=5)[:5]
    acgt = counts[:4].sum()
    return {"name": name, "chroms": len(raw), "length_bp": int(total), "n_bp": int(counts[4]),
            "n_frac": counts[4] / total if total else float("nan"),
            "gc": (counts[1] + counts[2]) / acgt if acgt else float("nan")}


def _annotation_stats(gtf, sizes: dict, total: int) -> tuple[dict, pd.DataFrame, dict]:
    """(genes, protein_coding_genes, cds_bp, coding_frac, exon_bp, exon_frac_genome; the
    genes table; exon intervals per chromosome)."""
    genes = pd.DataFrame(columns=["chrom", "start", "end", "strand", "gene_id", "gene_biotype", "tss"])
    cds_iv, exon_iv = {}, {}
    if gtf:
        ann = _renamed(read_gtf(gtf), sizes, gtf, "GTF")
        genes = genes_table(ann)
        cds = ann[ann["feature"] == "CDS"]
        ex = ann[ann["feature"] == "exon"]
        ex = pd.concat([ex, cds[~cds["gene_id"].isin(set(ex["gene_id"]))]])
        cds_iv, exon_iv = intervals_by_chrom(cds), intervals_by_chrom(ex)
    cds_bp = int(sum((iv[:, 1] - iv[:, 0]).sum() for iv in cds_iv.values()))
    exon_bp = int(sum((iv[:, 1] - iv[:, 0]).sum() for iv in exon_iv.values()))
    row = {"genes": len(genes),
           "protein_coding_genes": int((genes["gene_biotype"] == "protein_coding").sum()) if len(genes) else 0,
           "cds_bp": cds_bp, "coding_frac": cds_bp / total if gtf else float("nan"),
           "exon_bp": exon_bp, "exon_frac_genome": exon_bp / total if gtf else float("nan")}
    return row, genes, exon_iv


def _window_stats(w: pd.DataFrame, genes: pd.DataFrame, exon_iv: dict, sizes: dict) -> dict:
    """Adds the per-window gene counts and exon fraction to ``w``; returns their medians/means."""
    cnt = _count_in_windows(w, genes)
    w["genes_overlap"], w["genes_contained"], w["genes_tss"] = cnt["overlap"], cnt["contained"], cnt["tss"]
    pc = genes[genes["gene_biotype"] == "protein_coding"] if len(genes) else genes
    cnt = _count_in_windows(w, pc)
    w["coding_genes_overlap"], w["coding_genes_contained"] = cnt["overlap"], cnt["contained"]
    w["exon_frac"] = interval_coverage(w, exon_iv, sizes) if len(w) else np.zeros(0)
    row = {"windows": len(w)}
    for key in RULES:
        v = w[f"genes_{key}" if not key.startswith("coding") else f"coding_genes_{key[7:]}"].to_numpy()
        row[f"genes_per_window_{key}_median"] = float(np.median(v)) if len(v) else float("nan")
        row[f"genes_per_window_{key}_mean"] = float(np.mean(v)) if len(v) else float("nan")
    row["exon_frac_window_mean"] = float(w["exon_frac"].mean()) if len(w) else float("nan")
    row["exon_frac_window_median"] = float(w["exon_frac"].median()) if len(w) else float("nan")
    return row


def genome_qc(name: str, fasta, gtf=None, repeats=None, seq_length: int = 16384, stride: int = 4096,
              held_out: dict[str, str] | None = None, max_n_frac: float = 0.1, dust_window: int = DUST_WINDOW,
              dust_level: float = DUST_LEVEL) -> tuple[dict, pd.DataFrame]:
    """Statistics of one genome (see the module docstring for every definition).

    Returns (row dict for genomes.tsv, per-window DataFrame with chrom, start, end, split,
    n_frac, genes_overlap, genes_contained, genes_tss, coding_genes_overlap,
    coding_genes_contained, exon_frac)."""
    with Genome(fasta) as g:
        sizes = dict(g.chroms)
        raw = {c: np.frombuffer(g.fetch(c, 0, n, upper=False).encode("ascii", "replace"), np.uint8)
               for c, n in sizes.items()}
    codes = {c: ascii_to_codes(a) for c, a in raw.items()}
    row = _sequence_stats(name, raw, codes)
    ann_row, genes, exon_iv = _annotation_stats(gtf, sizes, row["length_bp"])
    row.update(ann_row)
    bed = None
    if repeats and Path(repeats).stat().st_size:
        bed = _renamed(read_bed(repeats), sizes, repeats, "repeats BED")
    row.update(repeat_fractions(raw, codes, bed, dust_window, dust_level))
    w = corpus_windows(sizes, seq_length, stride, held_out, codes, max_n_frac)
    row.update(_window_stats(w, genes, exon_iv, sizes))
    w.insert(0, "species", name)
    return row, w
