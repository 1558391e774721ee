"""Predictions a genome browser can open: tiled genome-wide bigWigs and per-region HDF5.

    pred = Predictor.from_files("params.json", ["m0/model_best.h5", "m1/model_best.h5"],
                                rc=True, shifts=[0, 1])
    with Genome("genome.fa") as g:
        predict_to_bigwig(pred, g, "out/", targets_df=read_targets("targets.txt"))
        predict_bed(pred, g, read_bed("regions.bed"), "out/preds.h5", targets_df=...)

Geometry (all in bp, 0-based half-open). A model takes ``seq_length`` bp and returns
``target_length`` bins of ``pool_width`` bp that cover the central
``span = target_length · pool_width`` bp; ``offset = (seq_length − span) / 2`` bp
(= ``crop_bp``) are cropped on each side.

Tiling (:func:`tile_region`): the bins of a region [start, end) start at ``start`` and
step by ``pool_width``; window k predicts bins k·target_length … and its input starts at
``start + k·span − offset``. So for the whole chromosome (start 0) the first window's input
starts at −offset, windows step by ``span``, every bin is predicted by exactly one window
from its central (uncropped) output, and the bins of adjacent windows join with no gap
and no overlap. The last bin of a region is clipped to the region end (a chromosome's last
bin may be shorter than ``pool_width``); bins past the end are dropped.

Chromosome ends: input bases before 0 or past the chromosome end are N (all-zero
one-hot). The bins of every window whose input ran off the chromosome still get their
predicted values in the bigWig (nothing is zeroed); they are listed in
``OUT/padded.bed`` (chrom, start, end of the bins, ``padded``) so they can be masked.

Values: several models (and the ``rc``/``shifts`` ensemble inside each) are averaged in
the model's output space (the transformed target space the ensemble averages in); the
mean is then untransformed per track with the targets sheet
(:func:`yeastzoi.coverage.targets.untransform`: pooled coverage per bin, e.g. reads per bin for
``sum`` tracks). The optional standard deviation across models is computed on each
model's *untransformed* prediction (coverage units), or in model space with
``untransform=False``.

Memory: windows stream through in order; each batch's bins go straight to one open
bigWig writer per track (pyBigWig needs entries in order per chromosome; windows are
generated in FASTA order), so memory is one batch × tracks, independent of genome size.
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

from yeastzoi import YeastzoiError
from yeastzoi.genome.assembly import parse_region  # noqa: F401 (re-exported)
from yeastzoi.genome.dna import model_input
from yeastzoi.fileio import atomic_path, write_text_atomic

log = logging.getLogger(__name__)

#: Metadata keys several models must agree on to be averaged.
AGREE_KEYS = ("seq_length", "target_length", "pool_width", "crop_bp", "num_targets",
              "num_features", "target_ids")



# ----------------------------------------------------------------------------- geometry
@dataclasses.dataclass(frozen=True)
class Geometry:
    """Window geometry from model metadata (all bp except ``target_length``, in bins)."""
    seq_length: int
    target_length: int
    pool_width: int

    @property
    def span(self) -> int:
        """bp covered by one window's output bins."""
        return self.target_length * self.pool_width

    @property
    def offset(self) -> int:
        """bp from the window's input start to its first output bin (the crop)."""
        return (self.seq_length - self.span) // 2

    @classmethod
    def from_meta(cls, meta: dict) -> "Geometry":
        try:
            S, L, p = int(meta["seq_length"]), int(meta["target_length"]), int(meta["pool_width"])
        except (KeyError, TypeError, ValueError):
            raise YeastzoiError("model metadata lacks seq_length/target_length/pool_width; "
                                "predict needs a yeastzoi model (or a meta dict with them)") from None
        geo = cls(S, L, p)
        if p < 1 or L < 1 or geo.span > S or (S - geo.span) % 2:
            raise YeastzoiError(f"model metadata: {L} bins × {p} bp do not sit centred in "
                                f"{S} bp of input; the output must be a symmetric crop")
        crop = meta.get("crop_bp")
        if crop is not None and int(crop) != geo.offset:
            raise YeastzoiError(f"model metadata: crop_bp {crop} disagrees with seq_length {S} − "
                                f"{L} bins × {p} bp (= 2 × {geo.offset}); fix the model metadata")
        return geo


