"""Import any genome (FASTA + optional GTF/GFF3) into a genome folder like R64's.

See :func:`import_genome`; the folder layout is in :mod:`yeastzoi.genome.folder`.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import canonical_chrom, match_chroms
from yeastzoi.genome.annotation import read_gtf
from yeastzoi.genome.fasta import fasta_header_lines, iter_fasta
from yeastzoi.genome.folder import write_genome_dir
from yeastzoi.genome.genes import clip_to_chroms, normalise_annotation
from yeastzoi.genome.r64 import looks_like_r64_chroms

log = logging.getLogger(__name__)


def softmask_runs(seq: str) -> list[tuple[int, int]]:
    """0-based half-open runs of lower-case letters in ``seq``."""
    arr = np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)
    return _runs((arr >= 97) & (arr <= 122))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    if flags.size == 0:
        return []
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def n_runs(seq: str, min_len: int = 1) -> list[tuple[int, int]]:
    """0-based half-open runs of N/n of length >= ``min_len``."""
    arr = np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)
    return [(s, e) for s, e in _runs((arr == 78) | (arr == 110)) if e - s >= min_len]


def _read_records(fasta: Path) -> list[tuple[str, str]]:
    """The FASTA's records; a duplicated name is an error naming both header lines."""
    records = list(iter_fasta(fasta))
    if not records:
        raise YeastzoiError(f"{fasta}: no sequences found; is this a FASTA file?")
    counts = Counter(n for n, _ in records)
    dup = next((n for n, k in counts.items() if k > 1), None)
    if dup is not None:
        lines = fasta_header_lines(fasta)[dup]
        raise YeastzoiError(f"{fasta}:{lines[1]}: sequence name '{dup}' repeats the header at line "
                            f"{lines[0]}; rename or remove one of the two sequences")
    return records


def _new_names(fasta: Path, records, rename) -> dict[str, str]:
    """Original FASTA name → output name (see :func:`import_genome`'s ``rename``)."""
    names = [n for n, _ in records]
    if rename == "auto":
        rename = looks_like_r64_chroms([(n, len(s)) for n, s in records])
    renamed = {n: (canonical_chrom(n) or n) if rename else n for n in names}
    dup = [n for n, k in Counter(renamed.values()).items() if k > 1]
    if dup:
        raise YeastzoiError(f"{fasta}: several sequences map to the same chromosome name {dup[:5]}; "
                            f"remove duplicates or pass rename=False (--keep-names)")
    return renamed


def _import_annotation(path, renamed: dict[str, str], sizes: dict[str, int], manifest: dict):
    """Annotation rows renamed to the output chromosome names and kept inside them, and the
    centromere gap rows it holds."""
    ann = read_gtf(path)
    cmap = match_chroms(ann["chrom"].unique(), list(renamed), what="annotation", reference="FASTA",
                        path=path, strict=False)
    if cmap.unmatched:
        counts = ann[ann["chrom"].isin(cmap.unmatched)]["chrom"].value_counts()
        log.warning("%s: %d annotation chromosome(s) not in the FASTA, their rows dropped: %s",
                    path, len(cmap.unmatched), ", ".join(f"{k} ({v} rows)" for k, v in counts.items()))
        manifest["dropped_annotation_chroms"] = {str(k): int(v) for k, v in counts.items()}
    ann = ann[ann["chrom"].isin(list(cmap))].copy()
    ann["chrom"] = ann["chrom"].map(lambda c: renamed[cmap[c]])
    ann = clip_to_chroms(ann, sizes, path)
    gaps = [(r.chrom, r.start, r.end, r.gene_name or r.gene_id or "centromere")
            for r in ann[ann["feature"] == "centromere"].itertuples(index=False)]
    return normalise_annotation(ann), gaps


def import_genome(fasta, gtf_or_gff3=None, out_dir=None, name: str | None = None,
                  rename: str | bool = "auto", min_gap: int = 50) -> dict[str, Path]:
    """Normalise another genome into a genome folder like :func:`yeastzoi.genome.build_r64`'s.

    ``fasta`` may be gzip-compressed, any line width, soft-masked. Output genome.fa is
    upper-case with 60 bp lines; soft-masked runs go to repeats.bed (name ``softmask``);
    N runs of >= ``min_gap`` bp and annotation centromeres go to gaps.bed. A sequence name
    used twice in the FASTA is an error (naming both header lines) before anything is
    written; the folder is written atomically (:func:`yeastzoi.genome.write_genome_dir`),
    so a failed import leaves none.

    Chromosome names: ``rename="auto"`` maps R64 aliases to chrI … chrXVI/chrmt only when
    the FASTA looks like S. cerevisiae (>= 12 nuclear chromosomes recognised, lengths
    within 25 % of R64's) — so another species' ``chr1`` stays ``chr1``; ``True`` renames
    every recognised name; ``False`` keeps names. Annotation chromosomes are matched to
    the FASTA via :func:`yeastzoi.genome.match_chroms`; annotation rows on chromosomes
    missing from the FASTA are dropped with a warning (counted in genome.json); none
    matching is an error. Annotation rows past their chromosome's end are clipped to it
    (rows starting past it dropped) with a WARNING that counts them
    (:func:`yeastzoi.genome.clip_to_chroms`).

    Returns the paths written (keys of :data:`yeastzoi.genome.GENOME_FILES`; ``gtf`` only
    with an annotation).
    """
    if out_dir is None:
        raise YeastzoiError("import_genome: out_dir is required")
    fasta = Path(fasta)
    if not fasta.is_file():
        raise YeastzoiError(f"{fasta}: FASTA file not found; check the path")
    records = _read_records(fasta)
    renamed = _new_names(fasta, records, rename)
    repeat_rows, gap_rows, out_records = [], [], []
    for n, seq in records:
        new = renamed[n]
        repeat_rows += [(new, s, e, "softmask", ".", ".") for s, e in softmask_runs(seq)]
        gap_rows += [(new, s, e, "N_gap") for s, e in n_runs(seq, min_gap)]
        out_records.append((new, seq.upper()))
    manifest = {
        "name": name or fasta.name.split(".")[0],
        "source": str(fasta),
        "annotation": str(gtf_or_gff3) if gtf_or_gff3 else None,
        "chroms": [n for n, _ in out_records],
        "renamed": {k: v for k, v in renamed.items() if k != v},
        "total_bp": sum(len(s) for _, s in out_records),
        "softmasked_bp": int(sum(e - s for _, s, e, *_ in repeat_rows)),
    }
    gtf: pd.DataFrame | None = None
    if gtf_or_gff3:
        gtf, centromeres = _import_annotation(gtf_or_gff3, renamed, {n: len(s) for n, s in out_records}, manifest)
        gap_rows += centromeres
        manifest["genes"] = int((gtf["feature"] == "gene").sum())
    return write_genome_dir(out_dir, out_records, manifest, gtf=gtf, repeats=repeat_rows, gaps=gap_rows)
