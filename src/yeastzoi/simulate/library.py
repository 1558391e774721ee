"""A SIMULATED promoter library (an MPRA) with exact activities, as training data.

    table = simulate_library("sim/", "r64/", n=10000, seed=1)     # → sim/truth/library.tsv

Each row is a designed promoter of exactly ``cfg.promoter_bp`` bp (5′→3′, ending just
upstream of the TSS) placed into a **reporter context**: it replaces the native promoter of a
reporter gene — [tss − P, tss) on a + strand reporter, the reverse complement of
[tss + 1, tss + 1 + P) on a − strand one (``insert_start``/``insert_end``, 0-based, reference
coordinates; ``distance`` 0 bp to the TSS). The construct is that genome with the insert in
place; what is measured is the reporter's expression.

Design: background bases drawn with the genome's composition, then Poisson(``sites``)
motif instances planted at random positions and strands, each instance sampled from one of
the simulator's factor PWMs (so sites vary like real ones). Activity per condition c is the
simulator's own expression function of the construct, exactly:
``expr_base + M(insert) · W[:, c] + ε_reporter`` (:mod:`yeastzoi.simulate.model`; ε the
reporter gene's noise term), plus Normal(0, ``measurement_sd``) measurement noise in the
``activity_<c>`` columns (the noise-free value is ``activity_true_<c>``). Rows are split
train / valid / test with fractions 1 − 2·``holdout``, ``holdout``, ``holdout``.

Reporter contexts (default): two protein-coding genes of the simulated chromosomes, one per
strand, whose basal expression is closest to the median (moderately expressed contexts);
``reporters`` names others. The table is SIMULATED data and says so in its ``note`` column.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path
from .config import SIMULATED, SimConfig, keyed_rng

_B = np.array(list("ACGTN"))


def default_reporters(genes: pd.DataFrame) -> list[str]:
    """One + and one − strand gene whose basal expression is closest to the median."""
    med = genes["expr_basal"].median()
    out = []
    for strand in ("+", "-"):
        g = genes[genes["strand"] == strand]
        if len(g):
            out.append(g.iloc[int(np.argmin(np.abs(g["expr_basal"].to_numpy() - med)))]["gene_id"])
    return out


def design_promoters(rng: np.random.Generator, n: int, P: int, ms, background: np.ndarray,
                     sites: float) -> np.ndarray:
    """(n, P) uint8 codes: background bases plus Poisson(``sites``) sampled motif instances."""
    x = rng.choice(4, size=(n, P), p=np.asarray(background, np.float64) / np.sum(background)).astype(np.uint8)
    probs = [np.exp2(lo[:, :4]) * background[None, :] for lo in ms.log_odds]
    probs = [p / p.sum(1, keepdims=True) for p in probs]
    k = rng.poisson(sites, n)
    for i in range(n):
        for _ in range(int(k[i])):
            f = int(rng.integers(ms.n))
            pwm = probs[f]
            L = len(pwm)
            if L > P:
                continue
            site = np.array([rng.choice(4, p=row) for row in pwm], np.uint8)
            if rng.random() < 0.5:
                site = (3 - site)[::-1]
            a = int(rng.integers(0, P - L + 1))
            x[i, a:a + L] = site
    return x


def simulate_library(sim_dir, genome_dir, n: int, seed: int = 0, reporters=None, sites: float = 2.0,
                     holdout: float = 0.1, measurement_sd: float = 0.1, config: SimConfig | None = None,
                     out_path=None) -> pd.DataFrame:
    """Write ``sim_dir/truth/library.tsv`` (or ``out_path``) for a finished simulation of
    ``genome_dir`` (module docstring) and return the table."""
    from . import model as sm

    cfg = config or SimConfig()
    if n < 1:
        raise YeastzoiError(f"--library {n}: give at least 1 promoter")
    if not 0 <= holdout < 0.5:
        raise YeastzoiError(f"holdout {holdout}: must be in [0, 0.5)")
    truth = Path(sim_dir) / "truth"
    if not (truth / "model.json").is_file() or not (truth / "genes.tsv").is_file():
        raise YeastzoiError(f"{sim_dir}: no finished simulation (truth/model.json, truth/genes.tsv); run "
                            f"`yeastzoi_simulate.py {genome_dir} {sim_dir}` first")
    model = json.loads((truth / "model.json").read_text())
    genes = pd.read_csv(truth / "genes.tsv", sep="\t")
    background = np.asarray(model["background"], np.float64)
    ms = sm.build_motifset(cfg, background)
    conds = list(model["W"])
    W = np.array([model["W"][c] for c in conds]).T          # (F, C)
    if ms.names != model["factors"]:
        raise YeastzoiError(f"{sim_dir}: simulated with factors {model['factors']}, not this configuration's")
    reporters = list(reporters) if reporters else default_reporters(genes)
    rep = genes.set_index("gene_id")
    missing = [r for r in reporters if r not in rep.index]
    if missing:
        raise YeastzoiError(f"reporters {', '.join(missing)}: not protein-coding genes of this simulation "
                            f"(e.g. {', '.join(genes['gene_id'][:5])})")
    rng = keyed_rng(seed, "library")
    P = cfg.promoter_bp
    X = design_promoters(rng, n, P, ms, background[:4], sites)
    M = np.stack([sm.promoter_content(x, ms, cfg) for x in X])          # (n, F)
    split = rng.choice(["train", "valid", "test"], size=n, p=[1 - 2 * holdout, holdout, holdout])
    rows = []
    for r in reporters:
        g = rep.loc[r]
        tss = int(g["tss"])
        ins = (tss - P, tss) if g["strand"] == "+" else (tss + 1, tss + 1 + P)
        true = cfg.expr_base + M @ W + float(g["noise"])                  # (n, C)
        meas = true + rng.normal(0.0, measurement_sd, true.shape) if measurement_sd > 0 else true
        df = pd.DataFrame({"id": [f"lib{i + 1:06d}:{r}" for i in range(n)], "sequence": ["".join(_B[x]) for x in X],
                           "reporter": r, "chrom": g["chrom"], "strand": g["strand"], "tss": tss,
                           "insert_start": ins[0], "insert_end": ins[1], "distance": 0, "split": split})
        for k, c in enumerate(conds):
            df[f"activity_{c}"] = np.round(meas[:, k], 6)
            df[f"activity_true_{c}"] = np.round(true[:, k], 6)
        rows.append(df)
    table = pd.concat(rows, ignore_index=True)
    table["note"] = SIMULATED
    out = Path(out_path) if out_path else truth / "library.tsv"
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return table


__all__ = ["default_reporters", "design_promoters", "simulate_library"]
