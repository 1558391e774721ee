"""Records written by yeastzoi.data.tfrecords decode with plain tf.data and equal their inputs."""
import numpy as np
import pytest
import tensorflow as tf

from yeastzoi import YeastzoiError
from yeastzoi.data.tfrecords import (ShardWriter, parse_example, read_sequences_bed, remove_stale_records,
                                serialize_example, write_sequences_bed)


def _plain_decode(path, lm=False):
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string)}
    if lm:
        spec.update(species=tf.io.FixedLenFeature([], tf.int64), mask=tf.io.FixedLenFeature([], tf.string),
                    repeat_mask=tf.io.FixedLenFeature([], tf.string))
    else:
        spec["target"] = tf.io.FixedLenFeature([], tf.string)
    out = []
    for rec in tf.data.TFRecordDataset(str(path), compression_type="ZLIB"):
        ex = tf.io.parse_single_example(rec, spec)
        d = {"sequence": tf.io.decode_raw(ex["sequence"], tf.uint8).numpy()}
        if lm:
            d["species"] = int(ex["species"])
            d["mask"] = tf.io.decode_raw(ex["mask"], tf.uint8).numpy()
            d["repeat_mask"] = tf.io.decode_raw(ex["repeat_mask"], tf.uint8).numpy()
        else:
            d["target"] = tf.io.decode_raw(ex["target"], tf.float16).numpy()
        out.append(d)
    return out


def test_shards_roundtrip_plain_tf(tmp_path):
    rng = np.random.default_rng(0)
    seqs = rng.integers(0, 5, size=(7, 64)).astype(np.uint8)
    tgts = rng.uniform(0, 100, size=(7, 4, 3)).astype(np.float32)
    with ShardWriter(tmp_path, "train", seqs_per_file=3) as w:
        for s, t in zip(seqs, tgts):
            w.write(serialize_example(s, t))
    assert [p.name for p in w.files] == ["train-0.tfr", "train-1.tfr", "train-2.tfr"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-0.tfr", "train-1.tfr", "train-2.tfr"]
    recs = sum((_plain_decode(tmp_path / f"train-{i}.tfr") for i in range(3)), [])
    assert [len(_plain_decode(tmp_path / f"train-{i}.tfr")) for i in range(3)] == [3, 3, 1]
    for r, s, t in zip(recs, seqs, tgts):
        np.testing.assert_array_equal(r["sequence"], s)
        np.testing.assert_array_equal(r["target"].reshape(4, 3), t.astype(np.float16))
    # yeastzoi's own parser agrees (float16 -> float32)
    ds = tf.data.TFRecordDataset(str(tmp_path / "train-0.tfr"), compression_type="ZLIB")
    ex = next(iter(ds.map(lambda r: parse_example(r, 64, 4, 3))))
    assert ex["target"].dtype == tf.float32 and ex["target"].shape == (4, 3)
    np.testing.assert_array_equal(ex["target"].numpy(), tgts[0].astype(np.float16).astype(np.float32))


def test_lm_record_fields(tmp_path):
    seq = np.array([0, 1, 2, 3, 4, 0, 1, 2], np.uint8)
    mask = np.array([0, 1, 1, 0, 0, 0, 1, 0], np.uint8)
    rep = np.array([1, 1, 0, 0, 0, 0, 0, 1], np.uint8)
    with ShardWriter(tmp_path, "valid", 10) as w:
        w.write(serialize_example(seq, species=2, mask=mask, repeat_mask=rep))
    (r,) = _plain_decode(tmp_path / "valid-0.tfr", lm=True)
    assert r["species"] == 2
    np.testing.assert_array_equal(r["sequence"], seq)
    np.testing.assert_array_equal(r["mask"], mask)
    np.testing.assert_array_equal(r["repeat_mask"], rep)
    ex = next(iter(tf.data.TFRecordDataset(str(tmp_path / "valid-0.tfr"), compression_type="ZLIB")
                   .map(lambda x: parse_example(x, 8, lm=True))))
    assert int(ex["species"]) == 2
    np.testing.assert_array_equal(ex["mask"].numpy(), mask)
    with pytest.raises(ValueError):
        serialize_example(seq, mask=mask[:4])


def test_aborted_writer_leaves_no_partial_file(tmp_path):
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path, "test", 5) as w:
            w.write(serialize_example(np.zeros(8, np.uint8), np.zeros((1, 1))))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(YeastzoiError):
        ShardWriter(tmp_path, "test", 0)


def test_sequences_bed_and_stale_removal(tmp_path):
    import pandas as pd
    df = pd.DataFrame({"chrom": ["chrI", "chrII"], "start": [0, 100], "end": [64, 164],
                       "split": ["train", "test"]})
    write_sequences_bed(tmp_path / "sequences.bed", df)
    assert (tmp_path / "sequences.bed").read_text() == "chrI\t0\t64\ttrain\nchrII\t100\t164\ttest\n"
    back = read_sequences_bed(tmp_path / "sequences.bed")
    assert back.values.tolist() == df.values.tolist()
    (tmp_path / "train-0.tfr").write_bytes(b"x")
    (tmp_path / "other.txt").write_text("keep")
    assert remove_stale_records(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tfr"] == []
    with pytest.raises(YeastzoiError, match="not found"):
        read_sequences_bed(tmp_path / "nope.bed")


def _shards(tmp_path, n=6):
    rng = np.random.default_rng(3)
    with ShardWriter(tmp_path, "train", seqs_per_file=n) as w:
        for _ in range(n):
            w.write(serialize_example(rng.integers(0, 4, 512).astype(np.uint8), rng.random((4, 2))))
    return tmp_path / "train-0.tfr"


def test_verify_records_counts_and_finds_truncated_and_flipped_files(tmp_path):
    import os
    from yeastzoi.data.tfrecords import verify_records
    good = _shards(tmp_path / "good")
    assert verify_records([good]) == 6
    data = good.read_bytes()
    bad = tmp_path / "bad.tfr"
    for i, blob in enumerate([data[: len(data) // 2], data[:-1], data[:5], data + b"\0"]):
        bad.write_bytes(blob)
        os.utime(bad, ns=(i, i))
        with pytest.raises(YeastzoiError, match=r"bad\.tfr: corrupt record file: .*; rebuild the data directory"):
            verify_records([bad])
    step = max(1, len(data) // 60)
    for i, pos in enumerate(range(2, len(data), step)):     # one flipped byte anywhere
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        bad.write_bytes(bytes(flipped))
        os.utime(bad, ns=(100 + i, 100 + i))
        with pytest.raises(YeastzoiError, match=r"bad\.tfr: corrupt record file"):
            verify_records([bad])
