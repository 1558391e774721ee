"""tf.data readers: track batches and masked-LM masking statistics."""
import numpy as np
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.data.pipeline import fold_splits, lm_dataset, read_statistics, record_files, track_dataset
from yeastzoi.genome.dna import revcomp_codes
from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_statistics

L = 400
N_SEQ = 30


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lm")
    rng = np.random.default_rng(1)
    seqs = rng.integers(0, 4, size=(N_SEQ, L)).astype(np.uint8)
    seqs[:, :40] = 4                                   # a run of N at the start of each
    exon = np.zeros((N_SEQ, L), np.uint8)
    exon[:, 100:250] = 1
    rep = np.zeros((N_SEQ, L), np.uint8)
    rep[:, 200:300] = 1
    species = np.arange(N_SEQ) % 3
    with ShardWriter(d / "tfrecords", "train", 7) as w:
        for i in range(N_SEQ):
            w.write(serialize_example(seqs[i], species=species[i], mask=exon[i], repeat_mask=rep[i]))
    write_statistics(d / "statistics.json", {"seq_length": L, "seq_depth": 4, "seq_1hot": True,
                                              "num_species": 3, "species": ["a", "b", "c"],
                                              "train_seqs": N_SEQ})
    return d, seqs, exon, rep, species


def _collect(ds):
    parts = [tuple(t.numpy() for t in b) for b in ds]
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]


def test_mlm_counts_bert_split_and_weights(lm_dir):
    d, seqs, exon, rep, species = lm_dir
    ds = lm_dataset(d, "train", batch_size=8, seed=5, rc=False, shuffle=False,
                    exon_loss_scale=0.1, non_exon_loss_scale=1.0, repeat_loss_scale=0.5,
                    non_repeat_loss_scale=2.0)
    x, y, w, m = _collect(ds)
    assert x.shape == (N_SEQ, L, 4 + 1 + 3) and y.shape == (N_SEQ, L) and y.dtype == np.int32
    # exactly int(0.15 L) masked positions per sequence, never on N
    np.testing.assert_array_equal(m.sum(1), int(0.15 * L))
    assert m[:, :40].sum() == 0
    np.testing.assert_array_equal(y, seqs)                       # no rc: labels are the input
    # species one-hot from the record
    np.testing.assert_array_equal(x[:, 0, 5:].argmax(-1), species)
    assert np.all(x[:, :, 5:].sum(-1) == 1)
    # BERT split over all masked positions: mask token / random / unchanged
    mk = m.astype(bool)
    token = x[..., 4] == 1
    assert not np.any(token & ~mk)
    dna_codes = np.where(x[..., :4].max(-1) > 0, x[..., :4].argmax(-1), 4)
    tok_frac = token[mk].mean()
    same = (dna_codes == seqs) & mk & ~token
    changed = (dna_codes != seqs) & mk & ~token
    # random base equals the true one with prob 1/4: unchanged ≈ 0.1 + 0.025, changed ≈ 0.075
    assert 0.76 < tok_frac < 0.84, tok_frac
    assert 0.10 < same.sum() / mk.sum() < 0.15
    assert 0.05 < changed.sum() / mk.sum() < 0.10
    # unmasked positions carry the true base and no mask flag
    np.testing.assert_array_equal(dna_codes[~mk], seqs[~mk])
    # weights: 0 off the mask, exon x repeat scales on it
    assert np.all(w[~mk] == 0)
    expect = np.where(exon == 1, 0.1, 1.0) * np.where(rep == 1, 0.5, 2.0)
    np.testing.assert_allclose(w[mk], expect[mk], rtol=1e-6)
    for region in (slice(100, 200), slice(200, 250), slice(250, 300), slice(300, 400)):
        assert m[:, region].sum() > 0                            # every weight class is hit


def test_mlm_eval_all_mask_token_and_seeds(lm_dir):
    d, seqs, *_ = lm_dir
    a = _collect(lm_dataset(d, "train", batch_size=16, training=False, seed=3))
    b = _collect(lm_dataset(d, "train", batch_size=16, training=False, seed=3))
    c = _collect(lm_dataset(d, "train", batch_size=16, training=False, seed=4))
    x, y, w, m = a
    mk = m.astype(bool)
    assert np.all(x[..., 4][mk] == 1) and np.all(x[..., :4][mk] == 0)
    np.testing.assert_array_equal(a[3], b[3])                    # same seed → same masks
    assert (a[3] != c[3]).mean() > 0.1                           # new seed → fresh masks
    np.testing.assert_array_equal(y, seqs)                       # eval: no shuffle, no rc
    # unseeded passes differ
    u1 = _collect(lm_dataset(d, "train", batch_size=16, training=False))[3]
    u2 = _collect(lm_dataset(d, "train", batch_size=16, training=False))[3]
    assert (u1 != u2).any()


