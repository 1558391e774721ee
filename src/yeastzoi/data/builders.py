"""Builders: a track dataset (FASTA + targets sheet → records) and an LM corpus (SPECIES.tsv).
Many genomes with their own tracks in one dataset: :mod:`yeastzoi.data.genomes`, built on the
helpers here (:func:`labelled_contigs`, :func:`split_homology`, :func:`write_track_records`, ...).

Both write a data directory (see :mod:`yeastzoi.data.tfrecords`): ``tfrecords/{split}-{i}.tfr``,
``statistics.json`` (written last: its presence marks a complete build), ``sequences.bed``
(full input windows, seq_length bp, 0-based half-open; the LM corpus adds a 5th column,
the species name). Rebuilding into the same folder first deletes old ``*.tfr`` files.

Track targets (:func:`build_track_dataset`), per window and track:

1. per-base coverage over the target region ``[start + crop_bp, end - crop_bp)``
   (``(seq_length - 2·crop_bp) / pool_width`` bins); NaN bases count as 0, negative values
   as 0 (a WARNING per file counts them: :func:`yeastzoi.coverage.clip_negative`);
2. transform with :func:`yeastzoi.coverage.transform_tracks` (scale, pool by sum_stat, soft
   clip, hard clip);
3. blacklist (``-b``): bins overlapping a blacklist interval, and unmappable bins (``-u``:
   bins with more than ``umap_frac`` of their bp unmappable) become
   ``min(value, median of the window's other bins of that track)``
   (:func:`yeastzoi.coverage.apply_blacklist`): artefact spikes are flattened, real low
   values stay. Unmappable stretches of at least ``min_unmap_len`` bp also split contigs.

A track that is NaN over every window is an error; a chromosome absent from a coverage
file is a warning with counts (reads as zeros) from :class:`yeastzoi.coverage.CoverageFile`.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.genes import exon_intervals
from ..genome.regions import interval_mask, padded_slice
from ..genome.species import read_species_table  # noqa: F401 (also yeastzoi.data.read_species_table)
from .homology import HeldOutIndex, fold_homology_filter, held_out_sequences, homology_filter
from .tfrecords import (TFR_DIR, ShardWriter, remove_stale_records, serialize_example,
                        write_sequences_bed, write_statistics)
from .windows import (filter_windows, interval_coverage, make_windows, n_fraction, read_bed_intervals,
                      split_arms_into_folds, split_by_chromosomes, split_contigs)

log = logging.getLogger(__name__)

#: progress(desc, total) → update(n) callable (e.g. ``lambda d, t: tqdm(total=t, desc=d).update``)
ProgressFactory = Callable[[str, int], Callable[[int], None]]

LM_TEST = ("chrXII", "chrXIV", "chrXVI")
LM_VALID = ("chrXI", "chrXIII", "chrXV")


def noop_progress(desc, total):
    return lambda n: None


def chrom_list(value) -> list[str]:
    """Chromosome names from a comma-separated string or an iterable (None → [])."""
    if value is None:
        return []
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    return list(value)


def _resolve_chroms(genome, names, flag) -> list[str]:
    """FASTA names of ``names`` (aliases allowed); an unknown one is an error naming ``flag``."""
    out = []
    for n in names:
        try:
            out.append(genome.resolve(n))
        except YeastzoiError:
            raise YeastzoiError(f"{flag} chromosome '{n}' is not in {genome.path} "
                                f"({', '.join(list(genome.chroms)[:20])}); fix the list") from None
    return out


def bed_intervals(path, genome) -> dict[str, np.ndarray] | None:
    """Merged intervals per FASTA chromosome of a BED (None for no path)."""
    if path is None:
        return None
    return read_bed_intervals(path, genome.chroms, resolve=genome.resolve)


def _bp_mask(intervals: dict[str, np.ndarray] | None, chrom: str, size: int) -> np.ndarray:
    """uint8 (size,): 1 on the bases of ``chrom`` inside ``intervals`` (merged, per chrom)."""
    if intervals and chrom in intervals and len(intervals[chrom]):
        iv = intervals[chrom]
        return interval_mask(iv[:, 0], iv[:, 1], 0, size)
    return np.zeros(size, np.uint8)


@contextlib.contextmanager
def record_writers(out_dir: Path, splits, seqs_per_file: int):
    """Shard writers for ``splits`` in ``out_dir/tfrecords`` (an old statistics.json and old
    shards are removed first), closed when the block succeeds. On failure the shards are
    removed, and ``out_dir`` too when this build created it: a failed build leaves no
    folder behind."""
    created = not out_dir.exists()
    tfr_dir = out_dir / TFR_DIR
    (out_dir / "statistics.json").unlink(missing_ok=True)
    remove_stale_records(tfr_dir)
    writers = {sp: ShardWriter(tfr_dir, sp, seqs_per_file) for sp in splits}
    try:
        yield writers
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        remove_stale_records(tfr_dir)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


# ============================================================================ track dataset
def check_geometry(seq_length, pool_width, crop_bp, folds, test_chroms, valid_chroms) -> int:
    """Target bins per window; one-line errors for an impossible geometry or split choice."""
    if seq_length % pool_width:
        raise YeastzoiError(f"seq_length {seq_length} is not divisible by pool_width {pool_width}; "
                            f"choose -l as a multiple of -w")
    if crop_bp % pool_width or crop_bp < 0:
        raise YeastzoiError(f"crop_bp {crop_bp} is not a non-negative multiple of pool_width {pool_width}; fix -c")
    if seq_length - 2 * crop_bp <= 0:
        raise YeastzoiError(f"-l {seq_length} bp minus 2 × -c {crop_bp} bp leaves no target region; raise -l "
                            f"(seq_length) above {2 * crop_bp} or lower -c (crop_bp) below {seq_length // 2}")
    if folds is None and not (test_chroms or valid_chroms):
        raise YeastzoiError("no held-out data: give -t/-v chromosome lists or -f K folds")
    if folds is not None and (test_chroms or valid_chroms):
        raise YeastzoiError("give either -f K folds or -t/-v chromosome lists, not both")
    return (seq_length - 2 * crop_bp) // pool_width


def labelled_contigs(genome, contigs, folds, test_chroms, valid_chroms):
    """(labelled contigs, split names, fold layout or None) for folds or -t/-v lists."""
    sizes = genome.chroms
    if folds is None:
        tc = _resolve_chroms(genome, chrom_list(test_chroms), "-t")
        vc = _resolve_chroms(genome, chrom_list(valid_chroms), "-v")
        return split_by_chromosomes(contigs, tc, vc, chrom_sizes=sizes), ["train", "valid", "test"], None
    fold_lists = split_arms_into_folds(contigs, int(folds))
    labelled = [(c, f"fold{k}") for k, fl in enumerate(fold_lists) for c in fl]
    labelled.sort(key=lambda cs: (list(sizes).index(cs[0].chrom), cs[0].start))
    layout = [[f"{c.chrom}:{c.start}-{c.end}" for c in fl] for fl in fold_lists]
    return labelled, [f"fold{k}" for k in range(int(folds))], layout


def split_homology(windows, get, folds, homology_kw, threads, progress):
    """Windows after the homology filter (-t/-v: train vs held-out; folds: greedy) and its report.

    ``get(species, chrom, start, end)`` → uint8 codes (see :func:`yeastzoi.data.homology_filter`;
    a ``species`` column of ``windows`` names the genome each row comes from)."""
    kw = dict(homology_kw or {})
    if folds is not None:
        upd = progress("homology", len(windows))
        return fold_homology_filter(windows, get, int(folds), threads=threads, progress=upd, **kw)
    upd = progress("homology", int((windows["split"] == "train").sum()))
    return homology_filter(windows, get, threads=threads, progress=upd, **kw)


def _warn_negative(files, counts, lowest) -> None:
    for f, n, low in zip(files, counts, lowest):
        if n:
            log.warning("%s: %d negative coverage value(s) (lowest %.4g) on the windows' chromosomes, "
                        "clipped to 0 before the transform (coverage is read mass; is this an "
                        "input-subtracted or log-ratio track?)", f, int(n), float(low))


def write_track_records(windows, writers, genome, codes, covs, targets, crop_bp, pool_width,
                        target_length, black, unmap, umap_frac, progress, genome_index: int | None = None,
                        label: str = "records") -> None:
    """Transform and write every window's targets; errors for NaN-only tracks, warnings for
    negative coverage. ``genome_index``: the records' ``genome`` feature (many-genome
    datasets; None writes none). ``label``: the progress bar's name."""
    from ..coverage import apply_blacklist, bin_mask, clip_negative, transform_tracks
    T = len(targets)
    any_finite, neg, lowest = np.zeros(T, bool), np.zeros(T, np.int64), np.zeros(T)
    n_nan, n_inf, first_bad = np.zeros(T, np.int64), np.zeros(T, np.int64), [None] * T
    upd = progress(label, len(windows))
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        size = genome.chroms[chrom]
        cov = np.stack([cf.values(chrom, 0, size) for cf in covs], axis=1)  # (size, T) raw
        any_finite |= np.isfinite(cov).any(0)
        nan_m, inf_m = np.isnan(cov), np.isinf(cov)
        n_nan, n_inf = n_nan + nan_m.sum(0), n_inf + inf_m.sum(0)
        for t in np.flatnonzero((nan_m | inf_m).any(0)):
            if first_bad[t] is None:
                first_bad[t] = f"{chrom}:{int(np.flatnonzero(nan_m[:, t] | inf_m[:, t])[0])}"
        cov, n_neg, low = clip_negative(cov)
        neg, lowest = neg + n_neg, np.minimum(lowest, low)
        umask = _bp_mask(unmap, chrom, size) if unmap else None
        bl = black.get(chrom) if black else None
        for i in idx:
            s, e, sp = int(windows.at[i, "start"]), int(windows.at[i, "end"]), windows.at[i, "split"]
            ts, te = s + crop_bp, e - crop_bp
            y = transform_tracks(cov[ts:te], targets, pool_width)
            bad = np.zeros(target_length, bool)
            if bl is not None and len(bl):
                bad |= bin_mask(bl, ts, target_length, pool_width)
            if umask is not None:
                bad |= umask[ts:te].reshape(target_length, pool_width).mean(1) > umap_frac
            if bad.any():
                y = apply_blacklist(y, bad)
            writers[sp].write(serialize_example(padded_slice(codes[chrom], s, e), y, genome=genome_index))
        upd(len(idx))
    _warn_negative(targets["file"], neg, lowest)
    for f, a, b, where in zip(targets["file"], n_nan, n_inf, first_bad):
        if (a or b) and any_finite[list(targets["file"]).index(f)]:
            log.warning("%s: %d NaN and %d ±Inf coverage value(s) on the windows' chromosomes (first at %s); "
                        "NaN and -Inf are read as 0, +Inf as the track's clip value", f, int(a), int(b), where)
    nan_only = [str(f) for f, ok in zip(targets["file"], any_finite) if not ok]
    if nan_only:
        raise YeastzoiError(f"{nan_only[0]}: the track is NaN over every window"
                            f"{f' (and {len(nan_only) - 1} more tracks)' if len(nan_only) > 1 else ''}; "
                            "check the coverage file or drop it from the targets sheet")


