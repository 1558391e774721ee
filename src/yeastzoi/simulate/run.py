"""SIMULATED coverage with ground truth: ChIP-exo, MNase, H3K4me3 and RNA-seq tracks built
from the real R64 genome sequence and annotation.

Everything this module writes is SIMULATED data (labelled so in every description, BAM
header comment and summary). It exists so that a whole pipeline (coverage → TFRecords →
training → variant scoring) can be checked end to end against a known truth.

Generative model (every number is a field of :class:`SimConfig`)
----------------------------------------------------------------
1. **Motifs.** ``factors`` (12 by default) are S. cerevisiae JASPAR matrices
   (:func:`yeastzoi.genome.motifs.load_yeast_motifs`, ``pseudocount`` per base), scored as
   log2-odds against the base composition of the whole FASTA.
2. **Sites** are windows whose score (max over both strands) reaches the one-strand
   p-value ``site_pvalue`` threshold (about 2,000 sites per factor on R64).
3. **Occupancy** = affinity × accessibility, affinity =
   logistic(``occ_slope`` · (s − thr)/(max − thr) − ``occ_offset``), accessibility =
   ``acc_ndr`` in the ``ndr_bp`` bp upstream of a TSS (the nucleosome-depleted region),
   ``acc_promoter`` in the rest of the ``promoter_bp`` bp promoter, ``acc_background``
   elsewhere. Each site is bound with probability = occupancy (seeded) → truth/sites.bed.
4. **Expression** (log2) of protein-coding gene g in condition c:
   ``expr_base + Σ_f W[f, c] · M[g, f] + ε_g``, with M[g, f] = ``content_cap`` ·
   tanh(Σ occupancy / ``content_cap``) over factor f's sites inside g's promoter (saturating) (accessibility measured from g's TSS), W[f, c] =
   ``weights[f]`` (× ``induction_fold`` for the factor induced in c), ε_g ~
   Normal(0, ``expr_noise_sd``) seeded per gene id. Condition 0 is ``basal``; condition
   c ≥ 1 induces ``induced_factors[(c−1) mod k]``. A variant's true effect is exactly
   ``(M(alt) − M(ref)) · W[:, c]``. See :mod:`yeastzoi.simulate.model`.
5. **Reads** (single-end, ``read_length`` bp, error-free; :mod:`yeastzoi.simulate.reads`),
   counts per Mb of simulated sequence × ``depth``:
   ChIP-exo (one track per factor in ``chipexo_factors``): 5′ ends at bound-site borders
   (+ reads at the left border, − reads at the right, jitter sd ``chipexo_jitter_sd``),
   plus ``chipexo_background_frac`` uniform reads.
   MNase: dyads of the +1 nucleosome at TSS + ``nuc_plus1_offset`` and a phased array
   every ``nuc_spacing`` bp into the gene body (at most ``nuc_array_max``), positional sd
   ``nuc_phase_sd0`` + k·``nuc_phase_sd_step`` for the k-th (decaying phasing), a −1
   nucleosome upstream of the NDR, random background nucleosomes
   (``nuc_background_per_kb``) outside NDRs taking ``nuc_background_frac`` of the
   fragments; each fragment yields one read from one end of the ±``nuc_half_footprint`` bp
   footprint. H3K4me3: the first nucleosomes of each gene (relative weights
   ``h3k4me3_weights``) × 2^basal expression. RNA-seq (one BAM per condition, two
   stranded tracks): reads per gene ∝ 2^expr × spliced length, uniform along the spliced
   transcript, on the gene's strand; ``rnaseq_background_frac`` uniform reads.
6. **Coverage.** bigWigs are computed from the BAMs by :func:`yeastzoi.coverage.bam_to_coverage`:
   ChIP-exo 5′ ends (mode ``5p``, no shift: the borders are the signal); MNase and
   H3K4me3 5′ ends shifted ``nuc_half_footprint`` bp (mode ``5p``: dyads); RNA-seq read
   mass over aligned blocks (mode ``all``, per strand).

Targets sheet (``targets.txt``, baskerville columns + ``group``). Choices: ChIP-exo,
MNase and H3K4me3 are point counts per bp, so ``sum`` over a bin is the read count in
the bin (tens at peaks): ``sum``, scale 1, clip_soft 32, clip 128 tame rare pile-ups.
RNA-seq read mass spans ~2^10 across genes: ``sum_sqrt`` compresses it, scale 1,
clip_soft 32, clip 64 (values rarely reach the clip).

Outputs under OUT_DIR: ``bam/*.bam(.bai)``, ``bigwig/*.bw``, ``targets.txt``,
``truth/{genes.tsv, conditions.txt, sites.bed, variants.vcf, mpra.tsv}``,
``done.json`` (written last; a finished OUT_DIR with the same settings is reused).

Modules: :mod:`.config` (:class:`SimConfig`, keyed random streams), :mod:`.model` (sites,
occupancy, content, expression), :mod:`.truth` (per-chromosome truth and ``truth/``
files), :mod:`.variants` (truth variants, MPRA), :mod:`.tracks` (libraries per assay,
BAMs, bigWigs, targets sheet), :mod:`.reads` (read placement, BAM writing); this module
ties them together.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from . import model as sm
from . import variants as sv
from .config import SIMULATED, SimConfig
from .tracks import LibraryWriter, simulate_libraries, write_targets_sheet
from .truth import simulate_truth, write_truth
from ..fileio import write_json_atomic

log = logging.getLogger(__name__)

__all__ = ["SIMULATED", "SimConfig", "simulate_genome"]


def simulate_genome(genome_dir, out_dir, chroms=None, seed: int = 0, depth: float = 1.0,
                    conditions: int = 4, config: SimConfig | None = None, progress=None,
                    motif_background=None) -> dict:
    """Simulate coverage tracks and ground truth for a genome folder (SIMULATED data).

    Args:
        genome_dir: folder written by ``yeastzoi_genome.py r64`` (genome.fa, genes.gtf).
        out_dir: output folder (see the module docstring for its layout).
        chroms: chromosome names to simulate (default: all in the FASTA). BAM and bigWig
            headers always list every FASTA chromosome.
        seed: random seed; the same seed and settings give identical truth files.
        depth: multiplies every read count.
        conditions: number of RNA-seq conditions (≥ 1; 0 is basal).
        config: :class:`SimConfig` (default settings when None).
        progress: optional callable(str) told about each step (for a CLI progress bar).
        motif_background: base composition (4,) the motifs are scored against (default: the
            FASTA's own). A strain panel passes its reference's, so every strain shares ONE
            regulatory model (the same site thresholds, weights and per-gene noise).

    Returns: summary dict (also in ``out_dir/done.json``): tracks with read counts,
    numbers of genes / bound sites / variants, runtime in seconds.
    """
    cfg = config or SimConfig()
    _check_arguments(cfg, conditions, depth)
    t0 = time.time()
    step = progress or (lambda msg: None)
    out = Path(out_dir)
    paths, genome, genes_all, exons = _load_genome(genome_dir)
    chrom_sizes = dict(genome.chroms)
    sim_chroms = _resolve_chroms(genome, chroms)
    settings = _settings(genome_dir, sim_chroms, seed, depth, conditions, cfg)
    if motif_background is not None:
        settings["motif_background"] = [float(x) for x in motif_background]
    done = out / "done.json"
    if done.exists():
        return _reuse(out, done, settings)
    out.mkdir(parents=True, exist_ok=True)

    step("motifs")
    from ..genome import background_from_codes
    all_codes = {c: genome.fetch_codes(c, 0, n) for c, n in chrom_sizes.items()}
    background = background_from_codes(np.concatenate(list(all_codes.values()))) if motif_background is None \
        else np.asarray(motif_background, np.float64)
    ms = sm.build_motifset(cfg, background)
    W, conds = sm.condition_weights(ms, cfg, conditions)
    cond_names = [c for c, _ in conds]
    genes = _simulated_genes(genes_all, sim_chroms, paths["gtf"])
    chrom_index = {c: i for i, c in enumerate(chrom_sizes)}
    truth = simulate_truth(seed, genes, all_codes, sim_chroms, chrom_index, ms, W, cfg, step)

    step("truth")
    write_truth(out / "truth", seed, truth, ms, W, conds, background, chrom_sizes, Path(paths["fasta"]).name, cfg)
    lib = LibraryWriter(out, cfg, depth, sim_chroms, chrom_sizes, chrom_index, all_codes, step)
    tracks = simulate_libraries(lib, seed, truth, exons, cond_names)
    write_targets_sheet(out / "targets.txt", tracks)
    summary = _summary(settings, sim_chroms, truth, cond_names, tracks, t0)
    write_json_atomic(done, summary)
    return summary


def _check_arguments(cfg: SimConfig, conditions: int, depth: float) -> None:
    cfg.check()
    if conditions < 1:
        raise YeastzoiError(f"--conditions must be ≥ 1, got {conditions}")
    if not depth > 0:
        raise YeastzoiError(f"--depth must be > 0, got {depth}")


def _settings(genome_dir, chroms, seed, depth, conditions, cfg) -> dict:
    return {"genome_dir": str(Path(genome_dir).resolve()), "chroms": list(chroms), "seed": int(seed),
            "depth": float(depth), "conditions": int(conditions),
            "config": json.loads(json.dumps(dataclasses.asdict(cfg)))}


def _load_genome(genome_dir):
    """(paths, Genome, genes table, exons by gene) of a genome folder."""
    from ..genome import Genome, exons_by_gene, genes_table, load_genome_dir, read_gtf

    paths = load_genome_dir(genome_dir, require=("fasta", "gtf"))
    genome = Genome(paths["fasta"])
    gtf = read_gtf(paths["gtf"])
    return paths, genome, genes_table(gtf), exons_by_gene(gtf)


def _resolve_chroms(genome, chroms) -> list[str]:
    """The FASTA names of ``chroms`` (all FASTA chromosomes when None), each once."""
    if chroms is None:
        return list(dict(genome.chroms))
    sim_chroms = [genome.resolve(c) for c in chroms]
    if len(set(sim_chroms)) != len(sim_chroms):
        raise YeastzoiError(f"--chroms lists a chromosome twice: {','.join(chroms)}")
    return sim_chroms


def _reuse(out: Path, done: Path, settings: dict) -> dict:
    """The summary of a finished simulation with the same settings (error otherwise)."""
    prev = json.loads(done.read_text())
    if prev.get("settings") == settings:
        log.info("%s: finished simulation with the same settings found; reusing it", out)
        prev["reused"] = True
        return prev
    raise YeastzoiError(f"{out}: holds a finished simulation with different settings; "
                        f"choose another OUT_DIR or delete this one")


def _simulated_genes(genes_all: pd.DataFrame, sim_chroms: list, gtf_path) -> pd.DataFrame:
    """Protein-coding genes on ``sim_chroms``, in their order then by TSS, index 0..n-1."""
    genes = genes_all[(genes_all["gene_biotype"] == "protein_coding")
                      & genes_all["chrom"].isin(sim_chroms)].copy()
    genes["chrom"] = pd.Categorical(genes["chrom"], categories=sim_chroms, ordered=True)
    genes = genes.sort_values(["chrom", "tss"], kind="stable").reset_index(drop=True)
    genes["chrom"] = genes["chrom"].astype(str)
    if genes.empty:
        raise YeastzoiError(f"{gtf_path}: no protein_coding genes on {','.join(sim_chroms)}; "
                            f"pick chromosomes with annotated genes")
    return genes


def _summary(settings: dict, sim_chroms: list, truth, cond_names: list, tracks: list, t0: float) -> dict:
    variants = truth.variants
    return {
        "simulated": True,
        "note": f"{SIMULATED} data from yeastzoi.simulate.run (not real measurements)",
        "settings": settings,
        "chroms": sim_chroms,
        "genes": int(len(truth.genes)),
        "bound_sites": int(len(truth.bound)),
        "variants": int(len(variants)),
        "variant_classes": {c: sum(v["cls"] == c for v in variants) for c in sv.CLASSES},
        "conditions": cond_names,
        "tracks": [{k: t[k] for k in ("identifier", "group", "file", "bam", "reads")} for t in tracks],
        "total_reads": int(sum(t["reads"] for t in tracks if t.get("count_reads", True))),
        "seconds": round(time.time() - t0, 1),
    }
