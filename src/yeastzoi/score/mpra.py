"""The MPRA insertion protocol (Shorkie's): score a library of sequences in native gene
contexts and compare the scores with the measured activities.

    genes = [find_gene(genes_df, exons, g) for g in default_contexts()]
    sc = mpra_scores(models, genome, genes, read_inserts("lib.fa"), ScoreOptions(stats=["logSED"]),
                     targets_df, tracks="RNA")
    m = compare_activity(sc, read_activity("lib.tsv"))
    write_mpra_h5("out/mpra.h5", sc); plot_mpra(sc, "out/mpra.png", m, activity)

Protocol
--------
* each sequence (5′→3′ as measured) replaces the native sequence upstream of the TSS of every
  context gene (reverse-complemented for ``-`` genes; :func:`yeastzoi.score.edits.insertion_variant`)
  at every distance of ``distances`` (default 100–200 bp in 10 bp steps); ``anchor="centre"``
  (default): the sequence's centre lies ``distance`` bp upstream of the TSS, as in Shorkie's
  context files (insertion site = the midpoint of the replaced footprint); ``replace=False``
  inserts instead of replacing;
* read-out: ``stat`` (logSED) over the context gene's exon bins
  (:meth:`yeastzoi.model.geometry.Geometry.gene_bins`) on the chosen tracks; stranded tracks
  count only on the context gene's strand (the others are NaN), so "RNA" picks the
  strand-matched RNA tracks of each context;
* levels (all kept): ``per_model`` (M models/folds, I inserts, C contexts, D distances, K
  tracks) → mean over models ``per_track`` (I, C, D, K) → NaN-aware mean over tracks
  ``per_context`` (I, C, D) → mean over contexts ``per_distance`` (I, D) → mean over
  distances ``score`` (I,);
* comparison (:func:`compare_activity`): Pearson and Spearman r of the score with the
  measured activity, and the AUROC of the score for high vs low activity (a ``class`` column
  high/low when the table has one, else the top and bottom ``high_low`` fraction by rank,
  default a quarter each), for ``score``, per distance and per context.

Default contexts (:data:`SHORKIE_CONTEXTS`): Shorkie's 22 context genes, highly and
moderately expressed, 10 on the + strand (GPM3, SLI1, VPS52, YMR160W, MRPS28, YCT1, RDL2,
PHS1, RTC3, MSN4) and 12 on the − strand (COA4, ERI1, RSM25, ERD1, MRM2, SNT2, CSI2, RPE1,
PKC1, AIM11, MAE1, MRPL1), named by systematic id (R64 gene_id).
"""
from __future__ import annotations

import dataclasses
import logging
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, save_figure

log = logging.getLogger(__name__)

#: Shorkie's MPRA context genes: (systematic id, name, strand)
SHORKIE_CONTEXTS = (
    ("YOL056W", "GPM3", "+"), ("YGR212W", "SLI1", "+"), ("YDR484W", "VPS52", "+"),
    ("YMR160W", "YMR160W", "+"), ("YDR337W", "MRPS28", "+"), ("YLL055W", "YCT1", "+"),
    ("YOR286W", "RDL2", "+"), ("YJL097W", "PHS1", "+"), ("YHR087W", "RTC3", "+"), ("YKL062W", "MSN4", "+"),
    ("YLR218C", "COA4", "-"), ("YPL096C-A", "ERI1", "-"), ("YIL093C", "RSM25", "-"), ("YDR414C", "ERD1", "-"),
    ("YGL136C", "MRM2", "-"), ("YGL131C", "SNT2", "-"), ("YOL007C", "CSI2", "-"), ("YJL121C", "RPE1", "-"),
    ("YBL105C", "PKC1", "-"), ("YER093C-A", "AIM11", "-"), ("YKL029C", "MAE1", "-"), ("YDR116C", "MRPL1", "-"))
#: insertion distances (bp upstream of the TSS) of Shorkie's protocol
SHORKIE_DISTANCES = tuple(range(100, 201, 10))


def default_contexts() -> list[str]:
    """Gene ids of :data:`SHORKIE_CONTEXTS`."""
    return [gid for gid, _, _ in SHORKIE_CONTEXTS]


