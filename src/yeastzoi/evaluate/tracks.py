"""Evaluation of trained models: per-track and gene-level accuracy, masked-LM metrics.

Track models (:func:`evaluate_tracks`, :func:`run_track_eval`)
---------------------------------------------------------------
The model predicts every record of one split (records in ``sequences.bed`` order; optional
reverse-complement / shift ensemble). Per track, over **all bins of all windows** of the split:

* ``pearsonr`` / ``r2``: Pearson R and R² = 1 − Σ(y−ŷ)² / Σ(y−ȳ)² in the transformed space the
  records store (the space the model was trained in);
* ``pearsonr_raw`` / ``r2_raw``: the same after :func:`yeastzoi.coverage.targets.untransform` of both
  predictions and targets (coverage units: bin sums for ``sum*`` tracks).

Statistics are accumulated in float64 over shifted sums, so nothing of size
(windows × bins × tracks) is held in memory.

Gene-level R (``gtf=``), exact definition:

1. Each gene's exons are merged over its transcripts (:func:`yeastzoi.genome.assembly.exons_by_gene`;
   genes without exon rows use their CDS rows).
2. A window's target bins cover ``[start + crop_bp, end − crop_bp)`` of its ``sequences.bed``
   row; bin b is ``[t0 + b·pool_width, t0 + (b+1)·pool_width)``. A gene is **evaluated** when
   every one of its exons lies inside the target region of at least one window of the split;
   if several windows contain it, the one whose target-region centre is nearest the centre
   of the gene's exon span is used (ties: the first in sequences.bed order). Genes that are
   only partly inside, or outside, the evaluated windows are left out.
3. Its **exon bins** are the bins of that window overlapping any exon by at least 1 bp,
   each bin counted once.
4. Gene value per track = Σ over its exon bins of the untransformed prediction (resp.
   untransformed target).
5. ``pearsonr`` per track = Pearson R over the evaluated genes of log2(1 + value) of the
   prediction vs log2(1 + value) of the target; ``pearsonr_raw`` uses the values
   themselves. A track with fewer than 2 genes (or constant values) gets NaN.

``gene_values.tsv`` lists the evaluated genes (gene_id, gene_name, chrom, exon span start/end,
``window`` = the record's row among the split's sequences.bed rows, n_bins) with the
prediction and target summed over all tracks (pred_total, true_total).

Groups: a track's group is the sheet's ``group`` column; when empty, the description's prefix
before ``:`` (``RNA:wt_ypd`` → ``RNA``); otherwise ``all``.

Masked LM (:func:`evaluate_mlm`, :func:`run_mlm_eval`)
------------------------------------------------------
Each split's records are masked exactly as in validation (:func:`yeastzoi.data.pipeline.lm_dataset`
with ``training=False``: mask token everywhere, ``seed = seed + r`` for repeat r; the default
seed 1,000,003 is the trainer's validation seed, so ``valid`` masks equal those behind the
training history's valid loss). At the
masked positions: CE = −ln p(true base) (nats), accuracy = argmax == true base, perplexity
= exp(mean CE), and the Shorkie-weighted loss Σ w·CE / Σ m (w from the train section's
exon/repeat scales; without the layers' L2 penalty, which the trainer's valid loss adds). Rows per (species, split, region) with region ``all``, ``genic``
(positions with exon mask 1, i.e. the corpus' exon mask, trimmed as it was built) and
``intergenic`` (exon mask 0); species ``all`` aggregates species when there are several.

The order-k Markov baseline (:class:`MarkovModel`) is fitted per species on the ``train``
split's windows of the same corpus (every window counted as stored, overlaps included,
forward strand), with add-one smoothing: p(b | ctx) = (n(ctx, b) + 1) / (n(ctx) + 4). It
conditions on the k true bases *preceding* the position (unmasked: information the LM does
not have when a neighbour is masked); where fewer than k valid bases precede it inside the
window (window start, N), it backs off to the longest available context. It is evaluated on
exactly the masked positions the model is scored on.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path

log = logging.getLogger(__name__)

#: progress(desc, total) → update(n) callable (e.g. ``lambda d, t: tqdm(total=t, desc=d).update``)
ProgressFactory = Callable[[str, int], Callable[[int], None]]

#: mask seed of the first repeat: the same as the trainer's validation masks
EVAL_SEED = 1_000_003

TRACK_COLUMNS = ["identifier", "description", "group", "pearsonr", "r2", "pearsonr_raw", "r2_raw"]


def noop_progress(desc, total):
    return lambda n: None


# ============================================================================ statistics
def pearsonr(x: np.ndarray, y: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson R along ``axis`` (float64; NaN where either side is constant)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis) / np.sqrt((xc * xc).sum(axis) * (yc * yc).sum(axis))


def r2_score(y_true: np.ndarray, y_pred: np.ndarray, axis: int = 0) -> np.ndarray:
    """Coefficient of determination 1 − Σ(y−ŷ)² / Σ(y−ȳ)² along ``axis``."""
    y = np.asarray(y_true, np.float64)
    p = np.asarray(y_pred, np.float64)
    ss_res = ((y - p) ** 2).sum(axis)
    ss_tot = ((y - y.mean(axis=axis, keepdims=True)) ** 2).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - ss_res / ss_tot


class TrackStats:
    """Streaming per-track Pearson R and R² over every value passed to :meth:`update`.

    ``update(pred, target)`` takes arrays (..., T); all leading axes are pooled. Values are
    shifted by the first batch's per-track means (no cancellation when a track's variance is
    tiny next to its mean) and summed in float64.
    """

    def __init__(self, num_targets: int):
        self.num_targets = int(num_targets)
        t = self.num_targets
        self.n = 0
        self._shift = None
        self.sp = np.zeros(t)
        self.st = np.zeros(t)
        self.spp = np.zeros(t)
        self.stt = np.zeros(t)
        self.spt = np.zeros(t)

    def update(self, pred, target) -> None:
        # centred values and products stay in the input precision (float32: relative error
        # ~1e-7 per product, unbiased); every reduction accumulates in float64
        dt = np.result_type(np.asarray(pred).dtype, np.asarray(target).dtype, np.float32)
        p = np.asarray(pred, dt).reshape(-1, self.num_targets)
        y = np.asarray(target, dt).reshape(-1, self.num_targets)
        if p.shape != y.shape:
            raise YeastzoiError(f"predictions {p.shape} and targets {y.shape} differ in shape")
        if self._shift is None:   # the shifts actually subtracted (cast to dt), kept in float64
            self._shift = (p.mean(0, dtype=np.float64).astype(dt).astype(np.float64),
                           y.mean(0, dtype=np.float64).astype(dt).astype(np.float64))
        p = p - self._shift[0].astype(dt)
        y = y - self._shift[1].astype(dt)
        self.n += p.shape[0]
        self.sp += p.sum(0, dtype=np.float64)
        self.st += y.sum(0, dtype=np.float64)
        self.spp += (p * p).sum(0, dtype=np.float64)
        self.stt += (y * y).sum(0, dtype=np.float64)
        self.spt += (p * y).sum(0, dtype=np.float64)

    def _centred(self):
        n = max(self.n, 1)
        cpp = self.spp - self.sp ** 2 / n
        ctt = self.stt - self.st ** 2 / n
        cpt = self.spt - self.sp * self.st / n
        return cpp, ctt, cpt

    def pearsonr(self) -> np.ndarray:
        cpp, ctt, cpt = self._centred()
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cpt / np.sqrt(cpp * ctt)
        return np.where((cpp > 0) & (ctt > 0), r, np.nan)

    def r2(self) -> np.ndarray:
        cpp, ctt, cpt = self._centred()
        n = max(self.n, 1)
        # Σ(y-p)² in shifted coordinates: shift difference d = shift_y - shift_p
        d = self._shift[1] - self._shift[0] if self._shift is not None else 0.0
        # y_true - y_pred = (y' + s_y) - (p' + s_p) = (y' - p') + d
        ss_res = (self.stt - 2 * self.spt + self.spp) + 2 * d * (self.st - self.sp) + n * d * d
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ctt > 0, 1.0 - ss_res / ctt, np.nan)


# ============================================================================ groups
def track_groups(targets_df: pd.DataFrame) -> list[str]:
    """Group label per track: the ``group`` column, else the description prefix before
    ``:``, else ``all``."""
    out = []
    groups = targets_df["group"] if "group" in targets_df.columns else [""] * len(targets_df)
    descs = targets_df["description"] if "description" in targets_df.columns else [""] * len(targets_df)
    for g, d in zip(groups, descs):
        g = "" if g is None or (isinstance(g, float) and math.isnan(g)) else str(g).strip()
        d = "" if d is None or (isinstance(d, float) and math.isnan(d)) else str(d)
        if g:
            out.append(g)
        elif ":" in d and d.split(":", 1)[0].strip():
            out.append(d.split(":", 1)[0].strip())
        else:
            out.append("all")
    return out


def summarize(tracks: pd.DataFrame, columns=("pearsonr", "r2", "pearsonr_raw", "r2_raw"),
              group_col: str = "group") -> pd.DataFrame:
    """Per group (and ``all``): n_tracks and mean / median of each column (NaN skipped)."""
    columns = [c for c in columns if c in tracks.columns]
    rows = []
    parts = [(g, d) for g, d in tracks.groupby(group_col, sort=True)]
    if len(parts) != 1 or parts[0][0] != "all":
        parts.append(("all", tracks))
    for g, d in parts:
        row = {"group": g, "n_tracks": int(len(d))}
        for c in columns:
            v = pd.to_numeric(d[c], errors="coerce")
            row[f"{c}_mean"] = float(v.mean()) if v.notna().any() else np.nan
            row[f"{c}_median"] = float(v.median()) if v.notna().any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# ============================================================================ gene level
@dataclass
class GeneBins:
    """Genes evaluated on a split: ``genes`` (DataFrame gene_id, gene_name, chrom, start, end,
    window, n_bins) and ``by_window``: window row → [(gene row, bin indices)]."""
    genes: pd.DataFrame
    by_window: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=dict)


def gene_exon_bins(exons: dict[str, list[tuple[int, int]]], gene_chrom: dict[str, str],
                   windows: pd.DataFrame, crop_bp: int, pool_width: int, target_length: int,
                   gene_names: dict[str, str] | None = None) -> GeneBins:
    """Assign genes to windows and list their exon bins (see the module docstring).

    exons: gene_id → merged (start, end) bp, 0-based half-open; gene_chrom: gene_id → chrom
    (named as in ``windows``); windows: the split's sequences.bed rows in record order
    (chrom, start, end: full input windows).
    """
    t0 = windows["start"].to_numpy(np.int64) + int(crop_bp)
    t1 = t0 + int(target_length) * int(pool_width)
    chroms = windows["chrom"].astype(str).to_numpy()
    by_chrom = {c: np.flatnonzero(chroms == c) for c in np.unique(chroms)}
    rows, by_window = [], {}
    for gid, ex in exons.items():
        if not ex:
            continue
        chrom = gene_chrom.get(gid)
        idx = by_chrom.get(chrom)
        if idx is None:
            continue
        es, ee = min(s for s, _ in ex), max(e for _, e in ex)
        inside = idx[(t0[idx] <= es) & (t1[idx] >= ee)]
        if inside.size == 0:
            continue
        centre = (es + ee) / 2.0
        dist = np.abs((t0[inside] + t1[inside]) / 2.0 - centre)
        w = int(inside[np.argmin(dist)])  # argmin: first among ties (record order)
        bins = set()
        for s, e in ex:
            bins.update(range((s - t0[w]) // pool_width, (e - 1 - t0[w]) // pool_width + 1))
        b = np.array(sorted(bins), dtype=np.int64)
        by_window.setdefault(w, []).append((len(rows), b))
        rows.append({"gene_id": gid, "gene_name": (gene_names or {}).get(gid, ""), "chrom": chrom,
                     "start": int(es), "end": int(ee), "window": w, "n_bins": int(b.size)})
    genes = pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "start", "end", "window", "n_bins"])
    return GeneBins(genes, by_window)


def load_gene_bins(gtf, windows: pd.DataFrame, crop_bp: int, pool_width: int, target_length: int,
                   all_chroms=None) -> GeneBins:
    """:func:`gene_exon_bins` from a GTF/GFF3 file; its chromosome names are matched to the
    windows' (``all_chroms``: every chromosome of the data dir) through the R64 aliases."""
    from ..genome.aliases import match_chroms
    from ..genome.assembly import exons_by_gene, genes_table, read_gtf

    raw = read_gtf(gtf)
    ref = list(all_chroms) if all_chroms is not None else list(windows["chrom"].astype(str).unique())
    cmap = match_chroms(raw["chrom"].unique(), ref, what="GTF", reference="sequences.bed",
                        path=gtf, strict=False)
    if cmap.unmatched:
        log.info("%s: genes on %d chromosome(s) not in the data are ignored: %s", gtf,
                 len(cmap.unmatched), ", ".join(cmap.unmatched[:8]))
    df = raw[raw["chrom"].isin(list(cmap))].copy()
    df["chrom"] = df["chrom"].map(dict(cmap))
    genes = genes_table(df)
    gb = gene_exon_bins(exons_by_gene(df), dict(zip(genes["gene_id"], genes["chrom"])), windows,
                        crop_bp, pool_width, target_length,
                        gene_names=dict(zip(genes["gene_id"], genes["gene_name"])))
    log.info("%s: %d of %d genes lie inside the evaluated windows", gtf, len(gb.genes), len(genes))
    return gb


