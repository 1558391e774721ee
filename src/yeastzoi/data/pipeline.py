"""tf.data pipelines over yeastzoi/baskerville record directories, and MLM masking.

Three readers:

* :func:`track_dataset` yields ``(x, y)``: x float32 (B, seq_length, num_features) — one-hot
  DNA (N = all-zero row), and when ``num_features > 4`` a zero mask channel followed by a
  species one-hot of ``num_features - 5`` channels; y float32 (B, target_length,
  num_targets), the *transformed* coverage stored in the records.
  With ``with_genome=True`` it yields ``(x, y, g)``, g int64 (B,) the records' ``genome``
  index (many-genome datasets; 0 for single-genome ones). Training asks for ``(x, y)``
  only: the genome feature never reaches the model.
* :func:`lm_dataset` yields ``(x, y, w, m)`` for masked-LM training:

  - x float32 (B, L, 4 + 1 + S): DNA channels after masking, channel 4 = mask token flag,
    channels 5.. = species one-hot (S = statistics.json's ``num_species``);
  - y int32 (B, L): the true base codes (A0 C1 G2 T3 N4), after reverse complement;
  - w float32 (B, L): per-position loss weight, 0 at unmasked positions; at masked positions
    ``(exon ? exon_loss_scale : non_exon_loss_scale) × (repeat ? repeat_loss_scale :
    non_repeat_loss_scale)``;
  - m float32 (B, L): 1 at masked positions, else 0. The masked-LM loss is
    ``Σ w·CE / Σ m`` (divided by the NUMBER of masked positions, as Shorkie does).

* :func:`library_dataset` yields ``(x, gene_mask, tracks, activity)`` from a promoter-library
  data dir (:mod:`yeastzoi.data.library`).

Every record file is verified once per process before its first use
(:func:`yeastzoi.data.tfrecords.verify_records`): a truncated or damaged file is a one-line
error naming it, not a TensorFlow DataLossError in the middle of an epoch.

Masking (per sequence): exactly ``int(mask_rate · L)`` positions are drawn without
replacement among the non-N positions (N bases are never masked; a sequence with fewer
non-N bases than that masks all of them). In training with ``use_bert``, 80 % of the drawn
positions get the mask token (DNA channels 0, mask channel 1), 10 % a uniformly random base
(which may equal the true one; mask channel 0) and 10 % stay unchanged; in evaluation
(``training=False`` or ``use_bert=False``) every drawn position gets the mask token.
With ``seed`` set, masks depend only on (seed, element position in the stream), so two
passes with the same seed see identical masks and a different seed gives fresh ones (use
``seed = base + r`` for the r-th validation repeat).
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from natsort import natsorted

from .. import YeastzoiError
from .tfrecords import TFR_DIR, parse_example, verify_records

log = logging.getLogger(__name__)

_COMPLEMENT = [3, 2, 1, 0, 4]


def read_statistics(data_dir) -> dict:
    """Load ``DATA_DIR/statistics.json`` as a dict."""
    path = Path(data_dir) / "statistics.json"
    if not path.exists():
        raise YeastzoiError(f"{data_dir} has no statistics.json; build it with yeastzoi_data.py "
                            "(tracks) or yeastzoi_lm_data.py (LM corpus)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise YeastzoiError(f"{path}: not valid JSON ({e}); rebuild the data directory") from None


def record_files(data_dir, split: str) -> list[str]:
    """Record files of ``split`` (``train``/``valid``/``test``/``fold3``) in natural order."""
    tdir = Path(data_dir) / TFR_DIR
    files = [p for p in tdir.glob(f"{split}-*.tfr") if re.fullmatch(rf"{re.escape(split)}-\d+\.tfr", p.name)]
    return [str(p) for p in natsorted(files, key=lambda p: p.name)]


def fold_splits(data_dir, f: int) -> dict[str, list[str]]:
    """Files per split for fold ``f`` of a K-fold data dir (built with ``-f K``).

    Fold f is test, fold (f+1) mod K is valid, the rest are train.
    Returns ``{"train": [...], "valid": [...], "test": [...]}`` (paths as str).
    """
    stats = read_statistics(data_dir)
    k = stats.get("folds")
    if not k:
        raise YeastzoiError(f"{data_dir}/statistics.json has no 'folds'; this data dir was built "
                            "with -t/-v splits, use split='train'/'valid'/'test' instead")
    k = int(k)
    if not 0 <= f < k:
        raise YeastzoiError(f"fold {f} out of range: {data_dir} has {k} folds (0..{k - 1})")
    v = (f + 1) % k
    out = {"train": [], "valid": record_files(data_dir, f"fold{v}"),
           "test": record_files(data_dir, f"fold{f}")}
    for g in range(k):
        if g not in (f, v):
            out["train"].extend(record_files(data_dir, f"fold{g}"))
    return out


def _records(files: list[str], shuffle: bool, seed):
    """Raw record stream; file order preserved (sequential) unless shuffling."""
    import tensorflow as tf
    if not shuffle or len(files) == 1:
        return tf.data.TFRecordDataset(files, compression_type="ZLIB")
    ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed)
    return ds.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type="ZLIB"),
                         cycle_length=min(4, len(files)), block_length=1,
                         num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)


def _resolve_files(data_dir, split, files):
    """The split's record files, each verified on first use (:func:`verify_records`)."""
    if files is None:
        files = record_files(data_dir, split)
        if not files:
            raise YeastzoiError(f"{data_dir}/{TFR_DIR} has no {split}-*.tfr files; "
                                "check the split name (train/valid/test, or pass files= for folds)")
    files = [str(f) for f in files]
    verify_records(files)
    return files