def track_stats(seq_length, pool_width, crop_bp, stride, target_length, num_targets, chrom_sizes, writers,
                folds, fold_layout, test_chroms, valid_chroms, removed, hom_report, seed, t0) -> dict:
    """statistics.json of a track dataset (``chrom_sizes``: the reference genome's, bp)."""
    stats = {"seq_length": seq_length, "seq_depth": 4, "seq_1hot": True, "target_length": target_length,
             "num_targets": num_targets, "pool_width": pool_width, "crop_bp": crop_bp, "stride": stride,
             "num_species": 1, "sequences_bed": "full input windows (seq_length bp)",
             "chrom_sizes": {c: int(n) for c, n in chrom_sizes.items()}}
    stats.update({f"{sp}_seqs": w.count for sp, w in writers.items()})
    if folds is not None:
        stats.update(folds=int(folds), fold_contigs=fold_layout)
    else:
        stats.update(test_chroms=chrom_list(test_chroms), valid_chroms=chrom_list(valid_chroms))
    stats["filters_removed"] = removed
    if hom_report is not None:
        stats["homology"] = {k: v for k, v in hom_report.items() if k != "removed_by_chrom"}
    stats["seed"] = seed
    stats["build_seconds"] = round(time.time() - t0, 2)
    return stats


def build_track_dataset(fasta, targets_path, out_dir, seq_length: int = 16384, pool_width: int = 16,
                        crop_bp: int = 1024, stride: int | None = None, test_chroms=(), valid_chroms=(),
                        folds: int | None = None, gaps_bed=None, unmap_bed=None, blacklist_bed=None,
                        seqs_per_file: int = 256, limit_bed=None, max_n_frac: float = 0.1,
                        gtf=None, min_exon_frac: float = 0.0, umap_frac: float = 0.3,
                        min_unmap_len: int = 10_000, homology: bool = True, homology_kw: dict | None = None,
                        seed: int | None = None, threads: int = 2,
                        progress: ProgressFactory | None = None) -> dict:
    """Build a track dataset in ``out_dir``; returns the statistics dict.

    Windows are ``seq_length`` bp every ``stride`` bp (default: the target length
    ``seq_length - 2·crop_bp``, so target regions tile each contig) inside contigs (the
    chromosomes cut at ``gaps_bed`` and long unmappable stretches). Splits: either
    ``folds=K`` (records ``fold{k}-{i}.tfr``, contigs = chromosome arms, see
    :func:`yeastzoi.data.windows.split_arms_into_folds`) or ``test_chroms``/``valid_chroms``
    (``train/valid/test-{i}.tfr``). Filters: N fraction > ``max_n_frac``, exon fraction <
    ``min_exon_frac`` (needs ``gtf``), ``limit_bed`` (keep windows overlapping it).
    Homology (``homology=True``): -t/-v: train windows matching valid/test windows are
    removed; folds: greedy over folds (see :mod:`yeastzoi.data.homology`); ``homology_kw`` passes
    min_identity / max_query_cov / min_block. ``seed`` is recorded only (the build is
    deterministic).
    """
    from ..coverage import CoverageFile, read_targets, write_targets
    from ..genome import Genome

    t0 = time.time()
    progress = progress or noop_progress
    seq_length, pool_width, crop_bp = int(seq_length), int(pool_width), int(crop_bp)
    target_length = check_geometry(seq_length, pool_width, crop_bp, folds, test_chroms, valid_chroms)
    stride = int(stride or seq_length - 2 * crop_bp)
    genome = Genome(fasta)
    sizes = genome.chroms
    targets = read_targets(targets_path)
    covs = [CoverageFile(f, reference_chroms=sizes) for f in targets["file"]]
    unmap, black = bed_intervals(unmap_bed, genome), bed_intervals(blacklist_bed, genome)
    contigs = split_contigs(sizes, bed_intervals(gaps_bed, genome), unmap, min_unmap_len=min_unmap_len)
    labelled, split_names, fold_layout = labelled_contigs(genome, contigs, folds, test_chroms, valid_chroms)
    windows = make_windows(labelled, seq_length, stride)
    codes = {c: genome.fetch_codes(c, 0, n) for c, n in sizes.items()}
    exon_frac = None
    if gtf is not None and min_exon_frac > 0:
        exon_frac = interval_coverage(windows, exon_intervals(gtf, genome.chroms), sizes)
    windows, removed = filter_windows(windows, n_frac=n_fraction(windows, codes), max_n_frac=max_n_frac,
                                      exon_frac=exon_frac, min_exon_frac=min_exon_frac,
                                      limit=bed_intervals(limit_bed, genome))
    hom_report = None
    if homology and len(windows):
        get = lambda sp, c, s, e: padded_slice(codes[c], s, e)  # noqa: E731
        windows, hom_report = split_homology(windows, get, folds, homology_kw, threads, progress)
    if len(windows) == 0:
        raise YeastzoiError(f"{fasta}: no windows left after filtering (seq_length {seq_length}, "
                            f"filters removed {removed}); lower -l or relax the filters")

    out_dir = Path(out_dir)
    try:
        with record_writers(out_dir, split_names, seqs_per_file) as writers:
            write_track_records(windows, writers, genome, codes, covs, targets, crop_bp, pool_width,
                                target_length, black, unmap, umap_frac, progress)
    finally:
        for cf in covs:
            cf.close()

    write_sequences_bed(out_dir / "sequences.bed", windows)
    write_targets(out_dir / "targets.txt", targets)
    stats = track_stats(seq_length, pool_width, crop_bp, stride, target_length, len(targets), sizes, writers,
                        folds, fold_layout, test_chroms, valid_chroms, removed, hom_report, seed, t0)
    write_statistics(out_dir / "statistics.json", stats)
    log.info("wrote %d records to %s in %.1f s", len(windows), out_dir, time.time() - t0)
    return stats


