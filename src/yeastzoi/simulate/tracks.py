"""SIMULATED libraries for :mod:`yeastzoi.simulate.run`: reads per assay (ChIP-exo,
MNase, H3K4me3, RNA-seq; steps 5-6 of the generative model in that module's docstring),
one BAM per library, its bigWig coverage, and the targets sheet describing the tracks.

Read counts are ``reads_per_mb`` × Mb of simulated chromosomes × ``depth``. Random streams
(:func:`~yeastzoi.simulate.config.keyed_rng`): ``("chipexo", FACTOR)``, ``("mnase",)``,
``("h3k4me3",)`` and ``("rnaseq", condition)``, one per library.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from . import reads as sr
from .config import SIMULATED, SimConfig, keyed_rng


class LibraryWriter:
    """Writes simulated libraries (BAM + bigWigs) under ``out`` and collects one track
    record per bigWig (``tracks``: identifier, group, file, bam, reads, description,
    count_reads — False for the second strand of a library, so reads count once)."""

    def __init__(self, out, cfg: SimConfig, depth: float, sim_chroms: list, chrom_sizes: dict,
                 chrom_index: dict, all_codes: dict, step=lambda msg: None):
        self.out = Path(out)
        self.cfg = cfg
        self.depth = depth
        self.sim_chroms = list(sim_chroms)
        self.chrom_sizes = chrom_sizes
        self.chrom_index = chrom_index
        self.step = step
        self.names = list(chrom_sizes)
        self.lens = np.array([chrom_sizes[c] for c in self.names], dtype=np.int64)
        self.sim_ids = np.array([chrom_index[c] for c in sim_chroms])
        self.mb = self.lens[self.sim_ids].sum() / 1e6
        self.seqs = {c: all_codes[c] for c in sim_chroms}
        self.tracks: list[dict] = []

    def n_reads(self, per_mb: float) -> int:
        """Reads in a library of ``per_mb`` reads per Mb of simulated sequence."""
        return int(round(per_mb * self.mb * self.depth))

    def uniform(self, rng: np.random.Generator, n: int) -> sr.Reads:
        """``n`` background reads uniform over the simulated chromosomes."""
        return sr.uniform_reads(rng, n, self.sim_ids, self.lens, self.cfg.read_length)

    def emit(self, name: str, reads: sr.Reads, group: str, desc: str, cov_specs: list) -> None:
        """Write ``bam/NAME.bam`` and one bigWig per (identifier, file name,
        :func:`~yeastzoi.coverage.bam_to_coverage` keywords, description suffix)."""
        from ..coverage import bam_to_coverage, write_bigwig

        self.step(f"reads {name}")
        reads = sr.clip_reads(reads, self.lens)
        bam = self.out / "bam" / f"{name}.bam"
        n = sr.write_bam(bam, reads, self.names, self.lens, self.seqs, name_prefix=name,
                         description=f"{SIMULATED} {desc} reads from yeastzoi.simulate.run")
        first = True
        for ident, fname, kw, extra in cov_specs:
            cov = bam_to_coverage(bam, self.chrom_sizes, **kw)
            write_bigwig(self.out / "bigwig" / fname, cov.coverage, self.chrom_sizes)
            self.tracks.append({"identifier": ident, "file": f"bigwig/{fname}", "bam": f"bam/{name}.bam",
                                "reads": n, "group": group, "description": f"{SIMULATED} {desc}" + extra,
                                "count_reads": first})
            first = False


def chipexo_libraries(lib: LibraryWriter, seed: int, bound: list) -> None:
    """One ChIP-exo library per ``cfg.chipexo_factors``: 5′ ends at bound-site borders plus
    ``chipexo_background_frac`` uniform reads (all uniform for a factor with no bound site)."""
    cfg = lib.cfg
    site_arr = pd.DataFrame(bound, columns=["chrom", "start", "end", "factor", "score", "strand"])
    for fac in cfg.chipexo_factors:
        fac = fac.upper()
        rng = keyed_rng(seed, "chipexo", fac)
        s = site_arr[site_arr["factor"] == fac]
        n = lib.n_reads(cfg.chipexo_reads_per_mb)
        n_bg = int(round(n * cfg.chipexo_background_frac)) if len(s) else n
        reads = sr.Reads.concat([
            sr.chipexo_reads(rng, n - n_bg, s["chrom"].map(lib.chrom_index).to_numpy(), s["start"].to_numpy(),
                             s["end"].to_numpy(), cfg.read_length, cfg.chipexo_jitter_sd),
            lib.uniform(rng, n_bg)])
        lib.emit(f"chipexo_{fac}", reads, "chipexo", f"ChIP-exo {fac}",
                 [(f"SIM_CHIPEXO_{fac}", f"chipexo_{fac}.bw", {"mode": "5p"}, " (5' ends)")])


@dataclasses.dataclass
class Nucleosomes:
    """Phased nucleosome arrays of the simulated genes (shared by MNase and H3K4me3).

    One entry per array nucleosome: ``chrom`` (chromosome index), ``dyad``, positional
    ``sd``, ``gene`` (row of the genes table) and ``k`` (0 for the +1 nucleosome). Per
    gene: ``gene_chrom`` (chromosome index) and ``minus1`` (the −1 nucleosome's dyad,
    upstream of the NDR).
    """
    chrom: np.ndarray
    dyad: np.ndarray
    sd: np.ndarray
    gene: np.ndarray
    k: np.ndarray
    gene_chrom: np.ndarray
    minus1: np.ndarray


def nucleosome_arrays(genes: pd.DataFrame, chrom_index: dict, cfg: SimConfig) -> Nucleosomes:
    """+1 nucleosome at TSS + ``nuc_plus1_offset``, then one every ``nuc_spacing`` bp into
    the gene body (at most ``nuc_array_max``; the +1 always), sd ``nuc_phase_sd0`` +
    k·``nuc_phase_sd_step``; −1 nucleosome ``ndr_bp`` + ``nuc_half_footprint`` upstream."""
    gc = genes["chrom"].map(chrom_index).to_numpy()
    tss = genes["tss"].to_numpy().astype(np.int64)
    sign = np.where(genes["strand"].to_numpy() == "+", 1, -1)
    glen = (genes["end"] - genes["start"]).to_numpy()
    ks = np.arange(cfg.nuc_array_max)
    off = cfg.nuc_plus1_offset + ks * cfg.nuc_spacing                       # (K,)
    in_gene = (off[None, :] < np.maximum(glen[:, None], cfg.nuc_plus1_offset + 1))
    g_idx, k_idx = np.nonzero(in_gene)
    return Nucleosomes(chrom=gc[g_idx], dyad=tss[g_idx] + sign[g_idx] * off[k_idx],
                       sd=cfg.nuc_phase_sd0 + k_idx * cfg.nuc_phase_sd_step, gene=g_idx, k=k_idx,
                       gene_chrom=gc, minus1=tss - sign * (cfg.ndr_bp + cfg.nuc_half_footprint))


def _background_dyads(rng: np.random.Generator, lib: LibraryWriter, accessibility: dict):
    """Random background nucleosomes (``nuc_background_per_kb``) outside NDRs:
    (chromosome index, dyad) arrays."""
    cfg = lib.cfg
    bg_c, bg_d = [], []
    for c in lib.sim_chroms:
        nb = int(round(cfg.nuc_background_per_kb * lib.chrom_sizes[c] / 1000))
        d = np.sort(rng.integers(0, lib.chrom_sizes[c], size=nb))
        d = d[accessibility[c][d] < cfg.acc_ndr]
        bg_c.append(np.full(len(d), lib.chrom_index[c]))
        bg_d.append(d)
    return np.concatenate(bg_c), np.concatenate(bg_d)


def mnase_library(lib: LibraryWriter, seed: int, nuc: Nucleosomes, accessibility: dict) -> None:
    """MNase-seq: fragments from the arrays and −1 nucleosomes, ``nuc_background_frac`` of
    them from background nucleosomes (positional sd 2·``nuc_phase_sd0``)."""
    cfg = lib.cfg
    rng = keyed_rng(seed, "mnase")
    bg_c, bg_d = _background_dyads(rng, lib, accessibility)
    nuc_chrom = np.concatenate([nuc.chrom, nuc.gene_chrom])
    nuc_dyad = np.concatenate([nuc.dyad, nuc.minus1])
    nuc_sd = np.concatenate([nuc.sd, np.full(len(nuc.gene_chrom), cfg.nuc_phase_sd0)])
    n = lib.n_reads(cfg.mnase_reads_per_mb)
    n_bg = int(round(n * cfg.nuc_background_frac)) if len(bg_d) else 0
    pick = rng.integers(0, len(nuc_dyad), size=n - n_bg)
    pick_bg = rng.integers(0, len(bg_d), size=n_bg)
    reads = sr.fragment_end_reads(
        rng, np.concatenate([nuc_chrom[pick], bg_c[pick_bg]]), np.concatenate([nuc_dyad[pick], bg_d[pick_bg]]),
        np.concatenate([nuc_sd[pick], np.full(n_bg, cfg.nuc_phase_sd0 * 2)]), cfg.read_length,
        cfg.nuc_half_footprint)
    lib.emit("mnase", reads, "mnase", "MNase-seq nucleosome dyads",
             [("SIM_MNASE", "mnase.bw", {"mode": "5p", "shift": cfg.nuc_half_footprint}, "")])


def h3k4me3_library(lib: LibraryWriter, seed: int, nuc: Nucleosomes, expr: np.ndarray) -> None:
    """H3K4me3: fragments from each gene's first nucleosomes (relative weights
    ``h3k4me3_weights``) × 2^basal expression (``expr[:, 0]``)."""
    cfg = lib.cfg
    rng = keyed_rng(seed, "h3k4me3")
    hw = np.asarray(cfg.h3k4me3_weights, dtype=np.float64)
    first = nuc.k < len(hw)
    w = np.where(first, hw[np.minimum(nuc.k, len(hw) - 1)], 0.0) * np.exp2(expr[nuc.gene, 0])
    n = lib.n_reads(cfg.h3k4me3_reads_per_mb)
    pick = rng.choice(len(w), size=n, p=w / w.sum())
    reads = sr.fragment_end_reads(rng, nuc.chrom[pick], nuc.dyad[pick], nuc.sd[pick], cfg.read_length,
                                  cfg.nuc_half_footprint)
    lib.emit("h3k4me3", reads, "histone", "H3K4me3-like ChIP (5' nucleosomes x expression)",
             [("SIM_H3K4ME3", "h3k4me3.bw", {"mode": "5p", "shift": cfg.nuc_half_footprint}, "")])


def rnaseq_libraries(lib: LibraryWriter, seed: int, genes: pd.DataFrame, exons: dict, expr: np.ndarray,
                     cond_names: list) -> None:
    """One stranded RNA-seq library per condition: reads per gene ∝ 2^expr × spliced
    length (multinomial), plus ``rnaseq_background_frac`` uniform reads; two bigWigs
    (+ and − strand read mass) each. Genes without exons count as one exon."""
    cfg = lib.cfg
    gene_models = []
    for g in genes.itertuples(index=False):
        ex = exons.get(g.gene_id) or [(int(g.start), int(g.end))]
        gene_models.append((g.chrom, g.strand, ex))
    tx_len = np.array([sum(b - a for a, b in m[2]) for m in gene_models], dtype=np.float64)
    for k, cn in enumerate(cond_names):
        rng = keyed_rng(seed, "rnaseq", cn)
        n = lib.n_reads(cfg.rnaseq_reads_per_mb)
        n_bg = int(round(n * cfg.rnaseq_background_frac))
        p = np.exp2(expr[:, k]) * tx_len
        counts = rng.multinomial(n - n_bg, p / p.sum())
        reads = sr.Reads.concat([sr.transcript_reads(rng, counts, gene_models, lib.chrom_index, cfg.read_length),
                                 lib.uniform(rng, n_bg)])
        lib.emit(f"rnaseq_{cn}", reads, "rnaseq", f"RNA-seq {cn}",
                 [(f"SIM_RNA_{cn}+", f"rnaseq_{cn}_plus.bw", {"mode": "all", "strand": "+"}, " (+ strand)"),
                  (f"SIM_RNA_{cn}-", f"rnaseq_{cn}_minus.bw", {"mode": "all", "strand": "-"}, " (- strand)")])


def simulate_libraries(lib: LibraryWriter, seed: int, truth, exons: dict, cond_names: list) -> list[dict]:
    """Every library of a simulation, in targets order: ChIP-exo, MNase, H3K4me3, RNA-seq
    (``truth``: a :class:`~yeastzoi.simulate.truth.Truth`). Returns ``lib.tracks``."""
    chipexo_libraries(lib, seed, truth.bound)
    nuc = nucleosome_arrays(truth.genes, lib.chrom_index, lib.cfg)
    mnase_library(lib, seed, nuc, truth.accessibility)
    h3k4me3_library(lib, seed, nuc, truth.expr)
    rnaseq_libraries(lib, seed, truth.genes, exons, truth.expr, cond_names)
    return lib.tracks


#: targets-sheet settings per track group: (sum_stat, scale, clip_soft, clip)
ASSAY_TARGETS = {"chipexo": ("sum", 1.0, 32.0, 128.0), "mnase": ("sum", 1.0, 32.0, 128.0),
                 "histone": ("sum", 1.0, 32.0, 128.0), "rnaseq": ("sum_sqrt", 1.0, 32.0, 64.0)}


def write_targets_sheet(path, tracks: list[dict]) -> None:
    """``targets.txt`` for the track records (baskerville columns + ``group``; settings from
    :data:`ASSAY_TARGETS`; a ``+``/``-`` identifier pair are each other's strand pair)."""
    from ..coverage import write_targets

    rows = []
    ident = [t["identifier"] for t in tracks]
    for i, t in enumerate(tracks):
        ss, scale, cs, clip = ASSAY_TARGETS[t["group"]]
        pair = i
        if t["identifier"].endswith(("+", "-")):
            other = t["identifier"][:-1] + ("-" if t["identifier"].endswith("+") else "+")
            pair = ident.index(other) if other in ident else i
        rows.append({"identifier": t["identifier"], "file": t["file"], "clip": clip, "clip_soft": cs,
                     "scale": scale, "sum_stat": ss, "strand_pair": pair, "description": t["description"],
                     "group": t["group"]})
    write_targets(path, pd.DataFrame(rows))