class GeneSums:
    """Accumulate per-gene sums of (untransformed) predictions and targets, window by window."""

    def __init__(self, gene_bins: GeneBins, num_targets: int):
        self.gene_bins = gene_bins
        n = len(gene_bins.genes)
        self.pred = np.zeros((n, num_targets))
        self.true = np.zeros((n, num_targets))

    def update(self, window: int, pred: np.ndarray, true: np.ndarray) -> None:
        """pred, true: (target_length, T) untransformed values of window row ``window``."""
        for g, bins in self.gene_bins.by_window.get(int(window), ()):
            self.pred[g] = np.asarray(pred, np.float64)[bins].sum(0)
            self.true[g] = np.asarray(true, np.float64)[bins].sum(0)


def gene_pearsonr(pred_sums: np.ndarray, true_sums: np.ndarray, log_space: bool = True) -> np.ndarray:
    """Per-track R over genes (rows) of gene sums; ``log_space``: of log2(1 + max(x, 0))."""
    p, t = np.asarray(pred_sums, np.float64), np.asarray(true_sums, np.float64)
    if p.shape[0] < 2:
        return np.full(p.shape[1], np.nan)
    if log_space:
        p, t = np.log2(1 + np.maximum(p, 0)), np.log2(1 + np.maximum(t, 0))
    return pearsonr(p, t, axis=0)


