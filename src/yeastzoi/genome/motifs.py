"""Transcription-factor motifs: JASPAR loading and position-weight-matrix scanning.

Conventions
-----------
* A PWM is a float array of shape (L, 4): per motif position, the probabilities of
  A, C, G, T (rows sum to 1).
* A log-odds matrix is float32 (L, 5): ``log2(p / background)`` for A, C, G, T plus a
  fifth column for N (code 4) holding :data:`N_SCORE`, a large negative number, so that
  any window that touches an N scores far below every threshold.
* Sequences are uint8 codes (A0 C1 G2 T3 N4, see :mod:`yeastzoi.genome.dna`).
* Scan results are indexed by window start: ``fwd[i]`` is the score of
  ``codes[i:i+L]`` read on the + strand, ``rev[i]`` the score of the reverse complement
  of the same L bp (a site on the − strand occupying the same 0-based half-open
  interval ``[i, i+L)``). Both have length ``len(codes) - L + 1``.

The motif database is JASPAR as shipped offline by the PyPI package ``pyjaspar``;
*S. cerevisiae* is NCBI taxon 4932.
"""
from __future__ import annotations

import logging
import re

import numpy as np

from .. import YeastzoiError

log = logging.getLogger(__name__)

#: Taxon id of Saccharomyces cerevisiae in JASPAR.
YEAST_TAX_ID = "4932"
#: Score contribution of an N base: far below any real log-odds total.
N_SCORE = -1.0e4

_DB = None


def _jaspar():
    global _DB
    if _DB is None:
        try:
            from pyjaspar import jaspardb
        except ImportError as err:  # pragma: no cover - dependency of the package
            raise YeastzoiError("pyjaspar is not installed; install it with `pip install pyjaspar`") from err
        _DB = jaspardb()
    return _DB


def _version(matrix_id: str) -> int:
    m = re.search(r"\.(\d+)$", matrix_id)
    return int(m.group(1)) if m else 0


def counts_to_pwm(counts: np.ndarray, pseudocount: float = 0.5) -> np.ndarray:
    """Count matrix (L, 4) → probability PWM (L, 4); ``pseudocount`` is added per base
    (in counts) so that no probability is zero."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != 4:
        raise YeastzoiError(f"count matrix must have shape (L, 4), got {counts.shape}")
    counts = counts + pseudocount
    return counts / counts.sum(axis=1, keepdims=True)


def load_yeast_motifs(names, pseudocount: float = 0.5) -> dict[str, np.ndarray]:
    """Load S. cerevisiae JASPAR motifs by factor name (case-insensitive).

    Returns ``{NAME: pwm}`` in the order of ``names``; each pwm is float64 (L, 4)
    probabilities (A, C, G, T) built from the JASPAR counts plus ``pseudocount`` per base.
    When a factor has several yeast matrices the newest version is used (ties: the
    lowest matrix id). Raises :class:`YeastzoiError` naming any factor without a yeast
    matrix.
    """
    db = _jaspar()
    out: dict[str, np.ndarray] = {}
    for name in names:
        key = str(name).upper()
        found = [m for m in db.fetch_motifs_by_name(key)
                 if YEAST_TAX_ID in [str(s) for s in (m.species or [])] and m.name.upper() == key]
        if not found:
            raise YeastzoiError(f"JASPAR ({db.release}) has no S. cerevisiae (taxon {YEAST_TAX_ID}) motif named "
                                f"{name!r}; check the spelling or pick another factor")
        found.sort(key=lambda m: (-_version(m.matrix_id), m.matrix_id))
        m = found[0]
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T
        out[key] = counts_to_pwm(counts, pseudocount)
        log.debug("motif %s: %s, length %d", key, m.matrix_id, len(counts))
    return out


def motif_ids(names) -> dict[str, str]:
    """Factor name → JASPAR matrix id used by :func:`load_yeast_motifs`."""
    db = _jaspar()
    out = {}
    for name in names:
        key = str(name).upper()
        found = [m for m in db.fetch_motifs_by_name(key)
                 if YEAST_TAX_ID in [str(s) for s in (m.species or [])] and m.name.upper() == key]
        found.sort(key=lambda m: (-_version(m.matrix_id), m.matrix_id))
        out[key] = found[0].matrix_id if found else None
    return out


def background_from_codes(codes: np.ndarray) -> np.ndarray:
    """Base composition (4,) of A, C, G, T in uint8 codes (N ignored), summing to 1."""
    counts = np.bincount(np.asarray(codes, dtype=np.uint8).ravel(), minlength=5)[:4].astype(np.float64)
    if counts.sum() == 0:
        raise YeastzoiError("cannot estimate a background from a sequence of only N")
    return counts / counts.sum()


def pwm_log_odds(pwm: np.ndarray, background=None) -> np.ndarray:
    """Log-odds matrix float32 (L, 5) = log2(pwm / background); column 4 (N) = N_SCORE.

    ``background``: (4,) A, C, G, T frequencies (default uniform 0.25 each).
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    if pwm.ndim != 2 or pwm.shape[1] != 4 or np.any(pwm <= 0):
        raise YeastzoiError(f"PWM must be (L, 4) strictly positive probabilities, got shape {pwm.shape}")
    lo = np.empty((pwm.shape[0], 5), dtype=np.float32)
    lo[:, :4] = np.log2(pwm / bg[None, :])
    lo[:, 4] = N_SCORE
    return lo


