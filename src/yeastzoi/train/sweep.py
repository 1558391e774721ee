"""Architecture / hyper-parameter sweeps over JSON specs: one folder per variant, a summary.

    variants = expand_grid("json_params/tiny.json", "grids/tiny_two_variants.json",
                           overrides=["train.train_epochs_max=2"])
    prepare(variants, "out/sweep")                 # OUT/<variant>/params.json (+ variant.json)
    rows = dry_run(variants, "out/sweep")          # parameter counts, output shapes
    train_variants(variants, "out/sweep", "data/tracks", jobs=2)
    rows = write_summary(variants, "out/sweep")    # OUT/summary.tsv, OUT/summary.html, figures/

    rows = run_sweep(base, grid, out, data_dirs=[...])   # all of the above

The pieces: :mod:`yeastzoi.train.grid` (GRID.json → variants), :mod:`yeastzoi.train.sweep_run`
(variant folders, training in process or as subprocesses, status and peak memory) and
:mod:`yeastzoi.train.sweep_summary` (model sizes, history statistics, the table, HTML and
figures).
"""
from __future__ import annotations

import logging
from pathlib import Path

from .grid import expand_grid
from .sweep_run import prepare, train_variants
from .sweep_summary import model_size, write_summary

log = logging.getLogger(__name__)


def dry_run(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """Build every variant (no training): writes OUT/summary.tsv + summary.html; returns rows."""
    out_dir = Path(out_dir)
    for v in variants:
        nf = num_features or v.get("num_features")
        s = model_size(out_dir / v["name"], nf)
        log.info("variant %s: %s parameters (%s trainable), trunk output %s, output %s (%.1f s)",
                 v["name"], f"{s['params']:,}", f"{s['trainable']:,}", tuple(s["trunk_output"]),
                 ", ".join(f"{k} {tuple(sh)}" for k, sh in s["outputs"].items()), s["build_seconds"])
    return write_summary(variants, out_dir, num_features=num_features)


def run_sweep(base, grid_path, out_dir, data_dirs=None, jobs: int = 0, dry: bool = False,
              array_index: int | None = None, num_features: int | None = None,
              overrides: list[str] | None = None, **train_kw) -> list[dict]:
    """Expand, prepare, then dry-run (``dry`` or no data) or train; returns the summary rows."""
    variants = expand_grid(base, grid_path, overrides)
    for v in variants:
        if num_features is not None:
            v["num_features"] = num_features
    prepare(variants, out_dir, only=None if array_index is None or dry or not data_dirs else [array_index])
    log.info("%d variants in %s: %s", len(variants), out_dir, ", ".join(v["name"] for v in variants))
    if dry or not data_dirs:
        return dry_run(variants, out_dir, num_features)
    return train_variants(variants, out_dir, data_dirs, jobs=jobs, array_index=array_index, **train_kw)
