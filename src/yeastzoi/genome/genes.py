"""Gene-level views of an annotation table (:func:`yeastzoi.genome.read_gtf` rows): genes,
merged exons per gene, normalising to gene/transcript/exon/CDS, clipping to the
chromosomes, sorting, and writing GTF2. Coordinates are 0-based half-open bp in memory.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi.fileio import atomic_path
from yeastzoi.genome.aliases import match_chroms
from yeastzoi.genome.annotation import GTF_COLUMNS, read_gtf
from yeastzoi.genome.regions import merge_intervals

log = logging.getLogger(__name__)

def genes_table(gtf_df: pd.DataFrame) -> pd.DataFrame:
    """One row per gene: chrom, start, end (0-based half-open bp), strand, gene_id,
    gene_name, gene_biotype, tss (0-based bp of the first transcribed base: start on
    ``+``, end-1 on ``-``). The span is the gene row when present, else the union of the
    gene's rows. Order: file order of the genes."""
    cols = ["chrom", "start", "end", "strand", "gene_id", "gene_name", "gene_biotype"]
    df = gtf_df[gtf_df["gene_id"] != ""]
    if df.empty:
        return pd.DataFrame(columns=cols + ["tss"])
    genes = df[df["feature"] == "gene"].drop_duplicates("gene_id")
    rest = df[~df["gene_id"].isin(genes["gene_id"])]
    if len(rest):
        agg = rest.groupby("gene_id", sort=False).agg(
            chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"), strand=("strand", "first"),
            gene_name=("gene_name", "first"), gene_biotype=("gene_biotype", "first")).reset_index()
        genes = pd.concat([genes[cols], agg[cols]], ignore_index=True)
    out = genes[cols].reset_index(drop=True).copy()
    out["tss"] = np.where(out["strand"] == "-", out["end"] - 1, out["start"]).astype(np.int64)
    return out


