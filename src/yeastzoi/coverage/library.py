"""Library types: the option rules of :func:`yeastzoi.coverage.bam_to_coverage` (modes,
library types, read-pair checks; semantics in :mod:`yeastzoi.coverage.bam`) and the
library-type check for stranded RNA-seq: the sense fraction of reads over annotated genes.

Each usable record (primary, mapped, not QC-fail or duplicate, mapping quality at least
``min_mapq``) gives its *read-1 strand*: its own alignment strand for read 1 and for
single-end reads, flipped for read 2 (so both mates of a fragment agree). A record is
informative when its first aligned base lies inside a gene on exactly one strand (gene
spans from :func:`yeastzoi.genome.genes_table`; places where genes on both strands overlap
are skipped). The *sense fraction* is the share of informative records whose read-1
strand is the gene's strand:

* ≤ :data:`FIRSTSTRAND_MAX` (0.2) → ``fr-firststrand`` (dUTP: read 1 antisense);
* ≥ :data:`SECONDSTRAND_MIN` (0.8) → ``fr-secondstrand`` (read 1 sense);
* within :data:`UNSTRANDED_BAND` (0.35–0.65) → ``unstranded``;
* otherwise, or with fewer than ``min_reads`` informative records: undecided (None).
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.coverage.chroms import map_chroms

log = logging.getLogger(__name__)

#: Coverage modes of :func:`~yeastzoi.coverage.bam_to_coverage`.
MODES = ("5p", "all", "depth", "center")
#: Library types (see :mod:`yeastzoi.coverage.bam`).
LIBRARY_TYPES = ("unstranded", "fr-firststrand", "fr-secondstrand")
#: Records read to decide whether a BAM has read pairs at all.
PAIR_PEEK = 10_000

FIRSTSTRAND_MAX = 0.2
SECONDSTRAND_MIN = 0.8
UNSTRANDED_BAND = (0.35, 0.65)
_SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800


def check_coverage_options(mode: str, strand: str | None = None, library: str | None = None,
                           shift: int = 0, multimap: str = "skip", min_fragment: int = 0,
                           max_fragment: int = 0, bam_path=None) -> str | None:
    """Validate :func:`bam_to_coverage` options (a one-line YeastzoiError for bad ones) and
    return the library type to use (mode ``"center"`` without one: ``"unstranded"``).
    With ``bam_path``, options that need read pairs (mode center, fragment length bounds)
    also check that the BAM's first :data:`PAIR_PEEK` records include a pair."""
    if mode not in MODES:
        raise YeastzoiError(f"coverage mode {mode!r} is not one of {', '.join(map(repr, MODES))}")
    if strand not in (None, "+", "-"):
        raise YeastzoiError(f"strand {strand!r} is not one of None, '+', '-'")
    if multimap not in ("skip", "weight"):
        raise YeastzoiError(f"multimap {multimap!r} is not one of 'skip', 'weight'")
    if mode != "5p" and shift:
        raise YeastzoiError(f"a shift only applies to mode '5p'; drop --shift for mode {mode!r}")
    if library is not None and library not in LIBRARY_TYPES:
        raise YeastzoiError(f"library type {library!r} is not one of {', '.join(LIBRARY_TYPES)}")
    if mode == "center" and library is None:
        if strand is not None:
            raise YeastzoiError("a strand for mode 'center' needs a stranded library type "
                                "(fr-firststrand or fr-secondstrand)")
        library = "unstranded"
    if library == "unstranded" and strand is not None:
        raise YeastzoiError("an unstranded library has no transcript strand: drop the strand "
                            "filter, or name the stranded type (fr-firststrand for dUTP)")
    if min_fragment < 0 or max_fragment < 0 or (max_fragment and min_fragment > max_fragment):
        raise YeastzoiError(f"fragment length bounds {min_fragment}..{max_fragment} bp are not "
                            "0 <= min <= max (0: no bound)")
    if bam_path is not None and (mode == "center" or min_fragment or max_fragment):
        _require_pairs(Path(bam_path), "mode 'center'" if mode == "center" else "a fragment length bound")
    return library


