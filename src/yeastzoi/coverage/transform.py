"""The per-track coverage transform (coverage → training targets) and its exact inverse.

Transform of one track's per-base coverage over a window of L bp into L / pool_width
bins ("new", baskerville form):

0. negative values are clipped to 0 (:func:`clip_negative`; coverage is read mass, and a
   negative value — e.g. from an input-subtracted or log-ratio bigWig — would give
   negative targets); the dataset builder logs a WARNING with the count per file first;
1. ``x = scale · cov``  (NaN bases count as 0; see :func:`nan_fraction`)
2. pool each bin of ``pool_width`` bp by ``sum_stat``:
   ``sum`` Σx; ``sum_sqrt`` −1+√(1+Σx); ``sum_exp75`` −1+(1+Σx)^0.75;
   ``mean`` mean x; ``mean_sqrt`` −1+√(1+mean x); ``max`` max x; ``median`` median x;
   ``peak`` min(1, √(4·mean x)) (for 0/1 peak-call tracks: a bin ¼ covered reads 1).
3. soft clip: y > cs → cs − 1 + √(y − cs + 1)   (no soft clip when clip_soft is empty)
4. hard clip: min(y, clip)   (clip defaults to 65504)
5. clip into the float16 range [−65504, 65504] (:func:`clip_float16`, the one float16
   clip: every float16 output of yeastzoi should go through it).

"Old" (Borzoi paper) form, ``old=True``: pool (sum / mean / max / median as above, no
offset), power (``sum_exp75``: y^0.75; ``sum_sqrt``/``mean_sqrt``: y^0.5; ``peak``:
min(1, √(4·mean)); others: none), soft clip y > cs → cs + √(y − cs), hard clip, × scale.

:func:`untransform` inverts steps 1-3 exactly (the hard clip is not invertible): it
returns the *pooled* raw value per bin (the bin sum for ``sum*``, the mean for
``mean*``, the max/median for ``max``/``median``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError

FLOAT16_MAX = 65504.0
SUM_STATS = ("sum", "sum_sqrt", "sum_exp75", "mean", "mean_sqrt", "max", "peak", "median")
#: sum_stats whose pooled value untransform recovers exactly (below the hard clip).
INVERTIBLE_SUM_STATS = ("sum", "sum_sqrt", "sum_exp75", "mean", "mean_sqrt")

# sum_stat → (pooling, power p); new form applies −1+(1+y)^p, old form y^p.
_POOL = {"sum": ("sum", 1.0), "sum_sqrt": ("sum", 0.5), "sum_exp75": ("sum", 0.75),
         "mean": ("mean", 1.0), "mean_sqrt": ("mean", 0.5), "max": ("max", 1.0),
         "median": ("median", 1.0), "peak": ("peak", 1.0)}


def clip_float16(values, dtype=np.float16) -> np.ndarray:
    """``values`` clipped into the float16 range [−65504, 65504] (NaN stays NaN; ±inf
    becomes ±65504) and cast to ``dtype`` (float16 by default; float32 for values that are
    stored as float16 later). The one float16 clip of yeastzoi."""
    return np.clip(np.asarray(values), -FLOAT16_MAX, FLOAT16_MAX).astype(dtype)


def clip_negative(cov) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage with negative values set to 0 (NaN kept), the number of negative values
    and the most negative value (0 when none) per track (last axis; a scalar for 1-D input).

    Returns (float array of ``cov``'s shape, int64 counts, float minima)."""
    cov = np.asarray(cov)
    with np.errstate(invalid="ignore"):
        neg = cov < 0
    axis = tuple(range(cov.ndim - 1)) if cov.ndim > 1 else None
    counts = neg.sum(axis=axis)
    if not neg.any():
        return cov, counts, np.zeros_like(counts, dtype=np.float64)
    lowest = np.where(neg, cov, 0).min(axis=axis)
    return np.where(neg, 0, cov).astype(cov.dtype, copy=False), counts, lowest


