"""Regions to interpret: named regions from a region string, a BED file or a gene; the model
input centred on a region; TSV output.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path
from ..genome import parse_region
from ..model.geometry import centred_window_start
from ..model.predictor import as_predictor
from ..score.genes import find_gene


def safe_name(text: str) -> str:
    """A file-name-safe version of a region or gene name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "region"


def named_regions(genome, region: str | None = None, bed=None, gene: str | None = None,
                  gtf_df: pd.DataFrame | None = None, flank: int = 0) -> list[tuple[str, str, int, int]]:
    """(name, chrom, start, end) regions from exactly one of: ``region`` ("chrom:start-end"),
    ``bed`` (path; the name column when present, else chrom_start_end), ``gene`` (a gene
    name or id in ``gtf_df``, its span ± ``flank`` bp clipped to the chromosome). Chromosome
    names are resolved to the FASTA's; regions must lie on their chromosome."""
    from ..genome import exons_by_gene, genes_table, read_bed

    given = [x is not None for x in (region, bed, gene)]
    if sum(given) != 1:
        raise YeastzoiError("give exactly one of a region, a BED file or a gene")
    out = []
    if region is not None:
        c, s, e = parse_region(region)
        out.append((None, c, s, e))
    elif bed is not None:
        df = read_bed(bed)
        if df.empty:
            raise YeastzoiError(f"{bed}: no regions")
        for r in df.itertuples(index=False):
            out.append((getattr(r, "name", None), r.chrom, int(r.start), int(r.end)))
    else:
        if gtf_df is None:
            raise YeastzoiError("--gene needs an annotation (--gtf)")
        g = find_gene(genes_table(gtf_df), exons_by_gene(gtf_df), gene)
        chrom = genome.resolve(g.chrom)
        s, e = max(0, int(g.start) - flank), min(genome.chroms[chrom], int(g.end) + flank)
        out.append((str(g.gene_name or g.gene_id), chrom, s, e))
    res = []
    for name, c, s, e in out:
        c = genome.resolve(c)
        size = genome.chroms[c]
        if not 0 <= s < e <= size:
            raise YeastzoiError(f"region {c}:{s}-{e} runs off {c} (length {size} bp); regions are "
                                f"0-based half-open with 0 <= start < end <= {size}")
        res.append((safe_name(name or f"{c}_{s}_{e}"), c, s, e))
    names = [r[0] for r in res]
    if len(set(names)) != len(names):
        res = [(f"{n}_{c}_{s}_{e}", c, s, e) for n, c, s, e in res]
    return res


def write_tsv(df: pd.DataFrame, path, float_format: str = "%.6g") -> None:
    """Write a DataFrame as a tab-separated file (no index), atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format)


def centred_input(model, genome, chrom: str, start: int, end: int) -> tuple[np.ndarray, int]:
    """(x (1, seq_length, F), window_start): the model input of the window centred on
    [start, end) (:func:`yeastzoi.model.geometry.centred_window_start`), N-padded past the
    chromosome ends, built by :meth:`Predictor.encode` (the predictor's species channel; no
    mask)."""
    pred = as_predictor(model)
    chrom = genome.resolve(chrom)
    w0 = centred_window_start(start, end, pred.seq_length)
    return pred.encode(genome.fetch_codes(chrom, w0, w0 + pred.seq_length))[None], w0