def _require_pairs(bam_path, what: str) -> None:
    """YeastzoiError when none of the BAM's first :data:`PAIR_PEEK` records is paired."""
    from yeastzoi.coverage.bam import open_bam

    with open_bam(bam_path) as bam:
        for n, read in enumerate(bam.fetch(until_eof=True)):
            if read.flag & 1:
                return
            if n + 1 >= PAIR_PEEK:
                break
    raise YeastzoiError(f"{bam_path}: no read pairs (SAM flag 0x1) in its first records, but "
                        f"{what} needs paired-end reads; for single-end reads use mode '5p' "
                        "with shift = half the fragment length")


def warn_pairs(bam_path, counts, mode, strand, library) -> None:
    """Log how pairs were treated: a WARNING when paired records were counted without a
    library type (per-alignment strand, or 2 per fragment); INFO for single-end reads
    under a stranded type."""
    paired = counts["paired"]
    if not paired:
        if library in LIBRARY_TYPES[1:] and counts["used"]:
            log.info("%s: single-end reads: each is read 1 of its fragment (%s: strand %s)",
                     bam_path, library, "flipped" if library == "fr-firststrand" else "as aligned")
        return
    if library is None and strand is not None:
        log.warning("%s: %d records are mates of read pairs, but the strand filter uses each "
                    "record's own alignment strand: the two mates of a fragment lie on opposite "
                    "strands, so each fragment is split between the + and - tracks; give a "
                    "library type (fr-firststrand for dUTP) instead", bam_path, paired)
    elif library is None and mode in ("5p", "all"):
        log.warning("%s: %d records are mates of read pairs, each counted as a read of its own "
                    "(2 per fragment); give a library type to count fragments", bam_path, paired)


@dataclasses.dataclass
class LibraryCheck:
    """Result of :func:`infer_library`.

    reads: informative records (inside genes of one strand); sense: those whose read-1
    strand is the gene's strand; paired: records seen with flag 0x1; scanned: records
    read; library: the inferred type (:data:`yeastzoi.coverage.LIBRARY_TYPES`) or None.
    """
    bam: str
    reads: int
    sense: int
    paired: int
    scanned: int
    library: str | None

    @property
    def sense_fraction(self) -> float:
        """Share of informative records on the gene's strand (NaN without any)."""
        return self.sense / self.reads if self.reads else float("nan")

    def describe(self) -> str:
        """One line: sense fraction, evidence and the inferred type."""
        kind = "paired-end" if self.paired else "single-end"
        frac = f"{self.sense_fraction:.3f}" if self.reads else "n/a"
        return (f"{self.bam}: read-1 sense fraction {frac} over {self.reads} {kind} records "
                f"in genes → {self.library or 'undecided'}")

    def agrees(self, library: str) -> bool:
        """False when the data point to a different type than ``library`` (undecided: True)."""
        return self.library is None or self.library == library


def classify_sense_fraction(fraction: float) -> str | None:
    """Library type for a read-1 sense fraction (thresholds in the module docstring)."""
    if not np.isfinite(fraction):
        return None
    if fraction <= FIRSTSTRAND_MAX:
        return "fr-firststrand"
    if fraction >= SECONDSTRAND_MIN:
        return "fr-secondstrand"
    if UNSTRANDED_BAND[0] <= fraction <= UNSTRANDED_BAND[1]:
        return "unstranded"
    return None


def _strand_spans(genes: pd.DataFrame) -> dict:
    """chrom → {'+': (starts, ends), '-': (starts, ends)} of merged gene spans (int64)."""
    from yeastzoi.genome.regions import merge_intervals

    out: dict = {}
    for (chrom, strand), grp in genes.groupby(["chrom", "strand"], sort=False):
        if strand not in ("+", "-"):
            continue
        m = merge_intervals(grp[["start", "end"]].to_numpy(np.int64))
        out.setdefault(chrom, {})[strand] = (m[:, 0], m[:, 1])
    return out