def test_mlm_reverse_complement_consistency(lm_dir):
    d, seqs, exon, rep, _ = lm_dir
    x, y, w, m = _collect(lm_dataset(d, "train", batch_size=8, seed=11, rc=True, shuffle=False,
                                     exon_loss_scale=0.1, repeat_loss_scale=0.5))
    flipped = 0
    for i in range(N_SEQ):
        if np.array_equal(y[i], seqs[i]):
            fexon, frep = exon[i], rep[i]
        else:
            np.testing.assert_array_equal(y[i], revcomp_codes(seqs[i]))
            fexon, frep = exon[i][::-1], rep[i][::-1]
            flipped += 1
            assert m[i, -40:].sum() == 0                         # the N run moved to the end
        mk = m[i] > 0
        np.testing.assert_allclose(w[i][mk], (np.where(fexon == 1, 0.1, 1) * np.where(frep == 1, 0.5, 1))[mk])
        dna = np.where(x[i, :, :4].max(-1) > 0, x[i, :, :4].argmax(-1), 4)
        np.testing.assert_array_equal(dna[~mk], y[i][~mk])
    assert 5 <= flipped <= 25


def _track_dir(tmp_path, n=10, folds=None):
    rng = np.random.default_rng(2)
    seqs = rng.integers(0, 5, size=(n, 64)).astype(np.uint8)
    tg = rng.uniform(0, 9, size=(n, 4, 2)).astype(np.float16)
    splits = [f"fold{i % folds}" for i in range(n)] if folds else ["train"] * n
    for sp in sorted(set(splits)):
        with ShardWriter(tmp_path / "tfrecords", sp, 3) as w:
            for i in range(n):
                if splits[i] == sp:
                    w.write(serialize_example(seqs[i], tg[i]))
    stats = {"seq_length": 64, "seq_depth": 4, "seq_1hot": True, "target_length": 4, "num_targets": 2,
             "pool_width": 16, "crop_bp": 0}
    if folds:
        stats["folds"] = folds
    write_statistics(tmp_path / "statistics.json", stats)
    return seqs, tg, splits


def test_track_dataset_order_and_features(tmp_path):
    seqs, tg, _ = _track_dir(tmp_path)
    assert [p.rsplit("/", 1)[1] for p in record_files(tmp_path, "train")] == \
        ["train-0.tfr", "train-1.tfr", "train-2.tfr", "train-3.tfr"]
    x, y = _collect(track_dataset(tmp_path, "train", batch_size=4, shuffle=False))
    assert x.shape == (10, 64, 4) and y.shape == (10, 4, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y, tg.astype(np.float32))
    dna = np.where(x.max(-1) > 0, x.argmax(-1), 4)
    np.testing.assert_array_equal(dna, seqs)
    x7, _ = _collect(track_dataset(tmp_path, "train", batch_size=4, shuffle=False, num_features=8,
                                   species_index=1))
    assert x7.shape == (10, 64, 8)
    assert np.all(x7[..., 4] == 0) and np.all(x7[..., 6] == 1) and x7[..., [5, 7]].sum() == 0
    with pytest.raises(YeastzoiError, match="species_index"):
        track_dataset(tmp_path, "train", 2, num_features=8)
    xs, ys = _collect(track_dataset(tmp_path, "train", batch_size=3, shuffle=True, seed=0))
    assert sorted(map(tuple, ys.reshape(10, -1).tolist())) == sorted(map(tuple, tg.astype(np.float32).reshape(10, -1).tolist()))
    with pytest.raises(YeastzoiError, match="no valid-"):
        track_dataset(tmp_path, "valid", 2)


def test_fold_splits_and_missing_stats(tmp_path):
    _track_dir(tmp_path, n=10, folds=4)
    fs = fold_splits(tmp_path, 3)
    name = lambda ps: sorted(p.rsplit("/", 1)[1] for p in ps)
    assert name(fs["test"]) == ["fold3-0.tfr"]
    assert name(fs["valid"]) == ["fold0-0.tfr"]
    assert name(fs["train"]) == ["fold1-0.tfr", "fold2-0.tfr"]
    x, y = _collect(track_dataset(tmp_path, batch_size=8, shuffle=False, files=fs["train"]))
    assert len(y) == 5                                           # rows 1,5,9 (fold1) + 2,6 (fold2)
    with pytest.raises(YeastzoiError, match="out of range"):
        fold_splits(tmp_path, 4)
    with pytest.raises(YeastzoiError, match="has no statistics.json; build it with yeastzoi_data.py"):
        read_statistics(tmp_path / "nothing")
