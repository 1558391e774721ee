"""Promoter-library rows in training: inputs, batch layout and validation metrics.

A library dataset (:mod:`yeastzoi.data.library`) trains a coverage model through its own
gene-level prediction: each row's construct window goes through the model, the reporter's
bins of the condition's track are read out (:func:`yeastzoi.train.losses.library_readout`)
and compared with the measured activity by :func:`yeastzoi.train.losses.library_loss`
(mean over conditions of 1 − Pearson r over the rows of the batch).

Two ways to use it (``yeastzoi_train.py``):

* **library only**: the data dir *is* a library dataset (statistics.json ``"dataset":
  "library"``); every step is one library batch and the training loss is
  ``train.library_weight × library loss + L2``;
* **mixed**: ``--library LIB_DATA`` beside a track data dir; every step takes one coverage
  batch and one library batch (the library rows are repeated and reshuffled as needed; an
  epoch is the coverage data's) and the loss is ``coverage loss + train.library_weight ×
  library loss + L2``. The library dataset must have the track data's geometry and targets.

``train.library_weight`` (default 1.0, ≥ 0) weighs the library loss;
``train.library_batch_size`` (default ``train.batch_size``, ≥ 3: Pearson needs rows) is the
number of library rows per step and replica. Under several replicas each replica's Pearson
is over its share of the rows and the replica losses are averaged.

Validation (and the test split) reads out the split's rows (the first ``train.eval_steps_max``
batches of them when that is set, as for coverage windows) and reports
``library_loss`` (1 − Pearson r over those rows, mean over conditions),
``library_pearsonr`` (the mean r) and ``library_pearsonr_<condition>``; the split's loss is
the coverage loss (mixed runs) + ``library_weight × library_loss`` + L2, which selects the
best model. Batch layout seen by the steps (:func:`batch_parts`): coverage ``(x, y)``,
library ``(x, gene_mask, tracks, activity)``, mixed the two concatenated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import YeastzoiError

MODES = (None, "mixed", "only")


@dataclass
class LibraryData:
    """The library part of a run's inputs."""
    path: Path
    stats: dict
    make_train: Callable            # epoch → tf.data of library batches
    make_evals: Callable            # split → list of tf.data ([] when the split has no rows)
    files: list
    conditions: list
    global_batch: int


def is_library_dir(data_dir) -> bool:
    """Whether ``data_dir``'s statistics.json marks a promoter-library dataset."""
    from ..data.pipeline import read_statistics
    return read_statistics(data_dir).get("dataset") == "library"


def library_weight(t: dict) -> float:
    return float(t.get("library_weight", 1.0))


def library_global_batch(t: dict, n_rep: int) -> int:
    return int(t.get("library_batch_size") or t["batch_size"]) * int(n_rep)


def library_data(t: dict, lib_dir, seed: int, global_batch: int, num_features: int, species_index,
                 repeat: bool) -> LibraryData:
    """Factories of library batches (``repeat``: endless training stream, for mixed runs)."""
    from ..data.pipeline import library_dataset, read_statistics, record_files
    lib_dir = Path(lib_dir)
    if not is_library_dir(lib_dir):
        raise YeastzoiError(f"--library {lib_dir}: not a library dataset (statistics.json has no "
                            "\"dataset\": \"library\"); build one with yeastzoi_library_data.py")
    stats = read_statistics(lib_dir)
    if not record_files(lib_dir, "train"):
        raise YeastzoiError(f"{lib_dir}: the library has no train rows")
    kw = dict(num_features=num_features, species_index=species_index)

    def make_train(epoch):
        return library_dataset(lib_dir, "train", batch_size=global_batch, shuffle=True,
                               shuffle_buffer=max(int(t["shuffle_buffer"]), 1024), seed=seed * 100003 + epoch + 7,
                               repeat=repeat, drop_remainder=True, **kw)

    def make_evals(split):
        if not record_files(lib_dir, split):
            return []
        ds = library_dataset(lib_dir, split, batch_size=global_batch, shuffle=False, **kw)
        return [ds.take(int(t["eval_steps_max"])) if t.get("eval_steps_max") else ds]

    files = [f for s in ("train", "valid", "test") for f in record_files(lib_dir, s)]
    return LibraryData(lib_dir, stats, make_train, make_evals, files, list(stats["conditions"]), global_batch)


def check_compatible(lib: LibraryData, track_stats: dict, track_ids, data_dir) -> None:
    """A mixed run's library must share the track data's geometry and targets."""
    for key in ("seq_length", "target_length", "pool_width", "num_targets"):
        if int(lib.stats[key]) != int(track_stats[key]):
            raise YeastzoiError(f"--library {lib.path}: {key} {lib.stats[key]} differs from {data_dir}'s "
                                f"{track_stats[key]}; rebuild the library with the track data's -l/-w/-c and targets")
    from .inputs import target_ids
    ids = target_ids(lib.path, int(lib.stats["num_targets"]))
    if track_ids and ids and ids != track_ids:
        raise YeastzoiError(f"--library {lib.path}: its targets.txt lists other tracks than {data_dir}'s; "
                            "build the library with the track data's targets sheet")


