"""The scoring engine shared by variant scoring (:mod:`yeastzoi.score.snps`) and sequence edits
(:mod:`yeastzoi.score.edits`): reference/alternative windows predicted in batches by the one
:class:`~yeastzoi.model.predictor.Predictor`, statistics per read-out, run settings.

A :class:`Job` is one ref/alt window pair (a variant in a window); each of its read-outs
(output row, effect-bin mask, all-bin mask, track mask) becomes one output row. Jobs that
share a window share one reference prediction. Each model of the ensemble predicts ref and
alt windows (its RC/shift ensemble averaged in the model's transformed space), the
predictions are (unless ``untransform`` is off or no targets sheet is known) mapped back to
raw coverage per bin by :func:`yeastzoi.coverage.untransform`, and the statistics
(:mod:`yeastzoi.score.stats`) are computed per model, then reduced to mean and std.

Masked language models are refused here: statistics over base probabilities mean nothing
(score them with ``yeastzoi_snp.py --lm``, :func:`yeastzoi.score.lm.score_variants_lm`).
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from .. import YeastzoiError, __version__
from ..model.geometry import Geometry, variant_window_start
from ..model.loader import is_lm
from ..model.predictor import Predictor
from .sequences import alt_codes, ref_codes
from .stats import compute_stats

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Job:
    """One ref/alt window pair: variant ``vi`` in the window starting at ``start``; each
    readout (row, effect_mask, all_mask, track_mask) becomes one output row."""

    vi: int
    chrom: str
    start: int
    readouts: list
    stitch: str | None = None      # overrides the run's stitching for this job


# ----------------------------------------------------------------------------- set-up
def prepare_scoring(models, opts, targets_df) -> tuple[Predictor, bool]:
    """(predictor, untransform?) of a scoring run: ``models`` (SeqNNs, or a ready
    :class:`Predictor`) wrapped with the options' ensemble, batch size and species (and the
    targets sheet's strand pairs for models that store none); a masked language model is a
    one-line error."""
    opts.check()
    from ..coverage import strand_pairs

    # a model that stores no strand pairs (e.g. one baskerville trained) takes the sheet's, so
    # reverse-complement averaging swaps its stranded tracks as baskerville does
    pred = models if isinstance(models, Predictor) else Predictor(
        models, rc=opts.rc, shifts=opts.shifts, batch_size=opts.batch_size, species=opts.species,
        compiled=opts.compiled, strand_pair=strand_pairs(targets_df) if targets_df is not None else None)
    if is_lm(pred.meta):
        raise YeastzoiError(f"{pred.names[0]} is a masked language model (4 base probabilities per "
                            "position, a mask input channel): track statistics over base probabilities "
                            "mean nothing; score it with --lm (zero-shot log p(alt) - log p(ref))")
    do_untransform = bool(opts.untransform and targets_df is not None)
    if opts.untransform and targets_df is None:
        log.warning("no targets sheet: scores are in the model's transformed space "
                    "(give --targets to untransform)")
    pred.reuse_tower = bool(opts.reuse_tower)
    pred.species_index  # resolve (and log) the species channel before any work
    return pred, do_untransform


def run_settings(pred: Predictor, model_paths, opts, do_untransform: bool, mode: str) -> dict:
    """Settings of a run, stored as scores.h5 attributes."""
    meta = pred.meta
    return {"yeastzoi_version": __version__, "mode": mode,
            "models": [str(p) for p in (model_paths or pred.names)],
            "num_models": pred.num_models, "rc": bool(pred.rc), "shifts": [int(s) for s in pred.shifts],
            "untransformed": bool(do_untransform), "stats": list(opts.stats), "stitch": opts.stitch,
            "cluster_bp": int(opts.cluster_bp), "sed_bp": int(opts.sed_bp),
            "reuse_tower": bool(opts.reuse_tower),
            "species": pred.species_name,
            "seq_length": int(meta["seq_length"]), "pool_width": int(meta["pool_width"] or 1),
            "crop_bp": int(meta.get("crop_bp") or 0), "target_length": int(meta["target_length"]),
            "variant_index": int(meta["seq_length"]) // 2 - 1}


def resolve_targets(targets_path, model_path, meta: dict):
    """The targets sheet for untransforming: ``targets_path`` when given, else a
    ``targets.txt`` beside the model file; None when neither exists. The sheet must have
    one row per model output track."""
    from ..coverage import read_targets

    path = Path(targets_path) if targets_path else None
    if path is None and model_path is not None:
        cand = Path(model_path).parent / "targets.txt"
        if cand.is_file():
            log.info("targets sheet: %s (found beside the model)", cand)
            path = cand
    if path is None:
        return None
    df = read_targets(path)
    n = meta.get("num_targets")
    if n is not None and len(df) != int(n):
        raise YeastzoiError(f"{path}: the sheet has {len(df)} tracks but the model predicts {n}; "
                            "give the sheet the model was trained with")
    ids = meta.get("target_ids")
    if ids and list(map(str, ids)) != list(map(str, df["identifier"])):
        log.warning("%s: identifiers differ from the model's target_ids; using the sheet's", path)
    return df


def target_labels(meta: dict, targets_df) -> tuple[list[str], list[str]]:
    """(identifiers, labels) of the output tracks (sheet descriptions as labels)."""
    n = int(meta["num_targets"])
    if targets_df is not None:
        ids = [str(x) for x in targets_df["identifier"]]
        labels = [str(d) if str(d) else i for d, i in zip(targets_df["description"], ids)]
        return ids, labels
    ids = [str(x) for x in (meta.get("target_ids") or [f"t{i}" for i in range(n)])]
    return ids, list(ids)


def track_strands(targets_df, num_targets: int) -> np.ndarray:
    """'+', '-' or '.' per track: stranded tracks have a strand_pair partner other than
    themselves and an identifier ending in + or -."""
    out = np.array(["."] * num_targets, dtype=object)
    if targets_df is None:
        return out
    sp = np.asarray(targets_df["strand_pair"], dtype=np.int64)
    for i, ident in enumerate(targets_df["identifier"]):
        ident = str(ident)
        if sp[i] != i and ident[-1:] in "+-":
            out[i] = ident[-1]
    return out


def gene_readout(geo: Geometry, window_start: int, exons, strand: str, strands) -> tuple[np.ndarray, np.ndarray]:
    """(bin mask, track mask) of a gene's read-out in the window at ``window_start``: the
    gene's bins (:meth:`yeastzoi.model.geometry.Geometry.gene_bins`, the one rule evaluation
    uses too) and the tracks that are unstranded or on the gene's strand."""
    return geo.gene_mask(window_start, exons), np.array([s == "." or s == strand for s in strands], bool)


