"""Targets sheet (``targets.txt``): one row per coverage track and how it becomes targets.

Tab-separated, first column the index. Two layouts load: baskerville's ``identifier file
clip clip_soft scale sum_stat strand_pair description`` and Shorkie's ``identifier file
sum_stat clip_soft description group``. Missing columns get defaults (see
:func:`read_targets`); the transform the columns parameterise is
:mod:`yeastzoi.coverage.transform`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.coverage.transform import FLOAT16_MAX, SUM_STATS
from yeastzoi.fileio import atomic_path

BASKERVILLE_COLUMNS = ("identifier", "file", "clip", "clip_soft", "scale", "sum_stat",
                       "strand_pair", "description")


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
    rows, index, line_no = _sheet_rows(path)
    n = len(rows)
    cols = {c: [] for c in ("identifier", "file", "clip", "clip_soft", "scale", "sum_stat", "strand_pair",
                            "description", "group")}
    seen: dict[str, int] = {}
    for i, (r, ln) in enumerate(zip(rows, line_no)):
        for c, v in _track_row(path, ln, r, i, n, seen).items():
            cols[c].append(v)
    spair = cols["strand_pair"]
    for i, (sp_i, ln) in enumerate(zip(spair, line_no)):
        if spair[sp_i] != i:
            raise YeastzoiError(f"{path} line {ln}: strand_pair {sp_i} points to track {sp_i} "
                                f"whose strand_pair is {spair[sp_i]}; pairs must be mutual")
    try:
        idx = pd.Index([int(x) for x in index])
    except ValueError:
        idx = pd.Index(index)
    df = pd.DataFrame(cols, index=idx)
    df["strand_pair"] = df["strand_pair"].astype(np.int64)
    return df


def _sheet_rows(path: Path) -> tuple[list[dict], list[str], list[int]]:
    """(rows as column → text dicts, index values, line numbers) of a sheet; header checks."""
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
        index.append(f[0].strip() if has_index else str(len(rows)))
        rows.append(dict(zip(names, (x.strip() for x in (f[1:] if has_index else f)))))
        line_no.append(ln)
    if not rows:
        raise YeastzoiError(f"{path}: no tracks; add one row per track below the header")
    return rows, index, line_no


def _track_row(path: Path, ln: int, r: dict, i: int, n: int, seen: dict) -> dict:
    """One sheet row (track ``i`` of ``n`` at line ``ln``) checked, with defaults filled."""
    ident = r.get("identifier", "")
    if not ident:
        raise YeastzoiError(f"{path} line {ln}: empty identifier; give every track a unique id")
    if ident in seen:
        raise YeastzoiError(f"{path} line {ln}: identifier '{ident}' duplicates line "
                            f"{seen[ident]}; identifiers must be unique")
    seen[ident] = ln
    file = r.get("file", "")
    if not file:
        raise YeastzoiError(f"{path} line {ln}: empty file for '{ident}'; give the "
                            f"coverage file (bigWig, w5, BED or BAM)")
    fp = Path(file).expanduser()
    if not fp.is_absolute():
        fp = (path.parent / fp).resolve()
    ss = r.get("sum_stat", "") or "sum"
    if ss not in SUM_STATS:
        raise YeastzoiError(f"{path} line {ln}: sum_stat '{ss}' is not one of "
                            f"{', '.join(SUM_STATS)}")
    return {"identifier": ident, "file": str(fp),
            "clip": _number(r.get("clip", ""), FLOAT16_MAX, path, ln, "clip"),
            "clip_soft": _number(r.get("clip_soft", ""), np.nan, path, ln, "clip_soft"),
            "scale": _number(r.get("scale", ""), 1.0, path, ln, "scale"), "sum_stat": ss,
            "strand_pair": _strand_pair(r.get("strand_pair", ""), i, n, path, ln),
            "description": r.get("description", ""), "group": r.get("group", "")}


def _strand_pair(sp: str, i: int, n: int, path, ln) -> int:
    if sp == "":
        return i
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
    return sp_i


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