@dataclasses.dataclass(frozen=True)
class Window:
    """One model input window and the bins of its output that are kept.

    ``start``: input start (bp, may be < 0 or run past the chromosome end);
    ``first_bin``/``n_bins``: kept output bins (bin i covers [out_start + i·p, +p));
    ``end``: genomic end of the kept bins (the last one may be clipped here);
    ``padded``: the input runs off the chromosome (N-padded); ``region``: index of the
    region the window belongs to.
    """
    chrom: str
    start: int
    out_start: int
    first_bin: int
    n_bins: int
    end: int
    padded: bool
    region: int = 0

    def bin_bounds(self, pool_width: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) bp of the kept bins; the last end is clipped to :attr:`end`."""
        s = self.out_start + (self.first_bin + np.arange(self.n_bins, dtype=np.int64)) * pool_width
        return s, np.minimum(s + pool_width, self.end)


def tile_region(chrom: str, chrom_len: int, start: int, end: int, geo: Geometry,
                region: int = 0) -> list[Window]:
    """Windows whose central outputs cover [start, end) of ``chrom`` once, bins from ``start``.

    Raises YeastzoiError when the region is empty or runs off the chromosome.
    """
    start, end, chrom_len = int(start), int(end), int(chrom_len)
    if not 0 <= start < end <= chrom_len:
        raise YeastzoiError(f"region {chrom}:{start}-{end} is not inside {chrom} (0-{chrom_len}); "
                            f"regions are 0-based half-open and must satisfy 0 <= start < end <= "
                            f"chromosome length")
    n_total = -(-(end - start) // geo.pool_width)
    out = []
    for k, b0 in enumerate(range(0, n_total, geo.target_length)):
        out_start = start + k * geo.span
        in_start = out_start - geo.offset
        out.append(Window(chrom, in_start, out_start, 0, min(geo.target_length, n_total - b0),
                          end, in_start < 0 or in_start + geo.seq_length > chrom_len, region))
    return out


def centred_window(chrom: str, chrom_len: int, start: int, end: int, geo: Geometry,
                   region: int = 0) -> Window:
    """The window whose output is centred on [start, end) (all its bins kept)."""
    start, end, chrom_len = int(start), int(end), int(chrom_len)
    if not 0 <= start < end <= chrom_len:
        raise YeastzoiError(f"region {chrom}:{start}-{end} is not inside {chrom} (0-{chrom_len}); "
                            f"BED regions are 0-based half-open and must lie on the chromosome")
    out_start = (start + end) // 2 - geo.span // 2
    in_start = out_start - geo.offset
    return Window(chrom, in_start, out_start, 0, geo.target_length, out_start + geo.span,
                  in_start < 0 or in_start + geo.seq_length > chrom_len, region)


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


# ----------------------------------------------------------------------------- models
class Predictor:
    """Prediction functions (one per model) that share one metadata contract.

    ``fns``: callables ``x (B, seq_length, num_features) float32 → (B, target_length, T)``
    (each may itself be an rc/shift ensemble); ``meta``: a SeqNN-style metadata dict with
    at least seq_length, target_length, pool_width (and num_features, num_targets,
    target_ids, species, strand_pair when known). ``file_metas``: the metadata stored in
    each model file (for the genome naming check).
    """

    def __init__(self, fns: Sequence[Callable], meta: dict, names: Sequence[str] | None = None,
                 file_metas: Sequence[dict] | None = None):
        if not fns:
            raise YeastzoiError("no models given; pass at least one model file")
        self.fns = list(fns)
        self.meta = dict(meta)
        self.names = list(names) if names is not None else [f"model{i}" for i in range(len(fns))]
        self.file_metas = list(file_metas or [])
        self.geometry = Geometry.from_meta(self.meta)
        self.num_features = int(self.meta.get("num_features") or 4)

    @classmethod
    def from_files(cls, params_path, model_paths: Sequence, rc: bool = False, shifts=(0,),
                   overrides: list[str] | None = None, strand_pair=None) -> "Predictor":
        """Load SeqNN models (spec from ``params_path``; weights/metadata from each file),
        check that they agree (:data:`AGREE_KEYS`) and build each one's rc/shift ensemble.

        ``strand_pair``: used for the rc ensemble when the model metadata has none (e.g.
        from the targets sheet)."""
        from yeastzoi.model.params import load_params
        from yeastzoi.model.seqnn import SeqNN, read_meta

        params = load_params(params_path, overrides) if params_path is not None else None
        seqnns, metas = [], []
        for path in model_paths:
            path = Path(path)
            if not path.exists():
                raise YeastzoiError(f"{path}: no such model file")
            seqnn = SeqNN.from_file(path, params["model"] if params else None)
            if strand_pair is not None and seqnn.meta.get("strand_pair") is None:
                seqnn.set_meta(strand_pair=[int(i) for i in strand_pair])
            seqnn.build_ensemble(rc=rc, shifts=shifts)
            seqnns.append(seqnn)
            metas.append(read_meta(path) or {})
        check_agreement([s.meta for s in seqnns], [str(p) for p in model_paths])
        log.info("%d model(s); ensemble: %s", len(seqnns),
                 ("forward + reverse complement" if rc else "forward") + f", shifts {list(shifts)}")

        def make_fn(seqnn):
            model = seqnn.ensemble if seqnn.ensemble is not None else seqnn.model
            return lambda x: np.asarray(model.predict_on_batch(np.asarray(x, np.float32)))

        return cls([make_fn(s) for s in seqnns], seqnns[0].meta,
                   names=[str(p) for p in model_paths], file_metas=metas)

    def species_index(self, species: str | int | None = None) -> int | None:
        """Species channel for the inputs: ``species`` (name or index) or the metadata's first;
        None when the model has no species channels."""
        n = int(self.meta.get("num_species") or max(self.num_features - 5, 0))
        names = list(self.meta.get("species") or [])
        if n == 0:
            if species is not None:
                log.warning("the model has no species channels; --species %s ignored", species)
            return None
        if species is None:
            log.info("species: %s (index 0, the model's first species; choose with --species)",
                     names[0] if names else "0")
            return 0
        if str(species) in names:
            idx = names.index(str(species))
        elif str(species).isdigit() and int(species) < n:
            idx = int(species)
        else:
            raise YeastzoiError(f"species '{species}' is not one of the model's species "
                                f"({', '.join(names) if names else f'indices 0-{n - 1}'})")
        log.info("species: %s (index %d)", names[idx] if idx < len(names) else idx, idx)
        return idx

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(M, B, target_length, T) float32: every model's prediction of the batch."""
        out = []
        for name, fn in zip(self.names, self.fns):
            y = np.asarray(fn(x), dtype=np.float32)
            want = (len(x), self.geometry.target_length)
            if y.ndim != 3 or y.shape[:2] != want:
                raise YeastzoiError(f"{name}: predicted shape {y.shape}; expected {want + ('T',)}")
            out.append(y)
        return np.stack(out)


