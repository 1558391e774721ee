"""Variant effect scoring: variant-level and gene-level scores of SNPs and indels.

    models = load_models(paths)                     # yeastzoi.model.loader
    variants, _ = read_variants("calls.vcf", genome)
    opts = ScoreOptions(stats=("SAD", "logSED"), rc=True, shifts=(0, 1))
    result = score_variants(models, genome, variants, opts, targets_df=read_targets(sheet))
    write_scores_h5("out/scores.h5", result)

Windows
-------
A variant's window is ``seq_length`` bp with the variant's first REF base at 0-based index
``seq_length // 2 - 1`` (baskerville's convention,
:func:`yeastzoi.model.geometry.variant_window_start`); bases off a chromosome end are N.
With ``cluster_bp > 0`` nearby variants share one window and one reference prediction
(:func:`yeastzoi.score.engine.cluster_windows`); with ``cluster_bp = 0`` (default) only
variants at the same position (e.g. split multi-allelic records) share a window.
Alternative sequences and indel stitching: :mod:`yeastzoi.score.sequences`. An alternative
that differs from its reference window in a short span (SNVs, MNPs) reuses the reference's
convolutional tower and recomputes only the positions the edit reaches
(:meth:`yeastzoi.model.predictor.Predictor.predict_edits`, :mod:`yeastzoi.model.local_edits`:
the same scores within float tolerance, about half the work of a Shorkie forward pass);
``ScoreOptions(reuse_tower=False)`` / ``--whole-alt`` predicts every alternative whole.

Predictions and statistics
--------------------------
The engine (:mod:`yeastzoi.score.engine`) predicts ref and alt windows with the one
:class:`~yeastzoi.model.predictor.Predictor` (ensembles, RC/shift averaging, the species
channel, batching) and computes the statistics of :mod:`yeastzoi.score.stats` per model,
then their mean (``<stat>``) and std across models (``<stat>_std``).

Effect bins: for variant scoring (:func:`score_variants`) the bins overlapping
``[pos0 − sed_bp, pos0 + len(REF) + sed_bp)`` (``sed_bp`` default 1024); for gene scoring
(:func:`score_variant_genes`) the gene's bins (:meth:`yeastzoi.model.geometry.Geometry.gene_bins`:
every bin overlapping an exon by ≥ 1 bp — the rule gene-level evaluation uses), and there
*every* statistic is taken over the gene's bins (so SAD = SED there).
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import pandas as pd

from ..model.geometry import gene_window_start, variant_window_start
from .engine import (Job, cluster_windows, gene_readout, prepare_scoring, run_jobs, run_settings,
                     target_labels, track_strands)
from .results import ScoreResult
from .stats import reduce_models

# names other modules imported from here before the split (plots/demo.py, cli.py,
# benchmarks/bench_snp.py); new code imports them from their own modules
from ..model.predictor import parse_shifts  # noqa: F401
from .eqtl import truth_accuracy, truth_conditions as _truth_conditions, variant_key as _variant_key  # noqa: F401
from .eqtl import variant_scores  # noqa: F401
from .options import ScoreOptions, parse_stats  # noqa: F401
from .results import read_scores_h5, write_scores_h5  # noqa: F401
from .sequences import alt_codes, ref_codes  # noqa: F401
from ..model.geometry import variant_window_start as window_start  # noqa: F401

log = logging.getLogger(__name__)


def score_variants(models, genome, variants, opts: ScoreOptions, targets_df=None,
                   model_paths=None, progress: Callable | None = None) -> ScoreResult:
    """Score every variant with every model (see the module docstring). ``models``: SeqNNs
    or a :class:`~yeastzoi.model.predictor.Predictor`; ``progress(n)`` is called with the
    number of variants finished after each chunk."""
    pred, do_untransform = prepare_scoring(models, opts, targets_df)
    meta, geo = pred.meta, pred.geometry
    L, T = pred.seq_length, int(meta["num_targets"])
    starts = cluster_windows(variants, L, opts.cluster_bp)
    full = np.ones(geo.target_length, bool)
    tall = np.ones(T, bool)
    jobs = []
    for i in sorted(starts, key=lambda i: (variants[i].chrom, starts[i], i)):
        v, s = variants[i], starts[i]
        em = geo.bins_overlapping(s, v.start - opts.sed_bp, v.start + len(v.ref) + opts.sed_bp)
        jobs.append(Job(i, v.chrom, s, [(i, em, full, tall)]))
    n_win = len({(j.chrom, j.start) for j in jobs})
    log.info("%d variants in %d windows; %d model(s), rc=%s, shifts=%s, batch %d", len(variants), n_win,
             pred.num_models, pred.rc, pred.shifts, pred.batch_size)
    per_model = run_jobs(pred, genome, variants, jobs, len(variants), opts.stats, opts.stitch,
                         targets_df, do_untransform, progress)
    ids, labels = target_labels(meta, targets_df)
    attrs = run_settings(pred, model_paths, opts, do_untransform, "snp")
    attrs["windows"] = n_win
    return ScoreResult(list(variants), reduce_models(per_model), ids, labels, attrs)


def score_variant_genes(models, genome, variants, genes: pd.DataFrame, exons: dict,
                        opts: ScoreOptions, targets_df=None, model_paths=None,
                        progress: Callable | None = None) -> ScoreResult:
    """Gene-level scores: one output row per (variant, gene) pair for every gene whose span
    overlaps the variant-centred input window. Every statistic is taken over the gene's bins
    (:func:`yeastzoi.score.engine.gene_readout`) in a window placed by
    :func:`yeastzoi.model.geometry.gene_window_start`; for stranded tracks only those on the
    gene's strand are scored (the others are NaN).

    ``genes``: :func:`yeastzoi.genome.genes_table` rows (chromosomes already FASTA names);
    ``exons``: :func:`yeastzoi.genome.exons_by_gene`."""
    pred, do_untransform = prepare_scoring(models, opts, targets_df)
    meta, geo = pred.meta, pred.geometry
    L, T = pred.seq_length, int(meta["num_targets"])
    strands = track_strands(targets_df, T)
    if targets_df is None:
        log.warning("no targets sheet: every track is treated as unstranded")
    by_chrom = {c: g for c, g in genes.groupby("chrom", sort=False)}
    jobs: dict[tuple, Job] = {}
    pairs = []
    partial = 0
    for vi, v in enumerate(variants):
        g = by_chrom.get(v.chrom)
        if g is None:
            continue
        s0 = variant_window_start(v.start, L)
        for gr in g[(g["start"] < s0 + L) & (g["end"] > s0)].itertuples(index=False):
            ex = exons.get(gr.gene_id) or [(int(gr.start), int(gr.end))]
            s, fits = gene_window_start(v.start, min(e[0] for e in ex), max(e[1] for e in ex), geo)
            partial += int(not fits)
            em, tm = gene_readout(geo, s, ex, gr.strand, strands)
            if not em.any():
                continue
            jobs.setdefault((vi, s), Job(vi, v.chrom, s, [])).readouts.append((len(pairs), em, em, tm))
            pairs.append((vi, gr.gene_id, getattr(gr, "gene_name", ""), gr.strand, bool(fits)))
    if partial:
        log.warning("%d variant-gene pairs: the gene is longer than the output region or too far "
                    "from the variant; only its exon bins inside the window are scored", partial)
    job_list = sorted(jobs.values(), key=lambda j: (j.chrom, j.start, j.vi))
    log.info("%d variants, %d variant-gene pairs, %d windows", len(variants), len(pairs),
             len({(j.chrom, j.start) for j in job_list}))
    per_model = run_jobs(pred, genome, variants, job_list, len(pairs), opts.stats, opts.stitch,
                         targets_df, do_untransform, progress)
    ids, labels = target_labels(meta, targets_df)
    attrs = run_settings(pred, model_paths, opts, do_untransform, "snpgene")
    pairs_df = pd.DataFrame(pairs, columns=["si", "gene_id", "gene_name", "gene_strand", "gene_fits"])
    return ScoreResult(list(variants), reduce_models(per_model), ids, labels, attrs, pairs=pairs_df)
