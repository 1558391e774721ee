"""Corpus QC figures (matplotlib, written by :func:`yeastzoi.fileio.save_figure`).

Each function draws one PNG and returns its path.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from yeastzoi.fileio import save_figure  # noqa: E402

_DPI = 120


def _save(fig, path) -> Path:
    return save_figure(fig, path, dpi=_DPI)


def plot_histograms(windows: pd.DataFrame, column: str, path, xlabel: str, bins=None) -> Path:
    """One histogram per species (stacked panels) of a per-window column."""
    species = list(dict.fromkeys(windows["species"]))
    show = species[:12]
    fig, axes = plt.subplots(len(show), 1, figsize=(6, 1.4 * len(show) + 0.6), sharex=True, squeeze=False)
    for ax, sp in zip(axes[:, 0], show):
        v = windows.loc[windows["species"] == sp, column].to_numpy()
        ax.hist(v, bins=bins if bins is not None else 30, color="#4477aa")
        if len(v):
            ax.axvline(np.median(v), color="k", lw=1, ls="--")
        ax.set_ylabel("windows", fontsize=8)
        ax.set_title(f"{sp} (median {np.median(v) if len(v) else float('nan'):.3g}, "
                     f"mean {np.mean(v) if len(v) else float('nan'):.3g})", fontsize=8)
    axes[-1, 0].set_xlabel(xlabel)
    return _save(fig, path)


def plot_repeat_components(genomes: pd.DataFrame, path) -> Path:
    """Bars per genome: annotated, soft-masked and DUST repeat fractions and their union."""
    cols = ["repeat_annotated_frac", "repeat_softmask_frac", "repeat_dust_frac", "repeat_frac"]
    labels = ["annotated", "soft-masked", "DUST", "union"]
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(genomes) + 2), 3.5))
    x = np.arange(len(genomes))
    wdt = 0.2
    for i, (c, lab) in enumerate(zip(cols, labels)):
        ax.bar(x + (i - 1.5) * wdt, 100 * genomes[c].to_numpy(float), wdt, label=lab)
    ax.set_xticks(x)
    ax.set_xticklabels(genomes["name"], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("% of genome")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_heatmap(mat: pd.DataFrame, path, label: str = "Mash distance") -> Path:
    """Distance heatmap ordered by UPGMA (average linkage)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform
    names = list(mat.index)
    order = list(range(len(names)))
    if len(names) > 2:
        order = list(leaves_list(linkage(squareform(mat.to_numpy(float), checks=False), "average")))
    m = mat.iloc[order, order]
    fig, ax = plt.subplots(figsize=(0.5 * len(names) + 3, 0.5 * len(names) + 2.5))
    im = ax.imshow(m.to_numpy(float), cmap="viridis")
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels(m.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(m.index, fontsize=7)
    if len(names) <= 12:
        vals = m.to_numpy(float)
        mid = (np.nanmin(vals) + np.nanmax(vals)) / 2
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{vals[i, j]:.3g}", ha="center", va="center", fontsize=6,
                        color="k" if vals[i, j] > mid else "w")
    fig.colorbar(im, ax=ax, label=label)
    return _save(fig, path)


def plot_tree(tree: tuple, path, xlabel: str = "Mash distance") -> Path:
    """Rectangular phylogram of a tree from :func:`rooted_tree`."""
    coords, leaves = {}, []

    def layout(t, x0, key):
        name, bl, kids = t
        x = x0 + bl
        if not kids:
            y = len(leaves)
            leaves.append(name)
        else:
            ys = [layout(k, x, f"{key}.{i}") for i, k in enumerate(kids)]
            y = (min(ys) + max(ys)) / 2
            coords[key + "v"] = (x, min(ys), max(ys))
        coords[key] = (x0, x, y, name if not kids else "")
        return y

    layout(tree, 0.0, "r")
    fig, ax = plt.subplots(figsize=(6, 0.35 * max(len(leaves), 2) + 1))
    xmax = max(v[1] for k, v in coords.items() if not k.endswith("v")) or 1.0
    for k, v in coords.items():
        if k.endswith("v"):
            ax.plot([v[0], v[0]], [v[1], v[2]], color="k", lw=1)
        else:
            x0, x, y, name = v
            ax.plot([x0, x], [y, y], color="k", lw=1)
            if name:
                ax.text(x + 0.01 * xmax, y, name, va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_xlim(0, xmax * 1.35)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    for s in ("top", "right", "left"):
        ax.spines[s].set_visible(False)
    return _save(fig, path)


def plot_grid(grid: pd.DataFrame, path) -> Path:
    """Heatmap of the fraction of train windows aligned to held-out windows, by threshold."""
    fig, ax = plt.subplots(figsize=(1.0 * grid.shape[1] + 2, 0.6 * grid.shape[0] + 1.5))
    im = ax.imshow(100 * grid.to_numpy(float), cmap="magma_r", vmin=0, vmax=100)
    ax.set_xticks(range(grid.shape[1]))
    ax.set_xticklabels(grid.columns, fontsize=7)
    ax.set_yticks(range(grid.shape[0]))
    ax.set_yticklabels(grid.index, fontsize=7)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{100 * grid.iat[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="% of train windows")
    ax.set_title("train windows aligned to valid/test", fontsize=8)
    return _save(fig, path)
