""".h5 files written by SeqNN.save load in baskerville itself (Keras 2 ``load_weights``).

Keras 2's positional loader (``load_weights_from_hdf5_group``, TensorFlow 2.15) opens the group
of every name in ``layer_names``, keeps those whose ``weight_names`` is non-empty and pairs
them IN ORDER with the weighted layers of the model, and each layer's ``weight_names`` in order
with its weights. :func:`keras2_walk` replays that walk on a file (without TensorFlow 2) and
the tests compare it with the order baskerville's model has (``layers.txt`` of the fixture
baskerville saved) or, for specs without a baskerville fixture, with the order yeastzoi
creates the layers in.
"""
import ast
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from yeastzoi.model import blocks, weights
from yeastzoi.model.params import apply_overrides, load_params, validate
from yeastzoi.model.seqnn import SeqNN

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURE = SHARED / "fixtures" / "baskerville" / "ft_small"
REFERENCE = SHARED / "reference" / "params"
needs_shared = pytest.mark.skipif(
    not FIXTURE.exists(),
    reason="../shared/fixtures/baskerville/ft_small (a file baskerville saved) is absent")


# ------------------------------------------------------------------ the Keras 2 walk
def _names(group, key):
    """A Keras 2 name-list attribute, whole or chunked (key0, key1, ...), as Keras 2 reads it."""
    if key in group.attrs:
        values = group.attrs[key]
    else:
        values, i = [], 0
        while f"{key}{i}" in group.attrs:
            values = list(values) + list(group.attrs[f"{key}{i}"])
            i += 1
    return [v.decode("utf8") if hasattr(v, "decode") else v for v in values]


def keras2_walk(path):
    """[(layer name, [(weight name, shape)])] of the weighted layers, in the order Keras 2's
    ``load_weights(by_name=False)`` pairs them with the model's weighted layers. Fails like
    Keras 2 (KeyError) when a listed layer has no group."""
    with h5py.File(path, "r") as f:
        if "layer_names" not in f.attrs and "model_weights" in f:
            f = f["model_weights"]
        assert "layer_names" in f.attrs or "layer_names0" in f.attrs, "no layer_names attribute"
        out = []
        for name in _names(f, "layer_names"):
            if name not in f:
                raise KeyError(f"object {name!r} doesn't exist (listed in layer_names, no group)")
            g = f[name]
            wnames = _names(g, "weight_names")
            if wnames:
                out.append((name, [(w, tuple(g[w].shape)) for w in wnames]))
        if "top_level_model_weights" in f:  # Keras 2 checks it against model-level weights: none
            assert not _names(f["top_level_model_weights"], "weight_names")
    return out


def assert_walk_matches(walk, expected):
    """``expected``: [(layer name, [shape, ...])] or [(layer name, [(weight name, shape), ...])]."""
    assert [name for name, _ in walk] == [name for name, _ in expected], "weighted layer order"
    for (name, got), (_, want) in zip(walk, expected):
        for wname, _ in got:
            assert wname.startswith(name + "/") and wname.endswith(":0"), wname
        if want and isinstance(want[0][0], str):
            assert got == want, name
        else:
            assert [shape for _, shape in got] == [tuple(s) for s in want], name


def fixture_layers():
    """[(name, class, [shape, ...])] from layers.txt (baskerville's model.layers order)."""
    rows = []
    for line in (FIXTURE / "layers.txt").read_text().splitlines():
        name, cls, shapes = line.split("\t")
        rows.append((name, cls, [tuple(s) for s in ast.literal_eval(shapes)]))
    return rows


def fixture_expected():
    return [(name, shapes) for name, _, shapes in fixture_layers() if shapes]


# ------------------------------------------------------------------ baskerville fixture
@needs_shared
@pytest.mark.parametrize("name", ["model.h5", "weights.h5"])
def test_fixture_files_pass_the_walk(name):
    """Sanity of the walker: the files baskerville saved pass it against layers.txt."""
    assert_walk_matches(keras2_walk(FIXTURE / name), fixture_expected())


@pytest.fixture(scope="module")
def fixture_seqnn():
    if not FIXTURE.exists():
        pytest.skip("../shared/fixtures/baskerville/ft_small is absent")
    s = SeqNN(load_params(FIXTURE / "params.json")["model"])
    s.restore(FIXTURE / "model.h5")
    return s


@needs_shared
def test_saved_file_follows_keras2_layout(fixture_seqnn, tmp_path):
    path = fixture_seqnn.save(tmp_path / "model.h5")
    walk = keras2_walk(path)
    assert_walk_matches(walk, fixture_expected())
    # weight names exactly as baskerville's file names them (same layer names, same order)
    assert walk == keras2_walk(FIXTURE / "model.h5")
    with h5py.File(path, "r") as f, h5py.File(FIXTURE / "model.h5", "r") as b:
        mw, bmw = f["model_weights"], b["model_weights"]
        for key in ("backend", "keras_version"):
            assert mw.attrs[key] == bmw.attrs[key] and f.attrs[key] == b.attrs[key]
        names = _names(mw, "layer_names")
        assert names == [layer.name for layer in fixture_seqnn.model.layers]
        assert names[0] == "sequence" and "sequence" in mw
        empty = mw["sequence"].attrs["weight_names"]
        assert empty.shape == (0,) and empty.dtype == bmw["sequence"].attrs["weight_names"].dtype
        # same values as the file they were restored from
        for name, wlist in walk:
            for wname, _ in wlist:
                np.testing.assert_array_equal(mw[name][wname][()], bmw[name][wname][()])


