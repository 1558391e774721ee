"""SIMULATED regulatory model: TF sites, occupancy, promoter motif content, expression.

This is the deterministic core of :mod:`yeastzoi.simulate.run` (see its docstring for the
whole generative model). Everything here is a pure function of DNA codes (uint8,
A0 C1 G2 T3 N4), the prepared motifs and a :class:`~yeastzoi.simulate.config.SimConfig`.

Definitions (all coordinates 0-based, half-open):

* Site threshold ``thr_f``: the PWM log-odds score (bits, vs the genome's base
  composition) whose one-strand p-value is ``cfg.site_pvalue``
  (:func:`yeastzoi.genome.motifs.score_pvalue_threshold`). A *site* is a window of the motif's
  length L whose score, the max over both strands, is ≥ ``thr_f`` (palindromes count
  once).
* Sequence affinity ``a(s) = logistic(cfg.occ_slope · (s − thr_f)/(max_f − thr_f)
  − cfg.occ_offset)`` for a site of score s (max_f = best possible score).
* Accessibility ``acc``: ``cfg.acc_ndr`` when the site centre lies in the
  nucleosome-depleted region (the ``cfg.ndr_bp`` bp just upstream of a TSS),
  ``cfg.acc_promoter`` in the rest of the promoter (``cfg.promoter_bp`` bp upstream of a
  TSS), ``cfg.acc_background`` elsewhere.
* Occupancy ``occ = a(s) · acc``.
* Promoter motif content of a gene, ``M[f]`` = Σ occ over the sites of factor f that lie
  entirely inside the gene's promoter (the ``cfg.promoter_bp`` bp upstream of its TSS,
  read 5′→3′ on the gene's strand); accessibility measured from that gene's TSS.
* Expression (log2) of a gene in condition c: ``E = cfg.expr_base + M · W[:, c] + ε``,
  ``W[f, c] = cfg.weights[f] × (cfg.induction_fold if f is induced in c else 1)``,
  ε ~ Normal(0, cfg.expr_noise_sd) drawn once per gene (shared by all conditions).
  The true effect of a variant is therefore exact:
  ``LFC = (M(alt promoter) − M(ref promoter)) · W[:, c]`` (ε cancels).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..genome import motifs as _motifs


@dataclasses.dataclass
class MotifSet:
    """Prepared motifs: log-odds (L, 5) and its reverse complement, thresholds, maxima."""
    names: list
    log_odds: list
    log_odds_rc: list
    thr: np.ndarray       # (F,) site threshold (bits)
    smax: np.ndarray      # (F,) best attainable score (bits)
    lengths: np.ndarray   # (F,) motif lengths (bp)
    weights: np.ndarray   # (F,) designed coefficients (log2 expression per unit occupancy)

    @property
    def n(self) -> int:
        return len(self.names)


def build_motifset(cfg, background: np.ndarray) -> MotifSet:
    """Load ``cfg.factors`` from JASPAR and prepare thresholds for ``background`` (4,)."""
    pwms = _motifs.load_yeast_motifs(cfg.factors, pseudocount=cfg.pseudocount)
    names, los, rcs, thr, smax, lens = [], [], [], [], [], []
    for name, pwm in pwms.items():
        lo = _motifs.pwm_log_odds(pwm, background)
        names.append(name)
        los.append(lo)
        rcs.append(_motifs.revcomp_log_odds(lo))
        thr.append(_motifs.score_pvalue_threshold(lo, background, cfg.site_pvalue))
        smax.append(_motifs.score_bounds(lo)[1])
        lens.append(lo.shape[0])
    return MotifSet(names, los, rcs, np.array(thr), np.array(smax), np.array(lens),
                    np.asarray(cfg.weights, dtype=np.float64))


def affinity(ms: MotifSet, f: int, score: np.ndarray, cfg) -> np.ndarray:
    """Sequence affinity in [0, 1] of windows with ``score`` (bits); 0 below threshold."""
    score = np.asarray(score, dtype=np.float64)
    rel = (score - ms.thr[f]) / max(ms.smax[f] - ms.thr[f], 1e-9)
    a = 1.0 / (1.0 + np.exp(-np.clip(cfg.occ_slope * rel - cfg.occ_offset, -50.0, 50.0)))
    return np.where(score >= ms.thr[f], a, 0.0)


def condition_weights(ms: MotifSet, cfg, n_conditions: int) -> tuple[np.ndarray, list]:
    """W (F, C) and the condition table [(name, induced factor or None)].

    Condition 0 is ``basal``; condition c ≥ 1 induces ``cfg.induced_factors[(c-1) % k]``
    (its weight × ``cfg.induction_fold``).
    """
    W = np.repeat(ms.weights[:, None], n_conditions, axis=1)
    conds = [("basal", None)]
    for c in range(1, n_conditions):
        fac = str(cfg.induced_factors[(c - 1) % len(cfg.induced_factors)]).upper()
        W[ms.names.index(fac), c] *= cfg.induction_fold
        name = f"induce_{fac}" if (c - 1) < len(cfg.induced_factors) else f"induce_{fac}_{c}"
        conds.append((name, fac))
    return W, conds


# ----------------------------------------------------------------------------- promoters
def promoter_codes(chrom_codes: np.ndarray, tss: int, strand: str, P: int) -> np.ndarray:
    """The P bp upstream of ``tss`` read 5′→3′ on the gene's strand, (P,) uint8 codes.

    ``tss``: 0-based position of the first transcribed base. + strand: genome
    [tss−P, tss); − strand: reverse complement of [tss+1, tss+1+P). Positions beyond the
    chromosome are N. Promoter index k ↔ genome ``tss−P+k`` (+) or ``tss+P−k`` (−).
    """
    n = len(chrom_codes)
    lo, hi = (tss - P, tss) if strand == "+" else (tss + 1, tss + 1 + P)
    out = np.full(P, 4, dtype=np.uint8)
    a, b = max(lo, 0), min(hi, n)
    if b > a:
        out[a - lo:b - lo] = chrom_codes[a:b]
    if strand == "-":
        out = np.array([3, 2, 1, 0, 4], dtype=np.uint8)[out[::-1]]
    return out


def promoter_accessibility(P: int, L: int, cfg) -> np.ndarray:
    """Accessibility (P−L+1,) of each window start of a length-L motif in a promoter.

    A window starting at promoter index i has its centre ``i + L/2`` at
    ``P − i − L/2`` bp upstream of the TSS; NDR when that distance ≤ ``cfg.ndr_bp``.
    """
    i = np.arange(P - L + 1)
    dist = P - i - L / 2.0
    return np.where(dist <= cfg.ndr_bp, cfg.acc_ndr, cfg.acc_promoter)


def promoter_sites(prom: np.ndarray, ms: MotifSet, cfg):
    """Per factor: (best score per window (n,), occupancy per window (n,)), over both strands."""
    out = []
    P = len(prom)
    for f in range(ms.n):
        fwd, rev = _motifs.scan_pwm(prom, ms.log_odds[f])
        s = np.maximum(fwd, rev)
        occ = affinity(ms, f, s, cfg) * promoter_accessibility(P, int(ms.lengths[f]), cfg)
        out.append((s, occ))
    return out


def saturate(raw: np.ndarray, cfg) -> np.ndarray:
    """Promoter content from summed occupancy: ``content_cap · tanh(raw / content_cap)``."""
    return cfg.content_cap * np.tanh(np.asarray(raw) / cfg.content_cap)


def promoter_content(prom: np.ndarray, ms: MotifSet, cfg) -> np.ndarray:
    """Motif content M (F,) of one gene-oriented promoter (P,) codes: the saturated Σ
    occupancy per factor (:func:`saturate`)."""
    return saturate(np.array([occ.sum() for _, occ in promoter_sites(prom, ms, cfg)]), cfg)


def expression(M: np.ndarray, W: np.ndarray, noise: np.ndarray, cfg) -> np.ndarray:
    """log2 expression (G, C) = expr_base + M (G, F) @ W (F, C) + noise (G,)[:, None]."""
    return cfg.expr_base + np.asarray(M) @ W + np.asarray(noise)[:, None]


def snv_content_delta(prom: np.ndarray, ms: MotifSet, cfg) -> np.ndarray:
    """Exact change of promoter motif content for every SNV: dM (P, 4, F).

    ``dM[k, b, f]`` = M_f(promoter with base b at index k) − M_f(promoter) (saturated
    contents); zero for the reference base. Only windows covering k change, so this is computed without
    rescanning (an in-silico mutagenesis of the generative model).
    """
    P = len(prom)
    dM = np.zeros((P, 4, ms.n))
    raw = np.zeros(ms.n)
    ref = prom.astype(np.int64)
    for f in range(ms.n):
        L = int(ms.lengths[f])
        nwin = P - L + 1
        if nwin <= 0:
            continue
        fwd, rev = _motifs.scan_pwm(prom, ms.log_odds[f])
        acc = promoter_accessibility(P, L, cfg)
        occ_old = affinity(ms, f, np.maximum(fwd, rev), cfg) * acc
        raw[f] = occ_old.sum()
        k = np.arange(P)[:, None]
        j = np.arange(L)[None, :]
        i = k - j                                   # (P, L) window starts covering k
        valid = (i >= 0) & (i < nwin)
        ic = np.clip(i, 0, nwin - 1)
        lo, lrc = ms.log_odds[f].astype(np.float64), ms.log_odds_rc[f].astype(np.float64)
        rk = ref[:, None]                           # ref base at k
        jj = np.broadcast_to(j, (P, L))
        d_f = lo[jj[..., None], np.arange(4)] - lo[jj, np.broadcast_to(rk, (P, L))][..., None]
        d_r = lrc[jj[..., None], np.arange(4)] - lrc[jj, np.broadcast_to(rk, (P, L))][..., None]
        new = np.maximum(fwd[ic][..., None] + d_f, rev[ic][..., None] + d_r)   # (P, L, 4)
        occ_new = affinity(ms, f, new, cfg) * acc[ic][..., None]
        delta = (occ_new - occ_old[ic][..., None]) * valid[..., None]
        dM[:, :, f] = delta.sum(axis=1)
    return saturate(raw + dM, cfg) - saturate(raw, cfg)


def apply_variant_promoter(chrom_codes: np.ndarray, tss: int, strand: str, P: int,
                           pos: int, ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Gene-oriented promoter (P,) of the ALT allele: the variant (genome + strand,
    0-based ``pos``, codes ``ref`` → ``alt``) is applied, then the P bp upstream of the
    (possibly shifted) TSS are taken. An indel upstream of a + strand TSS moves the TSS by
    ``len(alt) − len(ref)``; for − strand genes the promoter lies right of the TSS."""
    margin = P + 64 + len(ref) + len(alt)
    a = max(0, tss - margin)
    b = min(len(chrom_codes), tss + margin)
    seg = chrom_codes[a:b]
    r0 = pos - a
    seg_alt = np.concatenate([seg[:r0], np.asarray(alt, dtype=np.uint8), seg[r0 + len(ref):]])
    t = tss - a + ((len(alt) - len(ref)) if pos < tss else 0)
    prom = promoter_codes(seg_alt, t, strand, P)
    # N-padding from the segment edge only occurs at real chromosome ends (margin > P)
    return prom