def check_agreement(metas: Sequence[dict], names: Sequence[str]) -> None:
    """Raise YeastzoiError naming the first key (of :data:`AGREE_KEYS`) where models differ."""
    ref = metas[0]
    for meta, name in zip(metas[1:], names[1:]):
        for k in AGREE_KEYS:
            a, b = ref.get(k), meta.get(k)
            if a is not None and b is not None and a != b:
                def show(v):
                    return f"{v[:3]}…({len(v)})" if isinstance(v, list) and len(v) > 3 else v
                raise YeastzoiError(f"{name}: {k} is {show(b)} but {names[0]} has {show(a)}; "
                                    f"models averaged together must share it")


def check_genome(predictor: Predictor, genome) -> None:
    """Compare the chromosome names a model's metadata records (``chroms`` or
    ``chrom_sizes``, when present) with the FASTA's through aliases; none matching is a
    one-line YeastzoiError (the model was trained on another genome or naming)."""
    from yeastzoi.genome.aliases import match_chroms

    for name, meta in zip(predictor.names, predictor.file_metas or [predictor.meta]):
        chroms = meta.get("chroms") or meta.get("chrom_sizes")
        if not chroms:
            continue
        chroms = list(chroms)
        res = match_chroms(chroms, list(genome.chroms), what="model metadata", reference="FASTA",
                           path=name, strict=False)
        if res.unmatched:
            log.warning("%s: %d of the model's %d chromosome(s) are not in %s: %s", name,
                        len(res.unmatched), len(chroms), genome.path, ", ".join(res.unmatched[:8]))


# ----------------------------------------------------------------------------- tracks
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


