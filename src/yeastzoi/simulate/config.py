"""Settings of the SIMULATED generative model (:class:`SimConfig`, every number of
:mod:`yeastzoi.simulate.run`'s model) and the keyed random streams all its draws come from."""
from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from .. import YeastzoiError

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


def keyed_rng(seed: int, *keys) -> np.random.Generator:
    """A random stream keyed by names, independent of the order streams are used in.

    The stream is ``default_rng([seed, crc32(key1), crc32(key2), ...])`` (keys as text), so
    the same seed and keys always give the same draws.
    """
    return np.random.default_rng([int(seed)] + [zlib.crc32(str(k).encode()) for k in keys])
