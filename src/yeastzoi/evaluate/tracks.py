"""Evaluation of track models: per-track and gene-level accuracy on one split.

Per track (:func:`evaluate_tracks`)
-----------------------------------
The predictor (:class:`yeastzoi.model.predictor.Predictor`: one model or an ensemble, its
optional reverse-complement / shift averaging and species channel) predicts every record of
one split (records in ``sequences.bed`` order). Per track, over **all bins of all windows**
of the split:

* ``pearsonr`` / ``r2``: Pearson R and R² = 1 − Σ(y−ŷ)² / Σ(y−ȳ)² in the transformed space the
  records store (the space the model was trained in);
* ``pearsonr_raw`` / ``r2_raw``: the same after :func:`yeastzoi.coverage.untransform`
  of both predictions and targets (coverage units: bin sums for ``sum*`` tracks).

Statistics are streamed (:class:`yeastzoi.evaluate.stats.TrackStats`), so nothing of size
(windows × bins × tracks) is held in memory. Gene-level R (``gtf=``): the exact definition is
the :mod:`yeastzoi.evaluate.genes` docstring (a gene owns the bins of
:meth:`yeastzoi.model.geometry.Geometry.gene_bins`, the rule gene-level variant scoring uses).

Many-genome datasets (``yeastzoi_data.py --genomes``; statistics.json lists ``genomes``): the
same statistics are also computed per genome, over the bins of that genome's windows (the
records' ``genome`` feature, checked against sequences.bed) → :attr:`TrackEval.genomes`. The
all-genome numbers pool every genome's windows. Gene-level R (``gtf=``, an annotation in
reference coordinates) uses the reference genome's windows only.

Groups: a track's group is the sheet's ``group`` column; when empty, the description's prefix
before ``:`` (``RNA:wt_ypd`` → ``RNA``); otherwise ``all``. The script's outputs (tables,
comparison, figures): :func:`yeastzoi.evaluate.track_runs.run_track_eval`.
"""
from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path
from .genes import GeneSums, gene_pearsonr, load_gene_bins
from .stats import TrackStats

log = logging.getLogger(__name__)

#: progress(desc, total) → update(n) callable (e.g. ``lambda d, t: tqdm(total=t, desc=d).update``)
ProgressFactory = Callable[[str, int], Callable[[int], None]]

#: mask seed of the first repeat of masked-LM evaluation: the trainer's validation masks
EVAL_SEED = 1_000_003

TRACK_COLUMNS = ["identifier", "description", "group", "pearsonr", "r2", "pearsonr_raw", "r2_raw"]
#: per-genome table: the genome name and its number of windows before :data:`TRACK_COLUMNS`
GENOME_COLUMNS = ["genome", "n_seqs", *TRACK_COLUMNS]


def noop_progress(desc, total):
    return lambda n: None


