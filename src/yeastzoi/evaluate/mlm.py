"""Masked-LM evaluation: the LM and its baselines scored at the same masked positions.

Masks
    Each split's records are masked exactly as in validation
    (:func:`yeastzoi.data.pipeline.lm_dataset` with ``training=False``: int(mask_rate·L)
    positions per window, never an N, all replaced by the mask token; record i of repeat r
    seeded with ``(seed + r, i)``). The default seed :data:`~yeastzoi.evaluate.tracks.EVAL_SEED`
    (1,000,003) is the trainer's validation seed, so the ``valid`` masks equal those behind
    a training history's valid loss (the trainer may score only its first
    ``eval_steps_max`` batches; this evaluation scores every window of the split).
    ``mask_rate`` is the train section's (default 0.15).

Metrics, per model at the masked positions (N = their number)
    * ``ce`` = Σ −ln p(true base) / N (nats); ``perplexity`` = exp(ce);
    * ``accuracy`` = fraction whose argmax (first on ties) is the true base;
    * ``loss_shorkie`` and ``loss_exon_only`` = Σ w·CE / N, **divided by the number of masked
      positions, not by Σw** (DESIGN.md, "Masked-LM loss"), with w = exon-scale ×
      repeat-scale under two fixed weightings (:data:`WEIGHTINGS`):

      - ``shorkie``: exon 0.1 / non-exon 1.0 × repeat 0.1 / non-repeat 1.0 — Shorkie's LM
        weighting, the number comparable with its 0.418 (R64) valid loss;
      - ``exon_only``: exon 0.1 / non-exon 1.0, repeats not down-weighted.

      The weightings are fixed here, never read from the model's train section: a model
      trained with uniform weights (e.g. r64_lm) is reported on the same scale as Shorkie.
      The layers' L2 penalty is not included (the trainer's valid loss adds it).

Models
    ``lm`` (the network's softmax at the masked input) and each fitted baseline of
    :mod:`yeastzoi.evaluate.baselines` (``markov<k>``: k preceding bases; ``kmer<k>``: k + k
    bases), which see the true (unmasked) neighbouring bases; see that module.

Rows
    per (species, split, region, model); region ``all``, ``genic`` (exon mask 1: the corpus'
    exon mask, trimmed as it was built) and ``intergenic`` (exon mask 0); species ``all``
    aggregates species when the corpus has several.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError

log = logging.getLogger(__name__)

from .baselines import fit_kmer, fit_markov
from .tracks import EVAL_SEED, ProgressFactory, noop_progress, write_tsv

MLM_COLUMNS = ["species", "split", "region", "model", "n_masked", "ce", "accuracy", "perplexity",
               "loss_shorkie", "loss_exon_only"]

#: fixed position weightings of the reported losses (see the module docstring)
WEIGHTINGS = {
    "shorkie": {"exon_loss_scale": 0.1, "non_exon_loss_scale": 1.0,
                "repeat_loss_scale": 0.1, "non_repeat_loss_scale": 1.0},
    "exon_only": {"exon_loss_scale": 0.1, "non_exon_loss_scale": 1.0,
                  "repeat_loss_scale": 1.0, "non_repeat_loss_scale": 1.0},
}

#: Shorkie's best valid loss of its R64-only LM (weighting ``shorkie``; DESIGN.md)
SHORKIE_R64_VALID_LOSS = 0.418

REGIONS = ("all", "genic", "intergenic")


# ============================================================================ per-position terms
def position_weights(exon, repeat, weighting: str | dict = "shorkie") -> np.ndarray:
    """w = (exon ? exon_loss_scale : non_exon_loss_scale) × (repeat ? repeat_loss_scale :
    non_repeat_loss_scale) for 0/1 arrays ``exon`` and ``repeat``."""
    s = WEIGHTINGS[weighting] if isinstance(weighting, str) else weighting
    exon = np.asarray(exon, bool)
    repeat = np.asarray(repeat, bool)
    return (np.where(exon, s["exon_loss_scale"], s["non_exon_loss_scale"])
            * np.where(repeat, s["repeat_loss_scale"], s["non_repeat_loss_scale"]))


def position_terms(probs: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(CE = −ln p(true base) in nats, correct = argmax == true) per position; ``probs``
    (..., 4), ``true`` (...) base codes 0..3."""
    probs = np.asarray(probs, np.float64)
    true = np.asarray(true, np.int64)
    p = np.take_along_axis(probs, true[..., None], -1)[..., 0]
    return -np.log(np.maximum(p, 1e-12)), (probs.argmax(-1) == true).astype(np.float64)


