"""Prediction files a genome browser can open: tiled genome-wide bigWigs and per-region HDF5.

    pred = Predictor(load_models(["m0/model_best.h5", "m1/model_best.h5"]), rc=True, shifts=[0, 1])
    with Genome("genome.fa") as g:
        predict_to_bigwig(pred, g, "out/", targets_df=read_targets("targets.txt"))
        predict_bed(pred, g, read_bed("regions.bed"), "out/preds.h5", targets_df=...)

Geometry: :mod:`yeastzoi.model.geometry` (windows, their output bins, tiling). Tiling
(:func:`~yeastzoi.model.geometry.tile_region`): the bins of a region [start, end) start at
``start`` and step by ``pool_width``; for a whole chromosome the first window's input starts
at −offset, windows step by ``span``, every bin is predicted by exactly one window from its
central (uncropped) output, and the bins of adjacent windows join with no gap and no
overlap. The last bin of a region is clipped to the region end; bins past it are dropped.

Chromosome ends: input bases before 0 or past the chromosome end are N (all-zero one-hot).
The bins of every window whose input ran off the chromosome still get their predicted
values in the bigWig (nothing is zeroed); they are listed in ``OUT/padded.bed`` (chrom,
start, end of the bins, ``padded``) so they can be masked.

Values: the predictor's models (and the ``rc``/``shifts`` ensemble inside each) are averaged
in the model's output space, then untransformed per track with the targets sheet
(:meth:`yeastzoi.model.predictor.Predictor.mean_std`: pooled coverage per bin, e.g. reads per
bin for ``sum`` tracks). The optional standard deviation across models is computed on each
model's *untransformed* prediction (coverage units), or in model space with
``untransform=False``. The species channel is the predictor's (the one species rule).

Memory: windows stream through the predictor in order (:meth:`~yeastzoi.model.predictor.Predictor.stream`);
each batch's bins go straight to one open bigWig writer per track (pyBigWig needs entries in
order per chromosome; windows are generated in FASTA order), so memory is one batch ×
tracks, independent of genome size.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, write_text_atomic
from ..model.geometry import Geometry, Window, centred_window, tile_region
from ..model.predictor import Predictor

log = logging.getLogger(__name__)


def resolve_regions(genome, regions: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Regions with FASTA chromosome names, in FASTA order then start; checked to lie on
    their chromosome and not to overlap one another."""
    order = {c: i for i, c in enumerate(genome.chroms)}
    out = []
    for chrom, s, e in regions:
        c = genome.resolve(chrom)
        L = genome.chroms[c]
        if not 0 <= int(s) < int(e) <= L:
            raise YeastzoiError(f"region {chrom}:{s}-{e} runs off {c} (length {L} bp); regions are "
                                f"0-based half-open with 0 <= start < end <= {L}")
        out.append((c, int(s), int(e)))
    out.sort(key=lambda r: (order[r[0]], r[1]))
    for a, b in zip(out, out[1:]):
        if a[0] == b[0] and b[1] < a[2]:
            raise YeastzoiError(f"regions {a[0]}:{a[1]}-{a[2]} and {b[0]}:{b[1]}-{b[2]} overlap; "
                                f"merge them into one region")
    return out


def check_genome_names(name: str, meta: dict, genome) -> None:
    """Compare the chromosome names a model's metadata records (``chroms`` or
    ``chrom_sizes``, when present) with the FASTA's through aliases; none matching is a
    one-line YeastzoiError (the model was trained on another genome or naming)."""
    from ..genome import match_chroms

    chroms = meta.get("chroms") or meta.get("chrom_sizes")
    if not chroms:
        return
    chroms = list(chroms)
    res = match_chroms(chroms, list(genome.chroms), what="model metadata", reference="FASTA",
                       path=name, strict=False)
    if res.unmatched:
        log.warning("%s: %d of the model's %d chromosome(s) are not in %s: %s", name,
                    len(res.unmatched), len(chroms), genome.path, ", ".join(res.unmatched[:8]))


def check_genome(predictor: Predictor, genome) -> None:
    """:func:`check_genome_names` for every model of the predictor."""
    for name, meta in zip(predictor.names, predictor.metas):
        check_genome_names(name, meta, genome)


@dataclasses.dataclass
class TrackSet:
    """Selected output tracks: model output ``columns``, their ``ids``/``descriptions``, the
    matching rows of the targets sheet (``sheet``; None when not untransforming)."""
    columns: np.ndarray
    ids: list
    descriptions: list
    sheet: pd.DataFrame | None

    @property
    def files(self) -> list[str]:
        return safe_names(self.ids)


