"""Baskerville-format TFRecords: writing examples, sharded files, statistics and parsing.

A data directory built by yeastzoi looks like::

    DATA_DIR/statistics.json     seq_length, seq_depth (4), seq_1hot, target_length,
                                 num_targets, pool_width, crop_bp, {split}_seqs, ...
    DATA_DIR/sequences.bed       chrom, start, end, split  (one row per record; LM corpora
                                 add species; many-genome track datasets add genome,
                                 ref_start, ref_end)
    DATA_DIR/targets.txt         the targets sheet (track datasets only)
    DATA_DIR/tfrecords/{split}-{i}.tfr

Records are ZLIB-compressed ``tf.train.Example`` protos whose features are raw bytes:

* ``sequence``: uint8 codes A0 C1 G2 T3 N4, ``seq_length`` bytes;
* ``target``: float16, ``target_length × num_targets`` row-major (bins × tracks);
* LM records instead carry ``species`` (int64 index into statistics.json's ``species``),
  ``mask`` (uint8 per bp, 1 on exon bases) and ``repeat_mask`` (uint8 per bp, 1 on repeats);
* many-genome track records (``yeastzoi_data.py --genomes``) add ``genome`` (int64 index
  into statistics.json's ``genomes``). Readers parse features by name, so a reader that
  does not ask for ``genome`` reads these records unchanged, and asking for it in a dataset
  without it gives 0 (the one genome).

**Coordinates in sequences.bed**: yeastzoi stores the full *input* window (0-based,
half-open, ``end - start == seq_length``), not the cropped target region that baskerville
stores. The target region of a row is ``[start + crop_bp, end - crop_bp)``.

Record files are verified once before training (:func:`verify_records`: one full zlib pass
and the record framing to the exact end) and a bad file is a one-line error naming it.

Within one split, records appear in the files ``{split}-0.tfr, {split}-1.tfr, ...`` in the
same order as that split's rows in sequences.bed.
"""
from __future__ import annotations

import logging
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .. import YeastzoiError
from ..fileio import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

#: Subfolder of a data directory holding the record files.
TFR_DIR = "tfrecords"


def _tf():
    import tensorflow as tf  # imported lazily: windows/homology users need not pay for TF
    return tf


def tfr_options():
    """The ``tf.io.TFRecordOptions`` used for every yeastzoi record file: ZLIB at level 1.

    Level 1 writes R64 LM records ~10x faster than zlib's default level 6 (0.5 vs 5.5 ms
    per 16 kb record) for files ~10 % larger; readers need only ``compression_type="ZLIB"``.
    """
    return _tf().io.TFRecordOptions(compression_type="ZLIB", compression_level=1)


