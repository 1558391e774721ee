"""Homology of an LM corpus' train windows to its held-out (valid/test) windows.

Every train window of the corpus (kept and removed by the builder) is mapped with minimap2
(mappy, asm20) to the union of the reference's valid/test windows; per window we record
the best alignment identity (matches / block length), the longest block, and the query
coverage (union of aligned query bp / window length) by alignments of identity ≥ each
threshold.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.corpus.stats import corpus_windows
from yeastzoi.data.homology import HeldOutIndex, held_out_sequences, query_coverage
from yeastzoi.data.tfrecords import read_sequences_bed
from yeastzoi.fileio import read_json
from yeastzoi.genome import Genome, codes_to_seq, padded_slice

IDENTITIES = (0.8, 0.9, 0.95, 0.99)
COVERAGES = (0.01, 0.1, 0.25, 0.5, 0.9)


def _read_corpus(corpus_dir: Path, sheet: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """(statistics.json, sequences.bed rows) of an LM corpus built from ``sheet``."""
    st_path, bed_path = corpus_dir / "statistics.json", corpus_dir / "sequences.bed"
    for p in (st_path, bed_path):
        if not p.exists():
            raise YeastzoiError(f"{corpus_dir}: not a complete LM corpus ({p.name} missing); build it with "
                                f"yeastzoi_lm_data.py SPECIES.tsv -o {corpus_dir}")
    stats = read_json(st_path, "statistics")
    if "species" not in stats:
        raise YeastzoiError(f"{st_path}: no 'species' list; this is not an LM corpus (yeastzoi_lm_data.py)")
    names = list(sheet["name"])
    missing = [s for s in stats["species"] if s not in names]
    if missing:
        raise YeastzoiError(f"{corpus_dir}: corpus species {missing} are not in the species sheet ({', '.join(names)}); "
                            f"pass the sheet the corpus was built from")
    if stats["species"][0] != names[0]:
        raise YeastzoiError(f"{corpus_dir}: corpus reference species is '{stats['species'][0]}' but the sheet's "
                            f"first row is '{names[0]}'; pass the sheet the corpus was built from")
    return stats, read_sequences_bed(bed_path)


def _train_windows(stats: dict, sheet: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Every species' train windows as the builder made them, and codes per species/chromosome."""
    seq_length, stride = int(stats["seq_length"]), int(stats.get("stride", 4096))
    max_n = float(stats.get("max_n_frac", 0.1))
    rows = sheet.set_index("name")
    codes, all_train = {}, []
    for si, sp in enumerate(stats["species"]):
        with Genome(rows.loc[sp, "fasta"]) as g:
            codes[sp] = {c: g.fetch_codes(c, 0, n) for c, n in g.chroms.items()}
            held = {}
            if si == 0:
                for split, key in (("test", "test_chroms"), ("valid", "valid_chroms")):
                    held.update({g.resolve(c): split for c in stats.get(key, [])})
            w = corpus_windows(g.chroms, seq_length, stride, held, codes[sp], max_n)
        all_train.append(w[w["split"] == "train"].assign(species=sp))
    return pd.concat(all_train, ignore_index=True), codes


def _map_windows(train: pd.DataFrame, index: HeldOutIndex, get, identities, threads: int, upd) -> dict:
    """Per train window: best identity, longest block, coverage by any alignment and by
    alignments of identity ≥ each threshold."""
    import mappy

    n = len(train)
    res = {"best_id": np.zeros(n), "best_block": np.zeros(n, np.int64), "cov_any": np.zeros(n),
           "cov_at": {t: np.zeros(n) for t in identities}}
    sps, chs = train["species"].to_numpy(), train["chrom"].to_numpy()
    sts, ens = train["start"].to_numpy(), train["end"].to_numpy()

    def work(b):
        buf = mappy.ThreadBuffer()
        for i in range(*b):
            seq = codes_to_seq(get(sps[i], chs[i], int(sts[i]), int(ens[i])))
            hits = [(h.q_st, h.q_en, h.mlen, h.blen) for h in index.aligner.map(seq, buf=buf)]
            if hits:
                ids = np.array([m / max(bl, 1) for _, _, m, bl in hits])
                res["best_id"][i] = ids.max()
                res["best_block"][i] = max(bl for *_, bl in hits)
                res["cov_any"][i] = query_coverage([(a, e) for a, e, _, _ in hits], len(seq))
                for t in identities:
                    res["cov_at"][t][i] = query_coverage([(h[0], h[1]) for h, x in zip(hits, ids) if x >= t], len(seq))
        if upd:
            upd(b[1] - b[0])

    with ThreadPoolExecutor(max(1, threads)) as ex:
        list(ex.map(work, [(a, min(a + 32, n)) for a in range(0, n, 32)]))
    return res


