"""Scoring result files: ``scores.h5`` (write, read, merge shards) and the long TSV, plus the
HDF5 helpers every score writer shares.

    write_scores_h5("out/scores.h5", result)
    res = read_scores_h5("out/scores.h5")
    merge_scores(["s1/scores.h5", "s2/scores.h5"], "all/scores.h5")
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path

FLOAT16_MAX = 65504.0


@dataclasses.dataclass
class ScoreResult:
    variants: list
    stats: dict                  # stat → (rows, T) mean over models; <stat>_std with >1 model
    target_ids: list
    target_labels: list
    attrs: dict
    pairs: pd.DataFrame | None = None    # gene mode: si, gene_id, gene_name, gene_strand


def h5_strings(values):
    """Variable-length UTF-8 string array for an HDF5 dataset."""
    import h5py

    return np.array([str(x) for x in values], dtype=h5py.string_dtype())


def h5_float16(a: np.ndarray) -> np.ndarray:
    """float16, clipped to its finite range."""
    return np.clip(np.asarray(a, np.float32), -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)


def h5_attr(val):
    """A value storable as an HDF5 attribute (None → "None", lists of str → string arrays)."""
    import h5py

    if val is None:
        return "None"
    if isinstance(val, (list, tuple)):
        if not val or any(isinstance(x, str) for x in val):
            return np.array([str(x) for x in val], dtype=h5py.string_dtype())
        return np.asarray(val)
    return val


def write_scores_h5(path, result: ScoreResult) -> Path:
    """Write ``scores.h5`` atomically (:mod:`yeastzoi.score.stats` for the statistics).

    Datasets: ``snp``, ``chr``, ``pos`` (1-based), ``ref_allele``, ``alt_allele``, ``flipped``,
    ``target_ids``, ``target_labels``, one float16 dataset per statistic (rows × targets;
    rows = variants, or variant-gene pairs in gene mode, which adds ``si`` (row → variant
    index), ``gene``, ``gene_name``, ``gene_strand``). Settings are file attributes."""
    import h5py

    path = Path(path)
    v = result.variants
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("snp", data=h5_strings([x.id for x in v]))
            h5.create_dataset("chr", data=h5_strings([x.chrom for x in v]))
            h5.create_dataset("pos", data=np.array([x.pos for x in v], np.int64))
            h5.create_dataset("ref_allele", data=h5_strings([x.ref for x in v]))
            h5.create_dataset("alt_allele", data=h5_strings([x.alt for x in v]))
            h5.create_dataset("flipped", data=np.array([x.flipped for x in v], bool))
            h5.create_dataset("target_ids", data=h5_strings(result.target_ids))
            h5.create_dataset("target_labels", data=h5_strings(result.target_labels))
            if result.pairs is not None:
                p = result.pairs
                h5.create_dataset("si", data=np.asarray(p["si"], np.int64))
                h5.create_dataset("gene", data=h5_strings(p["gene_id"]))
                h5.create_dataset("gene_name", data=h5_strings(p["gene_name"]))
                h5.create_dataset("gene_strand", data=h5_strings(p["gene_strand"]))
            for s, arr in result.stats.items():
                h5.create_dataset(s, data=h5_float16(arr), compression="gzip" if arr.size > 4096 else None)
            for k, val in result.attrs.items():
                h5.attrs[k] = h5_attr(val)
    return path


def read_scores_h5(path) -> ScoreResult:
    """Read a scores.h5 back (float32 stats)."""
    import h5py

    from .variants import Variant

    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: scores file not found")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise YeastzoiError(f"{path}: not an HDF5 scores file") from None
    with h5:
        dec = lambda k: [x.decode() if isinstance(x, bytes) else str(x) for x in h5[k][()]]  # noqa: E731
        need = ("snp", "chr", "pos", "ref_allele", "alt_allele", "target_ids")
        miss = [k for k in need if k not in h5]
        if miss:
            raise YeastzoiError(f"{path}: not a yeastzoi scores.h5 (missing {', '.join(miss)})")
        flipped = h5["flipped"][()] if "flipped" in h5 else np.zeros(len(h5["pos"]), bool)
        variants = [Variant(id=i, chrom=c, pos=int(p), ref=r, alt=a, flipped=bool(f))
                    for i, c, p, r, a, f in zip(dec("snp"), dec("chr"), h5["pos"][()], dec("ref_allele"),
                                                dec("alt_allele"), flipped)]
        skip = {"snp", "chr", "pos", "ref_allele", "alt_allele", "flipped", "target_ids", "target_labels",
                "si", "gene", "gene_name", "gene_strand"}
        stats = {k: h5[k][()].astype(np.float32) for k in h5.keys() if k not in skip}
        pairs = None
        if "si" in h5:
            pairs = pd.DataFrame({"si": h5["si"][()], "gene_id": dec("gene"), "gene_name": dec("gene_name"),
                                  "gene_strand": dec("gene_strand")})
        attrs = {}
        for k, val in h5.attrs.items():
            if isinstance(val, np.ndarray):
                val = [x.decode() if isinstance(x, bytes) else x.item() if hasattr(x, "item") else x for x in val]
            elif isinstance(val, bytes):
                val = val.decode()
            elif hasattr(val, "item"):
                val = val.item()
            attrs[k] = val
        labels = dec("target_labels") if "target_labels" in h5 else dec("target_ids")
        return ScoreResult(variants, stats, dec("target_ids"), labels, attrs, pairs=pairs)


def write_scores_tsv(path, result: ScoreResult) -> Path:
    """Long table: one line per (row, target) with the variant (and gene) fields and every
    statistic."""
    v = result.variants
    T = len(result.target_ids)
    if result.pairs is not None:
        si = np.asarray(result.pairs["si"], np.int64)
    else:
        si = np.arange(len(v))
    n = len(si)
    df = pd.DataFrame({
        "snp": np.repeat([v[i].id for i in si], T), "chr": np.repeat([v[i].chrom for i in si], T),
        "pos": np.repeat([v[i].pos for i in si], T), "ref_allele": np.repeat([v[i].ref for i in si], T),
        "alt_allele": np.repeat([v[i].alt for i in si], T)})
    if result.pairs is not None:
        df["gene"] = np.repeat(result.pairs["gene_id"].values, T)
        df["gene_name"] = np.repeat(result.pairs["gene_name"].values, T)
    df["target_id"] = np.tile(result.target_ids, n)
    df["target_label"] = np.tile(result.target_labels, n)
    for s, arr in result.stats.items():
        df[s] = np.asarray(arr, np.float32).reshape(-1)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    return Path(path)


def merge_scores(paths, out_path) -> ScoreResult:
    """Concatenate shard outputs (in the given order) into one scores.h5; targets, statistics
    and mode must agree."""
    parts = [read_scores_h5(p) for p in paths]
    if not parts:
        raise YeastzoiError("no shard files to merge")
    first = parts[0]
    variants, pair_frames, stats = [], [], {k: [] for k in first.stats}
    for p, r in zip(paths, parts):
        if r.target_ids != first.target_ids or set(r.stats) != set(first.stats):
            raise YeastzoiError(f"{p}: targets or statistics differ from {paths[0]}; shards must come "
                                "from one run")
        if (r.pairs is None) != (first.pairs is None):
            raise YeastzoiError(f"{p}: gene-level and variant-level shards cannot be merged")
        if r.pairs is not None:
            pf = r.pairs.copy()
            pf["si"] += len(variants)
            pair_frames.append(pf)
        variants.extend(r.variants)
        for k in stats:
            stats[k].append(r.stats[k])
    attrs = dict(first.attrs)
    attrs["merged_shards"] = len(parts)
    attrs.pop("shard", None)
    res = ScoreResult(variants, {k: np.concatenate(v) for k, v in stats.items()}, first.target_ids,
                      first.target_labels, attrs,
                      pairs=pd.concat(pair_frames, ignore_index=True) if pair_frames else None)
    write_scores_h5(out_path, res)
    return res
