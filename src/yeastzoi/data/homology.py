"""Remove training windows homologous to held-out (valid/test) windows, with minimap2 (mappy).

The held-out windows' sequence (their union per chromosome, merged) is indexed with
minimap2's ``asm20`` preset; each training window is mapped against it. A training window
is removed when ANY of its alignments has identity (matches / alignment block length)
above ``min_identity`` over a block of at least ``min_block`` bp, OR when its alignments
together cover more than ``max_query_cov`` of the window (union of aligned query spans /
window length). Defaults follow Shorkie's rule: > 80 % identity or > 10 % query coverage.
Note that with ``min_block=0`` a single short high-identity hit (a tRNA, a Ty LTR) is enough
to remove a window: on R64 with the LM split this removes 441 of 1,582 train windows
(16,384 bp, stride 4,096); ``min_block=2000`` removes 191.

For K-fold layouts (:func:`fold_homology_filter`) the rule is applied greedily over folds:
fold 0 is kept whole; the windows of fold g are checked against the kept windows of folds
0..g-1, so no kept window of one fold matches (by the rule) a kept window of an earlier fold.
"""
from __future__ import annotations

import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd

from ..genome.dna import codes_to_seq
from ..genome.regions import merge_intervals

log = logging.getLogger(__name__)

HELD_OUT = ("valid", "test")


def query_coverage(spans: list[tuple[int, int]], length: int) -> float:
    """Fraction of a query of ``length`` bp covered by the union of its aligned
    ``(query start, query end)`` spans (0 without spans)."""
    if not spans:
        return 0.0
    m = merge_intervals(np.array(spans))
    return float((m[:, 1] - m[:, 0]).sum()) / length


class HeldOutIndex:
    """A minimap2 index over held-out sequence and the removal rule (see module docstring)."""

    def __init__(self, sequences: list[str], min_identity: float = 0.8, max_query_cov: float = 0.1,
                 min_block: int = 0, preset: str = "asm20", threads: int = 2):
        import mappy
        self.min_identity, self.max_query_cov, self.min_block = min_identity, max_query_cov, min_block
        self.threads = max(1, int(threads))
        self.bp = sum(len(s) for s in sequences)
        fd, fasta = tempfile.mkstemp(suffix=".fa", prefix="yeastzoi_holdout_")
        try:
            with os.fdopen(fd, "w") as fh:
                for i, seq in enumerate(sequences):
                    fh.write(f">r{i}\n{seq}\n")
            self.aligner = mappy.Aligner(fasta, preset=preset, n_threads=self.threads)
            if not self.aligner:
                raise RuntimeError(f"minimap2 failed to index the held-out sequences ({fasta})")
        finally:
            os.unlink(fasta)

    def is_homologous(self, seq: str, buf=None) -> bool:
        """True when ``seq`` (str) matches the held-out sequence by the removal rule."""
        spans = []
        for h in self.aligner.map(seq, buf=buf):
            if h.blen >= max(self.min_block, 1) and h.mlen / h.blen > self.min_identity:
                return True
            spans.append((h.q_st, h.q_en))
        return query_coverage(spans, len(seq)) > self.max_query_cov

    def flag(self, n: int, get_seq: Callable[[int], str],
             progress: Callable[[int], None] | None = None) -> np.ndarray:
        """bool (n,): is_homologous(get_seq(i)) for i < n, mapped on ``threads`` threads."""
        import mappy

        def _run(b):
            buf = mappy.ThreadBuffer()
            out = np.array([self.is_homologous(get_seq(i), buf) for i in range(*b)], bool)
            if progress:
                progress(b[1] - b[0])
            return out

        bounds = [(a, min(a + 64, n)) for a in range(0, n, 64)]
        if not bounds:
            return np.zeros(0, bool)
        with ThreadPoolExecutor(self.threads) as ex:
            return np.concatenate(list(ex.map(_run, bounds)))


def _species_col(windows):
    if "species" in windows.columns:
        return windows["species"].tolist()
    return [None] * len(windows)


def held_out_sequences(windows: pd.DataFrame, get_codes) -> list[str]:
    """Sequences of the union (merged per species/chromosome) of ``windows``."""
    sps = _species_col(windows)
    groups: dict = {}
    for sp, c, s, e in zip(sps, windows["chrom"], windows["start"], windows["end"]):
        groups.setdefault((sp, c), []).append((s, e))
    out = []
    for (sp, c), iv in groups.items():
        for s, e in merge_intervals(np.array(iv)):
            out.append(codes_to_seq(get_codes(sp, c, int(s), int(e))))
    return out


