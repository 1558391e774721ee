"""LM conservation (the masked-LM reading of a locus).

Every position of a region is masked exactly once, with the rest of its model window
intact, and the LM's predicted base distribution at that position is kept as one row of a
position weight matrix. The region is cut into chunks (at most ``seq_length // 2`` bp each by
default) and each chunk sits at the centre of its own ``seq_length`` window
(:func:`yeastzoi.model.geometry.centred_window_start`), so every position sees at least a
quarter window of context on each side (N-padded at chromosome ends). Within a chunk the
positions are split into *rounds* by a stride interleave: round r masks chunk offsets r,
r + R, r + 2R, ... (R = number of rounds). R is the larger of
``ceil(chunk / (mask_rate · seq_length))`` (at most ``mask_rate`` of the window masked per
round) and ``ceil(1 / mask_rate)`` (masked positions at least 1/mask_rate bp apart, the
density the LM saw in training), so one round never hides a position's close neighbours.
Masked positions carry the mask token (DNA channels 0, mask channel 1), as in evaluation.
Inputs are built and predicted by the one :class:`~yeastzoi.model.predictor.Predictor`
(its species channel follows the one species rule; an ensemble of LMs is averaged).

Per position: ``p' = (p + ε) / (1 + 4ε)`` (pseudocount ε), entropy ``H = −Σ p' log2 p'`` (bits,
0..2) and conservation ``C = 2 − H`` (bits, 0..2; the information content of the row).

    lm = Predictor(load_model("lm/model_best.h5"), species="s288c")
    df = conservation(lm, Genome("genome.fa"), "chrI", 1000, 1500)
    df.columns  # chrom pos ref A C G T entropy conservation
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.dna import codes_to_seq
from ..model.geometry import centred_window_start
from ..model.loader import check_lm
from ..model.predictor import as_predictor

log = logging.getLogger(__name__)

BASES = ("A", "C", "G", "T")
PWM_COLUMNS = ["chrom", "pos", "ref", "A", "C", "G", "T", "entropy", "conservation"]
DEFAULT_PSEUDOCOUNT = 1e-3


# ----------------------------------------------------------------------------- arithmetic
def normalise_probs(p, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """(..., 4) non-negative scores → probabilities ``(p + ε) / Σ(p + ε)`` (float64)."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1] != 4:
        raise YeastzoiError(f"base distributions must have 4 columns (A, C, G, T), got shape {p.shape}")
    if pseudocount < 0 or np.any(p < 0):
        raise YeastzoiError("probabilities and the pseudocount must be non-negative")
    q = p + pseudocount
    total = q.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise YeastzoiError("a base distribution sums to 0; use a positive pseudocount")
    return q / total