def exons_by_gene(gtf_df: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """gene_id → merged exons (0-based half-open, sorted) over all the gene's transcripts.
    Genes without exon rows use their CDS rows."""
    out: dict[str, list[tuple[int, int]]] = {}
    exons = gtf_df[gtf_df["feature"] == "exon"]
    for gid, grp in exons.groupby("gene_id", sort=False):
        out[gid] = _pairs(grp)
    cds = gtf_df[(gtf_df["feature"] == "CDS") & ~gtf_df["gene_id"].isin(list(out))]
    for gid, grp in cds.groupby("gene_id", sort=False):
        out[gid] = _pairs(grp)
    return out


def exon_intervals(gtf_path, chrom_sizes: dict[str, int], trim: int = 0) -> dict[str, np.ndarray]:
    """Exon intervals of an annotation file per FASTA chromosome → {chrom: merged int64 (m, 2)}.

    Rows: ``exon`` rows when the file has any, else ``CDS`` rows. Chromosome names are
    matched to ``chrom_sizes``' by alias (names not found: a WARNING); rows past a
    chromosome's end are clipped (:func:`clip_to_chroms`, a WARNING with counts); each
    interval is trimmed by ``trim`` bp at both ends (intervals shorter than 2·trim+1
    vanish)."""
    gtf = read_gtf(gtf_path)
    if len(gtf) == 0:
        return {}
    cmap = match_chroms(gtf["chrom"].unique(), list(chrom_sizes), what="GTF", path=gtf_path, strict=False)
    if cmap.unmatched:
        log.warning("%s: %d chromosome(s) not in the FASTA are ignored: %s", gtf_path, len(cmap.unmatched),
                    ", ".join(list(cmap.unmatched)[:8]))
    feat = "exon" if (gtf["feature"] == "exon").any() else "CDS"
    ex = gtf[(gtf["feature"] == feat) & gtf["chrom"].isin(list(cmap))]
    ex = clip_to_chroms(ex.assign(chrom=ex["chrom"].map(cmap)), chrom_sizes, gtf_path)
    out = {}
    for chrom, g in ex.groupby("chrom", sort=False):
        s, e = g["start"].to_numpy() + trim, g["end"].to_numpy() - trim
        ok = e > s
        out[chrom] = merge_intervals(np.stack([s[ok], e[ok]], 1))
    return out


def _pairs(rows: pd.DataFrame) -> list[tuple[int, int]]:
    """Merged (start, end) tuples of some annotation rows."""
    merged = merge_intervals(np.stack([rows["start"].to_numpy(), rows["end"].to_numpy()], 1))
    return [(s, e) for s, e in merged.tolist()]


def normalise_annotation(gtf_df: pd.DataFrame) -> pd.DataFrame:
    """Keep gene/transcript/exon/CDS rows and fill in missing levels: a gene without a
    gene row gets one spanning its rows; rows without a transcript_id get
    ``<gene_id>_transcript``; a transcript without a row gets one spanning its rows; a
    transcript without exons gets them from its CDS and UTR rows, else its own span."""
    df = gtf_df.copy()
    if df.empty:
        return df[GTF_COLUMNS]
    df = df[df["gene_id"] != ""]
    utr = df[df["feature"].isin(["five_prime_UTR", "three_prime_UTR", "UTR"])]
    df_main = df[df["feature"].isin(["gene", "transcript", "exon", "CDS"])].copy()
    sub = df_main["feature"] != "gene"
    empty_tid = sub & (df_main["transcript_id"] == "")
    df_main.loc[empty_tid, "transcript_id"] = df_main.loc[empty_tid, "gene_id"] + "_transcript"
    utr = utr.copy()
    utr.loc[utr["transcript_id"] == "", "transcript_id"] = utr["gene_id"] + "_transcript"
    extra = []
    have_gene = set(df_main.loc[df_main["feature"] == "gene", "gene_id"])
    for gid, grp in df_main[~df_main["gene_id"].isin(have_gene)].groupby("gene_id", sort=False):
        r = grp.iloc[0]
        extra.append((r.chrom, int(grp["start"].min()), int(grp["end"].max()), r.strand, "gene", gid,
                      r.gene_name, r.gene_biotype, "", "."))
    genes_only = df_main[df_main["feature"] == "gene"]
    tx_rows = df_main[df_main["feature"] == "transcript"]
    have_tx = set(tx_rows["transcript_id"])
    parts = df_main[df_main["feature"].isin(["exon", "CDS"])]
    for tid, grp in parts[~parts["transcript_id"].isin(have_tx)].groupby("transcript_id", sort=False):
        r = grp.iloc[0]
        extra.append((r.chrom, int(grp["start"].min()), int(grp["end"].max()), r.strand, "transcript",
                      r.gene_id, r.gene_name, r.gene_biotype, tid, "."))
        have_tx.add(tid)
    # genes with no transcript at all (e.g. a tRNA gene with only a gene row)
    tx_genes = set(df_main.loc[df_main["feature"] != "gene", "gene_id"])
    has_exon = set(df_main.loc[df_main["feature"] == "exon", "transcript_id"])
    for r in genes_only[~genes_only["gene_id"].isin(tx_genes)].itertuples(index=False):
        tid = f"{r.gene_id}_transcript"
        has_exon.add(tid)
        extra.append((r.chrom, r.start, r.end, r.strand, "transcript", r.gene_id, r.gene_name,
                      r.gene_biotype, tid, "."))
        extra.append((r.chrom, r.start, r.end, r.strand, "exon", r.gene_id, r.gene_name,
                      r.gene_biotype, tid, "."))
    # transcripts without exons: CDS + UTR, else the transcript span
    all_tx = pd.concat([tx_rows, pd.DataFrame(
        [e for e in extra if e[4] == "transcript"], columns=GTF_COLUMNS)], ignore_index=True)
    pieces = pd.concat([df_main[df_main["feature"] == "CDS"], utr], ignore_index=True)
    piece_groups = {tid: g for tid, g in pieces.groupby("transcript_id", sort=False)}
    for r in all_tx[~all_tx["transcript_id"].isin(has_exon)].itertuples(index=False):
        g = piece_groups.get(r.transcript_id)
        spans = _pairs(g) if g is not None else [(r.start, r.end)]
        if r.strand == "-":
            spans = spans[::-1]
        for s, e in spans:
            extra.append((r.chrom, s, e, r.strand, "exon", r.gene_id, r.gene_name, r.gene_biotype,
                          r.transcript_id, "."))
    out = pd.concat([df_main[GTF_COLUMNS], pd.DataFrame(extra, columns=GTF_COLUMNS)], ignore_index=True)
    out["start"] = out["start"].astype(np.int64)
    out["end"] = out["end"].astype(np.int64)
    return out


def clip_to_chroms(gtf_df: pd.DataFrame, chrom_sizes: dict[str, int], path=None) -> pd.DataFrame:
    """Annotation rows made to lie inside their chromosomes (a WARNING with counts when any
    row does not).

    Behaviour: a row ending past its chromosome's end (``end > length``) is clipped to end
    there; a row starting at or past the end is dropped; a gene with no row left is
    dropped. Rows on chromosomes absent from ``chrom_sizes`` are kept as they are (match
    chromosome names first, e.g. with :func:`yeastzoi.genome.match_chroms`). The warning
    names ``path`` and counts the exons and other rows clipped and dropped and the genes
    touched. Returns a new DataFrame (the input when nothing is outside).
    """
    size = gtf_df["chrom"].map(dict(chrom_sizes))
    known = size.notna().to_numpy()
    size = size.fillna(np.inf).to_numpy()
    drop = known & (gtf_df["start"].to_numpy() >= size)
    clip = known & ~drop & (gtf_df["end"].to_numpy() > size)
    if not (drop.any() or clip.any()):
        return gtf_df
    out = gtf_df.copy()
    out.loc[clip, "end"] = size[clip].astype(np.int64)
    out = out[~drop]
    feat = gtf_df["feature"].to_numpy()
    touched = set(gtf_df.loc[drop | clip, "gene_id"]) - {""}
    lost = touched - set(out["gene_id"])
    exon = feat == "exon"
    log.warning("%s: annotation past the chromosome end (kept inside it): %d exon(s) clipped to the end, "
                "%d exon(s) dropped (starting past it), %d other row(s) clipped and %d dropped; %d gene(s) "
                "touched, %d of them dropped (no rows left)", path or "annotation",
                int((clip & exon).sum()), int((drop & exon).sum()), int((clip & ~exon).sum()),
                int((drop & ~exon).sum()), len(touched), len(lost))
    return out.reset_index(drop=True)


def sort_gene_rows(df: pd.DataFrame, chrom_order) -> pd.DataFrame:
    """Order genes by (chromosome order, gene start), keeping each gene's rows together in
    the order gene, transcript(s), exons, CDS (each in transcription order as given).
    Chromosomes missing from ``chrom_order`` come last."""
    if df.empty:
        return df
    index = {c: i for i, c in enumerate(chrom_order)}
    df = df.copy()
    span = df.groupby("gene_id", sort=False)["start"].transform("min")
    df["_c"] = df["chrom"].map(index).fillna(len(index))
    df["_s"] = span
    df["_f"] = df["feature"].map({"gene": 0, "transcript": 1, "exon": 2, "CDS": 3}).fillna(4)
    df["_t"] = df["transcript_id"]
    df["_o"] = np.arange(len(df))
    df["_g"] = (df["feature"] != "gene").astype(int)  # the gene row (no transcript_id) first
    df = df.sort_values(["_c", "_s", "gene_id", "_g", "_t", "_f", "_o"], kind="stable")
    return df.drop(columns=["_c", "_s", "_f", "_t", "_o", "_g"]).reset_index(drop=True)


def _gtf_attr(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_gtf(gtf_df: pd.DataFrame, path, source: str = "yeastzoi") -> Path:
    """Write gene/transcript/exon/CDS rows (0-based half-open in memory) as GTF2 (1-based
    inclusive) atomically; exons get an ``exon_number`` in transcription order."""
    lines = []
    exon_counter: Counter = Counter()
    for row in gtf_df.itertuples(index=False):
        attrs = [f"gene_id {_gtf_attr(row.gene_id)}"]
        if row.feature != "gene":
            attrs.append(f"transcript_id {_gtf_attr(row.transcript_id)}")
        attrs.append(f"gene_name {_gtf_attr(row.gene_name)}")
        attrs.append(f"gene_biotype {_gtf_attr(row.gene_biotype)}")
        if row.feature == "exon":
            exon_counter[row.transcript_id] += 1
            attrs.append(f"exon_number \"{exon_counter[row.transcript_id]}\"")
        frame = row.frame if row.feature == "CDS" and row.frame in ("0", "1", "2") else "."
        lines.append(f"{row.chrom}\t{source}\t{row.feature}\t{row.start + 1}\t{row.end}\t.\t"
                     f"{row.strand}\t{frame}\t{'; '.join(attrs)};\n")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(lines))
    return Path(path)
