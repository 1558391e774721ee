"""Sequence edits scored with the variant engine: in-silico mutagenesis (ISM), MPRA-style
insertions upstream of a gene's TSS, and deletion scans for distal elements.

Every edit is an ALT sequence compared with the unedited window by the statistics of
:mod:`yeastzoi.score.snps` (same ensembles, untransform, multi-model mean/std, fixed-size batches;
the unedited prediction is computed once per chunk of edits sharing its window).

Read-out region ("gene effect"): with a gene, the gene's exon bins (≥ 50 % exon overlap),
stranded tracks of the other strand NaN; without a gene (ISM only), the bins within
``sed_bp`` of the mutated region. Edits that change the length (insertions, deletions) keep
the gene's side of the window fixed (stitching toward the gene), so the gene's bins stay
aligned with the unedited prediction.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.dna import codes_to_seq, revcomp_seq
from ..fileio import atomic_path
from .snps import (Job, ScoreOptions, _prepare, _reduce, _run_jobs, _settings, bins_overlapping, exon_bins,
                   gene_window_start, target_labels, track_strands, window_start)
from .variants import Variant

log = logging.getLogger(__name__)


@dataclasses.dataclass
class GeneInfo:
    gene_id: str
    gene_name: str
    chrom: str
    start: int
    end: int
    strand: str
    tss: int
    exons: list


def find_gene(genes: pd.DataFrame, exons: dict, name: str) -> GeneInfo:
    """Gene by id or name from :func:`yeastzoi.genome.assembly.genes_table` rows."""
    hit = genes[(genes["gene_id"] == name) | (genes["gene_name"] == name)]
    if hit.empty:
        raise YeastzoiError(f"gene {name}: not in the annotation (give a gene_id or gene_name)")
    if len(hit) > 1:
        hit = hit[hit["gene_id"] == name] if (hit["gene_id"] == name).any() else hit.iloc[:1]
    g = hit.iloc[0]
    ex = exons.get(g["gene_id"]) or [(int(g["start"]), int(g["end"]))]
    return GeneInfo(str(g["gene_id"]), str(g["gene_name"]), str(g["chrom"]), int(g["start"]), int(g["end"]),
                    str(g["strand"]), int(g["tss"]), [(int(a), int(b)) for a, b in ex])


def load_annotation(gtf_path, genome) -> tuple[pd.DataFrame, dict]:
    """(genes_table, exons_by_gene) of a GTF/GFF3 with chromosomes renamed to the FASTA's."""
    from ..genome.aliases import match_chroms
    from ..genome.assembly import exons_by_gene, genes_table, read_gtf

    raw = read_gtf(gtf_path)
    cmap = match_chroms(raw["chrom"].unique(), list(genome.chroms), what="GTF", path=gtf_path, strict=False)
    if cmap.unmatched:
        log.warning("%s: %d chromosome(s) not in the FASTA ignored", gtf_path, len(cmap.unmatched))
    gtf = read_gtf(gtf_path, chrom_map=dict(cmap))
    return genes_table(gtf), exons_by_gene(gtf)


def _gene_readout(gene: GeneInfo, start: int, meta: dict, strands) -> tuple:
    em = exon_bins(start, meta, gene.exons)
    if not em.any():
        raise YeastzoiError(f"gene {gene.gene_id}: no exon bin inside the model's output window; "
                            "the gene is too far from the edited region")
    tm = np.array([s == "." or s == gene.strand for s in strands], bool)
    return em, tm


def _gene_window(gene: GeneInfo, pos0: int, meta: dict) -> int:
    lo = min(a for a, _ in gene.exons)
    hi = max(b for _, b in gene.exons)
    s, fits = gene_window_start(pos0, lo, hi, meta)
    if not fits:
        log.warning("gene %s: the edit at %d and the whole gene do not fit one window; scoring the exon "
                    "bins inside it", gene.gene_id, pos0)
    return s


