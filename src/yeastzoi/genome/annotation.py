"""Reading annotation: GTF2 and GFF3 (plain or gzip) into one table of 0-based half-open rows.

GTF/GFF3 files are 1-based inclusive on disk; :func:`read_gtf` converts to 0-based
half-open ``[start, end)`` bp. The table's columns are :data:`GTF_COLUMNS`; gene-level
views (genes, exons per gene), normalising and writing are in :mod:`yeastzoi.genome.genes`.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.genome.fasta import open_text

log = logging.getLogger(__name__)

GTF_COLUMNS = ["chrom", "start", "end", "strand", "feature", "gene_id", "gene_name",
               "gene_biotype", "transcript_id", "frame"]

_GTF_ATTR = re.compile(r'([A-Za-z_][\w.\-]*)\s+("(?:[^"\\]|\\.)*"|[^;\s]+)')

_GENE_TYPES = {
    "gene": None, "ncRNA_gene": "ncRNA", "tRNA_gene": "tRNA", "snoRNA_gene": "snoRNA",
    "snRNA_gene": "snRNA", "rRNA_gene": "rRNA", "pseudogene": "pseudogene",
    "transposable_element_gene": "transposable_element", "blocked_reading_frame": "pseudogene",
    "telomerase_RNA_gene": "ncRNA", "protein_coding_gene": "protein_coding",
}
_EXON_TYPES = {"exon": "exon", "noncoding_exon": "exon", "CDS": "CDS"}
_SUBFEATURE_TYPES = {"exon", "noncoding_exon", "CDS", "five_prime_UTR", "three_prime_UTR", "UTR",
                     "intron", "five_prime_UTR_intron", "start_codon", "stop_codon",
                     "plus_1_translational_frameshift", "Selenocysteine"}


def _sniff_gff3(path) -> bool:
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".gff3", ".gff")):
        return True
    if name.endswith(".gtf"):
        return False
    with open_text(path) as fh:
        for line in fh:
            if line.startswith("##gff-version 3"):
                return True
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 9:
                return "=" in fields[8] and '"' not in fields[8]
            break
    return False


def _read_feature_lines(path):
    """Yield (lineno, 9 fields) from a GTF/GFF file, stopping at a ##FASTA section."""
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##FASTA"):
                break
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise YeastzoiError(f"{path}:{lineno}: expected 9 tab-separated GTF/GFF columns, got "
                                    f"{len(fields)}; fix the line (columns must be separated by tabs)")
            yield lineno, fields


def _coords(path, lineno, fields):
    try:
        start, end = int(fields[3]) - 1, int(fields[4])
    except ValueError:
        raise YeastzoiError(f"{path}:{lineno}: start/end {fields[3]!r}, {fields[4]!r} are not integers; fix the line") from None
    if start < 0 or end < start:
        raise YeastzoiError(f"{path}:{lineno}: invalid interval {fields[3]}-{fields[4]} (1-based inclusive "
                            f"start <= end expected); fix the line")
    return start, end


def _fill_gene_fields(df: pd.DataFrame) -> pd.DataFrame:
    """Propagate gene_name/gene_biotype from any row of a gene to all its rows; a missing
    name becomes the gene_id, a missing biotype ``protein_coding`` when the gene has CDS
    rows, else ``unknown``."""
    for col in ("gene_name", "gene_biotype"):
        known = df.loc[df[col] != "", ["gene_id", col]].drop_duplicates("gene_id")
        fill = df["gene_id"].map(dict(zip(known["gene_id"], known[col])))
        df[col] = df[col].where(df[col] != "", fill.fillna(""))
    df.loc[df["gene_name"] == "", "gene_name"] = df.loc[df["gene_name"] == "", "gene_id"]
    no_type = (df["gene_biotype"] == "") & (df["gene_id"] != "")
    if no_type.any():
        coding = set(df.loc[df["feature"] == "CDS", "gene_id"])
        df.loc[no_type, "gene_biotype"] = np.where(df.loc[no_type, "gene_id"].isin(coding),
                                                   "protein_coding", "unknown")
    return df


def _read_gtf2(path) -> pd.DataFrame:
    rows, bare = [], Counter()
    for lineno, f in _read_feature_lines(path):
        start, end = _coords(path, lineno, f)
        attrs = {k: v[1:-1] if v.startswith('"') else v for k, v in _GTF_ATTR.findall(f[8])}
        gene_id = attrs.get("gene_id", "")
        if not gene_id and f[2] in ("gene", "transcript"):
            bare[f[2]] += 1  # e.g. AUGUSTUS 'g1' / 'g1.t1' rows: rebuilt from exon/CDS rows
            continue
        if not gene_id and f[2] in ("exon", "CDS"):
            raise YeastzoiError(f"{path}:{lineno}: {f[2]} row without a gene_id attribute; add gene_id \"...\";")
        biotype = (attrs.get("gene_biotype") or attrs.get("gene_type") or attrs.get("transcript_biotype")
                   or attrs.get("transcript_type") or "")
        rows.append((f[0], start, end, f[6], f[2], gene_id, attrs.get("gene_name", ""), biotype,
                     attrs.get("transcript_id", ""), f[7]))
    if bare:
        log.warning("%s: ignored %s without gene_id attributes; genes and transcripts are rebuilt from "
                    "the exon/CDS rows", path, ", ".join(f"{v} {k} rows" for k, v in bare.items()))
    return pd.DataFrame(rows, columns=GTF_COLUMNS)