def prediction_tracks(meta: dict, targets_df: pd.DataFrame | None = None,
                  tracks: Sequence[str] | None = None, untransform: bool = True,
                  sheet_name: str = "targets sheet") -> TrackSet:
    """Resolve track identifiers and the untransform sheet against the model metadata.

    Identifiers come from the sheet, else the metadata's ``target_ids``, else ``t0``, ``t1``…
    Errors: sheet row count ≠ model tracks; sheet identifiers ≠ metadata target_ids;
    an unknown id in ``tracks``; ``untransform`` without a sheet.
    """
    T = meta.get("num_targets")
    meta_ids = meta.get("target_ids")
    if targets_df is not None:
        ids = [str(i) for i in targets_df["identifier"]]
        if T is not None and len(ids) != int(T):
            raise YeastzoiError(f"{sheet_name} has {len(ids)} tracks but the model predicts {T}; "
                                f"use the sheet the model was trained with")
        if meta_ids is not None and [str(i) for i in meta_ids] != ids:
            diff = next(i for i, (a, b) in enumerate(zip(meta_ids, ids)) if str(a) != b) \
                if len(meta_ids) == len(ids) else min(len(ids), len(meta_ids))
            raise YeastzoiError(f"{sheet_name}: identifiers differ from the model's target_ids "
                                f"(first at row {diff}); use the sheet the model was trained with")
        desc = [str(d) for d in targets_df["description"]] if "description" in targets_df else [""] * len(ids)
    else:
        if untransform:
            raise YeastzoiError("no targets sheet to untransform predictions with: give --targets "
                                "SHEET (the sheet the model was trained on) or --no-untransform "
                                "to write model-space values")
        if T is None:
            raise YeastzoiError("model metadata lacks num_targets")
        ids = [str(i) for i in meta_ids] if meta_ids is not None else [f"t{i}" for i in range(int(T))]
        desc = [""] * len(ids)
    if tracks:
        pos = {t: i for i, t in enumerate(ids)}
        unknown = [t for t in tracks if t not in pos]
        if unknown:
            shown = ", ".join(ids[:8]) + (f", … ({len(ids)} in all)" if len(ids) > 8 else "")
            raise YeastzoiError(f"unknown track id(s) {', '.join(unknown)}; the model's tracks are "
                                f"{shown}")
        cols = np.array([pos[t] for t in dict.fromkeys(tracks)], dtype=np.int64)
    else:
        cols = np.arange(len(ids), dtype=np.int64)
    sheet = targets_df.iloc[cols] if (untransform and targets_df is not None) else None
    return TrackSet(cols, [ids[i] for i in cols], [desc[i] for i in cols], sheet)


def safe_names(ids: Sequence[str]) -> list[str]:
    """File-system-safe, unique stems for track identifiers (other characters → ``_``)."""
    out, seen = [], set()
    for i in ids:
        s = re.sub(r"[^A-Za-z0-9._+-]", "_", str(i)).strip(".") or "track"
        base, k = s, 1
        while s.lower() in seen:
            k += 1
            s = f"{base}_{k}"
        seen.add(s.lower())
        out.append(s)
    return out


def preflight(meta: dict, genome, regions=None, bed: pd.DataFrame | None = None,
              targets_df: pd.DataFrame | None = None, tracks: Sequence[str] | None = None,
              untransform: bool = True, name: str = "model") -> None:
    """Check the inputs against a model's stored metadata before any model is built:
    genome naming, regions / BED regions on their chromosomes, track ids and the sheet.
    Raises the same one-line YeastzoiErrors as the prediction functions."""
    check_genome_names(name, meta, genome)
    prediction_tracks(meta, targets_df, tracks, untransform)
    if regions is not None:
        resolve_regions(genome, regions)
    if bed is not None:
        geo = Geometry.from_meta(meta)
        for c, s, e in zip(bed["chrom"], bed["start"], bed["end"]):
            c = genome.resolve(c)
            centred_window(c, genome.chroms[c], s, e, geo)


def stream_tracks(predictor: Predictor, genome, windows: Sequence[Window], tracks,
                  std: bool = False, progress: Callable[[int], None] | None = None):
    """Yield ``(window, mean (n_bins, T_sel), std (n_bins, T_sel) or None)`` in window order
    (:meth:`Predictor.stream` + :meth:`Predictor.mean_std` on the selected tracks)."""
    if std and predictor.num_models < 2:
        log.warning("std across models requested with one model: it is 0 everywhere")
    for batch, y in predictor.stream(genome, windows, progress):
        mean, sd = predictor.mean_std(y[..., tracks.columns], tracks.sheet, std)
        for i, w in enumerate(batch):
            sl = slice(w.first_bin, w.first_bin + w.n_bins)
            yield w, mean[i, sl], (sd[i, sl] if sd is not None else None)