@needs_shared
def test_saved_file_restores_identically(fixture_seqnn, tmp_path):
    x = np.load(FIXTURE / "input.npy")
    pred = fixture_seqnn.predict(x, batch_size=2)
    assert np.abs(pred - np.load(FIXTURE / "output.npy")).max() < 1e-4
    path = fixture_seqnn.save(tmp_path / "model.h5")
    fresh = SeqNN(load_params(FIXTURE / "params.json")["model"])
    report = fresh.restore(path)
    assert len(report.loaded) == 42 and not (report.skipped or report.missing or report.unused)
    assert np.abs(fresh.predict(x, batch_size=2) - pred).max() < 1e-6


@needs_shared
def test_old_yeastzoi_layout_still_restores(fixture_seqnn, tmp_path):
    """Files of the previous writer (input layer listed without a group, Keras 3 weight order
    inside MultiheadAttention) still restore by name."""
    path = fixture_seqnn.save(tmp_path / "model.h5")
    with h5py.File(path, "a") as f:
        mw = f["model_weights"]
        del mw["sequence"]
        del mw["top_level_model_weights"]
        for mha in ("multihead_attention", "multihead_attention_1"):
            wn = list(mw[mha].attrs["weight_names"])
            mw[mha].attrs["weight_names"] = np.array([w.encode() for w in wn[::-1]])
    with pytest.raises(KeyError, match="sequence"):
        keras2_walk(path)  # what baskerville met
    fresh = SeqNN(load_params(FIXTURE / "params.json")["model"])
    report = fresh.restore(path)
    assert len(report.loaded) == 42 and not (report.skipped or report.missing)
    x = np.load(FIXTURE / "input.npy")
    assert np.abs(fresh.predict(x, batch_size=2) - fixture_seqnn.predict(x, batch_size=2)).max() < 1e-6


@needs_shared
def test_frozen_layers_keep_keras2_weight_order(tmp_path):
    """Keras 3 marks every variable of a frozen layer non-trainable; Keras 2's order (gamma,
    beta, moving_mean, moving_variance) must not change with it."""
    s = SeqNN(load_params(FIXTURE / "params.json")["model"])
    for layer in s.model.layers:
        if layer.name.startswith(("batch_normalization", "multihead_attention")):
            layer.trainable = False
    assert_walk_matches(keras2_walk(s.save(tmp_path / "frozen.h5")), fixture_expected())


# ------------------------------------------------------------------ Shorkie spec
def _fixture_weight_names_by_class():
    """Keras 2 local weight names per layer class, learnt from the file baskerville saved."""
    classes = {name: cls for name, cls, _ in fixture_layers()}
    out = {}
    for name, wlist in keras2_walk(FIXTURE / "model.h5"):
        local = [w[len(name) + 1:-2] for w, _ in wlist]
        assert out.setdefault(classes[name], local) == local, f"{name}: not one order per class"
    return out


@pytest.mark.skipif(not (REFERENCE / "shorkie_finetune.json").exists() or not FIXTURE.exists(),
                    reason="../shared reference params / baskerville fixture are absent")
def test_shorkie_spec_saved_file_passes_the_walk(tmp_path, monkeypatch):
    created = []
    layer = blocks.BuildContext.layer

    def recording(self, cls, *args, **kwargs):
        created.append(layer(self, cls, *args, **kwargs))
        return created[-1]

    monkeypatch.setattr(blocks.BuildContext, "layer", recording)
    params = validate(apply_overrides(load_params(REFERENCE / "shorkie_finetune.json"),
                                      ["model.seq_length=4096", "model.head.units=8"]))
    s = SeqNN(params["model"], num_features=4)
    assert tuple(s.model.output.shape) == (None, 128, 8)
    rng = np.random.default_rng(0)
    for v in s.model.weights:
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
    per_class = _fixture_weight_names_by_class()
    in_model = {layer.name for layer in s.model.layers}
    expected = []
    for lay in created:  # the order the blocks create the layers in
        if not lay.weights or lay.name not in in_model:
            continue
        cls = type(lay).__name__
        assert cls in per_class, f"no baskerville weight order known for {cls}"
        shapes = {weights._local_name(v.path, lay.name): tuple(v.shape) for v in lay.weights}
        assert sorted(shapes) == sorted(per_class[cls]), lay.name
        expected.append((lay.name, [(f"{lay.name}/{w}:0", shapes[w]) for w in per_class[cls]]))
    assert len(expected) == 92
    path = s.save(tmp_path / "shorkie.h5")
    assert_walk_matches(keras2_walk(path), expected)
    read = weights.read_h5_weights(path)
    mha = s.model.get_layer("multihead_attention_7")
    np.testing.assert_array_equal(read["multihead_attention_7"]["r_k_layer/kernel"],
                                  mha.r_k_layer.kernel.numpy())


# ------------------------------------------------------------------ long name lists
def test_long_name_lists_are_chunked_like_keras2(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "HDF5_OBJECT_HEADER_LIMIT", 64)
    names = [f"layer_number_{i}" for i in range(20)]
    with h5py.File(tmp_path / "names.h5", "w") as f:
        weights.write_name_list(f, "layer_names", names)
        weights.write_name_list(f, "weight_names", [])
        assert "layer_names" not in f.attrs and "layer_names1" in f.attrs
        assert weights.read_name_list(f, "layer_names") == names == _names(f, "layer_names")
        assert weights.read_name_list(f, "weight_names") == [] and weights.read_name_list(f, "x") is None
        assert json.dumps(_names(f, "weight_names")) == "[]"
