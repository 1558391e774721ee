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
6. **Coverage.** bigWigs are computed from the BAMs by :func:`yeastzoi.coverage.tracks.bam_to_coverage`:
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
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from . import model as sm
from . import reads as sr
from . import variants as sv
from ..fileio import atomic_path, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

SIMULATED = "SIMULATED"


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Every number of the generative model (see the module docstring)."""
    # motifs and binding
    factors: tuple = ("REB1", "ABF1", "RAP1", "GCN4", "SWI4", "PHO4", "CBF1", "MCM1", "YAP1", "TBF1",
                      "ROX1", "UME6")
    #: designed coefficients: log2 expression per unit of promoter occupancy (same order)
    weights: tuple = (2.0, 2.0, 2.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.0, -2.0, -2.0)
    induced_factors: tuple = ("GCN4", "PHO4", "YAP1", "CBF1", "SWI4")
    induction_fold: float = 3.0
    pseudocount: float = 0.5
    site_pvalue: float = 1e-4
    occ_slope: float = 5.0
    occ_offset: float = 1.0
    promoter_bp: int = 500
    ndr_bp: int = 200
    acc_ndr: float = 1.0
    acc_promoter: float = 0.7
    acc_background: float = 0.3
    #: per-factor promoter content saturates: M = cap·tanh(Σ occupancy / cap), so a promoter
    #: packed with repeated matches cannot drive expression (and 2^expression) without bound
    content_cap: float = 2.0
    # expression
    expr_base: float = 3.0
    expr_noise_sd: float = 0.5
    # reads (counts per Mb of simulated chromosomes at depth 1)
    read_length: int = 50
    chipexo_factors: tuple = ("REB1", "ABF1", "RAP1", "GCN4", "CBF1", "MCM1")
    chipexo_reads_per_mb: float = 12_000
    chipexo_background_frac: float = 0.2
    chipexo_jitter_sd: float = 3.0
    mnase_reads_per_mb: float = 35_000
    nuc_plus1_offset: int = 60
    nuc_spacing: int = 165
    nuc_array_max: int = 12
    nuc_phase_sd0: float = 10.0
    nuc_phase_sd_step: float = 6.0
    nuc_half_footprint: int = 73
    nuc_background_per_kb: float = 2.0
    nuc_background_frac: float = 0.35
    h3k4me3_reads_per_mb: float = 12_000
    h3k4me3_weights: tuple = (1.0, 0.7, 0.4)
    rnaseq_reads_per_mb: float = 30_000
    rnaseq_background_frac: float = 0.02
    # truth variants and MPRA
    variant_gene_frac: float = 0.12
    variant_class_probs: tuple = (0.35, 0.3, 0.2, 0.15)   # disrupt, create, neutral, indel
    variant_min_effect: float = 0.2
    indel_max_len: int = 6
    mpra_reporters: int = 2

    def check(self):
        """Raise YeastzoiError for inconsistent settings."""
        if len(self.weights) != len(self.factors):
            raise YeastzoiError(f"SimConfig: {len(self.weights)} weights for {len(self.factors)} factors; "
                                f"give one weight per factor")
        up = [f.upper() for f in self.factors]
        for f in tuple(self.induced_factors) + tuple(self.chipexo_factors):
            if f.upper() not in up:
                raise YeastzoiError(f"SimConfig: factor {f!r} is not in factors; add it or remove it")
        if self.ndr_bp > self.promoter_bp:
            raise YeastzoiError("SimConfig: ndr_bp must not exceed promoter_bp")
        if len(self.variant_class_probs) != 4:
            raise YeastzoiError("SimConfig: variant_class_probs needs 4 values (disrupt, create, neutral, indel)")


def _rng(seed: int, *keys) -> np.random.Generator:
    """A random stream keyed by names, independent of the order streams are used in."""
    return np.random.default_rng([int(seed)] + [zlib.crc32(str(k).encode()) for k in keys])


def _settings(genome_dir, chroms, seed, depth, conditions, cfg) -> dict:
    return {"genome_dir": str(Path(genome_dir).resolve()), "chroms": list(chroms), "seed": int(seed),
            "depth": float(depth), "conditions": int(conditions),
            "config": json.loads(json.dumps(dataclasses.asdict(cfg)))}


def _load_genome(genome_dir):
    from ..genome import assembly as gmod

    paths = gmod.load_genome_dir(genome_dir, require=("fasta", "gtf"))
    g = gmod.Genome(paths["fasta"])
    gtf = gmod.read_gtf(paths["gtf"])
    return paths, g, gtf, gmod.genes_table(gtf), gmod.exons_by_gene(gtf)


def simulate_genome(genome_dir, out_dir, chroms=None, seed: int = 0, depth: float = 1.0,
                    conditions: int = 4, config: SimConfig | None = None, progress=None) -> dict:
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

    Returns: summary dict (also in ``out_dir/done.json``): tracks with read counts,
    numbers of genes / bound sites / variants, runtime in seconds.
    """
    cfg = config or SimConfig()
    cfg.check()
    if conditions < 1:
        raise YeastzoiError(f"--conditions must be ≥ 1, got {conditions}")
    if not depth > 0:
        raise YeastzoiError(f"--depth must be > 0, got {depth}")
    t0 = time.time()
    step = progress or (lambda msg: None)
    out = Path(out_dir)
    paths, genome, gtf, genes_all, exons = _load_genome(genome_dir)
    chrom_sizes = dict(genome.chroms)
    if chroms is None:
        sim_chroms = list(chrom_sizes)
    else:
        sim_chroms = [genome.resolve(c) for c in chroms]
        if len(set(sim_chroms)) != len(sim_chroms):
            raise YeastzoiError(f"--chroms lists a chromosome twice: {','.join(chroms)}")
    settings = _settings(genome_dir, sim_chroms, seed, depth, conditions, cfg)
    done = out / "done.json"
    if done.exists():
        prev = json.loads(done.read_text())
        if prev.get("settings") == settings:
            log.info("%s: finished simulation with the same settings found; reusing it", out)
            prev["reused"] = True
            return prev
        raise YeastzoiError(f"{out}: holds a finished simulation with different settings; "
                            f"choose another OUT_DIR or delete this one")
    out.mkdir(parents=True, exist_ok=True)

    # --- motifs and weights
    step("motifs")
    from ..genome import motifs as mo
    all_codes = {c: genome.fetch_codes(c, 0, n) for c, n in chrom_sizes.items()}
    background = mo.background_from_codes(np.concatenate(list(all_codes.values())))
    ms = sm.build_motifset(cfg, background)
    W, conds = sm.condition_weights(ms, cfg, conditions)
    cond_names = [c for c, _ in conds]

    genes = genes_all[(genes_all["gene_biotype"] == "protein_coding")
                      & genes_all["chrom"].isin(sim_chroms)].copy()
    genes["chrom"] = pd.Categorical(genes["chrom"], categories=sim_chroms, ordered=True)
    genes = genes.sort_values(["chrom", "tss"], kind="stable").reset_index(drop=True)
    genes["chrom"] = genes["chrom"].astype(str)
    if genes.empty:
        raise YeastzoiError(f"{paths['gtf']}: no protein_coding genes on {','.join(sim_chroms)}; "
                            f"pick chromosomes with annotated genes")

    # --- sites, promoter content, variants per chromosome
    chrom_index = {c: i for i, c in enumerate(chrom_sizes)}
    M = np.zeros((len(genes), ms.n))
    bound = []          # rows: chrom, start, end, factor, score, strand
    variants = []
    acc_tracks = {}
    for c in sim_chroms:
        step(f"sites {c}")
        codes = all_codes[c]
        gsel = genes.index[genes["chrom"] == c]
        gsub = genes.loc[gsel]
        acc = sm.accessibility_track(len(codes), gsub["tss"].to_numpy(), gsub["strand"].tolist(), cfg)
        acc_tracks[c] = acc
        rng = _rng(seed, "bound", c)
        for f, s in enumerate(sm.genome_sites(codes, acc, ms, cfg)):
            hit = rng.random(len(s["occ"])) < s["occ"]
            for a, b, sc, st in zip(s["start"][hit], s["end"][hit], s["score"][hit], s["strand"][hit]):
                bound.append((c, int(a), int(b), ms.names[f], float(sc), st))
        for i, g in zip(gsel, gsub.itertuples(index=False)):
            M[i] = sm.promoter_content(sm.promoter_codes(codes, int(g.tss), g.strand, cfg.promoter_bp), ms, cfg)
        variants += sv.choose_variants(_rng(seed, "variants", c), c, codes, gsub, ms, W, cfg)
    noise = np.array([_rng(seed, "noise", gid).normal(0.0, cfg.expr_noise_sd) for gid in genes["gene_id"]])
    expr = sm.expression(M, W, noise, cfg)

    # --- truth files
    step("truth")
    truth = out / "truth"
    gt = genes[["gene_id", "gene_name", "chrom", "tss", "strand"]].copy()
    for k, cn in enumerate(cond_names):
        gt[f"expr_{cn}"] = np.round(expr[:, k], 6)
    for f, name in enumerate(ms.names):
        gt[f"motif_{name}"] = np.round(M[:, f], 6)
    gt["noise"] = np.round(noise, 6)
    _write_tsv(truth / "genes.tsv", gt)
    write_text_atomic(truth / "conditions.txt",
                      "".join(f"{n}\t{fac or 'none'}\n" for n, fac in conds))
    bound.sort(key=lambda r: (chrom_index[r[0]], r[1], r[3]))
    write_text_atomic(truth / "sites.bed", "".join(f"{c}\t{a}\t{b}\t{f}\t{sc:.3f}\t{st}\n"
                                                   for c, a, b, f, sc, st in bound))
    variants.sort(key=lambda v: (chrom_index[v["chrom"]], v["pos"], v["ref"], v["alt"]))
    for k, v in enumerate(variants):
        v["id"] = f"simvar{k + 1:06d}"
        v["lfc"] = np.round(v["lfc"], 6) + 0.0
    write_text_atomic(truth / "variants.vcf",
                      sv.vcf_text(variants, chrom_sizes, cond_names, Path(paths["fasta"]).name))
    rep_rng = _rng(seed, "reporters")
    reporters = genes.iloc[np.sort(rep_rng.choice(len(genes), size=min(cfg.mpra_reporters, len(genes)),
                                                  replace=False))]
    noise_by_gene = dict(zip(genes["gene_id"], noise))
    _write_tsv(truth / "mpra.tsv", pd.DataFrame(sv.mpra_rows(variants, reporters, ms, W, noise_by_gene, cfg,
                                                              cond_names)))
    write_json_atomic(truth / "model.json", {
        "note": f"{SIMULATED} data: designed coefficients of the expression model",
        "factors": ms.names, "weights": list(map(float, ms.weights)),
        "thresholds_bits": [round(float(x), 4) for x in ms.thr],
        "W": {cn: [float(x) for x in W[:, k]] for k, cn in enumerate(cond_names)},
        "expr_base": cfg.expr_base, "background": [float(x) for x in background]})

    # --- reads, BAMs, bigWigs
    tracks = _simulate_tracks(out, cfg, seed, depth, sim_chroms, chrom_sizes, chrom_index, all_codes,
                              genes, exons, expr, cond_names, bound, acc_tracks, step)
    _write_targets(out / "targets.txt", tracks)
    summary = {
        "simulated": True,
        "note": f"{SIMULATED} data from yeastzoi.simulate.run (not real measurements)",
        "settings": settings,
        "chroms": sim_chroms,
        "genes": int(len(genes)),
        "bound_sites": int(len(bound)),
        "variants": int(len(variants)),
        "variant_classes": {c: sum(v["cls"] == c for v in variants) for c in sv.CLASSES},
        "conditions": cond_names,
        "tracks": [{k: t[k] for k in ("identifier", "group", "file", "bam", "reads")} for t in tracks],
        "total_reads": int(sum(t["reads"] for t in tracks if t.get("count_reads", True))),
        "seconds": round(time.time() - t0, 1),
    }
    write_json_atomic(done, summary)
    return summary