# ----------------------------------------------------------------------------- genome-wide
def accessibility_track(n: int, tss: np.ndarray, strands, cfg) -> np.ndarray:
    """Per-bp accessibility (n,) float32 of a chromosome of n bp: background, raised to
    ``acc_promoter`` over each promoter and ``acc_ndr`` over each NDR (max where
    promoters of several genes overlap)."""
    acc = np.full(n, cfg.acc_background, dtype=np.float32)
    P, D = cfg.promoter_bp, cfg.ndr_bp
    for level, width in ((cfg.acc_promoter, P), (cfg.acc_ndr, D)):
        for t, s in zip(tss, strands):
            lo, hi = (t - width, t) if s == "+" else (t + 1, t + 1 + width)
            lo, hi = max(lo, 0), min(hi, n)
            if hi > lo:
                np.maximum(acc[lo:hi], level, out=acc[lo:hi])
    return acc


def genome_sites(chrom_codes: np.ndarray, acc: np.ndarray, ms: MotifSet, cfg) -> list:
    """All sites of every factor on one chromosome.

    Returns per factor a dict of arrays: ``start`` (window start, bp), ``end``,
    ``score`` (bits, max over strands), ``strand`` ('+' where the + strand scores at
    least as high), ``occ`` (affinity × accessibility at the site centre).
    """
    out = []
    for f in range(ms.n):
        L = int(ms.lengths[f])
        fwd, rev = _motifs.scan_pwm(chrom_codes, ms.log_odds[f])
        s = np.maximum(fwd, rev)
        idx = np.nonzero(s >= ms.thr[f])[0]
        sc = s[idx]
        occ = affinity(ms, f, sc, cfg) * acc[np.minimum(idx + L // 2, len(acc) - 1)]
        out.append({"start": idx, "end": idx + L, "score": sc,
                    "strand": np.where(fwd[idx] >= rev[idx], "+", "-"), "occ": occ})
    return out