def mix(coverage_ds, library_ds):
    """One tf.data stream of mixed batches ``(x, y, x_lib, gene_mask, tracks, activity)``."""
    import tensorflow as tf
    return tf.data.Dataset.zip((coverage_ds, library_ds)).map(lambda c, lib: tuple(c) + tuple(lib))


def batch_parts(batch, mode):
    """(coverage part or None, library part or None) of a step's batch (module docstring)."""
    if mode == "only":
        return None, tuple(batch)
    if mode == "mixed":
        return tuple(batch[:2]), tuple(batch[2:6])
    return tuple(batch), None


class LibraryMetrics:
    """Read-outs and activities of a split's rows, accumulated on the host (float64)."""

    def __init__(self, conditions):
        self.conditions = list(conditions)
        self.readouts, self.activities = [], []

    def update(self, readout, activity) -> None:
        self.readouts.append(np.asarray(readout, np.float64))
        self.activities.append(np.asarray(activity, np.float64))

    def pearsonr(self) -> np.ndarray:
        """(C,) Pearson r of read-out vs activity over every row (NaN for a constant column)."""
        if not self.readouts:
            return np.full(len(self.conditions), np.nan)
        x, y = np.concatenate(self.readouts), np.concatenate(self.activities)
        xc, yc = x - x.mean(0), y - y.mean(0)
        den = np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum(0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (xc * yc).sum(0) / den, np.nan)

    def summary(self) -> dict:
        """library_loss (mean over conditions of 1 − r; a constant read-out counts r = 0),
        library_pearsonr (mean r) and library_pearsonr_<condition>."""
        r = self.pearsonr()
        out = {"library_loss": float(np.mean(1.0 - np.nan_to_num(r, nan=0.0))),
               "library_pearsonr": float(np.nanmean(r)) if np.isfinite(r).any() else math.nan}
        out.update({f"library_pearsonr_{c}": float(v) for c, v in zip(self.conditions, r)})
        return out


def evaluate_library(lib: LibraryData, split: str, readout_batches) -> dict | None:
    """Library metrics of ``split``; ``readout_batches(ds)`` yields (read-out, activity) numpy
    pairs per batch (the backend's step). None when the split has no library rows."""
    evals = lib.make_evals(split)
    if not evals:
        return None
    acc = LibraryMetrics(lib.conditions)
    for ds in evals:
        for readout, activity in readout_batches(ds):
            acc.update(readout, activity)
    return acc.summary()


__all__ = ["MODES", "LibraryData", "is_library_dir", "library_weight", "library_global_batch", "library_data",
           "check_compatible", "mix", "batch_parts", "LibraryMetrics", "evaluate_library"]


def library_mode(data) -> str | None:
    """The steps' batch layout for a run's inputs: ``only``, ``mixed`` or None."""
    if data.kind == "library":
        return "only"
    return "mixed" if getattr(data, "library", None) is not None else None


def library_only_data(t: dict, data_dir, seed: int, n_rep: int, num_features: int, species_names, species,
                      names_source):
    """:class:`yeastzoi.train.inputs.TrainData` of a library-only run (module docstring)."""
    from ..data.pipeline import read_statistics
    from .inputs import TrainData, match_species, target_ids
    stats = read_statistics(data_dir)
    sp_idx, sp_name = None, None
    if num_features > 5:
        sp_idx, sp_name = match_species(species_names, species, stats.get("species"), names_source)
    steps = t.get("steps_per_epoch_max")
    lib = library_data(t, data_dir, seed, library_global_batch(t, n_rep), num_features, sp_idx, repeat=bool(steps))

    def make_train(epoch):
        ds = lib.make_train(epoch)
        return ds.take(steps) if steps else ds

    return TrainData("library", stats, make_train, lambda split: [], num_features, list(lib.files),
                     target_ids=target_ids(data_dir, int(stats["num_targets"])), species=species_names,
                     species_index=sp_idx, target_species=sp_name, n_train=int(stats.get("train_seqs", 0)),
                     library=lib, train_batch=lib.global_batch)


def add_library(t: dict, data, lib_dir, seed: int, n_rep: int, data_dir) -> None:
    """Mix the library dataset ``lib_dir`` into a coverage run's inputs ``data`` (in place)."""
    if data.kind != "tracks":
        raise YeastzoiError("--library: library rows train coverage models; the masked LM takes none")
    lib = library_data(t, lib_dir, seed, library_global_batch(t, n_rep), data.num_features, data.species_index,
                       repeat=True)
    check_compatible(lib, data.stats, data.target_ids, data_dir)
    coverage = data.make_train
    data.make_train = lambda epoch: mix(coverage(epoch), lib.make_train(epoch))
    data.library = lib
    data.files = list(data.files) + list(lib.files)


__all__ += ["library_mode", "library_only_data", "add_library"]


def add_library_metrics(out: dict, data, split: str, weight: float, readout_batches) -> dict:
    """``out`` (a split's loss and metrics) with the library's metrics added and
    ``weight × library_loss`` added to its ``loss`` (unchanged without library rows)."""
    lib = getattr(data, "library", None)
    if lib is None:
        return out
    metrics = evaluate_library(lib, split, readout_batches)
    if metrics is None:
        return out
    out["loss"] = float(out["loss"]) + weight * metrics["library_loss"]
    out.update(metrics)
    return out


__all__ += ["add_library_metrics"]