def track_dataset(data_dir, split: str = "train", batch_size: int = 4, shuffle: bool = True,
                  shuffle_buffer: int = 128, seed: int | None = None, repeat: bool = False,
                  files=None, num_features: int = 4, species_index: int | None = None,
                  drop_remainder: bool = False, with_genome: bool = False):
    """tf.data of ``(x, y)`` batches from a track data dir (see module docstring); with
    ``with_genome`` ``(x, y, genome index)``.

    ``split`` selects ``{split}-*.tfr``; for fold layouts pass ``files=`` from
    :func:`fold_splits`. Without shuffling, records come in sequences.bed order.
    """
    import tensorflow as tf
    stats = read_statistics(data_dir)
    seq_length = int(stats["seq_length"])
    tlen, ntar = int(stats["target_length"]), int(stats["num_targets"])
    files = _resolve_files(data_dir, split, files)
    n_species = species_channels(num_features, species_index)

    def _map(rec):
        ex = parse_example(rec, seq_length, tlen, ntar, genome=with_genome)
        x = model_input(ex["sequence"], seq_length, num_features, species_index)
        if with_genome:
            return x, ex["target"], ex["genome"]
        return x, ex["target"]

    return _batched(_records(files, shuffle, seed), _map, shuffle, shuffle_buffer, seed, repeat, batch_size,
                    drop_remainder)


def species_channels(num_features: int, species_index: int | None) -> int:
    """Species channels of a model input of ``num_features`` (4 DNA + 1 mask + species);
    one-line errors for a bad count or a missing / out-of-range ``species_index``."""
    if num_features < 4:
        raise YeastzoiError(f"num_features must be >= 4, got {num_features}")
    n_species = num_features - 5
    if num_features > 5:
        if species_index is None:
            raise YeastzoiError(f"num_features={num_features} has {n_species} species channels: "
                                "pass species_index (the target genome's index in the LM corpus)")
        if not 0 <= species_index < n_species:
            raise YeastzoiError(f"species_index {species_index} out of range for {n_species} species")
    return n_species


