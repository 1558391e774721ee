"""Sweep summaries: model sizes, history statistics, OUT/summary.tsv, summary.html, figures.

    rows = write_summary(variants, "out/sweep")    # OUT/summary.tsv, OUT/summary.html, figures/

**Status** of a variant (the ``status`` column): ``dry`` (not trained, nothing started),
``finished`` (``done.json``, written by the sweep when training returns, or the trainer's
``test_metrics.json`` exists: it is skipped on a rerun), ``partial`` (a history or
checkpoint but not finished: a rerun resumes it from its checkpoint), ``failed`` (the last
training attempt of this sweep raised or exited non-zero; a rerun retries it).

Figures are drawn with matplotlib and written through :func:`yeastzoi.fileio.save_figure`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path

from .. import YeastzoiError
from ..fileio import save_figure, write_json_atomic, write_text_atomic
from .checkpoints import committed_checkpoint, read_history_rows

log = logging.getLogger(__name__)

STATUSES = ("dry", "finished", "partial", "failed")
_HIGHER_BETTER = ("pearsonr", "r2", "accuracy")


def variant_status(vdir) -> str:
    """dry | finished | partial | failed (see the module docstring)."""
    vdir = Path(vdir)
    if (vdir / "done.json").exists() or (vdir / "test_metrics.json").exists():
        return "finished"
    run = vdir / "sweep_run.json"
    if run.exists() and json.loads(run.read_text()).get("status") == "failed":
        return "failed"
    if (vdir / "history.csv").exists() or (vdir / "checkpoints" / "latest").exists():
        return "partial"
    return "dry"


def _spec_hash(model_spec: dict, num_features) -> str:
    text = json.dumps({"model": model_spec, "nf": num_features}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def model_size(vdir, num_features=None) -> dict:
    """Parameter counts and output shapes of ``vdir/params.json``'s model (built symbolically),
    cached in ``vdir/model_size.json`` for as long as the spec and num_features are unchanged.

    num_features: the trained model's (``model_meta.json``) when it exists, else this value,
    else the spec's, else 4."""
    import keras
    from ..model.seqnn import SeqNN
    vdir = Path(vdir)
    spec = json.loads((vdir / "params.json").read_text())["model"]
    meta_path = vdir / "model_meta.json"
    if meta_path.exists():
        num_features = json.loads(meta_path.read_text()).get("num_features") or num_features
    if spec.get("num_features") is not None:
        num_features = None if num_features in (None, spec["num_features"]) else num_features
    key = _spec_hash(spec, num_features)
    cache = vdir / "model_size.json"
    if cache.exists():
        c = json.loads(cache.read_text())
        if c.get("hash") == key:
            return c
    t0 = time.time()
    try:
        seqnn = SeqNN(spec, num_features=num_features)
    except YeastzoiError as e:
        raise YeastzoiError(f"variant {vdir.name}: {e}") from None
    out = {"hash": key, "num_features": seqnn.num_features, "params": seqnn.num_params,
           "trainable": seqnn.num_trainable,
           "trunk_output": list(seqnn.model_trunk.output.shape[1:]),
           "outputs": {k: list(m.output.shape[1:]) for k, m in zip(seqnn.head_keys, seqnn.models)},
           "build_seconds": round(time.time() - t0, 2)}
    del seqnn
    keras.backend.clear_session()
    write_json_atomic(cache, out)
    return out


def _number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def read_history(path) -> list[dict]:
    """history.csv rows with numeric values as floats."""
    return [{k: _number(v) for k, v in r.items()} for r in read_history_rows(path)]


