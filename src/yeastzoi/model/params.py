"""Load, override, fill and validate baskerville-format ``params.json`` specs.

A spec is ``{"train": {...}, "model": {...}}``. Every problem is reported as one line that
names the JSON path, e.g. ``model.trunk[3].kernel_size: expected int, got "3"``.
Unknown keys are errors that suggest the nearest valid key (``train.learning_rat: unknown
key; did you mean "learning_rate"?``): the top level takes ``train``, ``model`` and
``description``; ``model`` the keys of :data:`MODEL_TYPES` plus ``head`` / ``head_<name>``;
``train`` the keys of :data:`TRAIN_TYPES` plus the baskerville keys yeastzoi accepts but does
not use (:data:`BASKERVILLE_TRAIN_KEYS`). Counts in ``train`` must be at least
:data:`TRAIN_MINIMUM` (``batch_size >= 1``, ...) and ``learning_rate`` positive.
Block parameters are validated against the type annotations of the registered builders
(:mod:`yeastzoi.model.blocks`); whether a block's output can feed the next is checked by
building the model symbolically (:func:`yeastzoi.model.seqnn.SeqNN`), which reports the block's
JSON path too.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import json
import re
from pathlib import Path

from .. import YeastzoiError
from ..fileio import read_json
from .blocks import BLOCKS, block_parameters, get_block, keras_layer_class

MODEL_TYPES = {
    "seq_length": "int", "num_features": "int", "augment_rc": "bool", "augment_shift": "int",
    "activation": "str | None", "norm_type": "str | None", "bn_momentum": "float",
    "kernel_initializer": "str", "l2_scale": "float", "l1_scale": "float", "padding": "str",
    "trunk": "list", "head": "dict | list", "strand_pair": "list | None", "description": "str",
    "species": "list | None", "seq_depth": "int",
}

TRAIN_TYPES = {
    "task": "str", "batch_size": "int", "shuffle_buffer": "int", "optimizer": "str",
    "learning_rate": "float", "loss": "str", "mask_rate": "float", "warmup_steps": "int",
    "global_clipnorm": "float | None", "clip_norm": "float | None", "adam_beta1": "float",
    "adam_beta2": "float", "momentum": "float", "weight_decay": "float", "patience": "int",
    "train_epochs_min": "int", "train_epochs_max": "int", "steps_per_epoch_max": "int | None",
    "total_weight": "float", "exon_loss_scale": "float", "non_exon_loss_scale": "float",
    "repeat_loss_scale": "float", "non_repeat_loss_scale": "float", "use_bert": "bool",
    "repeat_eval": "int", "decay_steps": "int | None", "decay_rate": "float | None",
    "seed": "int | None", "eval_steps_max": "int | None", "markov_order": "int",
    "library_weight": "float", "library_batch_size": "int | None",
}
#: baskerville / baskerville-yeast train keys that yeastzoi accepts (so their specs load
#: unchanged) but does not use: data-reader flags, multi-GPU count, cyclical schedules,
#: other losses' weights.
BASKERVILLE_TRAIN_KEYS = (
    "shuffle_records", "has_targets", "has_label", "has_mask", "has_repeat_mask",
    "annotation_loss_weight", "exon_mut_rate", "num_gpu", "spec_weight", "clipnorm", "agc_clip",
    "initial_learning_rate", "maximal_learning_rate", "final_learning_rate", "train_epochs_cycle1",
)
#: smallest allowed value of numeric train keys (a null stays allowed where the type says so)
TRAIN_MINIMUM = {
    "batch_size": 1, "shuffle_buffer": 1, "train_epochs_max": 1, "train_epochs_min": 0,
    "steps_per_epoch_max": 1, "eval_steps_max": 1, "repeat_eval": 1, "patience": 0,
    "warmup_steps": 0, "decay_steps": 1, "markov_order": 0, "library_weight": 0, "library_batch_size": 3,
}
#: train keys that must be strictly positive
TRAIN_POSITIVE = ("learning_rate",)
TOP_KEYS = ("train", "model", "description")
TASKS = ("self-supervised", "supervised", "fine-tune")
LOSSES = ("mlm", "poisson", "poisson_mn", "mse")
OPTIMIZERS = ("adam", "adamw", "sgd")

TRAIN_DEFAULTS = {
    "task": "supervised", "batch_size": 4, "shuffle_buffer": 128, "optimizer": "adam",
    "learning_rate": 1e-4, "loss": "poisson", "mask_rate": 0.15, "warmup_steps": 0,
    "global_clipnorm": None, "adam_beta1": 0.9, "adam_beta2": 0.999, "momentum": 0.99,
    "weight_decay": 0.0, "patience": 20, "train_epochs_min": 1, "train_epochs_max": 1000,
    "steps_per_epoch_max": None, "total_weight": 1.0, "exon_loss_scale": 1.0,
    "non_exon_loss_scale": 1.0, "repeat_loss_scale": 1.0, "non_repeat_loss_scale": 1.0,
    "use_bert": True, "repeat_eval": 1,
}
MODEL_DEFAULTS = {"augment_rc": False, "augment_shift": 0}


def _type_names(annotation) -> set[str]:
    if annotation is inspect.Parameter.empty:
        return set()
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return {t.strip() for t in text.replace("Optional[", "").replace("]", "").split("|")}


def _matches(value, types: set[str]) -> bool:
    if not types:
        return True
    for t in types:
        if t == "None" and value is None:
            return True
        if t == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t == "str" and isinstance(value, str):
            return True
        if t == "bool" and isinstance(value, bool):
            return True
        if t == "list" and isinstance(value, list):
            return True
        if t == "dict" and isinstance(value, dict):
            return True
    return False


def _check_type(path: str, value, types) -> None:
    types = _type_names(types) if not isinstance(types, set) else types
    if not _matches(value, types):
        expected = " or ".join(sorted(t if t != "None" else "null" for t in types))
        raise YeastzoiError(f"{path}: expected {expected}, got {json.dumps(value)}")


def unknown_key(path: str, key: str, allowed) -> YeastzoiError:
    """The one-line error for an unknown key at ``path``, suggesting the nearest allowed key."""
    allowed = sorted(set(allowed))
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    where = f"{path}.{key}" if path else key
    if near:
        return YeastzoiError(f"{where}: unknown key; did you mean \"{near[0]}\"?")
    return YeastzoiError(f"{where}: unknown key; expected one of {', '.join(allowed)}")


def validate_block(block, path: str) -> None:
    """Validate one block dict of a trunk/head against its builder's signature."""
    if not isinstance(block, dict):
        raise YeastzoiError(f"{path}: expected a block object with a \"name\", got {json.dumps(block)}")
    if "name" not in block:
        raise YeastzoiError(f"{path}.name: missing required key (the block type, e.g. \"conv_dna\")")
    name = block["name"]
    if not isinstance(name, str):
        raise YeastzoiError(f"{path}.name: expected str, got {json.dumps(name)}")
    if name[:1].islower():
        if name not in BLOCKS:
            raise YeastzoiError(f"{path}.name: unknown block \"{name}\"; registered blocks: "
                                f"{', '.join(sorted(BLOCKS))}")
        fn = get_block(name)
        params = block_parameters(fn)
        accepts_any = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())
        for key, value in block.items():
            if key == "name":
                continue
            if key not in params:
                if accepts_any:
                    continue
                near = difflib.get_close_matches(key, list(params), n=1, cutoff=0.6)
                hint = f"did you mean \"{near[0]}\"? " if near else ""
                raise YeastzoiError(f"{path}.{key}: unknown parameter for block \"{name}\"; "
                                    f"{hint}(expected one of {', '.join(params)})")
            _check_type(f"{path}.{key}", value, params[key].annotation)
        for key, p in params.items():
            if p.default is inspect.Parameter.empty and key not in block:
                raise YeastzoiError(f"{path}.{key}: missing required key for block \"{name}\"")
    else:
        try:
            cls = keras_layer_class(name)
        except YeastzoiError:
            raise YeastzoiError(f"{path}.name: unknown block \"{name}\" (capitalised names are "
                                f"Keras layers such as Conv1D, Cropping1D, Dense)") from None
        sig = inspect.signature(cls.__init__).parameters
        accepts_any = any(p.kind == p.VAR_KEYWORD for p in sig.values())
        for key in block:
            if key != "name" and key not in sig and not accepts_any:
                raise YeastzoiError(f"{path}.{key}: unknown argument of keras.layers.{name}")