def homology_filter(windows: pd.DataFrame, get_codes: Callable[[object, str, int, int], np.ndarray],
                    min_identity: float = 0.8, max_query_cov: float = 0.1, min_block: int = 0,
                    preset: str = "asm20", held_out=HELD_OUT, threads: int = 2,
                    progress: Callable[[int], None] | None = None,
                    index: HeldOutIndex | None = None) -> tuple[pd.DataFrame, dict]:
    """Drop ``train`` windows that align to held-out windows.

    windows: DataFrame(chrom, start, end, split[, species]) (bp, 0-based half-open).
    get_codes(species, chrom, start, end) → uint8 codes of that window (species is the row's
    ``species`` value, or None when the column is absent).
    index: a prebuilt :class:`HeldOutIndex` (e.g. reused across species); otherwise one is
    built from the windows whose split is in ``held_out``.
    progress: optional callback called with the number of train windows just mapped.

    Returns (kept windows in their original order with a fresh index, report) where report
    = {"removed": n, "train_before": n, "train_after": n, "removed_by_chrom": {label: n},
    "kept_by_split": {split: n}, "params": {...}}. Chromosome labels are
    ``species:chrom`` when a species column exists.
    """
    has_sp = "species" in windows.columns
    train = (windows["split"] == "train").to_numpy()
    params = {"min_identity": min_identity, "max_query_cov": max_query_cov, "min_block": min_block,
              "preset": preset}
    report = {"removed": 0, "train_before": int(train.sum()), "train_after": int(train.sum()),
              "removed_by_chrom": {}, "params": params}
    held = windows["split"].isin(held_out).to_numpy()
    if index is None and held.any() and train.any():
        index = HeldOutIndex(held_out_sequences(windows[held], get_codes), min_identity, max_query_cov,
                             min_block, preset, threads)
        log.info("homology: indexed %d bp of held-out sequence", index.bp)
    if index is None or not train.any():
        report["kept_by_split"] = {k: int(v) for k, v in windows["split"].value_counts().items()}
        return windows.reset_index(drop=True), report
    idx = np.flatnonzero(train)
    sps = np.array(_species_col(windows), dtype=object)[idx]
    chroms = windows["chrom"].to_numpy()[idx]
    starts, ends = windows["start"].to_numpy()[idx], windows["end"].to_numpy()[idx]
    remove = index.flag(len(idx), lambda j: codes_to_seq(get_codes(sps[j], chroms[j], int(starts[j]),
                                                                   int(ends[j]))), progress)
    drop = np.zeros(len(windows), bool)
    drop[idx[remove]] = True
    labels = [f"{s}:{c}" if has_sp else c for s, c in zip(sps[remove], chroms[remove])]
    report["removed_by_chrom"] = {k: int(v) for k, v in pd.Series(labels, dtype=object).value_counts().items()}
    report["removed"] = int(drop.sum())
    report["train_after"] = report["train_before"] - report["removed"]
    kept = windows[~drop].reset_index(drop=True)
    report["kept_by_split"] = {k: int(v) for k, v in kept["split"].value_counts().items()}
    log.info("homology: removed %d of %d train windows", report["removed"], report["train_before"])
    return kept, report


def fold_homology_filter(windows: pd.DataFrame, get_codes, k: int, min_identity: float = 0.8,
                         max_query_cov: float = 0.1, min_block: int = 0, preset: str = "asm20",
                         threads: int = 2, progress=None) -> tuple[pd.DataFrame, dict]:
    """Greedy cross-fold homology removal for splits ``fold0..fold{k-1}`` (module docstring).

    Returns (kept windows, report with "removed", "removed_by_fold", "removed_by_chrom").
    """
    splits = windows["split"].to_numpy()
    drop = np.zeros(len(windows), bool)
    by_fold, by_chrom = {}, {}
    for g in range(1, k):
        earlier = np.isin(splits, [f"fold{i}" for i in range(g)]) & ~drop
        cur = np.flatnonzero(splits == f"fold{g}")
        if not earlier.any() or len(cur) == 0:
            continue
        index = HeldOutIndex(held_out_sequences(windows[earlier], get_codes), min_identity,
                             max_query_cov, min_block, preset, threads)
        sub = windows.iloc[cur]
        sps = _species_col(sub)
        rem = index.flag(len(cur), lambda j: codes_to_seq(get_codes(
            sps[j], sub["chrom"].iat[j], int(sub["start"].iat[j]), int(sub["end"].iat[j]))), progress)
        drop[cur[rem]] = True
        by_fold[f"fold{g}"] = int(rem.sum())
        for c in sub["chrom"].to_numpy()[rem]:
            by_chrom[c] = by_chrom.get(c, 0) + 1
    kept = windows[~drop].reset_index(drop=True)
    report = {"removed": int(drop.sum()), "windows_before": len(windows), "removed_by_fold": by_fold,
              "removed_by_chrom": by_chrom,
              "params": {"min_identity": min_identity, "max_query_cov": max_query_cov,
                         "min_block": min_block, "preset": preset, "rule": "greedy over folds"}}
    log.info("homology: removed %d of %d windows across folds", report["removed"], len(windows))
    return kept, report