def masked_metrics(probs, true, exon, repeat) -> dict:
    """The metrics of one model over a set of masked positions (see the module docstring):
    n_masked, ce, accuracy, perplexity, loss_shorkie, loss_exon_only."""
    ce, correct = position_terms(probs, true)
    sums = _sums(ce, correct, np.asarray(exon, bool), np.asarray(repeat, bool), np.ones(ce.shape, bool))
    return _metrics(sums)


def _sums(ce, correct, exon, repeat, sel) -> np.ndarray:
    """[n, Σce, Σcorrect, Σw_shorkie·ce, Σw_exon_only·ce] over ``sel``."""
    ce, exon, repeat = ce[sel], exon[sel], repeat[sel]
    return np.array([ce.size, ce.sum(), correct[sel].sum(),
                     (position_weights(exon, repeat, "shorkie") * ce).sum(),
                     (position_weights(exon, repeat, "exon_only") * ce).sum()], np.float64)


def _metrics(s: np.ndarray) -> dict:
    n = float(s[0])
    if n == 0:
        return {"n_masked": 0, "ce": np.nan, "accuracy": np.nan, "perplexity": np.nan,
                "loss_shorkie": np.nan, "loss_exon_only": np.nan}
    return {"n_masked": int(n), "ce": s[1] / n, "accuracy": s[2] / n, "perplexity": math.exp(s[1] / n),
            "loss_shorkie": s[3] / n, "loss_exon_only": s[4] / n}


# ============================================================================ evaluation
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


def evaluate_mlm(seqnn, data_dir, splits=("test",), baselines=(), repeats: int = 1,
                 seed: int = EVAL_SEED, batch_size: int = 4, mask_rate: float = 0.15,
                 max_windows: int | None = None, progress: ProgressFactory | None = None) -> pd.DataFrame:
    """Masked-LM metrics (:data:`MLM_COLUMNS`) of ``seqnn`` (a loaded LM, or None for the
    baselines alone) and ``baselines`` (fitted models with ``name`` and ``predict_proba``)
    per species, split, region and model, all at the same masked positions.
    ``max_windows``: only the first N windows of each split (the trainer's valid loss
    covers ``eval_steps_max × batch_size`` windows when eval_steps_max is set)."""
    import tensorflow as tf
    from ..data.pipeline import lm_dataset, read_statistics, record_files
    from ..data.tfrecords import parse_example

    baselines = list(baselines or ())
    if seqnn is None and not baselines:
        raise YeastzoiError("nothing to evaluate: no model and no baseline")
    progress = progress or noop_progress
    stats = read_statistics(data_dir)
    L = int(stats["seq_length"])
    names = list(stats.get("species") or [f"species{i}" for i in range(int(stats.get("num_species", 1)))])
    models = (["lm"] if seqnn is not None else []) + [b.name for b in baselines]
    if len(set(models)) != len(models):
        raise YeastzoiError(f"model names must be distinct, got {models}")
    predictor = None
    if seqnn is not None:
        from ..model.predictor import Predictor
        check_lm_model(seqnn.meta, stats, seqnn.meta.get("model_path", "model"), data_dir)
        predictor = Predictor(seqnn, batch_size=batch_size)
        predictor.expect(int(repeats) * sum(_n_windows(stats, s, max_windows) or 0 for s in splits))
    sums: dict[tuple, np.ndarray] = {}
    for split in splits:
        files = record_files(data_dir, split)
        if not files:
            raise YeastzoiError(f"{data_dir}: no {split}-*.tfr records (splits: train, valid, test)")
        for r in range(int(repeats)):
            ds = lm_dataset(data_dir, split, batch_size=batch_size, mask_rate=mask_rate, training=False,
                            rc=False, seed=int(seed) + r, shuffle=False, files=files)
            raw = tf.data.TFRecordDataset(files, compression_type="ZLIB").map(
                lambda rec: (lambda e: (e["species"], e["mask"], e["repeat_mask"]))(
                    parse_example(rec, L, lm=True)))
            if max_windows:
                ds = ds.unbatch().take(int(max_windows)).batch(batch_size)
                raw = raw.take(int(max_windows))
            update = progress(f"MLM {split}" + (f" repeat {r + 1}/{repeats}" if repeats > 1 else ""),
                              _n_windows(stats, split, max_windows))
            for (x, y, _, m), (sp, exon, rep) in tf.data.Dataset.zip((ds, raw.batch(batch_size))):
                y, sel = y.numpy().astype(np.int64), m.numpy() > 0
                sp = sp.numpy().astype(np.int64)
                probs = {}
                if predictor is not None:
                    probs["lm"] = predictor.predict(x.numpy())[0][sel]
                for b in baselines:
                    probs[b.name] = np.concatenate([b.predict_proba(y[i], int(sp[i]), at=sel[i])
                                                    for i in range(len(y))])
                _add_batch(sums, split, probs, y, sel, sp, exon.numpy() > 0, rep.numpy() > 0, names)
                update(len(y))
    for split in splits:
        if not any(k[1] == split for k in sums):
            raise YeastzoiError(f"{data_dir}: the {split} split has no records with maskable positions")
    rows = [dict(zip(("species", "split", "region", "model"), k), **_metrics(v)) for k, v in sums.items()]
    table = pd.DataFrame(rows, columns=MLM_COLUMNS)
    if table.loc[table["species"] != "all", "species"].nunique() <= 1:
        table = table[table["species"] != "all"]
    order = {"region": {r: i for i, r in enumerate(REGIONS)}, "model": {m: i for i, m in enumerate(models)},
             "split": {s: i for i, s in enumerate(splits)}}
    table = table.sort_values(["species", "split", "region", "model"],
                              key=lambda c: c.map(order[c.name]) if c.name in order else c)
    return table.reset_index(drop=True)