class BigWigWriters:
    """One pyBigWig writer per track (atomic: temporary files renamed on success).

    Entries must arrive in FASTA chromosome order and by increasing position."""

    def __init__(self, paths: Sequence[Path], chrom_sizes: dict, geometry: Geometry):
        self.paths = [Path(p) for p in paths]
        self.header = [(c, int(n)) for c, n in chrom_sizes.items()]
        self.geometry = geometry
        self._stack = contextlib.ExitStack()
        self._bws = []

    def __enter__(self):
        import pyBigWig

        self._stack.__enter__()
        try:
            for p in self.paths:
                tmp = self._stack.enter_context(atomic_path(p))
                bw = pyBigWig.open(str(tmp), "w")
                if bw is None:
                    raise YeastzoiError(f"{p}: cannot create bigWig; check the folder is writable")
                self._bws.append(bw)
                bw.addHeader(self.header, maxZooms=10)
        except BaseException:
            self._close_all()
            self._stack.__exit__(None, None, None)
            raise
        return self

    def _close_all(self):
        for bw in self._bws:
            bw.close()
        self._bws = []

    def __exit__(self, *exc):
        self._close_all()
        return self._stack.__exit__(*exc)

    def write(self, window: Window, values: np.ndarray) -> None:
        """values (n_bins, T): bin j of ``window`` to writer t."""
        p = self.geometry.pool_width
        starts, ends = window.bin_bounds(self.geometry)
        full = int(np.sum(ends - starts == p))  # only the last bin can be clipped
        vals = np.ascontiguousarray(np.asarray(values, dtype=np.float64).T)  # (T, n_bins)
        for t, bw in enumerate(self._bws):
            if full:
                bw.addEntries(window.chrom, int(starts[0]), values=vals[t, :full], span=p, step=p)
            if full < len(starts):
                bw.addEntries([window.chrom], [int(starts[-1])], ends=[int(ends[-1])],
                              values=[float(vals[t, -1])])


@dataclasses.dataclass
class PredictResult:
    out_dir: Path
    tracks: list          # identifiers
    files: list           # bigWig paths
    std_files: list
    windows: int
    bins: int
    padded_bins: int
    nonfinite: int


