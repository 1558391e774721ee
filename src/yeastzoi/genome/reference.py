"""Random access to an indexed FASTA: :class:`Genome` (windows as text, codes or repeat masks).

Coordinates are 0-based half-open ``[start, end)`` in bp; positions outside a chromosome
read as N. The samtools ``.fai`` index is built when missing and rebuilt, with a
warning, when stale (see :func:`yeastzoi.genome.fasta.stale_fai_reason`).
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import canonical_chrom, match_chroms
from yeastzoi.genome.dna import ascii_to_codes
from yeastzoi.genome.fasta import read_fai, stale_fai_reason, write_fai
from yeastzoi.genome.regions import interval_mask, intervals_by_chrom, read_bed

log = logging.getLogger(__name__)


def ensure_fai(path: Path) -> Path:
    """The ``.fai`` of the plain FASTA ``path``, built when missing and rebuilt (WARNING
    naming the reason) when stale. In a read-only folder a missing or stale index is a
    one-line :class:`YeastzoiError` naming the file and the fix."""
    fai = Path(str(path) + ".fai")
    reason = stale_fai_reason(path, fai) if fai.exists() else None
    if fai.exists() and reason is None:
        return fai
    if not os.access(path.parent, os.W_OK):
        if reason is None:
            raise YeastzoiError(
                f"{path}: FASTA has no index ({fai.name}) and its folder is read-only; run "
                f"`samtools faidx {path}` where you may write, or copy the FASTA to a writable folder")
        raise YeastzoiError(
            f"{fai}: stale FASTA index ({reason}) and the folder is read-only; delete {fai} and run "
            f"`samtools faidx {path}`, or copy the FASTA without its .fai to a writable folder")
    if reason is not None:
        log.warning("%s: stale FASTA index (%s; the FASTA changed after indexing); rebuilt", fai, reason)
    else:
        log.info("indexing %s", path)
    write_fai(path, fai)
    return fai


class Genome:
    """Random access to an indexed FASTA (0-based half-open coordinates, bp).

    The ``.fai`` is built next to the FASTA when missing and rebuilt with a warning when
    stale (:func:`ensure_fai`; a read-only folder gives a one-line :class:`YeastzoiError`).
    Whole chromosomes are cached as uint8 byte arrays on first use (``cache=True``), so
    repeated window fetches cost one slice each.
    Chromosome arguments may be aliases (``I``, ``chr1``, ``NC_001133.9`` …; see
    :meth:`resolve`).

    ``repeats``: optional BED path or DataFrame (chrom, start, end) of repeat intervals
    (e.g. a genome folder's repeats.bed); :meth:`repeat_mask` then marks them as well as the
    lower-case bases. Its chromosome names are matched to the FASTA's by alias; names not
    in the FASTA are logged as a warning; none matching is an error.
    """

    def __init__(self, fasta_path, cache: bool = True, repeats=None):
        import pyfaidx

        path = Path(fasta_path)
        if not path.is_file():
            raise YeastzoiError(f"{path}: FASTA file not found; check the path")
        if path.suffix == ".gz":
            raise YeastzoiError(f"{path}: compressed FASTA cannot be indexed here; gunzip it, or "
                                f"normalise it with `yeastzoi_genome.py import {path} -o DIR`")
        fai = ensure_fai(path)
        self.path = path
        self._cache_enabled = cache
        self._cache: dict[str, np.ndarray] = {}
        try:
            with warnings.catch_warnings():  # the index was checked against the file above
                warnings.filterwarnings("ignore", message="Index file .* is older than FASTA", category=RuntimeWarning)
                self._fa = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=False,
                                         rebuild=False, build_index=False)
        except Exception as exc:  # pyfaidx raises several types for bad index files
            raise YeastzoiError(f"{fai}: cannot read the FASTA index ({exc}); delete it so it is rebuilt") from None
        self.chroms: dict[str, int] = {name: e[0] for name, e in read_fai(fai).items()}
        self._aliases = {}
        for name in self.chroms:
            canon = canonical_chrom(name)
            if canon is not None:
                self._aliases.setdefault(canon, []).append(name)
        self._repeats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if repeats is not None:
            self._repeats = self._load_intervals(repeats, "repeats BED")

    def _load_intervals(self, bed, what: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        src = None
        if not isinstance(bed, pd.DataFrame):
            src, bed = bed, read_bed(bed)
        if bed.empty:
            return {}
        cmap = match_chroms(bed["chrom"].unique(), list(self.chroms), what=what, reference="FASTA",
                            path=src, strict=False)
        if cmap.unmatched:
            log.warning("%s: %d %s chromosome(s) not in %s ignored: %s", src or what, len(cmap.unmatched),
                        what, self.path, ", ".join(cmap.unmatched[:10]))
        bed = bed[bed["chrom"].isin(list(cmap))].assign(chrom=lambda d: d["chrom"].map(cmap))
        return {c: (iv[:, 0], iv[:, 1]) for c, iv in intervals_by_chrom(bed).items()}

    # -- names
    def resolve(self, name: str) -> str:
        """FASTA name for ``name`` (exact, else via :func:`canonical_chrom`)."""
        if name in self.chroms:
            return name
        canon = canonical_chrom(name)
        hits = self._aliases.get(canon, []) if canon is not None else []
        if len(hits) == 1:
            return hits[0]
        names = list(self.chroms)
        shown = ", ".join(names[:20]) + (f", ... (+{len(names) - 20} more)" if len(names) > 20 else "")
        alias = f" (alias of {canon})" if canon is not None and canon != name else ""
        raise YeastzoiError(f"{self.path}: no chromosome '{name}'{alias} in the FASTA (it has {shown}); "
                            f"use one of these names or an R64 alias")

    # -- sequence
    def _bytes(self, chrom: str) -> np.ndarray:
        arr = self._cache.get(chrom)
        if arr is None:
            seq = self._fa[chrom][:]
            arr = np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)
            if self._cache_enabled:
                self._cache[chrom] = arr
        return arr

    def _window(self, chrom: str, start: int, end: int, fill: int) -> np.ndarray:
        """ASCII bytes of [start, end) padded with ``fill`` outside [0, length)."""
        chrom = self.resolve(chrom)
        start, end = int(start), int(end)
        if end < start:
            raise YeastzoiError(f"{self.path}: interval {chrom}:{start}-{end} has end < start")
        length = self.chroms[chrom]
        out = np.full(end - start, fill, dtype=np.uint8)
        lo, hi = max(start, 0), min(end, length)
        if hi > lo:
            if self._cache_enabled:
                out[lo - start:hi - start] = self._bytes(chrom)[lo:hi]
            else:
                seq = self._fa[chrom][lo:hi]
                out[lo - start:hi - start] = np.frombuffer(seq.encode("ascii", "replace"), np.uint8)
        return out

    def fetch(self, chrom: str, start: int, end: int, upper: bool = True) -> str:
        """Sequence of [start, end) (str of length end-start), 'N' outside the chromosome.

        ``upper=False`` keeps the FASTA's case (soft-masked bases stay lower-case)."""
        text = self._window(chrom, start, end, ord("N")).tobytes().decode("ascii")
        return text.upper() if upper else text

    def fetch_codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """uint8 (end-start,) codes A0 C1 G2 T3 N4; 4 for positions outside the chromosome."""
        return ascii_to_codes(self._window(chrom, start, end, ord("N")))

    def repeat_mask(self, chrom: str, start: int, end: int) -> np.ndarray:
        """uint8 (end-start,): 1 where the FASTA base is lower-case (soft-masked) or lies in
        a ``repeats`` interval, else 0 (also 0 outside the chromosome)."""
        chrom = self.resolve(chrom)
        window = self._window(chrom, start, end, ord("N"))
        mask = ((window >= 97) & (window <= 122)).astype(np.uint8)
        if chrom in self._repeats:
            mask |= interval_mask(*self._repeats[chrom], start, end)
            lo, hi = max(0, -int(start)), min(len(mask), self.chroms[chrom] - int(start))
            mask[:lo] = 0
            mask[max(hi, 0):] = 0
        return mask

    def close(self):
        self._cache.clear()
        self._fa.close()

    def __getstate__(self):
        # picklable for multiprocessing: the FASTA is reopened, the cache starts empty
        return {"path": self.path, "cache": self._cache_enabled, "repeats": self._repeats}

    def __setstate__(self, state):
        self.__init__(state["path"], cache=state["cache"])
        self._repeats = state["repeats"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Genome({str(self.path)!r}, {len(self.chroms)} chroms, {sum(self.chroms.values()):,} bp)"
