"""Masked-LM baselines counted on an LM corpus' train split, scored by
:mod:`yeastzoi.evaluate.mlm` at exactly the masked positions the LM is scored on.

Both baselines predict ``p(base | context)`` for every position of a window of base codes
(A0 C1 G2 T3, N4) through ``predict_proba(codes, species) -> (..., L, 4)``, and are fitted
per species with ``fit_codes(codes, species)`` (every train window counted as stored,
overlapping windows included, forward strand only). A species never seen in fitting uses
the counts pooled over all species.

Both condition on the **true** neighbouring bases, never on the masked input the LM sees:
at a 15 % mask rate only 0.85^6 ≈ 38 % of positions have all 3+3 neighbours unmasked, so
the baselines hold information the LM lacks and the comparison is conservative (an LM that
beats them beats them fairly).

:class:`MarkovModel` (order k, left context only)
    p(b | c) = (n(c, b) + 1) / (n(c) + 4) for the k bases preceding the position (add-one
    smoothing); where fewer than k valid bases precede it inside the window (the window
    start, an N), it uses the longest available context.

:class:`KmerModel` (bidirectional, k left + k right bases; the project's k-mer baseline)
    The level-j context of position i is the j bases on each side, ``codes[i-j:i]`` and
    ``codes[i+1:i+j+1]`` (level 0: no context). A level is *available* when all its 2j bases
    lie inside the window and none is N; the longest available level J ≤ k is used, and the
    probabilities are add-one smoothed toward the next-shorter symmetric context::

        p_{-1}(b) = 1/4
        p_j(b)    = (n_j(c_j, b) + 4 · p_{j-1}(b)) / (n_j(c_j) + 4),   j = 0 .. J

    (``n_j`` counts centre base b in context c_j in the train windows, the centre being any
    non-N base whose level-j context is available). Level 0 is add-one on the base
    composition; a context never seen in training (n_j(c_j) = 0) gives p_j = p_{j-1}, i.e.
    backs off to the shorter context; a well-counted context (thousands of occurrences, the
    usual case for 3+3 on a genome) is essentially its empirical frequency.
    Counts per level are numpy ``bincount``s of encoded context-base indices (dense tables up
    to j = 5, 4^11 entries; sorted sparse keys above). k ≤ 8.
"""
from __future__ import annotations

import logging

import numpy as np

from .. import YeastzoiError

log = logging.getLogger(__name__)

from .tracks import ProgressFactory, noop_progress

#: the highest level whose (context, base) counts are a dense array (4^(2j+1) entries)
DENSE_MAX_LEVEL = 5


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

    @property
    def name(self) -> str:
        return f"markov{self.order}"

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

    def predict_proba(self, codes: np.ndarray, species: int = 0, at: np.ndarray | None = None) -> np.ndarray:
        """p(base | preceding context) for every position of ``codes`` (..., L) → (..., L, 4),
        or only where the boolean ``at`` (..., L) is set → (n, 4). A species never seen in
        fitting uses the pooled counts of all species."""
        tables = self._tables()[species]
        ctx, run = _context_codes(np.asarray(codes, np.int64), self.order)
        if at is not None:
            ctx, run = ctx[at], run[at]
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


