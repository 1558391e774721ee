"""Scoring variants on a strain's haplotype (``--background VARIANTS.vcf --sample NAME``).

The strain is built from the background VCF (:func:`yeastzoi.genome.apply_vcf`, into a
temporary folder) and every scored variant, given in REFERENCE coordinates, is moved into the
strain through its coordinate map. The reference and the alternative sequence of a scored
variant are both the strain's window, so the strain's other variants in the window are present
in both; only the scored allele differs. Genes are lifted the same way (gene-level scoring).

Rules:

* a scored variant whose REF bases all map to strain bases, contiguously, and equal the
  strain's bases there is scored at the lifted position;
* otherwise it is not scored and is listed (``background_skipped.tsv``: the reason
  ``deleted in the strain`` — a REF base the strain lacks or an insertion inside the REF
  span — or ``the strain carries another allele`` — the strain's own variant overlaps it;
  score such a variant against the reference, without ``--background``);
* results report the variants in reference coordinates, as given.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Background:
    name: str
    genome: object           # yeastzoi.genome.Genome of the strain
    cmap: object             # yeastzoi.genome.CoordMap reference -> strain
    counts: dict             # records applied etc. (genome.json "applied")


@contextlib.contextmanager
def strain_background(fasta, vcf, sample: str | None, het: str = "ref"):
    """Yield a :class:`Background`: the strain ``sample`` of ``vcf`` built on the reference
    FASTA in a temporary folder (removed afterwards)."""
    from ..genome import Genome, apply_vcf, strain_map

    if sample is None:
        raise YeastzoiError("--background needs --sample NAME (the strain whose haplotype carries the variants)")
    with tempfile.TemporaryDirectory(prefix="yeastzoi-background-") as tmp:
        res = apply_vcf(fasta, vcf, tmp, samples=[sample], het=het)
        folder = Path(tmp) / sample
        with Genome(folder / "genome.fa") as g:
            bg = Background(sample, g, strain_map(folder), res[sample]["applied"])
            log.info("background: strain %s from %s (%d records applied)", sample, vcf, bg.counts["applied"])
            yield bg


def lift_variants(variants, bg: Background) -> tuple[list, list, pd.DataFrame]:
    """(lifted variants in strain coordinates, indices of the scored input variants, table of
    the skipped ones: id, chrom, pos, ref, alt, reason)."""
    lifted, kept, skipped = [], [], []
    for i, v in enumerate(variants):
        q = bg.cmap.to_strain(v.chrom, np.arange(v.start, v.start + len(v.ref)))
        reason = None
        if (q < 0).any() or (len(q) > 1 and (np.diff(q) != 1).any()):
            reason = "deleted in the strain"
        elif not _same(bg.genome.fetch(v.chrom, int(q[0]), int(q[0]) + len(v.ref)), v.ref):
            reason = "the strain carries another allele"
        if reason:
            skipped.append((v.id, v.chrom, v.pos, v.ref, v.alt, reason))
            continue
        lifted.append(dataclasses.replace(v, pos=int(q[0]) + 1, info={**v.info, "reference_pos": v.pos}))
        kept.append(i)
    table = pd.DataFrame(skipped, columns=["id", "chrom", "pos", "ref", "alt", "reason"])
    if len(table):
        log.warning("background %s: %d of %d variants not scored (%s); listed in background_skipped.tsv",
                    bg.name, len(table), len(variants),
                    ", ".join(f"{n} {r}" for r, n in table["reason"].value_counts().items()))
    if not lifted:
        raise YeastzoiError(f"background {bg.name}: none of the {len(variants)} variants can be placed on the "
                            "strain's haplotype (deleted there, or the strain carries another allele)")
    return lifted, kept, table


def _same(a: str, b: str) -> bool:
    return len(a) == len(b) and all(x == y or x == "N" or y == "N" for x, y in zip(a.upper(), b.upper()))


def lift_genes(genes: pd.DataFrame, exons: dict, bg: Background) -> tuple[pd.DataFrame, dict]:
    """A gene table and its exons ({gene_id: [(start, end)]}) in strain coordinates."""
    genes, _ = bg.cmap.lift_intervals(genes)
    chrom_of = dict(zip(genes["gene_id"], genes["chrom"]))
    out = {}
    for gid, ex in exons.items():
        c = chrom_of.get(gid)
        if c is None or not ex:
            out[gid] = ex
            continue
        s, e, _ = bg.cmap.lift_interval_arrays(c, [a for a, _ in ex], [b for _, b in ex])
        out[gid] = list(zip(s.tolist(), e.tolist()))
    return genes, out


__all__ = ["Background", "strain_background", "lift_variants", "lift_genes"]