def revcomp_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """Log-odds (L, 5) of the reverse-complement motif: scanning it along the + strand
    scores the − strand."""
    lo = np.asarray(log_odds)
    out = lo[::-1].copy()
    out[:, :4] = out[:, 3::-1]
    return out


def score_bounds(log_odds: np.ndarray) -> tuple[float, float]:
    """(min, max) attainable score over ACGT windows (N excluded)."""
    lo = np.asarray(log_odds)[:, :4]
    return float(lo.min(axis=1).sum()), float(lo.max(axis=1).sum())


def relative_score(score, log_odds: np.ndarray):
    """Map raw log-odds scores to [0, 1]: (score − min) / (max − min)."""
    lo, hi = score_bounds(log_odds)
    return (np.asarray(score, dtype=np.float64) - lo) / (hi - lo)


def _scan_one(codes: np.ndarray, lo: np.ndarray) -> np.ndarray:
    length = lo.shape[0]
    n = codes.shape[-1] - length + 1
    out = np.zeros(codes.shape[:-1] + (max(n, 0),), dtype=np.float32)
    if n <= 0:
        return out
    for j in range(length):
        out += lo[j][codes[..., j:j + n]]
    return out


def scan_pwm(codes: np.ndarray, log_odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score every window of ``codes`` (..., n) on both strands.

    Returns ``(fwd, rev)``, float32 arrays (..., n − L + 1) indexed by window start (see
    the module docstring). A window containing N scores ≤ ``N_SCORE`` + max.
    """
    codes = np.asarray(codes)
    if codes.dtype != np.uint8:
        codes = codes.astype(np.uint8)
    lo = np.asarray(log_odds, dtype=np.float32)
    if lo.ndim != 2 or lo.shape[1] != 5:
        raise YeastzoiError(f"log-odds matrix must be (L, 5) from pwm_log_odds, got {lo.shape}")
    return _scan_one(codes, lo), _scan_one(codes, revcomp_log_odds(lo))


def consensus(pwm: np.ndarray) -> str:
    """Most probable base at each position."""
    return "".join("ACGT"[i] for i in np.asarray(pwm).argmax(axis=1))


def score_pvalue_threshold(log_odds: np.ndarray, background=None, pvalue: float = 1e-4,
                           resolution: float = 0.01) -> float:
    """Score threshold (bits) whose one-strand p-value is at most ``pvalue`` for a random
    sequence of independent bases drawn from ``background`` (4,) (default uniform).

    The null distribution is built exactly on a grid of ``resolution`` bits by
    convolving the per-position score distributions; the lowest attained score s with
    P(score ≥ s) ≤ ``pvalue`` is returned, lowered by L·resolution/2 (the largest rounding
    error of the grid). If even the best match is more frequent than ``pvalue`` the best
    score is returned.
    """
    lo = np.asarray(log_odds, dtype=np.float64)[:, :4]
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    ints = np.round(lo / resolution).astype(np.int64)
    offset = ints.min(axis=1)
    dist = np.ones(1)
    for row, off in zip(ints, offset):
        step = np.zeros(row.max() - off + 1)
        np.add.at(step, row - off, bg)
        dist = np.convolve(dist, step)
    tail = np.cumsum(dist[::-1])[::-1]             # tail[k] = P(score_index >= k)
    ok = np.nonzero((tail <= pvalue * (1 + 1e-9)) & (dist > 0))[0]
    k = ok[0] if len(ok) else len(dist) - 1
    # the lowest attained grid score passing the p-value, lowered by the worst rounding
    # error of a sum of L rounded terms so that windows attaining it are not lost
    return float((k + offset.sum()) * resolution - 0.5 * resolution * len(ints))
