"""Coverage track files: writing bigWig and w5, reading bigWig / w5 / BED / bedGraph.

Coordinates are 0-based, half-open. Values are per base pair (float32 in memory). w5 is
HDF5 with one float16 gzip dataset per chromosome; values beyond the float16 range are
clipped to ±65504 by :func:`yeastzoi.coverage.clip_float16` (a WARNING with counts).
File chromosome names are matched to the reference's through aliases
(:func:`yeastzoi.coverage.map_chroms`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.coverage.chroms import map_chroms, preview_names
from yeastzoi.coverage.transform import FLOAT16_MAX, clip_float16
from yeastzoi.fileio import atomic_path
from yeastzoi.genome.regions import read_bed

log = logging.getLogger(__name__)


def _check_lengths(coverage: dict, chrom_sizes: dict, path):
    for c, arr in coverage.items():
        if c not in chrom_sizes:
            raise YeastzoiError(f"{path}: coverage has chromosome {c!r} that is not in the "
                                f"chromosome sizes; pass sizes for every chromosome")
        if np.shape(arr) != (int(chrom_sizes[c]),):
            raise YeastzoiError(f"{path}: coverage of {c} has shape {np.shape(arr)} but the "
                                f"chromosome is {chrom_sizes[c]} bp; give one value per bp")


def run_length_encode(values: np.ndarray):
    """Runs of equal values in a 1-D array → (starts, ends, values), 0-based half-open.

    NaNs form one run per base (NaN != NaN). All runs are returned, zeros included.
    """
    v = np.asarray(values)
    if v.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, v[:0]
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [v.size]]).astype(np.int64)
    return starts, ends, v[starts]


def write_bigwig(path, coverage: dict, chrom_sizes: dict, chunk: int = 1_000_000) -> None:
    """Write per-base coverage as a bigWig (atomic).

    coverage: chromosome → (chromosome length,) array; chromosomes absent from it are
    in the header but have no entries. Runs of equal values become one entry; zero and
    NaN runs are not written (they read back as 0 through :class:`CoverageFile`).
    Values are stored as float32. The header lists chromosomes in ``chrom_sizes`` order.
    """
    import pyBigWig

    _check_lengths(coverage, chrom_sizes, path)
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        if bw is None:
            raise YeastzoiError(f"{path}: cannot create bigWig; check the folder is writable")
        try:
            bw.addHeader([(c, int(n)) for c, n in chrom_sizes.items()], maxZooms=10)
            for c in chrom_sizes:
                if c not in coverage:
                    continue
                starts, ends, vals = run_length_encode(np.asarray(coverage[c], dtype=np.float32))
                keep = (vals != 0) & ~np.isnan(vals)
                starts, ends, vals = starts[keep], ends[keep], vals[keep].astype(np.float64)
                for i in range(0, len(starts), chunk):
                    s = starts[i:i + chunk]
                    bw.addEntries([c] * len(s), s.tolist(), ends=ends[i:i + chunk].tolist(),
                                  values=vals[i:i + chunk].tolist())
        finally:
            bw.close()


def write_w5(path, coverage: dict, chrom_sizes: dict) -> None:
    """Write per-base coverage as w5 (HDF5, one float16 gzip dataset per chromosome; atomic).

    Every chromosome of ``chrom_sizes`` gets a dataset (zeros when absent from
    ``coverage``). Values beyond the float16 range are clipped to ±65504 (logged).
    """
    import h5py

    _check_lengths(coverage, chrom_sizes, path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for c, n in chrom_sizes.items():
                arr = np.asarray(coverage.get(c, np.zeros(int(n), np.float32)), dtype=np.float32)
                over = int(np.sum(np.abs(arr) > FLOAT16_MAX))
                if over:
                    log.warning("%s: %d values of %s exceed the float16 range; clipped to "
                                "±65504", path, over, c)
                h5.create_dataset(c, data=clip_float16(arr), compression="gzip",
                                  chunks=(min(int(n), 65536),) if n else None)



class CoverageFile:
    """Read per-base coverage from bigWig (.bw/.bigwig), w5 (.w5/.h5) or BED/bedGraph.

    Args:
        path: the coverage file. BED files (.bed, .bedgraph, .bg; optionally .gz): each
            interval adds its 4th-column score when that is numeric (bedGraph),
            otherwise 1 per base; overlapping intervals add up.
        reference_chroms: optional reference (FASTA) name → length. File chromosome
            names are then matched to these through aliases and :meth:`values` takes
            reference names. A reference chromosome the file lacks is a WARNING (with
            counts) and reads as zeros; a file with no matching chromosome at all is a
            YeastzoiError.

    Attributes:
        chroms: chromosome → length (bp): reference names and lengths when
            ``reference_chroms`` is given (every reference chromosome), else the file's.
        missing: reference chromosomes absent from the file (read as zeros).
    """

    def __init__(self, path, reference_chroms: dict | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise YeastzoiError(f"{self.path}: no such coverage file")
        name = self.path.name.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        self._bw = self._h5 = self._bed = None
        if name.endswith((".bw", ".bigwig")):
            import pyBigWig
            try:
                self._bw = pyBigWig.open(str(self.path))
            except RuntimeError:
                self._bw = None
            if self._bw is None or not self._bw.isBigWig():
                raise YeastzoiError(f"{self.path}: not a readable bigWig file")
            file_chroms = dict(self._bw.chroms())
        elif name.endswith((".w5", ".h5", ".hdf5")):
            import h5py
            try:
                self._h5 = h5py.File(self.path, "r")
            except OSError as e:
                raise YeastzoiError(f"{self.path}: not a readable HDF5/w5 file ({e})") from None
            file_chroms = {k: int(d.shape[0]) for k, d in self._h5.items()
                           if isinstance(d, h5py.Dataset) and d.ndim == 1}
        elif name.endswith((".bed", ".bedgraph", ".bg")):
            self._bed = _read_bed_coverage(self.path, reference_chroms)
            file_chroms = {c: len(v) for c, v in self._bed.items()}
        else:
            raise YeastzoiError(f"{self.path}: unknown coverage format; use .bw/.bigwig, "
                                f".w5/.h5, or .bed/.bedgraph")
        if not file_chroms:
            raise YeastzoiError(f"{self.path}: the file holds no chromosomes")
        self.file_chroms = file_chroms
        if reference_chroms is None:
            self._to_file = {c: c for c in file_chroms}
            self.chroms = dict(file_chroms)
            self.missing = []
        else:
            mapping = map_chroms(list(file_chroms), list(reference_chroms),
                                 what=_what(name), path=self.path)
            self._to_file = {ref: f for f, ref in mapping.items() if ref is not None}
            self.chroms = {c: int(n) for c, n in reference_chroms.items()}
            self.missing = [c for c in reference_chroms if c not in self._to_file]
            extra = [f for f, ref in mapping.items() if ref is None]
            if self.missing:
                log.warning("%s: %d of %d reference chromosomes are absent from the file and "
                            "read as zeros: %s", self.path, len(self.missing),
                            len(reference_chroms), preview_names(self.missing))
            if extra:
                log.warning("%s: %d file chromosome(s) match no reference chromosome and are "
                            "ignored: %s", self.path, len(extra), preview_names(extra))
            for ref, f in self._to_file.items():
                if int(file_chroms[f]) != int(reference_chroms[ref]):
                    log.warning("%s: chromosome %s is %d bp in the file but %s is %d bp in "
                                "the reference", self.path, f, file_chroms[f], ref,
                                reference_chroms[ref])

    def close(self):
        if self._bw is not None:
            self._bw.close()
            self._bw = None
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __enter__(self):
        return self

    def _check_open(self):
        if self._bw is None and self._h5 is None and self._bed is None:
            raise YeastzoiError(f"{self.path}: the coverage file was closed; open it again")

    def __exit__(self, *exc):
        self.close()

    def nan_only(self) -> bool:
        """True when the file holds values and every one of them is NaN (a "NaN-only track").

        bigWig: every stored entry is NaN; w5 / BED: every base is NaN. Reads the whole
        file once (about a second for a 12 Mb genome).
        """
        self._check_open()
        seen = False
        for fchrom in self.file_chroms:
            if self._bw is not None:
                ivs = self._bw.intervals(fchrom)
                vals = np.asarray(ivs, dtype=np.float64)[:, 2] if ivs else np.zeros(0)
                if vals.size:
                    seen = True
                    if not np.isnan(vals).all():
                        return False
            elif self._h5 is not None:
                ds = self._h5[fchrom]
                for i in range(0, ds.shape[0], 1 << 20):
                    seen = True
                    if not np.isnan(ds[i:i + (1 << 20)]).all():
                        return False
            else:
                arr = self._bed[fchrom]
                if arr.size:
                    seen = True
                    if not np.isnan(arr).all():
                        return False
        return seen

    def raise_if_nan_only(self) -> None:
        """Raise YeastzoiError (one line naming the file) when :meth:`nan_only` is true."""
        if self.nan_only():
            raise YeastzoiError(f"{self.path}: every value is NaN (a NaN-only track); regenerate "
                                f"the coverage file or remove the track from the targets sheet")

    def values(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """Per-base values of ``chrom`` over [start, end) (0-based, half-open, bp).

        Returns float32 of shape (end - start,). Positions before 0 or past the
        chromosome's end in the file read as 0, and so does a chromosome the file lacks.
        bigWig positions without an entry read as 0; stored NaN values come back as NaN.
        ``chrom`` is a reference name when the file was opened with
        ``reference_chroms`` (file names are accepted too).
        """
        if end is None:
            if chrom not in self.chroms and chrom not in self.file_chroms:
                raise YeastzoiError(f"{self.path}: unknown chromosome {chrom!r}")
            end = self.chroms.get(chrom, self.file_chroms.get(chrom))
        start, end = int(start), int(end)
        if end < start:
            raise YeastzoiError(f"{self.path}: interval {chrom}:{start}-{end} has end < start")
        out = np.zeros(end - start, dtype=np.float32)
        fchrom = self._to_file.get(chrom)
        if fchrom is None and chrom in self.file_chroms:
            fchrom = chrom
        if fchrom is None:
            if chrom not in self.chroms:
                raise YeastzoiError(f"{self.path}: unknown chromosome {chrom!r}; known: "
                                    f"{preview_names(list(self.chroms))}")
            return out
        self._check_open()
        flen = int(self.file_chroms[fchrom])
        s, e = max(start, 0), min(end, flen)
        if e <= s:
            return out
        if self._bw is not None:
            ivs = self._bw.intervals(fchrom, s, e)
            if ivs:
                a = np.asarray(ivs, dtype=np.float64)[:, :2].astype(np.int64)
                n = e - s
                st = np.clip(a[:, 0] - s, 0, n)
                en = np.clip(a[:, 1] - s, 0, n)
                has = np.cumsum(np.bincount(st, minlength=n + 1)
                                - np.bincount(en, minlength=n + 1))[:n] > 0
                vals = np.asarray(self._bw.values(fchrom, s, e, numpy=True), dtype=np.float32)
                out[s - start:e - start] = np.where(has, vals, np.float32(0))
        elif self._h5 is not None:
            out[s - start:e - start] = self._h5[fchrom][s:e]
        else:
            out[s - start:e - start] = self._bed[fchrom][s:e]
        return out


def _what(name: str) -> str:
    if name.endswith((".bw", ".bigwig")):
        return "bigWig"
    if name.endswith((".w5", ".h5", ".hdf5")):
        return "w5"
    return "BED"


def _read_bed_coverage(path: Path, reference_chroms: dict | None) -> dict:
    """BED / bedGraph (read by :func:`yeastzoi.genome.read_bed`) → chromosome → float32
    per-base array (file names as keys). Each interval adds its 4th-column value when that
    is numeric (bedGraph), else 1 per base; overlapping intervals add up.

    Array lengths: the reference length when a chromosome's name matches a reference
    name exactly or via aliases, else the largest interval end on that chromosome.
    """
    bed = read_bed(path)
    value = (pd.to_numeric(bed["name"], errors="coerce").fillna(1.0).to_numpy(np.float64)
             if "name" in bed else np.ones(len(bed)))
    ref_len = {}
    if reference_chroms and len(bed):
        mapping = map_chroms(list(bed["chrom"].unique()), list(reference_chroms), what="BED", path=path)
        ref_len = {f: int(reference_chroms[r]) for f, r in mapping.items() if r is not None}
    out = {}
    for c, idx in bed.groupby("chrom", sort=False).indices.items():
        st, en, v = bed["start"].to_numpy()[idx], bed["end"].to_numpy()[idx], value[idx]
        n = ref_len.get(c, int(en.max()))
        en = np.minimum(en, n)
        st = np.minimum(st, n)
        diff = np.bincount(st, weights=v, minlength=n + 1) - np.bincount(en, weights=v, minlength=n + 1)
        depth = np.cumsum(np.bincount(st, minlength=n + 1) - np.bincount(en, minlength=n + 1))[:n]
        cov = np.cumsum(diff)[:n]
        cov[depth == 0] = 0.0
        out[c] = cov.astype(np.float32)
    return out