def head_keys(model: dict) -> list[str]:
    """Keys of the heads in spec order: ``head`` and/or ``head_*``."""
    return [k for k in model if k == "head" or k.startswith("head_")]


def head_blocks(model: dict, key: str) -> list[dict]:
    head = model[key]
    return head if isinstance(head, list) else [head]


def validate_model(model: dict, path: str = "model") -> dict:
    """Validate a ``model`` dict in place-free fashion; returns a filled copy."""
    if not isinstance(model, dict):
        raise YeastzoiError(f"{path}: expected an object, got {json.dumps(model)[:60]}")
    for key in ("seq_length", "trunk"):
        if key not in model:
            raise YeastzoiError(f"{path}.{key}: missing required key")
    heads = head_keys(model)
    if not heads:
        raise YeastzoiError(f"{path}.head: missing required key (a \"head\" or \"head_<name>\" block)")
    for key, value in model.items():
        if key in MODEL_TYPES:
            _check_type(f"{path}.{key}", value, MODEL_TYPES[key])
        elif key.startswith("head_"):
            _check_type(f"{path}.{key}", value, "dict | list")
        elif key != "head":
            raise unknown_key(path, key, [*MODEL_TYPES, "head", "head_<name>"])
    if model["seq_length"] <= 0:
        raise YeastzoiError(f"{path}.seq_length: must be positive, got {model['seq_length']}")
    nf = model.get("num_features")
    if nf is not None and nf < 4:
        raise YeastzoiError(f"{path}.num_features: must be >= 4 (A,C,G,T [+ mask + species]), got {nf}")
    for i, block in enumerate(model["trunk"]):
        validate_block(block, f"{path}.trunk[{i}]")
    for key in heads:
        blocks = head_blocks(model, key)
        for i, block in enumerate(blocks):
            validate_block(block, f"{path}.{key}" + (f"[{i}]" if isinstance(model[key], list) else ""))
    filled = {**MODEL_DEFAULTS, **copy.deepcopy(model)}
    check_activations(filled, path)
    check_pooling(filled, path)
    return filled


