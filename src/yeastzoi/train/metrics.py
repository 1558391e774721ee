"""Per-track Pearson R and R² accumulated over every bin of a split.

Correlations are not averaged per batch: :func:`track_sums` reduces a batch to six
per-track sums (n, Σy, Σŷ, Σy², Σŷ², Σyŷ) with ``keras.ops`` (so it can run inside a
distributed train step and be summed across replicas), and :class:`PearsonR2` adds them up
in float64 numpy and turns them into statistics at the end::

    acc = PearsonR2(num_targets)
    for y, p in batches:
        acc.update(y, p)                 # numpy arrays (…, T); or acc.add(track_sums(y, p))
    r, r2 = acc.pearsonr(), acc.r2()     # (T,) arrays

:func:`mlm_metrics` turns the masked-LM sums of a split into its metrics.

R² is ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` (coefficient of determination, can be negative).
A track with zero variance in y or ŷ gets NaN; :meth:`PearsonR2.summary` averages with
``nanmean``.
"""
from __future__ import annotations

import math

import numpy as np
from keras import ops

SUM_NAMES = ("n", "sum_y", "sum_p", "sum_yy", "sum_pp", "sum_yp")


def track_sums(y_true, y_pred):
    """(6, T) float64 tensor of per-track sums over all leading axes (see SUM_NAMES).

    Float64 because R and R² are formed from differences of these sums (Σp² − (Σp)²/n):
    in float32 a nearly constant prediction (an untrained model: 0.69 ± 1e-4) cancels to
    noise."""
    y = ops.cast(y_true, "float64")
    p = ops.cast(y_pred, "float64")
    t = ops.shape(y)[-1]
    y = ops.reshape(y, (-1, t))
    p = ops.reshape(p, (-1, t))
    n = ops.sum(ops.ones_like(y), axis=0)
    return ops.stack([n, ops.sum(y, 0), ops.sum(p, 0), ops.sum(y * y, 0), ops.sum(p * p, 0),
                      ops.sum(y * p, 0)], axis=0)


class PearsonR2:
    """Accumulator of per-track sums; reusable by the trainer and evaluation scripts."""

    def __init__(self, num_targets: int):
        self.num_targets = int(num_targets)
        self.reset()

    def reset(self):
        self.sums = np.zeros((6, self.num_targets), dtype=np.float64)

    def add(self, sums):
        """Add a (6, T) array of sums (from :func:`track_sums`, possibly replica-reduced)."""
        s = np.asarray(sums, dtype=np.float64)
        if s.shape != self.sums.shape:
            raise ValueError(f"sums of shape {s.shape}, expected {self.sums.shape}")
        self.sums += s

    def update(self, y_true, y_pred):
        """Accumulate numpy arrays (…, T) in float64."""
        y = np.asarray(y_true, dtype=np.float64).reshape(-1, self.num_targets)
        p = np.asarray(y_pred, dtype=np.float64).reshape(-1, self.num_targets)
        self.sums += np.stack([np.full(self.num_targets, len(y), np.float64), y.sum(0), p.sum(0),
                               (y * y).sum(0), (p * p).sum(0), (y * p).sum(0)])

    def _moments(self):
        n, sy, sp, syy, spp, syp = self.sums
        with np.errstate(invalid="ignore", divide="ignore"):
            vy = syy - sy * sy / n
            vp = spp - sp * sp / n
            cov = syp - sy * sp / n
        return n, vy, vp, cov

    def pearsonr(self) -> np.ndarray:
        n, vy, vp, cov = self._moments()
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(vy * vp)
        r[(vy <= 0) | (vp <= 0) | (n < 2)] = np.nan
        return r

    def r2(self) -> np.ndarray:
        n, sy, sp, syy, spp, syp = self.sums
        n_, vy, _, _ = self._moments()
        ss_res = syy - 2 * syp + spp
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1.0 - ss_res / vy
        r2[(vy <= 0) | (n < 2)] = np.nan
        return r2

    def summary(self) -> dict:
        """{"pearsonr": mean R over tracks, "r2": mean R²} (NaN tracks ignored)."""
        r, r2 = self.pearsonr(), self.r2()
        out = {}
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out["pearsonr"] = float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")
                out["r2"] = float(np.nanmean(r2)) if np.isfinite(r2).any() else float("nan")
        return out


def mlm_metrics(sums, reg: float = 0.0) -> dict:
    """Masked-LM metrics of a split from its summed :func:`yeastzoi.train.losses.mlm_sums`
    (Σ w·CE, Σ m·CE, Σ m·correct, Σ m): ``loss`` = Σ w·CE / Σ m + ``reg`` (the L2 penalty),
    ``ce`` (nats), ``accuracy`` and ``perplexity`` = exp(ce)."""
    wce, ce, corr, n = (float(v) for v in np.asarray(sums, np.float64))
    n = max(n, 1.0)
    return {"loss": float(wce / n + reg), "ce": float(ce / n), "accuracy": float(corr / n),
            "perplexity": math.exp(min(ce / n, 50.0))}
