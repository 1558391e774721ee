"""BAM → per-base coverage: one pass over the records, counted by why each was used or skipped.

Coordinates are 0-based, half-open. Coverage arrays are per base pair (one value per bp
of the chromosome), float32, *raw* (untransformed) read mass; the transform that turns
them into training targets is :mod:`yeastzoi.coverage.transform`. BAM chromosome names
are matched to the reference's through aliases (:func:`yeastzoi.coverage.map_chroms`).
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from yeastzoi import YeastzoiError
from yeastzoi.coverage.chroms import map_chroms, preview_names

log = logging.getLogger(__name__)

#: Reasons a BAM record can be skipped, in the order they are tested.
SKIP_REASONS = ("unmapped", "secondary", "supplementary", "qc_fail", "duplicate",
                "low_mapq", "multimapper", "other_strand", "unknown_chrom",
                "no_aligned_bases", "off_chrom")
#: (flag bit, reason) of the records always skipped, tested first in this order.
_FLAG_SKIPS = ((0x4, "unmapped"), (0x100, "secondary"), (0x800, "supplementary"), (0x200, "qc_fail"))

@dataclasses.dataclass
class CoverageResult:
    """Result of :func:`bam_to_coverage`.

    coverage: chromosome (reference name) → float32 array of shape (chromosome length,),
        raw per-base coverage (read mass per bp).
    counts: reason → number of BAM records: ``records`` (all seen), ``used``,
        ``weighted_multimappers`` (used with weight 1/NH) and one entry per skip reason
        in :data:`SKIP_REASONS` (zero entries included).
    """
    coverage: dict
    counts: dict

    @property
    def total(self) -> float:
        """Total read mass placed on the chromosomes (float)."""
        return float(sum(float(v.sum(dtype=np.float64)) for v in self.coverage.values()))


# ----------------------------------------------------------------------------- BAM
def bam_to_coverage(bam_path, chrom_sizes: dict, mode: str = "5p", shift: int = 0,
                    strand: str | None = None, skip_duplicates: bool = True,
                    multimap: str = "skip", min_mapq: int = 0,
                    progress=None) -> CoverageResult:
    """Per-base coverage from a BAM file.

    Args:
        bam_path: BAM (or SAM/CRAM readable by pysam); it need not be indexed, records
            are read once from start to end.
        chrom_sizes: reference chromosome name → length (bp). BAM reference names are
            matched to these through aliases (``I`` ↔ ``chrI``); records on BAM
            references with no match are counted as ``unknown_chrom``.
        mode: ``"5p"``: each read adds its weight at one base, its 5′ end (forward
            reads: first aligned base; reverse reads: last aligned base), moved
            ``shift`` bp toward the read's 3′ direction (e.g. half the fragment length
            for ChIP-exo / MNase fragment centres). Positions moved off the chromosome
            are dropped and counted as ``off_chrom``.
            ``"all"``: each read adds total mass = its weight, spread evenly over its
            aligned bases (CIGAR M/=/X); skipped regions (N, introns) and deletions (D)
            get nothing (RNA-seq, spliced reads). Blocks past the chromosome end are
            cut (the read is counted ``off_chrom`` but its in-range mass is kept).
        shift: bp, only for mode "5p" (may be negative).
        strand: None keeps both strands; ``"+"`` keeps forward reads, ``"-"`` reverse
            reads. The read strand is the alignment strand of each record; for stranded
            libraries from :mod:`yeastzoi.simulate.run` the read strand equals the
            transcript strand (for dUTP libraries sequenced as read 1, flip it).
            Each BAM record counts as one read (paired mates count separately).
        skip_duplicates: skip records flagged as PCR/optical duplicates (0x400).
        multimap: ``"skip"`` drops records with NH > 1; ``"weight"`` keeps them with
            weight 1/NH (records without an NH tag have weight 1).
        min_mapq: records with mapping quality below this are skipped (``low_mapq``).
        progress: optional callable(n) called with the number of records read since its
            last call (every 65,536 records and at the end), e.g. ``tqdm.update``.

    Unmapped (0x4), secondary (0x100), supplementary (0x800) and QC-fail (0x200)
    records are always skipped.

    Returns:
        CoverageResult: float32 (chromosome length,) per chromosome of ``chrom_sizes``
        (zeros where the BAM has no reads) and counts per reason.
    """
    _check_options(mode, strand, multimap, shift)
    bam_path = Path(bam_path)
    names = list(chrom_sizes)
    sizes = np.array([int(chrom_sizes[c]) for c in names], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    genome_len = int(offsets[-1])
    scan = _Scan(mode, shift, strand, skip_duplicates, multimap, min_mapq)
    with open_bam(bam_path) as bam:
        tid_off, tid_len = _reference_layout(bam, bam_path, names, sizes, offsets)
        scan.run(bam, tid_off, tid_len, progress)
    flat = scan.flat_coverage(genome_len)
    coverage = {c: flat[offsets[i]:offsets[i + 1]].astype(np.float32) for i, c in enumerate(names)}
    counts = scan.counts
    log.info("%s: %d records, %d used; skipped %s", bam_path, counts["records"], counts["used"],
             ", ".join(f"{k} {counts[k]}" for k in SKIP_REASONS if counts[k]) or "none")
    return CoverageResult(coverage=coverage, counts=counts)


def _check_options(mode, strand, multimap, shift) -> None:
    if mode not in ("5p", "all"):
        raise YeastzoiError(f"coverage mode {mode!r} is not one of '5p', 'all'")
    if strand not in (None, "+", "-"):
        raise YeastzoiError(f"strand {strand!r} is not one of None, '+', '-'")
    if multimap not in ("skip", "weight"):
        raise YeastzoiError(f"multimap {multimap!r} is not one of 'skip', 'weight'")
    if mode == "all" and shift:
        raise YeastzoiError("a shift only applies to mode '5p'; drop --shift for mode 'all'")


def _reference_layout(bam, bam_path, names, sizes, offsets) -> tuple[list[int], list[int]]:
    """Per BAM reference id: its offset in the flat genome array and its reference length
    (-1 for references matching no reference chromosome); logs length mismatches."""
    refs = list(bam.references)
    mapping = map_chroms(refs, names, what="BAM", path=bam_path) if refs else {}
    ref_index = {c: i for i, c in enumerate(names)}
    tid_idx = [ref_index[mapping[r]] if mapping.get(r) is not None else -1 for r in refs]
    for r, n, length in zip(refs, tid_idx, bam.lengths):
        if n >= 0 and int(length) != int(sizes[n]):
            log.warning("%s: BAM chromosome %s is %d bp but reference %s is %d bp; "
                        "positions past the reference end are dropped",
                        bam_path, r, length, names[n], sizes[n])
    unmatched = [r for r, n in zip(refs, tid_idx) if n < 0]
    if unmatched:
        log.warning("%s: %d BAM chromosome(s) match no reference name; their reads are "
                    "skipped: %s", bam_path, len(unmatched), preview_names(unmatched))
    return ([int(offsets[i]) if i >= 0 else -1 for i in tid_idx],
            [int(sizes[i]) if i >= 0 else -1 for i in tid_idx])


class _Scan:
    """One pass over a BAM's records: the filters of :func:`bam_to_coverage`, the counts,
    and the placed read mass (5p: genome offsets and weights; all: block spans)."""

    def __init__(self, mode, shift, strand, skip_duplicates, multimap, min_mapq):
        self.mode, self.shift, self.min_mapq = mode, shift, min_mapq
        self.skip_duplicates, self.weighted = skip_duplicates, multimap == "weight"
        self.keep_rev = None if strand is None else (strand == "-")
        self.counts = dict.fromkeys(("records", "used", "weighted_multimappers") + SKIP_REASONS, 0)
        self.pos, self.w = [], []                   # 5p: genome offset, weight
        self.st, self.en, self.bw = [], [], []      # all: block genome start/end, weight per base

    def run(self, bam, tid_off, tid_len, progress) -> None:
        n_rec = 0
        counts = self.counts
        for read in bam.fetch(until_eof=True):
            n_rec += 1
            if progress is not None and not n_rec & 0xFFFF:
                progress(0x10000)
            w = self.weight(read)
            if w is None:
                continue
            off = tid_off[read.reference_id]
            if off < 0:
                counts["unknown_chrom"] += 1
                continue
            if self.place(read, off, tid_len[read.reference_id], w):
                counts["used"] += 1
        counts["records"] = n_rec
        if progress is not None and n_rec & 0xFFFF:
            progress(n_rec & 0xFFFF)

    def weight(self, read) -> float | None:
        """The read's weight (1, or 1/NH for weighted multi-mappers), None when skipped
        (the reason counted)."""
        flag = read.flag
        for bit, reason in _FLAG_SKIPS:
            if flag & bit:
                self.counts[reason] += 1
                return None
        if self.skip_duplicates and flag & 0x400:
            self.counts["duplicate"] += 1
            return None
        if self.min_mapq and read.mapping_quality < self.min_mapq:
            self.counts["low_mapq"] += 1
            return None
        w = 1.0
        if read.has_tag("NH"):
            nh = read.get_tag("NH")
            if nh > 1:
                if not self.weighted:
                    self.counts["multimapper"] += 1
                    return None
                w = 1.0 / nh
                self.counts["weighted_multimappers"] += 1
        if self.keep_rev is not None and bool(flag & 0x10) != self.keep_rev:
            self.counts["other_strand"] += 1
            return None
        return w

    def place(self, read, off: int, length: int, w: float) -> bool:
        """Record the read's mass; False when nothing of it lands (the reason counted)."""
        if self.mode == "5p":
            p = read.reference_end - 1 - self.shift if read.flag & 0x10 else read.reference_start + self.shift
            if p < 0 or p >= length:
                self.counts["off_chrom"] += 1
                return False
            self.pos.append(off + p)
            self.w.append(w)
            return True
        blocks = read.get_blocks()
        nb = 0
        for s, e in blocks:
            nb += e - s
        if nb == 0:
            self.counts["no_aligned_bases"] += 1
            return False
        wb, cut = w / nb, False
        st, en, bw = self.st, self.en, self.bw
        for s, e in blocks:
            if e > length:
                cut, e = True, length
            if e > s:
                st.append(off + s)
                en.append(off + e)
                bw.append(wb)
        if cut:
            self.counts["off_chrom"] += 1
        return True

    def flat_coverage(self, genome_len: int) -> np.ndarray:
        """float64 (genome_len,) coverage over the concatenated chromosomes."""
        if self.mode == "5p":
            pos = np.asarray(self.pos, dtype=np.int64)
            return np.bincount(pos, weights=np.asarray(self.w, dtype=np.float64), minlength=genome_len)
        st = np.asarray(self.st, dtype=np.int64)
        en = np.asarray(self.en, dtype=np.int64)
        wb = np.asarray(self.bw, dtype=np.float64)
        diff = (np.bincount(st, weights=wb, minlength=genome_len + 1)
                - np.bincount(en, weights=wb, minlength=genome_len + 1))
        flat = np.cumsum(diff)[:genome_len]
        # exact zeros where no block covers a base (removes floating-point residue)
        depth = np.cumsum(np.bincount(st, minlength=genome_len + 1)
                          - np.bincount(en, minlength=genome_len + 1))[:genome_len]
        flat[depth == 0] = 0.0
        np.maximum(flat, 0.0, out=flat)
        return flat


def open_bam(bam_path):
    """Open a BAM/SAM/CRAM with pysam; YeastzoiError (no htslib noise) when it cannot be read."""
    import pysam

    bam_path = Path(bam_path)
    if not bam_path.exists():
        raise YeastzoiError(f"{bam_path}: no such BAM file")
    verbosity = pysam.set_verbosity(0)
    try:
        return pysam.AlignmentFile(str(bam_path), "r" if bam_path.suffix == ".sam" else "rb")
    except (ValueError, OSError) as e:
        raise YeastzoiError(f"{bam_path}: cannot be read as BAM ({e}); give a BAM file") from None
    finally:
        pysam.set_verbosity(verbosity)


def count_bam_records(bam_path) -> int | None:
    """Number of records from the BAM index (mapped + unmapped), or None without an index.

    Raises YeastzoiError when the file is missing or not a BAM.
    """
    with open_bam(bam_path) as bam:
        try:
            if not bam.has_index():
                return None
            return int(sum(s.total for s in bam.get_index_statistics()) + bam.nocoordinate)
        except (ValueError, OSError, AttributeError):
            return None
