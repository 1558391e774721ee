"""SIMULATED ground truth for :mod:`yeastzoi.simulate.run`: bound sites, promoter motif
content, expression and truth variants per chromosome (steps 2-4 of the generative model
in that module's docstring), and the ``truth/`` files written from them.

Random streams (:func:`~yeastzoi.simulate.config.keyed_rng`, keyed by names so the order
they are used in does not matter): ``("bound", chrom)`` draws which sites are bound,
``("variants", chrom)`` the truth variants, ``("noise", gene_id)`` each gene's expression
noise and ``("reporters",)`` the MPRA reporter genes.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from . import model as sm
from . import variants as sv
from .config import SIMULATED, SimConfig, keyed_rng
from ..fileio import atomic_path, write_json_atomic, write_text_atomic


@dataclasses.dataclass
class Truth:
    """The simulated truth of a genome (SIMULATED data).

    ``genes``: protein-coding genes simulated (chromosome order, then TSS); ``content``:
    promoter motif content M (genes × factors); ``noise``: each gene's expression noise;
    ``expr``: log2 expression (genes × conditions); ``bound``: bound sites as
    (chrom, start, end, factor, score, strand), sorted by chromosome, start, factor;
    ``variants``: truth variant dicts sorted by chromosome, position, REF, ALT, with
    ``id`` simvarNNNNNN and ``lfc`` rounded to 6 decimals; ``accessibility``: chrom →
    accessibility track (see :func:`yeastzoi.simulate.model.accessibility_track`).
    """
    genes: pd.DataFrame
    content: np.ndarray
    noise: np.ndarray
    expr: np.ndarray
    bound: list
    variants: list
    accessibility: dict


def bound_sites(rng: np.random.Generator, chrom: str, codes: np.ndarray, acc: np.ndarray,
                ms: sm.MotifSet, cfg: SimConfig) -> list[tuple]:
    """Sites of every factor on one chromosome, each bound with probability = occupancy:
    rows (chrom, start, end, factor, score, strand) in factor order, then position."""
    bound = []
    for f, s in enumerate(sm.genome_sites(codes, acc, ms, cfg)):
        hit = rng.random(len(s["occ"])) < s["occ"]
        for a, b, sc, st in zip(s["start"][hit], s["end"][hit], s["score"][hit], s["strand"][hit]):
            bound.append((chrom, int(a), int(b), ms.names[f], float(sc), st))
    return bound


def simulate_truth(seed: int, genes: pd.DataFrame, all_codes: dict, sim_chroms: list, chrom_index: dict,
                   ms: sm.MotifSet, W: np.ndarray, cfg: SimConfig, step=lambda msg: None) -> Truth:
    """Bound sites, promoter content and truth variants chromosome by chromosome, then
    expression of every gene (``genes``: protein-coding genes on ``sim_chroms`` with a
    0..n-1 index; ``all_codes``: chrom → DNA codes; ``chrom_index``: chrom → index in the
    genome's chromosome list, the sort order of sites and variants)."""
    M = np.zeros((len(genes), ms.n))
    bound, variants, acc_tracks = [], [], {}
    for c in sim_chroms:
        step(f"sites {c}")
        codes = all_codes[c]
        gsel = genes.index[genes["chrom"] == c]
        gsub = genes.loc[gsel]
        acc = sm.accessibility_track(len(codes), gsub["tss"].to_numpy(), gsub["strand"].tolist(), cfg)
        acc_tracks[c] = acc
        bound += bound_sites(keyed_rng(seed, "bound", c), c, codes, acc, ms, cfg)
        for i, g in zip(gsel, gsub.itertuples(index=False)):
            M[i] = sm.promoter_content(sm.promoter_codes(codes, int(g.tss), g.strand, cfg.promoter_bp), ms, cfg)
        variants += sv.choose_variants(keyed_rng(seed, "variants", c), c, codes, gsub, ms, W, cfg)
    noise = np.array([keyed_rng(seed, "noise", gid).normal(0.0, cfg.expr_noise_sd) for gid in genes["gene_id"]])
    expr = sm.expression(M, W, noise, cfg)
    bound.sort(key=lambda r: (chrom_index[r[0]], r[1], r[3]))
    variants.sort(key=lambda v: (chrom_index[v["chrom"]], v["pos"], v["ref"], v["alt"]))
    for k, v in enumerate(variants):
        v["id"] = f"simvar{k + 1:06d}"
        v["lfc"] = np.round(v["lfc"], 6) + 0.0
    return Truth(genes, M, noise, expr, bound, variants, acc_tracks)


def genes_truth_table(truth: Truth, ms: sm.MotifSet, cond_names: list) -> pd.DataFrame:
    """``truth/genes.tsv``: gene, TSS, expression per condition, motif content, noise."""
    gt = truth.genes[["gene_id", "gene_name", "chrom", "tss", "strand"]].copy()
    for k, cn in enumerate(cond_names):
        gt[f"expr_{cn}"] = np.round(truth.expr[:, k], 6)
    for f, name in enumerate(ms.names):
        gt[f"motif_{name}"] = np.round(truth.content[:, f], 6)
    gt["noise"] = np.round(truth.noise, 6)
    return gt


def mpra_table(seed: int, truth: Truth, ms: sm.MotifSet, W: np.ndarray, cond_names: list,
               cfg: SimConfig) -> pd.DataFrame:
    """``truth/mpra.tsv``: every variant's REF/ALT promoter in ``cfg.mpra_reporters``
    reporter genes drawn from the ``("reporters",)`` stream (see :mod:`.variants`)."""
    genes = truth.genes
    rep_rng = keyed_rng(seed, "reporters")
    reporters = genes.iloc[np.sort(rep_rng.choice(len(genes), size=min(cfg.mpra_reporters, len(genes)),
                                                  replace=False))]
    noise_by_gene = dict(zip(genes["gene_id"], truth.noise))
    return pd.DataFrame(sv.mpra_rows(truth.variants, reporters, ms, W, noise_by_gene, cfg, cond_names))


def write_truth(truth_dir, seed: int, truth: Truth, ms: sm.MotifSet, W: np.ndarray, conds: list,
                background: np.ndarray, chrom_sizes: dict, fasta_name: str, cfg: SimConfig) -> None:
    """Write ``genes.tsv``, ``conditions.txt``, ``sites.bed``, ``variants.vcf``,
    ``mpra.tsv`` and ``model.json`` under ``truth_dir`` (``conds``: (name, induced factor
    or None) per condition)."""
    truth_dir = Path(truth_dir)
    cond_names = [c for c, _ in conds]
    _write_tsv(truth_dir / "genes.tsv", genes_truth_table(truth, ms, cond_names))
    write_text_atomic(truth_dir / "conditions.txt",
                      "".join(f"{n}\t{fac or 'none'}\n" for n, fac in conds))
    write_text_atomic(truth_dir / "sites.bed", "".join(f"{c}\t{a}\t{b}\t{f}\t{sc:.3f}\t{st}\n"
                                                       for c, a, b, f, sc, st in truth.bound))
    write_text_atomic(truth_dir / "variants.vcf", sv.vcf_text(truth.variants, chrom_sizes, cond_names, fasta_name))
    _write_tsv(truth_dir / "mpra.tsv", mpra_table(seed, truth, ms, W, cond_names, cfg))
    write_json_atomic(truth_dir / "model.json", {
        "note": f"{SIMULATED} data: designed coefficients of the expression model",
        "factors": ms.names, "weights": list(map(float, ms.weights)),
        "thresholds_bits": [round(float(x), 4) for x in ms.thr],
        "W": {cn: [float(x) for x in W[:, k]] for k, cn in enumerate(cond_names)},
        "expr_base": cfg.expr_base, "background": [float(x) for x in background]})


def _write_tsv(path, df: pd.DataFrame):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)