# ----------------------------------------------------------------------------- ISM
def ism(models, genome, chrom: str, start: int, end: int, opts: ScoreOptions, targets_df=None,
        gene: GeneInfo | None = None, model_paths=None, progress=None) -> dict:
    """All 3 alternative bases at every position of [start, end) (0-based) of ``chrom``.

    One window (centred on the region's midpoint, or placed so that the region and the
    gene both fit) holds the whole region (at most ``seq_length`` bp). Returns a dict with
    ``scores`` {stat: (P, 4, T) float32; the reference base's entry is 0}, ``ref`` codes
    (P,), ``window_start``, ``target_ids``, ``target_labels``, ``attrs``."""
    chrom = genome.resolve(chrom)
    preds, do_untransform = _prepare(models, opts, targets_df)
    meta = models[0].meta
    L, T = int(meta["seq_length"]), int(meta["num_targets"])
    if not 0 <= start < end or end - start > L:
        raise YeastzoiError(f"ISM region {chrom}:{start}-{end}: needs 0 <= start < end and at most {L} bp")
    mid = (start + end) // 2
    ws = _gene_window(gene, mid, meta) if gene is not None else window_start(mid, L)
    if start < ws or end > ws + L:
        ws = min(max(ws, end - L), start)
    ref = genome.fetch_codes(chrom, start, end)
    strands = track_strands(targets_df, T)
    if gene is not None:
        em, tm = _gene_readout(gene, ws, meta, strands)
    else:
        em = bins_overlapping(ws, meta, start - opts.sed_bp, end + opts.sed_bp)
        tm = np.ones(T, bool)
    variants, jobs, where = [], [], []
    for k, p in enumerate(range(start, end)):
        if ref[k] > 3:
            continue
        for b in range(4):
            if b == ref[k]:
                continue
            variants.append(Variant(f"{chrom}:{p + 1}:{b}", chrom, p + 1, "ACGT"[ref[k]], "ACGT"[b]))
            jobs.append(Job(len(jobs), chrom, ws, [(len(jobs), em, em, tm)]))
            where.append((k, b))
    per_model = _run_jobs(preds, genome, variants, jobs, len(jobs), opts.stats, "left", targets_df,
                          do_untransform, progress)
    red = _reduce(per_model)
    P = end - start
    scores = {}
    for s, arr in red.items():
        out = np.zeros((P, 4, T), np.float32)
        for row, (k, b) in enumerate(where):
            out[k, b] = arr[row]
        out[ref > 3] = np.nan
        scores[s] = out
    ids, labels = target_labels(meta, targets_df)
    attrs = _settings(models, model_paths, opts, targets_df, do_untransform, "ism")
    attrs.update({"chrom": chrom, "start": int(start), "end": int(end), "window_start": int(ws),
                  "gene": gene.gene_id if gene else "None"})
    return {"scores": scores, "ref": ref, "window_start": ws, "target_ids": ids, "target_labels": labels,
            "attrs": attrs}


def write_ism_h5(path, res: dict) -> Path:
    import h5py

    from .snps import _attr, _f16, _strs

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("ref_codes", data=np.asarray(res["ref"], np.uint8))
            h5.create_dataset("ref_seq", data=codes_to_seq(res["ref"]))
            h5.create_dataset("target_ids", data=_strs(res["target_ids"]))
            h5.create_dataset("target_labels", data=_strs(res["target_labels"]))
            for s, arr in res["scores"].items():
                h5.create_dataset(s, data=_f16(arr))
            for k, v in res["attrs"].items():
                h5.attrs[k] = _attr(v)
    return Path(path)