def _n_windows(stats: dict, split: str, max_windows: int | None) -> int | None:
    n = int(stats.get(f"{split}_seqs", 0)) or None
    return min(n, int(max_windows)) if n and max_windows else (n or max_windows or None)


def _add_batch(sums: dict, split: str, probs: dict, y, sel, sp, exon, rep, names) -> None:
    """Add one batch's sums per (species, split, region, model) for every model's
    probabilities at the masked positions (``probs[name]``: (n_masked, 4))."""
    pos_sp = np.broadcast_to(sp[:, None], y.shape)[sel]
    true, pos_exon, pos_rep = y[sel], exon[sel], rep[sel]
    for name, pr in probs.items():
        ce, correct = position_terms(pr, true)
        for s in np.unique(pos_sp):
            sp_name = names[s] if s < len(names) else str(s)
            in_sp = pos_sp == s
            for region, g in zip(REGIONS, (in_sp, in_sp & pos_exon, in_sp & ~pos_exon)):
                v = _sums(ce, correct, pos_exon, pos_rep, g)
                for key_sp in (sp_name, "all"):
                    key = (key_sp, split, region, name)
                    sums[key] = sums.get(key, 0) + v


def mlm_summary(table: pd.DataFrame, **info) -> dict:
    """The JSON summary: per split and region, every model's metrics side by side (species
    ``all`` when there are several), plus Shorkie's reference loss and ``info``."""
    species = "all" if (table["species"] == "all").any() else table["species"].iloc[0]
    sub = table[table["species"] == species]
    out = dict(info, species=species, weightings=WEIGHTINGS, loss_denominator="number of masked positions",
               reference={"shorkie_r64_valid_loss_shorkie": SHORKIE_R64_VALID_LOSS}, splits={})
    metrics = ["ce", "accuracy", "perplexity", "loss_shorkie", "loss_exon_only"]
    for split in dict.fromkeys(sub["split"]):
        s = sub[sub["split"] == split]
        entry = {"n_masked": int(s.loc[s["region"] == "all", "n_masked"].max())}
        for region in REGIONS:
            rs = s[s["region"] == region]
            if len(rs):
                entry[region] = {r["model"]: {k: round(float(r[k]), 6) for k in metrics}
                                 for _, r in rs.iterrows()}
        out["splits"][split] = entry
    return out


def _l2_penalty(model) -> float:
    try:
        return float(sum(float(np.asarray(v)) for v in model.losses))
    except Exception:  # a model without regularizers, or a backend without eager losses
        return 0.0


