"""Motif discovery from a masked language model: TF-MoDISco on LM base probabilities.

Input: equal-length regions (e.g. promoters) and, at every position, the LM's base
distribution p (4,) with that position masked once (:func:`yeastzoi.interpret.lm_probs`).
After the pseudocount, ``p' = (p + ε) / (1 + 4ε)``, the *hypothetical contribution* of base b is

    hyp_b = p'_b · log2(p'_b / mean_b' p'_b') = p'_b · log2(4 p'_b)      (bits)

Its sum over the four bases is the position's conservation ``2 − H`` (the KL divergence of p'
from uniform, see :mod:`~yeastzoi.interpret.lm_conservation`). The *observed contribution* is
hyp at the reference base (hyp × one-hot): positive where the LM expects the reference base
(p' > 1/4), negative where it expects another. Both (N, L, 4) arrays go to modisco-lite's
``TFMoDISco``; its positive patterns (``pos_k``) are motifs the LM predicts, its negative ones
(``neg_k``) places where the LM expects something other than the reference.

Each pattern is trimmed to the span of columns whose Σ|CWM| is at least ``trim`` × its
maximum (modisco's report uses 0.3) and its base frequencies (PPM) are compared with the
JASPAR S. cerevisiae CORE matrices by tomtom (memelite: complete scores, both strands; the
q-value is Benjamini–Hochberg over the database, per pattern). Each seqlet's position is the
centre of its trimmed core; its distance to the nearest TSS is compared with that of uniformly
random positions in the same regions (two-sided Mann–Whitney U).

    regions, probs, codes = promoter_probs(lm, genome, gtf_df, n_genes=400)
    res = discover_from_probs(probs, codes, regions, genes_table(gtf_df))
    res["summary"]  # pattern n_seqlets width consensus match ... median_tss_bp tss_pvalue
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import YeastzoiError
from .lm_conservation import BASES, DEFAULT_PSEUDOCOUNT, lm_probs, normalise_probs

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ["pattern", "n_seqlets", "width", "consensus", "match", "match_id", "pvalue", "qvalue",
                   "strand", "offset", "runners_up", "median_tss_bp", "median_random_bp", "tss_pvalue"]


# ----------------------------------------------------------------------------- contributions
def hypothetical_contributions(probs, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """LM base probabilities (..., 4) → hypothetical contributions (..., 4), float32 bits:
    ``p'·log2(4p')`` with ``p'`` = :func:`normalise_probs` (pseudocount ``ε``). Rows sum to the
    conservation 2 − H; a uniform row is all 0."""
    q = normalise_probs(probs, pseudocount)
    with np.errstate(divide="ignore", invalid="ignore"):
        hyp = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1.0) / q.mean(axis=-1, keepdims=True)), 0.0)
    return hyp.astype(np.float32)


def contribution_inputs(probs, codes, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> tuple[np.ndarray, np.ndarray]:
    """(one_hot, hyp), both float32 (N, L, 4), from LM probabilities (N, L, 4) (or a list of
    (L, 4)) and reference codes (N, L) (uint8 A0 C1 G2 T3 N4; N is an all-zero row). The
    observed contribution is ``one_hot * hyp``."""
    from ..genome.dna import codes_to_onehot

    probs = np.asarray(probs, dtype=np.float64)
    codes = np.asarray(codes)
    if probs.ndim != 3 or probs.shape[-1] != 4 or codes.shape != probs.shape[:2]:
        raise YeastzoiError(f"need probabilities (N, L, 4) and codes (N, L) of equal-length regions, got "
                            f"{probs.shape} and {codes.shape}")
    return codes_to_onehot(codes, np.float32), hypothetical_contributions(probs, pseudocount)


# ----------------------------------------------------------------------------- TF-MoDISco
@dataclass
class Pattern:
    """A TF-MoDISco pattern, trimmed. ``ppm``: (w, 4) base frequencies of its seqlets (A C G T);
    ``cwm`` / ``hcwm``: (w, 4) mean observed / hypothetical contributions (bits); ``seqlets``:
    DataFrame region (row of the input), start, end (region offsets of the trimmed core, bp,
    0-based half-open, clipped to the region), strand (``-``: the pattern reads the reverse
    complement)."""
    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    hcwm: np.ndarray
    seqlets: pd.DataFrame

    @property
    def n_seqlets(self) -> int:
        return len(self.seqlets)

    @property
    def consensus(self) -> str:
        return "".join(BASES[i] for i in self.ppm.argmax(axis=1))


def trim_span(cwm, trim: float = 0.3) -> tuple[int, int]:
    """[a, b): the first to the last column of ``cwm`` (w, 4) whose Σ|contribution| is at least
    ``trim`` × the largest column's."""
    score = np.abs(np.asarray(cwm, dtype=np.float64)).sum(axis=1)
    keep = np.nonzero(score >= trim * score.max())[0]
    return int(keep[0]), int(keep[-1]) + 1