def model_input(codes, seq_length: int, num_features: int, species_index: int | None):
    """(seq_length,) uint8 codes → (seq_length, num_features) float32 model input inside a
    tf.data map: one-hot DNA (N → zeros), then a zero mask channel and the one-hot species."""
    import tensorflow as tf
    x = tf.one_hot(tf.cast(codes, tf.int32), 4, dtype=tf.float32)  # N=4 → zeros
    if num_features > 4:
        n_species = num_features - 5
        extra = [tf.zeros([seq_length, 1], tf.float32)]
        if n_species > 0:
            sp = tf.one_hot(species_index, n_species, dtype=tf.float32)
            extra.append(tf.tile(sp[None, :], [seq_length, 1]))
        x = tf.concat([x] + extra, axis=-1)
    return x


def _batched(ds, fn, shuffle: bool, shuffle_buffer: int, seed, repeat: bool, batch_size: int,
             drop_remainder: bool):
    """Shuffle (seeded), repeat, map ``fn`` in parallel, batch and prefetch a record dataset."""
    import tensorflow as tf
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle or seed is not None)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def mlm_mask(codes, exon, repeat, seeds, mask_rate: float = 0.15, use_bert: bool = True,
             training: bool = True, rc: bool = True, exon_loss_scale: float = 1.0,
             non_exon_loss_scale: float = 1.0, repeat_loss_scale: float = 1.0,
             non_repeat_loss_scale: float = 1.0):
    """Mask one sequence (TensorFlow ops; used inside ``tf.data.map``).

    codes uint8/int (L,); exon, repeat 0/1 (L,); seeds int64 (4, 2) stateless seeds
    (mask positions, BERT split, random bases, reverse complement).
    Returns (dna float32 (L, 4), mask_channel float32 (L,), y int32 (L,), w float32 (L,),
    m float32 (L,)). Reverse complement (when ``rc`` and ``training``, probability 0.5) is
    applied first: DNA complemented and every per-position array reversed.
    """
    import tensorflow as tf
    codes = tf.cast(codes, tf.int32)
    exon = tf.cast(exon, tf.float32)
    repeat = tf.cast(repeat, tf.float32)
    length = codes.shape[0]
    n_mask = int(mask_rate * length)
    if rc and training:
        flip = tf.random.stateless_uniform([], seeds[3]) < 0.5
        comp = tf.gather(tf.constant(_COMPLEMENT, tf.int32), codes)
        codes = tf.where(flip, tf.reverse(comp, [0]), codes)
        exon = tf.where(flip, tf.reverse(exon, [0]), exon)
        repeat = tf.where(flip, tf.reverse(repeat, [0]), repeat)
    is_n = codes >= 4
    score = tf.where(is_n, -1.0, tf.random.stateless_uniform([length], seeds[0]))
    _, idx = tf.math.top_k(score, k=n_mask, sorted=False)
    drawn = tf.scatter_nd(idx[:, None], tf.ones([n_mask], tf.float32), [length]) > 0
    masked = tf.logical_and(drawn, tf.logical_not(is_n))
    inp = codes
    if training and use_bert:
        r = tf.random.stateless_uniform([length], seeds[1])
        token = tf.logical_and(masked, r < 0.8)
        rand = tf.logical_and(masked, tf.logical_and(r >= 0.8, r < 0.9))
        rbase = tf.random.stateless_uniform([length], seeds[2], minval=0, maxval=4, dtype=tf.int32)
        inp = tf.where(rand, rbase, codes)
    else:
        token = masked
    tokf = tf.cast(token, tf.float32)
    dna = tf.one_hot(inp, 4, dtype=tf.float32) * (1.0 - tokf)[:, None]
    m = tf.cast(masked, tf.float32)
    wexon = exon * exon_loss_scale + (1.0 - exon) * non_exon_loss_scale
    wrep = repeat * repeat_loss_scale + (1.0 - repeat) * non_repeat_loss_scale
    return dna, tokf, codes, m * wexon * wrep, m


