"""Genome-browser style plots (matplotlib, Agg): gene models, coverage tracks, sequence
logos, attention heatmaps, motif enrichment bars.

Every ``plot_*`` function draws one figure, writes it atomically to ``path`` (format from the
suffix) and returns the path. Gene models are plain dicts::

    {"name": "RPL3", "strand": "+", "start": 1000, "end": 2200, "exons": [(1000, 2200)]}

in genomic bp (0-based half-open), as :func:`genes_in_window` returns them; for attention
heatmaps convert them to attention-bin coordinates with :func:`genes_to_bins`.

    plot_logo(conservation_df, "out/logo.png")
    plot_tracks(pred, obs, genes, "out/locus.png", start=10_000, bin_bp=16, names=ids)
    plot_attention(maps[0][0], genes_to_bins(genes, window_start, 128), "out/att.png")
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .. import YeastzoiError  # noqa: E402

BASE_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
STRAND_COLORS = {"+": "#1f5fa8", "-": "#b2382c"}


def _save(fig, path, dpi: int = 130) -> Path:
    from ..fileio import save_figure as save
    return save(fig, path, dpi=dpi)


# ----------------------------------------------------------------------------- gene models
def genes_in_window(gtf_df: pd.DataFrame, chrom: str, start: int, end: int) -> list[dict]:
    """Gene models overlapping [start, end) of ``chrom`` from a :func:`yeastzoi.genome.read_gtf`
    table: dicts name, strand, start, end, exons (merged, genomic bp), sorted by start."""
    from ..genome import exons_by_gene, genes_table

    sub = gtf_df[(gtf_df["chrom"] == chrom) & (gtf_df["end"] > start) & (gtf_df["start"] < end)]
    if sub.empty:
        return []
    genes = genes_table(sub)
    exons = exons_by_gene(sub)
    out = []
    for g in genes.itertuples(index=False):
        out.append({"name": str(g.gene_name or g.gene_id), "strand": g.strand, "start": int(g.start),
                    "end": int(g.end), "exons": exons.get(g.gene_id) or [(int(g.start), int(g.end))]})
    return sorted(out, key=lambda g: g["start"])


def genes_to_bins(genes: list[dict], window_start: int, bin_bp: int) -> list[dict]:
    """Gene models with coordinates converted to bins of ``bin_bp`` from ``window_start``
    (floats, so a gene may start mid-bin)."""
    f = lambda x: (x - window_start) / float(bin_bp)  # noqa: E731
    return [{**g, "start": f(g["start"]), "end": f(g["end"]),
             "exons": [(f(s), f(e)) for s, e in g.get("exons", [])]} for g in genes]


def _lanes(genes: list[dict]) -> list[int]:
    """Greedy lane assignment so overlapping genes do not overdraw one another."""
    ends: list[float] = []
    lanes = []
    for g in genes:
        for i, e in enumerate(ends):
            if g["start"] >= e:
                ends[i] = g["end"]
                lanes.append(i)
                break
        else:
            ends.append(g["end"])
            lanes.append(len(ends) - 1)
    return lanes


def draw_genes(ax, genes: list[dict], lo: float, hi: float, vertical: bool = False,
               labels: bool = True) -> None:
    """Draw gene models on ``ax`` between ``lo`` and ``hi`` (same units as the genes):
    intron line, exon boxes, a strand arrow; ``vertical`` draws along the y axis (top to
    bottom = increasing coordinate, as in an image). Overlapping genes go to separate lanes;
    a name is written only where the gene is wide enough to hold it."""
    genes = [g for g in genes if g["end"] > lo and g["start"] < hi]
    lanes = _lanes(genes)
    nl = max(lanes) + 1 if lanes else 1
    span = hi - lo
    for g, lane in zip(genes, lanes):
        col = STRAND_COLORS.get(g["strand"], "0.3")
        y = lane + 0.5
        s, e = max(g["start"], lo), min(g["end"], hi)
        if vertical:
            ax.plot([y, y], [s, e], color=col, lw=1)
        else:
            ax.plot([s, e], [y, y], color=col, lw=1)
        for xs, xe in g.get("exons", [(g["start"], g["end"])]):
            xs, xe = max(xs, lo), min(xe, hi)
            if xe <= xs:
                continue
            if vertical:
                ax.add_patch(plt.Rectangle((y - 0.3, xs), 0.6, xe - xs, color=col, lw=0))
            else:
                ax.add_patch(plt.Rectangle((xs, y - 0.3), xe - xs, 0.6, color=col, lw=0))
        tip = e if g["strand"] == "+" else s
        d = 0.03 * span * (1 if g["strand"] == "+" else -1)
        if g["strand"] in ("+", "-"):
            if vertical:
                ax.annotate("", xy=(y, tip + d), xytext=(y, tip),
                            arrowprops=dict(arrowstyle="-|>", color=col, lw=1))
            else:
                ax.annotate("", xy=(tip + d, y), xytext=(tip, y),
                            arrowprops=dict(arrowstyle="-|>", color=col, lw=1))
        if labels and (e - s) >= 0.013 * span * len(g["name"]):  # skip labels wider than the gene
            mid = (s + e) / 2
            if vertical:
                ax.text(y + 0.45, mid, g["name"], rotation=90, va="center", ha="left", fontsize=6)
            else:
                ax.text(mid, y + 0.42, g["name"], ha="center", va="bottom", fontsize=7)
    if vertical:
        ax.set_xlim(0, nl + 0.5)
        ax.set_ylim(hi, lo)
        ax.set_xticks([])
    else:
        ax.set_ylim(0, nl + 0.4)
        ax.set_xlim(lo, hi)
        ax.set_yticks([])
    for side in ("top", "right", "left") if not vertical else ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


# ----------------------------------------------------------------------------- logo
_GLYPHS: dict = {}


def _glyph(letter: str):
    """Outline of ``letter`` (bold sans) with vertices scaled into the unit square."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MPath
    from matplotlib.textpath import TextPath

    g = _GLYPHS.get(letter)
    if g is None:
        tp = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
        v = tp.vertices.copy()
        lo, hi = v.min(axis=0), v.max(axis=0)
        g = _GLYPHS[letter] = MPath((v - lo) / (hi - lo), tp.codes)
    return g


