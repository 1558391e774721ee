"""Many genomes with their own tracks in one track dataset (``yeastzoi_data.py --genomes``).

The genome sheet
----------------
Tab-separated with a header line: ``name``, ``genome_dir`` (a genome folder, see
:mod:`yeastzoi.genome.folder`), ``targets`` (that genome's targets sheet) and optionally
``reference`` (``1``/``yes``/``true`` on exactly one row). ``#`` lines and blank lines are
skipped; relative paths are taken relative to the sheet's folder. The **reference** is the
row marked in ``reference``, else the first row: its coordinates define the splits.

Every other genome is placed on the reference by one of two rules:

* a **strain** (its genome.json names ``strain_of`` — or ``parent``, as SIMULATED strains do —
  and the folder holds ``reference_to_strain.chain``): positions cross through that
  coordinate map (:class:`yeastzoi.genome.CoordMap`). The declared reference must be the
  sheet's reference (its genome.json name or its sheet name), and the map's chromosome
  sizes must match both genomes;
* a genome with neither a declaration nor a map whose chromosomes all exist in the reference
  with the same sizes maps to it by identity (the same assembly with another set of tracks).

Track identifiers: every genome's targets sheet must list the same identifiers in the same
order, with the same transform (clip, clip_soft, scale, sum_stat, strand_pair); files and
descriptions may differ. The dataset's ``targets.txt`` is the reference row's sheet.

Windows and splits
------------------
Contigs and their splits (``-t``/``-v`` chromosomes or ``-f K`` folds of arms) are made on the
reference (gaps: the reference folder's gaps.bed unless ``gaps_bed`` is given). Each contig
is lifted into every genome (:meth:`CoordMap.lift_region`, reference → genome) and windows
tile the lifted contig in that genome's own coordinates, so the same reference locus has the
same split in every genome: no locus is train in one strain and test in another. Each
window's **reference locus** is its interval lifted back (genome → reference); a window whose
locus is not inside one reference contig of its split is dropped and counted
(``straddling_dropped``; none are expected, as windows lie inside lifted contigs). BED
options (blacklist, unmappable, limit, gaps) are in reference coordinates and are lifted into
each genome; ``min_exon_frac`` uses each genome folder's own genes.gtf.

Homology: train windows of any genome that align to valid/test windows of any genome are
removed by :func:`yeastzoi.data.homology_filter` (``-f K``: the greedy fold rule across all
genomes' windows). Strains ~99 % identical share splits by construction; the filter catches
paralogs across genomes.

Outputs beyond a single-genome dataset: records carry ``genome`` (int64, the row index in
statistics.json's ``genomes``); sequences.bed adds ``genome`` (name), ``ref_start``,
``ref_end`` (the reference locus, same chromosome name); ``genomes.tsv`` lists the sheet as
used (absolute paths); statistics.json adds ``genomes``, ``reference_genome``,
``num_genomes``, ``genome_seqs`` ({genome: {split: n}}), ``straddling_dropped`` and per-genome
``filters_removed``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.regions import padded_slice
from .builders import (ProgressFactory, bed_intervals, check_geometry, labelled_contigs, noop_progress,
                       record_writers, split_homology, track_stats, write_track_records)
from .tfrecords import write_sequences_bed, write_statistics
from .windows import Contig, filter_windows, interval_coverage, make_windows, n_fraction, split_contigs

log = logging.getLogger(__name__)

GENOME_SHEET_COLUMNS = ("name", "genome_dir", "targets")
#: targets sheet columns that must agree across genomes (the records' transformed space)
TRANSFORM_COLUMNS = ("clip", "clip_soft", "scale", "sum_stat", "strand_pair")
_HINT = "name<TAB>genome_dir<TAB>targets, optionally reference"
_TRUE, _FALSE = {"1", "yes", "true", "y", "x", "reference"}, {"", "0", "no", "false", "n"}


@dataclasses.dataclass
class SheetGenome:
    """One row of the genome sheet, checked: ``cmap`` None means identity to the reference."""
    index: int
    name: str
    dir: Path
    targets: Path
    line: int
    info: dict                    # :func:`yeastzoi.genome.load_genome_dir`
    sizes: dict[str, int]         # the genome's chrom.sizes
    reference: bool = False
    strain_of: str | None = None
    cmap: object = None           # CoordMap reference → this genome, or None (identity)

    def to_genome(self, chrom: str, start, end):
        """Reference intervals → this genome's (arrays, bp)."""
        if self.cmap is None:
            return np.asarray(start, np.int64), np.asarray(end, np.int64)
        s, e, _ = self.cmap.lift_interval_arrays(chrom, start, end, to_strain=True)
        return s, e

    def to_reference(self, chrom: str, start, end):
        """This genome's intervals → the reference's (arrays, bp)."""
        if self.cmap is None:
            return np.asarray(start, np.int64), np.asarray(end, np.int64)
        s, e, _ = self.cmap.lift_interval_arrays(chrom, start, end, to_strain=False)
        return s, e


