"""Weights by layer name: read/write baskerville (Keras-2 legacy) ``.h5`` files and assign
weights to a Keras 3 model with a report.

Keras-2 layout (what baskerville writes): full-model saves keep weights under
``model_weights/<layer>/<layer>/<weight>:0``; weights-only saves put one top-level group per
layer. Each layer group lists its datasets in the ``weight_names`` attribute, and the root
(or ``model_weights``) lists ``layer_names``.

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
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", list(root.keys()))]
        out = {}
        for layer in names:
            if layer not in root:
                continue
            group = root[layer]
            wnames = group.attrs.get("weight_names", [])
            wnames = [w.decode() if isinstance(w, bytes) else str(w) for w in wnames]
            if not wnames:
                continue
            out[layer] = {_local_name(w, layer): np.asarray(group[w]) for w in wnames}
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


def write_h5_weights(path, model, attrs: dict | None = None) -> None:
    """Write ``model``'s weights in baskerville's Keras-2 full-model layout:
    ``model_weights/<layer>/<layer>/<weight>:0`` with ``layer_names``/``weight_names``
    attributes. ``attrs`` (JSON-able values) are stored on the file root."""
    layers = [layer for layer in model.layers if not layer.__class__.__name__ == "InputLayer"]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.15.0"
        for key, value in (attrs or {}).items():
            f.attrs[key] = json.dumps(value)
        mw = f.create_group("model_weights")
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.15.0"
        mw.attrs["layer_names"] = np.array([l.name.encode() for l in model.layers])
        for layer in layers:
            g = mw.create_group(layer.name)
            wnames = []
            for v in layer.weights:
                wname = f"{layer.name}/{_local_name(v.path, layer.name)}:0"
                g.create_dataset(wname, data=np.asarray(v.numpy()))
                wnames.append(wname.encode())
            g.attrs["weight_names"] = np.array(wnames, dtype="S") if wnames else np.array([], dtype="S")


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