def draw_logo(ax, heights: np.ndarray, x: np.ndarray, letters: str = "ACGT", colors=None,
              width: float = 0.9) -> None:
    """Stacked letters on ``ax``: column j of ``heights`` (n, len(letters)) is letter j's height
    at ``x``; at each position the tallest letter sits on top. One PatchCollection (fast:
    thousands of glyphs in well under a second)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    colors = colors or BASE_COLORS
    heights = np.asarray(heights, dtype=np.float64)
    patches, faces = [], []
    glyphs = [_glyph(b) for b in letters]
    for i, xi in enumerate(np.asarray(x, dtype=np.float64)):
        y0 = 0.0
        for j in np.argsort(heights[i], kind="stable"):
            h = heights[i, j]
            if not h > 0:
                continue
            g = glyphs[j]
            v = g.vertices * [width, h] + [xi - width / 2, y0]
            patches.append(PathPatch(MPath(v, g.codes)))
            faces.append(colors.get(letters[j], "0.3"))
            y0 += h
    if patches:
        ax.add_collection(PatchCollection(patches, facecolors=faces, edgecolors="none", linewidths=0))


def plot_logo(df: pd.DataFrame, path, panel_bp: int = 100, max_panels: int = 20,
              title: str | None = None, engine: str = "fast") -> Path:
    """Sequence logo of a conservation table (:func:`yeastzoi.interpret.conservation`):
    letter heights = probability × information content (``conservation`` column, bits),
    in panels of ``panel_bp`` bp (one row each). The y axis spans 0-2 bits unless every value
    is below 0.5 bits (a weakly trained LM), when it zooms to the largest value. Regions
    longer than ``panel_bp × max_panels`` are drawn as a conservation line track instead.
    The reference base is written under each position when a panel has ≤ 100 bp.

    ``engine``: "fast" (:func:`draw_logo`) or "logomaker" (same picture, ~10 ms per glyph)."""
    if df.empty:
        raise YeastzoiError("cannot draw a logo of an empty conservation table")
    if engine not in ("fast", "logomaker"):
        raise YeastzoiError(f"logo engine must be 'fast' or 'logomaker', got {engine!r}")
    n = len(df)
    heights = df[["A", "C", "G", "T"]].to_numpy(np.float64) * df["conservation"].to_numpy()[:, None]
    pos = df["pos"].to_numpy()
    chrom = str(df["chrom"].iloc[0])
    logo = n <= panel_bp * max_panels
    step = panel_bp if logo else -(-n // max_panels)
    panels = -(-n // step)
    fig, axes = plt.subplots(panels, 1, figsize=(min(16, 2 + step * 0.13) if logo else 12, 1.5 * panels + 0.4),
                             squeeze=False, gridspec_kw={"hspace": 0.5})
    cmax = float(np.nanmax(df["conservation"].to_numpy()))
    ytop = 2.0 if cmax > 0.5 else max(1.1 * cmax, 1e-6)  # zoom in on a weakly trained LM
    refs = df["ref"].astype(str).to_numpy() if "ref" in df else None
    for k in range(panels):
        ax = axes[k, 0]
        sl = slice(k * step, min(n, (k + 1) * step))
        if logo:
            if engine == "logomaker":
                import logomaker
                mat = pd.DataFrame(heights[sl], columns=list("ACGT"), index=pos[sl])
                logomaker.Logo(mat, ax=ax, color_scheme=BASE_COLORS, show_spines=False)
            else:
                draw_logo(ax, heights[sl], pos[sl])
            ax.set_xlim(pos[sl][0] - 0.5, pos[sl][0] + step - 0.5)
            if refs is not None and step <= 100:
                for xi, b in zip(pos[sl], refs[sl]):
                    ax.text(xi, -0.04, b, transform=ax.get_xaxis_transform(), ha="center", va="top",
                            fontsize=5, color=BASE_COLORS.get(b, "0.3"))
                ax.tick_params(axis="x", pad=9)
        else:
            ax.fill_between(pos[sl], df["conservation"].to_numpy()[sl], color="0.3", lw=0, step="mid")
            ax.set_xlim(pos[sl][0], pos[sl][-1] + 1)
        ax.set_ylim(0, ytop)
        ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_ylabel("bits", fontsize=8)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1, 0].set_xlabel(f"{chrom} position (0-based bp)")
    axes[0, 0].set_title(title or f"LM conservation {chrom}:{pos[0]}-{pos[-1] + 1}", fontsize=9)
    return _save(fig, path)


# ----------------------------------------------------------------------------- attention
def plot_attention(maps, genes: list[dict], path, titles=None, vmax_quantile: float = 0.99,
                   bin_label: str = "attention bin") -> Path:
    """Attention heatmap(s) with gene models along both axes.

    ``maps``: (T, T) or (heads, T, T) weights (row = query, column = key); ``genes``: gene
    models in attention-bin coordinates (see :func:`genes_to_bins`); ``titles``: one per
    map. Colour scale per map up to its ``vmax_quantile`` quantile."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or maps.shape[1] != maps.shape[2]:
        raise YeastzoiError(f"attention maps must be (T, T) or (heads, T, T), got {maps.shape}")
    h, t, _ = maps.shape
    titles = list(titles) if titles is not None else [f"head {i}" for i in range(h)]
    fig = plt.figure(figsize=(5.0 * h, 4.6))
    grid = fig.add_gridspec(2, 4 * h, width_ratios=[1.2, 8, 0.35, 2.4] * h, height_ratios=[1, 8],
                            wspace=0.06, hspace=0.05)
    for i in range(h):
        ax = fig.add_subplot(grid[1, 4 * i + 1])
        vmax = float(np.quantile(maps[i], vmax_quantile)) or None
        im = ax.imshow(maps[i], cmap="viridis", vmin=0, vmax=vmax, extent=(0, t, t, 0),
                       interpolation="nearest", aspect="auto")
        ax.set_xlabel(f"key ({bin_label})", fontsize=8)
        ax.tick_params(labelsize=7, labelleft=False)
        top = fig.add_subplot(grid[0, 4 * i + 1], sharex=ax)
        draw_genes(top, genes, 0, t, labels=True)
        top.tick_params(labelbottom=False)
        top.set_title(titles[i], fontsize=9)
        left = fig.add_subplot(grid[1, 4 * i], sharey=ax)
        draw_genes(left, genes, 0, t, vertical=True, labels=False)
        left.set_ylabel(f"query ({bin_label})", fontsize=8)
        left.tick_params(labelsize=7)
        ax.set_xlim(0, t)
        ax.set_ylim(t, 0)
        fig.colorbar(im, cax=fig.add_subplot(grid[1, 4 * i + 2])).ax.tick_params(labelsize=6)
    return _save(fig, path)


