"""Zero-shot variant scores of a masked language model (``yeastzoi_snp.py --lm``).

``LLR`` = log p(alt) − log p(ref) (natural log) at the masked variant position(s), from a
masked LM whose output is (seq_length, 4) base probabilities. The window is the variant
window (:func:`yeastzoi.model.geometry.variant_window_start`); the REF positions are masked
(mask channel 1, DNA channels 0); the score is computed on the forward window and on its
reverse complement (output position reversed, bases complemented) and the two are averaged.
Substitutions of any length (len(REF) = len(ALT)) sum the per-position log ratios over the
positions where the alleles differ; indels get NaN (counted in the log). With several
models: mean and ``LLR_std``. ``opts.rc``/``shifts`` are not used (both strands are always
scored). The species channel follows the one species rule (``opts.species``, else the
model's stored target species).
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from ..genome.dna import revcomp_onehot, seq_to_codes
from ..model.geometry import variant_window_start
from ..model.loader import check_lm
from ..model.predictor import Predictor
from .engine import run_settings
from .options import ScoreOptions
from .results import ScoreResult
from .sequences import ref_codes
from .stats import reduce_models

log = logging.getLogger(__name__)

_COMPLEMENT = np.array([3, 2, 1, 0, 4])


def _lm_positions(variants):
    """(unique (chrom, start, len) keys, key → variant indices, number of indels)."""
    keys, by_key, n_indel = [], {}, 0
    for vi, v in enumerate(variants):
        if v.is_indel:
            n_indel += 1
            continue
        k = (v.chrom, v.start, len(v.ref))
        if k not in by_key:
            keys.append(k)
            by_key[k] = []
        by_key[k].append(vi)
    return keys, by_key, n_indel


def _llr(logf: np.ndarray, logr: np.ndarray, v, L: int) -> float:
    """½ (forward + reverse) Σ log p(alt) − log p(ref) over the differing positions."""
    i0 = v.start - variant_window_start(v.start, L)
    r, a = seq_to_codes(v.ref), seq_to_codes(v.alt)
    tot_f = tot_r = 0.0
    for q in range(len(r)):
        if r[q] == a[q] or r[q] > 3 or a[q] > 3:
            continue
        i = i0 + q
        tot_f += logf[i, a[q]] - logf[i, r[q]]
        ir = L - 1 - i
        tot_r += logr[ir, _COMPLEMENT[a[q]]] - logr[ir, _COMPLEMENT[r[q]]]
    return 0.5 * (tot_f + tot_r)


def score_variants_lm(models, genome, variants, opts: ScoreOptions, model_paths=None,
                      progress: Callable | None = None) -> ScoreResult:
    """LLR of every variant (module docstring). ``models``: LM SeqNNs or a Predictor."""
    opts.stats = ["LLR"]
    pred = models if isinstance(models, Predictor) else Predictor(
        models, batch_size=opts.batch_size, species=opts.species, compiled=opts.compiled)
    for name, meta in zip(pred.names, pred.metas):
        check_lm(meta, name)
    L = pred.seq_length
    keys, by_key, n_indel = _lm_positions(variants)
    if n_indel:
        log.warning("%d indels get no LM score (NaN); LM scores are defined for substitutions", n_indel)
    scores = np.full((pred.num_models, len(variants), 1), np.nan, np.float32)
    chunk = max(opts.batch_size * 4, 8)
    pred.expect(2 * len(keys))
    for c0 in range(0, len(keys), chunk):
        ks = keys[c0:c0 + chunk]
        codes, masks = [], []
        for chrom, p0, n in ks:
            s = variant_window_start(p0, L)
            codes.append(ref_codes(genome, chrom, s, L))
            mk = np.zeros(L, np.float32)
            mk[p0 - s:p0 - s + n] = 1
            masks.append(mk)
        x = pred.encode(np.stack(codes), np.stack(masks))
        y = np.log(np.maximum(pred.predict(np.concatenate([x, revcomp_onehot(x)])), 1e-12))
        for mi in range(pred.num_models):
            for j, k in enumerate(ks):
                for vi in by_key[k]:
                    scores[mi, vi, 0] = _llr(y[mi, j], y[mi, len(ks) + j], variants[vi], L)
        if progress is not None:
            progress(len(ks))
    attrs = run_settings(pred, model_paths, opts, False, "lm")
    attrs.update({"rc": True, "lm_log_base": "e", "lm_indels_nan": n_indel})
    return ScoreResult(list(variants), reduce_models({"LLR": scores}), ["lm_llr"],
                       ["LM log p(alt) - log p(ref), both strands"], attrs)
