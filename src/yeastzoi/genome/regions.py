"""Regions and BED files: THE BED reader, ``chrom:start-end`` parsing, chrom.sizes, interval sets.

Coordinates: 0-based half-open ``[start, end)`` in bp, in memory and in BED files.
Every BED-like input in yeastzoi (gaps, repeats, blacklists, limits, bedGraph coverage,
regions to predict) is parsed by :func:`read_bed`; a bad line is one
:class:`~yeastzoi.YeastzoiError` of the form ``path:line: what is wrong; the fix``.
Interval unions are computed by :func:`merge_intervals` only.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.fileio import atomic_path, write_text_atomic
from yeastzoi.genome.fasta import open_text

BED_NAMES = ["chrom", "start", "end", "name", "score", "strand"]
_REGION_RE = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,_]+)-(?P<end>[\d,_]+)$")


def parse_region(text: str) -> tuple[str, int, int]:
    """``chrom:start-end`` (0-based half-open bp; commas allowed) → (chrom, start, end)."""
    m = _REGION_RE.match(str(text).strip())
    if m is None:
        raise YeastzoiError(f"region '{text}': expected chrom:start-end, e.g. chrI:10000-60000 "
                            f"(0-based, half-open)")
    s, e = (int(re.sub(r"[,_]", "", m.group(k))) for k in ("start", "end"))
    if e <= s:
        raise YeastzoiError(f"region '{text}': end must be greater than start")
    return m.group("chrom"), s, e


def read_chrom_sizes(path) -> dict[str, int]:
    """``name<TAB>length`` lines → dict name → length (bp), file order."""
    sizes: dict[str, int] = OrderedDict()
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                raise YeastzoiError(f"{path}:{lineno}: expected 'name<TAB>length', got {line.strip()[:60]!r}; fix the line")
            if fields[0] in sizes:
                raise YeastzoiError(f"{path}:{lineno}: chromosome '{fields[0]}' listed twice; remove the duplicate")
            sizes[fields[0]] = int(fields[1])
    if not sizes:
        raise YeastzoiError(f"{path}: no chromosomes listed; expected 'name<TAB>length' lines")
    return sizes


def write_chrom_sizes(path, sizes) -> Path:
    """Write (name, length) pairs (or a name → length dict) as chrom.sizes, atomically."""
    items = sizes.items() if isinstance(sizes, dict) else sizes
    write_text_atomic(path, "".join(f"{n}\t{length}\n" for n, length in items))
    return Path(path)


def _bed_fields(path, lineno, line, min_cols):
    fields = line.split("\t") if "\t" in line else line.split()
    if len(fields) < max(min_cols, 3):
        raise YeastzoiError(f"{path}:{lineno}: BED line has {len(fields)} field(s), need at least "
                            f"{max(min_cols, 3)} (chrom, start, end ...); fix or remove the line")
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise YeastzoiError(f"{path}:{lineno}: BED start/end must be integers, got "
                            f"{fields[1]!r}, {fields[2]!r}; fix the line") from None
    if start < 0 or end < start:
        raise YeastzoiError(f"{path}:{lineno}: BED interval {start}-{end} is invalid (need 0 <= start <= end, "
                            f"0-based half-open); fix the line")
    return [fields[0], start, end] + fields[3:]


def read_bed(path, min_cols: int = 3) -> pd.DataFrame:
    """Read a BED or bedGraph file (plain or gzip) → DataFrame with chrom, start, end
    (0-based half-open bp) and name/score/strand when the file has them (further columns as
    ``col7``…; a bedGraph's value is the ``name`` column, as text).

    Fields are tab-separated (whitespace when a line has no tab). ``track``/``browser``/``#``
    lines are skipped. A missing file, a line with fewer than ``min_cols`` fields, a
    non-integer or negative coordinate, or end < start raises :class:`YeastzoiError` naming
    ``path:line`` and the fix. Columns present on only some lines are dropped.
    """
    if not Path(path).is_file():
        raise YeastzoiError(f"{path}: BED file not found; check the path")
    rows, ncols = [], None
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            row = _bed_fields(path, lineno, line, min_cols)
            ncols = len(row) if ncols is None else min(ncols, len(row))
            rows.append(row)
    ncols = ncols or 3
    names = BED_NAMES[:ncols] + [f"col{i + 1}" for i in range(6, ncols)]
    df = pd.DataFrame([r[:ncols] for r in rows], columns=names)
    df["chrom"] = df["chrom"].astype(object)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    if "score" in df:
        df["score"] = pd.to_numeric(df["score"].replace(".", np.nan), errors="coerce")
    return df


def write_bed(path, rows) -> Path:
    """Write BED rows (tuples: chrom, start, end[, name, score, strand ...]) atomically, one
    tab-separated line each, in the order given; a NaN (e.g. a ``.`` score read by
    :func:`read_bed`) is written as ``.``."""
    def cell(x):
        return "." if isinstance(x, float) and x != x else str(x)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join("\t".join(cell(x) for x in r) + "\n" for r in rows))
    return Path(path)


def merge_intervals(intervals) -> np.ndarray:
    """Sorted union of (start, end) intervals → int64 array (m, 2); touching intervals are
    joined. Accepts an (n, 2) array or any iterable of pairs."""
    a = np.asarray(intervals if isinstance(intervals, np.ndarray) else list(intervals), dtype=np.int64)
    a = a.reshape(-1, 2)
    if len(a) < 2:
        return a.copy()
    a = a[np.lexsort((a[:, 1], a[:, 0]))]
    run_end = np.maximum.accumulate(a[:, 1])
    new = np.ones(len(a), bool)
    new[1:] = a[1:, 0] > run_end[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(a)) - 1
    return np.stack([a[starts, 0], run_end[ends]], axis=1)


def intervals_by_chrom(bed: pd.DataFrame) -> dict[str, np.ndarray]:
    """A BED DataFrame (chrom, start, end) → {chrom: merged int64 (m, 2)}, chromosomes in
    order of first appearance."""
    return {c: merge_intervals(np.stack([g["start"].to_numpy(), g["end"].to_numpy()], 1))
            for c, g in bed.groupby("chrom", sort=False)}


def interval_mask(starts: np.ndarray, ends: np.ndarray, start: int, end: int) -> np.ndarray:
    """uint8 (end-start,) with 1 inside any interval [starts[i], ends[i]).

    ``starts``/``ends`` must be sorted, non-overlapping (see :func:`merge_intervals`)."""
    start, end = int(start), int(end)
    out = np.zeros(end - start, dtype=np.uint8)
    starts, ends = np.asarray(starts), np.asarray(ends)
    i0 = int(np.searchsorted(ends, start, side="right"))
    i1 = int(np.searchsorted(starts, end, side="left"))
    for s, e in zip(starts[i0:i1].tolist(), ends[i0:i1].tolist()):
        out[max(s, start) - start:min(e, end) - start] = 1
    return out


def padded_slice(values: np.ndarray, start: int, end: int, fill: int = 4) -> np.ndarray:
    """``values[start:end]`` of a per-base array (a chromosome's codes or mask), with
    ``fill`` (default 4, the N code) for positions outside [0, len(values))."""
    size = len(values)
    if start >= 0 and end <= size:
        return values[start:end]
    out = np.full(end - start, fill, np.asarray(values).dtype)
    lo, hi = max(start, 0), min(end, size)
    if hi > lo:
        out[lo - start:hi - start] = values[lo:hi]
    return out