# ============================================================================ LM corpus
def _species_windows(si, row, genome, seq_length, stride, test_chroms, valid_chroms, limit_bed,
                     max_n_frac, min_exon_frac, exon_trim, codes, report):
    """One species' windows after the N / exon / limit filters, and its exon intervals."""
    sizes = genome.chroms
    contigs = split_contigs(sizes)
    if si == 0:
        tc = _resolve_chroms(genome, chrom_list(test_chroms), "-t")
        vc = _resolve_chroms(genome, chrom_list(valid_chroms), "-v")
        labelled = split_by_chromosomes(contigs, tc, vc, chrom_sizes=sizes)
    else:
        labelled = [(c, "train") for c in contigs]
    w = make_windows(labelled, seq_length, stride)
    exons = exon_intervals(row["gtf"], genome.chroms, exon_trim) if row["gtf"] else {}
    ef = interval_coverage(w, exons, sizes) if min_exon_frac > 0 else None
    limit = bed_intervals(limit_bed, genome) if (limit_bed is not None and si == 0) else None
    w, removed = filter_windows(w, n_frac=n_fraction(w, codes), max_n_frac=max_n_frac,
                                exon_frac=ef, min_exon_frac=min_exon_frac, limit=limit)
    report["removed_by_filter"][row["name"]] = removed
    return w, exons


