"""Reference and alternative window sequences of a variant (base codes).

Alternative sequences (``stitch``): the ALT allele replaces the REF bases; for indels the
window is re-filled from the genome so that it stays ``seq_length`` long:

* ``left`` (default): the window start is kept; the sequence after the allele continues
  with the genome and is cut (insertion) or extended (deletion) at the right end, so the
  left flank and every output bin left of the variant stay aligned with the reference;
* ``right``: the window end is kept; the left flank is extended/cut at the left end, so
  the right flank and bins right of the variant stay aligned.

Bases off a chromosome end are N. Window placement: :mod:`yeastzoi.model.geometry`.
"""
from __future__ import annotations

import numpy as np

from ..genome.dna import seq_to_codes


def ref_codes(genome, chrom: str, start: int, seq_length: int) -> np.ndarray:
    """Codes (seq_length,) of the reference window starting at ``start``."""
    return genome.fetch_codes(chrom, start, start + seq_length)


def alt_codes(genome, variant, start: int, seq_length: int, stitch: str = "left") -> np.ndarray:
    """Codes (seq_length,) of the window starting at ``start`` with ALT replacing REF
    (stitching as in the module docstring)."""
    chrom, v0 = variant.chrom, variant.start
    alt = seq_to_codes(variant.alt)
    after = v0 + len(variant.ref)
    end = start + seq_length
    if stitch == "left":
        left = genome.fetch_codes(chrom, start, v0)[max(0, start - v0):] if v0 > start else np.zeros(0, np.uint8)
        if v0 < start:  # variant starts left of the window (cluster windows never do)
            alt = alt[start - v0:]
        need = seq_length - len(left) - len(alt)
        right = genome.fetch_codes(chrom, after, after + max(need, 0))
        seq = np.concatenate([left, alt, right])[:seq_length]
    else:
        right = genome.fetch_codes(chrom, after, end) if after < end else np.zeros(0, np.uint8)
        need = seq_length - len(right) - len(alt)
        left = genome.fetch_codes(chrom, v0 - max(need, 0), v0)
        seq = np.concatenate([left, alt, right])[-seq_length:]
    return seq
