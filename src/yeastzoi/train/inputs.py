"""The training run's inputs: tf.data factories per split and the facts the model needs.

    data = lm_data(t, data_dirs, seed, global_batch, splits)      # masked-LM corpora
    data = track_data(t, data_dirs, seed, global_batch, splits, num_features, names, species, src)
    data.make_train(epoch)     # this epoch's shuffled, masked training batches
    data.make_evals("valid")   # evaluation datasets (LM: one per validation repeat)

Shuffles and masks are seeded by (seed, epoch), so a resumed run sees what an uninterrupted
one would. Every record file a run will read is checked once before training
(:func:`yeastzoi.data.tfrecords.verify_records`), so a corrupt file is a one-line error
naming it instead of a failure an epoch later. TensorFlow-specific (tf.data).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import YeastzoiError

log = logging.getLogger(__name__)


@dataclass
class TrainData:
    """Dataset factories and facts for one training run."""
    kind: str                       # "lm" | "tracks" | "library" (library rows only)
    stats: dict
    make_train: Callable            # epoch → tf.data
    make_evals: Callable            # split → list of tf.data (LM: one per repeat)
    num_features: int
    files: list                     # every record file the run reads (verified up front)
    target_ids: list | None = None
    species: list | None = None
    species_index: int | None = None
    target_species: str | None = None
    n_train: int | None = None
    library: object = None          # yeastzoi.train.library.LibraryData: library rows mixed in (or only)
    train_batch: int | None = None  # rows per training step when not the global batch (library only)


def shard_policy(ds):
    """``ds`` with DATA auto-sharding (each worker reads every file, keeps its share)."""
    import tensorflow as tf
    opt = tf.data.Options()
    opt.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opt)


def target_ids(data_dir, num_targets):
    """The targets sheet's identifiers when it lists ``num_targets`` tracks, else None."""
    path = Path(data_dir) / "targets.txt"
    if path.exists():
        from ..coverage import read_targets
        ids = [str(i) for i in read_targets(path)["identifier"]]
        if len(ids) == num_targets:
            return ids
        log.warning("%s lists %d tracks but statistics.json says %d; target_ids not recorded",
                    path, len(ids), num_targets)
    return None


def strand_pair_list(data_dir):
    """The targets sheet's strand_pair column (track i ↔ pair[i]) for RC ensembles/augmentation."""
    from ..coverage import read_targets, strand_pairs
    return [int(i) for i in strand_pairs(read_targets(Path(data_dir) / "targets.txt"))]


def match_species(names, wanted, data_species, source):
    """(index, name) of the target genome's species channel among ``names``: ``--species``
    (``wanted``) when given, else the data's statistics.json species, else index 0."""
    if not names:
        return None, None
    for label, value in (("--species", wanted), ("the data's statistics.json species", data_species)):
        if value is None:
            continue
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        if isinstance(value, list):
            continue
        if value in names:
            idx = names.index(value)
            log.info("species channel: %s (index %d of %d in %s), from %s", value, idx, len(names), source, label)
            return idx, value
        if label == "--species":
            raise YeastzoiError(f"--species {value}: not among the {len(names)} species of {source} "
                                f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})")
        log.warning("the data's species %r is not among the species of %s; using index 0", value, source)
    log.info("species channel: %s (index 0, the LM corpus's reference species; pass --species to choose)",
             names[0])
    return 0, names[0]


def split_files(data_dirs, splits) -> list[str]:
    """Every record file of the train/valid/test splits a run reads."""
    from ..data.pipeline import record_files
    if splits:
        return sorted({str(f) for files in splits.values() for f in files})
    return [f for d in data_dirs for split in ("train", "valid", "test") for f in record_files(d, split)]


def has_split(data_dir, split, splits) -> bool:
    from ..data.pipeline import record_files
    if splits is not None:
        return bool(splits.get(split))
    return bool(record_files(data_dir, split))


def read_track_statistics(data_dir) -> dict:
    """statistics.json of a coverage data dir (one-line error for an LM corpus)."""
    from ..data.pipeline import read_statistics
    stats = read_statistics(data_dir)
    for key in ("seq_length", "target_length", "num_targets"):
        if key not in stats:
            raise YeastzoiError(f"{data_dir}/statistics.json has no {key!r}: is it an LM corpus? "
                                "coverage tasks (supervised / fine-tune) need a track data dir")
    return stats


