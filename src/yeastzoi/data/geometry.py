"""Output-bin geometry: the one mapping from a model window to its target bins, and from a
gene to the bins it owns. Evaluation, gene-level variant scoring, sequence edits,
prediction files and promoter-library records (:mod:`yeastzoi.data.library`) all use these
functions (they live in ``data/`` so that dataset builders can; :mod:`yeastzoi.model.geometry`
re-exports them). All coordinates are bp, 0-based half-open.

Window → target bins
--------------------
A model takes ``seq_length`` bp starting at the window start ``ws`` and returns
``target_length`` bins of ``pool_width`` bp that cover the central
``span = target_length · pool_width`` bp; ``offset = (seq_length − span) / 2`` bp (the model
metadata's ``crop_bp``) are cropped on each side. Bin b covers
``[ws + offset + b·pool_width, ws + offset + (b+1)·pool_width)`` (:meth:`Geometry.target_bins`).

Gene → its bins (:meth:`Geometry.gene_bins`)
--------------------------------------------
A gene owns the bins of a window that overlap **any of its exons by at least 1 bp**, each
bin once (exons merged over transcripts; genes without exon rows use their CDS or span).
Why ≥ 1 bp rather than a majority (≥ 50 %) of exon cover: every exon inside the target
region contributes at least one bin, so a short exon, or one straddling a bin edge, is never
dropped (with ≥ 50 % a gene whose exons are all short can own no bin at all and cannot be
scored); the bin holding a splice junction or a transcript end does carry exon reads; and
it is the rule of the baskerville/Borzoi gene slices Shorkie's gene-level numbers use. The
cost, a little intronic/intergenic signal in the edge bins, is the same for the reference
and the alternative prediction (it cancels in SED) and for prediction and target (it does
not bias the gene-level R).

Window placement conventions
----------------------------
* variant windows (:func:`variant_window_start`): the variant's first REF base at index
  ``seq_length // 2 − 1`` (baskerville's convention);
* centred windows (:func:`centred_window_start`): the window centred on a region
  (``(start + end) // 2 − seq_length // 2``; prediction of BED regions, conservation
  chunks, attention);
* tiling (:func:`tile_region`): output bins of consecutive windows join without gap or
  overlap; the input of the first window of a chromosome starts at ``−offset`` (N-padded).
* gene windows for scoring (:func:`gene_window_start`): the variant (or edit) inside the
  input and the gene's exon span inside the output region.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import YeastzoiError


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Window geometry from model metadata (all bp except ``target_length``, in bins)."""
    seq_length: int
    target_length: int
    pool_width: int

    @property
    def span(self) -> int:
        """bp covered by one window's output bins."""
        return self.target_length * self.pool_width

    @property
    def offset(self) -> int:
        """bp from the window's input start to its first output bin (the crop)."""
        return (self.seq_length - self.span) // 2

    @classmethod
    def from_meta(cls, meta: dict) -> "Geometry":
        try:
            S, L, p = int(meta["seq_length"]), int(meta["target_length"]), int(meta["pool_width"])
        except (KeyError, TypeError, ValueError):
            raise YeastzoiError("model metadata lacks seq_length/target_length/pool_width; "
                                "this needs a yeastzoi model (or a meta dict with them)") from None
        geo = cls(S, L, p)
        if p < 1 or L < 1 or geo.span > S or (S - geo.span) % 2:
            raise YeastzoiError(f"model metadata: {L} bins × {p} bp do not sit centred in "
                                f"{S} bp of input; the output must be a symmetric crop")
        crop = meta.get("crop_bp")
        if crop is not None and int(crop) != geo.offset:
            raise YeastzoiError(f"model metadata: crop_bp {crop} disagrees with seq_length {S} − "
                                f"{L} bins × {p} bp (= 2 × {geo.offset}); fix the model metadata")
        return geo

    # ------------------------------------------------------------------ the mapping
    def target_bins(self, window_start: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) bp of the ``target_length`` output bins of the window at ``window_start``."""
        s = int(window_start) + self.offset + np.arange(self.target_length, dtype=np.int64) * self.pool_width
        return s, s + self.pool_width

    def bins_overlapping(self, window_start: int, lo: int, hi: int) -> np.ndarray:
        """bool (target_length,): output bins overlapping [lo, hi) by at least 1 bp."""
        s, e = self.target_bins(window_start)
        return (s < hi) & (e > lo)

    def gene_bins(self, window_start: int, exons) -> np.ndarray:
        """Sorted bin indices of the window owned by a gene with ``exons`` [(start, end), ...]:
        every bin overlapping an exon by at least 1 bp (module docstring: the rule and why)."""
        mask = np.zeros(self.target_length, bool)
        for a, b in exons:
            mask |= self.bins_overlapping(window_start, int(a), int(b))
        return np.flatnonzero(mask)

    def gene_mask(self, window_start: int, exons) -> np.ndarray:
        """:meth:`gene_bins` as a bool mask (target_length,)."""
        mask = np.zeros(self.target_length, bool)
        mask[self.gene_bins(window_start, exons)] = True
        return mask


# ----------------------------------------------------------------------------- placement
def variant_window_start(pos0: int, seq_length: int) -> int:
    """Window start that puts 0-based position ``pos0`` at index ``seq_length // 2 − 1``."""
    return int(pos0) - (int(seq_length) // 2 - 1)


def centred_window_start(start: int, end: int, seq_length: int) -> int:
    """Start of the ``seq_length`` window centred on [start, end)."""
    return (int(start) + int(end)) // 2 - int(seq_length) // 2


def gene_window_start(pos0: int, gene_lo: int, gene_hi: int, geo: Geometry) -> tuple[int, bool]:
    """Window start so that position ``pos0`` lies in the input window and the gene span
    [gene_lo, gene_hi) in the output region: the variant window when it already fits, else
    the nearest start that does. Returns (start, fits); when nothing fits, the start
    centring the gene's output as far as the variant allows, and False."""
    L, crop, R = geo.seq_length, geo.offset, geo.span
    s0 = variant_window_start(pos0, L)
    lo_v, hi_v = pos0 - L + 1, pos0                    # variant inside the input window
    lo_g, hi_g = gene_hi - R - crop, gene_lo - crop     # gene inside the output region
    lo, hi = max(lo_v, lo_g), min(hi_v, hi_g)
    if lo <= hi:
        return int(min(max(s0, lo), hi)), True
    centre = (gene_lo + gene_hi) // 2 - crop - R // 2
    return int(min(max(centre, lo_v), hi_v)), False


# ----------------------------------------------------------------------------- tiling
@dataclasses.dataclass(frozen=True)
class Window:
    """One model input window and the bins of its output that are kept.

    ``start``: input start (bp, may be < 0 or run past the chromosome end);
    ``first_bin``/``n_bins``: kept output bins; ``end``: genomic end of the kept bins (the
    last one may be clipped here); ``padded``: the input runs off the chromosome
    (N-padded); ``region``: index of the region the window belongs to.
    """
    chrom: str
    start: int
    out_start: int
    first_bin: int
    n_bins: int
    end: int
    padded: bool
    region: int = 0

    def bin_bounds(self, geo: Geometry) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) bp of the kept bins (:meth:`Geometry.target_bins`); the last end is
        clipped to :attr:`end`."""
        s, e = geo.target_bins(self.start)
        sl = slice(self.first_bin, self.first_bin + self.n_bins)
        return s[sl], np.minimum(e[sl], self.end)


def _check_on_chrom(chrom: str, chrom_len: int, start: int, end: int) -> None:
    if not 0 <= start < end <= chrom_len:
        raise YeastzoiError(f"region {chrom}:{start}-{end} is not inside {chrom} (0-{chrom_len}); "
                            f"regions are 0-based half-open and must satisfy 0 <= start < end <= "
                            f"chromosome length")


def tile_region(chrom: str, chrom_len: int, start: int, end: int, geo: Geometry,
                region: int = 0) -> list[Window]:
    """Windows whose central outputs cover [start, end) of ``chrom`` once, bins from ``start``
    (window k predicts bins k·target_length …; its input starts at ``start + k·span −
    offset``). The last bin is clipped to ``end``; bins past it are dropped."""
    start, end, chrom_len = int(start), int(end), int(chrom_len)
    _check_on_chrom(chrom, chrom_len, start, end)
    n_total = -(-(end - start) // geo.pool_width)
    out = []
    for k, b0 in enumerate(range(0, n_total, geo.target_length)):
        in_start = start + k * geo.span - geo.offset
        out.append(Window(chrom, in_start, in_start + geo.offset, 0, min(geo.target_length, n_total - b0),
                          end, in_start < 0 or in_start + geo.seq_length > chrom_len, region))
    return out


def centred_window(chrom: str, chrom_len: int, start: int, end: int, geo: Geometry,
                   region: int = 0) -> Window:
    """The window centred on [start, end) (all its output bins kept)."""
    start, end, chrom_len = int(start), int(end), int(chrom_len)
    _check_on_chrom(chrom, chrom_len, start, end)
    in_start = centred_window_start(start, end, geo.seq_length)
    out_start = in_start + geo.offset
    return Window(chrom, in_start, out_start, 0, geo.target_length, out_start + geo.span,
                  in_start < 0 or in_start + geo.seq_length > chrom_len, region)