def write_tsv(df: pd.DataFrame, path, float_format: str = "%.6g") -> Path:
    """Write a tab-separated table atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format, na_rep="nan")
    return Path(path)


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


# ============================================================================ data
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


def split_records(data_dir, split: str = "test", fold: int | None = None):
    """(record files, sequences.bed rows in record order) of a split; with ``fold`` the split
    is train/valid/test of that fold of a K-fold data dir."""
    from ..data.pipeline import fold_splits, record_files
    from ..data.tfrecords import read_sequences_bed
    if fold is not None:
        if split not in ("train", "valid", "test"):
            raise YeastzoiError(f"with --fold the split must be train, valid or test, not '{split}'")
        files = fold_splits(data_dir, int(fold))[split]
        if not files:
            raise YeastzoiError(f"{data_dir}: fold {fold} has no {split} records")
    else:
        files = record_files(data_dir, split)
        if not files:
            raise YeastzoiError(f"{data_dir}/tfrecords has no {split}-*.tfr files; check the split name "
                                "(train/valid/test, or --fold for K-fold data)")
    bed = read_sequences_bed(Path(data_dir) / "sequences.bed")
    names = list(dict.fromkeys(Path(f).name.rsplit("-", 1)[0] for f in files))
    rows = pd.concat([bed[bed["split"].astype(str) == s] for s in names], ignore_index=True)
    return files, rows


def _split_size(data_dir, stats: dict, files, windows, split: str) -> int:
    from ..data.tfrecords import verify_records
    names = list(dict.fromkeys(Path(f).name.rsplit("-", 1)[0] for f in files))
    if all(stats.get(f"{n}_seqs") is not None for n in names):
        n_seqs = sum(int(stats[f"{n}_seqs"]) for n in names)
    else:
        n_seqs = verify_records(files)
    if n_seqs != len(windows):
        raise YeastzoiError(f"{data_dir}: sequences.bed has {len(windows)} rows for split {split} but "
                            f"the records hold {n_seqs}; rebuild the data directory")
    return n_seqs


def _read_sheet(data_dir, ntar: int):
    from ..coverage import read_targets
    if not (Path(data_dir) / "targets.txt").exists():
        raise YeastzoiError(f"{data_dir} has no targets.txt; a track data dir needs its targets sheet")
    targets = read_targets(Path(data_dir) / "targets.txt")
    if len(targets) != ntar:
        raise YeastzoiError(f"{data_dir}/targets.txt has {len(targets)} tracks but statistics.json "
                            f"says {ntar}; rebuild the data directory")
    return targets


# ============================================================================ evaluation
@dataclass
class TrackEval:
    tracks: pd.DataFrame            # TRACK_COLUMNS per track
    genes: pd.DataFrame | None      # per-track gene-level R (None without a GTF)
    gene_values: pd.DataFrame | None
    n_seqs: int
    n_bins: int
    genomes: pd.DataFrame | None = None   # GENOME_COLUMNS per (genome, track); many-genome data only


@contextlib.contextmanager
def _preds_file(path, windows, split, targets, n_seqs, tlen, ntar):
    """An open float16 ``preds`` dataset of a predictions HDF5 (atomic), or None."""
    if path is None:
        yield None
        return
    import h5py
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        dp = h5.create_dataset("preds", (n_seqs, tlen, ntar), dtype="float16",
                               chunks=(1, tlen, ntar), compression="gzip")
        h5.create_dataset("chrom", data=windows["chrom"].astype(str).to_numpy().astype("S"))
        for c in ("start", "end"):
            h5.create_dataset(c, data=windows[c].to_numpy(np.int64))
        h5.attrs["split"] = split
        h5.attrs["target_ids"] = list(targets["identifier"].astype(str))
        yield dp


def _track_table(targets, st: TrackStats, st_raw: TrackStats) -> pd.DataFrame:
    return pd.DataFrame({"identifier": targets["identifier"].astype(str).to_numpy(),
                         "description": targets["description"].astype(str).to_numpy(),
                         "group": track_groups(targets), "pearsonr": st.pearsonr(), "r2": st.r2(),
                         "pearsonr_raw": st_raw.pearsonr(), "r2_raw": st_raw.r2()})


def dataset_genomes(stats: dict) -> list[str] | None:
    """The genome names of a many-genome dataset (statistics.json ``genomes``, 2 or more), else None."""
    names = stats.get("genomes")
    return [str(n) for n in names] if names and len(names) > 1 else None


def genome_ids(windows: pd.DataFrame, names: list[str], data_dir) -> np.ndarray:
    """int (n,): each sequences.bed row's genome index in ``names`` (statistics.json
    ``genomes``); one-line errors for a missing genome column or an unknown name."""
    if "genome" not in windows.columns:
        raise YeastzoiError(f"{data_dir}/sequences.bed has no genome column but statistics.json lists "
                            f"{len(names)} genomes; rebuild the data directory")
    index = {n: i for i, n in enumerate(names)}
    bad = sorted(set(windows["genome"].astype(str)) - set(index))
    if bad:
        raise YeastzoiError(f"{data_dir}/sequences.bed names genome(s) {', '.join(bad[:5])} that statistics.json "
                            "does not list; rebuild the data directory")
    return windows["genome"].astype(str).map(index).to_numpy(np.int64)


def _genome_table(names, per_genome, targets, n_by_genome) -> pd.DataFrame:
    parts = []
    for k, name in enumerate(names):
        t = _track_table(targets, *per_genome[k])
        t.insert(0, "n_seqs", int(n_by_genome[k]))
        t.insert(0, "genome", name)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)[GENOME_COLUMNS]


def _gene_tables(tracks: pd.DataFrame, gene_sums: GeneSums):
    g = gene_sums.gene_bins.genes
    genes = pd.DataFrame({"identifier": tracks["identifier"], "description": tracks["description"],
                          "group": tracks["group"], "n_genes": len(g),
                          "pearsonr": gene_pearsonr(gene_sums.pred, gene_sums.true, True),
                          "pearsonr_raw": gene_pearsonr(gene_sums.pred, gene_sums.true, False)})
    values = g.copy()
    values["pred_total"] = gene_sums.pred.sum(1)
    values["true_total"] = gene_sums.true.sum(1)
    return genes, values


def evaluate_tracks(model, data_dir, split: str = "test", fold: int | None = None,
                    batch_size: int | None = None, rc: bool | None = None, shifts=None, gtf=None,
                    species=None, preds_path=None, progress: ProgressFactory | None = None) -> TrackEval:
    """Predict one split and compute per-track (and gene-level) accuracy; see the module
    docstring. ``model``: a :class:`~yeastzoi.model.predictor.Predictor`, or a SeqNN wrapped
    with ``batch_size``, ``rc``, ``shifts`` and ``species``. ``preds_path``: also write the
    (ensemble mean) predictions as float16 HDF5."""
    from ..coverage import untransform
    from ..data.pipeline import read_statistics, track_dataset
    from ..model.predictor import as_predictor

    progress = progress or noop_progress
    data_dir = Path(data_dir)
    stats = read_statistics(data_dir)
    pred = as_predictor(model, batch_size=batch_size, rc=rc, shifts=shifts, species=species)
    for name, meta in zip(pred.names, pred.metas):
        check_track_model(meta, stats, name, data_dir)
    ntar, tlen = int(stats["num_targets"]), int(stats["target_length"])
    targets = _read_sheet(data_dir, ntar)
    files, windows = split_records(data_dir, split, fold)
    n_seqs = _split_size(data_dir, stats, files, windows, split)
    names = dataset_genomes(stats)
    want_ids = genome_ids(windows, names, data_dir) if names else None
    ds = track_dataset(data_dir, split, batch_size=pred.batch_size, shuffle=False, files=files,
                       num_features=pred.num_features, species_index=pred.species_index, with_genome=True)
    st, st_raw = TrackStats(ntar), TrackStats(ntar)
    per_genome = [(TrackStats(ntar), TrackStats(ntar)) for _ in names or ()]
    gene_sums = None
    if gtf is not None:
        from ..data.tfrecords import read_sequences_bed
        all_chroms = read_sequences_bed(data_dir / "sequences.bed")["chrom"].astype(str).unique()
        gene_windows = windows
        if names:   # the annotation is in reference coordinates: only the reference's windows
            ref = stats.get("reference_genome", names[0])
            gene_windows = windows.assign(chrom=windows["chrom"].where(windows["genome"].astype(str) == ref, ""))
            log.info("gene-level R over the reference genome %s's windows (%d of %d)", ref,
                     int((windows["genome"].astype(str) == ref).sum()), len(windows))
        gene_sums = GeneSums(load_gene_bins(gtf, gene_windows, pred.geometry, all_chroms), ntar)
    update = progress(f"predict {split}", n_seqs)
    pred.expect(n_seqs)
    i = 0
    with _preds_file(preds_path, windows, split, targets, n_seqs, tlen, ntar) as dp:
        for x, y, gid in ds:
            gid = gid.numpy()
            if names and not np.array_equal(gid, want_ids[i:i + len(gid)]):
                raise YeastzoiError(f"{data_dir}: the records' genome ids disagree with sequences.bed near "
                                    f"row {i} of split {split}; rebuild the data directory")
            p = pred.predict(x.numpy()).mean(axis=0)
            y = y.numpy()
            st.update(p, y)
            pr, yr = untransform(p, targets), untransform(y, targets)
            st_raw.update(pr, yr)
            if names:
                for k in np.unique(gid):
                    sel = gid == k
                    per_genome[k][0].update(p[sel], y[sel])
                    per_genome[k][1].update(pr[sel], yr[sel])
            if gene_sums is not None:
                for j in range(len(p)):
                    gene_sums.update(i + j, pr[j], yr[j])
            if dp is not None:
                dp[i:i + len(p)] = np.clip(p, -65504, 65504).astype(np.float16)
            i += len(p)
            update(len(p))
    tracks = _track_table(targets, st, st_raw)
    genes, values = _gene_tables(tracks, gene_sums) if gene_sums is not None else (None, None)
    by_genome = None
    if names:
        by_genome = _genome_table(names, per_genome, targets, np.bincount(want_ids, minlength=len(names)))
    return TrackEval(tracks, genes, values, n_seqs, st.n, by_genome)
