"""Blacklisted bins of a target window: which bins overlap the blacklist, and their clipping.

Coordinates are 0-based half-open bp; bins are ``pool_width`` bp from the window start.
"""
from __future__ import annotations

import warnings

import numpy as np

from yeastzoi import YeastzoiError


def bin_mask(intervals, start: int, n_bins: int, pool_width: int) -> np.ndarray:
    """bool (n_bins,): bins of a window that overlap any interval.

    intervals: iterable of (start, end) bp, 0-based half-open, on the window's chromosome.
    The window's bins cover [start, start + n_bins·pool_width); bin i is
    [start + i·pool_width, start + (i+1)·pool_width).
    """
    mask = np.zeros(n_bins, dtype=bool)
    end = start + n_bins * pool_width
    for s, e in intervals:
        s, e = max(int(s), start), min(int(e), end)
        if e <= s:
            continue
        mask[(s - start) // pool_width:(e - 1 - start) // pool_width + 1] = True
    return mask


def apply_blacklist(bins: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Clip blacklisted bins to the window's baseline; returns a new float32 array.

    bins: (N,) or (N, T) transformed bins of one window; mask: bool (N,), True for bins
    overlapping the blacklist. Rule: each masked bin becomes min(value, median of the
    window's unmasked bins of that track), so artefact spikes are flattened while
    genuinely low bins stay as they are. When every bin is masked, the median is taken
    over all bins. NaNs in ``bins`` are ignored in the median.
    """
    b = np.array(bins, dtype=np.float32, copy=True)
    mask = np.asarray(mask, dtype=bool)
    if b.shape[0] != mask.shape[0]:
        raise YeastzoiError(f"blacklist mask has {mask.shape[0]} bins but the window has "
                            f"{b.shape[0]}; build it with the same pool_width")
    if not mask.any():
        return b
    ref = b[~mask] if (~mask).any() else b
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(ref, axis=0)
    med = np.nan_to_num(np.asarray(med, dtype=np.float32), nan=0.0)
    b[mask] = np.minimum(b[mask], med)
    return b
