"""Builders: a track dataset (FASTA + targets sheet → records) and an LM corpus (SPECIES.tsv).

Both write a data directory (see :mod:`yeastzoi.data.tfrecords`): ``tfrecords/{split}-{i}.tfr``,
``statistics.json`` (written last: its presence marks a complete build), ``sequences.bed``
(full input windows, seq_length bp, 0-based half-open; the LM corpus adds a 5th column,
the species name). Rebuilding into the same folder first deletes old ``*.tfr`` files.

Track targets (:func:`build_track_dataset`), per window and track:

1. per-base coverage over the target region ``[start + crop_bp, end - crop_bp)``
   (``(seq_length - 2·crop_bp) / pool_width`` bins); NaN bases count as 0;
2. transform with :func:`yeastzoi.coverage.targets.transform_tracks` (scale, pool by sum_stat, soft
   clip, hard clip);
3. blacklist (``-b``): bins overlapping a blacklist interval, and unmappable bins (``-u``:
   bins with more than ``umap_frac`` of their bp unmappable) become
   ``min(value, median of the window's other bins of that track)``
   (:func:`yeastzoi.coverage.targets.apply_blacklist`): artefact spikes are flattened, real low
   values stay. Unmappable stretches of at least ``min_unmap_len`` bp also split contigs.

A track that is NaN over every window is an error; a chromosome absent from a coverage
file is a warning with counts (reads as zeros) from :class:`yeastzoi.coverage.tracks.CoverageFile`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from .homology import HeldOutIndex, fold_homology_filter, held_out_sequences, homology_filter
from .tfrecords import (TFR_DIR, ShardWriter, remove_stale_records, serialize_example,
                        write_sequences_bed, write_statistics)
from .windows import (filter_windows, interval_coverage, make_windows, merge_intervals, n_fraction,
                      read_bed_intervals, split_arms_into_folds, split_by_chromosomes, split_contigs)

log = logging.getLogger(__name__)

#: progress(desc, total) → update(n) callable (e.g. ``lambda d, t: tqdm(total=t, desc=d).update``)
ProgressFactory = Callable[[str, int], Callable[[int], None]]

LM_TEST = ("chrXII", "chrXIV", "chrXVI")
LM_VALID = ("chrXI", "chrXIII", "chrXV")


def _noop_progress(desc, total):
    return lambda n: None


def _chrom_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    return list(value)


def _resolve_list(genome, names, flag):
    out = []
    for n in names:
        try:
            out.append(genome.resolve(n))
        except YeastzoiError:
            raise YeastzoiError(f"{flag} chromosome '{n}' is not in {genome.path} "
                                f"({', '.join(list(genome.chroms)[:20])}); fix the list") from None
    return out


def _intervals(path, genome) -> dict[str, np.ndarray] | None:
    if path is None:
        return None
    return read_bed_intervals(path, genome.chroms, resolve=genome.resolve)


def _bp_mask(intervals: dict[str, np.ndarray] | None, chrom: str, size: int) -> np.ndarray:
    m = np.zeros(size, np.uint8)
    if intervals and chrom in intervals:
        for s, e in intervals[chrom]:
            m[max(0, s):min(size, e)] = 1
    return m


def _window_codes(codes: np.ndarray, start: int, end: int, fill: int = 4) -> np.ndarray:
    """codes[start:end] with ``fill`` (N = 4) outside [0, len)."""
    size = len(codes)
    if start >= 0 and end <= size:
        return codes[start:end]
    out = np.full(end - start, fill, np.uint8)
    lo, hi = max(start, 0), min(end, size)
    if hi > lo:
        out[lo - start:hi - start] = codes[lo:hi]
    return out


def _exon_intervals(gtf_path, genome, trim: int = 0) -> dict[str, np.ndarray]:
    """Exon intervals per chromosome (``exon`` rows, else ``CDS``), each trimmed by ``trim``
    bp at both ends (exons shorter than 2·trim+1 vanish), merged."""
    from ..genome.aliases import match_chroms
    from ..genome import read_gtf
    gtf = read_gtf(gtf_path)
    if len(gtf) == 0:
        return {}
    cmap = match_chroms(gtf["chrom"].unique(), list(genome.chroms), what="GTF", path=gtf_path, strict=False)
    if getattr(cmap, "unmatched", None):
        log.warning("%s: %d chromosome(s) not in %s are ignored: %s", gtf_path, len(cmap.unmatched),
                    genome.path, ", ".join(list(cmap.unmatched)[:8]))
    feat = "exon" if (gtf["feature"] == "exon").any() else "CDS"
    ex = gtf[gtf["feature"] == feat]
    out = {}
    for chrom, g in ex.groupby("chrom"):
        ref = cmap.get(chrom)
        if ref is None:
            continue
        s = g["start"].to_numpy() + trim
        e = g["end"].to_numpy() - trim
        ok = e > s
        out[ref] = merge_intervals(np.stack([s[ok], e[ok]], 1)) if ok.any() else np.zeros((0, 2), np.int64)
    return out


# ============================================================================ track dataset
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
    from ..coverage import CoverageFile
    from ..genome import Genome
    from ..coverage import apply_blacklist, read_targets, transform_tracks, write_targets

    t0 = time.time()
    progress = progress or _noop_progress
    seq_length, pool_width, crop_bp = int(seq_length), int(pool_width), int(crop_bp)
    if seq_length % pool_width:
        raise YeastzoiError(f"seq_length {seq_length} is not divisible by pool_width {pool_width}; "
                            f"choose -l as a multiple of -w")
    if crop_bp % pool_width or crop_bp < 0:
        raise YeastzoiError(f"crop_bp {crop_bp} is not a non-negative multiple of pool_width {pool_width}; fix -c")
    target_bp = seq_length - 2 * crop_bp
    if target_bp <= 0:
        raise YeastzoiError(f"crop_bp {crop_bp} leaves no target region in seq_length {seq_length}; lower -c")
    target_length = target_bp // pool_width
    stride = int(stride or target_bp)
    if folds is None and not (test_chroms or valid_chroms):
        raise YeastzoiError("no held-out data: give -t/-v chromosome lists or -f K folds")
    if folds is not None and (test_chroms or valid_chroms):
        raise YeastzoiError("give either -f K folds or -t/-v chromosome lists, not both")

    genome = Genome(fasta)
    sizes = genome.chroms
    targets = read_targets(targets_path)
    num_targets = len(targets)
    covs = [CoverageFile(f, reference_chroms=sizes) for f in targets["file"]]

    gaps = _intervals(gaps_bed, genome)
    unmap = _intervals(unmap_bed, genome)
    black = _intervals(blacklist_bed, genome)
    limit = _intervals(limit_bed, genome)
    contigs = split_contigs(sizes, gaps, unmap, min_unmap_len=min_unmap_len)
    fold_layout = None
    if folds is not None:
        fold_lists = split_arms_into_folds(contigs, int(folds))
        labelled = [(c, f"fold{k}") for k, fl in enumerate(fold_lists) for c in fl]
        labelled.sort(key=lambda cs: (list(sizes).index(cs[0].chrom), cs[0].start))
        fold_layout = [[f"{c.chrom}:{c.start}-{c.end}" for c in fl] for fl in fold_lists]
        split_names = [f"fold{k}" for k in range(int(folds))]
    else:
        tc = _resolve_list(genome, _chrom_list(test_chroms), "-t")
        vc = _resolve_list(genome, _chrom_list(valid_chroms), "-v")
        labelled = split_by_chromosomes(contigs, tc, vc, chrom_sizes=sizes)
        split_names = ["train", "valid", "test"]

    windows = make_windows(labelled, seq_length, stride)
    codes = {c: genome.fetch_codes(c, 0, n) for c, n in sizes.items()}
    exon_frac = None
    if gtf is not None and min_exon_frac > 0:
        exon_frac = interval_coverage(windows, _exon_intervals(gtf, genome), sizes)
    windows, removed = filter_windows(windows, n_frac=n_fraction(windows, codes), max_n_frac=max_n_frac,
                                      exon_frac=exon_frac, min_exon_frac=min_exon_frac, limit=limit)
    hom_report = None
    if homology and len(windows):
        kw = dict(homology_kw or {})
        get = lambda sp, c, s, e: _window_codes(codes[c], s, e)  # noqa: E731
        if folds is not None:
            upd = progress("homology", len(windows))
            windows, hom_report = fold_homology_filter(windows, get, int(folds), threads=threads,
                                                       progress=upd, **kw)
        else:
            upd = progress("homology", int((windows["split"] == "train").sum()))
            windows, hom_report = homology_filter(windows, get, threads=threads, progress=upd, **kw)
    if len(windows) == 0:
        raise YeastzoiError(f"{fasta}: no windows left after filtering (seq_length {seq_length}, "
                            f"filters removed {removed}); lower -l or relax the filters")

    out_dir = Path(out_dir)
    tfr_dir = out_dir / TFR_DIR
    (out_dir / "statistics.json").unlink(missing_ok=True)
    remove_stale_records(tfr_dir)
    writers = {sp: ShardWriter(tfr_dir, sp, seqs_per_file) for sp in split_names}
    any_finite = np.zeros(num_targets, bool)
    upd = progress("records", len(windows))
    try:
        for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
            size = sizes[chrom]
            cov = np.stack([cf.values(chrom, 0, size) for cf in covs], axis=1)  # (size, T) raw
            finite = np.isfinite(cov)
            any_finite |= finite.any(0)
            umask = _bp_mask(unmap, chrom, size) if unmap else None
            bl = black.get(chrom) if black else None
            for i in idx:
                s, e, sp = int(windows.at[i, "start"]), int(windows.at[i, "end"]), windows.at[i, "split"]
                ts, te = s + crop_bp, e - crop_bp
                y = transform_tracks(cov[ts:te], targets, pool_width)
                bad = np.zeros(target_length, bool)
                if bl is not None and len(bl):
                    from ..coverage import bin_mask
                    bad |= bin_mask(bl, ts, target_length, pool_width)
                if umask is not None:
                    bad |= umask[ts:te].reshape(target_length, pool_width).mean(1) > umap_frac
                if bad.any():
                    y = apply_blacklist(y, bad)
                writers[sp].write(serialize_example(_window_codes(codes[chrom], s, e), y))
            upd(len(idx))
        nan_only = [str(f) for f, ok in zip(targets["file"], any_finite) if not ok]
        if nan_only:
            raise YeastzoiError(f"{nan_only[0]}: the track is NaN over every window"
                                f"{f' (and {len(nan_only) - 1} more tracks)' if len(nan_only) > 1 else ''}; "
                                "check the coverage file or drop it from the targets sheet")
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        remove_stale_records(tfr_dir)
        raise
    finally:
        for cf in covs:
            cf.close()

    write_sequences_bed(out_dir / "sequences.bed", windows)
    write_targets(out_dir / "targets.txt", targets)
    stats = {"seq_length": seq_length, "seq_depth": 4, "seq_1hot": True, "target_length": target_length,
             "num_targets": num_targets, "pool_width": pool_width, "crop_bp": crop_bp, "stride": stride,
             "num_species": 1, "sequences_bed": "full input windows (seq_length bp)",
             "chrom_sizes": {c: int(n) for c, n in genome.chroms.items()}}
    for sp in split_names:
        stats[f"{sp}_seqs"] = writers[sp].count
    if folds is not None:
        stats["folds"] = int(folds)
        stats["fold_contigs"] = fold_layout
    else:
        stats["test_chroms"] = _chrom_list(test_chroms)
        stats["valid_chroms"] = _chrom_list(valid_chroms)
    stats["filters_removed"] = removed
    if hom_report is not None:
        stats["homology"] = {k: v for k, v in hom_report.items() if k != "removed_by_chrom"}
    stats["seed"] = seed
    stats["build_seconds"] = round(time.time() - t0, 2)
    write_statistics(out_dir / "statistics.json", stats)
    log.info("wrote %d records to %s in %.1f s", len(windows), out_dir, time.time() - t0)
    return stats


# ============================================================================ LM corpus
def read_species_table(path) -> pd.DataFrame:
    """Read SPECIES.tsv: tab-separated with a header; columns ``name``, ``fasta`` and optional
    ``gtf`` and ``repeats`` (a BED). The FIRST row is the reference species (its chromosomes
    provide valid/test). Relative paths are taken relative to the TSV's folder.
    """
    path = Path(path)
    if not path.exists():
        raise YeastzoiError(f"{path}: species table not found")
    df = pd.read_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    df.columns = [c.strip() for c in df.columns]
    for need in ("name", "fasta"):
        if need not in df.columns:
            raise YeastzoiError(f"{path}: missing column '{need}'; the header needs name, fasta "
                                f"(tab-separated), optionally gtf and repeats")
    if len(df) == 0:
        raise YeastzoiError(f"{path}: no species rows; add one row per genome (the first is the reference)")
    dup = df["name"][df["name"].duplicated()].tolist()
    if dup:
        raise YeastzoiError(f"{path}: species name '{dup[0]}' appears twice; names must be unique")
    for col in ("gtf", "repeats"):
        if col not in df.columns:
            df[col] = ""
    for col in ("fasta", "gtf", "repeats"):
        def _abs(p, col=col):
            if not p:
                return ""
            q = Path(p).expanduser()
            q = q if q.is_absolute() else (path.parent / q)
            if not q.exists():
                raise YeastzoiError(f"{path}: {col} file {p} not found (paths are relative to the table's folder)")
            return str(q)
        df[col] = [_abs(p) for p in df[col]]
    return df.reset_index(drop=True)


def build_lm_corpus(species_tsv, out_dir, seq_length: int = 16384, stride: int = 4096,
                    test_chroms=LM_TEST, valid_chroms=LM_VALID, limit_bed=None, max_n_frac: float = 0.1,
                    min_exon_frac: float = 0.0, exon_trim: int = 10, homology: bool = True,
                    homology_kw: dict | None = None, seqs_per_file: int = 256, threads: int = 2,
                    progress: ProgressFactory | None = None) -> dict:
    """Build a masked-LM corpus in ``out_dir`` from SPECIES.tsv; returns the statistics dict.

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
    """
    from ..genome import Genome

    t0 = time.time()
    progress = progress or _noop_progress
    table = read_species_table(species_tsv)
    names = table["name"].tolist()
    out_dir = Path(out_dir)
    tfr_dir = out_dir / TFR_DIR
    (out_dir / "statistics.json").unlink(missing_ok=True)
    remove_stale_records(tfr_dir)
    writers = {sp: ShardWriter(tfr_dir, sp, seqs_per_file) for sp in ("train", "valid", "test")}
    all_windows = []
    index = None
    report = {"removed_by_filter": {}, "homology_removed": {}, "windows": {}}
    try:
        for si, row in table.iterrows():
            genome = Genome(row["fasta"])
            sizes = genome.chroms
            contigs = split_contigs(sizes)
            if si == 0:
                tc = _resolve_list(genome, _chrom_list(test_chroms), "-t")
                vc = _resolve_list(genome, _chrom_list(valid_chroms), "-v")
                labelled = split_by_chromosomes(contigs, tc, vc, chrom_sizes=sizes)
            else:
                labelled = [(c, "train") for c in contigs]
            w = make_windows(labelled, seq_length, stride)
            codes = {c: genome.fetch_codes(c, 0, n) for c, n in sizes.items()}
            exons = _exon_intervals(row["gtf"], genome, exon_trim) if row["gtf"] else {}
            ef = interval_coverage(w, exons, sizes) if min_exon_frac > 0 else None
            limit = _intervals(limit_bed, genome) if (limit_bed is not None and si == 0) else None
            w, removed = filter_windows(w, n_frac=n_fraction(w, codes), max_n_frac=max_n_frac,
                                        exon_frac=ef, min_exon_frac=min_exon_frac, limit=limit)
            report["removed_by_filter"][row["name"]] = removed
            get = lambda sp, c, s, e, codes=codes: _window_codes(codes[c], s, e)  # noqa: E731
            if homology:
                if si == 0:
                    held = w["split"].isin(["valid", "test"]).to_numpy()
                    if held.any():
                        kw = dict(homology_kw or {})
                        index = HeldOutIndex(held_out_sequences(w[held], get), threads=threads, **kw)
                if index is not None:
                    upd = progress(f"homology {row['name']}", int((w["split"] == "train").sum()))
                    w, hrep = homology_filter(w, get, index=index, progress=upd)
                    report["homology_removed"][row["name"]] = hrep["removed"]
            rmask = {c: genome.repeat_mask(c, 0, n) for c, n in sizes.items()}
            if row["repeats"]:
                rep = _intervals(row["repeats"], genome)
                for c in rmask:
                    rmask[c] = np.maximum(rmask[c], _bp_mask(rep, c, sizes[c]))
            upd = progress(f"records {row['name']}", len(w))
            for c, idx in w.groupby("chrom", sort=False).indices.items():
                emask = _bp_mask(exons, c, sizes[c])
                for i in idx:
                    s, e, sp = int(w.at[i, "start"]), int(w.at[i, "end"]), w.at[i, "split"]
                    writers[sp].write(serialize_example(
                        _window_codes(codes[c], s, e), species=si,
                        mask=_window_codes(emask, s, e, 0), repeat_mask=_window_codes(rmask[c], s, e, 0)))
                upd(len(idx))
            w = w.assign(species=row["name"])
            report["windows"][row["name"]] = int(len(w))
            all_windows.append(w)
            genome.close()
        for wr in writers.values():
            wr.close()
    except BaseException:
        for wr in writers.values():
            wr.abort()
        remove_stale_records(tfr_dir)
        raise
    windows = pd.concat(all_windows, ignore_index=True)
    if len(windows) == 0:
        raise YeastzoiError(f"{species_tsv}: no windows (seq_length {seq_length} longer than every chromosome, "
                            f"or all filtered); lower -l")
    # sequences.bed in record order within each split: species order, then genome order
    _write_lm_bed(out_dir / "sequences.bed", windows)
    stats = {"seq_length": int(seq_length), "seq_depth": 4, "seq_1hot": True, "stride": int(stride),
             "num_species": len(names), "species": names, "reference_species": names[0],
             "test_chroms": _chrom_list(test_chroms), "valid_chroms": _chrom_list(valid_chroms),
             "exon_trim": exon_trim, "max_n_frac": max_n_frac, "min_exon_frac": min_exon_frac,
             "homology": bool(homology), "sequences_bed": "full input windows (seq_length bp); 5th column species"}
    for sp in ("train", "valid", "test"):
        stats[f"{sp}_seqs"] = writers[sp].count
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
