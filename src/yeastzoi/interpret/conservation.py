"""Model interpretation: language-model conservation, motif-vs-flank enrichment, attention maps.

LM conservation (the masked-LM reading of a locus)
--------------------------------------------------
Every position of a region is masked exactly once, with the rest of its model window
intact, and the LM's predicted base distribution at that position is kept as one row of a
position weight matrix. The region is cut into chunks (at most ``seq_length // 2`` bp each by
default) and each chunk sits at the centre of its own ``seq_length`` window, so every
position sees at least a quarter window of context on each side (N-padded at chromosome
ends). Within a chunk the positions are split into *rounds* by a stride interleave: round r
masks chunk offsets r, r + R, r + 2R, ... (R = number of rounds). R is the larger of
``ceil(chunk / (mask_rate · seq_length))`` (at most ``mask_rate`` of the window masked per
round) and ``ceil(1 / mask_rate)`` (masked positions at least 1/mask_rate bp apart, the
density the LM saw in training), so one round never hides a position's close neighbours.
Masked positions carry the mask token (DNA channels 0, mask channel 1), as in evaluation.

Per position: ``p' = (p + ε) / (1 + 4ε)`` (pseudocount ε), entropy ``H = −Σ p' log2 p'`` (bits,
0..2) and conservation ``C = 2 − H`` (bits, 0..2; the information content of the row).

    seqnn = SeqNN.from_file("lm/model_best.h5")
    df = conservation(seqnn, Genome("genome.fa"), "chrI", 1000, 1500)
    df.columns  # chrom pos ref A C G T entropy conservation

Attention
---------
:func:`attention_maps` returns, for each relative-position attention layer of a model, the
softmax attention weights (B, heads, T, T) of a batch of inputs (T = the trunk's pooled
length; each key row sums to 1).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..genome.assembly import parse_region  # noqa: F401 (re-exported)
from ..genome.dna import codes_to_seq, model_input

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
        mid = (int(s) + int(e)) // 2
        out.append(Chunk(chrom, int(s), int(e), mid - seq_length // 2))
    return out


# ----------------------------------------------------------------------------- LM helpers
def check_lm(seqnn) -> None:
    """Raise YeastzoiError unless ``seqnn`` is a masked LM (mask channel in, (L, 4) out)."""
    meta = seqnn.meta
    if int(meta.get("num_features", 4)) < 5:
        raise YeastzoiError("the model has no mask channel (num_features < 5); conservation needs a "
                            "masked language model (e.g. trained from json_params/tiny_lm.json)")
    if int(meta.get("num_targets", 0)) != 4 or int(meta.get("target_length", 0)) != int(meta["seq_length"]):
        raise YeastzoiError("the model does not predict a base distribution per input position "
                            f"(output {meta.get('target_length')} × {meta.get('num_targets')}); "
                            "conservation needs a masked language model")


def species_index_of(seqnn, species=None) -> int | None:
    """Species channel index for ``species`` (name or index; default the model's first);
    None for a model without species channels."""
    n = int(seqnn.meta.get("num_species") or max(int(seqnn.meta.get("num_features", 4)) - 5, 0))
    if n == 0:
        return None
    if species is None:
        return 0
    names = [str(s) for s in (seqnn.meta.get("species") or [])]
    if str(species) in names:
        return names.index(str(species))
    if str(species).isdigit() and int(species) < n:
        return int(species)
    raise YeastzoiError(f"species '{species}' is not one of the model's species "
                        f"({', '.join(names) if names else f'indices 0-{n - 1}'})")


def _predict_fn(seqnn, batch_size: int):
    """x (B, L, F) → (B, L, out) with a fixed batch shape (pads the last batch, one trace)."""
    model = seqnn.model

    def fn(x):
        x = np.asarray(x, dtype=np.float32)
        out = []
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            k = len(xb)
            if k < batch_size:
                xb = np.concatenate([xb, np.zeros((batch_size - k,) + xb.shape[1:], np.float32)])
            out.append(np.asarray(model.predict_on_batch(xb))[:k])
        return np.concatenate(out) if out else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)
    return fn


def lm_probs(seqnn, genome, regions, species_index: int | None = 0, batch_size: int = 4,
             mask_rate: float = 0.15, max_chunk: int | None = None, progress=None) -> list[np.ndarray]:
    """LM base distributions (len, 4) at every position of each region, each masked once.

    ``regions``: iterable of (chrom, start, end) with FASTA names. All (chunk, round) inputs
    of all regions are predicted in batches of ``batch_size``. ``progress``: optional
    callable(done, total) called after each batch.
    """
    check_lm(seqnn)
    L = int(seqnn.meta["seq_length"])
    nf = int(seqnn.meta["num_features"])
    if nf > 5 and species_index is None:
        species_index = 0
    if nf == 5:
        species_index = None
    regions = [(genome.resolve(c), int(s), int(e)) for c, s, e in regions]
    jobs = []  # (region index, chunk, offsets in window of masked positions, region offsets)
    for ri, (chrom, s, e) in enumerate(regions):
        size = genome.chroms[chrom]
        if not 0 <= s < e <= size:
            raise YeastzoiError(f"region {chrom}:{s}-{e} runs off {chrom} (length {size} bp)")
        for ch in plan_chunks(chrom, s, e, L, max_chunk):
            for offs in mask_rounds(ch.end - ch.start, L, mask_rate):
                jobs.append((ri, ch, offs + (ch.start - ch.window_start), offs + (ch.start - s)))
    out = [np.full((e - s, 4), np.nan, dtype=np.float64) for _, s, e in regions]
    fn = _predict_fn(seqnn, batch_size)
    codes_cache: dict = {}
    step = batch_size * 8
    for b0 in range(0, len(jobs), step):
        batch = jobs[b0:b0 + step]
        xs = []
        for ri, ch, win_offs, _ in batch:
            key = (ch.chrom, ch.window_start)
            codes = codes_cache.get(key)
            if codes is None:
                codes = codes_cache[key] = genome.fetch_codes(ch.chrom, ch.window_start, ch.window_start + L)
            mask = np.zeros(L, dtype=np.float32)
            mask[win_offs] = 1
            xs.append(model_input(codes, nf, species_index, mask))
        y = fn(np.stack(xs))
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


def conservation(seqnn, genome, chrom: str, start: int, end: int, species_index: int | None = 0,
                 batch_size: int = 4, pseudocount: float = DEFAULT_PSEUDOCOUNT,
                 mask_rate: float = 0.15, max_chunk: int | None = None, progress=None) -> pd.DataFrame:
    """LM conservation of [start, end) of ``chrom`` (0-based half-open bp).

    Returns :func:`conservation_table`'s DataFrame with ``end − start`` rows. See the module
    docstring for the masking plan. ``species_index``: the species channel (ignored by a
    model without species channels).
    """
    chrom = genome.resolve(chrom)
    probs = lm_probs(seqnn, genome, [(chrom, start, end)], species_index, batch_size,
                     mask_rate, max_chunk, progress)[0]
    return conservation_table(chrom, int(start), genome.fetch_codes(chrom, start, end), probs, pseudocount)


def conservation_many(seqnn, genome, regions, species_index: int | None = 0, batch_size: int = 4,
                      pseudocount: float = DEFAULT_PSEUDOCOUNT, mask_rate: float = 0.15,
                      max_chunk: int | None = None, progress=None) -> list[pd.DataFrame]:
    """:func:`conservation` for several (chrom, start, end) regions, batched together."""
    regions = [(genome.resolve(c), int(s), int(e)) for c, s, e in regions]
    probs = lm_probs(seqnn, genome, regions, species_index, batch_size, mask_rate, max_chunk, progress)
    return [conservation_table(c, s, genome.fetch_codes(c, s, e), p, pseudocount)
            for (c, s, e), p in zip(regions, probs)]


def write_conservation_bigwig(path, tables, chrom_sizes: dict) -> None:
    """bigWig of the ``conservation`` column of one or more tables; header = ``chrom_sizes``
    (e.g. ``genome.chroms``); positions outside the tables have no entry."""
    from ..coverage.tracks import write_bigwig

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


# ----------------------------------------------------------------------------- regions
def find_gene(genes: pd.DataFrame, name: str) -> pd.Series:
    """Row of :func:`yeastzoi.genome.assembly.genes_table` whose gene_name or gene_id is ``name``
    (case-insensitive)."""
    key = str(name).upper()
    hit = genes[(genes["gene_name"].astype(str).str.upper() == key) |
                (genes["gene_id"].astype(str).str.upper() == key)]
    if hit.empty:
        raise YeastzoiError(f"gene '{name}' is not in the annotation (matched against gene_name and gene_id)")
    return hit.iloc[0]


def promoter_regions(genes: pd.DataFrame, chrom_sizes: dict, upstream: int = 500,
                     downstream: int = 0) -> pd.DataFrame:
    """Promoter intervals (chrom, start, end, strand, gene_name) of ``upstream`` bp 5′ of each
    TSS (plus ``downstream`` bp into the gene), strand-aware, clipped to the chromosome;
    genes on chromosomes missing from ``chrom_sizes`` or clipped to nothing are dropped."""
    rows = []
    for g in genes.itertuples(index=False):
        if g.chrom not in chrom_sizes:
            continue
        tss = int(g.tss)
        if g.strand == "-":
            s, e = tss + 1 - downstream, tss + 1 + upstream
        else:
            s, e = tss - upstream, tss + downstream
        s, e = max(0, s), min(int(chrom_sizes[g.chrom]), e)
        if e > s:
            rows.append((g.chrom, s, e, g.strand, g.gene_name or g.gene_id))
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "gene_name"])


# ----------------------------------------------------------------------------- motifs
def find_motif_sites(codes_by_region, log_odds: dict, thresholds: dict) -> pd.DataFrame:
    """Motif matches in each region's codes.

    ``codes_by_region``: list of uint8 code arrays; ``log_odds``: motif → (L, 5) from
    :func:`yeastzoi.genome.motifs.pwm_log_odds`; ``thresholds``: motif → score threshold (bits).
    Returns DataFrame motif, region (index), start, end (region offsets), strand, score; a
    window passing on both strands is one site (the better strand). Sites of one motif may
    overlap one another.
    """
    from ..genome.motifs import scan_pwm

    rows = []
    for name, lo in log_odds.items():
        thr = float(thresholds[name])
        width = lo.shape[0]
        for ri, codes in enumerate(codes_by_region):
            fwd, rev = scan_pwm(codes, lo)
            best = np.maximum(fwd, rev)
            for i in np.nonzero(best >= thr)[0]:
                strand = "+" if fwd[i] >= rev[i] else "-"
                rows.append((name, ri, int(i), int(i) + width, strand, float(best[i])))
    return pd.DataFrame(rows, columns=["motif", "region", "start", "end", "strand", "score"])


def motif_enrichment(conservation_tracks, sites: pd.DataFrame, flank: int = 20,
                     alternative: str = "greater") -> pd.DataFrame:
    """Conservation at motif sites vs their flanks, per motif.

    ``conservation_tracks``: list (or dict) region → 1-D conservation array (bits), indexed
    by the ``region`` column of ``sites``; ``sites``: DataFrame motif, region, start, end
    (offsets into the region's array). For each site the motif value is the mean C over
    [start, end) and the flank value the mean C over up to ``flank`` bp on each side (inside
    the region, excluding the site). Sites without any flank are dropped.

    Returns one row per motif: motif, n_sites, motif_C, flank_C (means over sites),
    delta (motif_C − flank_C), enrichment (motif_C / flank_C), pvalue — the Wilcoxon
    signed-rank test (scipy, paired motif vs flank per site, ``alternative`` "greater":
    motif more conserved) — NaN with fewer than 2 sites or when every pair is tied.
    """
    from scipy.stats import wilcoxon

    cols = ["motif", "n_sites", "motif_C", "flank_C", "delta", "enrichment", "pvalue"]
    out = []
    for name, grp in sites.groupby("motif", sort=False):
        inside, around = [], []
        for r in grp.itertuples(index=False):
            c = np.asarray(conservation_tracks[r.region], dtype=np.float64)
            s, e = int(r.start), int(r.end)
            if s < 0 or e > len(c) or e <= s:
                raise YeastzoiError(f"motif site {name} {s}-{e} lies outside region {r.region} "
                                    f"({len(c)} bp)")
            fl = np.concatenate([c[max(0, s - flank):s], c[e:e + flank]])
            if fl.size == 0:
                continue
            inside.append(c[s:e].mean())
            around.append(fl.mean())
        inside, around = np.asarray(inside), np.asarray(around)
        n = len(inside)
        pval = np.nan
        if n >= 2 and np.any(inside != around):
            pval = float(wilcoxon(inside, around, alternative=alternative).pvalue)
        mc = float(inside.mean()) if n else np.nan
        fc = float(around.mean()) if n else np.nan
        out.append((name, n, mc, fc, mc - fc, mc / fc if n and fc > 0 else np.nan, pval))
    return pd.DataFrame(out, columns=cols)


# ----------------------------------------------------------------------------- attention
def attention_layers(seqnn) -> list:
    """The relative-position attention layers of ``seqnn.model``, in model order."""
    from ..model.layers import MultiheadAttention

    layers = [l for l in seqnn.model.layers if isinstance(l, MultiheadAttention)]
    return layers


def attention_maps(seqnn, x, layers=None, batch_size: int = 4) -> list[np.ndarray]:
    """Attention weights of each attention layer for inputs ``x`` (B, seq_length, F).

    Returns a list (one per selected layer; ``layers``: indices into
    :func:`attention_layers`, default all) of float32 arrays (B, heads, T, T): row i holds
    query position i's softmax weights over the T key positions (sums to 1). Inference
    mode (no dropout).
    """
    import keras

    all_layers = attention_layers(seqnn)
    if not all_layers:
        raise YeastzoiError("the model has no attention layers (no transformer_tower in its trunk)")
    idx = list(range(len(all_layers))) if layers is None else [int(i) for i in layers]
    for i in idx:
        if not 0 <= i < len(all_layers):
            raise YeastzoiError(f"attention layer {i} does not exist; the model has "
                                f"{len(all_layers)} (0-{len(all_layers) - 1})")
    chosen = [all_layers[i] for i in idx]
    sub = keras.Model(seqnn.model.input, [l.input for l in chosen])
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    out = [[] for _ in chosen]
    for b0 in range(0, len(x), batch_size):
        feats = sub(x[b0:b0 + batch_size], training=False)
        if not isinstance(feats, (list, tuple)):
            feats = [feats]
        for k, (layer, f) in enumerate(zip(chosen, feats)):
            out[k].append(np.asarray(layer.attention_weights(f, training=False), dtype=np.float32))
    return [np.concatenate(o) for o in out]


# ----------------------------------------------------------------------------- workflows
def safe_name(text: str) -> str:
    """A file-name-safe version of a region or gene name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "region"


def named_regions(genome, region: str | None = None, bed=None, gene: str | None = None,
                  gtf_df: pd.DataFrame | None = None, flank: int = 0) -> list[tuple[str, str, int, int]]:
    """(name, chrom, start, end) regions from exactly one of: ``region`` ("chrom:start-end"),
    ``bed`` (path; the name column when present, else chrom_start_end), ``gene`` (a gene
    name or id in ``gtf_df``, its span ± ``flank`` bp clipped to the chromosome). Chromosome
    names are resolved to the FASTA's; regions must lie on their chromosome."""
    from ..genome.assembly import genes_table, read_bed

    given = [x is not None for x in (region, bed, gene)]
    if sum(given) != 1:
        raise YeastzoiError("give exactly one of a region, a BED file or a gene")
    out = []
    if region is not None:
        c, s, e = parse_region(region)
        out.append((None, c, s, e))
    elif bed is not None:
        df = read_bed(bed)
        if df.empty:
            raise YeastzoiError(f"{bed}: no regions")
        for r in df.itertuples(index=False):
            out.append((getattr(r, "name", None), r.chrom, int(r.start), int(r.end)))
    else:
        if gtf_df is None:
            raise YeastzoiError("--gene needs an annotation (--gtf)")
        g = find_gene(genes_table(gtf_df), gene)
        chrom = genome.resolve(g.chrom)
        s, e = max(0, int(g.start) - flank), min(genome.chroms[chrom], int(g.end) + flank)
        out.append((str(g.gene_name or g.gene_id), chrom, s, e))
    res = []
    for name, c, s, e in out:
        c = genome.resolve(c)
        size = genome.chroms[c]
        if not 0 <= s < e <= size:
            raise YeastzoiError(f"region {c}:{s}-{e} runs off {c} (length {size} bp); regions are "
                                f"0-based half-open with 0 <= start < end <= {size}")
        res.append((safe_name(name or f"{c}_{s}_{e}"), c, s, e))
    names = [r[0] for r in res]
    if len(set(names)) != len(names):
        res = [(f"{n}_{c}_{s}_{e}", c, s, e) for n, c, s, e in res]
    return res


def pick_genes(genes: pd.DataFrame, chrom_sizes: dict, n: int | None) -> pd.DataFrame:
    """``n`` genes spread evenly over the annotation (protein-coding when the biotype is
    known), on chromosomes of ``chrom_sizes``; all when ``n`` is None."""
    g = genes[genes["chrom"].isin(list(chrom_sizes))]
    if "gene_biotype" in g and (g["gene_biotype"] == "protein_coding").any():
        g = g[g["gene_biotype"] == "protein_coding"]
    if g.empty:
        raise YeastzoiError("the annotation has no genes on the FASTA's chromosomes")
    if n is not None and n < len(g):
        g = g.iloc[np.unique(np.linspace(0, len(g) - 1, int(n)).round().astype(int))]
    return g.reset_index(drop=True)


def motif_check(seqnn, genome, gtf_df: pd.DataFrame, motifs, n_genes: int | None = 100,
                upstream: int = 500, pvalue: float = 1e-4, flank: int = 20,
                species_index: int | None = 0, batch_size: int = 4,
                pseudocount: float = DEFAULT_PSEUDOCOUNT, progress=None) -> dict:
    """LM conservation over promoters and its enrichment at JASPAR yeast motif matches.

    Promoters: ``upstream`` bp 5′ of the TSS of ``n_genes`` genes (:func:`pick_genes`).
    Motif matches: one-strand p ≤ ``pvalue`` against the promoters' base composition.
    Returns dict with ``enrichment`` (:func:`motif_enrichment`), ``sites`` (with chrom and
    genomic start/end added), ``promoters`` and ``tables`` (one conservation table per
    promoter).
    """
    from ..genome.assembly import genes_table
    from ..genome.motifs import background_from_codes, load_yeast_motifs, pwm_log_odds, score_pvalue_threshold

    genes = pick_genes(genes_table(gtf_df), genome.chroms, n_genes)
    prom = promoter_regions(genes, genome.chroms, upstream=upstream)
    tables = conservation_many(seqnn, genome, list(zip(prom["chrom"], prom["start"], prom["end"])),
                               species_index, batch_size, pseudocount, progress=progress)
    codes = [genome.fetch_codes(c, s, e) for c, s, e in zip(prom["chrom"], prom["start"], prom["end"])]
    bg = background_from_codes(np.concatenate(codes))
    pwms = load_yeast_motifs(motifs)
    lo = {k: pwm_log_odds(v, bg) for k, v in pwms.items()}
    thr = {k: score_pvalue_threshold(v, bg, pvalue) for k, v in lo.items()}
    sites = find_motif_sites(codes, lo, thr)
    tracks = [t["conservation"].to_numpy() for t in tables]
    enr = motif_enrichment(tracks, sites, flank=flank)
    missing = [k for k in lo if k not in set(enr["motif"])]
    if missing:
        log.warning("no promoter matches at p <= %g for: %s", pvalue, ", ".join(missing))
        enr = pd.concat([enr, pd.DataFrame({"motif": missing, "n_sites": 0})], ignore_index=True)
    enr["threshold_bits"] = enr["motif"].map(thr)
    if len(sites):
        sites = sites.assign(chrom=prom["chrom"].to_numpy()[sites["region"]],
                             gene_name=prom["gene_name"].to_numpy()[sites["region"]],
                             genome_start=prom["start"].to_numpy()[sites["region"]] + sites["start"],
                             genome_end=prom["start"].to_numpy()[sites["region"]] + sites["end"])
    return {"enrichment": enr, "sites": sites, "promoters": prom, "tables": tables}


def write_tsv(df: pd.DataFrame, path, float_format: str = "%.6g") -> None:
    """Write a DataFrame as a tab-separated file (no index), atomically."""
    from ..fileio import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format)


def centred_input(seqnn, genome, chrom: str, start: int, end: int, species_index: int | None = 0):
    """(x (1, seq_length, F), window_start): the model input centred on [start, end),
    N-padded past the chromosome ends; species channel set for LM-style inputs; no mask."""
    L = int(seqnn.meta["seq_length"])
    nf = int(seqnn.meta.get("num_features", 4))
    chrom = genome.resolve(chrom)
    w0 = (int(start) + int(end)) // 2 - L // 2
    codes = genome.fetch_codes(chrom, w0, w0 + L)
    sp = species_index if nf > 5 else None
    if nf > 5 and sp is None:
        sp = 0
    return model_input(codes, nf, sp, np.zeros(L, np.float32) if nf > 4 else None)[None], w0


def window_attention(seqnn, genome, chrom: str, start: int, end: int, layers=None,
                     species_index: int | None = 0) -> dict:
    """Attention maps of the window centred on [start, end).

    Returns dict ``maps`` (list per layer of (heads, T, T)), ``layers`` (indices),
    ``window_start`` (bp), ``bin_bp`` (bp per attention position), ``chrom``."""
    x, w0 = centred_input(seqnn, genome, chrom, start, end, species_index)
    n_layers = len(attention_layers(seqnn))
    idx = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    maps = [m[0] for m in attention_maps(seqnn, x, idx)]
    t = maps[0].shape[-1]
    return {"maps": maps, "layers": idx, "window_start": w0, "chrom": genome.resolve(chrom),
            "bin_bp": int(seqnn.meta["seq_length"]) // t}


def observed_like_predicted(cov_bp: np.ndarray, targets_df: pd.DataFrame, pool_width: int) -> np.ndarray:
    """Observed per-base coverage (L bp, T) → (L/pool_width, T) in the units of untransformed
    predictions: the targets sheet's transform (scale, pool by sum_stat, soft/hard clip)
    followed by :func:`yeastzoi.coverage.targets.untransform`, exactly what the model was trained
    on, mapped back."""
    from ..coverage.targets import transform_tracks, untransform

    return untransform(transform_tracks(cov_bp, targets_df, pool_width), targets_df)


def pooled_units(sum_stat: str, bin_bp: int) -> str:
    """Axis label for untransformed values of a track with ``sum_stat`` (see
    :func:`yeastzoi.coverage.targets.untransform`): what one bin's number means."""
    how = {"sum": "sum", "sum_sqrt": "sum", "sum_exp75": "sum", "mean": "mean per bp",
           "mean_sqrt": "mean per bp", "max": "max per bp", "median": "median per bp",
           "peak": "mean per bp"}.get(sum_stat, sum_stat)
    return f"reads ({how}) / {bin_bp} bp bin"


def locus_tracks(seqnn, genome, targets_df: pd.DataFrame, chrom: str, start: int, end: int,
                 tracks=None, species_index: int | None = None, observed: bool = True) -> dict:
    """Predicted and observed coverage for the window centred on [start, end).

    ``targets_df``: the sheet the model was trained with (row i = output track i);
    ``tracks``: identifiers to keep (default all). Predictions are untransformed with the
    sheet; observed coverage is read from the sheet's files and put through the same
    transform and its inverse (:func:`observed_like_predicted`), so both are the pooled raw
    coverage per bin (bin sum for sum* tracks, mean for mean* tracks). Returns dict
    pred, obs (bins, T; obs None when ``observed`` is False), ids, descriptions, sum_stats,
    chrom, start (bp of the first output bin), bin_bp, window_start.
    """
    from ..coverage.tracks import CoverageFile
    from ..coverage.targets import untransform

    meta = seqnn.meta
    nt = int(meta["num_targets"])
    if len(targets_df) != nt:
        raise YeastzoiError(f"the targets sheet has {len(targets_df)} tracks but the model predicts "
                            f"{nt}; use the sheet the model was trained with")
    ids = [str(i) for i in targets_df["identifier"]]
    if tracks:
        missing = [t for t in tracks if t not in ids]
        if missing:
            raise YeastzoiError(f"track(s) {', '.join(missing)} not in the targets sheet "
                                f"(it has {', '.join(ids[:8])}{'…' if len(ids) > 8 else ''})")
        cols = [ids.index(t) for t in tracks]
    else:
        cols = list(range(nt))
    x, w0 = centred_input(seqnn, genome, chrom, start, end, species_index)
    chrom = genome.resolve(chrom)
    model = seqnn.ensemble if seqnn.ensemble is not None else seqnn.model
    y = np.asarray(model.predict_on_batch(x), dtype=np.float32)[0]
    pw = int(meta["pool_width"])
    out0 = w0 + int(meta.get("crop_bp") or 0)
    sheet = targets_df.iloc[cols]
    pred = untransform(y[:, cols], sheet)
    obs = None
    if observed:
        span = y.shape[0] * pw
        cov = np.zeros((span, len(cols)), dtype=np.float32)
        for j, f in enumerate(sheet["file"]):
            with CoverageFile(f, reference_chroms=genome.chroms) as cf:
                cov[:, j] = cf.values(chrom, out0, out0 + span)
        obs = observed_like_predicted(cov, sheet, pw)
    return {"pred": pred, "obs": obs, "ids": [ids[c] for c in cols],
            "descriptions": [str(d) for d in sheet["description"]],
            "sum_stats": [str(s) for s in sheet["sum_stat"]], "chrom": chrom, "start": out0,
            "bin_bp": pw, "window_start": w0}