# ----------------------------------------------------------------------------- tracks
def plot_tracks(pred, obs, genes: list[dict], path, start: int = 0, bin_bp: int = 1,
                names=None, chrom: str = "", ylabel="coverage", title: str | None = None) -> Path:
    """Predicted vs observed coverage, one row per track, gene models underneath.

    ``pred``/``obs``: (bins, T) in the same units (``obs`` may be None); bin i covers
    [start + i·bin_bp, +bin_bp) bp; ``genes``: gene models in genomic bp (see
    :func:`genes_in_window`); ``names``: T track names; ``ylabel``: the units (one string for
    every row, or one per track; say how bins were pooled)."""
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 1:
        pred = pred[:, None]
    obs = None if obs is None else np.asarray(obs, dtype=np.float64).reshape(pred.shape[0], -1)
    if obs is not None and obs.shape != pred.shape:
        raise YeastzoiError(f"observed {obs.shape} and predicted {pred.shape} coverage differ in shape")
    nb, nt = pred.shape
    names = list(names) if names is not None else [f"track {i}" for i in range(nt)]
    x = start + np.arange(nb + 1) * bin_bp        # bin edges; the last value is repeated
    end = start + nb * bin_bp
    ylabels = [ylabel] * nt if isinstance(ylabel, str) else list(ylabel)
    if len(ylabels) != nt:
        raise YeastzoiError(f"{len(ylabels)} y labels for {nt} tracks")
    edge = lambda v: np.r_[v, v[-1:]]  # noqa: E731
    fig, axes = plt.subplots(nt + 1, 1, figsize=(10, 1.3 * nt + 1.3), sharex=True,
                             gridspec_kw={"height_ratios": [2] * nt + [1.2]}, squeeze=False)
    for j in range(nt):
        ax = axes[j, 0]
        if obs is not None:
            ax.fill_between(x, edge(obs[:, j]), step="post", color="0.6", lw=0, label="observed")
        ax.step(x, edge(pred[:, j]), where="post", color="#c0392b", lw=0.9, label="predicted")
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabels[j], fontsize=7)
        ax.text(0.005, 0.95, names[j], transform=ax.transAxes, fontsize=8, va="top")
        ax.tick_params(labelsize=7)
        if obs is not None and np.isfinite(obs[:, j]).sum() > 2 and obs[:, j].std() > 0 and pred[:, j].std() > 0:
            r = np.corrcoef(obs[:, j], pred[:, j])[0, 1]
            ax.text(0.995, 0.95, f"R = {r:.2f}", transform=ax.transAxes, fontsize=7, va="top", ha="right")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0, 0].legend(loc="upper center", fontsize=7, frameon=False, ncol=2)
    draw_genes(axes[-1, 0], genes, start, end)
    axes[-1, 0].ticklabel_format(axis="x", useOffset=False, style="plain")
    axes[-1, 0].set_xlabel(f"{chrom} position (bp)" if chrom else "position (bp)")
    axes[-1, 0].set_xlim(start, end)
    if title:
        axes[0, 0].set_title(title, fontsize=9)
    return _save(fig, path)


