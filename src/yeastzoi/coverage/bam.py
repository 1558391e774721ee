"""BAM → per-base coverage: one pass over the records, counted by why each was used or skipped.

Coordinates are 0-based, half-open. Coverage arrays are per base pair (one value per bp
of the chromosome), float32, *raw* (untransformed) read mass; the transform that turns
them into training targets is :mod:`yeastzoi.coverage.transform`. BAM chromosome names
are matched to the reference's through aliases (:func:`yeastzoi.coverage.map_chroms`).

Library types (``library=``) and fragments
------------------------------------------
A *fragment* is one sequenced molecule: a single-end read, or the two mates of a pair
(flag 0x1; read 1 = flag 0x40, read 2 = flag 0x80). Single-end reads are treated as
read 1 of their fragment, so every library type applies to them unchanged.

* ``fr-firststrand`` (dUTP, Illumina TruSeq stranded, read 1 antisense): the fragment's
  (transcript's) strand is read 1's alignment strand flipped; read 2 lies on the
  fragment's strand as aligned. A single-end read's strand is flipped.
* ``fr-secondstrand`` (ligation / read 1 sense): the fragment's strand is read 1's
  alignment strand; read 2's strand is flipped. Single-end reads: as aligned.
* ``unstranded``: both strands kept; a strand filter is an error.
* ``None`` (the default, kept for old callers): every record is a read of its own, on
  its own alignment strand; mates of a pair land on opposite strands, so a strand filter
  splits each fragment between the two tracks (a WARNING says so on paired data).

With a library type, ``strand="+"`` keeps the fragments of ``+``-strand transcripts, and
both mates of a fragment always go to the same track.

Modes (``mode=``)
-----------------
* ``"5p"``: one count at a 5′ end, moved ``shift`` bp (genome bp) toward the read's 3′
  end. With a library type, only read 1 (or a single-end read) gives a 5′ end — one count
  per fragment; read 2 is counted as ``other_mate``. Without one, every record counts.
* ``"all"`` (RNA-seq read mass): each fragment carries mass 1. A read (single-end, or a
  mate whose partner is unmapped, flag 0x8) spreads its mass 1 evenly over its aligned
  bases; with a library type, each mate of a pair whose two mates are mapped carries 0.5,
  spread over its own aligned bases (so a fragment whose two mates pass the filters sums
  to 1; one filtered mate leaves 0.5). Without a library type every record carries 1.
* ``"depth"``: per-base read depth: each record adds its weight (1, or 1/NH) to every
  base of its aligned blocks; two overlapping mates both count where they overlap. This
  is deeptools' ``bamCoverage --binSize 1 --normalizeUsing None`` (no extension).
* ``"center"`` (MNase dyads; paired-end only): one count per proper pair (flag 0x2) at
  the fragment centre ``left + |TLEN| // 2``, where ``left`` is the leftmost mate's first
  aligned base (for even lengths: the right base of the middle pair). The leftmost mate
  (TLEN > 0; read 1 when both start together) is used, the other is ``other_mate``.
  deeptools' ``--MNase`` marks 2 bases ``[centre - 1, centre + 1)`` for even lengths.

Aligned blocks are CIGAR M/=/X runs: skipped regions (N, introns) and deletions (D) are
never covered (as in bamCoverage 3.5). Fragment length ``|TLEN|`` bounds
(``min_fragment``/``max_fragment``, inclusive, as bamCoverage's) need read pairs; records
that are not paired are ``unpaired``, pairs with TLEN 0 (mate unmapped or on another
chromosome) ``improper_pair``. Fragment centres and fragment-length bounds on a BAM with
no read pairs in its first 10,000 records are a one-line error.

Records always skipped: unmapped (0x4), secondary (0x100), supplementary (0x800: the
primary record of a chimeric read already counts once), QC-fail (0x200); duplicates
(0x400) unless ``skip_duplicates=False``. Multi-mappers (NH > 1) are skipped or weighted
1/NH. The counts say how many records each rule removed.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from yeastzoi import YeastzoiError
from yeastzoi.coverage.chroms import map_chroms, preview_names
from yeastzoi.coverage.library import LIBRARY_TYPES, MODES, check_coverage_options, warn_pairs

log = logging.getLogger(__name__)

#: Reasons a BAM record can be skipped, in the order they are tested.
SKIP_REASONS = ("unmapped", "secondary", "supplementary", "qc_fail", "duplicate",
                "low_mapq", "multimapper", "other_strand", "unpaired", "improper_pair",
                "fragment_length", "other_mate", "unknown_chrom", "no_aligned_bases", "off_chrom")
#: (flag bit, reason) of the records always skipped, tested first in this order.
_FLAG_SKIPS = ((0x4, "unmapped"), (0x100, "secondary"), (0x800, "supplementary"), (0x200, "qc_fail"))

@dataclasses.dataclass
class CoverageResult:
    """Result of :func:`bam_to_coverage`.

    coverage: chromosome (reference name) → float32 array of shape (chromosome length,),
        raw per-base coverage (read mass per bp).
    counts: reason → number of BAM records: ``records`` (all seen), ``used``,
        ``weighted_multimappers`` (used with weight 1/NH), ``paired`` (records with flag
        0x1) and one entry per skip reason in :data:`SKIP_REASONS` (zero entries included).
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
                    multimap: str = "skip", min_mapq: int = 0, library: str | None = None,
                    min_fragment: int = 0, max_fragment: int = 0,
                    progress=None) -> CoverageResult:
    """Per-base coverage from a BAM file (modes, library types and fragments: see the
    module docstring).

    Args:
        bam_path: BAM (or SAM/CRAM readable by pysam); it need not be indexed, records
            are read once from start to end.
        chrom_sizes: reference chromosome name → length (bp). BAM reference names are
            matched to these through aliases (``I`` ↔ ``chrI``); records on BAM
            references with no match are counted as ``unknown_chrom``.
        mode: one of :data:`MODES`. ``"5p"``: one count at the 5′ end (forward reads:
            first aligned base; reverse: last) moved ``shift`` bp toward the 3′ end;
            positions moved off the chromosome are dropped (``off_chrom``). ``"all"``:
            mass spread over the aligned bases; blocks past the chromosome end are cut
            (``off_chrom``, in-range mass kept). ``"depth"``: per-base depth.
            ``"center"``: fragment centres of proper pairs.
        shift: bp, only for mode "5p" (may be negative).
        strand: None keeps both strands; ``"+"``/``"-"`` keeps one. With a library type
            it is the fragment's (transcript's) strand; without one (``library=None``)
            each record's own alignment strand.
        skip_duplicates: skip records flagged as PCR/optical duplicates (0x400).
        multimap: ``"skip"`` drops records with NH > 1; ``"weight"`` keeps them with
            weight 1/NH (records without an NH tag have weight 1).
        min_mapq: records with mapping quality below this are skipped (``low_mapq``).
        library: None (each record by itself) or one of :data:`LIBRARY_TYPES`; mode
            ``"center"`` without one means ``"unstranded"``.
        min_fragment, max_fragment: inclusive ``|TLEN|`` bounds in bp (0: no bound);
            paired-end only.
        progress: optional callable(n) called with the number of records read since its
            last call (every 65,536 records and at the end), e.g. ``tqdm.update``.

    Returns:
        CoverageResult: float32 (chromosome length,) per chromosome of ``chrom_sizes``
        (zeros where the BAM has no reads) and counts per reason.
    """
    library = check_coverage_options(mode, strand, library, shift, multimap, min_fragment,
                                     max_fragment, bam_path)
    bam_path = Path(bam_path)
    names = list(chrom_sizes)
    sizes = np.array([int(chrom_sizes[c]) for c in names], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    genome_len = int(offsets[-1])
    scan = _Scan(mode, shift, strand, skip_duplicates, multimap, min_mapq, library,
                 min_fragment, max_fragment)
    with open_bam(bam_path) as bam:
        tid_off, tid_len = _reference_layout(bam, bam_path, names, sizes, offsets)
        scan.run(bam, tid_off, tid_len, progress)
    flat = scan.flat_coverage(genome_len)
    coverage = {c: flat[offsets[i]:offsets[i + 1]].astype(np.float32) for i, c in enumerate(names)}
    counts = scan.counts
    log.info("%s: %d records, %d used; skipped %s", bam_path, counts["records"], counts["used"],
             ", ".join(f"{k} {counts[k]}" for k in SKIP_REASONS if counts[k]) or "none")
    warn_pairs(bam_path, counts, mode, strand, library)
    return CoverageResult(coverage=coverage, counts=counts)


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
    and the placed read mass (5p/center: genome offsets and weights; all/depth: block spans)."""

    def __init__(self, mode, shift, strand, skip_duplicates, multimap, min_mapq, library,
                 min_fragment, max_fragment):
        self.mode, self.shift, self.min_mapq = mode, shift, min_mapq
        self.skip_duplicates, self.weighted = skip_duplicates, multimap == "weight"
        self.keep_rev = None if strand is None else int(strand == "-")
        # fragment strand bit = own reverse bit ^ (read-2 bit if fragments) ^ flip
        self.fragments = library is not None
        self.r2_flip = 1 if self.fragments else 0
        self.flip = 1 if library == "fr-firststrand" else 0
        self.half_mates = self.fragments and mode == "all"
        self.r2_other = self.fragments and mode == "5p"
        self.pair_checks = mode == "center" or bool(min_fragment or max_fragment)
        self.min_frag, self.max_frag = min_fragment, max_fragment
        self.counts = dict.fromkeys(("records", "used", "weighted_multimappers", "paired")
                                    + SKIP_REASONS, 0)
        self.pos, self.w = [], []                   # 5p/center: genome offset, weight
        self.st, self.en, self.bw = [], [], []      # all/depth: block genome start/end, weight per base

    def run(self, bam, tid_off, tid_len, progress) -> None:
        n_rec = n_paired = 0
        counts = self.counts
        for read in bam.fetch(until_eof=True):
            n_rec += 1
            if progress is not None and not n_rec & 0xFFFF:
                progress(0x10000)
            if read.flag & 1:
                n_paired += 1
            w = self.weight(read)
            if w is None:
                continue
            off = tid_off[read.reference_id]
            if off < 0:
                counts["unknown_chrom"] += 1
                continue
            if self.place(read, off, tid_len[read.reference_id], w):
                counts["used"] += 1
        counts["records"], counts["paired"] = n_rec, n_paired
        if progress is not None and n_rec & 0xFFFF:
            progress(n_rec & 0xFFFF)

    def weight(self, read) -> float | None:
        """The record's weight (1, 1/NH for weighted multi-mappers, half that for a mate in
        mode 'all' with a library type), None when skipped (the reason counted)."""
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
        if self.keep_rev is not None and (
                ((flag >> 4) ^ ((flag >> 7) & self.r2_flip) ^ self.flip) & 1) != self.keep_rev:
            self.counts["other_strand"] += 1
            return None
        if self.pair_checks and not self.pair_ok(read, flag):
            return None
        if flag & 1:
            if self.r2_other and flag & 0x80:
                self.counts["other_mate"] += 1
                return None
            if self.half_mates and not flag & 0x8:
                w *= 0.5
        return w

    def pair_ok(self, read, flag) -> bool:
        """Fragment checks (mode center, fragment length bounds); False counts the reason."""
        if not flag & 1:
            self.counts["unpaired"] += 1
            return False
        tlen = read.template_length
        center = self.mode == "center"
        if tlen == 0 or flag & 0x8 or (center and not flag & 0x2):
            self.counts["improper_pair"] += 1
            return False
        tlen = abs(tlen)
        if tlen < self.min_frag or (self.max_frag and tlen > self.max_frag):
            self.counts["fragment_length"] += 1
            return False
        if center and ((flag & 0x80) if read.reference_start == read.next_reference_start
                       else read.template_length < 0):
            self.counts["other_mate"] += 1
            return False
        return True

    def place(self, read, off: int, length: int, w: float) -> bool:
        """Record the read's mass; False when nothing of it lands (the reason counted)."""
        mode = self.mode
        if mode == "5p" or mode == "center":
            if mode == "center":
                p = read.reference_start + abs(read.template_length) // 2
            elif read.flag & 0x10:
                p = read.reference_end - 1 - self.shift
            else:
                p = read.reference_start + self.shift
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
        wb, cut = (w / nb if mode == "all" else w), False
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
        if self.mode in ("5p", "center"):
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
