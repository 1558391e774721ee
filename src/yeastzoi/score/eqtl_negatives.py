"""Negative variant sets for the eQTL benchmark, built the way Shorkie builds them.

    res = build_negative_sets("positives.vcf", "population.vcf.gz", "genes.gtf", seed=1)
    write_negative_sets("negs/", res)     # positives.vcf, negatives_{1..4}.vcf, to_score.vcf, ...

Positives: a VCF/TSV of (variant, gene) pairs, the gene in INFO ``GENE`` (or a ``gene``
column) as a gene_id or gene_name of the GTF. Per positive, one negative per set:

* **candidates**: variants of the population VCF with the positive's REF and ALT alleles
  (same strings), ALT allele frequency ``AF >= min_af`` (0.05; the frequency of the ALT
  allele, INFO/AF or counted from GT — :func:`yeastzoi.score.variants.read_variants` with
  ``allele_freq``; not the minor-allele frequency), **non-exonic** (the REF bases overlap no
  exon of any GTF gene: exon rows, else CDS rows, :func:`yeastzoi.genome.exons_by_gene`), on
  the positive's chromosome, and not themselves a positive;
* **TSS distance**: :func:`tss_distance` — signed and strand-aware (0-based position minus
  the TSS on ``+``, TSS minus position on ``-``; negative = upstream), measured from the
  variant's first REF base to the gene's TSS (:func:`yeastzoi.genome.genes_table`);
* **assignment**: among all (candidate, gene on the chromosome) pairs whose signed TSS
  distance lies within ``±window`` (100) bp of the positive's own signed distance, one pair
  is drawn uniformly at random; when there is none, within ``±fallback`` (200) bp; when
  there is still none the positive has no negative in that set (counted, never silent);
* each candidate variant is used at most once per set; positives are matched in input
  order;
* ``n_sets`` (4) independent sets; set k draws from ``SeedSequence(seed).spawn(n_sets)[k]``
  (so set k is the same for any ``n_sets > k``, and the whole result is reproducible).

Positives are skipped (and counted) when they name no gene, a gene missing from the GTF,
or a gene on another chromosome. Chromosome names are matched across the three files by
R64 alias (:func:`yeastzoi.genome.canonical_chrom`), else exactly; with ``genome`` the
VCFs' REF alleles are also checked against the FASTA.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, save_figure, write_json_atomic
from .eqtl import variant_key

log = logging.getLogger(__name__)

_NEG_COLUMNS = ["positive_id", "positive_index", "id", "chrom", "pos", "ref", "alt", "af", "gene_id",
                "gene_strand", "tss", "tss_distance", "positive_tss_distance", "window"]


def tss_distance(pos0, tss, strand) -> np.ndarray | int:
    """Signed, strand-aware distance in bp of 0-based position(s) ``pos0`` from a gene's TSS
    (0-based first transcribed base): ``pos0 - tss`` on ``+``, ``tss - pos0`` on ``-``;
    negative = upstream, 0 = the TSS itself. Broadcasts over arrays."""
    d = np.asarray(pos0, np.int64) - np.asarray(tss, np.int64)
    d = np.where(np.asarray(strand) == "-", -d, d)
    return int(d) if d.ndim == 0 else d


def _ckey(chrom: str) -> str:
    from ..genome.aliases import canonical_chrom

    return canonical_chrom(chrom) or chrom


@dataclasses.dataclass
class NegativeSets:
    """Result of :func:`build_negative_sets`.

    ``positives``: one row per usable positive (id, chrom, pos (1-based), ref, alt,
    gene_id, gene_strand, tss (0-based), tss_distance, matched_sets); ``variants``: their
    :class:`~yeastzoi.score.variants.Variant` objects (same order); ``sets``: one DataFrame
    per set (positive_id, positive_index, id, chrom, pos, ref, alt, af, gene_id,
    gene_strand, tss, tss_distance, positive_tss_distance, window); ``summary``: counts and
    parameters."""
    positives: pd.DataFrame
    variants: list
    sets: list
    summary: dict


def _exonic(pos0: np.ndarray, ref_len: np.ndarray, exons: np.ndarray) -> np.ndarray:
    """bool per variant: its REF bases [pos0, pos0 + ref_len) overlap a merged exon (m, 2)."""
    if len(exons) == 0:
        return np.zeros(len(pos0), bool)
    i = np.searchsorted(exons[:, 0], pos0 + ref_len, side="left") - 1    # last exon starting before the end
    ok = i >= 0
    return ok & (exons[np.maximum(i, 0), 1] > pos0)


def _annotation(gtf, genome):
    """(genes table with a 'ckey' column, exons by gene, merged exons per chromosome key)."""
    from ..genome import exons_by_gene, genes_table, read_gtf
    from ..genome.regions import merge_intervals
    from .genes import load_annotation

    if genome is not None:
        genes, exons = load_annotation(gtf, genome)
    else:
        gtf_df = read_gtf(gtf)
        genes, exons = genes_table(gtf_df), exons_by_gene(gtf_df)
    if genes.empty:
        raise YeastzoiError(f"{gtf}: no genes in the annotation")
    genes = genes.assign(ckey=[_ckey(c) for c in genes["chrom"]])
    chrom_of = dict(zip(genes["gene_id"], genes["ckey"]))
    by_chrom: dict[str, list] = {}
    for gid, ex in exons.items():
        if gid in chrom_of:
            by_chrom.setdefault(chrom_of[gid], []).extend(ex)
    merged = {c: merge_intervals(v) for c, v in by_chrom.items()}
    return genes, exons, merged


def _candidates(pop, merged_exons, positive_keys, min_af):
    """{(chrom key, ref, alt): (sorted pos0 int64, variants in that order)} and counts."""
    n_af = n_exonic = n_pos = 0
    seen = set()
    groups: dict[tuple, list] = {}
    pos0 = np.array([v.start for v in pop], np.int64)
    rlen = np.array([len(v.ref) for v in pop], np.int64)
    names = {c: _ckey(c) for c in {v.chrom for v in pop}}
    ckeys = [names[v.chrom] for v in pop]
    ck = np.array(ckeys, dtype=object)
    exonic = np.zeros(len(pop), bool)
    for c in set(ckeys):
        idx = np.flatnonzero(ck == c)
        exonic[idx] = _exonic(pos0[idx], rlen[idx], merged_exons.get(c, np.zeros((0, 2), np.int64)))
    for i, v in enumerate(pop):
        if not (v.af is not None and np.isfinite(v.af) and v.af >= min_af):
            continue
        n_af += 1
        if exonic[i]:
            n_exonic += 1
            continue
        key = variant_key(v.chrom, v.pos, v.ref, v.alt)
        if key in positive_keys:
            n_pos += 1
            continue
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault((ckeys[i], v.ref, v.alt), []).append(v)
    out = {}
    for k, vs in groups.items():
        vs.sort(key=lambda v: v.start)
        out[k] = (np.array([v.start for v in vs], np.int64), vs)
    return out, {"af_pass": n_af, "exonic": n_exonic, "positives_in_population": n_pos,
                 "candidates": sum(len(v[1]) for v in out.values())}


def _eligible(pos: np.ndarray, used: np.ndarray, tss: np.ndarray, minus: np.ndarray, d: int, w: int):
    """(candidate indices, gene indices) of the unused pairs with |signed distance − d| <= w."""
    lo = np.where(minus, tss - d - w, tss + d - w)
    a = np.searchsorted(pos, lo, side="left")
    b = np.searchsorted(pos, lo + 2 * w, side="right")
    n = b - a
    if n.sum() == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    genes = np.repeat(np.arange(len(tss)), n)
    first = np.repeat(a, n)
    offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    cand = first + offs
    keep = ~used[cand]
    return cand[keep], genes[keep]


def _usable_positives(pos_vs, genes, exons, positives, gtf):
    """(positives with a gene of the annotation on their own chromosome, their rows, skip counts)."""
    from .genes import find_gene

    skipped = {"no_gene": 0, "gene_not_in_annotation": 0, "gene_on_other_chromosome": 0}
    rows, usable = [], []
    for v in pos_vs:
        name = v.info.get("GENE") or v.info.get("gene")
        if not name or name is True:
            skipped["no_gene"] += 1
            continue
        try:
            g = find_gene(genes, exons, str(name))
        except YeastzoiError:
            skipped["gene_not_in_annotation"] += 1
            continue
        if _ckey(g.chrom) != _ckey(v.chrom):
            skipped["gene_on_other_chromosome"] += 1
            continue
        usable.append(v)
        rows.append({"id": v.id, "chrom": v.chrom, "pos": v.pos, "ref": v.ref, "alt": v.alt,
                     "gene_id": g.gene_id, "gene_strand": g.strand, "tss": g.tss,
                     "tss_distance": tss_distance(v.start, g.tss, g.strand)})
    if sum(skipped.values()):
        log.warning("%s: skipped positives: %d without a gene, %d with a gene not in %s, %d with a gene on "
                    "another chromosome", positives, skipped["no_gene"], skipped["gene_not_in_annotation"], gtf,
                    skipped["gene_on_other_chromosome"])
    if not usable:
        raise YeastzoiError(f"{positives}: no positive names a gene of {gtf} on its own chromosome (INFO GENE or "
                            "a gene column with a gene_id or gene_name)")
    return usable, rows, skipped


def build_negative_sets(positives, population_vcf, gtf, genome=None, n_sets: int = 4, seed: int = 0,
                        window: int = 100, fallback: int | None = 200, min_af: float = 0.05,
                        progress: Callable | None = None) -> NegativeSets:
    """Build ``n_sets`` negative sets for the positives (module docstring: every rule).
    ``genome``: a :class:`yeastzoi.genome.Genome` to check REF alleles (optional);
    ``progress(n)``: called after each set with the number of positives processed."""
    from .variants import read_variants

    if n_sets < 1:
        raise YeastzoiError(f"--sets {n_sets}: need at least 1 negative set")
    if window < 0 or (fallback is not None and fallback < 0):
        raise YeastzoiError("--window and --fallback must be >= 0 bp")
    if not 0 <= min_af <= 1:
        raise YeastzoiError(f"--min-af {min_af}: an allele frequency lies in [0, 1]")
    genes, exons, merged = _annotation(gtf, genome)
    pos_vs, _ = read_variants(positives, genome)
    usable, rows, skipped = _usable_positives(pos_vs, genes, exons, positives, gtf)
    pop, report = read_variants(population_vcf, genome, allele_freq=True)
    positive_keys = {variant_key(v.chrom, v.pos, v.ref, v.alt) for v in pos_vs}
    groups, pool = _candidates(pop, merged, positive_keys, min_af)
    log.info("%s: %d variants, %d with AF >= %g, %d of them exonic; %d candidates", population_vcf,
             len(pop), pool["af_pass"], min_af, pool["exonic"], pool["candidates"])
    gene_arrays = {}
    for c, g in genes.groupby("ckey", sort=False):
        gene_arrays[c] = (g["tss"].to_numpy(np.int64), (g["strand"] == "-").to_numpy(),
                          g["gene_id"].astype(str).tolist(), g["strand"].astype(str).tolist())
    children = np.random.SeedSequence(int(seed)).spawn(n_sets)
    windows = [window] + ([fallback] if fallback is not None and fallback > window else [])
    sets, per_set = [], []
    matched_sets = np.zeros(len(usable), np.int64)
    for k in range(n_sets):
        rng = np.random.default_rng(children[k])
        used = {key: np.zeros(len(vs), bool) for key, (_, vs) in groups.items()}
        out, n_fallback = [], 0
        for pi, (v, row) in enumerate(zip(usable, rows)):
            key = (_ckey(v.chrom), v.ref, v.alt)
            if key not in groups or key[0] not in gene_arrays:
                continue
            pos, vs = groups[key]
            tss, minus, gids, strands = gene_arrays[key[0]]
            for w in windows:
                cand, gidx = _eligible(pos, used[key], tss, minus, row["tss_distance"], w)
                if len(cand):
                    break
            if not len(cand):
                continue
            j = int(rng.integers(len(cand)))
            c, gi = int(cand[j]), int(gidx[j])
            used[key][c] = True
            n_fallback += int(w != window)
            nv = vs[c]
            out.append((row["id"], pi, nv.id, nv.chrom, nv.pos, nv.ref, nv.alt, float(nv.af), gids[gi],
                        strands[gi], int(tss[gi]), tss_distance(nv.start, tss[gi], strands[gi]),
                        row["tss_distance"], w))
            matched_sets[pi] += 1
        sets.append(pd.DataFrame(out, columns=_NEG_COLUMNS))
        per_set.append({"set": k + 1, "matched": len(out), "matched_fallback": n_fallback,
                        "unmatched": len(usable) - len(out)})
        if progress is not None:
            progress(len(usable))
    pos_df = pd.DataFrame(rows).assign(matched_sets=matched_sets)
    summary = {"positives_file": str(positives), "population_vcf": str(population_vcf), "gtf": str(gtf),
               "n_sets": n_sets, "seed": int(seed), "window_bp": window, "fallback_bp": fallback,
               "min_af": min_af, "n_positives_read": len(pos_vs), "n_positives": len(usable),
               "skipped_positives": skipped, "population_variants": len(pop),
               "population_records": report.records, **{f"population_{k}": v for k, v in pool.items()},
               "sets": per_set, "positives_unmatched_in_every_set": int((matched_sets == 0).sum()),
               "positives_unmatched_in_some_set": int((matched_sets < n_sets).sum())}
    for s in per_set:
        if s["unmatched"]:
            log.warning("set %d: %d of %d positives have no matching negative", s["set"], s["unmatched"],
                        len(usable))
    return NegativeSets(pos_df, usable, sets, summary)


# ----------------------------------------------------------------------------- files
_INFO_HEADER = [
    '##INFO=<ID=GENE,Number=1,Type=String,Description="gene_id the variant is scored against">',
    '##INFO=<ID=TSS_DIST,Number=1,Type=Integer,Description="signed strand-aware distance (bp) from the '
    'gene TSS; negative = upstream">',
    '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT allele frequency in the population VCF">',
    '##INFO=<ID=POSITIVE,Number=1,Type=String,Description="id of the positive this negative is matched to">',
    '##INFO=<ID=POS_TSS_DIST,Number=1,Type=Integer,Description="the positive\'s TSS_DIST">',
    '##INFO=<ID=WINDOW,Number=1,Type=Integer,Description="matching window (bp) used: the window or the '
    'fallback">',
]


def _info_value(x) -> str:
    return "_".join(str(x).replace(";", ",").split()) or "."


def _write_vcf(path, records, source: str) -> Path:
    """records: (chrom, pos, id, ref, alt, {key: value}) → VCF 4.2."""
    lines = ["##fileformat=VCFv4.2", f"##source={source}", *_INFO_HEADER,
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for chrom, pos, vid, ref, alt, info in records:
        items = [k if v is True else f"{k}={_info_value(v)}" for k, v in info.items()]
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t{';'.join(items) or '.'}")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    return Path(path)


def write_negative_sets(out_dir, res: NegativeSets, plot: bool = True) -> list[Path]:
    """OUT/positives.vcf (the usable positives, GENE = the resolved gene_id, TSS_DIST),
    OUT/negatives_{k}.vcf (GENE, TSS_DIST, AF, POSITIVE, POS_TSS_DIST, WINDOW),
    OUT/to_score.vcf (every distinct variant of both, sorted: score it once with
    yeastzoi_snpgene.py), OUT/negatives.tsv (all sets, one row per negative),
    OUT/summary.json and, with ``plot``, OUT/tss_distance.png. Returns the paths."""
    out = Path(out_dir)
    paths = []
    pos_recs = []
    for v, row in zip(res.variants, res.positives.itertuples(index=False)):
        info = {k: x for k, x in v.info.items() if k not in ("GENE", "gene", "TSS_DIST")}
        info.update(GENE=row.gene_id, TSS_DIST=int(row.tss_distance))
        pos_recs.append((v.chrom, v.pos, v.id, v.ref, v.alt, info))
    paths.append(_write_vcf(out / "positives.vcf", pos_recs, "yeastzoi eqtl negatives: positives"))
    every = {variant_key(c, p, r, a): (c, p, i, r, a) for c, p, i, r, a, _ in pos_recs}
    for k, df in enumerate(res.sets, 1):
        recs = [(r.chrom, r.pos, r.id, r.ref, r.alt,
                 {"GENE": r.gene_id, "TSS_DIST": int(r.tss_distance), "AF": f"{r.af:.6g}", "POSITIVE": r.positive_id,
                  "POS_TSS_DIST": int(r.positive_tss_distance), "WINDOW": int(r.window)})
                for r in df.itertuples(index=False)]
        paths.append(_write_vcf(out / f"negatives_{k}.vcf", recs, f"yeastzoi eqtl negatives: set {k}"))
        for c, p, i, r, a, _ in recs:
            every.setdefault(variant_key(c, p, r, a), (c, p, i, r, a))
    from ..genome.aliases import R64_CHROMS
    order = {c: i for i, c in enumerate(R64_CHROMS)}
    recs = sorted(every.values(), key=lambda x: (order.get(_ckey(x[0]), len(order)), _ckey(x[0]), x[1], x[3], x[4]))
    paths.append(_write_vcf(out / "to_score.vcf", [(*x, {}) for x in recs], "yeastzoi eqtl negatives: to score"))
    table = pd.concat([df.assign(set=k) for k, df in enumerate(res.sets, 1)], ignore_index=True)
    with atomic_path(out / "negatives.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    paths.append(out / "negatives.tsv")
    write_json_atomic(out / "summary.json", res.summary)
    paths.append(out / "summary.json")
    if plot:
        paths.append(plot_tss_distances(res, out / "tss_distance.png"))
    return paths


def plot_tss_distances(res: NegativeSets, path) -> Path:
    """Histograms of the signed TSS distance: positives vs each negative set (they should
    coincide up to the matching window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = res.positives["tss_distance"].to_numpy()
    allv = np.concatenate([d] + [s["tss_distance"].to_numpy() for s in res.sets])
    lo, hi = np.percentile(allv, [1, 99]) if len(allv) else (-1, 1)
    bins = np.linspace(lo - 1, hi + 1, 41)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(np.clip(d, bins[0], bins[-1]), bins=bins, color="0.3", alpha=0.5, label=f"positives (n={len(d)})")
    for k, s in enumerate(res.sets, 1):
        ax.hist(np.clip(s["tss_distance"], bins[0], bins[-1]), bins=bins, histtype="step", lw=1.2,
                label=f"negatives set {k} (n={len(s)})")
    ax.set_xlabel("signed TSS distance (bp; negative = upstream)")
    ax.set_ylabel("variants")
    ax.set_title(f"matched within ±{res.summary['window_bp']} bp (fallback ±{res.summary['fallback_bp']})",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
