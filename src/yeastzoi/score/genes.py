"""Genes for scoring and interpretation: an annotation renamed to the FASTA's chromosomes,
and one gene looked up by id or name.

    genes, exons = load_annotation("genes.gtf", genome)      # genes_table, exons_by_gene
    gene = find_gene(genes, exons, "RPL3")                    # GeneInfo with merged exons
"""
from __future__ import annotations

import dataclasses
import logging

import pandas as pd

from .. import YeastzoiError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class GeneInfo:
    """One gene (0-based half-open bp): span, strand, TSS and merged exons."""
    gene_id: str
    gene_name: str
    chrom: str
    start: int
    end: int
    strand: str
    tss: int
    exons: list


def find_gene(genes: pd.DataFrame, exons: dict | None, name: str) -> GeneInfo:
    """The gene whose gene_id or gene_name is ``name`` (case-insensitive; an exact gene_id
    match wins) among :func:`yeastzoi.genome.genes_table` rows; exons from
    :func:`yeastzoi.genome.exons_by_gene` (the gene span when it has none)."""
    key = str(name).upper()
    ids, names = genes["gene_id"].astype(str), genes["gene_name"].astype(str)
    hit = genes[(ids == str(name))]
    if hit.empty:
        hit = genes[(ids.str.upper() == key) | (names.str.upper() == key)]
    if hit.empty:
        raise YeastzoiError(f"gene {name}: not in the annotation (matched against gene_id and gene_name)")
    g = hit.iloc[0]
    ex = (exons or {}).get(g["gene_id"]) or [(int(g["start"]), int(g["end"]))]
    tss = int(g["tss"]) if "tss" in g and pd.notna(g["tss"]) else \
        (int(g["start"]) if g["strand"] != "-" else int(g["end"]) - 1)
    return GeneInfo(str(g["gene_id"]), str(g["gene_name"]), str(g["chrom"]), int(g["start"]), int(g["end"]),
                    str(g["strand"]), tss, [(int(a), int(b)) for a, b in ex])


def load_annotation(gtf_path, genome, biotype: str | None = None) -> tuple[pd.DataFrame, dict]:
    """(genes_table, exons_by_gene) of a GTF/GFF3 with chromosomes renamed to the FASTA's
    (through the aliases; chromosomes not in the FASTA are dropped with a warning);
    ``biotype``: keep only genes of this biotype."""
    from ..genome import exons_by_gene, genes_table, match_chroms, read_gtf

    raw = read_gtf(gtf_path)
    cmap = match_chroms(raw["chrom"].unique(), list(genome.chroms), what="GTF", path=gtf_path, strict=False)
    if cmap.unmatched:
        log.warning("%s: %d chromosome(s) not in the FASTA ignored: %s", gtf_path, len(cmap.unmatched),
                    ", ".join(cmap.unmatched[:8]))
    gtf = read_gtf(gtf_path, chrom_map=dict(cmap))
    genes = genes_table(gtf)
    if biotype:
        genes = genes[genes["gene_biotype"] == biotype]
        if genes.empty:
            raise YeastzoiError(f"{gtf_path}: no gene of biotype {biotype}")
    return genes, exons_by_gene(gtf)