def predict_to_bigwig(predictor: Predictor, genome, out_dir, regions=None,
                      targets_df: pd.DataFrame | None = None, tracks: Sequence[str] | None = None,
                      untransform: bool = True, std: bool = False,
                      progress: Callable[[int], None] | None = None,
                      on_start: Callable[[int], None] | None = None) -> PredictResult:
    """Tile the genome (or ``regions``: [(chrom, start, end)]), predict, stitch and write
    ``OUT/<id>.bw`` per selected track (+ ``<id>.std.bw`` with ``std``), ``tracks.tsv``
    (identifier, description, file[, std_file], column) and ``padded.bed``.

    ``on_start(n_windows)`` is called once before predicting (e.g. to size a progress bar);
    ``progress(n)`` after every batch of n windows.
    """
    out_dir = Path(out_dir)
    geo = predictor.geometry
    check_genome(predictor, genome)
    ts = prediction_tracks(predictor.meta, targets_df, tracks, untransform)
    predictor.species_index  # resolve (and log) the species channel before any work
    if regions is None:
        regions = [(c, 0, n) for c, n in genome.chroms.items() if n > 0]
    regions = resolve_regions(genome, regions)
    windows = [w for i, (c, s, e) in enumerate(regions)
               for w in tile_region(c, genome.chroms[c], s, e, geo, region=i)]
    log.info("%d region(s), %d bp: %d windows of %d bp (%d bins × %d bp each, %d bp cropped "
             "per side), %d track(s)", len(regions), sum(e - s for _, s, e in regions),
             len(windows), geo.seq_length, geo.target_length, geo.pool_width, geo.offset,
             len(ts.ids))
    if on_start is not None:
        on_start(len(windows))
    stems = ts.files
    files = [out_dir / f"{s}.bw" for s in stems]
    std_files = [out_dir / f"{s}.std.bw" for s in stems] if std else []
    padded_rows, nbins, npad, nonfinite = [], 0, 0, 0
    out_dir.mkdir(parents=True, exist_ok=True)
    with BigWigWriters(files, genome.chroms, geo) as bw, \
            BigWigWriters(std_files, genome.chroms, geo) as bw_sd:
        for w, mean, sd in stream_tracks(predictor, genome, windows, ts, std, progress):
            nonfinite += int(np.size(mean) - np.isfinite(mean).sum())
            bw.write(w, mean)
            if sd is not None:
                bw_sd.write(w, sd)
            nbins += w.n_bins
            if w.padded:
                s, e = w.bin_bounds(geo)
                npad += w.n_bins
                if padded_rows and padded_rows[-1][0] == w.chrom and padded_rows[-1][2] == int(s[0]):
                    padded_rows[-1][2] = int(e[-1])
                else:
                    padded_rows.append([w.chrom, int(s[0]), int(e[-1])])
    if nonfinite:
        log.warning("%d predicted values are NaN or infinite (written as such)", nonfinite)
    write_text_atomic(out_dir / "padded.bed",
                      "".join(f"{c}\t{s}\t{e}\tpadded\n" for c, s, e in padded_rows))
    rows = {"identifier": ts.ids, "description": ts.descriptions,
            "file": [f.name for f in files]}
    if std:
        rows["std_file"] = [f.name for f in std_files]
    rows["column"] = ts.columns.tolist()
    with atomic_path(out_dir / "tracks.tsv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)
    log.info("wrote %d bigWig(s)%s to %s: %d bins, %d of them from N-padded windows (padded.bed)",
             len(files), f" + {len(std_files)} std" if std else "", out_dir, nbins, npad)
    return PredictResult(out_dir, ts.ids, files, std_files, len(windows), nbins, npad, nonfinite)


def predict_bed(predictor: Predictor, genome, regions: pd.DataFrame, out_path,
                targets_df: pd.DataFrame | None = None, tracks: Sequence[str] | None = None,
                untransform: bool = True, std: bool = False,
                progress: Callable[[int], None] | None = None) -> Path:
    """Predict one window centred on each BED region into HDF5 ``out_path`` (atomic).

    Datasets: ``preds`` (regions, target_length, tracks) float16 [``preds_std`` with std];
    ``chrom``, ``start``, ``end``, ``name`` (the BED regions, FASTA chromosome names);
    ``window_start`` (bp of the first output bin), ``padded`` (bool: input ran off the
    chromosome); ``target_ids``, ``target_descriptions``, ``target_columns``. Attributes:
    pool_width, seq_length, target_length, untransformed.
    """
    import h5py

    out_path = Path(out_path)
    geo = predictor.geometry
    check_genome(predictor, genome)
    ts = prediction_tracks(predictor.meta, targets_df, tracks, untransform)
    predictor.species_index  # resolve (and log) the species channel before any work
    if len(regions) == 0:
        raise YeastzoiError("the BED file has no regions")
    chroms = [genome.resolve(c) for c in regions["chrom"]]
    windows = [centred_window(c, genome.chroms[c], s, e, geo, region=i)
               for i, (c, s, e) in enumerate(zip(chroms, regions["start"], regions["end"]))]
    wide = int(np.sum((regions["end"] - regions["start"]).to_numpy() > geo.span))
    if wide:
        log.warning("%d region(s) are wider than a window's %d bp output; only their centre "
                    "is predicted", wide, geo.span)
    N, L, T = len(windows), geo.target_length, len(ts.ids)
    names = (regions["name"].astype(str).tolist() if "name" in regions
             else [f"{c}:{s}-{e}" for c, s, e in zip(chroms, regions["start"], regions["end"])])
    str_dt = h5py.string_dtype()
    with atomic_path(out_path) as tmp:
        with h5py.File(tmp, "w") as h5:
            chunks = (1, L, min(T, 1024))
            d = h5.create_dataset("preds", (N, L, T), dtype="float16", chunks=chunks)
            dsd = h5.create_dataset("preds_std", (N, L, T), dtype="float16", chunks=chunks) if std else None
            h5.create_dataset("chrom", data=np.array(chroms, dtype=object), dtype=str_dt)
            h5.create_dataset("start", data=regions["start"].to_numpy(np.int64))
            h5.create_dataset("end", data=regions["end"].to_numpy(np.int64))
            h5.create_dataset("name", data=np.array(names, dtype=object), dtype=str_dt)
            h5.create_dataset("window_start", data=np.array([w.out_start for w in windows], np.int64))
            h5.create_dataset("padded", data=np.array([w.padded for w in windows], bool))
            h5.create_dataset("target_ids", data=np.array(ts.ids, dtype=object), dtype=str_dt)
            h5.create_dataset("target_descriptions", data=np.array(ts.descriptions, dtype=object),
                              dtype=str_dt)
            h5.create_dataset("target_columns", data=ts.columns)
            h5.attrs.update({"pool_width": geo.pool_width, "seq_length": geo.seq_length,
                             "target_length": L, "untransformed": ts.sheet is not None})
            for w, mean, sd in stream_tracks(predictor, genome, windows, ts, std, progress):
                d[w.region] = np.clip(mean, -65504, 65504).astype(np.float16)
                if dsd is not None:
                    dsd[w.region] = np.clip(sd, -65504, 65504).astype(np.float16)
    log.info("wrote %s: %d regions × %d bins × %d tracks (%d padded)", out_path, N, L, T,
             sum(w.padded for w in windows))
    return out_path
