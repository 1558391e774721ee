"""Per-base coverage: BAM → coverage arrays, bigWig / w5 writing, and reading coverage files.

Coordinates are 0-based, half-open throughout. Coverage arrays are per base pair
(one value per bp of the chromosome), float32, *raw* (untransformed) read counts;
the squash transform that turns them into training targets lives in
:mod:`yeastzoi.coverage.targets`.

Chromosome names in BAM / bigWig / w5 / BED files are matched to the reference
(FASTA or chrom.sizes) names through :func:`yeastzoi.genome.aliases.match_chroms`, so a BAM
that says ``I`` and a FASTA that says ``chrI`` work together.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from yeastzoi import YeastzoiError
from yeastzoi.fileio import atomic_path

log = logging.getLogger(__name__)

FLOAT16_MAX = 65504.0

#: Reasons a BAM record can be skipped, in the order they are tested.
SKIP_REASONS = ("unmapped", "secondary", "supplementary", "qc_fail", "duplicate",
                "low_mapq", "multimapper", "other_strand", "unknown_chrom",
                "no_aligned_bases", "off_chrom")


@dataclasses.dataclass
class CoverageResult:
    """Result of :func:`bam_to_coverage`.

    coverage: chromosome (reference name) → float32 array of shape (chromosome length,),
        raw per-base coverage (read mass per bp).
    counts: reason → number of BAM records: ``records`` (all seen), ``used``,
        ``weighted_multimappers`` (used with weight 1/NH) and one entry per skip reason
        in :data:`SKIP_REASONS` (zero entries included).
    """
    coverage: dict
    counts: dict

    @property
    def total(self) -> float:
        """Total read mass placed on the chromosomes (float)."""
        return float(sum(float(v.sum(dtype=np.float64)) for v in self.coverage.values()))


# ----------------------------------------------------------------------------- aliases
def _exact_match(names, reference_names):
    """Fallback matcher: exact names, then case-insensitive with an optional 'chr' prefix."""
    def key(n):
        n = n.lower()
        return n[3:] if n.startswith("chr") else n
    ref_by_key = {}
    for r in reference_names:
        ref_by_key.setdefault(key(r), r)
    ref_set = set(reference_names)
    out = {}
    for n in names:
        out[n] = n if n in ref_set else ref_by_key.get(key(n))
    return out


def map_chroms(names, reference_names, what: str, path) -> dict:
    """Map file chromosome names to reference names (alias-aware, partial matches allowed).

    Returns dict file name → reference name, or None for names that match nothing.
    Raises YeastzoiError when no name matches at all.
    """
    names = list(names)
    reference_names = list(reference_names)
    try:
        from yeastzoi.genome.aliases import match_chroms
    except ImportError:  # aliases.py not available: exact / 'chr'-prefix matching only
        match_chroms = None
    if match_chroms is not None:
        res = match_chroms(names, reference_names, what=what, reference="FASTA",
                           path=str(path), strict=False)
        mapping = {n: res.get(n) for n in names}
    else:
        mapping = _exact_match(names, reference_names)
    if names and not any(v is not None for v in mapping.values()):
        raise YeastzoiError(
            f"{path}: none of the {what} chromosome names ({_preview(names)}) match the "
            f"reference names ({_preview(reference_names)}); use a reference for the same "
            f"assembly or rename the chromosomes")
    return mapping


def _preview(names, n=6):
    names = list(names)
    s = ", ".join(names[:n])
    return s + (f", … ({len(names)} in all)" if len(names) > n else "")


# ----------------------------------------------------------------------------- BAM
def bam_to_coverage(bam_path, chrom_sizes: dict, mode: str = "5p", shift: int = 0,
                    strand: str | None = None, skip_duplicates: bool = True,
                    multimap: str = "skip", min_mapq: int = 0,
                    progress=None) -> CoverageResult:
    """Per-base coverage from a BAM file.

    Args:
        bam_path: BAM (or SAM/CRAM readable by pysam); it need not be indexed, records
            are read once from start to end.
        chrom_sizes: reference chromosome name → length (bp). BAM reference names are
            matched to these through aliases (``I`` ↔ ``chrI``); records on BAM
            references with no match are counted as ``unknown_chrom``.
        mode: ``"5p"``: each read adds its weight at one base, its 5′ end (forward
            reads: first aligned base; reverse reads: last aligned base), moved
            ``shift`` bp toward the read's 3′ direction (e.g. half the fragment length
            for ChIP-exo / MNase fragment centres). Positions moved off the chromosome
            are dropped and counted as ``off_chrom``.
            ``"all"``: each read adds total mass = its weight, spread evenly over its
            aligned bases (CIGAR M/=/X); skipped regions (N, introns) and deletions (D)
            get nothing (RNA-seq, spliced reads). Blocks past the chromosome end are
            cut (the read is counted ``off_chrom`` but its in-range mass is kept).
        shift: bp, only for mode "5p" (may be negative).
        strand: None keeps both strands; ``"+"`` keeps forward reads, ``"-"`` reverse
            reads. The read strand is the alignment strand of each record; for stranded
            libraries from :mod:`yeastzoi.simulate.run` the read strand equals the
            transcript strand (for dUTP libraries sequenced as read 1, flip it).
            Each BAM record counts as one read (paired mates count separately).
        skip_duplicates: skip records flagged as PCR/optical duplicates (0x400).
        multimap: ``"skip"`` drops records with NH > 1; ``"weight"`` keeps them with
            weight 1/NH (records without an NH tag have weight 1).
        min_mapq: records with mapping quality below this are skipped (``low_mapq``).
        progress: optional callable(n) called with the number of records read since its
            last call (every 65,536 records and at the end), e.g. ``tqdm.update``.

    Unmapped (0x4), secondary (0x100), supplementary (0x800) and QC-fail (0x200)
    records are always skipped.

    Returns:
        CoverageResult: float32 (chromosome length,) per chromosome of ``chrom_sizes``
        (zeros where the BAM has no reads) and counts per reason.
    """
    import pysam

    if mode not in ("5p", "all"):
        raise YeastzoiError(f"coverage mode {mode!r} is not one of '5p', 'all'")
    if strand not in (None, "+", "-"):
        raise YeastzoiError(f"strand {strand!r} is not one of None, '+', '-'")
    if multimap not in ("skip", "weight"):
        raise YeastzoiError(f"multimap {multimap!r} is not one of 'skip', 'weight'")
    if mode == "all" and shift:
        raise YeastzoiError("a shift only applies to mode '5p'; drop --shift for mode 'all'")
    bam_path = Path(bam_path)
    bam = _open_bam(bam_path)

    names = list(chrom_sizes)
    sizes = np.array([int(chrom_sizes[c]) for c in names], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    genome_len = int(offsets[-1])
    with bam:
        refs = list(bam.references)
        mapping = map_chroms(refs, names, what="BAM", path=bam_path) if refs else {}
        tid_ref = [mapping.get(r) for r in refs]
        ref_index = {c: i for i, c in enumerate(names)}
        tid_idx = [ref_index[r] if r is not None else -1 for r in tid_ref]
        tid_off = [int(offsets[i]) if i >= 0 else -1 for i in tid_idx]
        tid_len = [int(sizes[i]) if i >= 0 else -1 for i in tid_idx]
        for r, n, L in zip(refs, tid_idx, bam.lengths):
            if n >= 0 and int(L) != int(sizes[n]):
                log.warning("%s: BAM chromosome %s is %d bp but reference %s is %d bp; "
                            "positions past the reference end are dropped",
                            bam_path, r, L, names[n], sizes[n])
        unmatched = [r for r, m in zip(refs, tid_ref) if m is None]
        if unmatched:
            log.warning("%s: %d BAM chromosome(s) match no reference name; their reads are "
                        "skipped: %s", bam_path, len(unmatched), _preview(unmatched))

        counts = dict.fromkeys(("records", "used", "weighted_multimappers") + SKIP_REASONS, 0)
        pos_l, w_l = [], []           # 5p: genome offset, weight
        st_l, en_l, bw_l = [], [], []  # all: block genome start/end, weight per base
        keep_rev = None if strand is None else (strand == "-")
        weighted = multimap == "weight"
        n_rec = 0
        for read in bam.fetch(until_eof=True):
            n_rec += 1
            if progress is not None and not n_rec & 0xFFFF:
                progress(0x10000)
            flag = read.flag
            if flag & 0x4:
                counts["unmapped"] += 1
                continue
            if flag & 0x100:
                counts["secondary"] += 1
                continue
            if flag & 0x800:
                counts["supplementary"] += 1
                continue
            if flag & 0x200:
                counts["qc_fail"] += 1
                continue
            if skip_duplicates and flag & 0x400:
                counts["duplicate"] += 1
                continue
            if min_mapq and read.mapping_quality < min_mapq:
                counts["low_mapq"] += 1
                continue
            w = 1.0
            if read.has_tag("NH"):
                nh = read.get_tag("NH")
                if nh > 1:
                    if not weighted:
                        counts["multimapper"] += 1
                        continue
                    w = 1.0 / nh
                    counts["weighted_multimappers"] += 1
            rev = bool(flag & 0x10)
            if keep_rev is not None and rev != keep_rev:
                counts["other_strand"] += 1
                continue
            tid = read.reference_id
            off = tid_off[tid]
            if off < 0:
                counts["unknown_chrom"] += 1
                continue
            L = tid_len[tid]
            if mode == "5p":
                p = read.reference_end - 1 - shift if rev else read.reference_start + shift
                if p < 0 or p >= L:
                    counts["off_chrom"] += 1
                    continue
                pos_l.append(off + p)
                w_l.append(w)
            else:
                blocks = read.get_blocks()
                nb = 0
                for s, e in blocks:
                    nb += e - s
                if nb == 0:
                    counts["no_aligned_bases"] += 1
                    continue
                wb = w / nb
                cut = False
                for s, e in blocks:
                    if e > L:
                        cut = True
                        e = L
                    if e > s:
                        st_l.append(off + s)
                        en_l.append(off + e)
                        bw_l.append(wb)
                if cut:
                    counts["off_chrom"] += 1
            counts["used"] += 1
        counts["records"] = n_rec
        if progress is not None and n_rec & 0xFFFF:
            progress(n_rec & 0xFFFF)

    if mode == "5p":
        pos = np.asarray(pos_l, dtype=np.int64)
        flat = np.bincount(pos, weights=np.asarray(w_l, dtype=np.float64), minlength=genome_len)
    else:
        st = np.asarray(st_l, dtype=np.int64)
        en = np.asarray(en_l, dtype=np.int64)
        wb = np.asarray(bw_l, dtype=np.float64)
        diff = (np.bincount(st, weights=wb, minlength=genome_len + 1)
                - np.bincount(en, weights=wb, minlength=genome_len + 1))
        flat = np.cumsum(diff)[:genome_len]
        # exact zeros where no block covers a base (removes floating-point residue)
        depth = np.cumsum(np.bincount(st, minlength=genome_len + 1)
                          - np.bincount(en, minlength=genome_len + 1))[:genome_len]
        flat[depth == 0] = 0.0
        np.maximum(flat, 0.0, out=flat)
    coverage = {c: flat[offsets[i]:offsets[i + 1]].astype(np.float32)
                for i, c in enumerate(names)}
    log.info("%s: %d records, %d used; skipped %s", bam_path, counts["records"], counts["used"],
             ", ".join(f"{k} {counts[k]}" for k in SKIP_REASONS if counts[k]) or "none")
    return CoverageResult(coverage=coverage, counts=counts)


# ----------------------------------------------------------------------------- writing
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
                                "65504", path, over, c)
                    arr = np.clip(arr, -FLOAT16_MAX, FLOAT16_MAX)
                h5.create_dataset(c, data=arr.astype(np.float16), compression="gzip",
                                  chunks=(min(int(n), 65536),) if n else None)


# ----------------------------------------------------------------------------- reading
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
                            len(reference_chroms), _preview(self.missing))
            if extra:
                log.warning("%s: %d file chromosome(s) match no reference chromosome and are "
                            "ignored: %s", self.path, len(extra), _preview(extra))
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
                                    f"{_preview(list(self.chroms))}")
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
    """BED / bedGraph → chromosome → float32 per-base array (file names as keys).

    Array lengths: the reference length when a chromosome's name matches a reference
    name exactly or via aliases, else the largest interval end on that chromosome.
    """
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    rows = {}
    with opener(path, "rt") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n\r").split("\t")
            if len(f) < 3:
                raise YeastzoiError(f"{path} line {ln}: a BED line needs chrom, start, end "
                                    f"separated by tabs")
            try:
                s, e = int(f[1]), int(f[2])
            except ValueError:
                raise YeastzoiError(f"{path} line {ln}: start/end {f[1]!r}, {f[2]!r} are not "
                                    f"integers; BED columns 2-3 are 0-based start and end") from None
            if s < 0 or e < s:
                raise YeastzoiError(f"{path} line {ln}: interval {s}-{e} is invalid; need "
                                    f"0 <= start <= end")
            v = 1.0
            if len(f) >= 4:
                try:
                    v = float(f[3])
                except ValueError:
                    v = 1.0  # a name column (plain BED): 1 per base
            rows.setdefault(f[0], []).append((s, e, v))
    ref_len = {}
    if reference_chroms:
        mapping = map_chroms(list(rows), list(reference_chroms), what="BED", path=path) if rows else {}
        ref_len = {f: int(reference_chroms[r]) for f, r in mapping.items() if r is not None}
    out = {}
    for c, ivs in rows.items():
        a = np.asarray(ivs, dtype=np.float64)
        st, en, v = a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2]
        n = ref_len.get(c, int(en.max()))
        en = np.minimum(en, n)
        st = np.minimum(st, n)
        diff = np.bincount(st, weights=v, minlength=n + 1) - np.bincount(en, weights=v, minlength=n + 1)
        depth = np.cumsum(np.bincount(st, minlength=n + 1) - np.bincount(en, minlength=n + 1))[:n]
        cov = np.cumsum(diff)[:n]
        cov[depth == 0] = 0.0
        out[c] = cov.astype(np.float32)
    return out


def _open_bam(bam_path: Path):
    """Open a BAM/SAM/CRAM with pysam; YeastzoiError (no htslib noise) when it cannot be read."""
    import pysam

    if not bam_path.exists():
        raise YeastzoiError(f"{bam_path}: no such BAM file")
    verbosity = pysam.set_verbosity(0)
    try:
        return pysam.AlignmentFile(str(bam_path), "r" if bam_path.suffix == ".sam" else "rb")
    except (ValueError, OSError) as e:
        raise YeastzoiError(f"{bam_path}: cannot be read as BAM ({e}); give a BAM file") from None
    finally:
        pysam.set_verbosity(verbosity)


def count_bam_records(bam_path) -> int | None:
    """Number of records from the BAM index (mapped + unmapped), or None without an index.

    Raises YeastzoiError when the file is missing or not a BAM.
    """
    with _open_bam(Path(bam_path)) as bam:
        try:
            if not bam.has_index():
                return None
            return int(sum(s.total for s in bam.get_index_statistics()) + bam.nocoordinate)
        except (ValueError, OSError, AttributeError):
            return None