def history_stats(history: list[dict], best_epoch_hint: int | None = None) -> dict:
    """Best valid loss (and its epoch), best of each valid metric (max for Pearson R, R²,
    accuracy; min otherwise), epochs, and seconds per step = Σ seconds / Σ steps (each
    epoch's seconds include its validation).

    history.csv holds 6 significant digits, so several epochs may tie at the minimum; then
    ``best_epoch_hint`` (the trainer's own best epoch, 1-based) picks among them, else the first."""
    if not history:
        return {}
    out = {"epochs": int(max(r["epoch"] for r in history))}
    low = min(r["valid_loss"] for r in history)
    tied = [int(r["epoch"]) for r in history if r["valid_loss"] == low]
    out["best_epoch"] = best_epoch_hint if best_epoch_hint in tied else tied[0]
    out["best_valid_loss"] = low
    for k in history[0]:
        if k.startswith("valid_") and k != "valid_loss":
            vals = [r[k] for r in history if isinstance(r.get(k), float) and math.isfinite(r[k])]
            if vals:
                hib = any(k.endswith(m) for m in _HIGHER_BETTER)
                out[f"best_{k}"] = max(vals) if hib else min(vals)
    steps = sum(r.get("steps", 0) or 0 for r in history)
    secs = sum(r.get("seconds", 0) or 0 for r in history)
    out["seconds_per_step"] = secs / steps if steps else None
    return out


def _metric_column(rows: list[dict]) -> str | None:
    for m in ("best_valid_pearsonr", "best_valid_accuracy", "best_valid_r2"):
        if any(r.get(m) is not None for r in rows):
            return m
    return "best_valid_loss" if any(r.get("best_valid_loss") is not None for r in rows) else None