def run_mlm_eval(params_path, model_path, data_dir, out_dir, splits=("test",), markov_order: int = 5,
                 kmer: int = 3, repeats: int = 1, seed: int = EVAL_SEED, batch_size: int | None = None,
                 max_windows: int | None = None, plots: bool = True,
                 progress: ProgressFactory | None = None) -> dict:
    """The work of ``yeastzoi_eval_mlm.py``: write OUT/mlm_metrics.tsv, OUT/mlm_summary.json
    and (``plots``) bar charts of every model's CE per region (mlm_ce_<split>[_<species>].png);
    returns {name: path}. ``model_path=None`` evaluates the baselines alone;
    ``markov_order < 0`` / ``kmer < 0`` skips that baseline. The mask rate and (without
    ``batch_size``) the batch size come from ``params_path``'s train section (0.15 and 4
    without params)."""
    from ..data.pipeline import read_statistics
    from ..fileio import write_json_atomic
    stats = read_statistics(data_dir)   # fail fast, before loading Keras
    params, seqnn = None, None
    if params_path not in (None, "-"):
        from ..model.params import load_params
        params = load_params(params_path)
    train = dict((params or {}).get("train") or {})
    batch_size = int(batch_size or train.get("batch_size", 4))
    if model_path is not None:
        from ..model.loader import load_model
        seqnn = load_model(model_path, params)
        seqnn.meta["model_path"] = str(model_path)
        check_lm_model(seqnn.meta, stats, model_path, data_dir)
    baselines = []
    if markov_order is not None and markov_order >= 0:
        baselines.append(fit_markov(data_dir, markov_order, "train", progress=progress))
    if kmer is not None and kmer >= 0:
        baselines.append(fit_kmer(data_dir, kmer, "train", progress=progress))
    mask_rate = float(train.get("mask_rate", 0.15))
    table = evaluate_mlm(seqnn, data_dir, splits, baselines, repeats, seed, batch_size, mask_rate,
                         max_windows, progress)
    out_dir = Path(out_dir)
    outputs = {"mlm_metrics": write_tsv(table, out_dir / "mlm_metrics.tsv")}
    summary = mlm_summary(table, data_dir=str(data_dir), model=None if model_path is None else str(model_path),
                          mask_seed=int(seed), repeats=int(repeats), mask_rate=mask_rate,
                          max_windows=int(max_windows) if max_windows else None,
                          baselines={b.name: _describe(b) for b in baselines})
    write_json_atomic(out_dir / "mlm_summary.json", summary)
    outputs["mlm_summary"] = out_dir / "mlm_summary.json"
    if plots:
        from ..figures import grouped_bars
        for split in splits:
            for sp in table["species"].unique():
                sub = table[(table["split"] == split) & (table["species"] == sp)]
                if len(sub) == 0:
                    continue
                bars = sub.pivot(index="region", columns="model", values="ce")
                bars = bars.reindex(index=[r for r in REGIONS if r in bars.index],
                                    columns=list(dict.fromkeys(sub["model"])))
                name = f"mlm_ce_{split}" + ("" if sp == "all" or table["species"].nunique() == 1 else f"_{sp}")
                outputs[name] = grouped_bars(bars, out_dir / f"{name}.png", ylabel="masked CE (nats)",
                                             title=f"{sp}, {split}")
    if seqnn is not None:
        l2 = _l2_penalty(seqnn.model)
        if l2:
            log.info("the losses exclude the layers' L2 penalty (%.6g); the trainer's valid loss adds it", l2)
    for _, row in table[table["region"] == "all"].iterrows():
        log.info("%s %s %s: %d masked, CE %.4f, acc %.4f, ppl %.3f, loss shorkie %.4f, exon_only %.4f",
                 row["species"], row["split"], row["model"], row["n_masked"], row["ce"], row["accuracy"],
                 row["perplexity"], row["loss_shorkie"], row["loss_exon_only"])
    return outputs


def _describe(model) -> str:
    if hasattr(model, "order"):
        return f"order-{model.order} Markov chain on the {model.order} preceding true bases, add-one smoothing"
    return (f"bidirectional k-mer on {model.k} + {model.k} true flanking bases, add-one smoothing "
            "toward shorter symmetric contexts")