def nan_fraction(cov: np.ndarray, axis=0) -> np.ndarray | float:
    """Fraction of NaN values along ``axis`` (per track for (L, T) arrays with axis=0).

    A track whose fraction is 1 over a whole file is "NaN-only"; the data builder turns
    that into a one-line error naming the file.
    """
    cov = np.asarray(cov)
    if cov.size == 0:
        return 0.0 if cov.ndim <= 1 else np.zeros(cov.shape[1 - axis])
    return np.isnan(cov).mean(axis=axis)


def _pool(x: np.ndarray, pool_width: int, how: str) -> np.ndarray:
    """x (L, T) float64 → (L/pool_width, T) pooled by ``how``."""
    L, T = x.shape
    b = x.reshape(L // pool_width, pool_width, T)
    if how == "sum":
        return b.sum(axis=1)
    if how == "mean":
        return b.mean(axis=1)
    if how == "max":
        return b.max(axis=1)
    if how == "median":
        return np.median(b, axis=1)
    if how == "peak":
        return np.minimum(1.0, np.sqrt(4.0 * np.maximum(b.mean(axis=1), 0.0)))
    raise AssertionError(how)


def _check_length(L: int, pool_width: int):
    if pool_width < 1 or L % pool_width:
        raise YeastzoiError(f"window length {L} bp is not divisible by pool_width {pool_width}; "
                            f"choose a seq_length/crop that is a multiple of pool_width")


def _track_params(targets_df: pd.DataFrame):
    T = len(targets_df)
    get = lambda c, d: (np.asarray(targets_df[c].values, dtype=np.float64)  # noqa: E731
                        if c in targets_df.columns else np.full(T, d, dtype=np.float64))
    scale = get("scale", 1.0)
    clip = get("clip", FLOAT16_MAX)
    clip = np.where(np.isnan(clip), FLOAT16_MAX, clip)
    cs = get("clip_soft", np.nan)
    cs = np.where(np.isnan(cs), np.inf, cs)
    ss = (list(targets_df["sum_stat"].values) if "sum_stat" in targets_df.columns
          else ["sum"] * T)
    for s in ss:
        if s not in SUM_STATS:
            raise YeastzoiError(f"sum_stat '{s}' is not one of {', '.join(SUM_STATS)}")
    power = np.array([_POOL[s][1] for s in ss])
    return scale, clip, cs, ss, power


def _transform(x: np.ndarray, pool_width: int, ss: list, scale, clip, cs, power, old: bool):
    """x (L, T) raw per-base coverage → (L/pool_width, T) float32 transformed bins."""
    L, T = x.shape
    _check_length(L, pool_width)
    x = clip_negative(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0))[0]
    if not old:
        x = x * scale
    y = np.empty((L // pool_width, T), dtype=np.float64)
    for how in sorted({_POOL[s][0] for s in ss}):
        cols = [t for t in range(T) if _POOL[ss[t]][0] == how]
        y[:, cols] = _pool(x[:, cols], pool_width, how)
    p = power
    with np.errstate(invalid="ignore"):
        if old:
            y = np.where(p != 1.0, np.power(np.maximum(y, 0.0), p), y)
            over = y > cs
            y = np.where(over, cs + np.sqrt(np.maximum(y - cs, 0.0)), y)
            y = np.minimum(y, clip)
            y = y * scale
        else:
            y = np.where(p != 1.0, -1.0 + np.power(np.maximum(1.0 + y, 0.0), p), y)
            over = y > cs
            y = np.where(over, cs - 1.0 + np.sqrt(np.maximum(y - cs + 1.0, 0.0)), y)
            y = np.minimum(y, clip)
    return clip_float16(y, np.float32)


def transform_coverage(cov_bp: np.ndarray, pool_width: int, sum_stat: str = "sum",
                       scale: float = 1.0, clip_soft: float | None = None,
                       clip: float | None = None, old: bool = False) -> np.ndarray:
    """Transform one track: raw per-base coverage (L bp,) → (L/pool_width,) float32 bins.

    Steps as in the module docstring (new form; ``old=True`` for the Borzoi-paper form).
    NaN bases and negative values count as 0 (check :func:`nan_fraction` and
    :func:`clip_negative` first to report them). ``clip_soft`` None/NaN: no
    soft clip; ``clip`` None/NaN: 65504. Raises YeastzoiError when L is not a multiple of
    ``pool_width`` or sum_stat is unknown.
    """
    cov = np.asarray(cov_bp)
    if cov.ndim != 1:
        raise YeastzoiError(f"transform_coverage takes one track (L,), got shape {cov.shape}; "
                            f"use transform_tracks for (L, T)")
    if sum_stat not in SUM_STATS:
        raise YeastzoiError(f"sum_stat '{sum_stat}' is not one of {', '.join(SUM_STATS)}")
    cs = np.inf if clip_soft is None or np.isnan(float(clip_soft)) else float(clip_soft)
    cl = FLOAT16_MAX if clip is None or np.isnan(float(clip)) else float(clip)
    y = _transform(cov[:, None], pool_width, [sum_stat], np.array([float(scale)]),
                   np.array([cl]), np.array([cs]), np.array([_POOL[sum_stat][1]]), old)
    return y[:, 0]


def transform_tracks(cov: np.ndarray, targets_df: pd.DataFrame, pool_width: int,
                     old: bool = False) -> np.ndarray:
    """Transform all tracks: raw per-base coverage (L bp, T) → (L/pool_width, T) float32.

    Track t uses row t of ``targets_df`` (scale, sum_stat, clip_soft, clip); pooling is
    vectorised over the tracks that share a sum_stat. NaN bases and negative values count
    as 0.
    """
    cov = np.asarray(cov)
    if cov.ndim != 2 or cov.shape[1] != len(targets_df):
        raise YeastzoiError(f"coverage shape {cov.shape} does not match the {len(targets_df)} "
                            f"tracks of the targets sheet; expected (L, {len(targets_df)})")
    scale, clip, cs, ss, power = _track_params(targets_df)
    return _transform(cov, pool_width, ss, scale, clip, cs, power, old)


def untransform(pred_bins: np.ndarray, targets_df: pd.DataFrame, old: bool = False) -> np.ndarray:
    """Exact inverse of the transform below the hard clip: (..., T) bins → (..., T) float32.

    Inverts the soft clip, the √ / ^0.75 squash (and the ``peak`` map below 1) and the
    scale, per track (last axis = the rows of ``targets_df``). The result is the pooled
    raw value per bin: the bin sum for sum / sum_sqrt / sum_exp75, the mean for mean /
    mean_sqrt, the max / median for max / median, the mean for peak.
    Values clipped by the hard clip (or by float16 rounding) are not recovered.
    """
    y = np.asarray(pred_bins, dtype=np.float64)
    if y.shape[-1] != len(targets_df):
        raise YeastzoiError(f"predictions have {y.shape[-1]} tracks but the targets sheet "
                            f"has {len(targets_df)}; use the sheet the model was trained with")
    scale, _clip, cs, ss, power = _track_params(targets_df)
    peak = np.array([s == "peak" for s in ss])
    with np.errstate(invalid="ignore", divide="ignore"):
        if old:
            y = y / scale
            y = np.where(y > cs, cs + np.square(y - cs), y)
            y = np.where(power != 1.0, np.power(np.maximum(y, 0.0), 1.0 / power), y)
        else:
            y = np.where(y > cs, cs - 1.0 + np.square(y - cs + 1.0), y)
            y = np.where(power != 1.0, np.power(np.maximum(1.0 + y, 0.0), 1.0 / power) - 1.0, y)
        y = np.where(peak, np.square(y) / 4.0, y)
        if not old:
            y = y / scale
    return y.astype(np.float32)