# ============================================================================ model / data
def load_model(model_path, params: dict | None = None):
    """Rebuild a :class:`~yeastzoi.model.seqnn.SeqNN` and load ``model_path`` (.h5 / .keras).

    The spec stored with the model wins (:meth:`SeqNN.from_file`); ``params['model']`` is
    used only for files without yeastzoi metadata (e.g. baskerville's).
    """
    from ..model.seqnn import SeqNN, read_meta
    path = Path(model_path)
    if not path.exists():
        raise YeastzoiError(f"{path}: no such model file")
    seqnn = SeqNN.from_file(path, params_model=params["model"] if params is not None else None)
    # the trainer records the target genome's species channel in the file's metadata
    file_meta = read_meta(path) or {}
    for key in ("species_index", "target_species", "task"):
        if file_meta.get(key) is not None and seqnn.meta.get(key) is None:
            seqnn.meta[key] = file_meta[key]
    return seqnn


def check_track_model(meta: dict, stats: dict, model_path, data_dir) -> None:
    """One-line YeastzoiError when the model's input/output do not match the data."""
    checks = [("seq_length", "input length (bp)"), ("target_length", "output length (bins)"),
              ("num_targets", "number of tracks"), ("pool_width", "bin width (bp)")]
    for key, what in checks:
        a, b = meta.get(key), stats.get(key)
        if a is not None and b is not None and int(a) != int(b):
            raise YeastzoiError(
                f"{model_path}: the model's {what} is {a} but {data_dir} has {key}={b}; evaluate the "
                f"model on the data it was trained for (or fix params.json's model section)")