def _lm_statistics(data_dirs):
    from ..data.pipeline import read_statistics
    stats_all = [read_statistics(d) for d in data_dirs]
    for d, s in zip(data_dirs[1:], stats_all[1:]):
        for key in ("seq_length", "num_species", "species"):
            if s.get(key) != stats_all[0].get(key):
                raise YeastzoiError(f"{d}: {key} {s.get(key)!r} differs from {data_dirs[0]}'s "
                                    f"{stats_all[0].get(key)!r}; LM corpora trained together must share "
                                    "seq_length and the species list")
    return stats_all


def lm_data(t, data_dirs, seed, global_batch, splits) -> TrainData:
    """Masked-LM inputs: corpora interleaved for training, concatenated for evaluation."""
    import tensorflow as tf
    from ..data.pipeline import lm_dataset
    stats_all = _lm_statistics(data_dirs)
    kw = dict(mask_rate=t["mask_rate"], use_bert=t["use_bert"], exon_loss_scale=t["exon_loss_scale"],
              non_exon_loss_scale=t["non_exon_loss_scale"], repeat_loss_scale=t["repeat_loss_scale"],
              non_repeat_loss_scale=t["non_repeat_loss_scale"])
    steps = t.get("steps_per_epoch_max")
    files = splits or {}

    def make_train(epoch):
        parts = [lm_dataset(d, "train", batch_size=global_batch, training=True, rc=True,
                            seed=seed * 100003 + epoch, repeat=bool(steps), shuffle=True,
                            shuffle_buffer=t["shuffle_buffer"], drop_remainder=True,
                            files=files.get("train"), **kw) for d in data_dirs]
        ds = parts[0] if len(parts) == 1 else tf.data.Dataset.sample_from_datasets(
            parts, seed=seed + epoch, stop_on_empty_dataset=False)
        return ds.take(steps) if steps else ds

    def make_evals(split):
        out = []
        for r in range(max(1, int(t.get("repeat_eval") or 1))):
            parts = [lm_dataset(d, split, batch_size=global_batch, training=False, rc=False,
                                seed=1_000_003 + r, shuffle=False, files=files.get(split), **kw)
                     for d in data_dirs]
            ds = parts[0]
            for p in parts[1:]:
                ds = ds.concatenate(p)
            out.append(ds.take(int(t["eval_steps_max"])) if t.get("eval_steps_max") else ds)
        return out

    stats = stats_all[0]
    n_train = sum(int(s.get("train_seqs", 0)) for s in stats_all)
    return TrainData("lm", stats, make_train, make_evals, 5 + int(stats.get("num_species", 1)),
                     split_files(data_dirs, splits), species=stats.get("species"), n_train=n_train)


def track_data(t, data_dirs, seed, global_batch, splits, num_features, species_names, species,
               names_source) -> TrainData:
    """Coverage inputs from the first data dir; the species channel from ``species_names``."""
    from ..data.pipeline import track_dataset
    if len(data_dirs) > 1:
        log.warning("coverage training reads only the first data dir (%s); ignoring %s",
                    data_dirs[0], ", ".join(map(str, data_dirs[1:])))
    d = data_dirs[0]
    stats = read_track_statistics(d)
    sp_idx, sp_name = None, None
    if num_features > 5:
        sp_idx, sp_name = match_species(species_names, species, stats.get("species"), names_source)
        if sp_idx is None:
            raise YeastzoiError(f"the model takes {num_features} input channels ({num_features - 5} species) "
                                "but no species list is known: restore an LM file with metadata or set "
                                "model.species in the spec")
    steps = t.get("steps_per_epoch_max")
    files = splits or {}

    def make_train(epoch):
        ds = track_dataset(d, "train", batch_size=global_batch, shuffle=True,
                           shuffle_buffer=t["shuffle_buffer"], seed=seed * 100003 + epoch,
                           repeat=bool(steps), files=files.get("train"), num_features=num_features,
                           species_index=sp_idx, drop_remainder=True)
        return ds.take(steps) if steps else ds

    def make_evals(split):
        ds = track_dataset(d, split, batch_size=global_batch, shuffle=False, files=files.get(split),
                           num_features=num_features, species_index=sp_idx)
        return [ds.take(int(t["eval_steps_max"])) if t.get("eval_steps_max") else ds]

    return TrainData("tracks", stats, make_train, make_evals, num_features, split_files([d], splits),
                     target_ids=target_ids(d, int(stats["num_targets"])), species=species_names,
                     species_index=sp_idx, target_species=sp_name,
                     n_train=None if splits else stats.get("train_seqs"))


def verify_inputs(data: TrainData) -> None:
    """Read every record file of the run once (CRC checks); a corrupt one is a one-line error."""
    from ..data.tfrecords import verify_records
    verify_records(data.files)
