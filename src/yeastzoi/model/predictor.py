"""THE predictor: every prediction of evaluation, scoring, prediction files and
interpretation goes through :class:`Predictor`.

    pred = Predictor(load_models(["f0/model.h5", "f1/model.h5"]), rc=True, shifts=[0, 1],
                     species="s288c", batch_size=8)
    y = pred.predict(x)                          # (models, B, target_length, T)
    y = pred.predict_codes(codes)                # from base codes, species channel set
    y_ref, y_alt = pred.predict_edits(codes, alt_codes, ref_index)   # references + edited copies
    for windows, y in pred.stream(genome, windows): ...   # streaming over genome windows
    mean, sd = pred.mean_std(y, sheet=targets)   # ensemble mean (and spread) in coverage units

What it does, in one place:

* **ensembles of models**: ``models`` is one or several SeqNN (or plain functions
  ``x (B, seq_length, F) → (B, L, T)`` with a ``meta`` dict); they must share their
  input/output contract (:func:`yeastzoi.model.loader.check_agreement`).
  :meth:`predict` returns every member's prediction; :meth:`mean_std` averages them in the
  models' output space (then untransforms with a targets sheet) and gives the spread (std
  across members, of the untransformed values);
* **reverse-complement and shift augmentation**: each SeqNN member is replaced by its
  Keras ensemble (:meth:`yeastzoi.model.seqnn.SeqNN.build_ensemble`) averaging
  shifts × {forward, reverse complement} in output space (stranded tracks swapped by
  ``strand_pair``; an LM head complemented);
* **the species channel**: :attr:`species_index` follows the one species rule
  (:func:`yeastzoi.model.loader.resolve_species`); :meth:`encode` builds model inputs with it;
* **batching** (:meth:`map_batches`, the one batching loop): fixed-size batches; when the
  compiled predict function is used the last batch is zero-padded, so it is traced once.
  ``compiled=None`` decides from the work announced with :meth:`expect` (compiled above
  :data:`COMPILE_MIN_BATCHES` batches; tracing costs several eager calls);
* **edited sequences** (:meth:`predict_edits`): an alternative that differs from its
  reference in a short span reuses the reference's convolutional tower
  (:mod:`yeastzoi.model.local_edits`), the same outputs for about half the work;
* **streaming** (:meth:`stream`): windows of a genome encoded and predicted batch by batch,
  in order, so memory is one batch whatever the genome size.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Sequence

import numpy as np

from .. import YeastzoiError
from ..genome.dna import model_input
from .geometry import Geometry
from .loader import check_agreement, resolve_species, species_names

log = logging.getLogger(__name__)

#: jobs needing more model calls than this use the compiled predict function
COMPILE_MIN_BATCHES = 6
_UNSET = object()


def parse_shifts(text) -> list[int]:
    """``"0,1,-1"`` (or a list) → [0, 1, -1]; empty → [0]. One-line error otherwise."""
    if text is None or text == "":
        return [0]
    if not isinstance(text, str):
        return [int(s) for s in text] or [0]
    try:
        return [int(s) for s in text.split(",") if s.strip()] or [0]
    except ValueError:
        raise YeastzoiError(f"--shifts {text}: expected comma-separated integers, e.g. 0,1,-1") from None


def is_seqnn(obj) -> bool:
    return hasattr(obj, "build_ensemble") and hasattr(obj, "meta")


def max_shift(meta: dict) -> int:
    """The largest |shift| (bp) allowed for a model: its crop (the bp between the input start
    and the first output bin), at least seq_length // 16. A shift moves the input by that many
    bp and fills the vacated end with N, so a larger one would feed the model mostly padding."""
    L = int(meta.get("seq_length") or 0)
    return max(int(meta.get("crop_bp") or 0), L // 16)


def check_shifts(shifts, meta: dict) -> None:
    """A one-line error for a shift past :func:`max_shift`."""
    if not meta.get("seq_length"):
        return
    bound = max_shift(meta)
    bad = [s for s in shifts if abs(int(s)) > bound]
    if bad:
        raise YeastzoiError(f"--shifts {','.join(map(str, bad))}: |shift| must be at most {bound} bp for this "
                            f"{meta['seq_length']} bp model (its crop, or seq_length/16); shifts are small "
                            "augmentations such as 0,1,-1")


class Predictor:
    """Predictions of one model or an ensemble of models (module docstring).

    Parameters
    ----------
    models: a SeqNN, a callable, or a list of them (callables need ``meta``).
    meta: metadata contract (default: the first SeqNN's ``meta``).
    rc, shifts: reverse-complement / shift ensemble of every SeqNN member.
    batch_size: sequences per model call. species: ``--species`` (name or index), else the
    model's stored target species. names: member names for messages (default: file paths).
    strand_pair: for the rc ensemble when the metadata has none (e.g. from a targets sheet).
    compiled: True/False, or None to decide from :meth:`expect`. head: the SeqNN head.
    """

    def __init__(self, models, meta: dict | None = None, *, rc: bool = False, shifts=(0,),
                 batch_size: int = 4, species=None, names: Sequence[str] | None = None,
                 strand_pair=None, compiled: bool | None = None, head: int = 0):
        members = list(models) if isinstance(models, (list, tuple)) else [models]
        if not members:
            raise YeastzoiError("no model given; pass at least one model file")
        self.members = members
        first = next((m for m in members if is_seqnn(m)), None)
        if meta is None and first is None:
            raise YeastzoiError("a Predictor of plain functions needs their metadata (meta=...)")
        self.meta = dict(meta if meta is not None else first.meta)
        self.names = [str(n) for n in names] if names is not None else [
            str(getattr(m, "path", None) or f"model{i}") for i, m in enumerate(members)]
        if strand_pair is not None:
            sp = [int(i) for i in strand_pair]
            for m in members:
                if is_seqnn(m) and m.meta.get("strand_pair") is None:
                    m.set_meta(strand_pair=sp)
            if self.meta.get("strand_pair") is None:
                self.meta["strand_pair"] = sp
        self.metas = [m.meta if is_seqnn(m) else self.meta for m in members]
        check_agreement(self.metas, self.names)
        self.rc, self.shifts = bool(rc), parse_shifts(shifts)
        check_shifts(self.shifts, self.meta)
        self.head = int(head)
        self.fns = [self._member_fn(m) for m in members]
        self.batch_size = max(int(batch_size), 1)
        self.compiled = compiled
        self._species = species
        self._species_index = _UNSET
        self._geometry = None
        self.reuse_tower = True
        self.edit_counts = {}       # of the last predict_edits: alternatives reused / whole / unchanged
        self._splits = {}

    def _member_fn(self, m):
        if is_seqnn(m):
            return m.build_ensemble(rc=self.rc, shifts=self.shifts, model_index=self.head)
        if not callable(m):
            raise YeastzoiError(f"{m!r}: not a model (a SeqNN or a function of model inputs)")
        if self.rc or self.shifts != [0]:
            raise YeastzoiError("reverse-complement / shift ensembles need SeqNN models")
        return m

    # ------------------------------------------------------------------ contract
    @property
    def seq_length(self) -> int:
        return int(self.meta["seq_length"])

    @property
    def num_features(self) -> int:
        return int(self.meta.get("num_features") or 4)

    @property
    def num_models(self) -> int:
        return len(self.fns)

    @property
    def geometry(self) -> Geometry:
        if self._geometry is None:
            self._geometry = Geometry.from_meta(self.meta)
        return self._geometry

    @property
    def species_index(self) -> int | None:
        """The species channel (:func:`yeastzoi.model.loader.resolve_species`), resolved once."""
        if self._species_index is _UNSET:
            if self._species is None:
                stored = {m.get("species_index") for m in self.metas}
                if len(stored) > 1:
                    raise YeastzoiError(f"the models store different target species ({sorted(map(str, stored))}); "
                                        "pass --species to choose one for all of them")
            self._species_index = resolve_species(self.meta, self._species)
        return self._species_index

    @property
    def species_name(self) -> str | None:
        idx = self.species_index
        names = species_names(self.meta)
        return None if idx is None else (names[idx] if idx < len(names) else str(idx))

    # ------------------------------------------------------------------ inputs
    def encode(self, codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Base codes (L,) or (B, L) → model inputs (…, L, num_features) float32: one-hot DNA,
        the LM mask channel (``mask``, 1 = masked; mask token = DNA channels 0) and this
        predictor's species channel."""
        nf = self.num_features
        if nf == 4:
            if mask is not None:
                raise YeastzoiError("the model has no mask channel; it cannot take masked inputs")
            return model_input(codes, 4)
        return model_input(codes, nf, self.species_index if nf > 5 else None, mask=mask)

    def encode_windows(self, genome, windows) -> np.ndarray:
        """(B, seq_length, F) inputs of genome windows (objects with ``chrom`` and ``start``;
        bases off the chromosome are N)."""
        L = self.seq_length
        return self.encode(np.stack([genome.fetch_codes(w.chrom, w.start, w.start + L) for w in windows]))

    def check_input(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        want = (self.seq_length, self.num_features)
        if x.ndim != 3 or x.shape[1:] != want:
            raise YeastzoiError(f"input shape {x.shape[1:]} does not match the model's {want}; "
                                "build inputs with Predictor.encode")
        return x

    # ------------------------------------------------------------------ predicting
    def expect(self, n_sequences: int) -> None:
        """Announce the number of sequences to come (chooses compiled vs eager calls)."""
        if self.compiled is None:
            self.compiled = -(-int(n_sequences) // self.batch_size) > COMPILE_MIN_BATCHES

    def map_batches(self, fn: Callable, x):
        """Apply ``fn`` (a Keras model / function of a batch) to ``x`` (an array, or a list of
        arrays of one length for a model of several inputs) in batches of :attr:`batch_size`;
        the one batching loop. ``fn`` may return one array or a list; the result is
        concatenated along the batch axis (a list for list outputs)."""
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        n, bs = len(xs[0]), self.batch_size
        compiled = self.compiled if self.compiled is not None else -(-n // bs) > COMPILE_MIN_BATCHES
        call = fn
        if hasattr(fn, "predict_on_batch"):
            call = fn.predict_on_batch if compiled else (lambda xb: fn(xb, training=False))
        parts = []
        for i in range(0, n, bs):
            xb = [v[i:i + bs] for v in xs]
            k = len(xb[0])
            if compiled and k < bs:
                xb = [np.concatenate([v, np.zeros((bs - k,) + v.shape[1:], v.dtype)]) for v in xb]
            y = call(xb if isinstance(x, (list, tuple)) else xb[0])
            ys = [np.asarray(v)[:k] for v in y] if isinstance(y, (list, tuple)) else np.asarray(y)[:k]
            parts.append(ys)
        if not parts:
            raise YeastzoiError("nothing to predict (no input sequences)")
        if isinstance(parts[0], list):
            return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]
        return np.concatenate(parts)

    def predict(self, x) -> np.ndarray:
        """(M, B, target_length, T) float32: every member's (ensembled) prediction of inputs
        ``x`` (B, seq_length, num_features)."""
        x = self.check_input(x)
        want = (len(x), int(self.meta["target_length"]))
        out = []
        for name, fn in zip(self.names, self.fns):
            y = np.asarray(self.map_batches(fn, x), dtype=np.float32)
            if y.ndim != 3 or y.shape[:2] != want:
                raise YeastzoiError(f"{name}: predicted shape {y.shape}; expected {want + ('T',)}")
            out.append(y)
        return np.stack(out)

    def predict_codes(self, codes, mask=None) -> np.ndarray:
        """:meth:`predict` of :meth:`encode` (codes (B, L) → (M, B, target_length, T))."""
        return self.predict(self.encode(codes, mask))

    def predict_edits(self, codes, alt_codes, ref_index) -> tuple[np.ndarray, np.ndarray]:
        """Predictions of reference windows and of edited copies of them: ``codes`` (N, L)
        reference base codes, ``alt_codes`` (K, L) alternative windows, ``ref_index`` (K,) the
        reference row each alternative edits. Returns ((M, N, bins, T), (M, K, bins, T)).

        With :attr:`reuse_tower` (default) a SeqNN member computes an alternative that differs
        from its reference in a short span by recomputing only the affected tower positions
        (:mod:`yeastzoi.model.local_edits`; the same outputs within float tolerance, about half
        the work for a Shorkie model); other alternatives (indels shift their window) are
        predicted whole, as with ``reuse_tower=False``."""
        codes, alt_codes = np.asarray(codes), np.asarray(alt_codes)
        ref_index = np.asarray(ref_index, dtype=np.int64)
        self.edit_counts = {"reused": 0, "whole": len(alt_codes), "unchanged": 0}
        if not self.reuse_tower or not len(alt_codes):
            y = self.predict_codes(np.concatenate([codes, alt_codes]) if len(alt_codes) else codes)
            return y[:, :len(codes)], y[:, len(codes):]
        from .seqnn import ensemble_views

        x_ref, x_alt = self.encode(codes), self.encode(alt_codes)
        y_ref, y_alt = [], []
        for m, fn in zip(self.members, self.fns):
            split = self._split(m)
            if split is None:
                y = np.asarray(self.map_batches(fn, np.concatenate([x_ref, x_alt])), np.float32)
                y_ref.append(y[:len(x_ref)])
                y_alt.append(y[len(x_ref):])
                continue
            views = ensemble_views(self.rc, self.shifts, m.meta.get("strand_pair"))
            r_sum = a_sum = 0.0
            for v, (prepare, finish) in enumerate(views):
                r, a = self._edits_one_view(split, m, np.asarray(prepare(x_ref)), np.asarray(prepare(x_alt)),
                                            ref_index, count=v == 0)
                r_sum = r_sum + np.asarray(finish(r))
                a_sum = a_sum + np.asarray(finish(a))
            y_ref.append(np.asarray(r_sum / len(views), np.float32))
            y_alt.append(np.asarray(a_sum / len(views), np.float32))
        return np.stack(y_ref), np.stack(y_alt)

    def _split(self, member):
        from .local_edits import tower_split
        if not is_seqnn(member):
            return None
        key = id(member)
        if key not in self._splits:
            split = tower_split(member.models[self.head])
            self._splits[key] = split if split is not None and split.worthwhile else None
        return self._splits[key]

    def _edits_one_view(self, split, member, vr, va, ref_index, count: bool = False):
        """(ref, alt) predictions of one ensemble view of a member (``vr``, ``va``: the view's
        inputs; outputs as the plain model gives them); ``count``: record in
        :attr:`edit_counts` how each alternative was computed."""
        from .local_edits import diff_span

        # references and alternatives both go tower → rest, so their difference carries
        # no rounding from two different graphs
        front = _as_list(self.map_batches(split.tower, vr))
        y_ref = np.asarray(self.map_batches(split.rest, front), np.float32)
        y_alt = np.empty((len(va),) + y_ref.shape[1:], np.float32)
        patched, whole = [], []
        for k, ri in enumerate(ref_index):
            span = diff_span(vr[ri], va[k])
            if span is None:
                y_alt[k] = y_ref[ri]
                continue
            w = split.window(span)
            (patched if w is not None else whole).append((k, w))
        if count:
            self.edit_counts = {"reused": len(patched), "whole": len(whole),
                                "unchanged": len(va) - len(patched) - len(whole)}
        if patched:
            P = split.patch_bp
            subs = np.stack([va[k, w[0]:w[0] + P] for k, w in patched])
            sub_front = _as_list(self.map_batches(split.patch, subs))
            ks = [k for k, _ in patched]
            spliced = split.splice(front, ref_index[ks], sub_front, [w for _, w in patched])
            y_alt[ks] = self.map_batches(split.rest, spliced)
        if whole:
            idx = [k for k, _ in whole]
            y_alt[idx] = self.map_batches(member.models[self.head], va[idx])
        return y_ref, y_alt

    def stream(self, genome, windows: Sequence, progress: Callable[[int], None] | None = None
               ) -> Iterable[tuple[list, np.ndarray]]:
        """Yield ``(batch of windows, (M, B, target_length, T) predictions)`` in window order,
        one batch in memory at a time; ``progress(n)`` after each batch."""
        self.expect(len(windows))
        for b in range(0, len(windows), self.batch_size):
            batch = list(windows[b:b + self.batch_size])
            yield batch, self.predict(self.encode_windows(genome, batch))
            if progress is not None:
                progress(len(batch))

    @staticmethod
    def mean_std(y: np.ndarray, sheet=None, std: bool = False):
        """Ensemble reduction of member predictions ``y`` (M, …, T): the mean in model output
        space, untransformed with the targets ``sheet`` when given
        (:func:`yeastzoi.coverage.untransform`); with ``std``, the std across members
        of the untransformed (else raw) predictions. Returns (mean, std or None)."""
        from ..coverage import untransform

        mean = y.mean(axis=0)
        sd = None
        if sheet is not None:
            mean = untransform(mean, sheet)
            if std:
                sd = untransform(y, sheet).std(axis=0)
        elif std:
            sd = y.std(axis=0)
        return mean, sd


def _as_list(y) -> list:
    return list(y) if isinstance(y, (list, tuple)) else [y]


def as_predictor(model, **options) -> Predictor:
    """``model`` when it is a :class:`Predictor` (then ``options`` must be empty or None),
    else ``Predictor(model, **options)``."""
    if isinstance(model, Predictor):
        given = {k: v for k, v in options.items() if v is not None}
        if given:
            raise YeastzoiError(f"options {sorted(given)} apply when wrapping a model; give them "
                                "to the Predictor instead")
        return model
    return Predictor(model, **{k: v for k, v in options.items() if v is not None})