def _pattern(name: str, seqset, length: int, trim: float) -> Pattern:
    cwm = np.asarray(seqset.contrib_scores, dtype=np.float64)
    a, b = trim_span(cwm, trim)
    rows = []
    for s in seqset.seqlets:
        # a seqlet read on the reverse strand covers the pattern's columns right to left
        lo, hi = (s.end - b, s.end - a) if s.is_revcomp else (s.start + a, s.start + b)
        rows.append((int(s.example_idx), max(0, int(lo)), min(length, int(hi)), "-" if s.is_revcomp else "+"))
    seqlets = pd.DataFrame(rows, columns=["region", "start", "end", "strand"])
    return Pattern(name, np.asarray(seqset.sequence, dtype=np.float64)[a:b], cwm[a:b],
                   np.asarray(seqset.hypothetical_contribs, dtype=np.float64)[a:b], seqlets)


def run_modisco(one_hot, hyp, trim: float = 0.3, h5_path=None, **modisco_kwargs) -> list[Pattern]:
    """TF-MoDISco (modisco-lite) on one-hot sequences and hypothetical contributions, both
    (N, L, 4). Returns the positive patterns then the negative ones, each in modisco's order
    (most seqlets first), trimmed (:func:`trim_span`). ``modisco_kwargs`` go to
    ``modiscolite.tfmodisco.TFMoDISco`` (sliding_window_size, flank_size, target_seqlet_fdr,
    min_metacluster_size, n_leiden_runs, ...); ``h5_path``: also write modisco's results file
    (``modisco report`` reads it). An empty list when no pattern passes."""
    try:
        from modiscolite.tfmodisco import TFMoDISco
    except ImportError as err:  # pragma: no cover - the motifs extra
        raise YeastzoiError("motif discovery needs modisco-lite: pip install 'yeastzoi[motifs]'") from err
    one_hot = np.ascontiguousarray(one_hot, dtype=np.float32)
    hyp = np.ascontiguousarray(hyp, dtype=np.float32)
    if one_hot.ndim != 3 or one_hot.shape[-1] != 4 or hyp.shape != one_hot.shape:
        raise YeastzoiError(f"one-hot and contributions must both be (N, L, 4), got {one_hot.shape} and {hyp.shape}")
    modisco_kwargs["verbose"] = False
    pos, neg = TFMoDISco(one_hot, hyp, **modisco_kwargs)
    if h5_path is not None:
        from modiscolite.io import save_hdf5

        from ..fileio import atomic_path
        with atomic_path(h5_path) as tmp:
            save_hdf5(str(tmp), pos, neg, modisco_kwargs.get("sliding_window_size", 21))
    L = one_hot.shape[1]
    out = [_pattern(f"pos_{i}", p, L, trim) for i, p in enumerate(pos or [])]
    return out + [_pattern(f"neg_{i}", p, L, trim) for i, p in enumerate(neg or [])]


