"""Masked-LM evaluation (:func:`evaluate_mlm`, :func:`run_mlm_eval`); see the definitions
in :mod:`yeastzoi.evaluate.tracks`' module docstring (section "Masked LM")."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError

log = logging.getLogger(__name__)

from .baselines import MarkovModel, fit_markov
from .tracks import EVAL_SEED, ProgressFactory, load_model, noop_progress, write_tsv

MLM_COLUMNS = ["species", "split", "region", "n_masked", "ce", "accuracy", "perplexity",
               "weighted_loss", "markov_ce", "markov_accuracy", "markov_perplexity"]


# ============================================================================ MLM evaluation
class _MLMAccumulator:
    """Sums per (species, split, region)."""

    KEYS = ("n", "ce", "correct", "wce", "mce", "mcorrect")

    def __init__(self):
        self.sums: dict[tuple, np.ndarray] = {}

    def add(self, species: str, split: str, region: str, vals: np.ndarray) -> None:
        key = (species, split, region)
        self.sums[key] = self.sums.get(key, 0) + vals

    def table(self) -> pd.DataFrame:
        rows = []
        for (sp, split, region), v in self.sums.items():
            n, ce, cor, wce, mce, mcor = (float(x) for x in v)
            rows.append({"species": sp, "split": split, "region": region, "n_masked": int(n),
                         "ce": ce / n if n else np.nan, "accuracy": cor / n if n else np.nan,
                         "perplexity": math.exp(ce / n) if n else np.nan,
                         "weighted_loss": wce / n if n else np.nan,
                         "markov_ce": mce / n if n else np.nan,
                         "markov_accuracy": mcor / n if n else np.nan,
                         "markov_perplexity": math.exp(mce / n) if n else np.nan})
        return pd.DataFrame(rows, columns=MLM_COLUMNS)


def check_lm_model(meta: dict, stats: dict, model_path, data_dir) -> None:
    L = int(stats["seq_length"])
    nf = 5 + int(stats.get("num_species", 1))
    if int(meta.get("seq_length", L)) != L:
        raise YeastzoiError(f"{model_path}: the model's input length is {meta['seq_length']} bp but "
                            f"{data_dir} has seq_length={L}; use the matching corpus or params")
    if int(meta.get("num_features", nf)) != nf:
        raise YeastzoiError(f"{model_path}: the model takes {meta['num_features']} input channels but "
                            f"{data_dir} gives {nf} (4 DNA + mask + {nf - 5} species)")
    if int(meta.get("target_length", L)) != L or int(meta.get("num_targets", 4)) != 4:
        raise YeastzoiError(f"{model_path}: not a masked LM for this corpus (output "
                            f"{meta.get('target_length')} × {meta.get('num_targets')}, need {L} × 4)")


def evaluate_mlm(seqnn, data_dir, splits=("test",), train_params: dict | None = None,
                 markov: MarkovModel | None = None, repeats: int = 1, seed: int = EVAL_SEED,
                 batch_size: int = 4, progress: ProgressFactory | None = None) -> pd.DataFrame:
    """Masked-LM metrics per species, split and region (see the module docstring).

    ``train_params``: the params' train section (mask_rate and the exon/repeat loss scales);
    ``markov``: a fitted baseline (None → markov columns NaN).
    """
    import tensorflow as tf
    from ..data.pipeline import _resolve_files, lm_dataset, read_statistics
    from ..data.tfrecords import parse_example

    progress = progress or noop_progress
    tp = dict(train_params or {})
    stats = read_statistics(data_dir)
    check_lm_model(seqnn.meta, stats, seqnn.meta.get("model_path", "model"), data_dir)
    L = int(stats["seq_length"])
    names = list(stats.get("species") or [f"species{i}" for i in range(int(stats.get("num_species", 1)))])
    scales = {k: float(tp.get(k, 1.0)) for k in ("exon_loss_scale", "non_exon_loss_scale",
                                                   "repeat_loss_scale", "non_repeat_loss_scale")}
    acc = _MLMAccumulator()
    seqnn.build_ensemble(rc=False, shifts=[0])
    for split in splits:
        files = _resolve_files(data_dir, split, None)
        for r in range(int(repeats)):
            ds = lm_dataset(data_dir, split, batch_size=batch_size, mask_rate=float(tp.get("mask_rate", 0.15)),
                            training=False, rc=False, seed=int(seed) + r, shuffle=False, files=files, **scales)
            raw = tf.data.TFRecordDataset(files, compression_type="ZLIB").map(
                lambda rec: (lambda e: (e["species"], e["mask"]))(parse_example(rec, L, lm=True))
            ).batch(batch_size)
            update = progress(f"MLM {split}" + (f" repeat {r + 1}/{repeats}" if repeats > 1 else ""),
                              int(stats.get(f"{split}_seqs", 0)) or None)
            for (x, y, w, m), (sp, exon) in tf.data.Dataset.zip((ds, raw)):
                x, y, w, m = x.numpy(), y.numpy(), w.numpy(), m.numpy()
                sp, exon = sp.numpy(), exon.numpy().astype(bool)
                probs = seqnn.predict(x, batch_size=batch_size).astype(np.float64)
                codes = np.where(y < 4, y, 4)
                yi = np.minimum(codes, 3)
                p_true = np.take_along_axis(probs, yi[..., None], -1)[..., 0]
                ce = -np.log(np.maximum(p_true, 1e-12))
                correct = (probs.argmax(-1) == codes).astype(np.float64)
                mce = np.full(ce.shape, np.nan)
                mcor = np.full(ce.shape, np.nan)
                for b in range(len(x)):
                    if markov is not None:
                        mp = markov.predict_proba(codes[b], int(sp[b]))
                        mce[b] = -np.log(np.take_along_axis(mp, yi[b][:, None], -1)[:, 0])
                        mcor[b] = (mp.argmax(-1) == codes[b])
                    masked = m[b] > 0
                    for region, sel in (("all", masked), ("genic", masked & exon[b]),
                                        ("intergenic", masked & ~exon[b])):
                        vals = np.array([sel.sum(), ce[b][sel].sum(), correct[b][sel].sum(),
                                         (w[b][sel] * ce[b][sel]).sum(), mce[b][sel].sum(),
                                         mcor[b][sel].sum()], np.float64)
                        acc.add(names[int(sp[b])] if int(sp[b]) < len(names) else str(int(sp[b])),
                                split, region, vals)
                update(len(x))
    table = acc.table()
    if table["species"].nunique() > 1:
        agg = table.copy()
        for c, n in (("ce", "n_masked"), ("accuracy", "n_masked"), ("weighted_loss", "n_masked"),
                     ("markov_ce", "n_masked"), ("markov_accuracy", "n_masked")):
            agg[c] = agg[c] * agg[n]
        agg = agg.groupby(["split", "region"], sort=False)[
            ["n_masked", "ce", "accuracy", "weighted_loss", "markov_ce", "markov_accuracy"]].sum(min_count=1).reset_index()
        for c in ("ce", "accuracy", "weighted_loss", "markov_ce", "markov_accuracy"):
            agg[c] = agg[c] / agg["n_masked"].where(agg["n_masked"] > 0)
        agg["perplexity"] = np.exp(agg["ce"])
        agg["markov_perplexity"] = np.exp(agg["markov_ce"])
        agg["species"] = "all"
        table = pd.concat([table, agg[MLM_COLUMNS]], ignore_index=True)
    order = {"all": 0, "genic": 1, "intergenic": 2}
    table = table.sort_values(["species", "split", "region"], key=lambda s: s.map(order) if s.name == "region"
                              else s).reset_index(drop=True)
    return table


def _l2_penalty(model) -> float:
    try:
        return float(sum(float(np.asarray(v)) for v in model.losses))
    except Exception:  # a model without regularizers, or a backend without eager losses
        return 0.0


def run_mlm_eval(params_path, model_path, data_dir, out_dir, splits=("test",), markov_order: int = 5,
                 repeats: int = 1, seed: int = EVAL_SEED, batch_size: int | None = None,
                 plots: bool = True, progress: ProgressFactory | None = None) -> dict:
    """The work of ``yeastzoi_eval_mlm.py``: write OUT/mlm_metrics.tsv and (``plots``) bar
    charts of LM vs Markov CE per region (mlm_ce_<split>[_<species>].png); returns {name: path}.
    ``markov_order < 0`` skips the baseline."""
    from ..data.pipeline import read_statistics
    stats = read_statistics(data_dir)   # fail fast, before loading Keras
    from ..model.params import load_params
    params = load_params(params_path)
    batch_size = int(batch_size or params["train"].get("batch_size", 4))
    seqnn = load_model(model_path, params)
    seqnn.meta["model_path"] = str(model_path)
    check_lm_model(seqnn.meta, stats, model_path, data_dir)
    markov = None
    if markov_order is not None and markov_order >= 0:
        markov = fit_markov(data_dir, markov_order, "train", progress=progress)
    table = evaluate_mlm(seqnn, data_dir, splits, params["train"], markov, repeats, seed,
                         batch_size, progress)
    out = write_tsv(table, Path(out_dir) / "mlm_metrics.tsv")
    outputs = {"mlm_metrics": out}
    if plots:
        from ..plots.figures import grouped_bars
        for split in splits:
            for sp in table["species"].unique():
                sub = table[(table["split"] == split) & (table["species"] == sp)].set_index("region")
                if len(sub) == 0:
                    continue
                bars = pd.DataFrame({"LM": sub["ce"]})
                if sub["markov_ce"].notna().any():
                    bars[f"Markov-{markov_order}"] = sub["markov_ce"]
                name = f"mlm_ce_{split}" + ("" if sp == "all" or table["species"].nunique() == 1 else f"_{sp}")
                outputs[name] = grouped_bars(bars, Path(out_dir) / f"{name}.png", ylabel="masked CE (nats)",
                                             title=f"{sp}, {split}")
    l2 = _l2_penalty(seqnn.model)
    if l2:
        log.info("weighted_loss excludes the layers' L2 penalty (%.6g); the trainer's valid loss adds it", l2)
    for _, row in table[table["region"] == "all"].iterrows():
        log.info("%s %s: %d masked, CE %.4f (weighted %.4f), acc %.4f, ppl %.3f; Markov-%s CE %.4f acc %.4f",
                 row["species"], row["split"], row["n_masked"], row["ce"], row["weighted_loss"],
                 row["accuracy"], row["perplexity"], markov_order, row["markov_ce"], row["markov_accuracy"])
    return outputs