def _write_lm_records(w, writers, si, row, genome, codes, exons, progress) -> None:
    """Records (sequence, species, exon mask, repeat mask) of one species' windows."""
    sizes = genome.chroms
    rmask = {c: genome.repeat_mask(c, 0, n) for c, n in sizes.items()}
    if row["repeats"]:
        rep = bed_intervals(row["repeats"], genome)
        for c in rmask:
            rmask[c] = np.maximum(rmask[c], _bp_mask(rep, c, sizes[c]))
    upd = progress(f"records {row['name']}", len(w))
    for c, idx in w.groupby("chrom", sort=False).indices.items():
        emask = _bp_mask(exons, c, sizes[c])
        for i in idx:
            s, e, sp = int(w.at[i, "start"]), int(w.at[i, "end"]), w.at[i, "split"]
            writers[sp].write(serialize_example(
                padded_slice(codes[c], s, e), species=si,
                mask=padded_slice(emask, s, e, 0), repeat_mask=padded_slice(rmask[c], s, e, 0)))
        upd(len(idx))


def build_lm_corpus(species_tsv, out_dir, seq_length: int = 16384, stride: int = 4096,
                    test_chroms=LM_TEST, valid_chroms=LM_VALID, limit_bed=None, max_n_frac: float = 0.1,
                    min_exon_frac: float = 0.0, exon_trim: int = 10, homology: bool = True,
                    homology_kw: dict | None = None, seqs_per_file: int = 256, threads: int = 2,
                    progress: ProgressFactory | None = None) -> dict:
    """Build a masked-LM corpus in ``out_dir`` from SPECIES.tsv
    (:func:`yeastzoi.genome.read_species_table`); returns the statistics dict.

    Reference species (first row): chromosomes in ``valid_chroms``/``test_chroms`` give the
    valid/test windows; every other chromosome of every species is train (non-reference
    genomes are all train). Held-out chromosome names are resolved in the reference FASTA
    (aliases allowed). Windows: ``seq_length`` every ``stride`` within each chromosome (tail
    window flush with the end). Filters: N fraction > ``max_n_frac``, exon fraction <
    ``min_exon_frac``, ``limit_bed`` (applies to the reference species only). Homology: train
    windows of any species matching reference valid/test windows are removed.

    Records: ``sequence``, ``species`` (row index in SPECIES.tsv), ``mask`` (1 on exon bases
    of any gene: GTF ``exon`` rows, else ``CDS``, each trimmed by ``exon_trim`` bp at both
    ends), ``repeat_mask`` (1 on soft-masked FASTA bases or inside the ``repeats`` BED).
    The sheet is read (and checked) before anything is written.
    """
    from ..genome import Genome

    t0 = time.time()
    progress = progress or noop_progress
    table = read_species_table(species_tsv)
    names = table["name"].tolist()
    for fasta in table["fasta"]:  # every index checked (a stale .fai rebuilt) before any output
        Genome(fasta).close()
    all_windows, index = [], None
    report = {"removed_by_filter": {}, "homology_removed": {}, "windows": {}}
    with record_writers(Path(out_dir), ("train", "valid", "test"), seqs_per_file) as writers:
        for si, row in table.iterrows():
            with Genome(row["fasta"]) as genome:
                codes = {c: genome.fetch_codes(c, 0, n) for c, n in genome.chroms.items()}
                w, exons = _species_windows(si, row, genome, seq_length, stride, test_chroms, valid_chroms,
                                            limit_bed, max_n_frac, min_exon_frac, exon_trim, codes, report)
                get = lambda sp, c, s, e, codes=codes: padded_slice(codes[c], s, e)  # noqa: E731
                if homology and si == 0 and w["split"].isin(["valid", "test"]).any():
                    held = w["split"].isin(["valid", "test"]).to_numpy()
                    index = HeldOutIndex(held_out_sequences(w[held], get), threads=threads, **dict(homology_kw or {}))
                if homology and index is not None:
                    upd = progress(f"homology {row['name']}", int((w["split"] == "train").sum()))
                    w, hrep = homology_filter(w, get, index=index, progress=upd)
                    report["homology_removed"][row["name"]] = hrep["removed"]
                _write_lm_records(w, writers, si, row, genome, codes, exons, progress)
            report["windows"][row["name"]] = int(len(w))
            all_windows.append(w.assign(species=row["name"]))
        windows = pd.concat(all_windows, ignore_index=True)
        if len(windows) == 0:
            raise YeastzoiError(f"{species_tsv}: no windows (seq_length {seq_length} longer than every chromosome, "
                                f"or all filtered); lower -l")
    out_dir = Path(out_dir)
    # sequences.bed in record order within each split: species order, then genome order
    _write_lm_bed(out_dir / "sequences.bed", windows)
    stats = {"seq_length": int(seq_length), "seq_depth": 4, "seq_1hot": True, "stride": int(stride),
             "num_species": len(names), "species": names, "reference_species": names[0],
             "test_chroms": chrom_list(test_chroms), "valid_chroms": chrom_list(valid_chroms),
             "exon_trim": exon_trim, "max_n_frac": max_n_frac, "min_exon_frac": min_exon_frac,
             "homology": bool(homology), "sequences_bed": "full input windows (seq_length bp); 5th column species"}
    stats.update({f"{sp}_seqs": writers[sp].count for sp in ("train", "valid", "test")})
    stats["report"] = report
    stats["build_seconds"] = round(time.time() - t0, 2)
    write_statistics(out_dir / "statistics.json", stats)
    log.info("LM corpus: %s records in %.1f s", {sp: writers[sp].count for sp in writers}, time.time() - t0)
    return stats


def _write_lm_bed(path, windows: pd.DataFrame) -> None:
    from ..fileio import write_text_atomic
    lines = [f"{c}\t{s}\t{e}\t{sp}\t{n}" for c, s, e, sp, n in
             zip(windows["chrom"], windows["start"], windows["end"], windows["split"], windows["species"])]
    write_text_atomic(path, "\n".join(lines) + "\n")


__all__ = ["build_track_dataset", "build_lm_corpus", "read_species_table"]
