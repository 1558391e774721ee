"""Repeats of a genome for corpus QC: DUST low complexity, and the three repeat components.

* ``annotated`` = bp in a repeats BED (R64 genome folders: the GenBank LTR, mobile_element,
  telomere and repeat_region features; imported folders: the FASTA's soft-masked runs);
* ``softmask`` = lower-case bases of the FASTA itself;
* ``dust`` = low-complexity bases from :func:`dust_mask`;
* their union. Each is a fraction of the genome's bp (N included), bases counted once.
"""
from __future__ import annotations

import numpy as np

from yeastzoi.genome.regions import intervals_by_chrom

DUST_WINDOW = 64
DUST_LEVEL = 20


def dust_scores(codes: np.ndarray, window: int = DUST_WINDOW) -> np.ndarray:
    """DUST-like low-complexity score of every ``window``-bp window (float32, one per start).

    Score = Σ_t c_t (c_t − 1) / 2 / (l − 1) over the 64 DNA triplets t, c_t = count of t
    among the window's l = window − 2 overlapping triplets (triplets containing N are not
    counted). Random sequence scores ≈ 0.5; a homopolymer scores l / 2 = 31.
    Returns an empty array for sequences shorter than ``window``.
    """
    codes = np.asarray(codes, np.uint8)
    n = len(codes)
    if n < window:
        return np.zeros(0, np.float32)
    c = codes.astype(np.int16)
    bad = (c[:-2] > 3) | (c[1:-1] > 3) | (c[2:] > 3)
    trip = c[:-2] * 16 + c[1:-1] * 4 + c[2:]
    trip[bad] = 64
    l = window - 2
    nwin = n - window + 1
    acc = np.zeros(nwin, np.int32)
    cs = np.zeros(len(trip) + 1, np.int32)
    for t in range(64):  # one running count per triplet: 64 contiguous passes
        np.cumsum(trip == t, out=cs[1:])
        cnt = cs[l:l + nwin] - cs[:nwin]
        acc += cnt * (cnt - 1)
    return (acc / (2.0 * (l - 1))).astype(np.float32)


def dust_mask(codes: np.ndarray, window: int = DUST_WINDOW, level: float = DUST_LEVEL) -> np.ndarray:
    """bool mask of low-complexity bases: every base of every ``window``-bp window whose
    :func:`dust_scores` exceeds ``level / 10`` (dustmasker/sdust's default level 20 → a score
    above 2.0, four times that of random sequence). Simpler than sdust (which trims each
    window to its best-scoring sub-window), so it over-masks by up to ``window`` bp at the
    edges of a low-complexity run."""
    codes = np.asarray(codes, np.uint8)
    n = len(codes)
    mask = np.zeros(n, bool)
    s = dust_scores(codes, window)
    hit = np.flatnonzero(s > level / 10.0)
    if len(hit):
        d = np.zeros(n + 1, np.int32)
        np.add.at(d, hit, 1)
        np.add.at(d, hit + window, -1)
        mask = np.cumsum(d[:n]) > 0
    return mask


def repeat_fractions(raw: dict[str, np.ndarray], codes: dict[str, np.ndarray], repeats=None,
                     dust_window: int = DUST_WINDOW, dust_level: float = DUST_LEVEL) -> dict[str, float]:
    """The repeat components of a genome as fractions of its length.

    ``raw``: chromosome → ASCII bytes (uint8, case kept); ``codes``: the same as codes
    A0 C1 G2 T3 N4; ``repeats``: a BED DataFrame (chrom, start, end) already named as the
    FASTA, or None. Returns repeat_annotated_frac, repeat_softmask_frac, repeat_dust_frac,
    repeat_frac (the union)."""
    rep_iv = intervals_by_chrom(repeats) if repeats is not None and len(repeats) else {}
    total = sum(len(a) for a in raw.values())
    annot_bp = soft_bp = dust_bp = union_bp = 0
    for c, a in raw.items():
        n = len(a)
        soft = (a >= 97) & (a <= 122)
        m_ann = np.zeros(n, bool)
        for s, e in rep_iv.get(c, np.zeros((0, 2), np.int64)):
            m_ann[max(0, s):min(n, e)] = True
        m_dust = dust_mask(codes[c], dust_window, dust_level)
        annot_bp += int(m_ann.sum())
        soft_bp += int(soft.sum())
        dust_bp += int(m_dust.sum())
        union_bp += int((m_ann | m_dust | soft).sum())
    frac = (lambda bp: bp / total) if total else (lambda bp: float("nan"))  # noqa: E731
    return {"repeat_annotated_frac": frac(annot_bp), "repeat_softmask_frac": frac(soft_bp),
            "repeat_dust_frac": frac(dust_bp), "repeat_frac": frac(union_bp)}
