"""Pearson R and R² per track: direct (:func:`pearsonr`, :func:`r2_score`) and streamed over
every bin of a split (:class:`TrackStats`, float64 sums of values shifted by the first
batch's means, so nothing of size windows × bins × tracks is held in memory and a track
whose variance is tiny next to its mean does not cancel).
"""
from __future__ import annotations

import numpy as np

from .. import YeastzoiError


def pearsonr(x: np.ndarray, y: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson R along ``axis`` (float64; NaN where either side is constant)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis) / np.sqrt((xc * xc).sum(axis) * (yc * yc).sum(axis))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray, axis: int = 0) -> np.ndarray:
    """Coefficient of determination 1 − Σ(y−ŷ)² / Σ(y−ȳ)² along ``axis``."""
    y = np.asarray(y_true, np.float64)
    p = np.asarray(y_pred, np.float64)
    ss_res = ((y - p) ** 2).sum(axis)
    ss_tot = ((y - y.mean(axis=axis, keepdims=True)) ** 2).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - ss_res / ss_tot


class TrackStats:
    """Streaming per-track Pearson R and R² over every value passed to :meth:`update`.

    ``update(pred, target)`` takes arrays (..., T); all leading axes are pooled. Values are
    shifted by the first batch's per-track means (no cancellation when a track's variance is
    tiny next to its mean) and summed in float64.
    """

    def __init__(self, num_targets: int):
        self.num_targets = int(num_targets)
        t = self.num_targets
        self.n = 0
        self._shift = None
        self.sp = np.zeros(t)
        self.st = np.zeros(t)
        self.spp = np.zeros(t)
        self.stt = np.zeros(t)
        self.spt = np.zeros(t)

    def update(self, pred, target) -> None:
        # centred values and products stay in the input precision (float32: relative error
        # ~1e-7 per product, unbiased); every reduction accumulates in float64
        dt = np.result_type(np.asarray(pred).dtype, np.asarray(target).dtype, np.float32)
        p = np.asarray(pred, dt).reshape(-1, self.num_targets)
        y = np.asarray(target, dt).reshape(-1, self.num_targets)
        if p.shape != y.shape:
            raise YeastzoiError(f"predictions {p.shape} and targets {y.shape} differ in shape")
        if self._shift is None:   # the shifts actually subtracted (cast to dt), kept in float64
            self._shift = (p.mean(0, dtype=np.float64).astype(dt).astype(np.float64),
                           y.mean(0, dtype=np.float64).astype(dt).astype(np.float64))
        p = p - self._shift[0].astype(dt)
        y = y - self._shift[1].astype(dt)
        self.n += p.shape[0]
        self.sp += p.sum(0, dtype=np.float64)
        self.st += y.sum(0, dtype=np.float64)
        self.spp += (p * p).sum(0, dtype=np.float64)
        self.stt += (y * y).sum(0, dtype=np.float64)
        self.spt += (p * y).sum(0, dtype=np.float64)

    def _centred(self):
        n = max(self.n, 1)
        cpp = self.spp - self.sp ** 2 / n
        ctt = self.stt - self.st ** 2 / n
        cpt = self.spt - self.sp * self.st / n
        return cpp, ctt, cpt

    def pearsonr(self) -> np.ndarray:
        cpp, ctt, cpt = self._centred()
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cpt / np.sqrt(cpp * ctt)
        return np.where((cpp > 0) & (ctt > 0), r, np.nan)

    def r2(self) -> np.ndarray:
        cpp, ctt, cpt = self._centred()
        n = max(self.n, 1)
        # Σ(y-p)² in shifted coordinates: shift difference d = shift_y - shift_p
        d = self._shift[1] - self._shift[0] if self._shift is not None else 0.0
        # y_true - y_pred = (y' + s_y) - (p' + s_p) = (y' - p') + d
        ss_res = (self.stt - 2 * self.spt + self.spp) + 2 * d * (self.st - self.sp) + n * d * d
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ctt > 0, 1.0 - ss_res / ctt, np.nan)
