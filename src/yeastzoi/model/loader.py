"""THE model loader and the model's self-description: what a model file says about itself.

    seqnn = load_model("ft/model_best.h5")                 # spec + weights + metadata
    models = load_models(["f0/model.h5", "f1/model.h5"])   # an ensemble that must agree
    idx = resolve_species(seqnn.meta, "s288c")             # the species channel rule
    check_lm(seqnn.meta, "lm/model_best.h5")               # a masked LM, or a one-line error

Loading rule (:func:`load_model`): the spec stored inside the model file (or in
``model_meta.json`` beside it) is the model's own contract and wins. A params.json (path or
dict) is only needed for files without yeastzoi metadata (e.g. baskerville's); when both are
given and differ, the log names the differing JSON paths and says that the stored spec is
used (INFO when only data-set values differ: head units, input channels, species). Every
stored metadata entry (species, species_index, target ids, strand pairs, chromosome names,
...) is kept in ``seqnn.meta``.

Species rule (:func:`resolve_species`): the species channel of a species-conditioned model
is ``species`` when given (a name of the model's species list, or an index), else the model's
stored target species (``species_index``, else ``target_species``, as the trainer writes
them), else index 0 when the model has exactly one species channel; a model with several
species channels that names none is a one-line :class:`~yeastzoi.YeastzoiError` (never a
silent channel 0: Shorkie's R64 is species 109 of 165). Models without species channels
(4 DNA channels, or 4 DNA + mask) give None.

This module is light (no TensorFlow at import); :func:`load_model` imports the network code.
"""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Sequence

from .. import YeastzoiError

log = logging.getLogger(__name__)

META_NAME = "model_meta.json"
#: Metadata derived from the network itself (recomputed on every build, never copied).
COMPUTED_META = ("yeastzoi_version", "seq_length", "num_features", "num_species", "target_length",
                 "pool_width", "crop_bp", "num_targets", "heads", "model_spec")
#: Metadata keys models must share to be averaged in one ensemble.
AGREE_KEYS = ("seq_length", "target_length", "pool_width", "crop_bp", "num_targets",
              "num_features", "target_ids", "species")
#: ``train.task`` values of language models (the trainer records the task in the metadata).
LM_TASKS = ("self-supervised",)


# ----------------------------------------------------------------------------- metadata
def read_meta(path) -> dict | None:
    """Model metadata stored inside a model file (.h5 attribute / .keras archive member),
    else ``model_meta.json`` beside it; None when there is neither."""
    path = Path(path)
    meta = None
    try:
        if path.suffix == ".h5" and path.exists():
            from .weights import read_h5_attr
            meta = read_h5_attr(path, "yeastzoi_meta")
        elif path.suffix == ".keras" and path.exists():
            with zipfile.ZipFile(path) as z:
                if "yeastzoi_meta.json" in z.namelist():
                    meta = json.loads(z.read("yeastzoi_meta.json"))
    except (OSError, zipfile.BadZipFile) as e:   # h5py: truncated / not HDF5; zip: damaged archive
        raise YeastzoiError(f"{path}: not a readable model file ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:80]}); it is truncated or damaged — copy or save it again") from None
    if meta is None and (path.parent / META_NAME).exists():
        from ..fileio import read_json

        side = path.parent / META_NAME
        meta = read_json(side, "model metadata")
        if not isinstance(meta, dict):
            raise YeastzoiError(f"{side}: model metadata must be a JSON object, got {type(meta).__name__}; "
                                "delete it or save the model again")
    return meta


