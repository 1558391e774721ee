"""Masked-LM baselines fitted on an LM corpus' train split: the order-k Markov model
(:class:`MarkovModel`, left context only). Evaluated on exactly the masked positions the
LM is scored on (:mod:`yeastzoi.evaluate.mlm`)."""
from __future__ import annotations

import logging

import numpy as np

from .. import YeastzoiError

log = logging.getLogger(__name__)

from .tracks import ProgressFactory, noop_progress


# ============================================================================ Markov baseline
def _context_codes(codes: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Per position i: (context code of the ``order`` preceding bases, nearest base least
    significant; valid context length ≤ order, stopping at the window start or an N)."""
    c = np.asarray(codes, np.int64)
    L = c.shape[-1]
    ctx = np.zeros(c.shape, np.int64)
    run = np.zeros(c.shape, np.int64)
    alive = np.ones(c.shape, bool)
    for m in range(1, order + 1):
        prev = np.full(c.shape, 4, np.int64)
        if m < L:
            prev[..., m:] = c[..., :-m]
        ok = alive & (prev < 4)
        ctx += np.where(ok, prev, 0) * (4 ** (m - 1))
        run += ok
        alive = ok
    return ctx, run


class MarkovModel:
    """Order-k Markov chain per species with add-one smoothing and back-off (see module doc).

    ``counts[s][j]``: int64 (4**j, 4) transition counts of order j = 0..k for species s.
    """

    def __init__(self, order: int = 5, num_species: int = 1):
        if not 0 <= int(order) <= 10:
            raise YeastzoiError(f"Markov order must be 0..10, got {order}")
        self.order = int(order)
        self.num_species = int(num_species)
        self.counts = [[np.zeros((4 ** j, 4), np.int64) for j in range(self.order + 1)]
                       for _ in range(self.num_species)]
        self.n_fit = np.zeros(self.num_species, np.int64)
        self._probs = None

    def fit_codes(self, codes: np.ndarray, species: int = 0) -> None:
        """Add the counts of one window (or a batch of windows, (B, L)) of codes."""
        c = np.asarray(codes, np.int64)
        ctx, run = _context_codes(c, self.order)
        valid = c < 4
        for j in range(self.order + 1):
            sel = valid & (run >= j)
            key = (ctx[sel] % (4 ** j)) * 4 + c[sel]
            self.counts[species][j] += np.bincount(key, minlength=4 ** (j + 1)).reshape(4 ** j, 4)
        self.n_fit[species] += int(valid.sum())
        self._probs = None

    def _tables(self):
        if self._probs is None:
            pooled = [sum(self.counts[s][j] for s in range(self.num_species)) for j in range(self.order + 1)]
            self._probs = []
            for s in range(self.num_species):
                src = self.counts[s] if self.n_fit[s] > 0 else pooled
                self._probs.append([(t + 1.0) / (t.sum(1, keepdims=True) + 4.0) for t in src])
        return self._probs

    def predict_proba(self, codes: np.ndarray, species: int = 0) -> np.ndarray:
        """p(base | preceding context) for every position of ``codes`` (..., L) → (..., L, 4).
        A species never seen in fitting uses the pooled counts of all species."""
        tables = self._tables()[species]
        ctx, run = _context_codes(np.asarray(codes, np.int64), self.order)
        out = np.empty(ctx.shape + (4,))
        for j in range(self.order + 1):
            sel = run == j
            if sel.any():
                out[sel] = tables[j][ctx[sel] % (4 ** j)]
        return out

    def entropy_rate(self, species: int = 0) -> float:
        """Empirical conditional entropy (nats) of the fitted order-k table."""
        p = self._tables()[species][self.order]
        w = self.counts[species][self.order].sum(1)
        if w.sum() == 0:
            return float("nan")
        h = -(p * np.log(p)).sum(1)
        return float((h * w).sum() / w.sum())


def fit_markov(data_dir, order: int = 5, split: str = "train", files=None,
               progress: ProgressFactory | None = None) -> MarkovModel:
    """Fit a :class:`MarkovModel` per species on an LM corpus' ``split`` windows."""
    import tensorflow as tf
    from ..data.pipeline import _resolve_files, read_statistics
    from ..data.tfrecords import parse_example
    stats = read_statistics(data_dir)
    L = int(stats["seq_length"])
    n_species = int(stats.get("num_species", 1))
    files = _resolve_files(data_dir, split, files)
    model = MarkovModel(order, n_species)
    total = int(stats.get(f"{split}_seqs", 0)) or None
    update = (progress or noop_progress)(f"Markov order {order} fit ({split})", total)
    ds = tf.data.TFRecordDataset(files, compression_type="ZLIB").map(
        lambda r: (lambda e: (e["sequence"], e["species"]))(parse_example(r, L, lm=True))).batch(64)
    for seq, sp in ds:
        seq, sp = seq.numpy(), sp.numpy()
        for s in np.unique(sp):
            model.fit_codes(seq[sp == s], int(s))
        update(len(sp))
    log.info("Markov order %d fitted on %s bases of %s", order, int(model.n_fit.sum()), split)
    return model