def select_tracks(meta: dict, targets_df: pd.DataFrame | None = None,
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
    check_genome(Predictor([lambda x: x], meta, names=[name], file_metas=[meta]), genome)
    select_tracks(meta, targets_df, tracks, untransform)
    if regions is not None:
        resolve_regions(genome, regions)
    if bed is not None:
        for c, s, e in zip(bed["chrom"], bed["start"], bed["end"]):
            c = genome.resolve(c)
            centred_window(c, genome.chroms[c], s, e, Geometry.from_meta(meta))


# ----------------------------------------------------------------------------- streaming
def encode_windows(genome, windows: Sequence[Window], geo: Geometry, num_features: int,
                   species_index: int | None) -> np.ndarray:
    """(B, seq_length, num_features) float32 model inputs (N outside the chromosome)."""
    x = np.empty((len(windows), geo.seq_length, num_features), dtype=np.float32)
    for i, w in enumerate(windows):
        codes = genome.fetch_codes(w.chrom, w.start, w.start + geo.seq_length)
        x[i] = model_input(codes, num_features, species_index)
    return x


def stream_predictions(predictor: Predictor, genome, windows: Sequence[Window], tracks: TrackSet,
                       batch_size: int = 4, species_index: int | None = None, std: bool = False,
                       progress: Callable[[int], None] | None = None):
    """Yield ``(window, mean (n_bins, T_sel), std (n_bins, T_sel) or None)`` in window order.

    ``mean``: models averaged in output space, then untransformed with ``tracks.sheet``
    (when set); ``std``: across models of the untransformed (or raw) predictions.
    """
    from yeastzoi.coverage.targets import untransform

    geo = predictor.geometry
    batch_size = max(int(batch_size), 1)
    if std and len(predictor.fns) < 2:
        log.warning("std across models requested with one model: it is 0 everywhere")
    for b in range(0, len(windows), batch_size):
        batch = windows[b:b + batch_size]
        x = encode_windows(genome, batch, geo, predictor.num_features, species_index)
        y = predictor.predict(x)[..., tracks.columns]          # (M, B, L, T)
        mean = y.mean(axis=0)
        sd = None
        if tracks.sheet is not None:
            mean = untransform(mean, tracks.sheet)
            if std:
                sd = untransform(y, tracks.sheet).std(axis=0)
        elif std:
            sd = y.std(axis=0)
        for i, w in enumerate(batch):
            sl = slice(w.first_bin, w.first_bin + w.n_bins)
            yield w, mean[i, sl], (sd[i, sl] if sd is not None else None)
        if progress is not None:
            progress(len(batch))


class BigWigWriters:
    """One pyBigWig writer per track (atomic: temporary files renamed on success).

    Entries must arrive in FASTA chromosome order and by increasing position."""

    def __init__(self, paths: Sequence[Path], chrom_sizes: dict, pool_width: int):
        self.paths = [Path(p) for p in paths]
        self.header = [(c, int(n)) for c, n in chrom_sizes.items()]
        self.pool_width = int(pool_width)
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
        p = self.pool_width
        starts, ends = window.bin_bounds(p)
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
                      untransform: bool = True, std: bool = False, batch_size: int = 4,
                      species: str | int | None = None,
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
    ts = select_tracks(predictor.meta, targets_df, tracks, untransform)
    sp = predictor.species_index(species)
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
    with BigWigWriters(files, genome.chroms, geo.pool_width) as bw, \
            BigWigWriters(std_files, genome.chroms, geo.pool_width) as bw_sd:
        for w, mean, sd in stream_predictions(predictor, genome, windows, ts, batch_size, sp, std,
                                              progress):
            nonfinite += int(np.size(mean) - np.isfinite(mean).sum())
            bw.write(w, mean)
            if sd is not None:
                bw_sd.write(w, sd)
            nbins += w.n_bins
            if w.padded:
                s, e = w.bin_bounds(geo.pool_width)
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
                untransform: bool = True, std: bool = False, batch_size: int = 4,
                species: str | int | None = None,
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
    ts = select_tracks(predictor.meta, targets_df, tracks, untransform)
    sp = predictor.species_index(species)
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
            for w, mean, sd in stream_predictions(predictor, genome, windows, ts, batch_size, sp,
                                                  std, progress):
                d[w.region] = np.clip(mean, -65504, 65504).astype(np.float16)
                if dsd is not None:
                    dsd[w.region] = np.clip(sd, -65504, 65504).astype(np.float16)
    log.info("wrote %s: %d regions × %d bins × %d tracks (%d padded)", out_path, N, L, T,
             sum(w.padded for w in windows))
    return out_path
