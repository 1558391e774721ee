"""Chart primitives (matplotlib, Agg backend) that every pipeline stage may use: small
functions taking arrays / DataFrames and a path. A base module like :mod:`yeastzoi.fileio`
(importable from any subpackage); genome-track figures and the demo live in
:mod:`yeastzoi.plots`.

Every function draws one figure, writes it with the one figure writer
:func:`yeastzoi.fileio.save_figure` (atomic; format from the suffix: .png, .pdf, .svg) and
returns the path. Shared helper: :func:`new_figure`.

    violin_by_group(r, groups, "out/violin.png")          # per-track R by track group
    scatter_compare(r_ft, r_scratch, "out/cmp.png", xlabel="fine-tuned", ylabel="scratch")
    grouped_bars(df_regions_by_model, "out/ce.png", ylabel="CE (nats)")  # rows × bar series
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .fileio import save_figure as save  # noqa: E402


def new_figure(width: float = 5.0, height: float = 4.0):
    """(fig, ax) of the given size in inches."""
    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def violin_by_group(values, groups, path, ylabel: str = "Pearson R", title: str | None = None,
                    order=None, points: bool = True) -> Path:
    """Violin of ``values`` per group (one violin per distinct label in ``groups``), with the
    median marked, the per-group count in the tick label and (``points``) jittered points.
    Groups with fewer than 2 finite values are drawn as points only; NaNs are left out."""
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray([str(g) for g in groups])
    labels = list(order) if order is not None else sorted(set(groups.tolist()))
    data = [_finite(values[groups == g]) for g in labels]
    fig, ax = new_figure(max(3.0, 1.0 + 0.9 * len(labels)), 4.0)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        if d.size >= 2 and np.ptp(d) > 0:
            parts = ax.violinplot([d], positions=[i], showmedians=True, widths=0.8)
            for body in parts["bodies"]:
                body.set_alpha(0.5)
        elif d.size:
            ax.hlines(np.median(d), i - 0.3, i + 0.3, color="C0")
        if points and d.size:
            ax.scatter(i + rng.uniform(-0.12, 0.12, d.size), d, s=6, color="k", alpha=0.5, zorder=3)
    ax.set_xticks(range(1, len(labels) + 1))
    ax.set_xticklabels([f"{g}\n(n={d.size})" for g, d in zip(labels, data)], rotation=0)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path)


def scatter_compare(x, y, path, xlabel: str = "model A", ylabel: str = "model B", groups=None,
                    title: str | None = None) -> Path:
    """Scatter of paired per-track values (e.g. fine-tuned vs scratch Pearson R) with the
    diagonal y = x, coloured by ``groups`` when given, and the mean of each axis in the
    legend title. Pairs with a NaN are left out."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x {x.shape} and y {y.shape} must pair up")
    ok = np.isfinite(x) & np.isfinite(y)
    fig, ax = new_figure(4.5, 4.5)
    g = np.asarray([str(v) for v in groups]) if groups is not None else np.full(x.shape, "")
    for k, lab in enumerate(sorted(set(g[ok].tolist()))):
        sel = ok & (g == lab)
        ax.scatter(x[sel], y[sel], s=10, alpha=0.7, color=f"C{k % 10}", label=lab or None)
    if ok.any():
        lo = float(min(x[ok].min(), y[ok].min()))
        hi = float(max(x[ok].max(), y[ok].max()))
        pad = 0.05 * (hi - lo or 1.0)
        lims = (lo - pad, hi + pad)
    else:
        lims = (0.0, 1.0)
    ax.plot(lims, lims, color="grey", lw=1, ls="--", zorder=0)
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if ok.any():
        ax.legend(title=f"mean {np.mean(x[ok]):.3f} vs {np.mean(y[ok]):.3f}", fontsize=7,
                  title_fontsize=8, loc="best")
    return save(fig, path)


def grouped_bars(table, path, ylabel: str = "", title: str | None = None, fmt: str = "{:.3f}") -> Path:
    """Grouped bar chart of a DataFrame: one group of bars per row (index label on the x
    axis), one bar per column (legend), each bar annotated with its value (``fmt``).
    E.g. rows = regions (all / genic / intergenic), columns = LM vs Markov cross-entropy."""
    import pandas as pd
    df = pd.DataFrame(table)
    n_rows, n_cols = df.shape
    fig, ax = new_figure(max(3.5, 1.0 + 1.2 * n_rows), 3.8)
    width = 0.8 / max(n_cols, 1)
    x = np.arange(n_rows)
    for k, col in enumerate(df.columns):
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(pos, np.nan_to_num(vals), width=width, color=f"C{k % 10}", label=str(col))
        for px, v in zip(pos, vals):
            if np.isfinite(v):
                ax.text(px, v, fmt.format(v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels([str(i) for i in df.index])
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    finite = pd.DataFrame(df).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size and finite.max() > 0:
        ax.set_ylim(top=1.25 * finite.max())          # headroom for the labels and the legend
    if n_cols:
        ax.legend(fontsize=8, loc="upper center", ncol=n_cols, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path)