def parse_distances(text) -> list[int]:
    """``"100:200:10"`` (inclusive end), ``"100,150"`` or ``"50"`` → sorted distinct bp."""
    text = str(text).strip()
    try:
        if ":" in text:
            parts = [int(x) for x in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] < 1) or parts[1] < parts[0]:
                raise ValueError
            out = list(range(parts[0], parts[1] + 1, parts[2] if len(parts) == 3 else 1))
        else:
            out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise YeastzoiError(f"--distance {text}: expected N, N,M,... or START:END:STEP (bp)") from None
    if not out or min(out) < 0:
        raise YeastzoiError(f"--distance {text}: give distances >= 0 bp")
    return sorted(set(out))


@dataclasses.dataclass
class MpraScores:
    """Scores of :func:`mpra_scores` at every level (module docstring)."""
    stat: str
    inserts: list
    contexts: list                  # gene ids
    context_names: list
    context_strands: list
    distances: list
    track_index: list               # chosen columns of the model's tracks
    track_ids: list
    per_model: np.ndarray           # (M, I, C, D, K)
    attrs: dict

    @property
    def per_track(self) -> np.ndarray:
        """(I, C, D, K): mean over models."""
        return self.per_model.mean(0)

    @property
    def per_context(self) -> np.ndarray:
        """(I, C, D): NaN-aware mean over the chosen tracks (off-strand tracks are NaN)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.per_track, -1)

    @property
    def per_distance(self) -> np.ndarray:
        """(I, D): mean over contexts."""
        return self.per_context.mean(1)

    @property
    def score(self) -> np.ndarray:
        """(I,): mean over distances."""
        return self.per_distance.mean(1)


def mpra_scores(models, genome, genes, inserts, opts, targets_df=None, distances=SHORKIE_DISTANCES,
                tracks=None, stat: str = "logSED", replace: bool = True, anchor: str = "centre",
                model_paths=None, progress=None, chunk_rows: int = 2048) -> MpraScores:
    """Score ``inserts`` [(name, seq)] in the context ``genes``
    (:class:`~yeastzoi.score.genes.GeneInfo`) at ``distances`` (module docstring).
    ``tracks``: ids, labels, indices or id substrings (:func:`yeastzoi.score.eqtl.select_tracks`;
    None = all). Inserts are scored in chunks of about ``chunk_rows`` (insert × context ×
    distance) rows, keeping only the chosen tracks, so memory stays bounded."""
    from ..model.predictor import Predictor
    from .edits import insertion_scores
    from .engine import prepare_scoring, target_labels
    from .eqtl import select_tracks

    if not inserts or not genes:
        raise YeastzoiError("the MPRA protocol needs at least one sequence and one context gene")
    names = [n for n, _ in inserts]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise YeastzoiError(f"insert names must be unique (repeated: {', '.join(dup[:5])})")
    opts.stats = [stat]
    pred, _ = prepare_scoring(models, opts, targets_df)
    if not isinstance(models, Predictor):
        models = pred
    ids, labels = target_labels(pred.meta, targets_df)
    cols = select_tracks(types.SimpleNamespace(target_ids=ids, target_labels=labels), tracks)
    dists = [int(d) for d in distances]
    C, D = len(genes), len(dists)
    step = max(1, chunk_rows // (C * D))
    parts = []
    for i0 in range(0, len(inserts), step):
        res = insertion_scores(models, genome, genes, inserts[i0:i0 + step], dists, opts, targets_df,
                               replace=replace, model_paths=model_paths, progress=progress, anchor=anchor)
        arr = res.per_model[stat][..., cols]                              # (M, C·I·D, K), rows gene-major
        M, _, K = arr.shape
        parts.append(arr.reshape(M, C, -1, D, K).transpose(0, 2, 1, 3, 4))
    per_model = np.concatenate(parts, axis=1).astype(np.float32)
    for c, g in enumerate(genes):
        if np.isnan(per_model[:, :, c]).all():
            raise YeastzoiError(f"context gene {g.gene_id} ({g.strand} strand): none of the chosen tracks "
                                f"({', '.join(ids[i] for i in cols[:6])}) is unstranded or on its strand; choose "
                                "tracks of both strands (e.g. all RNA tracks)")
    attrs = dict(res.attrs)
    attrs.update(distance=dists, tracks=[ids[i] for i in cols], stat=stat, protocol="mpra")
    return MpraScores(stat, names, [g.gene_id for g in genes], [g.gene_name for g in genes],
                      [g.strand for g in genes], dists, cols, [ids[i] for i in cols], per_model, attrs)


# ----------------------------------------------------------------------------- measured activities
_NAME_COLS = ("name", "id", "seq_id", "sequence_id", "insert")
_ACT_COLS = ("activity", "measured", "expression", "value", "mean", "score")


def read_activity(path) -> pd.DataFrame:
    """Measured activities: a TSV (or CSV) with a header naming the sequence (name, id, seq_id
    or insert) and its activity (activity, measured, expression, value, mean or score), and
    optionally a ``class`` column (high/low). Returns DataFrame name, activity [, class]."""
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: activity table not found")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    df = pd.read_csv(path, sep=sep, dtype=str)
    low = {c.strip().lower(): c for c in df.columns}
    name = next((low[c] for c in _NAME_COLS if c in low), None)
    act = next((low[c] for c in _ACT_COLS if c in low), None)
    if name is None or act is None:
        raise YeastzoiError(f"{path}: needs a header with a name column ({'/'.join(_NAME_COLS)}) and an activity "
                            f"column ({'/'.join(_ACT_COLS)}); it has {', '.join(map(str, df.columns))}")
    out = pd.DataFrame({"name": df[name].astype(str).str.strip()})
    vals = pd.to_numeric(df[act], errors="coerce")
    if vals.isna().any():
        ln = int(np.flatnonzero(vals.isna().to_numpy())[0]) + 2
        raise YeastzoiError(f"{path} line {ln}: activity {df[act].iloc[ln - 2]!r} is not a number")
    out["activity"] = vals.astype(np.float64)
    if "class" in low:
        cls = df[low["class"]].astype(str).str.strip().str.lower()
        bad = ~cls.isin(["high", "low", "1", "0", ""])
        if bad.any():
            ln = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise YeastzoiError(f"{path} line {ln}: class {cls.iloc[ln - 2]!r}: expected high, low (or 1, 0)")
        out["class"] = cls.map({"high": 1.0, "1": 1.0, "low": 0.0, "0": 0.0, "": np.nan})
    if out["name"].duplicated().any():
        raise YeastzoiError(f"{path}: sequence {out['name'][out['name'].duplicated()].iloc[0]} is listed twice")
    return out


def _metrics(s: np.ndarray, a: np.ndarray, cls: np.ndarray) -> dict:
    from scipy.stats import pearsonr, spearmanr

    from .eqtl import auc_ap

    ok = len(s) > 2 and np.std(s) > 0 and np.std(a) > 0
    keep = np.isfinite(cls)
    return {"n": int(len(s)), "pearson": float(pearsonr(s, a)[0]) if ok else float("nan"),
            "spearman": float(spearmanr(s, a)[0]) if ok else float("nan"),
            "auroc": auc_ap(cls[keep].astype(int), s[keep])[0], "n_high": int((cls == 1).sum()),
            "n_low": int((cls == 0).sum())}


def compare_activity(scores: MpraScores, activity: pd.DataFrame, high_low: float = 0.25) -> dict:
    """Pearson/Spearman r and high-vs-low AUROC of the scores against the measured
    activities (module docstring), for ``score`` (``overall``), ``by_distance`` and
    ``by_context`` (mean over distances). Inserts without an activity are left out and
    counted (``n_missing``)."""
    if not 0 < high_low <= 0.5:
        raise YeastzoiError(f"--high-low {high_low}: the high and low groups are a fraction in (0, 0.5]")
    act = activity.set_index("name")
    idx = [i for i, n in enumerate(scores.inserts) if n in act.index]
    if len(idx) < 2:
        raise YeastzoiError(f"only {len(idx)} of {len(scores.inserts)} sequences have a measured activity; "
                            "the names must match the sequence names")
    a = act.loc[[scores.inserts[i] for i in idx], "activity"].to_numpy(np.float64)
    if "class" in act.columns and act["class"].notna().any():
        cls = act.loc[[scores.inserts[i] for i in idx], "class"].to_numpy(np.float64)
        rule = "class column"
    else:
        n_ext = int(np.floor(high_low * len(a)))
        order = np.argsort(a, kind="stable")
        cls = np.full(len(a), np.nan)
        cls[order[:n_ext]] = 0
        cls[order[len(a) - n_ext:]] = 1
        rule = f"top/bottom {high_low:g} by rank"
    out = {"stat": scores.stat, "n_missing": len(scores.inserts) - len(idx), "high_low_rule": rule,
           "overall": _metrics(scores.score[idx], a, cls),
           "by_distance": {int(d): _metrics(scores.per_distance[idx, j], a, cls)
                           for j, d in enumerate(scores.distances)},
           "by_context": {g: _metrics(scores.per_context[idx, c].mean(-1), a, cls)
                          for c, g in enumerate(scores.contexts)}}
    if out["n_missing"]:
        log.warning("%d sequences have no measured activity and are left out of the comparison", out["n_missing"])
    return out


# ----------------------------------------------------------------------------- files
def write_mpra_h5(path, sc: MpraScores) -> Path:
    """Every level of ``sc`` → h5: inserts, contexts, context_names, context_strands,
    distances, track_ids; per_model (M, I, C, D, K), per_track, per_context, per_distance,
    score (float32); settings as attributes."""
    import h5py

    from .results import h5_attr, h5_strings

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            for k in ("inserts", "contexts", "context_names", "context_strands", "track_ids"):
                h5.create_dataset(k, data=h5_strings(getattr(sc, k)))
            h5.create_dataset("distances", data=np.asarray(sc.distances, np.int64))
            for k in ("per_model", "per_track", "per_context", "per_distance", "score"):
                h5.create_dataset(k, data=np.asarray(getattr(sc, k), np.float32))
            for k, v in sc.attrs.items():
                h5.attrs[k] = h5_attr(v)
    return Path(path)


def write_mpra_tsv(path, sc: MpraScores, activity: pd.DataFrame | None = None) -> Path:
    """One line per sequence: name, [activity,] score, then the score at each distance
    (``d100`` ...) and in each context (mean over distances; column = gene id)."""
    df = pd.DataFrame({"name": sc.inserts})
    if activity is not None:
        df["activity"] = df["name"].map(activity.set_index("name")["activity"])
    df["score"] = sc.score
    for j, d in enumerate(sc.distances):
        df[f"d{d}"] = sc.per_distance[:, j]
    for c, g in enumerate(sc.contexts):
        df[g] = sc.per_context[:, c].mean(-1)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    return Path(path)


def plot_mpra(sc: MpraScores, path, metrics: dict | None = None, activity: pd.DataFrame | None = None) -> Path:
    """With activities: score vs measured activity, and Pearson r / Spearman r / AUROC by
    insertion distance. Without: the mean score by distance for each context."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
    if metrics is not None and activity is not None:
        act = activity.set_index("name")["activity"]
        idx = [i for i, n in enumerate(sc.inserts) if n in act.index]
        a = act.loc[[sc.inserts[i] for i in idx]].to_numpy()
        a1.scatter(a, sc.score[idx], s=8, alpha=0.6)
        o = metrics["overall"]
        a1.set_title(f"r {o['pearson']:.3f}  ρ {o['spearman']:.3f}  AUROC {o['auroc']:.3f} (n={o['n']})", fontsize=9)
        a1.set_xlabel("measured activity")
        a1.set_ylabel(f"{sc.stat} (mean of {len(sc.contexts)} contexts, {len(sc.distances)} distances)")
        for key, lab in (("pearson", "Pearson r"), ("spearman", "Spearman r"), ("auroc", "AUROC high vs low")):
            a2.plot(sc.distances, [metrics["by_distance"][d][key] for d in sc.distances], marker="o", label=lab)
        a2.set_ylabel("agreement with the measurement")
        a2.legend(fontsize=7)
    else:
        for c, g in enumerate(sc.contexts):
            a2.plot(sc.distances, sc.per_context[:, c].mean(0), marker=".", lw=0.8,
                    label=f"{sc.context_names[c] or g} ({sc.context_strands[c]})")
        a2.set_ylabel(f"mean {sc.stat} over sequences")
        a2.legend(fontsize=6, ncol=2)
        a1.hist(sc.score, bins=30, color="0.4")
        a1.set_xlabel(f"{sc.stat} (mean of contexts and distances)")
        a1.set_ylabel("sequences")
    a2.set_xlabel("insertion distance upstream of the TSS (bp)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
