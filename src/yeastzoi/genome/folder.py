"""Genome folders: the files a genome folder holds, writing one atomically, and reading it.

A *genome folder* (written by :func:`yeastzoi.genome.build_r64`,
:func:`yeastzoi.genome.import_genome` or :func:`yeastzoi.simulate.strains.simulate_strain`)
holds:

- ``genome.fa`` (+ ``genome.fa.fai``): upper-case sequence, 60 bp lines;
- ``genes.gtf``: GTF2 with gene, transcript, exon and CDS rows carrying ``gene_id``,
  ``gene_name``, ``gene_biotype`` and ``transcript_id`` (absent without annotation);
- ``repeats.bed``: chrom, start, end, name, ``.``, strand (for R64 the GenBank LTR,
  mobile_element, telomere and repeat_region features, named ``type:detail``; for an
  import, the FASTA's soft-masked lower-case runs, named ``softmask``);
- ``gaps.bed``: chrom, start, end, name (R64: centromeres; import: centromere features of
  the annotation and runs of >= ``min_gap`` N);
- ``chrom.sizes``: name and length in bp, FASTA order;
- ``genome.json``: a manifest (species name, source, chromosome list).

:func:`write_genome_dir` writes all of them into a temporary folder beside the target and
renames it onto the target at the end, so a failed build leaves no folder behind.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.fileio import write_json_atomic
from yeastzoi.genome.annotation import read_gtf
from yeastzoi.genome.coordmap import CHAIN_NAME
from yeastzoi.genome.fasta import write_fasta
from yeastzoi.genome.genes import genes_table, sort_gene_rows, write_gtf
from yeastzoi.genome.reference import Genome
from yeastzoi.genome.regions import intervals_by_chrom, read_bed, read_chrom_sizes, write_bed, write_chrom_sizes

GENOME_FILES = {
    "fasta": "genome.fa",
    "fai": "genome.fa.fai",
    "gtf": "genes.gtf",
    "repeats": "repeats.bed",
    "gaps": "gaps.bed",
    "chrom_sizes": "chrom.sizes",
    "manifest": "genome.json",
}


def genome_paths(out_dir) -> dict[str, Path]:
    """The paths of a genome folder's files (keys of :data:`GENOME_FILES`)."""
    out_dir = Path(out_dir)
    return {k: out_dir / v for k, v in GENOME_FILES.items()}


def write_genome_dir(out_dir, records, manifest: dict, gtf: pd.DataFrame | None = None, repeats=(),
                     gaps=(), gtf_source: str = "yeastzoi", extra: dict | None = None) -> dict[str, Path]:
    """Write a genome folder atomically and return its paths (``gtf`` only with an annotation).

    ``records``: (name, sequence) in output order (names must be unique: a duplicate is a
    :class:`YeastzoiError` before anything is written); ``gtf``: annotation rows (sorted
    here by chromosome and gene start); ``repeats`` / ``gaps``: BED row tuples (sorted here
    by chromosome order, start, end); ``manifest``: genome.json's content. Everything is
    written into a temporary folder beside ``out_dir`` that replaces ``out_dir`` at the
    end; into an existing non-empty folder the genome files are moved one by one
    (genome.json last) and a genes.gtf (or coordinate map) the new genome lacks is removed.
    ``extra``: file name → writer(path) for further files staged with the rest (a strain's
    coordinate map, :data:`yeastzoi.genome.coordmap.CHAIN_NAME`).
    """
    records = list(records)
    order = [n for n, _ in records]
    dup = [n for n, k in Counter(order).items() if k > 1]
    if dup:
        raise YeastzoiError(f"{out_dir}: chromosome name(s) {', '.join(dup[:5])} given twice; make names unique")
    index = {c: i for i, c in enumerate(order)}
    key = lambda r: (index.get(r[0], len(index)), r[1], r[2])  # noqa: E731
    with _staging_dir(out_dir) as tmp:
        paths = genome_paths(tmp)
        write_fasta(paths["fasta"], records)
        if gtf is not None:
            write_gtf(sort_gene_rows(gtf, order), paths["gtf"], source=gtf_source)
        write_bed(paths["repeats"], sorted(repeats, key=key))
        write_bed(paths["gaps"], sorted(gaps, key=key))
        write_chrom_sizes(paths["chrom_sizes"], [(n, len(s)) for n, s in records])
        for name, writer in (extra or {}).items():
            writer(tmp / name)
        write_json_atomic(paths["manifest"], manifest)
    written = genome_paths(out_dir)
    if gtf is None:
        written.pop("gtf")
    return written


@contextlib.contextmanager
def _staging_dir(out_dir):
    """Yield an empty temporary folder beside ``out_dir``; on success it becomes ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        yield tmp
        _install(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install(tmp: Path, out_dir: Path) -> None:
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    if not out_dir.is_dir():
        raise YeastzoiError(f"{out_dir}: exists and is not a folder; choose another output folder")
    manifest = GENOME_FILES["manifest"]
    (out_dir / manifest).unlink(missing_ok=True)  # the folder reads as incomplete until the end
    names = [p.name for p in tmp.iterdir() if p.name != manifest] + [manifest]
    for name in [*GENOME_FILES.values(), CHAIN_NAME]:
        if name not in names and (out_dir / name).is_file():
            (out_dir / name).unlink()
    for name in names:
        os.replace(tmp / name, out_dir / name)


def open_genome_dir(path, cache: bool = True) -> "Genome":
    """:class:`Genome` of a genome folder's genome.fa with its repeats.bed as repeat mask."""
    info = load_genome_dir(path, require=("fasta",))
    return Genome(info["fasta"], cache=cache, repeats=info["repeats"])


def load_genome_dir(path, require=("fasta", "chrom_sizes")) -> dict:
    """Paths of a genome folder written by :func:`build_r64`/:func:`import_genome`.

    Returns a dict with the keys of :data:`GENOME_FILES` (value None when the file is
    absent), ``coords`` (a strain's coordinate map, else None) plus ``dir`` and ``name`` (from genome.json, else the folder name). Raises
    :class:`YeastzoiError` naming the missing files when any key in ``require`` is absent.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise YeastzoiError(f"{folder}: genome folder not found; build one with "
                            f"`yeastzoi_genome.py r64 {folder}` or `yeastzoi_genome.py import FASTA -o {folder}`")
    out: dict = {"dir": folder}
    for key, fname in GENOME_FILES.items():
        p = folder / fname
        out[key] = p if p.exists() else None
    out["coords"] = folder / CHAIN_NAME if (folder / CHAIN_NAME).is_file() else None
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
        out["repeat_bp"] = _union_bp(rep)
    if info["gaps"] is not None and info["gaps"].stat().st_size:
        gaps = read_bed(info["gaps"])
        out["gaps"] = len(gaps)
        out["gap_names"] = list(gaps["name"]) if "name" in gaps else []
    return out


def _union_bp(bed: pd.DataFrame) -> int:
    """bp covered by the union of a BED table's intervals."""
    return int(sum(int((iv[:, 1] - iv[:, 0]).sum()) for iv in intervals_by_chrom(bed).values()))