#: activation names every block understands besides keras.activations' own
EXTRA_ACTIVATIONS = ("linear", "gelu", "exp", "softmax")


def check_activations(model: dict, path: str = "model") -> None:
    """Every ``activation`` (global and per block) names a known function (one-line error
    listing the valid names)."""
    import keras

    def known(name):
        if name is None or name in EXTRA_ACTIVATIONS:
            return True
        try:
            keras.activations.get(name)
            return True
        except (ValueError, TypeError):
            return False

    blocks = [(f"{path}.trunk[{i}]", b) for i, b in enumerate(model["trunk"])]
    for key in head_keys(model):
        multi = isinstance(model[key], list)
        blocks += [(f"{path}.{key}" + (f"[{i}]" if multi else ""), b) for i, b in enumerate(head_blocks(model, key))]
    for where, spec in [(path, model), *blocks]:
        name = spec.get("activation")
        if isinstance(name, str) and not known(name):
            valid = sorted(set(EXTRA_ACTIVATIONS) | {n for n in dir(keras.activations)
                                                     if not n.startswith("_") and n.islower() and n not in
                                                     ("get", "serialize", "deserialize")})
            raise YeastzoiError(f"{where}.activation: unknown activation \"{name}\"; valid: {', '.join(valid)}")


def check_pooling(model: dict, path: str = "model") -> None:
    """seq_length must divide by the trunk's total pooling (towers pool once per repeat,
    other blocks once), or the U-Net skips cannot line up; Cropping1D must leave bins."""
    total, parts, length = 1, [], int(model["seq_length"])
    for i, b in enumerate(model["trunk"]):
        pool = int(b.get("pool_size", 2 if b.get("name") in ("res_tower", "conv_tower") else 1) or 1)
        times = int(b.get("repeat", 1)) if b.get("name") in ("res_tower", "conv_tower") else 1
        if pool > 1:
            total *= pool ** times
            parts.append(f"trunk[{i}] {b['name']}: pool {pool}" + (f" × {times} repeats" if times > 1 else ""))
            if length % total:
                raise YeastzoiError(f"{path}.seq_length: {length} bp is not divisible by the trunk's total pooling "
                                    f"{total} ({'; '.join(parts)}); use a multiple of {total}")
    # lengths through the trunk: pooled by the towers, doubled by each unet_conv, cropped by Cropping1D
    cur, ups = length, 0
    for i, b in enumerate(model["trunk"]):
        name = b.get("name")
        if name in ("res_tower", "conv_tower", "conv_dna", "conv_block", "conv_nac"):
            pool = int(b.get("pool_size", 2 if name in ("res_tower", "conv_tower") else 1) or 1)
            times = int(b.get("repeat", 1)) if name in ("res_tower", "conv_tower") else 1
            cur //= max(pool, 1) ** times
        elif name == "unet_conv":
            cur *= int(b.get("stride", 2))
            ups += 1
        elif name == "Cropping1D":
            c = b.get("cropping", 1)
            left, right = (c, c) if isinstance(c, int) else (int(c[0]), int(c[1]))
            if left + right >= cur:
                raise YeastzoiError(f"{path}.trunk[{i}].cropping: {left} + {right} bins cropped from the {cur} bins "
                                    f"that reach it leaves none; crop at most {(cur - 1) // 2} per side")
            cur -= left + right