def _write_tsv(path, df: pd.DataFrame):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)


def _simulate_tracks(out, cfg, seed, depth, sim_chroms, chrom_sizes, chrom_index, all_codes, genes, exons,
                     expr, cond_names, bound, acc_tracks, step) -> list[dict]:
    from ..coverage.tracks import bam_to_coverage, write_bigwig

    names = list(chrom_sizes)
    lens = np.array([chrom_sizes[c] for c in names], dtype=np.int64)
    sim_ids = np.array([chrom_index[c] for c in sim_chroms])
    mb = lens[sim_ids].sum() / 1e6
    rl = cfg.read_length
    seqs = {c: all_codes[c] for c in sim_chroms}
    tracks = []

    def n_reads(per_mb):
        return int(round(per_mb * mb * depth))

    def emit(name, reads, group, desc, cov_specs):
        step(f"reads {name}")
        reads = sr.clip_reads(reads, lens)
        bam = out / "bam" / f"{name}.bam"
        n = sr.write_bam(bam, reads, names, lens, seqs, name_prefix=name,
                         description=f"{SIMULATED} {desc} reads from yeastzoi.simulate.run")
        first = True
        for ident, fname, kw, extra in cov_specs:
            cov = bam_to_coverage(bam, chrom_sizes, **kw)
            write_bigwig(out / "bigwig" / fname, cov.coverage, chrom_sizes)
            t = {"identifier": ident, "file": f"bigwig/{fname}", "bam": f"bam/{name}.bam", "reads": n,
                 "group": group, "description": f"{SIMULATED} {desc}" + extra, "count_reads": first}
            tracks.append(t)
            first = False

    # ChIP-exo
    site_arr = pd.DataFrame(bound, columns=["chrom", "start", "end", "factor", "score", "strand"])
    for fac in cfg.chipexo_factors:
        fac = fac.upper()
        rng = _rng(seed, "chipexo", fac)
        s = site_arr[site_arr["factor"] == fac]
        n = n_reads(cfg.chipexo_reads_per_mb)
        n_bg = int(round(n * cfg.chipexo_background_frac)) if len(s) else n
        reads = sr.Reads.concat([
            sr.chipexo_reads(rng, n - n_bg, s["chrom"].map(chrom_index).to_numpy(), s["start"].to_numpy(),
                             s["end"].to_numpy(), rl, cfg.chipexo_jitter_sd),
            sr.uniform_reads(rng, n_bg, sim_ids, lens, rl)])
        emit(f"chipexo_{fac}", reads, "chipexo", f"ChIP-exo {fac}",
             [(f"SIM_CHIPEXO_{fac}", f"chipexo_{fac}.bw", {"mode": "5p"}, " (5' ends)")])

    # nucleosomes shared by MNase and H3K4me3
    gc = genes["chrom"].map(chrom_index).to_numpy()
    tss = genes["tss"].to_numpy().astype(np.int64)
    sign = np.where(genes["strand"].to_numpy() == "+", 1, -1)
    glen = (genes["end"] - genes["start"]).to_numpy()
    ks = np.arange(cfg.nuc_array_max)
    off = cfg.nuc_plus1_offset + ks * cfg.nuc_spacing                       # (K,)
    in_gene = (off[None, :] < np.maximum(glen[:, None], cfg.nuc_plus1_offset + 1))
    g_idx, k_idx = np.nonzero(in_gene)
    arr_chrom, arr_dyad = gc[g_idx], tss[g_idx] + sign[g_idx] * off[k_idx]
    arr_sd = cfg.nuc_phase_sd0 + k_idx * cfg.nuc_phase_sd_step
    minus1 = tss - sign * (cfg.ndr_bp + cfg.nuc_half_footprint)

    # MNase
    rng = _rng(seed, "mnase")
    bg_c, bg_d = [], []
    for c in sim_chroms:
        nb = int(round(cfg.nuc_background_per_kb * chrom_sizes[c] / 1000))
        d = np.sort(rng.integers(0, chrom_sizes[c], size=nb))
        d = d[acc_tracks[c][d] < cfg.acc_ndr]
        bg_c.append(np.full(len(d), chrom_index[c]))
        bg_d.append(d)
    bg_c, bg_d = np.concatenate(bg_c), np.concatenate(bg_d)
    nuc_chrom = np.concatenate([arr_chrom, gc])
    nuc_dyad = np.concatenate([arr_dyad, minus1])
    nuc_sd = np.concatenate([arr_sd, np.full(len(gc), cfg.nuc_phase_sd0)])
    n = n_reads(cfg.mnase_reads_per_mb)
    n_bg = int(round(n * cfg.nuc_background_frac)) if len(bg_d) else 0
    pick = rng.integers(0, len(nuc_dyad), size=n - n_bg)
    pick_bg = rng.integers(0, len(bg_d), size=n_bg)
    reads = sr.fragment_end_reads(
        rng, np.concatenate([nuc_chrom[pick], bg_c[pick_bg]]), np.concatenate([nuc_dyad[pick], bg_d[pick_bg]]),
        np.concatenate([nuc_sd[pick], np.full(n_bg, cfg.nuc_phase_sd0 * 2)]), rl, cfg.nuc_half_footprint)
    emit("mnase", reads, "mnase", "MNase-seq nucleosome dyads",
         [("SIM_MNASE", "mnase.bw", {"mode": "5p", "shift": cfg.nuc_half_footprint}, "")])

    # H3K4me3: first nucleosomes × 2^basal expression
    rng = _rng(seed, "h3k4me3")
    hw = np.asarray(cfg.h3k4me3_weights, dtype=np.float64)
    first = k_idx < len(hw)
    w = np.where(first, hw[np.minimum(k_idx, len(hw) - 1)], 0.0) * np.exp2(expr[g_idx, 0])
    n = n_reads(cfg.h3k4me3_reads_per_mb)
    pick = rng.choice(len(w), size=n, p=w / w.sum())
    reads = sr.fragment_end_reads(rng, arr_chrom[pick], arr_dyad[pick], arr_sd[pick], rl, cfg.nuc_half_footprint)
    emit("h3k4me3", reads, "histone", "H3K4me3-like ChIP (5' nucleosomes x expression)",
         [("SIM_H3K4ME3", "h3k4me3.bw", {"mode": "5p", "shift": cfg.nuc_half_footprint}, "")])

    # RNA-seq per condition
    gene_models = []
    for g in genes.itertuples(index=False):
        ex = exons.get(g.gene_id) or [(int(g.start), int(g.end))]
        gene_models.append((g.chrom, g.strand, ex))
    tx_len = np.array([sum(b - a for a, b in m[2]) for m in gene_models], dtype=np.float64)
    for k, cn in enumerate(cond_names):
        rng = _rng(seed, "rnaseq", cn)
        n = n_reads(cfg.rnaseq_reads_per_mb)
        n_bg = int(round(n * cfg.rnaseq_background_frac))
        p = np.exp2(expr[:, k]) * tx_len
        counts = rng.multinomial(n - n_bg, p / p.sum())
        reads = sr.Reads.concat([sr.transcript_reads(rng, counts, gene_models, chrom_index, rl),
                                 sr.uniform_reads(rng, n_bg, sim_ids, lens, rl)])
        emit(f"rnaseq_{cn}", reads, "rnaseq", f"RNA-seq {cn}",
             [(f"SIM_RNA_{cn}+", f"rnaseq_{cn}_plus.bw", {"mode": "all", "strand": "+"}, " (+ strand)"),
              (f"SIM_RNA_{cn}-", f"rnaseq_{cn}_minus.bw", {"mode": "all", "strand": "-"}, " (- strand)")])
    return tracks


_ASSAY = {"chipexo": ("sum", 1.0, 32.0, 128.0), "mnase": ("sum", 1.0, 32.0, 128.0),
          "histone": ("sum", 1.0, 32.0, 128.0), "rnaseq": ("sum_sqrt", 1.0, 32.0, 64.0)}


def _write_targets(path, tracks):
    from ..coverage.targets import write_targets

    rows = []
    ident = [t["identifier"] for t in tracks]
    for i, t in enumerate(tracks):
        ss, scale, cs, clip = _ASSAY[t["group"]]
        pair = i
        if t["identifier"].endswith(("+", "-")):
            other = t["identifier"][:-1] + ("-" if t["identifier"].endswith("+") else "+")
            pair = ident.index(other) if other in ident else i
        rows.append({"identifier": t["identifier"], "file": t["file"], "clip": clip, "clip_soft": cs,
                     "scale": scale, "sum_stat": ss, "strand_pair": pair, "description": t["description"],
                     "group": t["group"]})
    write_targets(path, pd.DataFrame(rows))
