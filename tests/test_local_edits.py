"""Edited sequences predicted from their reference's tower (yeastzoi.model.local_edits):
the frontier found in a Shorkie-shaped model, the spliced tower equal to the edited sequence's
own, and predictions / variant scores equal to predicting every alternative whole."""
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from yeastzoi.genome import Genome, write_fasta
from yeastzoi.model.local_edits import diff_span, tower_split
from yeastzoi.model.params import load_params
from yeastzoi.model.predictor import Predictor
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.score.options import ScoreOptions
from yeastzoi.score.snps import score_variants
from yeastzoi.score.variants import read_variants

ROOT = Path(__file__).resolve().parents[1]
L = 8192


def tiny_params(extra=()):
    return load_params(ROOT / "json_params" / "tiny.json",
                       [f"model.seq_length={L}", "model.head.units=4"] + list(extra))


def fan_in_weights(model, seed):
    """Random weights scaled by fan-in (positive BN variances), so a single base moves the
    output by ~1e-2 of its ~0.9 scale and a wrong splice shows."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if "variance" in v.path:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        elif len(v.shape) >= 2:
            v.assign(rng.normal(0, 1 / np.sqrt(np.prod(v.shape[:-1])), v.shape).astype("float32"))
        else:
            one = 1.0 if "gamma" in v.path or "scale" in v.path else 0.0
            v.assign((one + rng.normal(0, 0.2, v.shape)).astype("float32"))


@pytest.fixture(scope="module")
def net():
    s = SeqNN(tiny_params()["model"], meta={"strand_pair": [0, 2, 1, 3]})
    fan_in_weights(s.model, seed=5)
    return s


def test_frontier_of_a_shorkie_shaped_model(net):
    split = tower_split(net.model)
    # transformer input and its LayerNorm (128 bp/position), the three U-Net skips after their Dense
    assert sorted(split.resolution) == [16, 32, 64, 128, 128]
    # conv_dna k=11 (10 bp) + per tower stage i a k=5 conv at 2^i bp/position: 10 + 4 * 127
    assert split.extent == 518
    assert split.align == 128
    assert split.patch_bp == 2688          # 64 + 4 * 518 + 4 * 128 rounded up to 128
    assert split.worthwhile
    # cut points are exact: positions away from an edit keep the reference's values
    assert split.window((4000, 4001)) == (2816, 3456, 4608)
    assert split.window((0, 1)) == (0, 0, 640)
    assert split.window((L - 1, L)) == (L - 2688, 7552, L)
    assert split.window((100, 100 + 65)) is None          # longer than max_edit_bp


def test_models_without_a_local_prefix_are_not_split():
    x = keras.Input((256, 4))
    conv_only = keras.Model(x, keras.layers.Conv1D(3, 5, padding="same")(x))
    assert tower_split(conv_only) is None                 # nothing global to cut at
    y = keras.layers.Flatten()(x)
    assert tower_split(keras.Model(x, keras.layers.Dense(2)(y))) is None   # global at the input
    # a norm over channels is local; one over positions (a weight per position) is not
    for axis, local in ((-1, True), (1, False)):
        z = keras.layers.BatchNormalization(axis=axis)(keras.layers.Conv1D(4, 3, padding="same")(x))
        split = tower_split(keras.Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(z))))
        cut_after = type(split.tower.outputs[0]._keras_history.operation).__name__
        assert cut_after == ("BatchNormalization" if local else "Conv1D")


def test_training_augmentation_is_the_identity_at_inference():
    """The shipped track models carry augment_rc / augment_shift: their split passes the RC flag
    (no positions) from the reference and predicts edits exactly as whole."""
    aug = SeqNN(tiny_params(["model.augment_rc=true", "model.augment_shift=3"])["model"],
                meta={"strand_pair": [0, 2, 1, 3]})
    fan_in_weights(aug.model, seed=6)
    split = tower_split(aug.model)
    assert sorted(split.resolution) == [0, 16, 32, 64, 128, 128] and split.extent == 518
    codes, alts, ref_index = _edits(seed=2)
    pred = Predictor(aug, batch_size=4)
    y_ref, y_alt = pred.predict_edits(codes, alts, ref_index)
    assert pred.edit_counts["reused"] == 9
    pred.reuse_tower = False
    z_ref, z_alt = pred.predict_edits(codes, alts, ref_index)
    scale = float(np.abs(z_alt).max())
    assert np.abs(z_alt - z_ref[:, ref_index]).max() > 1e-3
    np.testing.assert_allclose(y_alt, z_alt, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(y_ref, z_ref, rtol=0, atol=1e-5 * scale)


def _edits(seed=0, n_ref=3):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n_ref, L)).astype(np.int8)
    codes[0, 3000:3100] = 4                                # a run of N
    spots = [0, 1, 127, 128, 4095, L - 1, 3050, 6000]
    alts, ref_index = [], []
    for k, pos in enumerate(spots):
        r = k % n_ref
        a = codes[r].copy()
        a[pos] = (a[pos] + 1) % 4
        alts.append(a)
        ref_index.append(r)
    mnp = codes[1].copy()
    mnp[5000:5004] = (mnp[5000:5004] + 2) % 4
    same = codes[2].copy()
    indel = codes[0].copy()
    indel[L // 2:] = np.roll(indel[L // 2:], 3)            # an insertion's shifted right side
    for a, r in ((mnp, 1), (same, 2), (indel, 0)):
        alts.append(a)
        ref_index.append(r)
    return codes, np.stack(alts), np.array(ref_index)


@pytest.mark.parametrize("rc, shifts", [(False, [0]), (True, [0, 1])])
def test_edit_predictions_equal_whole_predictions(net, rc, shifts):
    codes, alts, ref_index = _edits()
    pred = Predictor(net, rc=rc, shifts=shifts, batch_size=4)
    y_ref, y_alt = pred.predict_edits(codes, alts, ref_index)
    assert pred.edit_counts == {"reused": 9, "whole": 1, "unchanged": 1}
    pred.reuse_tower = False
    z_ref, z_alt = pred.predict_edits(codes, alts, ref_index)
    assert y_alt.shape == z_alt.shape == (1, len(alts), net.meta["target_length"], 4)
    scale = float(np.abs(z_alt).max())
    np.testing.assert_allclose(y_ref, z_ref, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(y_alt, z_alt, rtol=0, atol=1e-5 * scale)
    # the effects themselves (alt − ref) agree far below their size
    eff_y, eff_z = y_alt - y_ref[:, ref_index], z_alt - z_ref[:, ref_index]
    assert np.abs(eff_z).max() > 1e-3
    assert np.abs(eff_y - eff_z).max() <= 1e-5 * scale
    np.testing.assert_array_equal(y_alt[0, 9], y_ref[0, 2])   # an unchanged copy is its reference


def test_spliced_tower_equals_the_edited_sequences_own(net):
    codes, alts, ref_index = _edits(seed=1)
    pred = Predictor(net)
    split = tower_split(net.model)
    x_ref, x_alt = pred.encode(codes), pred.encode(alts)
    ref_front = split.tower.predict_on_batch(x_ref)
    alt_front = split.tower.predict_on_batch(x_alt)
    for k in range(8):
        r = ref_index[k]
        start, lo, hi = split.window(diff_span(x_ref[r], x_alt[k]))
        sub = split.patch.predict_on_batch(x_alt[k:k + 1, start:start + split.patch_bp])
        spliced = split.splice(ref_front, [r], sub, [(start, lo, hi)])
        for got, want, res in zip([t[0] for t in spliced], alt_front, split.resolution):
            np.testing.assert_allclose(got, want[k], rtol=1e-5, atol=1e-5)
            # the whole edited tower keeps the reference's values outside the affected region
            outside = np.ones(len(got), bool)
            outside[lo // res:hi // res] = False
            ref_values = ref_front[[i for i, f in enumerate(alt_front) if f is want][0]][r]
            np.testing.assert_allclose(want[k][outside], ref_values[outside], rtol=1e-5, atol=1e-5)
            assert not np.allclose(want[k][~outside], ref_values[~outside], rtol=1e-3, atol=1e-3)


def test_variant_scores_equal_with_and_without_tower_reuse(net, tmp_path):
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), size=20000))
    fasta = write_fasta(tmp_path / "g.fa", [("chrI", seq)])
    rows = []
    for i, pos in enumerate([5, 2000, 2050, 9000, 9010, 15000, 19990]):
        ref = seq[pos - 1]
        rows.append(f"chrI\t{pos}\tv{i}\t{ref}\t{'ACGT'.replace(ref, '')[i % 3]}\t.\t.\t.")
    rows.append(f"chrI\t12001\tdel\t{seq[12000:12004]}\t{seq[12000]}\t.\t.\t.")
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                    + "\n".join(rows) + "\n")
    genome = Genome(fasta)
    variants, _ = read_variants(tmp_path / "v.vcf", genome)
    out = {}
    for reuse in (True, False):
        for cluster in (0, 4000):
            opts = ScoreOptions(stats=("SAD", "logSED", "D2"), reuse_tower=reuse, cluster_bp=cluster)
            out[reuse, cluster] = score_variants(net, genome, variants, opts)
    for cluster in (0, 4000):
        a, b = out[True, cluster].stats, out[False, cluster].stats
        for stat in ("SAD", "logSED", "D2"):
            scale = float(np.abs(b[stat]).max())
            assert scale > 1e-4
            np.testing.assert_allclose(a[stat], b[stat], rtol=0, atol=1e-3 * scale)
    assert out[True, 0].attrs["reuse_tower"] and not out[False, 0].attrs["reuse_tower"]