def resolve_species_index(meta: dict, species=None) -> int | None:
    """Species channel for a track model with species inputs: ``species`` (name or index),
    else the model's ``species_index`` / ``target_species`` metadata; None without channels."""
    n = int(meta.get("num_species") or 0)
    if int(meta.get("num_features", 4)) <= 5 or n == 0:
        return None
    names = meta.get("species") if isinstance(meta.get("species"), list) else None
    choice = species if species is not None else meta.get("species_index", meta.get("target_species"))
    if choice is None:
        raise YeastzoiError(f"the model has {n} species channels but its metadata names no target "
                            f"species; pass --species NAME or INDEX"
                            + (f" (one of {', '.join(names[:8])})" if names else ""))
    if isinstance(choice, str) and not choice.isdigit():
        if not names or choice not in names:
            raise YeastzoiError(f"species '{choice}' is not in the model's species list "
                                f"{names[:8] if names else '(none stored)'}; pass an index instead")
        return names.index(choice)
    idx = int(choice)
    if not 0 <= idx < n:
        raise YeastzoiError(f"species index {idx} out of range for the model's {n} species")
    return idx


def split_records(data_dir, split: str = "test", fold: int | None = None):
    """(record files, sequences.bed rows in record order) of a split; with ``fold`` the split
    is train/valid/test of that fold of a K-fold data dir."""
    from ..data.pipeline import _resolve_files, fold_splits
    from ..data.tfrecords import read_sequences_bed
    if fold is not None:
        if split not in ("train", "valid", "test"):
            raise YeastzoiError(f"with --fold the split must be train, valid or test, not '{split}'")
        files = fold_splits(data_dir, int(fold))[split]
        if not files:
            raise YeastzoiError(f"{data_dir}: fold {fold} has no {split} records")
    else:
        files = _resolve_files(data_dir, split, None)
    bed = read_sequences_bed(Path(data_dir) / "sequences.bed")
    names = list(dict.fromkeys(Path(f).name.rsplit("-", 1)[0] for f in files))
    rows = pd.concat([bed[bed["split"].astype(str) == s] for s in names], ignore_index=True)
    return files, rows