def cluster_windows(variants, seq_length: int, cluster_bp: int) -> dict[int, int]:
    """variant index → window start. With ``cluster_bp > 0`` variants of one chromosome whose
    REF starts lie within ``cluster_bp`` bp of the cluster's first variant share one window
    (placed on the midpoint of the cluster's first and last start); with 0 only variants at
    the same position share one."""
    starts = {}
    order = sorted(range(len(variants)), key=lambda i: (variants[i].chrom, variants[i].start))
    group: list[int] = []

    def flush():
        if group:
            a, b = variants[group[0]].start, variants[group[-1]].start
            s = variant_window_start((a + b) // 2, seq_length)
            for i in group:
                starts[i] = s

    for i in order:
        v = variants[i]
        if group:
            g0 = variants[group[0]]
            same = v.chrom == g0.chrom and (v.start == g0.start if cluster_bp == 0
                                             else v.start + len(v.ref) - g0.start <= cluster_bp)
            if not same:
                flush()
                group = []
        group.append(i)
    flush()
    return starts


# ----------------------------------------------------------------------------- running
def chunk_jobs(jobs: list[Job], chunk_seqs: int = 64) -> list[list[Job]]:
    """Jobs in chunks of about ``chunk_seqs`` sequences (ref windows + alts), never splitting
    a window's jobs."""
    chunks, cur, cur_windows, count = [], [], set(), 0
    for job in jobs:
        key = (job.chrom, job.start)
        add = 1 + (key not in cur_windows)
        if cur and count + add > chunk_seqs and key not in cur_windows:
            chunks.append(cur)
            cur, cur_windows, count = [], set(), 0
            add = 2
        cur.append(job)
        cur_windows.add(key)
        count += add
    if cur:
        chunks.append(cur)
    return chunks


def _chunk_codes(chunk, genome, variants, L: int, stitch: str):
    """(reference codes (N, L), alternative codes (K, L), window → reference row) of one
    chunk; alternative k belongs to job k."""
    win_index: dict = {}
    refs = []
    for job in chunk:
        key = (job.chrom, job.start)
        if key not in win_index:
            win_index[key] = len(refs)
            refs.append(ref_codes(genome, job.chrom, job.start, L))
    alts = [alt_codes(genome, variants[job.vi], job.start, L, job.stitch or stitch) for job in chunk]
    return np.stack(refs), np.stack(alts), win_index


def run_jobs(pred: Predictor, genome, variants, jobs: list[Job], n_rows: int, stats, stitch: str,
             targets_df, do_untransform: bool, progress: Callable | None = None,
             chunk_seqs: int = 64) -> dict[str, np.ndarray]:
    """Predict every job's ref (shared per window) and alt, compute the statistics of every
    read-out per model. Returns {stat: (M, n_rows, T)} (NaN for masked-out tracks)."""
    from ..coverage import untransform

    L, T = pred.seq_length, int(pred.meta["num_targets"])
    out = {s: np.full((pred.num_models, n_rows, T), np.nan, np.float32) for s in stats}
    pred.expect(len({(j.chrom, j.start) for j in jobs}) + len(jobs))
    reported: set = set()
    counts = {"reused": 0, "whole": 0, "unchanged": 0}
    for chunk in chunk_jobs(jobs, chunk_seqs):
        refs, alts, win_index = _chunk_codes(chunk, genome, variants, L, stitch)
        rows, em, am, tm, ri, ai = [], [], [], [], [], []
        for a, job in enumerate(chunk):
            for row, emask, amask, tmask in job.readouts:
                rows.append(row)
                em.append(emask)
                am.append(amask)
                tm.append(tmask)
                ri.append(win_index[(job.chrom, job.start)])
                ai.append(a)
        if rows:
            y_ref, y_alt = pred.predict_edits(refs, alts, [win_index[(j.chrom, j.start)] for j in chunk])
            for k, n in pred.edit_counts.items():
                counts[k] += n
            if do_untransform and targets_df is not None:
                y_ref, y_alt = untransform(y_ref, targets_df), untransform(y_alt, targets_df)
            em, am, tmask = np.stack(em), np.stack(am), np.stack(tm)
            for mi in range(pred.num_models):
                res = compute_stats(y_ref[mi][ri], y_alt[mi][ai], stats, effect_mask=em, all_mask=am)
                for s in stats:
                    v = res[s]
                    v[~tmask] = np.nan
                    out[s][mi, rows] = v
        if progress is not None:
            new = {job.vi for job in chunk} - reported
            reported |= new
            progress(len(new))
    log.info("alternative sequences: %d from their reference's tower, %d predicted whole, %d equal to "
             "their reference", counts["reused"], counts["whole"], counts["unchanged"])
    return out