def entropy_bits(p) -> np.ndarray:
    """Shannon entropy in bits of distributions (..., 4) along the last axis (0·log 0 = 0).

    ``p`` should already be normalised (see :func:`normalise_probs`)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=-1)


def conservation_from_probs(p, pseudocount: float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """Conservation ``C = 2 − H`` (bits) of LM distributions (..., 4) after adding
    ``pseudocount`` to each base and renormalising. Uniform → 0; one-hot → just under 2."""
    return 2.0 - entropy_bits(normalise_probs(p, pseudocount))


# ----------------------------------------------------------------------------- round plan
def mask_rounds(n: int, seq_length: int, mask_rate: float = 0.15) -> list[np.ndarray]:
    """Split offsets 0..n-1 into masking rounds by a stride interleave (see module doc).

    Returns a list of R sorted int64 arrays; their union is ``range(n)`` with every offset in
    exactly one round; each round has at most ``max(1, int(mask_rate · seq_length))`` offsets
    and its offsets are R apart.
    """
    n, seq_length = int(n), int(seq_length)
    if n < 1:
        raise YeastzoiError("cannot plan masking rounds for an empty region")
    if not 0 < mask_rate <= 1:
        raise YeastzoiError(f"mask_rate must be in (0, 1], got {mask_rate}")
    per_round = max(1, int(mask_rate * seq_length))
    rounds = max(math.ceil(n / per_round), math.ceil(1.0 / mask_rate - 1e-9))
    rounds = min(rounds, n)
    offsets = np.arange(n, dtype=np.int64)
    return [offsets[r::rounds] for r in range(rounds)]


@dataclass(frozen=True)
class Chunk:
    """A piece of a region and the model window centred on it (bp, 0-based half-open)."""
    chrom: str
    start: int
    end: int
    window_start: int


def plan_chunks(chrom: str, start: int, end: int, seq_length: int, max_chunk: int | None = None) -> list[Chunk]:
    """Cut [start, end) into near-equal chunks of at most ``max_chunk`` bp (default
    ``seq_length // 2``), each centred in a ``seq_length`` window."""
    start, end = int(start), int(end)
    if end <= start:
        raise YeastzoiError(f"region {chrom}:{start}-{end} is empty")
    max_chunk = int(max_chunk or seq_length // 2)
    if not 0 < max_chunk <= seq_length:
        raise YeastzoiError(f"chunk size {max_chunk} must be in 1..seq_length ({seq_length})")
    n = math.ceil((end - start) / max_chunk)
    edges = np.linspace(start, end, n + 1).round().astype(np.int64)
    out = []
    for s, e in zip(edges[:-1], edges[1:]):
        out.append(Chunk(chrom, int(s), int(e), centred_window_start(s, e, seq_length)))
    return out


# ----------------------------------------------------------------------------- LM
def _mask_jobs(genome, regions, L: int, mask_rate: float, max_chunk):
    """[(region index, chunk, masked offsets in the window, their region offsets)]."""
    jobs = []
    for ri, (chrom, s, e) in enumerate(regions):
        size = genome.chroms[chrom]
        if not 0 <= s < e <= size:
            raise YeastzoiError(f"region {chrom}:{s}-{e} runs off {chrom} (length {size} bp)")
        for ch in plan_chunks(chrom, s, e, L, max_chunk):
            for offs in mask_rounds(ch.end - ch.start, L, mask_rate):
                jobs.append((ri, ch, offs + (ch.start - ch.window_start), offs + (ch.start - s)))
    return jobs


def lm_probs(model, genome, regions, mask_rate: float = 0.15, max_chunk: int | None = None,
             progress=None, batch_size: int | None = None, species=None) -> list[np.ndarray]:
    """LM base distributions (len, 4) at every position of each region, each masked once.

    ``model``: a :class:`~yeastzoi.model.predictor.Predictor` of a masked LM (or an LM SeqNN
    wrapped with ``batch_size`` and ``species``); ``regions``: (chrom, start, end). All
    (chunk, round) inputs of all regions are predicted in batches; ``progress``: optional
    callable(done, total) called after each group of batches.
    """
    pred = as_predictor(model, batch_size=batch_size, species=species)
    check_lm(pred.meta, pred.names[0])
    L = pred.seq_length
    regions = [(genome.resolve(c), int(s), int(e)) for c, s, e in regions]
    jobs = _mask_jobs(genome, regions, L, mask_rate, max_chunk)
    out = [np.full((e - s, 4), np.nan, dtype=np.float64) for _, s, e in regions]
    pred.expect(len(jobs))
    codes_cache: dict = {}
    step = pred.batch_size * 8
    for b0 in range(0, len(jobs), step):
        batch = jobs[b0:b0 + step]
        codes, masks = [], []
        for ri, ch, win_offs, _ in batch:
            key = (ch.chrom, ch.window_start)
            if key not in codes_cache:
                codes_cache[key] = genome.fetch_codes(ch.chrom, ch.window_start, ch.window_start + L)
            codes.append(codes_cache[key])
            mask = np.zeros(L, dtype=np.float32)
            mask[win_offs] = 1
            masks.append(mask)
        y = pred.predict_codes(np.stack(codes), np.stack(masks)).mean(axis=0)
        for (ri, ch, win_offs, reg_offs), yi in zip(batch, y):
            out[ri][reg_offs] = yi[win_offs]
        if progress is not None:
            progress(min(b0 + step, len(jobs)), len(jobs))
    for p in out:
        if np.isnan(p).any():  # pragma: no cover - the round plan covers every position
            raise AssertionError("a region position was never masked")
    return out


def conservation_table(chrom: str, start: int, ref_codes: np.ndarray, probs: np.ndarray,
                       pseudocount: float = DEFAULT_PSEUDOCOUNT) -> pd.DataFrame:
    """DataFrame (one row per bp) of chrom, pos (0-based), ref base, A C G T (normalised
    probabilities with the pseudocount), entropy (bits) and conservation (2 − entropy)."""
    q = normalise_probs(probs, pseudocount)
    h = entropy_bits(q)
    df = pd.DataFrame({"chrom": chrom, "pos": np.arange(start, start + len(q), dtype=np.int64),
                       "ref": list(codes_to_seq(ref_codes))})
    for i, b in enumerate(BASES):
        df[b] = q[:, i]
    df["entropy"] = h
    df["conservation"] = 2.0 - h
    return df


def conservation(model, genome, chrom: str, start: int, end: int, batch_size: int | None = None,
                 pseudocount: float = DEFAULT_PSEUDOCOUNT, mask_rate: float = 0.15,
                 max_chunk: int | None = None, progress=None, species=None) -> pd.DataFrame:
    """LM conservation of [start, end) of ``chrom`` (0-based half-open bp).

    Returns :func:`conservation_table`'s DataFrame with ``end − start`` rows. See the module
    docstring for the masking plan; ``model`` as in :func:`lm_probs`.
    """
    chrom = genome.resolve(chrom)
    probs = lm_probs(model, genome, [(chrom, start, end)], mask_rate, max_chunk, progress,
                     batch_size=batch_size, species=species)[0]
    return conservation_table(chrom, int(start), genome.fetch_codes(chrom, start, end), probs, pseudocount)


def conservation_many(model, genome, regions, batch_size: int | None = None,
                      pseudocount: float = DEFAULT_PSEUDOCOUNT, mask_rate: float = 0.15,
                      max_chunk: int | None = None, progress=None, species=None) -> list[pd.DataFrame]:
    """:func:`conservation` for several (chrom, start, end) regions, batched together."""
    regions = [(genome.resolve(c), int(s), int(e)) for c, s, e in regions]
    probs = lm_probs(model, genome, regions, mask_rate, max_chunk, progress, batch_size=batch_size,
                     species=species)
    return [conservation_table(c, s, genome.fetch_codes(c, s, e), p, pseudocount)
            for (c, s, e), p in zip(regions, probs)]


def write_conservation_bigwig(path, tables, chrom_sizes: dict) -> None:
    """bigWig of the ``conservation`` column of one or more tables; header = ``chrom_sizes``
    (e.g. ``genome.chroms``); positions outside the tables have no entry."""
    from ..coverage import write_bigwig

    if isinstance(tables, pd.DataFrame):
        tables = [tables]
    cov = {}
    for df in tables:
        for chrom, grp in df.groupby("chrom", sort=False):
            if chrom not in chrom_sizes:
                raise YeastzoiError(f"chromosome {chrom} is not in the bigWig header")
            arr = cov.get(chrom)
            if arr is None:
                arr = cov[chrom] = np.full(int(chrom_sizes[chrom]), np.nan, dtype=np.float32)
            arr[grp["pos"].to_numpy()] = grp["conservation"].to_numpy(np.float32)
    for arr in cov.values():  # a stored 0 would read back like "no entry": keep it visible
        arr[arr == 0] = np.float32(1e-12)
    write_bigwig(path, cov, chrom_sizes)