# ============================================================================ the sheet
def _sheet_rows(path: Path) -> list[tuple[int, dict]]:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise YeastzoiError(f"{path}: not a text file; the genome sheet is tab-separated text ({_HINT})") from None
    lines = [(i, [f.strip() for f in ln.rstrip("\r").split("\t")]) for i, ln in enumerate(text.split("\n"), 1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise YeastzoiError(f"{path}: no genome rows; write a header ({_HINT}) and one row per genome")
    hline, header = lines[0]
    for need in GENOME_SHEET_COLUMNS:
        if need not in header:
            raise YeastzoiError(f"{path}:{hline}: missing column '{need}'; the header needs {_HINT} (tab-separated)")
    rows = []
    for ln, fields in lines[1:]:
        if len(fields) > len(header):
            raise YeastzoiError(f"{path}:{ln}: {len(fields)} tab-separated fields but the header has "
                                f"{len(header)}; separate columns with single tabs")
        row = dict(zip(header, fields + [""] * (len(header) - len(fields))))
        for need in GENOME_SHEET_COLUMNS:
            if not row[need]:
                raise YeastzoiError(f"{path}:{ln}: empty {need}; every genome needs a name, a genome folder "
                                    "and a targets sheet")
        rows.append((ln, row))
    return rows


def _reference_row(path: Path, rows) -> int:
    if "reference" not in rows[0][1]:
        return 0
    marks = []
    for k, (ln, row) in enumerate(rows):
        v = row["reference"].strip().lower()
        if v not in _TRUE | _FALSE:
            raise YeastzoiError(f"{path}:{ln}: reference '{row['reference']}' is not yes/no (1/0); mark one row")
        if v in _TRUE:
            marks.append(k)
    if len(marks) != 1:
        raise YeastzoiError(f"{path}: the reference column marks {len(marks)} rows; mark exactly one genome "
                            "(its coordinates define the splits)")
    return marks[0]


def _resolve(sheet: Path, ln: int, value: str, what: str, folder: bool) -> Path:
    p = Path(value).expanduser()
    p = p if p.is_absolute() else sheet.parent / p
    if not (p.is_dir() if folder else p.is_file()):
        where = "" if Path(value).expanduser().is_absolute() else f" ({p})"
        raise YeastzoiError(f"{sheet}:{ln}: {what} {value}{where} not found (paths are relative to the sheet's "
                            "folder); fix the path")
    return p


def _place_on_reference(sheet: Path, g: SheetGenome, ref: SheetGenome) -> None:
    """Set ``g.cmap`` (None: identity) by the module docstring's rules; one-line errors."""
    from ..genome import CoordMap
    where = f"{sheet}:{g.line}: genome '{g.name}' ({g.dir})"
    ref_names = {ref.name, ref.info["name"]}
    extra = [c for c in g.sizes if c not in ref.sizes]
    if extra:
        raise YeastzoiError(f"{where} has chromosome(s) {', '.join(extra[:5])} that the reference '{ref.name}' "
                            "lacks; chromosome names must be the reference's")
    if g.strain_of is not None and g.strain_of not in ref_names:
        raise YeastzoiError(f"{where} is a strain of '{g.strain_of}' (genome.json) but the sheet's reference is "
                            f"'{ref.info['name']}'; list {g.strain_of}'s folder as the reference or drop this row")
    if g.info["coords"] is None:
        if g.strain_of is not None:
            raise YeastzoiError(f"{where} declares strain_of '{g.strain_of}' but has no coordinate map "
                                "(reference_to_strain.chain); rebuild the strain with `yeastzoi_genome.py apply-vcf`")
        diff = [c for c, n in g.sizes.items() if ref.sizes[c] != n]
        if diff:
            c = diff[0]
            raise YeastzoiError(f"{where} has no coordinate map to the reference and {c} is {g.sizes[c]} bp "
                                f"there but {ref.sizes[c]} bp in '{ref.name}'; build it as a strain "
                                "(yeastzoi_genome.py apply-vcf) or make it the reference")
        return
    cmap = CoordMap.read_chain(g.info["coords"])
    for c, n in g.sizes.items():
        b = cmap.blocks.get(c)
        if b is None or b.strain_size != n or b.ref_size != ref.sizes[c]:
            have = "absent" if b is None else f"{b.ref_size} bp reference / {b.strain_size} bp strain"
            raise YeastzoiError(f"{where}: its coordinate map {g.info['coords']} does not fit {c} ({have}; the "
                                f"reference has {ref.sizes[c]} bp, the genome {n} bp); is it a strain of "
                                f"another reference?")
    g.cmap = cmap


def read_genome_sheet(path) -> list[SheetGenome]:
    """Read and check a genome sheet (module docstring) → one :class:`SheetGenome` per row, in
    sheet order, ``reference`` set on one. Every problem is one :class:`YeastzoiError`
    naming the sheet line and the fix."""
    from ..genome import load_genome_dir, read_chrom_sizes
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: genome sheet not found; check the --genomes path")
    rows = _sheet_rows(path)
    ref_k = _reference_row(path, rows)
    out, seen = [], {}
    for k, (ln, row) in enumerate(rows):
        name = row["name"]
        if any(ch.isspace() for ch in name):
            raise YeastzoiError(f"{path}:{ln}: genome name '{name}' contains whitespace; use letters, digits, _ . -")
        if name in seen:
            raise YeastzoiError(f"{path}:{ln}: genome name '{name}' repeats line {seen[name]}; names must be unique")
        seen[name] = ln
        gdir = _resolve(path, ln, row["genome_dir"], "genome folder", folder=True)
        targets = _resolve(path, ln, row["targets"], "targets sheet", folder=False)
        try:
            info = load_genome_dir(gdir)
        except YeastzoiError as e:
            raise YeastzoiError(f"{path}:{ln}: {e}") from None
        manifest = json.loads(info["manifest"].read_text()) if info["manifest"] is not None else {}
        strain_of = manifest.get("strain_of") or manifest.get("parent")
        if strain_of == info["name"]:   # a chromosome subset of itself (simulate_panel's parent copy)
            strain_of = None
        out.append(SheetGenome(k, name, gdir, targets, ln, info, read_chrom_sizes(info["chrom_sizes"]),
                               reference=k == ref_k, strain_of=str(strain_of) if strain_of else None))
    ref = out[ref_k]
    for g in out:
        if not g.reference:
            _place_on_reference(path, g, ref)
    return out


def read_genome_targets(sheet, genomes: list[SheetGenome]) -> list[pd.DataFrame]:
    """Every genome's targets sheet (:func:`yeastzoi.coverage.read_targets`), checked to list
    the reference's identifiers in the same order with the same transforms."""
    from ..coverage import read_targets
    sheets = [read_targets(g.targets) for g in genomes]
    ref = next(g for g in genomes if g.reference)
    want = sheets[ref.index]
    ids = list(want["identifier"].astype(str))
    for g, t in zip(genomes, sheets):
        have = list(t["identifier"].astype(str))
        where = f"{sheet}:{g.line}: genome '{g.name}' targets {g.targets}"
        if have != ids:
            missing = [i for i in ids if i not in have]
            extra = [i for i in have if i not in ids]
            detail = (f"lacks {', '.join(missing[:5])}" if missing else "") + \
                     ("; " if missing and extra else "") + (f"adds {', '.join(extra[:5])}" if extra else "")
            if not detail:
                k = next(i for i, (a, b) in enumerate(zip(have, ids)) if a != b)
                detail = f"track {k} is '{have[k]}' where the reference has '{ids[k]}' (same ids, other order)"
            raise YeastzoiError(f"{where} {detail} compared with the reference '{ref.name}' ({ref.targets}); "
                                "every genome needs the same track identifiers in the same order")
        for col in TRANSFORM_COLUMNS:
            a, b = t[col].to_numpy(), want[col].to_numpy()
            same = (a == b) | (pd.isna(a) & pd.isna(b)) if a.dtype.kind == "f" else (a == b)
            if not np.all(same):
                k = int(np.flatnonzero(~same)[0])
                raise YeastzoiError(f"{where}: track '{ids[k]}' has {col} {a[k]} but {b[k]} in the reference "
                                    f"'{ref.name}' sheet; a track needs the same transform in every genome")
    return sheets


# ============================================================================ windows
def genome_windows(g: SheetGenome, labelled: list[tuple[Contig, str]], seq_length: int,
                   stride: int) -> tuple[pd.DataFrame, int]:
    """Windows of genome ``g``: the reference's labelled contigs lifted into ``g`` and tiled
    (:func:`yeastzoi.data.make_windows`), with ``genome`` and the reference locus
    (``ref_start``, ``ref_end``). Windows whose locus is not inside one reference contig of
    their split are dropped; returns (windows, number dropped)."""
    lifted = []
    for c, sp in labelled:
        if c.chrom not in g.sizes:
            continue
        s, e = g.to_genome(c.chrom, [c.start], [c.end])
        lifted.append((Contig(c.chrom, int(s[0]), int(e[0])), sp))
    w = make_windows(lifted, seq_length, stride)
    rs, re_ = np.zeros(len(w), np.int64), np.zeros(len(w), np.int64)
    for chrom, idx in w.groupby("chrom", sort=False).indices.items():
        rs[idx], re_[idx] = g.to_reference(chrom, w["start"].to_numpy()[idx], w["end"].to_numpy()[idx])
    w = w.assign(genome=g.name, ref_start=rs, ref_end=re_)
    ok = inside_labelled(w, labelled)
    if not ok.all():
        log.warning("%s: %d window(s) whose reference locus crosses a split boundary dropped", g.name,
                    int((~ok).sum()))
    return w[ok].reset_index(drop=True), int((~ok).sum())


def inside_labelled(windows: pd.DataFrame, labelled: list[tuple[Contig, str]]) -> np.ndarray:
    """bool (n,): the window's reference locus [ref_start, ref_end) lies inside one labelled
    reference contig whose split equals the window's ``split``."""
    ok = np.zeros(len(windows), bool)
    by_chrom: dict[str, list] = {}
    for c, sp in labelled:
        by_chrom.setdefault(c.chrom, []).append((c.start, c.end, sp))
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        cs = sorted(by_chrom.get(chrom, []))
        if not cs:
            continue
        starts = np.array([s for s, _, _ in cs], np.int64)
        k = np.searchsorted(starts, windows["ref_start"].to_numpy()[idx], side="right") - 1
        for j, i in zip(k, idx):
            ok[i] = j >= 0 and windows.at[i, "ref_end"] <= cs[j][1] and cs[j][2] == windows.at[i, "split"]
    return ok


def _lift_intervals(g: SheetGenome, intervals: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """Reference intervals {chrom: (n, 2)} → genome ``g``'s (chromosomes it lacks dropped)."""
    if intervals is None:
        return None
    out = {}
    for c, iv in intervals.items():
        if c in g.sizes and len(iv):
            s, e = g.to_genome(c, iv[:, 0], iv[:, 1])
            out[c] = np.stack([s, e], 1)
    return out


# ============================================================================ the build
SEQUENCES_BED_NOTE = ("full input windows (seq_length bp) in each genome's coordinates; "
                      "columns 5-7: genome, ref_start, ref_end (the reference locus)")


def _write_genome_records(windows, genomes, sheets, codes, writers, crop_bp, pool_width, target_length,
                          black, unmap, umap_frac, progress) -> None:
    """Every genome's windows as records (its own coverage files and sequence); ``codes`` of
    each genome are released once written."""
    from ..coverage import CoverageFile
    from ..genome import Genome

    for g, targets in zip(genomes, sheets):
        w = windows[windows["genome"] == g.name].reset_index(drop=True)
        if len(w) == 0:
            log.warning("%s: no windows left (its chromosomes are outside the splits or filtered)", g.name)
            codes.pop(g.name)
            continue
        covs = []
        try:
            with Genome(g.info["fasta"]) as gg:
                covs = [CoverageFile(f, reference_chroms=gg.chroms) for f in targets["file"]]
                write_track_records(w, writers, gg, codes[g.name], covs, targets, crop_bp, pool_width,
                                    target_length, _lift_intervals(g, black), _lift_intervals(g, unmap),
                                    umap_frac, progress, genome_index=g.index, label=f"records {g.name}")
        finally:
            for cf in covs:
                cf.close()
        codes.pop(g.name)


def build_genomes_track_dataset(sheet, out_dir, seq_length: int = 16384, pool_width: int = 16,
                                crop_bp: int = 1024, stride: int | None = None, test_chroms=(),
                                valid_chroms=(), folds: int | None = None, gaps_bed=None, unmap_bed=None,
                                blacklist_bed=None, seqs_per_file: int = 256, limit_bed=None,
                                max_n_frac: float = 0.1, min_exon_frac: float = 0.0, umap_frac: float = 0.3,
                                min_unmap_len: int = 10_000, homology: bool = True,
                                homology_kw: dict | None = None, seed: int | None = None, threads: int = 2,
                                progress: ProgressFactory | None = None) -> dict:
    """Build one track dataset from the genomes of ``sheet`` (module docstring); returns the
    statistics dict. Arguments as :func:`yeastzoi.data.build_track_dataset`; every BED is in
    reference coordinates (``gaps_bed`` None: the reference folder's gaps.bed) and
    ``min_exon_frac`` uses each genome folder's genes.gtf. Everything is checked (sheet,
    maps, targets sheets, geometry) before anything is written."""
    from ..coverage import write_targets
    from ..genome import Genome, exon_intervals
    from ..fileio import write_text_atomic

    t0 = time.time()
    progress = progress or noop_progress
    seq_length, pool_width, crop_bp = int(seq_length), int(pool_width), int(crop_bp)
    target_length = check_geometry(seq_length, pool_width, crop_bp, folds, test_chroms, valid_chroms)
    stride = int(stride or seq_length - 2 * crop_bp)
    genomes = read_genome_sheet(sheet)
    sheets = read_genome_targets(sheet, genomes)
    if min_exon_frac > 0:
        lacking = [g for g in genomes if g.info["gtf"] is None]
        if lacking:
            raise YeastzoiError(f"{sheet}:{lacking[0].line}: --min_exon needs genes.gtf in every genome folder; "
                                f"{lacking[0].dir} has none (drop --min_exon or add the annotation)")
    ref = next(g for g in genomes if g.reference)
    gaps_bed = gaps_bed if gaps_bed is not None else ref.info["gaps"]
    with Genome(ref.info["fasta"]) as rg:
        unmap, black = bed_intervals(unmap_bed, rg), bed_intervals(blacklist_bed, rg)
        limit = bed_intervals(limit_bed, rg)
        contigs = split_contigs(rg.chroms, bed_intervals(gaps_bed, rg), unmap, min_unmap_len=min_unmap_len)
        labelled, split_names, fold_layout = labelled_contigs(rg, contigs, folds, test_chroms, valid_chroms)
        ref_sizes = dict(rg.chroms)
    parts, codes, removed, dropped = [], {}, {}, {}
    for g in genomes:
        with Genome(g.info["fasta"]) as gg:
            codes[g.name] = {c: gg.fetch_codes(c, 0, n) for c, n in gg.chroms.items()}
            w, dropped[g.name] = genome_windows(g, labelled, seq_length, stride)
            ef = None
            if min_exon_frac > 0:
                ef = interval_coverage(w, exon_intervals(g.info["gtf"], gg.chroms), gg.chroms)
            w, removed[g.name] = filter_windows(w, n_frac=n_fraction(w, codes[g.name]), max_n_frac=max_n_frac,
                                                exon_frac=ef, min_exon_frac=min_exon_frac,
                                                limit=_lift_intervals(g, limit))
        parts.append(w)
    windows = pd.concat(parts, ignore_index=True)
    hom_report = None
    if homology and len(windows):
        get = lambda sp, c, s, e: padded_slice(codes[sp][c], s, e)  # noqa: E731
        kept, hom_report = split_homology(windows.rename(columns={"genome": "species"}), get, folds,
                                          homology_kw, threads, progress)
        windows = kept.rename(columns={"species": "genome"})
    if len(windows) == 0:
        raise YeastzoiError(f"{sheet}: no windows left after filtering (seq_length {seq_length}, filters "
                            f"removed {removed}); lower -l or relax the filters")
    out_dir = Path(out_dir)
    with record_writers(out_dir, split_names, seqs_per_file) as writers:
        _write_genome_records(windows, genomes, sheets, codes, writers, crop_bp, pool_width, target_length,
                              black, unmap, umap_frac, progress)
    write_sequences_bed(out_dir / "sequences.bed", windows, extra=("genome", "ref_start", "ref_end"))
    write_targets(out_dir / "targets.txt", sheets[ref.index])
    write_text_atomic(out_dir / "genomes.tsv", "index\tname\tgenome_dir\ttargets\treference\tstrain_of\n" + "".join(
        f"{g.index}\t{g.name}\t{g.dir.resolve()}\t{g.targets.resolve()}\t{int(g.reference)}\t{g.strain_of or ''}\n"
        for g in genomes))
    stats = track_stats(seq_length, pool_width, crop_bp, stride, target_length, len(sheets[ref.index]), ref_sizes,
                        writers, folds, fold_layout, test_chroms, valid_chroms, removed, hom_report, seed, t0)
    counts = windows.groupby(["genome", "split"]).size()
    stats.update(genomes=[g.name for g in genomes], reference_genome=ref.name, num_genomes=len(genomes),
                 genome_seqs={g.name: {sp: int(counts.get((g.name, sp), 0)) for sp in split_names} for g in genomes},
                 straddling_dropped=dropped, sequences_bed=SEQUENCES_BED_NOTE)
    stats["build_seconds"] = round(time.time() - t0, 2)
    write_statistics(out_dir / "statistics.json", stats)
    log.info("wrote %d records of %d genomes to %s in %.1f s", len(windows), len(genomes), out_dir, time.time() - t0)
    return stats


__all__ = ["GENOME_SHEET_COLUMNS", "TRANSFORM_COLUMNS", "SheetGenome", "read_genome_sheet",
           "read_genome_targets", "genome_windows", "inside_labelled", "build_genomes_track_dataset"]