# ============================================================================ bidirectional k-mer
def symmetric_contexts(codes: np.ndarray, k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Level-j context codes (j = 0..k) and the longest available level per position.

    ``ctx[j]`` (..., L) int64 encodes the j bases on each side: ``ctx[j] = ctx[j-1]·16 +
    left_j·4 + right_j`` with left_j = codes[i-j], right_j = codes[i+j] (so ``ctx[j] // 16 ==
    ctx[j-1]``); ``run`` (..., L) is the largest j whose 2j bases are inside the window and
    not N (``ctx[j]`` is meaningful only where ``run >= j``)."""
    c = np.asarray(codes, np.int64)
    L = c.shape[-1]
    ctx = [np.zeros(c.shape, np.int64)]
    run = np.zeros(c.shape, np.int64)
    alive = np.ones(c.shape, bool)
    for j in range(1, k + 1):
        left = np.full(c.shape, 4, np.int64)
        right = np.full(c.shape, 4, np.int64)
        if j < L:
            left[..., j:] = c[..., :-j]
            right[..., :-j] = c[..., j:]
        alive = alive & (left < 4) & (right < 4)
        ctx.append(ctx[-1] * 16 + np.where(alive, left, 0) * 4 + np.where(alive, right, 0))
        run += alive
    return ctx, run


class _Counts:
    """(context, base) counts of one level: a dense (4^(2j), 4) array, or sorted sparse
    keys (context·4 + base) with their counts above :data:`DENSE_MAX_LEVEL`."""

    def __init__(self, level: int):
        self.level = level
        self.dense = level <= DENSE_MAX_LEVEL
        if self.dense:
            self.table = np.zeros((4 ** (2 * level), 4), np.int64)
        else:
            self.keys = np.zeros(0, np.int64)
            self.vals = np.zeros(0, np.int64)

    def add(self, keys: np.ndarray, sel: np.ndarray) -> None:
        """Count ``keys`` (context·4 + base) where ``sel``."""
        if self.dense:   # a sentinel bin for unselected positions: faster than boolean indexing
            n = self.table.size
            cnt = np.bincount(np.where(sel, keys, n).ravel(), minlength=n + 1)
            self.table += cnt[:n].reshape(self.table.shape)
            return
        self._merge(*np.unique(keys[sel], return_counts=True))

    def _merge(self, keys: np.ndarray, vals: np.ndarray) -> None:
        allk, inv = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        self.vals = np.bincount(inv, weights=np.concatenate([self.vals, vals]),
                                minlength=len(allk)).astype(np.int64)
        self.keys = allk

    def lookup(self, ctx: np.ndarray) -> np.ndarray:
        """Counts (n, 4) of the contexts ``ctx`` (n,)."""
        if self.dense:
            return self.table[ctx]
        q = ctx[:, None] * 4 + np.arange(4)
        idx = np.minimum(np.searchsorted(self.keys, q), max(len(self.keys) - 1, 0))
        found = (self.keys[idx] == q) if len(self.keys) else np.zeros(q.shape, bool)
        return np.where(found, self.vals[idx] if len(self.vals) else 0, 0)

    def __iadd__(self, other: "_Counts") -> "_Counts":
        if self.dense:
            self.table = self.table + other.table
        else:
            self._merge(other.keys, other.vals)
        return self


class KmerModel:
    """Bidirectional k-mer model per species: p(base | k left and k right true bases), add-one
    smoothed toward shorter symmetric contexts (definition: module docstring).

    ``counts[s][j]``: the level-j (context, base) counts of species s (``count(s, j)`` gives
    them as a dense (4^(2j), 4) array for small j)."""

    def __init__(self, k: int = 3, num_species: int = 1):
        if not 0 <= int(k) <= 8:
            raise YeastzoiError(f"k-mer context k must be 0..8 (k bases on each side), got {k}")
        self.k = int(k)
        self.num_species = int(num_species)
        self.counts = [[_Counts(j) for j in range(self.k + 1)] for _ in range(self.num_species)]
        self.n_fit = np.zeros(self.num_species, np.int64)
        self._pooled = None

    @property
    def name(self) -> str:
        return f"kmer{self.k}"

    def fit_codes(self, codes: np.ndarray, species: int = 0) -> None:
        """Add the counts of one window (or a batch of windows, (B, L)) of codes."""
        c = np.asarray(codes, np.int64)
        ctx, run = symmetric_contexts(c, self.k)
        valid = c < 4
        for j in range(self.k + 1):
            self.counts[species][j].add(ctx[j] * 4 + c, valid & (run >= j))
        self.n_fit[species] += int(valid.sum())
        self._pooled = None

    def count(self, species: int, level: int) -> np.ndarray:
        """Dense (4^(2j), 4) counts of one level (j ≤ :data:`DENSE_MAX_LEVEL`)."""
        cnt = self.counts[species][level]
        if not cnt.dense:
            raise YeastzoiError(f"level {level} counts are sparse (keys, vals)")
        return cnt.table

    def _levels(self, species: int) -> list[_Counts]:
        if self.n_fit[species] > 0:
            return self.counts[species]
        if self._pooled is None:
            self._pooled = [_Counts(j) for j in range(self.k + 1)]
            for s in range(self.num_species):
                for j in range(self.k + 1):
                    self._pooled[j] += self.counts[s][j]
        return self._pooled

    def predict_proba(self, codes: np.ndarray, species: int = 0, at: np.ndarray | None = None) -> np.ndarray:
        """p(base | k true bases on each side) for every position of ``codes`` (..., L) →
        (..., L, 4), or only where the boolean ``at`` (..., L) is set → (n, 4). Position i's
        own base is never used."""
        levels = self._levels(species)
        ctx, run = symmetric_contexts(np.asarray(codes, np.int64), self.k)
        if at is not None:
            ctx, run = [c[at] for c in ctx], run[at]
        p = np.full(run.shape + (4,), 0.25)
        for j in range(self.k + 1):
            sel = run >= j
            if not sel.any():
                break
            n = levels[j].lookup(ctx[j][sel]).astype(np.float64)
            p[sel] = (n + 4.0 * p[sel]) / (n.sum(1, keepdims=True) + 4.0)
        return p


# ============================================================================ fitting on a corpus
def fit_on_split(model, data_dir, split: str = "train", files=None,
                 progress: ProgressFactory | None = None, batch: int = 64):
    """Add the counts of every window of an LM corpus' ``split`` to ``model`` (a
    :class:`MarkovModel` or :class:`KmerModel`) per species; returns ``model``."""
    import tensorflow as tf
    from ..data.pipeline import read_statistics, record_files
    from ..data.tfrecords import parse_example, verify_records
    stats = read_statistics(data_dir)
    L = int(stats["seq_length"])
    files = list(files) if files is not None else record_files(data_dir, split)
    if not files:
        raise YeastzoiError(f"{data_dir}: no {split}-*.tfr records to fit the {model.name} baseline on")
    verify_records(files)        # damaged record files: one-line error naming the file
    total = int(stats.get(f"{split}_seqs", 0)) or None
    update = (progress or noop_progress)(f"{model.name} fit ({split})", total)
    ds = tf.data.TFRecordDataset(files, compression_type="ZLIB").map(
        lambda r: (lambda e: (e["sequence"], e["species"]))(parse_example(r, L, lm=True))).batch(batch)
    for seq, sp in ds:
        seq, sp = seq.numpy(), sp.numpy()
        for s in np.unique(sp):
            if not 0 <= int(s) < model.num_species:
                raise YeastzoiError(f"{data_dir}: a {split} record has species {int(s)} but "
                                    f"statistics.json says num_species={model.num_species}")
            model.fit_codes(seq[sp == s], int(s))
        update(len(sp))
    log.info("%s fitted on %s bases of %s", model.name, f"{int(model.n_fit.sum()):,}", split)
    return model


def _num_species(data_dir) -> int:
    from ..data.pipeline import read_statistics
    return int(read_statistics(data_dir).get("num_species", 1))


def fit_markov(data_dir, order: int = 5, split: str = "train", files=None,
               progress: ProgressFactory | None = None) -> MarkovModel:
    """Fit a :class:`MarkovModel` per species on an LM corpus' ``split`` windows."""
    return fit_on_split(MarkovModel(order, _num_species(data_dir)), data_dir, split, files, progress)


def fit_kmer(data_dir, k: int = 3, split: str = "train", files=None,
             progress: ProgressFactory | None = None) -> KmerModel:
    """Fit a :class:`KmerModel` (k + k bases of context) per species on ``split``'s windows."""
    return fit_on_split(KmerModel(k, _num_species(data_dir)), data_dir, split, files, progress)