# ----------------------------------------------------------------------------- database match
def jaspar_yeast_matrices(collection: str = "CORE", pseudocount: float = 0.5) -> list[tuple[str, str, np.ndarray]]:
    """(matrix id, factor name, PWM (L, 4)) of every S. cerevisiae JASPAR matrix of
    ``collection`` (latest versions; the offline pyjaspar release), PWMs by
    :func:`yeastzoi.genome.counts_to_pwm`."""
    from ..genome.motifs import YEAST_TAX_ID, counts_to_pwm

    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise YeastzoiError("pyjaspar is not installed; install it with `pip install pyjaspar`") from err
    out = []
    for m in jaspardb().fetch_motifs(collection=collection, species=[YEAST_TAX_ID]):
        counts = np.array([m.counts[b] for b in BASES], dtype=np.float64).T
        out.append((m.matrix_id, m.name, counts_to_pwm(counts, pseudocount)))
    if not out:
        raise YeastzoiError(f"JASPAR collection {collection!r} has no S. cerevisiae matrices")
    return out


def match_patterns(patterns: list[Pattern], database, n_runners_up: int = 2) -> pd.DataFrame:
    """Best database match of each pattern's PPM by tomtom (memelite).

    ``database``: list of (id, name, PWM (L, 4)) (:func:`jaspar_yeast_matrices`). Returns one
    row per pattern: pattern, n_seqlets, width, consensus, match (name), match_id, pvalue,
    qvalue (Benjamini–Hochberg over the database), strand (``-``: the reverse complement of the
    database matrix matched), offset (the pattern column where the matrix, on that strand,
    starts; may be negative), runners_up ("NAME (p); ..." for the next ``n_runners_up``)."""
    from scipy.stats import false_discovery_control

    cols = SUMMARY_COLUMNS[:11]
    if not patterns:
        return pd.DataFrame(columns=cols)
    try:
        from memelite import tomtom
    except ImportError as err:  # pragma: no cover - the motifs extra
        raise YeastzoiError("motif matching needs memelite: pip install 'yeastzoi[motifs]'") from err
    if len(database) < 1:
        raise YeastzoiError("the motif database is empty")
    qs = [np.ascontiguousarray(p.ppm.T, dtype=np.float64) for p in patterns]
    ts = [np.ascontiguousarray(np.asarray(pwm, dtype=np.float64).T) for _, _, pwm in database]
    pvals, _, offsets, _, strands = tomtom(qs, ts)
    rows = []
    for p, pv, off, st in zip(patterns, pvals, offsets, strands):
        order = np.argsort(pv, kind="stable")
        qv = false_discovery_control(np.clip(pv, 0, 1), method="bh")
        j = int(order[0])
        others = "; ".join(f"{database[k][1]} ({pv[k]:.1e})" for k in order[1:1 + n_runners_up])
        rows.append((p.name, p.n_seqlets, len(p.ppm), p.consensus, database[j][1], database[j][0],
                     float(pv[j]), float(qv[j]), "-" if st[j] else "+", -int(off[j]), others))
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- TSS distance
def nearest_tss_distance(chroms, positions, tss: pd.DataFrame) -> np.ndarray:
    """|position − nearest TSS| (bp, float64) on the same chromosome; NaN where the chromosome
    has none. ``tss``: DataFrame with chrom and tss (0-based bp, :func:`yeastzoi.genome.genes_table`)."""
    chroms = np.asarray(chroms, dtype=object)
    positions = np.asarray(positions, dtype=np.int64)
    out = np.full(len(positions), np.nan)
    for chrom in np.unique(chroms):
        t = np.sort(tss.loc[tss["chrom"] == chrom, "tss"].to_numpy(np.int64))
        if not len(t):
            continue
        idx = np.nonzero(chroms == chrom)[0]
        x = positions[idx]
        k = np.searchsorted(t, x)
        left = np.abs(x - t[np.clip(k - 1, 0, len(t) - 1)])
        right = np.abs(t[np.clip(k, 0, len(t) - 1)] - x)
        out[idx] = np.minimum(left, right)
    return out


