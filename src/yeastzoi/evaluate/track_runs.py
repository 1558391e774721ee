"""The work of ``yeastzoi_eval.py``: evaluate a track model (and optionally a second one to
compare) on one split and write the tables and figures (:func:`run_track_eval`).

Definitions of the numbers: :mod:`yeastzoi.evaluate.tracks` and :mod:`yeastzoi.evaluate.genes`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from .tracks import (ProgressFactory, TrackEval, check_track_model, dataset_genomes, evaluate_tracks, genome_ids,
                     split_records, summarize, write_tsv)

log = logging.getLogger(__name__)


def _write_result(res: TrackEval, out_dir: Path, suffix: str) -> dict:
    out = {f"tracks{suffix}": write_tsv(res.tracks, out_dir / f"tracks{suffix}.tsv")}
    if res.genomes is not None:
        out[f"tracks_genomes{suffix}"] = write_tsv(res.genomes, out_dir / f"tracks_genomes{suffix}.tsv")
    if res.genes is not None:
        out[f"genes{suffix}"] = write_tsv(res.genes, out_dir / f"genes{suffix}.tsv")
        out[f"gene_values{suffix}"] = write_tsv(res.gene_values, out_dir / f"gene_values{suffix}.tsv")
    return out


def summary_table(labels, results) -> pd.DataFrame:
    """Per model and track group: mean / median of the per-track (and gene-level) R."""
    summaries = []
    for lab, res in zip(labels, results):
        s = summarize(res.tracks)
        if res.genes is not None:
            g = summarize(res.genes.rename(columns={"pearsonr": "gene_pearsonr",
                                                    "pearsonr_raw": "gene_pearsonr_raw"}),
                          columns=("gene_pearsonr", "gene_pearsonr_raw"))
            s = s.merge(g.drop(columns="n_tracks"), on="group", how="left")
        s.insert(0, "model", lab)
        summaries.append(s)
    return pd.concat(summaries, ignore_index=True)


def genome_summary_table(labels, results) -> pd.DataFrame | None:
    """Per model, genome and track group: n_seqs and mean / median per-track R (many-genome
    data only; None otherwise)."""
    parts = []
    for lab, res in zip(labels, results):
        if res.genomes is None:
            return None
        for name, d in res.genomes.groupby("genome", sort=False):
            s = summarize(d)
            s.insert(0, "n_seqs", int(d["n_seqs"].iloc[0]))
            s.insert(0, "genome", name)
            s.insert(0, "model", lab)
            parts.append(s)
    return pd.concat(parts, ignore_index=True)


def compare_table(labels, results) -> pd.DataFrame:
    """Per-track R of two models side by side (and their difference)."""
    a = results[0]
    df = pd.DataFrame({"identifier": a.tracks["identifier"], "description": a.tracks["description"],
                       "group": a.tracks["group"]})
    for lab, res in zip(labels, results):
        for c in ("pearsonr", "r2", "pearsonr_raw"):
            df[f"{c}_{lab}"] = res.tracks[c].to_numpy()
    df["pearsonr_diff"] = df[f"pearsonr_{labels[0]}"] - df[f"pearsonr_{labels[1]}"]
    return df


def write_figures(labels, results, out_dir: Path, split: str) -> dict:
    """Violin plots of per-track (and gene-level) R per group; a scatter of two models."""
    from .. import figures as F

    out = {}
    for lab, res in zip(labels, results):
        suffix = "" if lab == labels[0] else f"_{lab}"
        out[f"violin{suffix}"] = F.violin_by_group(
            res.tracks["pearsonr"], res.tracks["group"], out_dir / f"violin_pearsonr{suffix}.png",
            ylabel="Pearson R (per track, all bins)", title=f"{lab}: {split}")
        if res.genes is not None:
            out[f"violin_genes{suffix}"] = F.violin_by_group(
                res.genes["pearsonr"], res.genes["group"], out_dir / f"violin_genes{suffix}.png",
                ylabel="gene-level Pearson R (log2 exon sums)", title=f"{lab}: {split}")
        if res.genomes is not None:
            order = list(dict.fromkeys(res.genomes["genome"]))
            out[f"violin_genomes{suffix}"] = F.violin_by_group(
                res.genomes["pearsonr"], res.genomes["genome"], out_dir / f"violin_genomes{suffix}.png",
                ylabel="Pearson R (per track, the genome's bins)", title=f"{lab}: {split}, per genome", order=order)
    if len(results) == 2:
        out["scatter"] = F.scatter_compare(
            results[0].tracks["pearsonr"], results[1].tracks["pearsonr"], out_dir / "compare_pearsonr.png",
            xlabel=f"{labels[0]} Pearson R", ylabel=f"{labels[1]} Pearson R",
            groups=results[0].tracks["group"], title=f"per-track Pearson R, {split}")
    return out


def run_track_eval(params_path, model_path, data_dir, out_dir, split: str = "test",
                   fold: int | None = None, rc: bool = False, shifts=(0,), gtf=None,
                   compare=None, labels=None, batch_size: int | None = None, species=None,
                   save_preds: bool = False, plots: bool = True,
                   progress: ProgressFactory | None = None) -> dict:
    """Evaluate MODEL (and ``compare``) and write OUT; returns {name: path}.

    Models are loaded by :func:`yeastzoi.model.loader.load_model` (the spec stored with each
    wins; ``params_path`` — or '-' — gives the batch size and the spec of a file without
    yeastzoi metadata) and predicted by :class:`yeastzoi.model.predictor.Predictor` (``rc``,
    ``shifts``, the species rule with ``species``). Writes tracks.tsv (first model),
    genes.tsv and gene_values.tsv (with ``gtf``), summary.tsv (per group; a ``model``
    column), violin plots, and with ``compare``: tracks_<label2>.tsv, compare.tsv (per-track
    R of both side by side) and compare_pearsonr.png. A many-genome dataset adds
    tracks_genomes.tsv (per genome and track), summary_genomes.tsv (per model, genome and
    group) and violin_genomes.png (per-track R by genome).
    """
    from ..data.pipeline import read_statistics
    from ..model.loader import load_model, read_meta
    from ..model.params import load_params
    from ..model.predictor import Predictor

    out_dir = Path(out_dir)
    stats = read_statistics(data_dir)   # fail fast on a bad data dir, before loading Keras and models
    if dataset_genomes(stats):          # and on a sequences.bed without (known) genomes
        genome_ids(split_records(data_dir, split, fold)[1], dataset_genomes(stats), data_dir)
    if gtf is not None and not Path(gtf).is_file():
        raise YeastzoiError(f"{gtf}: annotation file not found; check the --gtf path")
    params = load_params(params_path) if params_path not in (None, "-") else None
    batch_size = int(batch_size or (params or {}).get("train", {}).get("batch_size", 4))
    models = [model_path] + ([compare] if compare else [])
    labels = [str(s) for s in (labels or ["model", "compare"][:len(models)])]
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        raise YeastzoiError(f"--labels needs {len(models)} distinct names (one per model), got {labels}")
    outputs, results = {}, []
    for k, (mp, lab) in enumerate(zip(models, labels)):
        stored = read_meta(mp) or {}
        if stored.get("model_spec"):
            check_track_model(stored, stats, mp, data_dir)   # fail before building the network
        pred = Predictor(load_model(mp, params), rc=rc, shifts=shifts, species=species,
                         batch_size=batch_size, names=[str(mp)])
        res = evaluate_tracks(pred, data_dir, split, fold, gtf=gtf, progress=progress,
                              preds_path=(out_dir / ("preds.h5" if k == 0 else f"preds_{lab}.h5"))
                              if save_preds else None)
        results.append(res)
        outputs.update(_write_result(res, out_dir, "" if k == 0 else f"_{lab}"))
        log.info("%s: %d sequences, %d bins × %d tracks; mean R %.4f (raw %.4f)%s", mp, res.n_seqs,
                 res.n_bins, len(res.tracks), np.nanmean(res.tracks["pearsonr"]),
                 np.nanmean(res.tracks["pearsonr_raw"]),
                 f"; gene-level mean R {np.nanmean(res.genes['pearsonr']):.4f} over "
                 f"{int(res.genes['n_genes'].iloc[0])} genes" if res.genes is not None else "")
        if res.genomes is not None:
            for name, d in res.genomes.groupby("genome", sort=False):
                log.info("  %s: %d sequences; mean R %.4f (raw %.4f)", name, int(d["n_seqs"].iloc[0]),
                         np.nanmean(d["pearsonr"]), np.nanmean(d["pearsonr_raw"]))
    outputs["summary"] = write_tsv(summary_table(labels, results), out_dir / "summary.tsv")
    by_genome = genome_summary_table(labels, results)
    if by_genome is not None:
        outputs["summary_genomes"] = write_tsv(by_genome, out_dir / "summary_genomes.tsv")
    if len(results) == 2:
        outputs["compare"] = write_tsv(compare_table(labels, results), out_dir / "compare.tsv")
    if plots:
        outputs.update(write_figures(labels, results, out_dir, split))
    return outputs
