"""Weights by layer name: read/write baskerville (Keras-2 legacy) ``.h5`` files and assign
weights to a Keras 3 model with a report.

Keras-2 layout (what baskerville writes): full-model saves keep weights under
``model_weights/<layer>/<layer>/<weight>:0``; weights-only saves put one top-level group per
layer. Each layer group lists its datasets in the ``weight_names`` attribute, and the root
(or ``model_weights``) lists ``layer_names``.

Files written here load both ways: yeastzoi restores them by name, and Keras 2
(``model.load_weights(path)``, i.e. baskerville's ``SeqNN.restore``) loads them by position.
Keras 2's positional loader opens ``f[name]`` for every entry of ``layer_names``, keeps the
groups whose ``weight_names`` is non-empty and pairs them, in file order, with the weighted
layers of ``model.layers``; inside a layer it pairs ``weight_names`` in order with the layer's
``trainable_weights + non_trainable_weights``. So :func:`write_h5_weights` writes, like
Keras 2's ``save_weights_to_hdf5_group``:

- ``model_weights.attrs``: ``layer_names`` (every layer of ``model.layers``, the input layer
  included, in that order), ``backend``, ``keras_version``; chunked into ``layer_names0``,
  ``layer_names1``, … only past HDF5's 64 KiB attribute limit, as Keras 2 does;
- one group per listed name; layers without weights get an empty group whose
  ``weight_names`` is an empty (float64) array, as Keras 2 writes it, plus an empty
  ``top_level_model_weights`` group;
- ``weight_names`` of a weighted layer in Keras 2's order (:func:`keras2_weights`):
  trainable before non-trainable (BatchNormalization: gamma, beta, moving_mean,
  moving_variance), a layer's own weights before its sub-layers', sub-layers in the order the
  baskerville layer assigns them (MultiheadAttention: r_w_bias, r_r_bias, q_layer, k_layer,
  v_layer, embedding_layer, r_k_layer — yeastzoi's layer creates r_k_layer before
  embedding_layer, so Keras 3's own order would hand Keras 2 a (32, 32) kernel where it
  expects the (C, C) embedding kernel).

Layer order: Keras 2's ``model.layers`` is the functional graph sorted by depth from the
output, ties broken by traversal order; Keras 3's ``model.layers`` is computed by the same
algorithm, and yeastzoi builds the graph block by block as baskerville does (the layers that
differ — StochasticShift(0), separate activations — carry no weights and do not change the
relative order of weighted layers), so ``model.layers`` is the order baskerville's model
expects. ``tests/test_weights_keras2.py`` checks it against a file baskerville saved.

Weights are exchanged as ``{layer name: {local weight name: array}}`` where the local name
drops the layer prefix and the ``:0`` suffix (``kernel``, ``moving_mean``,
``q_layer/kernel``). Layer names of a file are canonicalised per class (``dense_4`` …
renumbered in order, gaps removed) so that files whose name counters skipped a number still
line up with yeastzoi's contiguous names; matching is by name, never by position in the file.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re

import h5py
import numpy as np

from .. import YeastzoiError

log = logging.getLogger(__name__)

_COUNTER = re.compile(r"^(.*?)(?:_(\d+))?$")


def _split_counter(name: str) -> tuple[str, int]:
    m = _COUNTER.match(name)
    return m.group(1), int(m.group(2)) if m.group(2) is not None else 0


def canonical_layer_names(names: list[str]) -> dict[str, str]:
    """Map file layer names to contiguous per-class counter names (sorted by counter)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        prefix, n = _split_counter(name)
        groups.setdefault(prefix, []).append((n, name))
    out = {}
    for prefix, items in groups.items():
        for i, (_, name) in enumerate(sorted(items)):
            out[name] = prefix if i == 0 else f"{prefix}_{i}"
    return out


def _local_name(full: str, layer: str) -> str:
    full = full.split(":")[0]
    if full.startswith(layer + "/"):
        return full[len(layer) + 1:]
    return full.split("/", 1)[1] if "/" in full else full


def read_h5_weights(path) -> dict[str, dict[str, np.ndarray]]:
    """Read a Keras-2 style .h5 (full model or weights-only) → {layer: {local name: array}}."""
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as e:
        raise YeastzoiError(f"{path}: cannot open as HDF5 weights ({e.__class__.__name__}); "
                            "expected a baskerville/yeastzoi .h5 or a .keras file") from None
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        names = read_name_list(root, "layer_names")
        if names is None:
            names = list(root.keys())
        out = {}
        for layer in names:
            if layer not in root:  # older yeastzoi files listed the input layer with no group
                continue
            wnames = read_name_list(root[layer], "weight_names") or []
            if not wnames:
                continue
            out[layer] = {_local_name(w, layer): np.asarray(root[layer][w]) for w in wnames}
    if not out:
        raise YeastzoiError(f"{path}: holds no layer weights (no weight_names in any group)")
    return out