def seqlet_positions(pattern: Pattern, regions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(chroms, genomic bp) of the centre (``(start + end) // 2``) of each seqlet's core;
    ``regions``: DataFrame chrom, start (rows = modisco input rows)."""
    r = pattern.seqlets["region"].to_numpy()
    centre = (pattern.seqlets["start"].to_numpy() + pattern.seqlets["end"].to_numpy()) // 2
    return regions["chrom"].to_numpy()[r], regions["start"].to_numpy(np.int64)[r] + centre


def random_positions(regions: pd.DataFrame, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(chroms, genomic bp) of ``n`` positions drawn uniformly from all bases of ``regions``
    (chrom, start, end)."""
    rng = np.random.default_rng(seed)
    lengths = (regions["end"] - regions["start"]).to_numpy(np.int64)
    r = rng.choice(len(regions), size=int(n), p=lengths / lengths.sum())
    return regions["chrom"].to_numpy()[r], regions["start"].to_numpy(np.int64)[r] + rng.integers(0, lengths[r])


def tss_distance_test(patterns: list[Pattern], regions: pd.DataFrame, tss: pd.DataFrame,
                      n_random: int = 10000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Distance to the nearest TSS of each pattern's seqlets vs ``n_random`` random positions
    in the same regions. Returns (table, distances): table rows pattern, median_tss_bp,
    median_random_bp, tss_pvalue (two-sided Mann–Whitney U; NaN with no seqlet);
    distances: name → array (bp), with "random" for the random positions."""
    from scipy.stats import mannwhitneyu

    rnd = nearest_tss_distance(*random_positions(regions, n_random, seed), tss)
    rnd = rnd[np.isfinite(rnd)]
    dists, rows = {"random": rnd}, []
    for p in patterns:
        d = nearest_tss_distance(*seqlet_positions(p, regions), tss)
        d = dists[p.name] = d[np.isfinite(d)]
        pv = float(mannwhitneyu(d, rnd, alternative="two-sided").pvalue) if len(d) and len(rnd) else np.nan
        rows.append((p.name, float(np.median(d)) if len(d) else np.nan, float(np.median(rnd)), pv))
    return pd.DataFrame(rows, columns=["pattern", "median_tss_bp", "median_random_bp", "tss_pvalue"]), dists


# ----------------------------------------------------------------------------- pipeline
def promoter_probs(model, genome, gtf_df: pd.DataFrame, n_genes: int | None = 400, upstream: int = 500,
                   downstream: int = 0, mask_rate: float = 0.15, progress=None, batch_size: int | None = None,
                   species=None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """LM probabilities over promoters: (regions, probs float32 (N, L, 4), codes uint8 (N, L)).

    Promoters are ``upstream`` bp 5′ + ``downstream`` bp 3′ of the TSS of ``n_genes`` genes
    (:func:`~yeastzoi.interpret.pick_genes`, :func:`~yeastzoi.interpret.promoter_regions`), in
    genome orientation; those clipped by a chromosome end are dropped so that all have
    L = upstream + downstream bp. ``model`` etc. as in :func:`lm_probs`."""
    from ..genome import genes_table
    from .motifs import pick_genes, promoter_regions

    genes = pick_genes(genes_table(gtf_df), genome.chroms, n_genes)
    prom = promoter_regions(genes, genome.chroms, upstream=upstream, downstream=downstream)
    full = (prom["end"] - prom["start"]) == upstream + downstream
    if (~full).any():
        log.info("dropped %d promoters clipped by a chromosome end", int((~full).sum()))
    prom = prom[full].reset_index(drop=True)
    if prom.empty:
        raise YeastzoiError("no full-length promoter to analyse")
    regions = list(zip(prom["chrom"], prom["start"], prom["end"]))
    probs = lm_probs(model, genome, regions, mask_rate=mask_rate, progress=progress,
                     batch_size=batch_size, species=species)
    codes = np.stack([genome.fetch_codes(c, s, e) for c, s, e in regions])
    return prom, np.stack(probs).astype(np.float32), codes


def discover_from_probs(probs, codes, regions: pd.DataFrame, tss: pd.DataFrame, database=None,
                        pseudocount: float = DEFAULT_PSEUDOCOUNT, trim: float = 0.3, n_random: int = 10000,
                        seed: int = 0, h5_path=None, **modisco_kwargs) -> dict:
    """Motifs in LM probabilities (N, L, 4) of regions with codes (N, L).

    ``regions``: DataFrame chrom, start, end of the N rows (genomic bp); ``tss``: DataFrame
    chrom, tss (all genes); ``database``: (id, name, PWM) list, default
    :func:`jaspar_yeast_matrices`. Returns dict: patterns (:class:`Pattern` list), summary
    (one row per pattern, :data:`SUMMARY_COLUMNS`), distances (see :func:`tss_distance_test`),
    database."""
    if len(regions) != len(codes):
        raise YeastzoiError(f"{len(regions)} regions but {len(codes)} sequences")
    one_hot, hyp = contribution_inputs(probs, codes, pseudocount)
    patterns = run_modisco(one_hot, hyp, trim=trim, h5_path=h5_path, **modisco_kwargs)
    database = jaspar_yeast_matrices() if database is None else database
    matches = match_patterns(patterns, database)
    tss_tab, dists = tss_distance_test(patterns, regions, tss, n_random=n_random, seed=seed)
    summary = matches.merge(tss_tab, on="pattern", how="left") if patterns else pd.DataFrame(columns=SUMMARY_COLUMNS)
    return {"patterns": patterns, "summary": summary[SUMMARY_COLUMNS], "distances": dists, "database": database}


# ----------------------------------------------------------------------------- figures
def _logo(ax, mat, title: str, start: int = 0) -> None:
    import logomaker

    mat = np.asarray(mat, dtype=np.float64)
    df = pd.DataFrame(mat, columns=list(BASES), index=np.arange(start, start + len(mat)))
    logomaker.Logo(df, ax=ax, color_scheme="classic", show_spines=False)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_title(title, fontsize=8, loc="left")
    ax.tick_params(labelsize=7)


def information_logo(pwm) -> np.ndarray:
    """(L, 4) letter heights of a PWM: p × (2 − H) bits (background uniform)."""
    from .lm_conservation import entropy_bits
    pwm = normalise_probs(pwm, 0.0)
    return pwm * (2.0 - entropy_bits(pwm))[:, None]


def plot_pattern(pattern: Pattern, row, database, path):
    """Logo figure of one pattern: CWM (mean observed contribution, bits), PPM (information
    content) and the best database match (information content, on the matched strand, aligned
    by tomtom's offset). ``row``: the pattern's row of the summary table (or None)."""
    import matplotlib.pyplot as plt

    from ..fileio import save_figure
    match = None
    if row is not None and isinstance(row.get("match_id"), str):
        match = next((pwm for mid, _, pwm in database if mid == row["match_id"]), None)
        if match is not None and row.get("strand") == "-":
            match = match[::-1, ::-1]
    n = 3 if match is not None else 2
    off = int(row["offset"]) if match is not None else 0
    lo, hi = min(0, off), max(len(pattern.ppm), off + (0 if match is None else len(match)))
    fig, axes = plt.subplots(n, 1, figsize=(1.2 + 0.32 * (hi - lo), 1.5 * n), squeeze=False)
    _logo(axes[0, 0], pattern.cwm, f"{pattern.name}: CWM, mean observed contribution (bits), "
                                   f"{pattern.n_seqlets} seqlets")
    _logo(axes[1, 0], information_logo(pattern.ppm), f"{pattern.name}: seqlet PPM (bits)")
    if match is not None:
        _logo(axes[2, 0], information_logo(match),
              f"best JASPAR match {row['match']} {row['match_id']} ({row['strand']}), "
              f"p {row['pvalue']:.1e}, q {row['qvalue']:.1e}", start=off)
    for ax in axes[:, 0]:
        ax.set_xlim(lo - 0.5, hi - 0.5)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def plot_tss_distances(distances: dict, path, max_patterns: int = 8):
    """Empirical CDF of the distance to the nearest TSS (bp) for random positions and the
    first ``max_patterns`` patterns."""
    import matplotlib.pyplot as plt

    from ..fileio import save_figure
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for i, (name, d) in enumerate(distances.items()):
        if i > max_patterns or not len(d):
            continue
        x = np.sort(d)
        ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=f"{name} (n={len(x)})",
                color="k" if name == "random" else None, lw=2 if name == "random" else 1)
    ax.set_xlabel("distance to the nearest TSS (bp)")
    ax.set_ylabel("fraction of positions")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)
