"""Files of the sequence-edit scorers (:mod:`yeastzoi.score.edits`): ISM h5, per-edit tables
(h5 and long TSV), the ISM logo/heatmap and the deletion-scan figure, and the inserts reader.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, save_figure
from ..genome.dna import codes_to_seq
from .results import h5_attr, h5_float16, h5_strings


def write_ism_h5(path, res) -> Path:
    """ISM result (:func:`yeastzoi.score.edits.ism`) → h5: ref codes/sequence, target ids/labels,
    one (positions × 4 × targets) float16 dataset per statistic, settings as attributes."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("ref_codes", data=np.asarray(res.ref, np.uint8))
            h5.create_dataset("ref_seq", data=codes_to_seq(res.ref))
            h5.create_dataset("target_ids", data=h5_strings(res.target_ids))
            h5.create_dataset("target_labels", data=h5_strings(res.target_labels))
            for s, arr in res.scores.items():
                h5.create_dataset(s, data=h5_float16(arr))
            for k, v in res.attrs.items():
                h5.attrs[k] = h5_attr(v)
    return Path(path)


def plot_ism(res, path, stat: str, tracks: list[int] | None = None, title: str = "") -> Path:
    """Logo (height of the reference base = −mean effect of its 3 alternatives) above a
    heatmap of every substitution's effect, averaged over ``tracks`` (default all)."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = res.scores[stat]
    cols = list(range(arr.shape[-1])) if tracks is None else list(tracks)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eff = np.nanmean(arr[..., cols], axis=-1)                   # (P, 4)
    ref = res.ref
    P = len(ref)
    logo = np.zeros((P, 4))
    for k in range(P):
        if ref[k] < 4:
            logo[k, ref[k]] = -np.nansum(eff[k]) / 3.0
    start = int(res.attrs["start"])
    df = pd.DataFrame(logo, columns=list("ACGT"), index=np.arange(start, start + P))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(6, P / 12), 4), sharex=False,
                                 gridspec_kw={"height_ratios": [1.3, 1]})
    logomaker.Logo(df, ax=a1, color_scheme="classic")
    a1.set_ylabel(f"−mean {stat}")
    a1.set_title(title or f"ISM {res.attrs['chrom']}:{start}-{start + P}", fontsize=9)
    lim = np.nanmax(np.abs(eff)) or 1.0
    im = a2.imshow(eff.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(start - 0.5, start + P - 0.5, 3.5, -0.5))
    a2.set_yticks(range(4), list("ACGT"))
    a2.set_xlabel("position (0-based)")
    fig.colorbar(im, ax=a2, fraction=0.03, label=stat)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def plot_deletion_scan(tiles: pd.DataFrame, scores: dict, gene, path, stat: str,
                       tracks: list[int] | None = None) -> Path:
    """Effect of each deleted tile (mean over ``tracks``) along the chromosome, exons drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = scores[stat]
    cols = list(range(arr.shape[-1])) if tracks is None else list(tracks)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = np.nanmean(arr[:, cols], axis=1)
    x = (tiles["start"] + tiles["end"]) / 2
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(x, y, width=(tiles["end"] - tiles["start"]).min() * 0.9,
           color=np.where(tiles["overlaps_exon"], "0.6", "tab:blue"))
    for s, e in gene.exons:
        ax.axvspan(s, e, color="tab:orange", alpha=0.25, lw=0)
    ax.axvline(gene.tss, color="tab:red", lw=0.8, ls="--")
    ax.axhline(0, color="0.3", lw=0.6)
    ax.set_xlabel(f"{gene.chrom} position (tile centre)")
    ax.set_ylabel(f"{stat} of {gene.gene_name or gene.gene_id}")
    ax.set_title(f"deletion scan around {gene.gene_id} ({gene.strand}); grey: tile overlaps an exon", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def write_table_h5(path, rows: pd.DataFrame, scores: dict, target_ids, target_labels, attrs: dict) -> Path:
    """rows (one per edit) + {stat: (rows, T)} → h5 with one dataset per column and statistic."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for c in rows.columns:
                col = rows[c]
                is_text = col.dtype == object or pd.api.types.is_string_dtype(col)
                h5.create_dataset(c, data=h5_strings(col) if is_text else np.asarray(col.values))
            h5.create_dataset("target_ids", data=h5_strings(target_ids))
            h5.create_dataset("target_labels", data=h5_strings(target_labels))
            for s, arr in scores.items():
                h5.create_dataset(s, data=h5_float16(arr))
            for k, v in attrs.items():
                h5.attrs[k] = h5_attr(v)
    return Path(path)


def write_table_tsv(path, rows: pd.DataFrame, scores: dict, target_ids) -> Path:
    """Long table: one line per (edit, track) with the edit's columns and every statistic."""
    T = len(target_ids)
    df = rows.loc[rows.index.repeat(T)].reset_index(drop=True)
    df["target_id"] = np.tile(list(target_ids), len(rows))
    for s, arr in scores.items():
        df[s] = np.asarray(arr, np.float32).reshape(-1)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    return Path(path)


def read_inserts(path) -> list[tuple[str, str]]:
    """Insert sequences from a FASTA (``>name``) or a TSV with ``name`` and ``sequence``
    columns (header row; or two header-less columns name, sequence)."""
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: inserts file not found")
    text = path.read_text()
    out = []
    if text.lstrip().startswith(">"):
        name, buf = None, []
        for ln, line in enumerate(text.splitlines(), 1):
            if line.startswith(">"):
                if name is not None:
                    out.append((name, "".join(buf)))
                name, buf = line[1:].split()[0] if line[1:].strip() else f"seq{len(out) + 1}", []
            elif line.strip():
                buf.append(line.strip())
        if name is not None:
            out.append((name, "".join(buf)))
    else:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        start = 1 if lines and lines[0].lower().split("\t")[:2] in (["name", "sequence"], ["id", "sequence"]) else 0
        for ln, line in enumerate(lines[start:], start + 1):
            f = line.split("\t")
            if len(f) < 2:
                raise YeastzoiError(f"{path} line {ln}: expected name<TAB>sequence")
            out.append((f[0], f[1].strip()))
    for name, seq in out:
        if not seq or set(seq.upper()) - set("ACGTN"):
            raise YeastzoiError(f"{path}: insert {name}: sequence must be non-empty A/C/G/T/N")
    if not out:
        raise YeastzoiError(f"{path}: no insert sequences")
    return out
