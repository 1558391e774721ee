"""Sequence edits scored with the variant engine: in-silico mutagenesis (ISM), MPRA-style
insertions upstream of a gene's TSS, and deletion scans for distal elements.

Every edit is an ALT sequence compared with the unedited window by the statistics of
:mod:`yeastzoi.score.stats` through the engine (:mod:`yeastzoi.score.engine`: the one
predictor's ensembles and species channel, untransform, multi-model mean/std, fixed-size
batches; the unedited prediction is computed once per chunk of edits sharing its window).

Read-out region ("gene effect"): with a gene, the gene's bins (every bin overlapping an
exon by ≥ 1 bp, :meth:`yeastzoi.model.geometry.Geometry.gene_bins` — the rule of gene-level
evaluation and variant scoring), stranded tracks of the other strand NaN; without a gene
(ISM only), the bins within ``sed_bp`` of the mutated region. Edits that change the length
(insertions, deletions) keep the gene's side of the window fixed (stitching toward the
gene), so the gene's bins stay aligned with the unedited prediction.

Constructs (:func:`insertion_variant` places them; their windows are built by the one
construct builder, :func:`yeastzoi.genome.constructs.construct_codes`, which promoter-library
records use too): a sequence given 5′→3′ in
the gene's orientation is placed upstream of the gene's TSS (reverse-complemented for a
``-`` gene), either inserted (``replace=False``, the native sequence is pushed away from the
gene) or overwriting native bases (``replace=True``). ``anchor="end"``: ``distance`` bp lie
between the construct's 3′ end and the TSS; ``anchor="centre"`` (Shorkie's MPRA contexts):
the construct's centre lies ``distance`` bp upstream, i.e. ``distance − len // 2`` bp lie
between its 3′ end and the TSS. A construct that would run off the chromosome is a one-line
error.

Results (:class:`EditScores`): one row per edit (``rows``), {stat: (rows, T)} (``scores``;
ISM: (positions, 4, T)), the per-model values before the ensemble mean (``per_model``:
{stat: (M, rows, T)}), target ids/labels and the run settings (``attrs``). Files and
figures: :mod:`yeastzoi.score.edit_files`; the MPRA protocol on top: :mod:`yeastzoi.score.mpra`.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.constructs import gene_side
from ..genome.dna import revcomp_seq
from ..model.geometry import gene_window_start, variant_window_start
from .engine import Job, gene_readout, prepare_scoring, run_jobs, run_settings, target_labels, track_strands
from .genes import GeneInfo
from .stats import reduce_models
from .variants import Variant

log = logging.getLogger(__name__)


@dataclasses.dataclass
class EditScores:
    rows: pd.DataFrame | None       # one row per edit (None for ISM)
    scores: dict                    # stat → (rows, T) [ISM: (positions, 4, T)]
    target_ids: list
    target_labels: list
    attrs: dict                     # run settings (scores.h5-style attributes)
    ref: np.ndarray | None = None   # ISM: reference codes of the region
    per_model: dict | None = None   # stat → (M, rows, T) before the mean over models (not ISM)


def _gene_readout(pred, gene: GeneInfo, start: int, strands) -> tuple:
    em, tm = gene_readout(pred.geometry, start, gene.exons, gene.strand, strands)
    if not em.any():
        raise YeastzoiError(f"gene {gene.gene_id}: no exon bin inside the model's output window; "
                            "the gene is too far from the edited region")
    return em, tm


def _gene_window(pred, gene: GeneInfo, pos0: int) -> int:
    lo = min(a for a, _ in gene.exons)
    hi = max(b for _, b in gene.exons)
    s, fits = gene_window_start(pos0, lo, hi, pred.geometry)
    if not fits:
        log.warning("gene %s: the edit at %d and the whole gene do not fit one window; scoring the exon "
                    "bins inside it", gene.gene_id, pos0)
    return s


def _finish(pred, rows, per_model, opts, targets_df, do_untransform, model_paths, mode, **attrs) -> EditScores:
    ids, labels = target_labels(pred.meta, targets_df)
    settings = run_settings(pred, model_paths, opts, do_untransform, mode)
    settings.update(attrs)
    return EditScores(rows, reduce_models(per_model), ids, labels, settings,
                      per_model=per_model if rows is not None else None)


# ----------------------------------------------------------------------------- ISM
def ism(models, genome, chrom: str, start: int, end: int, opts, targets_df=None,
        gene: GeneInfo | None = None, model_paths=None, progress=None) -> EditScores:
    """All 3 alternative bases at every position of [start, end) (0-based) of ``chrom``.

    One window (centred on the region's midpoint, or placed so that the region and the
    gene both fit) holds the whole region (at most ``seq_length`` bp). ``scores``:
    {stat: (P, 4, T) float32; the reference base's entry is 0}; ``ref``: codes (P,);
    ``attrs['window_start']``: the window."""
    chrom = genome.resolve(chrom)
    pred, do_untransform = prepare_scoring(models, opts, targets_df)
    L, T = pred.seq_length, int(pred.meta["num_targets"])
    if not 0 <= start < end or end - start > L:
        raise YeastzoiError(f"ISM region {chrom}:{start}-{end}: needs 0 <= start < end and at most {L} bp")
    if end > genome.chroms[chrom]:
        raise YeastzoiError(f"ISM region {chrom}:{start}-{end} runs past the end of {chrom} "
                            f"({genome.chroms[chrom]:,} bp); give a region inside the chromosome")
    mid = (start + end) // 2
    ws = _gene_window(pred, gene, mid) if gene is not None else variant_window_start(mid, L)
    if start < ws or end > ws + L:
        ws = min(max(ws, end - L), start)
    ref = genome.fetch_codes(chrom, start, end)
    if gene is not None:
        em, tm = _gene_readout(pred, gene, ws, track_strands(targets_df, T))
    else:
        em, tm = pred.geometry.bins_overlapping(ws, start - opts.sed_bp, end + opts.sed_bp), np.ones(T, bool)
    variants, jobs, where = [], [], []
    for k, p in enumerate(range(start, end)):
        for b in range(4) if ref[k] <= 3 else ():
            if b != ref[k]:
                variants.append(Variant(f"{chrom}:{p + 1}:{b}", chrom, p + 1, "ACGT"[ref[k]], "ACGT"[b]))
                jobs.append(Job(len(jobs), chrom, ws, [(len(jobs), em, em, tm)]))
                where.append((k, b))
    per_model = run_jobs(pred, genome, variants, jobs, len(jobs), opts.stats, "left", targets_df,
                         do_untransform, progress)
    res = _finish(pred, None, per_model, opts, targets_df, do_untransform, model_paths, "ism",
                  chrom=chrom, start=int(start), end=int(end), window_start=int(ws),
                  gene=gene.gene_id if gene else "None")
    for s, arr in res.scores.items():
        out = np.zeros((end - start, 4, T), np.float32)
        for row, (k, b) in enumerate(where):
            out[k, b] = arr[row]
        out[ref > 3] = np.nan
        res.scores[s] = out
    res.ref = ref
    return res


# ----------------------------------------------------------------------------- insertions
def insertion_variant(genome, g: GeneInfo, name: str, seq: str, distance: int, replace: bool = False,
                      anchor: str = "end") -> tuple[Variant, int, str]:
    """The construct of ``seq`` (5′→3′ in g's orientation) placed ``distance`` bp upstream of
    g's TSS (module docstring: ``replace``, ``anchor``) as a :class:`Variant` on the genome's
    + strand. Returns (variant, 0-based position the window is placed on, stitching side
    that keeps the gene's side of the window fixed)."""
    n = len(seq)
    if anchor not in ("end", "centre"):
        raise YeastzoiError(f"--anchor {anchor}: expected end or centre")
    gap = distance if anchor == "end" else distance - n // 2
    if distance < 0 or gap < 0:
        raise YeastzoiError(f"insert {name} ({n} bp) at gene {g.gene_id}: its {anchor} {distance} bp upstream of "
                            f"the TSS would overlap the TSS; use a distance >= {0 if anchor == 'end' else n // 2} bp")
    ins = seq if g.strand == "+" else revcomp_seq(seq)
    size = genome.chroms[g.chrom]
    stitch = gene_side(g.strand)               # keep the gene's side of the window fixed
    if g.strand == "+":
        cut = g.tss - gap                      # insert before base `cut`
        lo, hi = (cut - n, cut) if replace else (cut - 1, cut)
    else:
        cut = g.tss + 1 + gap
        lo, hi = (cut, cut + n) if replace else (cut, cut + 1)
    if lo < 0 or hi > size:
        side = "start" if lo < 0 else "end"
        raise YeastzoiError(f"insert {name} ({n} bp) {distance} bp upstream of gene {g.gene_id} ({g.strand}, TSS "
                            f"{g.chrom}:{g.tss}) runs past the {side} of {g.chrom} ({size} bp); use a smaller "
                            "distance or another context gene")
    if replace:
        return Variant(f"{g.gene_id}:{name}", g.chrom, lo + 1, genome.fetch(g.chrom, lo, hi), ins), lo, stitch
    anchor_base = genome.fetch(g.chrom, lo, hi)
    if g.strand == "+":      # insertion after the anchor base
        return Variant(f"{g.gene_id}:{name}", g.chrom, cut, anchor_base, anchor_base + ins), cut - 1, stitch
    return Variant(f"{g.gene_id}:{name}", g.chrom, cut + 1, anchor_base, ins + anchor_base), cut, stitch


def check_constructs(genome, genes: list[GeneInfo], inserts: list[tuple[str, str]], distances,
                     replace: bool = False, anchor: str = "end") -> None:
    """Raise :func:`insertion_variant`'s one-line error for a construct that would overlap the
    TSS or run off the chromosome, checking only the extremes (one insert of each length at
    the smallest and the largest distance, for every gene) — cheap, so scripts call it before
    loading any model."""
    by_len = {}
    for name, seq in inserts:
        by_len.setdefault(len(seq), (name, seq.upper()))
    dists = sorted({int(d) for d in distances})
    for g in genes:
        for name, seq in by_len.values():
            for d in (dists[0], dists[-1]):
                insertion_variant(genome, g, name, seq, d, replace, anchor)


def insertion_scores(models, genome, genes: list[GeneInfo], inserts: list[tuple[str, str]], distance,
                     opts, targets_df=None, replace: bool = False, model_paths=None,
                     progress=None, anchor: str = "end") -> EditScores:
    """Place each insert (name, sequence given 5′→3′ in the gene's orientation) ``distance``
    bp upstream of each gene's TSS (:func:`insertion_variant`; ``distance`` one int or a
    list: every distance is scored) and score the gene (its bins) against the unedited locus.

    ``replace=False`` inserts the sequence (the native sequence is pushed away from the gene);
    ``replace=True`` overwrites ``len(seq)`` native bases (as the simulator's MPRA does with
    ``distance`` 0). ``rows`` (order: gene, insert, distance): gene_id, gene_name,
    gene_strand, insert, length, chrom, position, distance, mode; ``per_model`` keeps every
    model's values."""
    pred, do_untransform = prepare_scoring(models, opts, targets_df)
    strands = track_strands(targets_df, int(pred.meta["num_targets"]))
    dists = [int(d) for d in (distance if isinstance(distance, (list, tuple, np.ndarray, range)) else [distance])]
    variants, jobs, rows = [], [], []
    for g in genes:
        for name, seq in inserts:
            seq = seq.upper()
            if not seq or set(seq) - set("ACGTN"):
                raise YeastzoiError(f"insert {name}: sequence must be non-empty A/C/G/T/N")
            for d in dists:
                v, pos, stitch = insertion_variant(genome, g, name, seq, d, replace, anchor)
                ws = _gene_window(pred, g, pos)
                em, tm = _gene_readout(pred, g, ws, strands)
                jobs.append(Job(len(variants), g.chrom, ws, [(len(rows), em, em, tm)], stitch=stitch))
                variants.append(v)
                rows.append({"gene_id": g.gene_id, "gene_name": g.gene_name, "gene_strand": g.strand,
                             "insert": name, "length": len(seq), "chrom": g.chrom, "position": pos,
                             "distance": d, "mode": "replace" if replace else "insert"})
    if not jobs:
        raise YeastzoiError("no insert × gene to score")
    per_model = run_jobs(pred, genome, variants, jobs, len(rows), opts.stats, opts.stitch, targets_df,
                         do_untransform, progress)
    return _finish(pred, pd.DataFrame(rows), per_model, opts, targets_df, do_untransform, model_paths,
                   "insert", distance=dists[0] if len(dists) == 1 else dists, replace=bool(replace),
                   anchor=anchor)


# ----------------------------------------------------------------------------- deletions
def deletion_scan(models, genome, gene: GeneInfo, tile_bp: int, step_bp: int, opts,
                  targets_df=None, model_paths=None, progress=None) -> EditScores:
    """Delete ``tile_bp`` tiles every ``step_bp`` bp across the window centred on the gene and
    score the gene (its bins) vs the unedited window. Tiles left of the gene are stitched
    from the left (window end fixed), others from the right, so the gene stays in place.
    ``rows``: start, end, overlaps_exon, distance_to_tss; ``attrs['window_start']``."""
    if tile_bp < 1 or step_bp < 1:
        raise YeastzoiError("--tile and --step must be >= 1 bp")
    pred, do_untransform = prepare_scoring(models, opts, targets_df)
    L = pred.seq_length
    lo = min(a for a, _ in gene.exons)
    hi = max(b for _, b in gene.exons)
    ws, _ = gene_window_start((lo + hi) // 2, lo, hi, pred.geometry)
    em, tm = _gene_readout(pred, gene, ws, track_strands(targets_df, int(pred.meta["num_targets"])))
    size = genome.chroms[gene.chrom]
    variants, jobs, rows = [], [], []
    for a in range(max(ws, 0), min(ws + L, size) - tile_bp + 1, step_bp):
        b = a + tile_bp
        v = Variant(f"del:{a}-{b}", gene.chrom, a + 1, genome.fetch(gene.chrom, a, b), "")
        stitch = "right" if b <= lo else "left"
        jobs.append(Job(len(variants), gene.chrom, ws, [(len(rows), em, em, tm)], stitch=stitch))
        variants.append(v)
        rows.append({"start": a, "end": b, "overlaps_exon": any(a < e and b > s for s, e in gene.exons),
                     "distance_to_tss": ((a + b) // 2 - gene.tss) * (1 if gene.strand == "+" else -1)})
    if not jobs:
        raise YeastzoiError(f"gene {gene.gene_id}: no tile fits the window")
    per_model = run_jobs(pred, genome, variants, jobs, len(rows), opts.stats, "left", targets_df,
                         do_untransform, progress)
    return _finish(pred, pd.DataFrame(rows), per_model, opts, targets_df, do_untransform, model_paths,
                   "isd", gene=gene.gene_id, tile_bp=int(tile_bp), step_bp=int(step_bp), window_start=int(ws),
                   chrom=gene.chrom)