def _strip_prefix(value: str, prefixes) -> str:
    for p in prefixes:
        if value.startswith(p):
            return value[len(p):]
    return value


def _read_gff3(path) -> pd.DataFrame:
    recs = []
    by_id: dict[str, int] = {}
    for lineno, f in _read_feature_lines(path):
        start, end = _coords(path, lineno, f)
        attrs = {}
        for item in f[8].strip().split(";"):
            if "=" in item:
                k, v = item.split("=", 1)
                attrs[k.strip()] = unquote(v.strip())
        rid = attrs.get("ID")
        parent = attrs.get("Parent", "").split(",")[0] or None
        recs.append([f[0], start, end, f[6], f[2], f[7], attrs, rid, parent])
        if rid is not None and rid not in by_id:
            by_id[rid] = len(recs) - 1

    def chain(i):
        seen, out = set(), [i]
        while recs[out[-1]][8] is not None and recs[out[-1]][8] in by_id:
            nxt = by_id[recs[out[-1]][8]]
            if nxt in seen:
                break
            seen.add(nxt)
            out.append(nxt)
        return out

    children_types: dict[int, set] = {}
    chains = [chain(i) for i in range(len(recs))]
    for i, ch in enumerate(chains):
        for anc in ch[1:]:
            children_types.setdefault(anc, set()).add(recs[i][4])

    def gene_info(g):
        a = recs[g][6]
        gid = a.get("gene_id") or a.get("locus_tag") or _strip_prefix(a.get("ID", ""), ("gene:", "gene-")) or ""
        name = a.get("gene") or a.get("Name") or gid
        biotype = a.get("biotype") or a.get("gene_biotype") or a.get("gene_type") or ""
        if not biotype:
            biotype = _GENE_TYPES.get(recs[g][4]) or ""
        if not biotype:
            kids = children_types.get(g, set())
            if "mRNA" in kids or "CDS" in kids:
                biotype = "protein_coding"
            else:
                rna = [k for k in kids if k.endswith("RNA")]
                biotype = rna[0] if rna else "unknown"
        return gid, name, biotype

    rows = []
    gene_cache: dict[int, tuple] = {}
    for i, (chrom, start, end, strand, ftype, frame, attrs, rid, parent) in enumerate(recs):
        ch = chains[i]
        root = ch[-1]
        if len(ch) == 1 and recs[root][4] not in _GENE_TYPES:
            # a stand-alone feature (chromosome, centromere, ARS ...): keep its type; no gene
            label = attrs.get("Name") or rid or ""
            rows.append((chrom, start, end, strand, ftype, "", label, "", "", frame))
            continue
        if root not in gene_cache:
            gene_cache[root] = gene_info(root)
        gid, name, biotype = gene_cache[root]
        if len(ch) == 1:
            feature, tid = "gene", ""
        else:
            tx = ch[-2]
            tx_is_sub = recs[tx][4] in _SUBFEATURE_TYPES
            ta = recs[tx][6]
            tid = "" if tx_is_sub else (ta.get("transcript_id")
                                        or _strip_prefix(ta.get("ID", ""), ("transcript:", "rna-")) or "")
            if i == tx and not tx_is_sub:
                feature = "transcript"
            else:
                feature = _EXON_TYPES.get(ftype, ftype)
        rows.append((chrom, start, end, strand, feature, gid, name, biotype, tid, frame))
    df = pd.DataFrame(rows, columns=GTF_COLUMNS)
    return df


def read_gtf(path, chrom_map: dict | None = None) -> pd.DataFrame:
    """Read a GTF2 or GFF3 annotation (plain or gzip; GFF3 by extension or content).

    Returns a DataFrame with columns chrom, start (0-based), end (exclusive), strand,
    feature, gene_id, gene_name, gene_biotype, transcript_id, frame — one row per file
    row. GFF3 rows are normalised: gene-like types (gene, ncRNA_gene, pseudogene, …) →
    ``gene``; the level below a gene → ``transcript``; exon/noncoding_exon → ``exon``;
    CDS → ``CDS``; gene_id/transcript_id follow the Parent chain (``gene:``/``transcript:``
    prefixes stripped). Other rows keep their type. A ``##FASTA`` section ends reading.

    ``chrom_map`` (e.g. from :func:`match_chroms`) renames chromosomes; rows on chromosomes
    absent from the map are dropped and logged as a warning with counts.
    """
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: annotation file not found; check the path")
    df = _read_gff3(path) if _sniff_gff3(path) else _read_gtf2(path)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    if len(df):
        df = _fill_gene_fields(df)
    if chrom_map is not None:
        keep = df["chrom"].isin(list(chrom_map))
        if (~keep).any():
            dropped = Counter(df.loc[~keep, "chrom"])
            log.warning("%s: dropped %d rows on %d chromosome(s) not in the reference: %s", path,
                        int((~keep).sum()), len(dropped), ", ".join(f"{k} ({v})" for k, v in dropped.items()))
        df = df[keep].copy()
        df["chrom"] = df["chrom"].map(chrom_map)
    return df.reset_index(drop=True)