# ----------------------------------------------------------------------------- motifs
def plot_motif_enrichment(df: pd.DataFrame, path, title: str | None = None) -> Path:
    """Grouped bars of mean conservation in motif sites vs flanks per motif
    (:func:`yeastzoi.interpret.conservation.motif_enrichment`), with n and p-value above each pair."""
    if df.empty:
        raise YeastzoiError("no motif rows to plot")
    k = np.arange(len(df))
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(df) + 1.5), 3.5))
    ax.bar(k - 0.2, df["motif_C"], 0.4, label="motif", color="#c0392b")
    ax.bar(k + 0.2, df["flank_C"], 0.4, label="flank", color="0.6")
    vals = np.r_[df["motif_C"].to_numpy(float), df["flank_C"].to_numpy(float)]
    top = float(np.nanmax(vals)) if np.isfinite(vals).any() and np.nanmax(vals) > 0 else 1.0
    for i, r in enumerate(df.itertuples(index=False)):
        p = "p=n/a" if pd.isna(r.pvalue) else f"p={r.pvalue:.1e}"
        ax.text(i, top * 1.04, f"n={r.n_sites}\n{p}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(k)
    ax.set_xticklabels(df["motif"], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("mean LM conservation (bits)")
    ax.set_ylim(0, top * 1.3)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title or "LM conservation at motif matches vs flanks", fontsize=9)
    return _save(fig, path)
