"""Reference and alternative window sequences of a variant (base codes).

Alternative sequences (``stitch``): the ALT allele replaces the REF bases; for indels the
window is re-filled from the genome so that it stays ``seq_length`` long:

* ``left`` (default): the window start is kept; the sequence after the allele continues
  with the genome and is cut (insertion) or extended (deletion) at the right end, so the
  left flank and every output bin left of the variant stay aligned with the reference;
* ``right``: the window end is kept; the left flank is extended/cut at the left end, so
  the right flank and bins right of the variant stay aligned.

Bases off a chromosome end are N. The window is built by the one construct builder,
:func:`yeastzoi.genome.constructs.construct_codes` (``stitch`` is its ``keep`` side). Window placement: :mod:`yeastzoi.model.geometry`.
"""
from __future__ import annotations

import numpy as np

from ..genome.constructs import construct_codes
from ..genome.dna import seq_to_codes


def ref_codes(genome, chrom: str, start: int, seq_length: int) -> np.ndarray:
    """Codes (seq_length,) of the reference window starting at ``start``."""
    return genome.fetch_codes(chrom, start, start + seq_length)


def alt_codes(genome, variant, start: int, seq_length: int, stitch: str = "left") -> np.ndarray:
    """Codes (seq_length,) of the window starting at ``start`` with ALT replacing REF
    (stitching as in the module docstring; the one construct builder
    :func:`yeastzoi.genome.constructs.construct_codes`)."""
    v0 = variant.start
    return construct_codes(genome, variant.chrom, v0, v0 + len(variant.ref), seq_to_codes(variant.alt),
                           start, seq_length, keep=stitch)