def model_weights(model) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {local weight name: array}} of a Keras 3 model (layers with weights)."""
    out = {}
    for layer in model.layers:
        if layer.weights:
            out[layer.name] = {_local_name(v.path, layer.name): np.asarray(v.numpy()) for v in layer.weights}
    return out


#: Keras version and backend written into .h5 files (what baskerville's TensorFlow 2.15 writes).
KERAS2_VERSION = "2.15.0"
KERAS2_BACKEND = "tensorflow"
#: HDF5 object-header limit Keras 2 uses to chunk long name-list attributes.
HDF5_OBJECT_HEADER_LIMIT = 64512
#: Sub-layer order of baskerville (Keras 2) layers, by class name, where it is the order the
#: baskerville layer assigns its sub-layers (Keras 2 tracks children in assignment order).
#: A layer class may instead declare ``keras2_sublayer_order``. Unlisted sub-layers follow,
#: in Keras 3's order.
KERAS2_SUBLAYER_ORDER = {
    "MultiheadAttention": ("q_layer", "k_layer", "v_layer", "gate_layer", "embedding_layer",
                           "r_k_layer"),
}
#: Weights that are non-trainable by nature (stay "non-trainable" for Keras 2's order even
#: when the whole layer is frozen and Keras 3 marks every variable non-trainable).
_STATE_WEIGHTS = frozenset({"moving_mean", "moving_variance"})


def keras2_weights(layer) -> list[tuple[str, object]]:
    """``[(local name, variable)]`` of ``layer`` in Keras 2's ``_legacy_weights`` order:
    trainable before non-trainable; within each, the layer's own weights (creation order)
    before its sub-layers', sub-layers in baskerville's order (:data:`KERAS2_SUBLAYER_ORDER`)."""
    order = getattr(layer, "keras2_sublayer_order", None) or \
        KERAS2_SUBLAYER_ORDER.get(type(layer).__name__, ())
    rank = {name: i for i, name in enumerate(order)}
    items = []
    for i, v in enumerate(layer.weights):
        local = _local_name(v.path, layer.name)
        sub = local.split("/", 1)[0] if "/" in local else None
        if sub is None:
            sub_rank = -1
        else:
            sub_rank = rank.setdefault(sub, len(rank))  # unlisted: after the listed, first seen first
        state = local.rsplit("/", 1)[-1] in _STATE_WEIGHTS or (layer.trainable and not v.trainable)
        items.append(((state, sub_rank, i), local, v))
    return [(local, v) for _, local, v in sorted(items, key=lambda t: t[0])]


def write_name_list(group, key: str, names: list[str]) -> None:
    """Write a Keras 2 name-list attribute (``layer_names``/``weight_names``) as Keras 2 does:
    an empty list is an empty float64 array; a list whose fixed-width size exceeds the HDF5
    header limit is split into ``key0``, ``key1``, …; strings are variable-length ASCII."""
    if not names:
        group.attrs[key] = np.array([], dtype="float64")
        return
    encoded = [n.encode("utf8") for n in names]
    too_long = [n for n in names if len(n.encode("utf8")) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise YeastzoiError(f"cannot save name {too_long[0][:60]!r}...: longer than "
                            f"{HDF5_OBJECT_HEADER_LIMIT} bytes (HDF5 attribute limit)")
    ascii_only = all(n.isascii() for n in names)
    dtype = h5py.string_dtype("ascii" if ascii_only else "utf-8")
    fixed = np.asarray(encoded)
    chunks = 1
    split = np.array_split(fixed, chunks)
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in split):
        chunks += 1
        split = np.array_split(fixed, chunks)
    if chunks == 1:
        group.attrs.create(key, np.array(encoded, dtype=dtype))
    else:
        for i, part in enumerate(split):
            group.attrs.create(f"{key}{i}", np.array(list(part), dtype=dtype))


def read_name_list(group, key: str) -> list[str] | None:
    """A name-list attribute as ``list[str]`` (whole or chunked ``key0``, ``key1``, …), or
    ``None`` when absent."""
    def decode(values):
        return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]
    if key in group.attrs:
        return decode(group.attrs[key])
    if f"{key}0" not in group.attrs:
        return None
    out, i = [], 0
    while f"{key}{i}" in group.attrs:
        out += decode(group.attrs[f"{key}{i}"])
        i += 1
    return out


def write_h5_weights(path, model, attrs: dict | None = None) -> None:
    """Write ``model``'s weights in baskerville's Keras-2 full-model layout, loadable by
    Keras 2's positional ``load_weights`` as well as by name (see the module docstring):
    ``model_weights/<layer>/<layer>/<weight>:0``, a group for every layer of
    ``model.layers`` in ``layer_names``, ``weight_names`` in Keras 2's order.
    ``attrs`` (JSON-able values) are stored on the file root."""
    layers = list(model.layers)
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = KERAS2_BACKEND
        f.attrs["keras_version"] = KERAS2_VERSION
        for key, value in (attrs or {}).items():
            f.attrs[key] = json.dumps(value)
        mw = f.create_group("model_weights")
        write_name_list(mw, "layer_names", [layer.name for layer in layers])
        mw.attrs.create("backend", KERAS2_BACKEND.encode(), dtype=h5py.string_dtype("ascii"))
        mw.attrs.create("keras_version", KERAS2_VERSION.encode(), dtype=h5py.string_dtype("ascii"))
        # Keras 2 creates the groups sorted by name (strictly growing, no prefix issues)
        for layer in sorted(layers, key=lambda layer: layer.name):
            g = mw.create_group(layer.name)
            wnames = []
            for local, v in keras2_weights(layer):
                wname = f"{layer.name}/{local}:0"
                g.create_dataset(wname, data=np.asarray(v.numpy()))
                wnames.append(wname)
            write_name_list(g, "weight_names", wnames)
        write_name_list(mw.create_group("top_level_model_weights"), "weight_names", [])


def read_h5_attr(path, key: str):
    with h5py.File(path, "r") as f:
        if key in f.attrs:
            return json.loads(f.attrs[key])
    return None


@dataclasses.dataclass
class RestoreReport:
    """What a restore did: layer names loaded, skipped (shape mismatch, with shapes), missing
    (in the model, absent from the file) and unused (in the file, not in the model)."""
    loaded: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    unused: list[str] = dataclasses.field(default_factory=list)
    source: str = ""

    def summary(self) -> str:
        return (f"restored {len(self.loaded)} layers from {self.source}; skipped {len(self.skipped)} "
                f"(shape mismatch), missing {len(self.missing)} (not in file), "
                f"unused {len(self.unused)} (not in model)")

    def lines(self) -> list[str]:
        out = [self.summary()]
        for title, names in (("skipped", self.skipped), ("missing", self.missing), ("unused", self.unused)):
            if names:
                out.append(f"  {title}: " + ", ".join(names))
        return out


def assign_weights(model, weights: dict[str, dict[str, np.ndarray]], layer_names=None,
                   skip_mismatch: bool = False, source: str = "") -> RestoreReport:
    """Assign ``weights`` to ``model``'s layers by (canonicalised) layer name.

    ``layer_names`` restricts the target layers (e.g. the trunk only). A shape mismatch raises
    :class:`YeastzoiError` unless ``skip_mismatch``, in which case the layer is left as built and
    listed in ``report.skipped``. No match at all is an error.
    """
    canon = canonical_layer_names(list(weights))
    by_name = {canon[k]: v for k, v in weights.items()}
    report = RestoreReport(source=str(source))
    targets = [l for l in model.layers if l.weights and (layer_names is None or l.name in layer_names)]
    target_names = {l.name for l in targets}
    for layer in targets:
        file_w = by_name.get(layer.name)
        if file_w is None:
            report.missing.append(layer.name)
            continue
        new_values = []
        problem = None
        for v in layer.weights:
            local = _local_name(v.path, layer.name)
            arr = file_w.get(local)
            if arr is None:
                problem = f"weight {local} absent from file (file has {', '.join(file_w)})"
                break
            if tuple(arr.shape) != tuple(v.shape):
                problem = f"{local} shape {tuple(arr.shape)} in file vs {tuple(v.shape)} in model"
                break
            new_values.append(arr)
        if problem is None and len(file_w) != len(layer.weights):
            problem = f"file has {len(file_w)} weights, model layer has {len(layer.weights)}"
        if problem:
            if not skip_mismatch:
                raise YeastzoiError(f"{source}: layer {layer.name}: {problem}; pass skip_mismatch "
                                    "(--trunk when fine-tuning a new head) to leave it as built")
            report.skipped.append(f"{layer.name} ({problem})")
            continue
        for v, arr in zip(layer.weights, new_values):
            v.assign(arr.astype(v.dtype) if hasattr(arr, "astype") else arr)
        report.loaded.append(layer.name)
    report.unused = sorted(set(by_name) - target_names) if layer_names is None else \
        sorted(n for n in by_name if n not in {l.name for l in model.layers if l.weights})
    if not report.loaded:
        raise YeastzoiError(f"{source}: restore matched no layer of the model "
                            f"(file layers e.g. {', '.join(list(by_name)[:5])}; model layers e.g. "
                            f"{', '.join(list(target_names)[:5])}); is it the right file/spec?")
    return report
