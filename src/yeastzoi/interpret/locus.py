"""Predicted vs observed coverage at a locus, in the same units (the work of yeastzoi_plot.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..model.predictor import as_predictor
from .regions import centred_input


def observed_like_predicted(cov_bp: np.ndarray, targets_df: pd.DataFrame, pool_width: int) -> np.ndarray:
    """Observed per-base coverage (L bp, T) → (L/pool_width, T) in the units of untransformed
    predictions: the targets sheet's transform (scale, pool by sum_stat, soft/hard clip)
    followed by :func:`yeastzoi.coverage.untransform`, exactly what the model was trained
    on, mapped back."""
    from ..coverage import transform_tracks, untransform

    return untransform(transform_tracks(cov_bp, targets_df, pool_width), targets_df)


def pooled_units(sum_stat: str, bin_bp: int) -> str:
    """Axis label for untransformed values of a track with ``sum_stat`` (see
    :func:`yeastzoi.coverage.untransform`): what one bin's number means."""
    how = {"sum": "sum", "sum_sqrt": "sum", "sum_exp75": "sum", "mean": "mean per bp",
           "mean_sqrt": "mean per bp", "max": "max per bp", "median": "median per bp",
           "peak": "mean per bp"}.get(sum_stat, sum_stat)
    return f"reads ({how}) / {bin_bp} bp bin"


def locus_tracks(model, genome, targets_df: pd.DataFrame, chrom: str, start: int, end: int,
                 tracks=None, observed: bool = True) -> dict:
    """Predicted and observed coverage for the window centred on [start, end).

    ``model``: a :class:`~yeastzoi.model.predictor.Predictor` (ensemble mean; its rc/shift
    averaging and species channel) or a SeqNN; ``targets_df``: the sheet the model was trained with (row i = output track i);
    ``tracks``: identifiers to keep (default all). Predictions are untransformed with the
    sheet; observed coverage is read from the sheet's files and put through the same
    transform and its inverse (:func:`observed_like_predicted`), so both are the pooled raw
    coverage per bin (bin sum for sum* tracks, mean for mean* tracks). Returns dict
    pred, obs (bins, T; obs None when ``observed`` is False), ids, descriptions, sum_stats,
    chrom, start (bp of the first output bin), bin_bp, window_start.
    """
    from ..coverage import CoverageFile
    from ..coverage import untransform

    pred = as_predictor(model)
    meta = pred.meta
    nt = int(meta["num_targets"])
    if len(targets_df) != nt:
        raise YeastzoiError(f"the targets sheet has {len(targets_df)} tracks but the model predicts "
                            f"{nt}; use the sheet the model was trained with")
    ids = [str(i) for i in targets_df["identifier"]]
    if tracks:
        missing = [t for t in tracks if t not in ids]
        if missing:
            raise YeastzoiError(f"track(s) {', '.join(missing)} not in the targets sheet "
                                f"(it has {', '.join(ids[:8])}{'…' if len(ids) > 8 else ''})")
        cols = [ids.index(t) for t in tracks]
    else:
        cols = list(range(nt))
    x, w0 = centred_input(pred, genome, chrom, start, end)
    chrom = genome.resolve(chrom)
    y = pred.predict(x).mean(axis=0)[0]
    pw = int(meta["pool_width"])
    out0 = w0 + int(meta.get("crop_bp") or 0)
    sheet = targets_df.iloc[cols]
    pred = untransform(y[:, cols], sheet)
    obs = None
    if observed:
        span = y.shape[0] * pw
        cov = np.zeros((span, len(cols)), dtype=np.float32)
        for j, f in enumerate(sheet["file"]):
            with CoverageFile(f, reference_chroms=genome.chroms) as cf:
                cov[:, j] = cf.values(chrom, out0, out0 + span)
        obs = observed_like_predicted(cov, sheet, pw)
    return {"pred": pred, "obs": obs, "ids": [ids[c] for c in cols],
            "descriptions": [str(d) for d in sheet["description"]],
            "sum_stats": [str(s) for s in sheet["sum_stat"]], "chrom": chrom, "start": out0,
            "bin_bp": pw, "window_start": w0}