def _count_records(files) -> int:
    import tensorflow as tf
    n = 0
    for f in files:
        n += sum(1 for _ in tf.data.TFRecordDataset(f, compression_type="ZLIB"))
    return n


# ============================================================================ track evaluation
@dataclass
class TrackEval:
    tracks: pd.DataFrame            # TRACK_COLUMNS per track
    genes: pd.DataFrame | None      # per-track gene-level R (None without a GTF)
    gene_values: pd.DataFrame | None
    n_seqs: int
    n_bins: int


def evaluate_tracks(seqnn, data_dir, split: str = "test", fold: int | None = None,
                    batch_size: int = 4, rc: bool = False, shifts=(0,), gtf=None,
                    species=None, preds_path=None, progress: ProgressFactory | None = None) -> TrackEval:
    """Predict one split and compute per-track (and gene-level) accuracy; see the module
    docstring for the definitions. ``preds_path``: also write predictions (float16 HDF5)."""
    from ..data.pipeline import read_statistics, track_dataset
    from ..coverage.targets import read_targets, untransform

    progress = progress or noop_progress
    data_dir = Path(data_dir)
    stats = read_statistics(data_dir)
    meta = seqnn.meta
    check_track_model(meta, stats, meta.get("model_path", "model"), data_dir)
    if not (data_dir / "targets.txt").exists():
        raise YeastzoiError(f"{data_dir} has no targets.txt; a track data dir needs its targets sheet")
    targets = read_targets(data_dir / "targets.txt")
    ntar, tlen = int(stats["num_targets"]), int(stats["target_length"])
    if len(targets) != ntar:
        raise YeastzoiError(f"{data_dir}/targets.txt has {len(targets)} tracks but statistics.json "
                            f"says {ntar}; rebuild the data directory")
    pool_width, crop_bp = int(stats["pool_width"]), int(stats["crop_bp"])
    files, windows = split_records(data_dir, split, fold)
    names = list(dict.fromkeys(Path(f).name.rsplit("-", 1)[0] for f in files))
    if all(stats.get(f"{n}_seqs") is not None for n in names):
        n_seqs = sum(int(stats[f"{n}_seqs"]) for n in names)
    else:
        n_seqs = _count_records(files)
    if n_seqs != len(windows):
        raise YeastzoiError(f"{data_dir}: sequences.bed has {len(windows)} rows for split {split} but "
                            f"the records hold {n_seqs}; rebuild the data directory")
    sp_index = resolve_species_index(meta, species)
    seqnn.build_ensemble(rc=rc, shifts=list(shifts))
    ds = track_dataset(data_dir, split, batch_size=batch_size, shuffle=False, files=files,
                       num_features=int(meta.get("num_features", 4)), species_index=sp_index)
    st, st_raw = TrackStats(ntar), TrackStats(ntar)
    gene_sums = None
    if gtf is not None:
        from ..data.tfrecords import read_sequences_bed
        all_chroms = read_sequences_bed(data_dir / "sequences.bed")["chrom"].astype(str).unique()
        gene_sums = GeneSums(load_gene_bins(gtf, windows, crop_bp, pool_width, tlen, all_chroms), ntar)
    h5 = None
    update = progress(f"predict {split}", n_seqs)
    with atomic_path(preds_path) if preds_path else _nullctx() as tmp:
        if tmp is not None:
            import h5py
            h5 = h5py.File(tmp, "w")
            dp = h5.create_dataset("preds", (n_seqs, tlen, ntar), dtype="float16",
                                   chunks=(1, tlen, ntar), compression="gzip")
            h5.create_dataset("chrom", data=windows["chrom"].astype(str).to_numpy().astype("S"))
            for c in ("start", "end"):
                h5.create_dataset(c, data=windows[c].to_numpy(np.int64))
            h5.attrs["split"] = split
            h5.attrs["target_ids"] = list(targets["identifier"].astype(str))
        i = 0
        try:
            for x, y in ds:
                p = seqnn.predict(x.numpy(), batch_size=batch_size)
                y = y.numpy()
                st.update(p, y)
                pr, yr = untransform(p, targets), untransform(y, targets)
                st_raw.update(pr, yr)
                if gene_sums is not None:
                    for j in range(len(p)):
                        gene_sums.update(i + j, pr[j], yr[j])
                if h5 is not None:
                    dp[i:i + len(p)] = np.clip(p, -65504, 65504).astype(np.float16)
                i += len(p)
                update(len(p))
        finally:
            if h5 is not None:
                h5.close()
    groups = track_groups(targets)
    tracks = pd.DataFrame({"identifier": targets["identifier"].astype(str).to_numpy(),
                           "description": targets["description"].astype(str).to_numpy(),
                           "group": groups, "pearsonr": st.pearsonr(), "r2": st.r2(),
                           "pearsonr_raw": st_raw.pearsonr(), "r2_raw": st_raw.r2()})
    genes = values = None
    if gene_sums is not None:
        g = gene_sums.gene_bins.genes
        genes = pd.DataFrame({"identifier": tracks["identifier"], "description": tracks["description"],
                              "group": groups, "n_genes": len(g),
                              "pearsonr": gene_pearsonr(gene_sums.pred, gene_sums.true, True),
                              "pearsonr_raw": gene_pearsonr(gene_sums.pred, gene_sums.true, False)})
        values = g.copy()
        values["pred_total"] = gene_sums.pred.sum(1)
        values["true_total"] = gene_sums.true.sum(1)
    return TrackEval(tracks, genes, values, n_seqs, st.n)


