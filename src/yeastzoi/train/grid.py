"""Sweep grids: GRID.json → the list of variants (names, specs, overrides), validated.

    variants = expand_grid("json_params/tiny.json", "grids/tiny_two_variants.json",
                           overrides=["train.train_epochs_max=2"])

**GRID.json** is an object with either or both of

- ``"grid": {PATH: [v1, v2, ...], ...}`` — the Cartesian product of the listed values (the first
  key varies slowest); a variant is named from its values, e.g. ``repeat1_lr0.001``;
- ``"variants": [{"name": ..., "spec": optional params.json, "set": {PATH: value}}]`` — an
  explicit list; ``spec`` replaces BASE.json for that variant (a relative path is looked up
  in the current directory, then in the grid file's folder and each folder above it).

With both, every explicit variant is crossed with the grid (``<name>_<grid name>``). Optional
top-level keys: ``"set"`` (overrides for every variant), ``"num_features"`` (input channels
for the dry-run build, e.g. 170 for a 165-species LM) and ``"description"``. PATHs are the
``--set`` JSON paths of :func:`yeastzoi.model.params.apply_overrides`. Overrides are applied in the
order BASE → command-line ``--set`` → grid ``"set"`` → the variant's own values, and the result
is validated like a params.json; a problem is one line naming the variant.
"""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from .. import YeastzoiError
from ..fileio import read_json

#: short labels for common override keys in generated variant names
ABBREV = {"learning_rate": "lr", "batch_size": "bs", "train_epochs_max": "epochs",
          "steps_per_epoch_max": "steps", "seq_length": "seq", "dropout": "drop",
          "weight_decay": "wd", "l2_scale": "l2", "num_features": "nf", "optimizer": "opt"}
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def read_grid(path) -> dict:
    """Read and check the structure of a GRID.json (one-line errors naming the file)."""
    path = Path(path)
    grid = read_json(path, "grid")
    if not isinstance(grid, dict) or not ("grid" in grid or "variants" in grid):
        raise YeastzoiError(f"{path}: expected an object with \"grid\" ({{PATH: [values]}}) and/or "
                            "\"variants\" ([{\"name\", \"spec\", \"set\"}])")
    known = {"grid", "variants", "set", "num_features", "description"}
    extra = sorted(set(grid) - known)
    if extra:
        raise YeastzoiError(f"{path}: unknown key \"{extra[0]}\"; expected {', '.join(sorted(known))}")
    g = grid.get("grid", {})
    if not isinstance(g, dict) or ("grid" in grid and not g):
        raise YeastzoiError(f"{path}: grid: expected a non-empty object {{PATH: [values]}}")
    for k, vals in g.items():
        if not isinstance(vals, list) or not vals:
            raise YeastzoiError(f"{path}: grid.{k}: expected a non-empty list of values, got {json.dumps(vals)}")
    vs = grid.get("variants", [])
    if not isinstance(vs, list) or ("variants" in grid and not vs):
        raise YeastzoiError(f"{path}: variants: expected a non-empty list of objects")
    for i, v in enumerate(vs):
        if not isinstance(v, dict) or "name" not in v:
            raise YeastzoiError(f"{path}: variants[{i}]: expected an object with a \"name\"")
        if not isinstance(v.get("set", {}), dict):
            raise YeastzoiError(f"{path}: variants[{i}].set: expected an object {{PATH: value}}")
    if not isinstance(grid.get("set", {}), dict):
        raise YeastzoiError(f"{path}: set: expected an object {{PATH: value}}")
    nf = grid.get("num_features")
    if nf is not None and (not isinstance(nf, int) or isinstance(nf, bool) or nf < 4):
        raise YeastzoiError(f"{path}: num_features: expected an int >= 4, got {json.dumps(nf)}")
    return grid


def _value_label(v) -> str:
    text = v if isinstance(v, str) else json.dumps(v)
    text = re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")
    return text or "x"


def _key_labels(keys: list[str]) -> dict[str, str]:
    """Short, distinct labels for grid keys: the last path token (abbreviated); the full path
    (sanitised) where two keys would share a label."""
    from ..model.params import parse_json_path
    short = {}
    for k in keys:
        toks = [t for t in parse_json_path(k) if isinstance(t, str)]
        last = toks[-1] if toks else k
        short[k] = ABBREV.get(last, last)
    counts = {}
    for s in short.values():
        counts[s] = counts.get(s, 0) + 1
    return {k: (s if counts[s] == 1 else re.sub(r"[^A-Za-z0-9]+", "", k.replace("model.", "")))
            for k, s in short.items()}


def grid_points(grid: dict) -> list[tuple[str, dict]]:
    """(name, {PATH: value}) for every point of a ``{PATH: [values]}`` grid, first key slowest."""
    keys = list(grid)
    labels = _key_labels(keys)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        name = "_".join(f"{labels[k]}{_value_label(v)}" for k, v in zip(keys, values))
        out.append((name, dict(zip(keys, values))))
    return out


def _resolve_spec(spec, grid_path: Path) -> Path:
    p = Path(spec)
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path.cwd() / p] + [d / p for d in [grid_path.resolve().parent, *grid_path.resolve().parents]]
    for c in candidates:
        if c.is_file():
            return c
    raise YeastzoiError(f"{grid_path}: spec {spec}: no such file (looked in the current directory and "
                        f"{grid_path.parent} and the folders above it)")


def _set_to_overrides(d: dict) -> list[str]:
    return [f"{k}={json.dumps(v)}" for k, v in d.items()]


def expand_grid(base, grid_path, overrides: list[str] | None = None) -> list[dict]:
    """The variants of a sweep, in order: ``{"name", "spec" (Path), "set" (the variant's own
    overrides), "overrides" (all PATH=VALUE strings in order), "num_features"}``.

    ``base`` is BASE.json (a variant's ``"spec"`` replaces it); ``overrides`` are the
    command-line ``--set`` strings, applied to every variant before the grid's own.
    """
    grid_path = Path(grid_path)
    grid = read_grid(grid_path)
    common = _set_to_overrides(grid.get("set", {}))
    explicit = grid.get("variants") or [{"name": None}]
    points = grid_points(grid["grid"]) if grid.get("grid") else [(None, {})]
    variants, seen = [], {}
    for i, ev in enumerate(explicit):
        name = ev.get("name")
        if name is not None and (not isinstance(name, str) or not _SAFE.match(name)):
            raise YeastzoiError(f"{grid_path}: variants[{i}].name {json.dumps(name)}: use letters, digits, "
                                "'.', '_', '+', '-' (it names the folder OUT/<name>/)")
        spec = _resolve_spec(ev["spec"], grid_path) if ev.get("spec") else Path(base)
        for pname, pset in points:
            full = "_".join(n for n in (name, pname) if n)
            if full in seen:
                raise YeastzoiError(f"{grid_path}: two variants are named {full!r} (variants[{seen[full]}] "
                                    f"and variants[{i}]); names must be unique")
            seen[full] = i
            own = {**ev.get("set", {}), **pset}
            variants.append({"name": full, "spec": spec, "set": own,
                             "overrides": list(overrides or []) + common + _set_to_overrides(own),
                             "num_features": grid.get("num_features"),
                             "expected_params": ev.get("expected_params")})
    return variants


def effective_spec(variant: dict) -> dict:
    """The validated spec of one variant (BASE or its spec, then its overrides)."""
    from ..model.params import load_params
    try:
        return load_params(variant["spec"], variant["overrides"])
    except YeastzoiError as e:
        raise YeastzoiError(f"variant {variant['name']}: {e}") from None

