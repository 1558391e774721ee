"""Variant-effect statistics of reference/alternative predictions, and their reduction
across the models of an ensemble.

Statistics (per track t; ``ref``/``alt`` are the predicted bins b of the read-out region)
------------------------------------------------------------------------------------------
* ``SAD``    = Σ_b alt[b, t] − Σ_b ref[b, t]      over all output bins of the window
* ``logSAD`` = log2(Σ_b alt + 1) − log2(Σ_b ref + 1)   over all output bins
* ``SED``    = Σ_b alt − Σ_b ref                   over the *effect bins* only
* ``logSED`` = log2(Σ_b alt + 1) − log2(Σ_b ref + 1)   over the effect bins
* ``D1``     = mean_b |alt − ref|                  over all output bins
* ``D2``     = sqrt(mean_b (alt − ref)²)           over all output bins
* ``JS``     = Jensen–Shannon divergence (bits) between the profiles normalised to sum 1,
  p = (ref + ε)/Σ(ref + ε), q = (alt + ε)/Σ(alt + ε), m = (p + q)/2, ε = 1e-6:
  JS = ½ Σ_b p log2(p/m) + ½ Σ_b q log2(q/m)   (0 ≤ JS ≤ 1); negative predictions are
  clipped to 0 first.

With several models every statistic is computed per model, then ``<stat>`` holds the mean
and ``<stat>_std`` the standard deviation (ddof 0) across models (:func:`reduce_models`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

JS_EPS = 1e-6


def compute_stats(ref: np.ndarray, alt: np.ndarray, stats: Sequence[str],
                  effect_mask: np.ndarray | None = None,
                  all_mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Statistics (module docstring) of ref/alt predictions (N, bins, T) → {stat: (N, T)}.

    ``effect_mask`` (N, bins) bool selects the SED/logSED bins (default all);
    ``all_mask`` (N, bins) the bins of the other statistics (default all)."""
    ref = np.asarray(ref, dtype=np.float64)
    alt = np.asarray(alt, dtype=np.float64)
    n, nb = ref.shape[:2]
    am = np.ones((n, nb), bool) if all_mask is None else np.asarray(all_mask, bool)
    em = am if effect_mask is None else np.asarray(effect_mask, bool)
    wa = am[..., None].astype(np.float64)
    we = em[..., None].astype(np.float64)
    out = {}
    cnt = np.maximum(wa.sum(1), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, w in (("SAD", wa), ("SED", we)):      # sums over all / over the effect bins
            if {name, f"log{name}"} & set(stats):
                rs, as_ = (ref * w).sum(1), (alt * w).sum(1)
                if name in stats:
                    out[name] = as_ - rs
                if f"log{name}" in stats:
                    out[f"log{name}"] = np.log2(np.maximum(as_, 0) + 1) - np.log2(np.maximum(rs, 0) + 1)
        d = (alt - ref) * wa
        if "D1" in stats:
            out["D1"] = np.abs(d).sum(1) / cnt
        if "D2" in stats:
            out["D2"] = np.sqrt(np.square(d).sum(1) / cnt)
        if "JS" in stats:
            p = (np.maximum(ref, 0) + JS_EPS) * wa
            q = (np.maximum(alt, 0) + JS_EPS) * wa
            p = p / p.sum(1, keepdims=True)
            q = q / q.sum(1, keepdims=True)
            m = (p + q) / 2
            kl_p = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1) / np.where(m > 0, m, 1)), 0).sum(1)
            kl_q = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1) / np.where(m > 0, m, 1)), 0).sum(1)
            out["JS"] = 0.5 * kl_p + 0.5 * kl_q
    return {s: out[s].astype(np.float32) for s in stats}


def reduce_models(per_model: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{stat: (M, rows, T)} → {stat: mean over models, stat_std: std (ddof 0) when M > 1}."""
    out = {}
    for s, arr in per_model.items():
        with np.errstate(invalid="ignore"):
            out[s] = arr.mean(0)
            if arr.shape[0] > 1:
                out[f"{s}_std"] = arr.std(0)
    return out