def summary_rows(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """One dict per variant: overrides, parameters, history statistics, memory, status."""
    out_dir = Path(out_dir)
    rows = []
    for i, v in enumerate(variants):
        vdir = out_dir / v["name"]
        row = {"index": i, "variant": v["name"], "spec": Path(v["spec"]).name,
               "overrides": "; ".join(f"{k}={json.dumps(x)}" for k, x in v["set"].items())}
        if (vdir / "params.json").exists():
            s = model_size(vdir, num_features or v.get("num_features"))
            row.update(params=s["params"], trainable=s["trainable"], num_features=s["num_features"],
                       output_shape=" ".join(f"{'x'.join(map(str, sh))}" for sh in s["outputs"].values()))
        row["status"] = variant_status(vdir)
        if (vdir / "history.csv").exists():
            row.update(history_stats(read_history(vdir / "history.csv"), _trainer_best_epoch(vdir)))
        run = vdir / "sweep_run.json"
        if run.exists():
            r = json.loads(run.read_text())
            row.update(peak_rss_mb=r.get("peak_rss_mb"), peak_rss_method=r.get("peak_rss_method"),
                       wall_seconds=r.get("wall_seconds"))
            if row["status"] == "failed":
                row["error"] = r.get("error")
        rows.append(row)
    return rows


def _trainer_best_epoch(vdir: Path) -> int | None:
    """The 1-based best epoch in the trainer's committed checkpoint, if any."""
    try:
        committed = committed_checkpoint(vdir)
    except YeastzoiError:
        return None
    if committed is None or committed.state.get("best_epoch") is None:
        return None
    return int(committed.state["best_epoch"]) + 1


COLUMNS = ["index", "variant", "spec", "overrides", "params", "trainable", "num_features", "output_shape",
           "status", "epochs", "best_epoch", "best_valid_loss"]
TAIL = ["seconds_per_step", "wall_seconds", "peak_rss_mb", "peak_rss_method", "error"]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_summary(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """OUT/summary.tsv, OUT/summary.html and OUT/figures/*.png from the variants' folders."""
    import pandas as pd
    from ..report import HtmlReport
    out_dir = Path(out_dir)
    rows = summary_rows(variants, out_dir, num_features)
    metrics = sorted({k for r in rows for k in r if k.startswith("best_valid_") and k != "best_valid_loss"})
    cols = [c for c in COLUMNS + metrics + TAIL if c in COLUMNS or any(r.get(c) is not None for r in rows)]
    lines = ["\t".join(cols)] + ["\t".join(_fmt(r.get(c)) for c in cols) for r in rows]
    write_text_atomic(out_dir / "summary.tsv", "\n".join(lines) + "\n")

    rep = HtmlReport(f"yeastzoi sweep: {out_dir.name}")
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    rep.paragraph(f"{len(rows)} variants: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    rep.table(df, float_format="{:.4g}")
    rep.paragraph("best_valid_loss: minimum over epochs of history.csv's valid_loss (epoch best_epoch); "
                  "best_valid_<metric>: maximum (Pearson R, R², accuracy) or minimum (others) over epochs; "
                  "seconds_per_step: Σ seconds / Σ steps of history.csv (includes validation); peak_rss_mb: "
                  "peak resident memory of the training run (method in peak_rss_method).", note=True)
    figs = plot_summary(rows, out_dir, variants)
    for path, caption in figs:
        rep.figure(path, caption)
    rep.write(out_dir / "summary.html")
    log.info("wrote %s and %s", out_dir / "summary.tsv", out_dir / "summary.html")
    return rows


def _short_count(x, _pos=None) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.0f}"


def _new_axes(width: float = 5.5, height: float = 4.0):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _plot_metric_vs_params(pts: list[dict], metric: str, path: Path) -> Path:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator
    fig, ax = _new_axes()
    for r in pts:
        ax.scatter(r["params"], r[metric], s=25)
        ax.annotate(r["variant"], (r["params"], r[metric]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    uniq = sorted({r["params"] for r in pts})
    if len(uniq) <= 8:                 # label the variants' own sizes (a narrow range has no decades)
        ax.xaxis.set_major_locator(FixedLocator(uniq))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_short_count))
    ax.set_xlim(uniq[0] / 1.3, uniq[-1] * 1.3)
    ax.set_xlabel("parameters")
    ax.set_ylabel(metric)
    return save_figure(fig, path)


def _plot_learning_curves(curves: list[tuple[str, list[dict]]], path: Path) -> Path:
    from matplotlib.ticker import MaxNLocator
    fig, ax = _new_axes()
    for name, h in curves:
        ax.plot([r["epoch"] for r in h], [r["valid_loss"] for r in h], marker="o", ms=3, label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_xlabel("epoch")
    ax.set_ylabel("valid loss")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_summary(rows: list[dict], out_dir, variants) -> list[tuple[Path, str]]:
    """metric_vs_params.png and learning_curves.png (when any variant has a history)."""
    out_dir = Path(out_dir)
    figs = []
    metric = _metric_column(rows)
    pts = [r for r in rows if metric and r.get(metric) is not None and r.get("params")]
    if pts:
        figs.append((_plot_metric_vs_params(pts, metric, out_dir / "figures" / "metric_vs_params.png"),
                     f"{metric} vs number of parameters (log scale), one point per trained variant."))
    curves = [(v["name"], out_dir / v["name"] / "history.csv") for v in variants]
    curves = [(n, read_history(p)) for n, p in curves if p.exists()]
    if curves:
        figs.append((_plot_learning_curves(curves, out_dir / "figures" / "learning_curves.png"),
                     "Validation loss per epoch, one line per variant."))
    return figs


def format_table(rows: list[dict]) -> str:
    """A plain-text table of the main summary columns (for the command line)."""
    cols = [c for c in ("variant", "params", "trainable", "output_shape", "status", "epochs", "best_valid_loss",
                        "seconds_per_step", "peak_rss_mb") if any(r.get(c) is not None for r in rows)]

    def cell(r, c):
        v = r.get(c)
        if isinstance(v, int) and c in ("params", "trainable"):
            return f"{v:,}"
        return _fmt(v)

    cells = [[c for c in cols]] + [[cell(r, c) for c in cols] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
    return "\n".join("  ".join(x.ljust(w) if j == 0 else x.rjust(w) for j, (x, w) in enumerate(zip(row, widths)))
                     for row in cells)

