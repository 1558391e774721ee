"""Contigs, folds of chromosome arms, chromosome splits and sequence windows.

All coordinates are 0-based, half-open, in bp.

* **Contigs** are chromosomes cut at gaps (a gaps BED; for R64 the centromeres) and,
  optionally, at unmappable stretches at least ``min_unmap_len`` bp long. The gap bases
  themselves belong to no contig.
* **Folds** (:func:`split_arms_into_folds`): contigs (chromosome arms) are halved while any
  piece is longer than ``total / K`` (each halving cuts at the midpoint, so pieces of one
  arm stay as long as each other), then pieces are assigned longest first to the fold with
  the smallest total so far (ties → lowest fold index). Every base of every contig is in
  exactly one fold; nothing is dropped. Fold f → test, fold (f+1) mod K → valid, the rest
  train (see :func:`fold_roles`).
* **Windows** (:func:`make_windows`): ``seq_length`` bp windows every ``stride`` bp from each
  contig's start, lying wholly inside the contig; when the contig length is not
  start-aligned, one more window is placed flush with the contig end so that the tail is
  covered (it overlaps its neighbour by more than ``seq_length - stride``). A contig
  shorter than ``seq_length`` yields no window (a window would reach into the next
  contig, possibly of another fold); such contigs are logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from natsort import natsort_key

from .. import YeastzoiError
from ..genome.regions import intervals_by_chrom, merge_intervals, read_bed

log = logging.getLogger(__name__)

WINDOW_COLUMNS = ["chrom", "start", "end", "split"]


@dataclass(frozen=True, order=True)
class Contig:
    """A stretch [start, end) of chromosome ``chrom`` (bp, 0-based half-open)."""
    chrom: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def read_bed_intervals(path, chrom_sizes: dict[str, int] | None = None,
                       resolve: Callable[[str], str] | None = None) -> dict[str, np.ndarray]:
    """A BED file (read by :func:`yeastzoi.genome.read_bed`) → {chrom: int64 array (n, 2)}
    sorted and merged (:func:`yeastzoi.genome.merge_intervals`).

    ``resolve`` maps the file's chromosome names onto the genome's (e.g. ``Genome.resolve``);
    with ``chrom_sizes``, intervals on chromosomes absent from it are an error (one line,
    listing the names), and intervals are clipped to the chromosome.
    """
    bed = read_bed(path)
    names = {}
    for chrom in bed["chrom"].unique():
        name = chrom
        if resolve is not None:
            try:
                name = resolve(chrom)
            except Exception:  # noqa: BLE001 - resolver raises its own error type
                name = None
        names[chrom] = name
    if chrom_sizes is not None:
        unknown = [c for c, n in names.items() if n not in chrom_sizes]
        if unknown:
            known = ", ".join(list(chrom_sizes)[:20])
            raise YeastzoiError(f"{path}: chromosome names {', '.join(sorted(unknown, key=natsort_key)[:10])} "
                                f"are not in the genome ({known}); rename them to match the FASTA")
    bed = bed.assign(chrom=bed["chrom"].map(names))
    if chrom_sizes is not None and len(bed):
        size = bed["chrom"].map(chrom_sizes).to_numpy(np.int64)
        bed = bed.assign(start=np.minimum(bed["start"].to_numpy(), size), end=np.minimum(bed["end"].to_numpy(), size))
    return intervals_by_chrom(bed)


def split_contigs(chrom_sizes: dict[str, int], gaps: dict[str, np.ndarray] | None = None,
                  unmap: dict[str, np.ndarray] | None = None, min_unmap_len: int = 10_000,
                  min_length: int = 1) -> list[Contig]:
    """Chromosomes minus gaps (and unmappable stretches ≥ ``min_unmap_len`` bp) → contigs.

    Pieces shorter than ``min_length`` bp are logged and left out. Returned in natural
    chromosome order then start.
    """
    contigs = []
    for chrom in sorted(chrom_sizes, key=natsort_key):
        size = int(chrom_sizes[chrom])
        cuts = []
        if gaps and chrom in gaps:
            cuts.append(np.asarray(gaps[chrom]).reshape(-1, 2))
        if unmap and chrom in unmap:
            u = np.asarray(unmap[chrom]).reshape(-1, 2)
            cuts.append(u[(u[:, 1] - u[:, 0]) >= min_unmap_len])
        cut = merge_intervals(np.vstack(cuts)) if cuts else np.zeros((0, 2), np.int64)
        pos = 0
        for s, e in cut:
            s, e = max(0, int(s)), min(size, int(e))
            if s > pos:
                contigs.append(Contig(chrom, pos, s))
            pos = max(pos, e)
        if pos < size:
            contigs.append(Contig(chrom, pos, size))
    short = [c for c in contigs if c.length < min_length]
    if short:
        log.info("%d contigs shorter than %d bp left out (%d bp)", len(short), min_length,
                 sum(c.length for c in short))
    return [c for c in contigs if c.length >= min_length]


def split_arms_into_folds(contigs: Iterable[Contig], k: int) -> list[list[Contig]]:
    """Assign contigs (chromosome arms) to ``k`` folds balanced by total length.

    Rule (see the module docstring): halve any piece longer than total/k at its midpoint
    until none is, then longest-first to the currently smallest fold. Returns k lists of
    contigs, each sorted by (chrom natural order, start). Every input base lands in exactly
    one fold.
    """
    contigs = list(contigs)
    if k < 2:
        raise YeastzoiError(f"number of folds must be >= 2, got {k}")
    if len(contigs) == 0:
        raise YeastzoiError("no contigs to split into folds (empty genome or everything gapped)")
    total = sum(c.length for c in contigs)
    limit = total / k
    pieces = []
    todo = list(contigs)
    while todo:
        c = todo.pop()
        if c.length > limit and c.length >= 2:
            mid = c.start + c.length // 2
            todo += [Contig(c.chrom, c.start, mid), Contig(c.chrom, mid, c.end)]
        else:
            pieces.append(c)
    pieces.sort(key=lambda c: (-c.length, natsort_key(c.chrom), c.start))
    folds: list[list[Contig]] = [[] for _ in range(k)]
    sums = [0] * k
    for c in pieces:
        f = min(range(k), key=lambda i: (sums[i], i))
        folds[f].append(c)
        sums[f] += c.length
    if len(pieces) < k:
        log.warning("only %d contig pieces for %d folds: %d folds are empty", len(pieces), k, k - len(pieces))
    return [sorted(f, key=lambda c: (natsort_key(c.chrom), c.start)) for f in folds]


def fold_roles(k: int, f: int) -> dict[str, list[int]]:
    """Which folds play which role for cross-validation fold ``f``: test f, valid f+1, rest train."""
    v = (f + 1) % k
    return {"test": [f], "valid": [v], "train": [g for g in range(k) if g not in (f, v)]}


def split_by_chromosomes(contigs: Iterable[Contig], test_chroms: Iterable[str] = (),
                         valid_chroms: Iterable[str] = (),
                         chrom_sizes: dict[str, int] | None = None) -> list[tuple[Contig, str]]:
    """Label contigs ``test``/``valid``/``train`` by chromosome lists (``-t``/``-v``)."""
    test_chroms, valid_chroms = list(test_chroms), list(valid_chroms)
    both = set(test_chroms) & set(valid_chroms)
    if both:
        raise YeastzoiError(f"chromosomes {', '.join(sorted(both))} are in both the test (-t) and valid (-v) lists")
    if chrom_sizes is not None:
        missing = [c for c in test_chroms + valid_chroms if c not in chrom_sizes]
        if missing:
            raise YeastzoiError(f"held-out chromosomes {', '.join(missing)} are not in the genome "
                                f"({', '.join(sorted(chrom_sizes, key=natsort_key))}); fix -t/-v")
    out = []
    for c in contigs:
        sp = "test" if c.chrom in test_chroms else "valid" if c.chrom in valid_chroms else "train"
        out.append((c, sp))
    return out


def contig_windows(contig: Contig, seq_length: int, stride: int) -> np.ndarray:
    """Start positions (bp) of the windows of one contig (see module docstring)."""
    if contig.length < seq_length:
        return np.zeros(0, np.int64)
    last = contig.end - seq_length
    starts = np.arange(contig.start, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def make_windows(labelled: Iterable[tuple[Contig, str]], seq_length: int, stride: int) -> pd.DataFrame:
    """Windows of every labelled contig → DataFrame(chrom, start, end, split).

    Rows come in input contig order, then by start. ``end - start == seq_length``.
    """
    if seq_length < 1 or stride < 1:
        raise YeastzoiError(f"seq_length and stride must be >= 1 (got {seq_length}, {stride})")
    chroms, starts, splits = [], [], []
    short = []
    for c, sp in labelled:
        s = contig_windows(c, seq_length, stride)
        if len(s) == 0:
            short.append(c)
        chroms += [c.chrom] * len(s)
        starts.append(s)
        splits += [sp] * len(s)
    if short:
        log.warning("%d contigs shorter than seq_length=%d bp yield no windows (%d bp): %s",
                    len(short), seq_length, sum(c.length for c in short),
                    ", ".join(f"{c.chrom}:{c.start}-{c.end}" for c in short[:5]))
    st = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    return pd.DataFrame({"chrom": pd.Series(chroms, dtype=object), "start": st,
                         "end": st + seq_length, "split": pd.Series(splits, dtype=object)})


def interval_coverage(windows: pd.DataFrame, intervals: dict[str, np.ndarray],
                      chrom_sizes: dict[str, int]) -> np.ndarray:
    """Fraction of each window's bp covered by ``intervals`` (merged per chrom) → float (n,)."""
    out = np.zeros(len(windows))
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        iv = intervals.get(chrom)
        if iv is None or len(iv) == 0:
            continue
        size = int(chrom_sizes[chrom])
        cov = np.zeros(size + 1, np.int32)
        iv = np.clip(np.asarray(iv), 0, size)
        np.add.at(cov, iv[:, 0], 1)
        np.add.at(cov, iv[:, 1], -1)
        csum = np.concatenate([[0], np.cumsum((np.cumsum(cov)[:size] > 0).astype(np.int64))])
        s = np.clip(windows["start"].to_numpy()[idx], 0, size)
        e = np.clip(windows["end"].to_numpy()[idx], 0, size)
        L = (windows["end"].to_numpy()[idx] - windows["start"].to_numpy()[idx]).astype(float)
        out[idx] = (csum[e] - csum[s]) / L
    return out