def _inside(spans, pos: np.ndarray) -> np.ndarray:
    if spans is None:
        return np.zeros(len(pos), bool)
    starts, ends = spans
    i = np.searchsorted(starts, pos, side="right") - 1
    return (i >= 0) & (pos < ends[np.maximum(i, 0)])


def infer_library(bam_path, annotation, max_reads: int = 200_000, min_reads: int = 50,
                  min_mapq: int = 0) -> LibraryCheck:
    """Measure the read-1 sense fraction of a BAM over annotated genes (module docstring).

    Args:
        bam_path: BAM read from its start (no index needed) until ``max_reads``
            informative records were found or the file ends.
        annotation: GTF/GFF3 path, or a :func:`yeastzoi.genome.read_gtf` table; BAM
            chromosome names are matched to its names by alias (``I`` ↔ ``chrI``).
        max_reads: stop once at least this many informative records were found (checked
            every 65,536 collected records, so a few more may be used).
        min_reads: fewer informative records than this leave the type undecided.
        min_mapq: records below this mapping quality are not used.

    Returns:
        LibraryCheck (``library`` None when undecided).
    """
    from yeastzoi.coverage.bam import open_bam
    from yeastzoi.genome import genes_table, read_gtf

    table = annotation if isinstance(annotation, pd.DataFrame) else read_gtf(annotation)
    genes = genes_table(table)
    if genes.empty:
        raise YeastzoiError(f"{annotation if not isinstance(annotation, pd.DataFrame) else 'annotation'}: "
                            "no genes to measure the library type over; give a GTF/GFF3 with gene rows")
    spans = _strand_spans(genes)
    bam_path = Path(bam_path)
    tids, pos, r1rev = [], [], []
    n_rec = n_paired = 0
    with open_bam(bam_path) as bam:
        refs = list(bam.references)
        mapping = map_chroms(refs, list(spans), what="BAM", path=bam_path) if refs else {}
        tid_spans = [spans.get(mapping.get(r)) if mapping.get(r) else None for r in refs]
        for read in bam.fetch(until_eof=True):
            n_rec += 1
            flag = read.flag
            if flag & 1:
                n_paired += 1
            if flag & _SKIP_FLAGS or read.mapping_quality < min_mapq:
                continue
            tid = read.reference_id
            if tid_spans[tid] is None:
                continue
            tids.append(tid)
            pos.append(read.reference_start)
            r1rev.append(((flag >> 4) ^ (flag >> 7)) & 1)
            if (not len(pos) & 0xFFFF or len(pos) == max_reads) and len(pos) >= max_reads \
                    and _count(tids, pos, r1rev, tid_spans)[0] >= max_reads:
                break
    reads, sense = _count(tids, pos, r1rev, tid_spans)
    fraction = sense / reads if reads else float("nan")
    library = classify_sense_fraction(fraction) if reads >= min_reads else None
    return LibraryCheck(bam=str(bam_path), reads=reads, sense=sense, paired=n_paired,
                        scanned=n_rec, library=library)


def _count(tids, pos, r1rev, tid_spans) -> tuple[int, int]:
    """(informative, sense) records among those collected."""
    tids = np.asarray(tids, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64)
    rev = np.asarray(r1rev, dtype=bool)
    reads = sense = 0
    for tid in np.unique(tids):
        sel = tids == tid
        p, r = pos[sel], rev[sel]
        in_plus = _inside(tid_spans[tid].get("+"), p)
        in_minus = _inside(tid_spans[tid].get("-"), p)
        only = in_plus ^ in_minus
        reads += int(only.sum())
        sense += int((only & (in_plus & ~r | in_minus & r)).sum())
    return reads, sense