def validate_train(train: dict, path: str = "train") -> dict:
    if not isinstance(train, dict):
        raise YeastzoiError(f"{path}: expected an object")
    for key, value in train.items():
        if key in TRAIN_TYPES:
            _check_type(f"{path}.{key}", value, TRAIN_TYPES[key])
        elif key not in BASKERVILLE_TRAIN_KEYS:
            raise unknown_key(path, key, [*TRAIN_TYPES, *BASKERVILLE_TRAIN_KEYS])
    _check_ranges(train, path)
    for key, allowed in (("task", TASKS), ("loss", LOSSES), ("optimizer", OPTIMIZERS)):
        if key in train and train[key] not in allowed:
            raise YeastzoiError(f"{path}.{key}: \"{train[key]}\" is not one of {', '.join(allowed)}")
    filled = {**TRAIN_DEFAULTS, **copy.deepcopy(train)}
    if "task" not in train and train.get("loss") == "mlm":
        filled["task"] = "self-supervised"
    return filled


def _check_ranges(train: dict, path: str) -> None:
    for key, low in TRAIN_MINIMUM.items():
        value = train.get(key)
        if value is not None and value < low:
            raise YeastzoiError(f"{path}.{key}: must be >= {low}, got {json.dumps(value)}")
    for key in TRAIN_POSITIVE:
        if key in train and not train[key] > 0:
            raise YeastzoiError(f"{path}.{key}: must be > 0, got {json.dumps(train[key])}")
    if "mask_rate" in train and not 0 <= train["mask_rate"] < 1:
        raise YeastzoiError(f"{path}.mask_rate: must be in [0, 1), got {json.dumps(train['mask_rate'])}")


def validate(params: dict, source: str = "params") -> dict:
    """Validate a whole spec; returns a filled deep copy ``{"train": ..., "model": ...}``."""
    if not isinstance(params, dict):
        raise YeastzoiError(f"{source}: expected a JSON object with \"model\" (and \"train\")")
    for key in params:
        if key not in TOP_KEYS:
            raise unknown_key("", key, TOP_KEYS)
    if "model" not in params:
        raise YeastzoiError(f"{source}: model: missing required key")
    out = copy.deepcopy(params)
    out["model"] = validate_model(params["model"])
    out["train"] = validate_train(params.get("train", {}))
    return out


def load_params(path, overrides: list[str] | None = None) -> dict:
    """Read, override (``--set`` strings) and validate a params.json; returns the filled spec.

    Errors name the file: ``params.json: model.trunk[3].kernel_size: expected int, got "3"``.
    """
    path = Path(path)
    raw = read_json(path, "params")
    try:
        if overrides:
            raw = apply_overrides(raw, overrides)
        return validate(raw)
    except YeastzoiError as e:
        raise YeastzoiError(f"{path}: {e}") from None


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_json_path(path: str) -> list:
    """``model.trunk[2].repeat`` → ["model", "trunk", 2, "repeat"]."""
    tokens, pos = [], 0
    for m in _TOKEN.finditer(path):
        between = path[pos:m.start()]
        if between not in ("", "."):
            raise YeastzoiError(f"--set {path}: cannot parse the path near {between!r}")
        tokens.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not tokens:
        raise YeastzoiError(f"--set {path}: cannot parse the path")
    return tokens


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(params: dict, overrides: list[str]) -> dict:
    """Apply ``PATH=VALUE`` overrides (VALUE parsed as JSON, else a string) to a copy.

    The parent of PATH must exist; the last key may be new only inside a dict (it is then
    validated like the file itself). A list index must exist.
    """
    out = copy.deepcopy(params)
    for item in overrides:
        if "=" not in item:
            raise YeastzoiError(f"--set {item}: expected PATH=VALUE, e.g. train.learning_rate=2e-5")
        path, text = item.split("=", 1)
        tokens = parse_json_path(path.strip())
        node, walked = out, ""
        for tok in tokens[:-1]:
            walked = f"{walked}[{tok}]" if isinstance(tok, int) else (f"{walked}.{tok}" if walked else tok)
            node = _descend(node, tok, walked, path)
        last = tokens[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or not -len(node) <= last < len(node):
                raise YeastzoiError(f"--set {path}: index [{last}] does not exist")
        elif not isinstance(node, dict):
            raise YeastzoiError(f"--set {path}: {walked or 'top level'} is not an object")
        node[last] = _parse_value(text.strip())
    return out


def _descend(node, tok, walked, path):
    if isinstance(tok, int):
        if not isinstance(node, list) or not -len(node) <= tok < len(node):
            raise YeastzoiError(f"--set {path}: {walked} does not exist")
        return node[tok]
    if not isinstance(node, dict) or tok not in node:
        raise YeastzoiError(f"--set {path}: {walked} does not exist")
    return node[tok]