def overlaps_any(windows: pd.DataFrame, intervals: dict[str, np.ndarray]) -> np.ndarray:
    """bool (n,): window overlaps at least one interval (``--limit BED``)."""
    keep = np.zeros(len(windows), bool)
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        iv = intervals.get(chrom)
        if iv is None or len(iv) == 0:
            continue
        iv = merge_intervals(iv)
        s = windows["start"].to_numpy()[idx]
        e = windows["end"].to_numpy()[idx]
        # first interval whose end > window start; overlap if its start < window end
        j = np.searchsorted(iv[:, 1], s, side="right")
        ok = j < len(iv)
        keep[idx[ok]] = iv[j[ok], 0] < e[ok]
    return keep


def n_fraction(windows: pd.DataFrame, codes: dict[str, np.ndarray]) -> np.ndarray:
    """Fraction of N (code 4, including bp past chromosome ends) per window → float (n,).

    ``codes``: {chrom: uint8 codes of the whole chromosome}.
    """
    out = np.zeros(len(windows))
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        c = codes[chrom]
        size = len(c)
        csum = np.concatenate([[0], np.cumsum(c == 4, dtype=np.int64)])
        s0 = windows["start"].to_numpy()[idx]
        e0 = windows["end"].to_numpy()[idx]
        s, e = np.clip(s0, 0, size), np.clip(e0, 0, size)
        outside = (e0 - s0) - (e - s)
        out[idx] = (csum[e] - csum[s] + outside) / (e0 - s0)
    return out


def filter_windows(windows: pd.DataFrame, *, n_frac: np.ndarray | None = None, max_n_frac: float = 1.0,
                   exon_frac: np.ndarray | None = None, min_exon_frac: float = 0.0,
                   limit: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, dict]:
    """Apply the N-fraction, exon-fraction and ``--limit`` filters.

    Keeps windows with ``n_frac <= max_n_frac``, ``exon_frac >= min_exon_frac`` and (with
    ``limit``) overlapping a limit interval. Returns (kept windows with a fresh index,
    {filter name: number removed}).
    """
    keep = np.ones(len(windows), bool)
    removed = {}
    if n_frac is not None:
        bad = n_frac > max_n_frac
        removed["n_fraction"] = int((bad & keep).sum())
        keep &= ~bad
    if exon_frac is not None and min_exon_frac > 0:
        bad = exon_frac < min_exon_frac
        removed["exon_fraction"] = int((bad & keep).sum())
        keep &= ~bad
    if limit is not None:
        bad = ~overlaps_any(windows, limit)
        removed["limit"] = int((bad & keep).sum())
        keep &= ~bad
    return windows[keep].reset_index(drop=True), removed
