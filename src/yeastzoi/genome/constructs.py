"""The construct builder: a sequence placed into a genomic context, as a model input window.

    codes = construct_codes(genome, "chrI", lo, hi, insert, window_start, 16384, keep="right")

A construct replaces the reference interval [lo, hi) (0-based, bp; ``lo == hi`` is a pure
insertion before base ``lo``) of a chromosome with ``insert`` (uint8 codes A0 C1 G2 T3 N4,
already on the genome's + strand: :func:`oriented_insert` reverse-complements a sequence given
5′→3′ in a − strand context's orientation). The window of ``seq_length`` bp starting at
``window_start`` (reference coordinates) is returned with the edit in place. When the insert
is longer or shorter than the replaced interval, one side of the window stays fixed:

* ``keep="left"``: the window start is kept; bases left of the edit are the reference's at
  their reference positions, the sequence after the edit continues with the genome and is
  cut (or extended) at the right end;
* ``keep="right"``: the window end is kept; bases right of the edit stay at their reference
  positions and the left flank is extended or cut at the left end.

Keep the **gene's side** fixed (:func:`gene_side`: ``right`` for a + strand gene whose
promoter lies left of it, ``left`` for a − strand gene), so the gene's output bins are those
of the unedited window. Bases off the chromosome are N (4).

This one function builds every construct: variant ALT windows and MPRA insertions in
:mod:`yeastzoi.score` (``alt_codes``), and promoter-library records in
:mod:`yeastzoi.data.library`.
"""
from __future__ import annotations

import numpy as np

from .. import YeastzoiError
from .dna import revcomp_codes, seq_to_codes


def oriented_insert(seq: str, strand: str) -> np.ndarray:
    """uint8 codes of ``seq`` (given 5′→3′ in the context's orientation) on the genome's +
    strand: as is for a ``+`` context, reverse-complemented for a ``-`` one."""
    if strand not in ("+", "-"):
        raise YeastzoiError(f"strand {strand!r}: expected + or -")
    codes = seq_to_codes(seq.upper())
    return codes if strand == "+" else revcomp_codes(codes)


def gene_side(strand: str) -> str:
    """The ``keep`` side that holds a gene of ``strand`` fixed when its promoter is edited:
    ``right`` for ``+`` (the gene lies right of its promoter), ``left`` for ``-``."""
    if strand not in ("+", "-"):
        raise YeastzoiError(f"strand {strand!r}: expected + or -")
    return "right" if strand == "+" else "left"


def construct_codes(genome, chrom: str, lo: int, hi: int, insert: np.ndarray, window_start: int,
                    seq_length: int, keep: str = "left") -> np.ndarray:
    """uint8 (seq_length,) codes of the window at ``window_start`` with [lo, hi) replaced by
    ``insert`` (module docstring). ``genome``: anything with ``fetch_codes(chrom, start,
    end)`` (N outside the chromosome), e.g. :class:`yeastzoi.genome.Genome`."""
    lo, hi, start, L = int(lo), int(hi), int(window_start), int(seq_length)
    if hi < lo:
        raise YeastzoiError(f"construct on {chrom}: replaced interval {lo}-{hi} has end < start")
    if keep not in ("left", "right"):
        raise YeastzoiError(f"keep {keep!r}: expected left or right")
    ins = np.asarray(insert, np.uint8)
    end = start + L
    empty = np.zeros(0, np.uint8)
    if keep == "left":
        left = genome.fetch_codes(chrom, start, lo) if lo > start else empty
        if lo < start:                    # the edit starts left of the window
            ins = ins[start - lo:]
        need = L - len(left) - len(ins)
        right = genome.fetch_codes(chrom, hi, hi + max(need, 0))
        return np.concatenate([left, ins, right])[:L]
    right = genome.fetch_codes(chrom, hi, end) if hi < end else empty
    if hi > end:                          # the edit ends right of the window
        ins = ins[:max(len(ins) - (hi - end), 0)]
    need = L - len(right) - len(ins)
    left = genome.fetch_codes(chrom, lo - max(need, 0), lo)
    return np.concatenate([left, ins, right])[-L:]


__all__ = ["oriented_insert", "gene_side", "construct_codes"]