def spec_differences(a, b, path: str = "model") -> list[str]:
    """JSON paths where two specs differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in spec_differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in spec_differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def _model_section(params, overrides=()) -> dict | None:
    """The ``model`` section of ``params``: None, a params.json path, a full params dict or a
    model section itself."""
    if params is None or (isinstance(params, str) and params == "-"):
        return None
    if not isinstance(params, dict):
        from .params import load_params
        params = load_params(params, list(overrides or []))
    return params["model"] if "model" in params else params


# ----------------------------------------------------------------------------- loading
def load_model(path, params=None, overrides=()):
    """Rebuild the network a model file was saved from and load its weights (the one loader;
    see the module docstring for the rule). ``params``: a params.json path or dict (or its
    ``model`` section; ``"-"`` = none), used only when the file stores no spec; ``overrides``:
    ``--set`` JSON paths applied to a params.json path. Returns a
    :class:`~yeastzoi.model.seqnn.SeqNN` with ``seqnn.path`` set."""
    from .params import validate_model
    from .seqnn import SeqNN

    path = Path(path)
    if not path.exists():
        raise YeastzoiError(f"{path}: no such model file")
    meta = read_meta(path) or {}
    stored = meta.get("model_spec")
    params_model = _model_section(params, overrides)
    if stored is None and params_model is None:
        raise YeastzoiError(f"{path}: has no yeastzoi metadata; pass the params.json it was trained with")
    if stored is not None and params_model is not None:
        diff = spec_differences(validate_model(params_model), validate_model(stored))
        if diff:
            # head units / input channels / species are set from the data by the trainer
            data_set = all(d.endswith((".units", "num_features", "species")) for d in diff)
            log.log(logging.INFO if data_set else logging.WARNING,
                    "%s: the spec stored with the model differs from params.json at %s; using "
                    "the stored spec", path, ", ".join(diff[:4]))
    spec = stored if stored is not None else params_model
    keep = {k: v for k, v in meta.items() if k not in COMPUTED_META and v is not None}
    seqnn = SeqNN(spec, num_features=meta.get("num_features"), meta=keep)
    seqnn.restore(path)
    seqnn.path = path
    return seqnn


def load_models(paths: Sequence, params=None, overrides=()) -> list:
    """:func:`load_model` for every path; the models must agree (:func:`check_agreement`)."""
    models = []
    for p in paths:
        models.append(load_model(p, params, overrides))
        m = models[-1].meta
        log.info("model %s: %d bp → %d × %s bp bins, %d tracks", p, m["seq_length"],
                 m["target_length"], m["pool_width"], m["num_targets"])
    check_agreement([m.meta for m in models], [str(p) for p in paths])
    return models


def check_agreement(metas: Sequence[dict], names: Sequence[str]) -> None:
    """One-line YeastzoiError naming the first key of :data:`AGREE_KEYS` where models differ
    (models averaged together must share their input, output and track contract)."""
    if not metas:
        raise YeastzoiError("no model given; pass at least one model file")
    ref = metas[0]
    for meta, name in zip(metas[1:], names[1:]):
        for k in AGREE_KEYS:
            a, b = ref.get(k), meta.get(k)
            if a is not None and b is not None and a != b:
                def show(v):
                    return f"{v[:3]}…({len(v)})" if isinstance(v, list) and len(v) > 3 else v
                raise YeastzoiError(f"{name}: {k} is {show(b)} but {names[0]} has {show(a)}; "
                                    f"models averaged together must share it")


# ----------------------------------------------------------------------------- species
def species_names(meta: dict) -> list[str]:
    sp = meta.get("species")
    return [str(s) for s in sp] if isinstance(sp, (list, tuple)) else []


def num_species(meta: dict) -> int:
    """Species channels of a model's input (``num_features − 5``; 0 without any)."""
    nf = int(meta.get("num_features") or 4)
    return int(meta.get("num_species") or max(nf - 5, 0)) if nf > 5 else 0


def _lookup(choice, names: list[str], n: int, what: str) -> int:
    text = str(choice)
    if text in names:
        return names.index(text)
    if text.lstrip("-").isdigit():
        idx = int(text)
        if 0 <= idx < n:
            return idx
        raise YeastzoiError(f"{what} {idx}: out of range for the model's {n} species channels (0-{n - 1})")
    shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
    raise YeastzoiError(f"{what} '{choice}': not one of the model's species "
                        f"({shown if names else f'no names stored; give an index 0-{n - 1}'})")


def resolve_species(meta: dict, species=None) -> int | None:
    """The species channel index of a model's input (module docstring: the species rule)."""
    n = num_species(meta)
    names = species_names(meta)
    if n == 0:
        if species is not None:
            log.warning("the model has no species channels; --species %s ignored", species)
        return None
    if species is not None:
        idx, how = _lookup(species, names, n, "--species"), "--species"
    elif meta.get("species_index") is not None:
        idx, how = _lookup(meta["species_index"], [], n, "the model's stored species_index"), "model metadata"
    elif meta.get("target_species") is not None:
        idx, how = _lookup(meta["target_species"], names, n, "the model's stored target_species"), "model metadata"
    elif n == 1:
        idx, how = 0, "the model's only species"
    else:
        shown = f" (one of {', '.join(names[:8])}{', …' if len(names) > 8 else ''})" if names else ""
        raise YeastzoiError(f"the model has {n} species channels but its metadata names no target "
                            f"species; pass --species NAME or INDEX{shown}")
    log.info("species channel %d (%s; from %s)", idx, names[idx] if idx < len(names) else "unnamed", how)
    return idx


# ----------------------------------------------------------------------------- model kinds
def is_lm(meta: dict) -> bool:
    """A masked language model: a mask input channel and 4 base probabilities per position."""
    if meta.get("task") in LM_TASKS:
        return True
    return (int(meta.get("num_features") or 4) >= 5 and int(meta.get("num_targets") or 0) == 4
            and meta.get("target_length") is not None
            and int(meta["target_length"]) == int(meta.get("seq_length") or -1))


def check_lm(meta: dict, name: str = "the model") -> None:
    """One-line YeastzoiError unless ``meta`` describes a masked LM (mask input channel,
    (seq_length, 4) base-probability output)."""
    if int(meta.get("num_features") or 4) < 5:
        raise YeastzoiError(f"{name} has no mask channel (num_features < 5); this needs a masked "
                            "language model (e.g. trained from json_params/tiny_lm.json)")
    if not is_lm(meta):
        raise YeastzoiError(f"{name} does not predict a base distribution per input position (output "
                            f"{meta.get('target_length')} × {meta.get('num_targets')}); this needs a "
                            "masked language model")