class _nullctx:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


def write_tsv(df: pd.DataFrame, path, float_format: str = "%.6g") -> Path:
    """Write a tab-separated table atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format, na_rep="nan")
    return Path(path)


def run_track_eval(params_path, model_path, data_dir, out_dir, split: str = "test",
                   fold: int | None = None, rc: bool = False, shifts=(0,), gtf=None,
                   compare=None, labels=None, batch_size: int | None = None, species=None,
                   save_preds: bool = False, plots: bool = True,
                   progress: ProgressFactory | None = None) -> dict:
    """The work of ``yeastzoi_eval.py``: evaluate MODEL (and ``compare``) and write OUT.

    Models are rebuilt from the spec stored with them; ``params_path`` gives the batch size and
    the spec of a model file without yeastzoi metadata. Writes tracks.tsv (first model), genes.tsv (with ``gtf``), summary.tsv (per group; a
    ``model`` column), violin plots, and with ``compare``: tracks_<label2>.tsv, compare.tsv
    (per-track R of both side by side) and compare_pearsonr.png. Returns {name: path}.
    """
    from ..data.pipeline import read_statistics
    out_dir = Path(out_dir)
    stats = read_statistics(data_dir)   # fail fast on a bad data dir, before loading Keras and models
    if gtf is not None and not Path(gtf).is_file():
        raise YeastzoiError(f"{gtf}: annotation file not found; check the --gtf path")
    from ..model.params import load_params
    from ..model.seqnn import read_meta
    params = load_params(params_path)
    batch_size = int(batch_size or params["train"].get("batch_size", 4))
    models = [model_path] + ([compare] if compare else [])
    if labels is None:
        labels = ["model", "compare"][:len(models)]
    labels = [str(s) for s in labels]
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        raise YeastzoiError(f"--labels needs {len(models)} distinct names (one per model), got {labels}")
    outputs, results = {}, []
    for k, (mp, lab) in enumerate(zip(models, labels)):
        # each model is rebuilt from the spec stored with it (a scratch model has no species
        # channels, a fine-tuned one has); params.json stands in only for files without metadata
        stored = read_meta(mp) or {}
        if stored.get("model_spec"):
            check_track_model(stored, stats, mp, data_dir)   # fail before building the network
        seqnn = load_model(mp, params if k == 0 or not stored.get("model_spec") else None)
        seqnn.meta["model_path"] = str(mp)
        res = evaluate_tracks(seqnn, data_dir, split, fold, batch_size, rc, shifts,
                              gtf=gtf, species=species,
                              preds_path=(out_dir / ("preds.h5" if k == 0 else f"preds_{lab}.h5"))
                              if save_preds else None, progress=progress)
        results.append(res)
        suffix = "" if k == 0 else f"_{lab}"
        outputs[f"tracks{suffix}"] = write_tsv(res.tracks, out_dir / f"tracks{suffix}.tsv")
        if res.genes is not None:
            outputs[f"genes{suffix}"] = write_tsv(res.genes, out_dir / f"genes{suffix}.tsv")
            outputs[f"gene_values{suffix}"] = write_tsv(res.gene_values, out_dir / f"gene_values{suffix}.tsv")
        log.info("%s: %d sequences, %d bins × %d tracks; mean R %.4f (raw %.4f)%s", mp, res.n_seqs,
                 res.n_bins, len(res.tracks), np.nanmean(res.tracks["pearsonr"]),
                 np.nanmean(res.tracks["pearsonr_raw"]),
                 f"; gene-level mean R {np.nanmean(res.genes['pearsonr']):.4f} over "
                 f"{int(res.genes['n_genes'].iloc[0])} genes" if res.genes is not None else "")
    summaries = []
    for lab, res in zip(labels, results):
        s = summarize(res.tracks)
        if res.genes is not None:
            g = summarize(res.genes.rename(columns={"pearsonr": "gene_pearsonr",
                                                    "pearsonr_raw": "gene_pearsonr_raw"}),
                          columns=("gene_pearsonr", "gene_pearsonr_raw"))
            s = s.merge(g.drop(columns="n_tracks"), on="group", how="left")
        s.insert(0, "model", lab)
        summaries.append(s)
    outputs["summary"] = write_tsv(pd.concat(summaries, ignore_index=True), out_dir / "summary.tsv")
    if len(results) == 2:
        a, b = results
        cmp_df = pd.DataFrame({"identifier": a.tracks["identifier"], "description": a.tracks["description"],
                               "group": a.tracks["group"]})
        for lab, res in zip(labels, results):
            for c in ("pearsonr", "r2", "pearsonr_raw"):
                cmp_df[f"{c}_{lab}"] = res.tracks[c].to_numpy()
        cmp_df["pearsonr_diff"] = cmp_df[f"pearsonr_{labels[0]}"] - cmp_df[f"pearsonr_{labels[1]}"]
        outputs["compare"] = write_tsv(cmp_df, out_dir / "compare.tsv")
    if plots:
        from ..plots import figures as P
        for lab, res in zip(labels, results):
            suffix = "" if lab == labels[0] else f"_{lab}"
            outputs[f"violin{suffix}"] = P.violin_by_group(
                res.tracks["pearsonr"], res.tracks["group"], out_dir / f"violin_pearsonr{suffix}.png",
                ylabel="Pearson R (per track, all bins)", title=f"{lab}: {split}")
            if res.genes is not None:
                outputs[f"violin_genes{suffix}"] = P.violin_by_group(
                    res.genes["pearsonr"], res.genes["group"], out_dir / f"violin_genes{suffix}.png",
                    ylabel="gene-level Pearson R (log2 exon sums)", title=f"{lab}: {split}")
        if len(results) == 2:
            outputs["scatter"] = P.scatter_compare(
                results[0].tracks["pearsonr"], results[1].tracks["pearsonr"],
                out_dir / "compare_pearsonr.png", xlabel=f"{labels[0]} Pearson R",
                ylabel=f"{labels[1]} Pearson R", groups=results[0].tracks["group"],
                title=f"per-track Pearson R, {split}")
    return outputs