def serialize_example(sequence: np.ndarray, target: np.ndarray | None = None,
                      species: int | None = None, mask: np.ndarray | None = None,
                      repeat_mask: np.ndarray | None = None, genome: int | None = None) -> bytes:
    """One record as serialized ``tf.train.Example`` bytes.

    sequence: uint8 codes (seq_length,); target: (target_length, num_targets), stored as
    float16 bytes (values outside the float16 range must have been clipped already);
    species: int index; mask / repeat_mask: (seq_length,) 0/1 arrays stored as uint8;
    genome: int index into statistics.json's ``genomes`` (many-genome track datasets).
    """
    tf = _tf()
    seq = np.ascontiguousarray(sequence, dtype=np.uint8)

    def _bytes(b):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[b]))

    feats = {"sequence": _bytes(seq.tobytes())}
    if target is not None:
        feats["target"] = _bytes(np.ascontiguousarray(target, dtype=np.float16).tobytes())
    for name, value in (("species", species), ("genome", genome)):
        if value is not None:
            feats[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
    for name, arr in (("mask", mask), ("repeat_mask", repeat_mask)):
        if arr is not None:
            a = np.ascontiguousarray(arr, dtype=np.uint8)
            if a.shape != seq.shape:
                raise ValueError(f"{name} shape {a.shape} != sequence shape {seq.shape}")
            feats[name] = _bytes(a.tobytes())
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


class ShardWriter:
    """Write records of one split to ``out_dir/{split}-{i}.tfr``, ``seqs_per_file`` each.

    Each file is written under a temporary name in ``out_dir`` and renamed when it is full
    or on :meth:`close`, so a crashed build never leaves a truncated ``.tfr`` behind.
    Use as a context manager; on an exception the current temporary file is removed.
    """

    def __init__(self, out_dir, split: str, seqs_per_file: int = 256):
        if seqs_per_file < 1:
            raise YeastzoiError(f"sequences per file must be >= 1, got {seqs_per_file}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.seqs_per_file = int(seqs_per_file)
        self.count = 0          # records written in total
        self.files: list[Path] = []
        self._writer = None
        self._tmp = None
        self._in_file = 0

    def _open(self):
        tf = _tf()
        final = self.out_dir / f"{self.split}-{len(self.files)}.tfr"
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=self.out_dir)
        os.close(fd)
        self._tmp = tmp
        self._writer = tf.io.TFRecordWriter(tmp, options=tfr_options())
        self._final = final
        self._in_file = 0

    def _finish(self):
        if self._writer is not None:
            self._writer.close()
            os.replace(self._tmp, self._final)
            self.files.append(self._final)
            self._writer = None
            self._tmp = None

    def write(self, record: bytes) -> None:
        """Append one serialized example."""
        if self._writer is None:
            self._open()
        self._writer.write(record)
        self._in_file += 1
        self.count += 1
        if self._in_file >= self.seqs_per_file:
            self._finish()

    def close(self) -> None:
        self._finish()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp and os.path.exists(self._tmp):
            os.unlink(self._tmp)
        self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


def remove_stale_records(tfr_dir) -> int:
    """Delete ``*.tfr`` (and leftover temporaries) in ``tfr_dir``; returns how many.

    Builders call this first so that a rebuild with fewer files leaves no stale shard.
    """
    tfr_dir = Path(tfr_dir)
    n = 0
    if tfr_dir.is_dir():
        for p in list(tfr_dir.glob("*.tfr")) + list(tfr_dir.glob(".*.tfr.*.tmp")):
            p.unlink()
            n += 1
    return n


#: The columns after (chrom, start, end, split) that sequences.bed may carry, by column count.
SEQUENCES_BED_LAYOUTS = {4: (), 5: ("species",), 7: ("genome", "ref_start", "ref_end")}


def write_sequences_bed(path, windows, extra=()) -> None:
    """Write ``sequences.bed`` (chrom, start, end, split, then the ``extra`` columns of
    ``windows``; tab, no header) atomically.

    ``windows``: a DataFrame with those columns, rows in record order within each split;
    coordinates are the full input window (0-based, half-open, seq_length bp). ``extra``:
    one layout of :data:`SEQUENCES_BED_LAYOUTS` (many-genome track datasets: genome,
    ref_start, ref_end — the window's genome name and its reference locus, bp).
    """
    extra = tuple(extra)
    if extra not in SEQUENCES_BED_LAYOUTS.values():
        raise ValueError(f"sequences.bed extra columns {extra} are not a known layout")
    cols = [windows[c] for c in ("chrom", "start", "end", "split", *extra)]
    lines = ["\t".join(str(int(v)) if isinstance(v, (int, np.integer)) else str(v) for v in row)
             for row in zip(*cols)]
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def read_sequences_bed(path):
    """Read ``sequences.bed`` → DataFrame(chrom, start, end, split[, ...]).

    LM corpora carry a 5th column, the species name; many-genome track datasets three more,
    genome (name), ref_start and ref_end (the window's reference locus on the same
    chromosome name, bp)."""
    import pandas as pd
    path = Path(path)
    if not path.exists():
        raise YeastzoiError(f"{path}: not found; build the data directory with yeastzoi_data.py")
    if path.stat().st_size == 0:
        return pd.DataFrame({"chrom": [], "start": [], "end": [], "split": []})
    df = pd.read_csv(path, sep="\t", header=None, dtype={0: str, 3: str, 4: str})
    if df.shape[1] not in SEQUENCES_BED_LAYOUTS:
        raise YeastzoiError(f"{path}: expected 4, 5 or 7 tab-separated columns (chrom, start, end, split"
                            f"[, species] or [, genome, ref_start, ref_end]), found {df.shape[1]}; "
                            "rebuild the data directory")
    df.columns = ["chrom", "start", "end", "split", *SEQUENCES_BED_LAYOUTS[df.shape[1]]]
    return df


def write_statistics(path, stats: dict) -> None:
    """Write ``statistics.json`` atomically (see the module docstring for the keys)."""
    write_json_atomic(path, stats)


_VERIFIED: dict[str, tuple[int, int]] = {}
_HEADER = 12            # uint64 length + uint32 masked CRC of the length
_FOOTER = 4             # uint32 masked CRC of the data


class _RecordWalker:
    """Walks TFRecord framing over a stream of decompressed chunks, counting records."""

    def __init__(self):
        self.records = 0
        self.header = b""       # bytes of a header not yet complete
        self.skip = 0           # bytes of the current record's data + footer still to come

    def feed(self, out: bytes) -> None:
        i, n = 0, len(out)
        while i < n:
            if self.skip:
                take = min(self.skip, n - i)
                i += take
                self.skip -= take
                continue
            take = min(_HEADER - len(self.header), n - i)
            self.header += out[i:i + take]
            i += take
            if len(self.header) == _HEADER:
                self.skip = struct.unpack_from("<Q", self.header)[0] + _FOOTER
                self.header = b""
                self.records += 1

    @property
    def complete(self) -> bool:
        return not self.skip and not self.header


def _check_record_file(path: str) -> int:
    """Records in one ZLIB record file; raises ValueError naming what is wrong."""
    inflater = zlib.decompressobj()
    walker = _RecordWalker()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if inflater.eof:
                raise ValueError("data after the end of the compressed stream")
            try:
                walker.feed(inflater.decompress(chunk))
            except zlib.error as e:
                raise ValueError(f"the compressed data is damaged: {e}") from None
    if not inflater.eof:
        raise ValueError(f"the file ends early (truncated) after {walker.records} records")
    if inflater.unused_data:
        raise ValueError("data after the end of the compressed stream")
    if not walker.complete:
        raise ValueError(f"record {walker.records} is cut short")
    return walker.records


def verify_records(files) -> int:
    """Check every ZLIB record file before training; returns the number of records.

    Each file is inflated once in full (zlib checks the Adler-32 of all its data, so a
    changed byte anywhere is found) and its record framing is walked to the exact end (a
    truncated file is found too, which TensorFlow's reader may accept silently).
    Costs one decompression pass: about 1 s for the R64 LM corpus (11 files, 2,467 records
    of 16 kb) on 2 loaded CPU cores. A file is checked once per process while its size and
    modification time are unchanged. Raises a one-line YeastzoiError naming the file and
    the fix (rebuild the data directory).
    """
    total = 0
    for f in map(str, files):
        try:
            st = os.stat(f)
        except OSError as e:
            raise YeastzoiError(f"{f}: cannot read the record file ({e.strerror})") from None
        key = (st.st_size, st.st_mtime_ns)
        if _VERIFIED.get(f) == key:
            continue
        try:
            total += _check_record_file(f)
        except ValueError as e:
            raise YeastzoiError(f"{f}: corrupt record file: {e}; rebuild the data directory "
                                "(yeastzoi_data.py / yeastzoi_lm_data.py)") from None
        _VERIFIED[f] = key
    return total


def parse_example(serialized, seq_length: int, target_length: int | None = None,
                  num_targets: int | None = None, lm: bool = False, genome: bool = False) -> dict:
    """Parse one serialized record (a scalar string tensor) for tf.data.

    Returns a dict of tensors: ``sequence`` uint8 (seq_length,); for track records
    (``target_length`` given) ``target`` float32 (target_length, num_targets) converted from
    the stored float16; for ``lm=True`` records ``species`` int64 scalar, ``mask`` and
    ``repeat_mask`` uint8 (seq_length,); with ``genome=True`` ``genome`` int64 scalar (0 for
    records written without it: single-genome datasets).
    """
    tf = _tf()
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string)}
    if target_length is not None:
        spec["target"] = tf.io.FixedLenFeature([], tf.string)
    if genome:
        spec["genome"] = tf.io.FixedLenFeature([], tf.int64, default_value=0)
    if lm:
        spec["species"] = tf.io.FixedLenFeature([], tf.int64, default_value=0)
        spec["mask"] = tf.io.FixedLenFeature([], tf.string, default_value="")
        spec["repeat_mask"] = tf.io.FixedLenFeature([], tf.string, default_value="")
    ex = tf.io.parse_single_example(serialized, spec)
    out = {"sequence": tf.reshape(tf.io.decode_raw(ex["sequence"], tf.uint8), [seq_length])}
    if target_length is not None:
        t = tf.io.decode_raw(ex["target"], tf.float16)
        out["target"] = tf.cast(tf.reshape(t, [target_length, num_targets]), tf.float32)
    if genome:
        out["genome"] = ex["genome"]
    if lm:
        out["species"] = ex["species"]
        for name in ("mask", "repeat_mask"):
            raw = tf.io.decode_raw(ex[name], tf.uint8)
            # records written without the feature decode as empty: treat as all zeros
            raw = tf.cond(tf.size(raw) > 0, lambda r=raw: r,
                          lambda: tf.zeros([seq_length], tf.uint8))
            out[name] = tf.reshape(raw, [seq_length])
    return out
