"""SeqNN: published spec sizes, baskerville weight compatibility, save/restore, ensembles."""
import json
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from yeastzoi import YeastzoiError, zoo_spec
from yeastzoi.model.blocks import BLOCKS
from yeastzoi.genome.dna import revcomp_onehot
from yeastzoi.model.params import apply_overrides, load_params, validate
from yeastzoi.model.seqnn import SeqNN, read_meta

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURE = SHARED / "fixtures" / "baskerville" / "ft_small"
REFERENCE = SHARED / "reference" / "params"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared (reference specs/fixtures) is absent")


def small_spec(name="tiny", extra=()):
    """A zoo spec shrunk to 2,048 bp (same blocks) so tests run fast."""
    spec = json.loads(zoo_spec(name).read_text())
    sets = ["model.seq_length=2048"]
    if name == "tiny":
        sets.append("model.trunk[6].cropping=8")
    return validate(apply_overrides(spec, sets + list(extra)))["model"]


def randomize(model, seed=0):
    """Non-trivial random weights (positive BN variances) so that mistakes show."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if "variance" in v.path:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        else:
            v.assign(rng.normal(0, 0.2, v.shape).astype("float32"))


def onehot(batch, length, seed=1):
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, (batch, length))]
    x[:, 100:140] = 0  # a run of N
    return x


@pytest.fixture(scope="module")
def tiny_track():
    s = SeqNN(small_spec("tiny"), meta={"strand_pair": [1, 0] + list(range(2, 14))})
    randomize(s.model)
    return s


# ---------------------------------------------------------------- published specs
@needs_shared
@pytest.mark.parametrize("spec, nf, total, trainable, shape", [
    ("shorkie_lm.json", 170, 13_665_828, 13_651_812, (None, 16384, 4)),
    ("shorkie_finetune.json", 170, 14_253_567, 14_243_775, (None, 896, 5215)),
    ("shorkie_finetune.json", 4, 14_078_271, None, (None, 896, 5215)),
])
def test_published_specs_load_unchanged(spec, nf, total, trainable, shape):
    p = load_params(REFERENCE / spec)
    s = SeqNN(p["model"], num_features=nf)
    assert s.num_params == total
    if trainable is not None:
        assert s.num_trainable == trainable
    assert tuple(s.model.output.shape) == shape
    assert s.model.input.shape[-1] == nf


@needs_shared
def test_shorkie_lm_rows_are_distributions():
    s = SeqNN(load_params(REFERENCE / "shorkie_lm.json")["model"], num_features=170)
    x = np.concatenate([onehot(1, 16384), np.zeros((1, 16384, 166), "float32")], -1)
    x[..., 5 + 109] = 1   # R64 is species 109 of Shorkie's 165
    pred = s.predict(x, batch_size=1)
    assert pred.shape == (1, 16384, 4)
    np.testing.assert_allclose(pred.sum(-1), 1.0, atol=1e-5)


def test_zoo_tiny_specs_match_shorkie_structure():
    lm = SeqNN(load_params(zoo_spec("tiny_lm"))["model"], num_features=6)
    ft = SeqNN(load_params(zoo_spec("tiny"))["model"], num_features=6)
    assert tuple(lm.model.output.shape) == (None, 16384, 4)
    assert tuple(ft.model.output.shape) == (None, 896, 14)
    assert ft.meta["pool_width"] == 16 and ft.meta["crop_bp"] == 1024
    assert ft.trunk_layer_names - {"sequence"} <= lm.trunk_layer_names | {"cropping1d"}


# ------------------------------------------------------- baskerville compatibility
@needs_shared
@pytest.mark.parametrize("weights_file", ["model.h5", "weights.h5"])
def test_baskerville_fixture_reproduced(weights_file):
    p = load_params(FIXTURE / "params.json")
    s = SeqNN(p["model"])
    report = s.restore(FIXTURE / weights_file)
    assert len(report.loaded) == 42 and not report.skipped and not report.missing and not report.unused
    x = np.load(FIXTURE / "input.npy")
    expected = np.load(FIXTURE / "output.npy")
    pred = s.predict(x, batch_size=2)
    assert pred.shape == expected.shape
    assert np.abs(pred - expected).max() < 1e-4


@needs_shared
def test_layer_names_and_shapes_follow_baskerville():
    """Every weighted layer of layers.txt exists in our build with the same name and shapes."""
    s = SeqNN(load_params(FIXTURE / "params.json")["model"])
    ours = {l.name: [tuple(w.shape) for w in l.weights] for l in s.model.layers if l.weights}
    theirs = {}
    for line in (FIXTURE / "layers.txt").read_text().splitlines():
        name, cls, shapes = line.split("\t")
        shapes = eval(shapes)  # a Python literal list of tuples written by the fixture builder
        if shapes:
            theirs[name] = shapes
    assert set(ours) == set(theirs)
    for name, shapes in theirs.items():
        if name.startswith("multihead_attention"):
            assert sorted(ours[name]) == sorted(shapes)
        else:
            assert ours[name] == shapes, name


def test_lm_style_network_baskerville_layout_round_trip(tmp_path):
    s = SeqNN(small_spec("tiny_lm"), num_features=7)
    randomize(s.model, seed=3)
    x = np.concatenate([onehot(2, 2048), np.zeros((2, 2048, 3), "float32")], -1)
    x[:, :, 5] = 1  # species 0
    pred = s.predict(x)
    np.testing.assert_allclose(pred.sum(-1), 1.0, atol=1e-5)
    path = s.save(tmp_path / "lm.h5")
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
        names = [text(n) for n in mw.attrs["layer_names"]]
        assert "multihead_attention" in names and "separable_conv1d_6" in names
        wn = [text(w) for w in mw["multihead_attention"].attrs["weight_names"]]
        assert "multihead_attention/q_layer/kernel:0" in wn and "multihead_attention/r_w_bias:0" in wn
        assert mw["conv1d"]["conv1d"]["kernel:0"].shape == (11, 7, 16)
    fresh = SeqNN(small_spec("tiny_lm"), num_features=7)
    report = fresh.restore(path)
    assert not report.skipped and not report.missing
    assert np.abs(fresh.predict(x) - pred).max() < 1e-6


# ------------------------------------------------------------- save / restore
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_save_restore_identical(tiny_track, tmp_path, suffix):
    x = onehot(2, 2048)
    pred = tiny_track.predict(x)
    path = tiny_track.save(tmp_path / f"model{suffix}")
    assert (tmp_path / "model_meta.json").exists()
    fresh = SeqNN(small_spec("tiny"))
    fresh.restore(path)
    assert np.abs(fresh.predict(x) - pred).max() < 1e-6
    rebuilt = SeqNN.from_file(path)
    assert np.abs(rebuilt.predict(x) - pred).max() < 1e-6
    meta = read_meta(path)
    assert meta["num_features"] == 4 and meta["target_length"] == 112 and meta["pool_width"] == 16
    assert meta["crop_bp"] == 128 and meta["strand_pair"][:2] == [1, 0]


def test_trunk_restore_reports_skipped_head(tmp_path):
    lm = SeqNN(small_spec("tiny_lm"), num_features=6)
    randomize(lm.model, seed=5)
    lm_path = lm.save(tmp_path / "lm.h5")
    ft = SeqNN(small_spec("tiny"), num_features=6)
    report = ft.restore(lm_path, trunk=True)
    assert len(report.loaded) == len([l for l in ft.model_trunk.layers if l.weights])
    head = [l.name for l in ft.model.layers if l.weights][-1]
    assert head.startswith("dense") and head not in report.loaded  # the head stays as built
    conv = ft.model.get_layer("conv1d").kernel.numpy()
    np.testing.assert_array_equal(conv, lm.model.get_layer("conv1d").kernel.numpy())
    with pytest.raises(YeastzoiError, match="shape"):
        SeqNN(small_spec("tiny"), num_features=6).restore(lm_path)  # full restore: head mismatch


def test_restore_matching_nothing_is_an_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("unrelated_layer")
        g.attrs["weight_names"] = np.array([b"unrelated_layer/kernel:0"])
        g.create_dataset("unrelated_layer/kernel:0", data=np.zeros((2, 2)))
    with pytest.raises(YeastzoiError, match="matched no layer"):
        SeqNN(small_spec("tiny")).restore(path)


def test_num_features_conflict():
    spec = dict(small_spec("tiny"), num_features=6)
    with pytest.raises(YeastzoiError, match="num_features is 6 in the spec but 4 was requested"):
        SeqNN(spec, num_features=4)
    assert SeqNN(spec).num_features == 6


# --------------------------------------------------------------- ensembles
def test_rc_ensemble_is_equivariant(tiny_track):
    from yeastzoi.model.predictor import Predictor
    x = onehot(2, 2048, seed=7)
    ens = Predictor(tiny_track, rc=True, shifts=[0, 1])
    fwd = ens.predict(x)[0]
    rev = ens.predict(revcomp_onehot(x))[0]
    assert tiny_track.build_ensemble(rc=True, shifts=[0, 1]) is ens.fns[0]   # built once, cached
    sp = tiny_track.meta["strand_pair"]
    expected = fwd[:, ::-1][..., sp]
    assert np.abs(rev - expected).max() < 1e-5
    assert np.abs(fwd - tiny_track.predict(x)).max() > 1e-4  # the ensemble differs from one pass


def test_rc_layer_complements_only_dna_channels():
    from yeastzoi.model.layers import reverse_complement
    x = np.zeros((1, 3, 6), "float32")
    x[0, 0, 0] = 1  # A at position 0
    x[0, 0, 4] = 1  # mask flag at position 0
    x[0, :, 5] = 1  # species channel
    y = np.asarray(reverse_complement(x))
    assert y[0, 2, 3] == 1 and y[0, 2, 4] == 1 and y[0, :, 5].tolist() == [1, 1, 1]


# ---------------------------------------------------------------- errors
def test_block_output_cannot_feed_next():
    spec = small_spec("tiny")
    spec["trunk"] = spec["trunk"][:1] + spec["trunk"][3:4]  # unet_conv with no tower before it
    with pytest.raises(YeastzoiError) as e:
        SeqNN(spec)
    assert str(e.value).startswith("model.trunk[1] (unet_conv): ")
    # an oversized crop is found while the spec is read, with the bins that reach the layer
    with pytest.raises(YeastzoiError, match=r"model\.trunk\[6\]\.cropping: 4000 \+ 4000 bins cropped from the 128 "
                                            r"bins that reach it leaves none; crop at most 63 per side"):
        small_spec("tiny", extra=["model.trunk[6].cropping=4000"])
    with pytest.raises(YeastzoiError, match=r"model\.seq_length: 2000 bp is not divisible by the trunk's total "
                                            r"pooling 128 \(trunk\[1\] res_tower: pool 2 × 7 repeats\)"):
        small_spec("tiny", extra=["model.seq_length=2000"])
    with pytest.raises(YeastzoiError, match=r'model\.activation: unknown activation "gelux"; valid: .*gelu'):
        small_spec("tiny", extra=['model.activation="gelux"'])


# ------------------------------------------------------------ user blocks
def test_user_block_registered_from_own_module(tmp_path, monkeypatch):
    (tmp_path / "my_blocks.py").write_text(
        "import keras\n"
        "from yeastzoi.model.blocks import register_block\n\n"
        "@register_block('double_conv')\n"
        "def double_conv(inputs, ctx, filters: int, kernel_size: int = 3, activation: str = 'relu'):\n"
        "    x = ctx.layer(keras.layers.Conv1D, filters, kernel_size, padding='same')(inputs)\n"
        "    x = ctx.activate(x, activation)\n"
        "    return ctx.layer(keras.layers.Conv1D, filters, kernel_size, padding='same')(x)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    importlib.import_module("my_blocks")
    try:
        spec = {"seq_length": 64, "activation": "gelu",
                "trunk": [{"name": "double_conv", "filters": 8}],
                "head": {"name": "final", "units": 2, "activation": "softplus"}}
        s = SeqNN(spec)
        assert tuple(s.model.output.shape) == (None, 64, 2)
        # 2 convs (4*3*8+8, 8*3*8+8) + head (8*2+2); the global activation reached the block
        assert s.num_params == (4 * 3 * 8 + 8) + (8 * 3 * 8 + 8) + (8 * 2 + 2)
        assert [l.activation for l in s.model.layers if hasattr(l, "activation") and l.name.startswith("gelu")]
        with pytest.raises(YeastzoiError, match=r"model\.trunk\[0\]\.filters: expected int"):
            SeqNN(dict(spec, trunk=[{"name": "double_conv", "filters": "8"}]))
    finally:
        BLOCKS.pop("double_conv", None)
        sys.modules.pop("my_blocks", None)


def test_explicit_null_overrides_global():
    spec = {"seq_length": 32, "norm_type": "batch", "activation": "gelu",
            "trunk": [{"name": "conv_dna", "filters": 4, "kernel_size": 3, "norm_type": None,
                       "activation": "linear"},
                      {"name": "conv_nac", "filters": 4, "kernel_size": 3}],
            "head": {"name": "final", "units": 1}}
    s = SeqNN(spec)
    kinds = [l.__class__.__name__ for l in s.model.layers]
    # conv_dna: no BN (null override); conv_nac: the global batch norm
    assert kinds.count("BatchNormalization") == 1
    assert kinds.index("BatchNormalization") > kinds.index("Conv1D")