def plot_ism(res: dict, path, stat: str, tracks: list[int] | None = None, title: str = "") -> Path:
    """Logo (height of the reference base = −mean effect of its 3 alternatives) above a
    heatmap of every substitution's effect, averaged over ``tracks`` (default all)."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = res["scores"][stat]
    cols = list(range(arr.shape[-1])) if tracks is None else list(tracks)
    with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        eff = np.nanmean(arr[..., cols], axis=-1)                   # (P, 4)
    ref = res["ref"]
    P = len(ref)
    logo = np.zeros((P, 4))
    for k in range(P):
        if ref[k] < 4:
            logo[k, ref[k]] = -np.nansum(eff[k]) / 3.0
    start = int(res["attrs"]["start"])
    df = pd.DataFrame(logo, columns=list("ACGT"), index=np.arange(start, start + P))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(max(6, P / 12), 4), sharex=False,
                                 gridspec_kw={"height_ratios": [1.3, 1]})
    logomaker.Logo(df, ax=a1, color_scheme="classic")
    a1.set_ylabel(f"−mean {stat}")
    a1.set_title(title or f"ISM {res['attrs']['chrom']}:{start}-{start + P}", fontsize=9)
    lim = np.nanmax(np.abs(eff)) or 1.0
    im = a2.imshow(eff.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(start - 0.5, start + P - 0.5, 3.5, -0.5))
    a2.set_yticks(range(4), list("ACGT"))
    a2.set_xlabel("position (0-based)")
    fig.colorbar(im, ax=a2, fraction=0.03, label=stat)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


# ----------------------------------------------------------------------------- insertions
def insertion_scores(models, genome, genes: list[GeneInfo], inserts: list[tuple[str, str]], distance: int,
                     opts: ScoreOptions, targets_df=None, replace: bool = False, model_paths=None,
                     progress=None) -> tuple[pd.DataFrame, dict]:
    """Place each insert (name, sequence given 5′→3′ in the gene's orientation) ``distance``
    bp upstream of each gene's TSS and score the gene (exon bins) against the unedited locus.

    ``replace=False`` inserts the sequence (the native sequence is pushed away from the gene);
    ``replace=True`` overwrites the ``len(seq)`` native bases whose 3′ end lies ``distance`` bp
    upstream of the TSS (as the simulator's MPRA does with ``distance`` 0).
    Returns (rows DataFrame gene_id, gene_name, insert, position, …; {stat: (rows, T)})."""
    preds, do_untransform = _prepare(models, opts, targets_df)
    meta = models[0].meta
    T = int(meta["num_targets"])
    strands = track_strands(targets_df, T)
    variants, jobs, rows = [], [], []
    for g in genes:
        for name, seq in inserts:
            seq = seq.upper()
            if not seq or set(seq) - set("ACGTN"):
                raise YeastzoiError(f"insert {name}: sequence must be non-empty A/C/G/T/N")
            ins = seq if g.strand == "+" else revcomp_seq(seq)
            n = len(seq)
            if g.strand == "+":
                cut = g.tss - distance                       # insert goes before base `cut`
                if replace:
                    lo, hi = cut - n, cut
                stitch = "right"                            # keep the gene (right) side fixed
            else:
                cut = g.tss + 1 + distance
                if replace:
                    lo, hi = cut, cut + n
                stitch = "left"
            if replace:
                if lo < 0 or hi > genome.chroms[g.chrom]:
                    raise YeastzoiError(f"insert {name} at gene {g.gene_id}: runs off {g.chrom}")
                ref = genome.fetch(g.chrom, lo, hi)
                v = Variant(f"{g.gene_id}:{name}", g.chrom, lo + 1, ref, ins)
                pos = lo
            elif g.strand == "+":
                anchor = genome.fetch(g.chrom, cut - 1, cut)   # insertion after the anchor base
                v = Variant(f"{g.gene_id}:{name}", g.chrom, cut, anchor, anchor + ins)
                pos = cut - 1
            else:
                anchor = genome.fetch(g.chrom, cut, cut + 1)   # insertion before the anchor base
                v = Variant(f"{g.gene_id}:{name}", g.chrom, cut + 1, anchor, ins + anchor)
                pos = cut
            ws = _gene_window(g, pos, meta)
            em, tm = _gene_readout(g, ws, meta, strands)
            jobs.append(Job(len(variants), g.chrom, ws, [(len(rows), em, em, tm)], stitch=stitch))
            variants.append(v)
            rows.append({"gene_id": g.gene_id, "gene_name": g.gene_name, "gene_strand": g.strand,
                         "insert": name, "length": n, "chrom": g.chrom, "position": pos,
                         "distance": distance, "mode": "replace" if replace else "insert"})
    if not jobs:
        raise YeastzoiError("no insert × gene to score")
    per_model = _run_jobs(preds, genome, variants, jobs, len(rows), opts.stats, opts.stitch, targets_df,
                          do_untransform, progress)
    return pd.DataFrame(rows), _reduce(per_model)


# ----------------------------------------------------------------------------- deletions
def deletion_scan(models, genome, gene: GeneInfo, tile_bp: int, step_bp: int, opts: ScoreOptions,
                  targets_df=None, progress=None) -> tuple[pd.DataFrame, dict, int]:
    """Delete ``tile_bp`` tiles every ``step_bp`` bp across the window centred on the gene and
    score the gene (exon bins) vs the unedited window. Tiles left of the gene are stitched
    from the left (window end fixed), others from the right, so the gene stays in place.
    Returns (tiles DataFrame start, end, overlaps_exon, distance_to_tss; {stat: (tiles, T)},
    window start)."""
    if tile_bp < 1 or step_bp < 1:
        raise YeastzoiError("--tile and --step must be >= 1 bp")
    preds, do_untransform = _prepare(models, opts, targets_df)
    meta = models[0].meta
    L, T = int(meta["seq_length"]), int(meta["num_targets"])
    lo = min(a for a, _ in gene.exons)
    hi = max(b for _, b in gene.exons)
    ws, _ = gene_window_start((lo + hi) // 2, lo, hi, meta)
    em, tm = _gene_readout(gene, ws, meta, track_strands(targets_df, T))
    size = genome.chroms[gene.chrom]
    variants, jobs, rows = [], [], []
    for a in range(max(ws, 0), min(ws + L, size) - tile_bp + 1, step_bp):
        b = a + tile_bp
        ref = genome.fetch(gene.chrom, a, b)
        v = Variant(f"del:{a}-{b}", gene.chrom, a + 1, ref, "")
        stitch = "right" if b <= lo else "left"
        jobs.append(Job(len(variants), gene.chrom, ws, [(len(rows), em, em, tm)], stitch=stitch))
        variants.append(v)
        ov = any(a < e and b > s for s, e in gene.exons)
        rows.append({"start": a, "end": b, "overlaps_exon": ov,
                     "distance_to_tss": ((a + b) // 2 - gene.tss) * (1 if gene.strand == "+" else -1)})
    if not jobs:
        raise YeastzoiError(f"gene {gene.gene_id}: no tile fits the window")
    per_model = _run_jobs(preds, genome, variants, jobs, len(rows), opts.stats, "left", targets_df,
                          do_untransform, progress)
    return pd.DataFrame(rows), _reduce(per_model), ws


def plot_deletion_scan(tiles: pd.DataFrame, scores: dict, gene: GeneInfo, path, stat: str,
                       tracks: list[int] | None = None) -> Path:
    """Effect of each deleted tile (mean over ``tracks``) along the chromosome, exons drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = scores[stat]
    cols = list(range(arr.shape[-1])) if tracks is None else list(tracks)
    with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
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
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)


def write_table_h5(path, rows: pd.DataFrame, scores: dict, target_ids, target_labels, attrs: dict) -> Path:
    """rows (one per edit) + {stat: (rows, T)} → h5 with one dataset per column and statistic."""
    import h5py

    from .snps import _attr, _f16, _strs

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for c in rows.columns:
                col = rows[c]
                is_text = col.dtype == object or pd.api.types.is_string_dtype(col)
                h5.create_dataset(c, data=_strs(col) if is_text else np.asarray(col.values))
            h5.create_dataset("target_ids", data=_strs(target_ids))
            h5.create_dataset("target_labels", data=_strs(target_labels))
            for s, arr in scores.items():
                h5.create_dataset(s, data=_f16(arr))
            for k, v in attrs.items():
                h5.attrs[k] = _attr(v)
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