def lm_dataset(data_dir, split: str = "train", batch_size: int = 4, mask_rate: float = 0.15,
               use_bert: bool = True, training: bool = True, rc: bool = True,
               seed: int | None = None, exon_loss_scale: float = 1.0,
               non_exon_loss_scale: float = 1.0, repeat_loss_scale: float = 1.0,
               non_repeat_loss_scale: float = 1.0, repeat: bool = False,
               shuffle: bool | None = None, shuffle_buffer: int = 128, files=None,
               drop_remainder: bool = False):
    """tf.data of masked-LM batches ``(x, y, w, m)`` (see module docstring for shapes).

    ``shuffle`` defaults to ``training``. ``rc`` only acts in training. With ``seed=None``
    masks are fresh on every pass; with a seed they are reproducible.
    """
    import tensorflow as tf
    stats = read_statistics(data_dir)
    seq_length = int(stats["seq_length"])
    n_species = int(stats.get("num_species", 1))
    files = _resolve_files(data_dir, split, files)
    if not 0 <= mask_rate < 1:
        raise YeastzoiError(f"mask_rate must be in [0, 1), got {mask_rate}")
    shuffle = training if shuffle is None else shuffle
    kw = dict(mask_rate=mask_rate, use_bert=use_bert, training=training, rc=rc,
              exon_loss_scale=exon_loss_scale, non_exon_loss_scale=non_exon_loss_scale,
              repeat_loss_scale=repeat_loss_scale, non_repeat_loss_scale=non_repeat_loss_scale)

    def _map(i, rec):
        ex = parse_example(rec, seq_length, lm=True)
        if seed is None:
            base = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
        else:
            base = tf.stack([tf.constant(seed, tf.int64), i])
        seeds = tf.random.experimental.stateless_split(base, num=4)
        dna, tok, y, w, m = mlm_mask(ex["sequence"], ex["mask"], ex["repeat_mask"], seeds, **kw)
        sp = tf.one_hot(ex["species"], n_species, dtype=tf.float32)
        x = tf.concat([dna, tok[:, None], tf.tile(sp[None, :], [seq_length, 1])], axis=-1)
        return x, y, w, m

    ds = _records(files, shuffle, seed)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate().map(_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def library_dataset(data_dir, split: str = "train", batch_size: int = 16, shuffle: bool = True,
                    shuffle_buffer: int = 1024, seed: int | None = None, repeat: bool = False, files=None,
                    num_features: int = 4, species_index: int | None = None, drop_remainder: bool = False):
    """tf.data of ``(x, gene_mask, tracks, activity)`` batches from a promoter-library data dir
    (:mod:`yeastzoi.data.library`): x float32 (B, seq_length, num_features) as in
    :func:`track_dataset`; gene_mask float32 (B, target_length) 1 on the reporter's bins;
    tracks int32 (B, C) the model track per condition; activity float32 (B, C)."""
    import tensorflow as tf
    stats = read_statistics(data_dir)
    if stats.get("dataset") != "library":
        raise YeastzoiError(f"{data_dir}: not a library dataset (statistics.json has no \"dataset\": "
                            "\"library\"); build one with yeastzoi_library_data.py")
    seq_length, tlen = int(stats["seq_length"]), int(stats["target_length"])
    n_cond = len(stats["conditions"])
    files = _resolve_files(data_dir, split, files)
    species_channels(num_features, species_index)
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string), "gene_mask": tf.io.FixedLenFeature([], tf.string),
            "tracks": tf.io.FixedLenFeature([n_cond], tf.int64), "activity": tf.io.FixedLenFeature([], tf.string)}

    def _map(rec):
        ex = tf.io.parse_single_example(rec, spec)
        codes = tf.reshape(tf.io.decode_raw(ex["sequence"], tf.uint8), [seq_length])
        x = model_input(codes, seq_length, num_features, species_index)
        mask = tf.cast(tf.reshape(tf.io.decode_raw(ex["gene_mask"], tf.uint8), [tlen]), tf.float32)
        act = tf.reshape(tf.io.decode_raw(ex["activity"], tf.float32), [n_cond])
        return x, mask, tf.cast(ex["tracks"], tf.int32), act

    return _batched(_records(files, shuffle, seed), _map, shuffle, shuffle_buffer, seed, repeat, batch_size,
                    drop_remainder)
