"""Targets sheet (``targets.txt``) and the per-track coverage transform with its exact inverse.

Sheet: tab-separated, first column the index. Two layouts load:
baskerville's ``identifier file clip clip_soft scale sum_stat strand_pair description``
and Shorkie's ``identifier file sum_stat clip_soft description group``. Missing columns
get defaults (see :func:`read_targets`).

Transform of one track's per-base coverage over a window of L bp into L / pool_width
bins ("new", baskerville form):

1. ``x = scale · cov``  (NaN bases count as 0; see :func:`nan_fraction`)
2. pool each bin of ``pool_width`` bp by ``sum_stat``:
   ``sum`` Σx; ``sum_sqrt`` −1+√(1+Σx); ``sum_exp75`` −1+(1+Σx)^0.75;
   ``mean`` mean x; ``mean_sqrt`` −1+√(1+mean x); ``max`` max x; ``median`` median x;
   ``peak`` min(1, √(4·mean x)) (for 0/1 peak-call tracks: a bin ¼ covered reads 1).
3. soft clip: y > cs → cs − 1 + √(y − cs + 1)   (no soft clip when clip_soft is empty)
4. hard clip: min(y, clip)   (clip defaults to 65504)
5. clip into the float16 range [−65504, 65504].

"Old" (Borzoi paper) form, ``old=True``: pool (sum / mean / max / median as above, no
offset), power (``sum_exp75``: y^0.75; ``sum_sqrt``/``mean_sqrt``: y^0.5; ``peak``:
min(1, √(4·mean)); others: none), soft clip y > cs → cs + √(y − cs), hard clip, × scale.

:func:`untransform` inverts steps 1-3 exactly (the hard clip is not invertible): it
returns the *pooled* raw value per bin (the bin sum for ``sum*``, the mean for
``mean*``, the max/median for ``max``/``median``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.fileio import atomic_path

log = logging.getLogger(__name__)

FLOAT16_MAX = 65504.0
SUM_STATS = ("sum", "sum_sqrt", "sum_exp75", "mean", "mean_sqrt", "max", "peak", "median")
#: sum_stats whose pooled value untransform recovers exactly (below the hard clip).
INVERTIBLE_SUM_STATS = ("sum", "sum_sqrt", "sum_exp75", "mean", "mean_sqrt")
BASKERVILLE_COLUMNS = ("identifier", "file", "clip", "clip_soft", "scale", "sum_stat",
                       "strand_pair", "description")

# sum_stat → (pooling, power p); new form applies −1+(1+y)^p, old form y^p.
_POOL = {"sum": ("sum", 1.0), "sum_sqrt": ("sum", 0.5), "sum_exp75": ("sum", 0.75),
         "mean": ("mean", 1.0), "mean_sqrt": ("mean", 0.5), "max": ("max", 1.0),
         "median": ("median", 1.0), "peak": ("peak", 1.0)}


# ----------------------------------------------------------------------------- sheet
def read_targets(path) -> pd.DataFrame:
    """Read and validate a targets sheet.

    Returns a DataFrame indexed by the sheet's first column (ints when they all parse
    as ints) with columns identifier, file, clip, clip_soft, scale, sum_stat,
    strand_pair, description, group. Defaults for absent columns / empty cells:
    clip 65504 (float16 max), clip_soft NaN (no soft clip), scale 1, sum_stat "sum",
    strand_pair = the row's own position, description "", group "".
    ``file`` paths relative to the sheet's folder are made absolute.
    ``strand_pair`` holds 0-based row positions (equal to the index in baskerville
    sheets) and must pair tracks mutually.

    Raises YeastzoiError with ``<path> line N: ...`` for: a missing identifier/file
    column, a row with the wrong number of fields, an empty identifier or file, a
    non-numeric clip / clip_soft / scale, an unknown sum_stat, a duplicate identifier,
    a strand_pair out of range or not mutual.
    """
    path = Path(path)
    if not path.exists():
        raise YeastzoiError(f"{path}: no such targets sheet")
    lines = path.read_text().splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not numbered:
        raise YeastzoiError(f"{path}: empty targets sheet; need a header line and one row per track")
    hline, header = numbered[0]
    cols = [c.strip() for c in header.split("\t")]
    has_index = cols[0] != "identifier"
    names = cols[1:] if has_index else cols
    for need in ("identifier", "file"):
        if need not in names:
            raise YeastzoiError(
                f"{path} line {hline}: missing column '{need}'; the header needs (tab-separated, "
                f"index first) identifier and file, optionally clip, clip_soft, scale, sum_stat, "
                f"strand_pair, description, group")
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise YeastzoiError(f"{path} line {hline}: column(s) {', '.join(dup)} appear twice; "
                            f"keep one of each")
    rows, index, line_no = [], [], []
    for ln, text in numbered[1:]:
        f = text.split("\t")
        if len(f) != len(cols):
            if len(f) < len(cols) and all(c in ("description", "group") for c in cols[len(f):]):
                f = f + [""] * (len(cols) - len(f))  # trailing empty text columns trimmed
            else:
                raise YeastzoiError(f"{path} line {ln}: {len(f)} tab-separated fields but the "
                                    f"header has {len(cols)}; separate columns with single tabs")
        if has_index:
            index.append(f[0].strip())
            f = f[1:]
        else:
            index.append(str(len(rows)))
        rows.append(dict(zip(names, (x.strip() for x in f))))
        line_no.append(ln)
    if not rows:
        raise YeastzoiError(f"{path}: no tracks; add one row per track below the header")

    n = len(rows)
    ident, files, clip, clip_soft, scale, sum_stat, spair, desc, group = ([] for _ in range(9))
    seen = {}
    for i, (r, ln) in enumerate(zip(rows, line_no)):
        ident_i = r.get("identifier", "")
        if not ident_i:
            raise YeastzoiError(f"{path} line {ln}: empty identifier; give every track a unique id")
        if ident_i in seen:
            raise YeastzoiError(f"{path} line {ln}: identifier '{ident_i}' duplicates line "
                                f"{seen[ident_i]}; identifiers must be unique")
        seen[ident_i] = ln
        file_i = r.get("file", "")
        if not file_i:
            raise YeastzoiError(f"{path} line {ln}: empty file for '{ident_i}'; give the "
                                f"coverage file (bigWig, w5, BED or BAM)")
        fp = Path(file_i).expanduser()
        if not fp.is_absolute():
            fp = (path.parent / fp).resolve()
        ss = r.get("sum_stat", "") or "sum"
        if ss not in SUM_STATS:
            raise YeastzoiError(f"{path} line {ln}: sum_stat '{ss}' is not one of "
                                f"{', '.join(SUM_STATS)}")
        ident.append(ident_i)
        files.append(str(fp))
        sum_stat.append(ss)
        clip.append(_number(r.get("clip", ""), FLOAT16_MAX, path, ln, "clip"))
        clip_soft.append(_number(r.get("clip_soft", ""), np.nan, path, ln, "clip_soft"))
        scale.append(_number(r.get("scale", ""), 1.0, path, ln, "scale"))
        sp = r.get("strand_pair", "")
        if sp == "":
            sp_i = i
        else:
            try:
                sp_f = float(sp)
                if sp_f != int(sp_f):
                    raise ValueError
                sp_i = int(sp_f)
            except ValueError:
                raise YeastzoiError(f"{path} line {ln}: strand_pair '{sp}' is not an integer; "
                                    f"give the 0-based row of the opposite-strand track") from None
            if not 0 <= sp_i < n:
                raise YeastzoiError(f"{path} line {ln}: strand_pair {sp_i} is out of range; "
                                    f"the sheet has tracks 0..{n - 1}")
        spair.append(sp_i)
        desc.append(r.get("description", ""))
        group.append(r.get("group", ""))
    for i, (sp_i, ln) in enumerate(zip(spair, line_no)):
        if spair[sp_i] != i:
            raise YeastzoiError(f"{path} line {ln}: strand_pair {sp_i} points to track {sp_i} "
                                f"whose strand_pair is {spair[sp_i]}; pairs must be mutual")
    try:
        idx = pd.Index([int(x) for x in index])
    except ValueError:
        idx = pd.Index(index)
    df = pd.DataFrame({"identifier": ident, "file": files, "clip": clip, "clip_soft": clip_soft,
                       "scale": scale, "sum_stat": sum_stat, "strand_pair": spair,
                       "description": desc, "group": group}, index=idx)
    df["strand_pair"] = df["strand_pair"].astype(np.int64)
    return df


def _number(text, default, path, ln, col):
    if text == "" or text.lower() in ("nan", "none", "na"):
        return float(default)
    try:
        v = float(text)
    except ValueError:
        raise YeastzoiError(f"{path} line {ln}: {col} '{text}' is not a number; give a number "
                            f"or leave the cell empty for the default") from None
    if np.isnan(v):
        return float(default)
    return v


def write_targets(path, df: pd.DataFrame) -> None:
    """Write a targets sheet (atomic): index, then baskerville's columns, then group if present.

    Missing baskerville columns are filled with read_targets' defaults; an empty
    clip_soft (NaN) is written as an empty cell.
    """
    out = pd.DataFrame(index=df.index)
    n = len(df)
    defaults = {"clip": FLOAT16_MAX, "clip_soft": np.nan, "scale": 1.0, "sum_stat": "sum",
                "strand_pair": np.arange(n), "description": ""}
    for c in BASKERVILLE_COLUMNS:
        if c in df.columns:
            out[c] = df[c].values
        elif c in defaults:
            out[c] = defaults[c]
        else:
            raise YeastzoiError(f"targets table lacks column '{c}'; it needs identifier and file")
    if "group" in df.columns:
        out["group"] = df["group"].values
    out["strand_pair"] = out["strand_pair"].astype(np.int64)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, sep="\t", index=True, index_label="", na_rep="")


def strand_pairs(targets_df: pd.DataFrame) -> np.ndarray:
    """int64 (T,) permutation: track i's opposite-strand partner (own index for unstranded).

    Reverse-complement ensembles swap prediction tracks as ``pred[..., strand_pairs(df)]``.
    """
    T = len(targets_df)
    if "strand_pair" not in targets_df.columns:
        return np.arange(T, dtype=np.int64)
    sp = np.asarray(targets_df["strand_pair"].values, dtype=np.int64)
    if sp.size and (sp.min() < 0 or sp.max() >= T or not np.array_equal(sp[sp], np.arange(T))):
        raise YeastzoiError("targets strand_pair is not a mutual pairing of rows 0..T-1; "
                            "fix the strand_pair column")
    return sp


# ----------------------------------------------------------------------------- transform
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
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0)
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
    return np.clip(y, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float32)


def transform_coverage(cov_bp: np.ndarray, pool_width: int, sum_stat: str = "sum",
                       scale: float = 1.0, clip_soft: float | None = None,
                       clip: float | None = None, old: bool = False) -> np.ndarray:
    """Transform one track: raw per-base coverage (L bp,) → (L/pool_width,) float32 bins.

    Steps as in the module docstring (new form; ``old=True`` for the Borzoi-paper form).
    NaN bases count as 0 (check :func:`nan_fraction` first). ``clip_soft`` None/NaN: no
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
    vectorised over the tracks that share a sum_stat. NaN bases count as 0.
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


# ----------------------------------------------------------------------------- blacklist
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
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(ref, axis=0)
    med = np.nan_to_num(np.asarray(med, dtype=np.float32), nan=0.0)
    b[mask] = np.minimum(b[mask], med)
    return b