def _summarise(train: pd.DataFrame, by, identities) -> pd.DataFrame:
    g = train.groupby(by, sort=False)
    out = pd.DataFrame({"train_windows": g.size(), "removed_by_builder": g["kept"].apply(lambda k: int((~k).sum())),
                        "shorkie_rule_frac": g["shorkie_rule"].mean()})
    for t, c in ((0.9, 0.5), (0.99, 0.9)):
        if t in identities:
            out[f"id>={t:g}&cov>={c:g}_frac"] = g[f"coverage_id{t:g}"].apply(lambda v: float((v >= c).mean()))
    return out.reset_index()


def corpus_homology(corpus_dir, sheet: pd.DataFrame, identities=IDENTITIES, coverages=COVERAGES,
                    threads: int = 2, progress: Callable[[str, int], Callable[[int], None]] | None = None) -> dict:
    """Homology of an LM corpus' train windows to its held-out (valid/test) windows.

    Rebuilds each species' windows as the builder did (``statistics.json``: seq_length,
    stride, held-out chromosomes, max_n_frac); windows in ``sequences.bed`` are kept, train
    windows missing from it were removed by the builder's homology filter (or another
    filter: ``statistics.json`` ``report.removed_by_filter`` counts those separately).
    Returns {"windows": per-train-window DataFrame, "grid": DataFrame (identity × coverage →
    fraction of train windows), "by_species", "by_chrom", "removed": removed windows,
    "stats": corpus statistics, "held_out_bp", "other_filters"}."""
    corpus_dir = Path(corpus_dir)
    stats, kept = _read_corpus(corpus_dir, sheet)
    train, codes = _train_windows(stats, sheet)
    key = lambda df: list(zip(df["species"], df["chrom"], df["start"].astype(int)))  # noqa: E731
    kept_keys = set(key(kept))
    train["kept"] = [k in kept_keys for k in key(train)]
    held_w = kept[kept["split"].isin(["valid", "test"])]
    if held_w.empty:
        raise YeastzoiError(f"{corpus_dir}: no valid/test windows in sequences.bed; nothing to compare against")
    get = lambda sp, c, s, e: padded_slice(codes[sp][c], s, e)  # noqa: E731
    index = HeldOutIndex(held_out_sequences(held_w.assign(species=stats["species"][0]), get), threads=threads)
    upd = progress("homology map", len(train)) if progress else None
    m = _map_windows(train, index, get, identities, threads, upd)
    train["best_identity"], train["longest_block"], train["coverage_any"] = m["best_id"], m["best_block"], m["cov_any"]
    for t in identities:
        train[f"coverage_id{t:g}"] = m["cov_at"][t]
    # Shorkie's rule (the builder's default): identity > 0.8 on any block, or coverage > 10 %
    train["shorkie_rule"] = (m["best_id"] > 0.8) | (m["cov_any"] > 0.1)
    n = len(train)
    grid = pd.DataFrame({f"cov>={c:g}": [float((m["cov_at"][t] >= c).mean()) if n else float("nan")
                                         for t in identities] for c in coverages},
                        index=pd.Index([f"id>={t:g}" for t in identities], name="identity"))
    by_filter = stats.get("report", {}).get("removed_by_filter", {})
    other = {sp: {k: v for k, v in d.items() if v} for sp, d in by_filter.items()}
    return {"windows": train, "grid": grid, "by_species": _summarise(train, "species", identities),
            "by_chrom": _summarise(train, ["species", "chrom"], identities),
            "removed": train[~train["kept"]].reset_index(drop=True), "stats": stats,
            "held_out_bp": index.bp, "other_filters": {k: v for k, v in other.items() if v}}
