"""SeqNN: build a Keras model from a baskerville ``model`` spec, save/restore it, ensembles.

    seqnn = SeqNN(params["model"], num_features=170)
    seqnn.model              # Keras model of the first head: (B, seq_length, F) → (B, L_out, T)
    seqnn.models             # one model per head, in spec order
    seqnn.model_trunk        # trunk (+ global activation) only
    seqnn.save("model_best.h5")     # baskerville Keras-2 layout (+ model_meta.json beside)
    report = seqnn.restore("lm.h5", trunk=True)   # by layer name, report of what loaded
    seqnn.build_ensemble(rc=True, shifts=[0, 1])   # the Keras RC/shift ensemble of one head

Loading a saved model goes through :func:`yeastzoi.model.loader.load_model` (``SeqNN.from_file``
is the same function); predicting goes through :class:`yeastzoi.model.predictor.Predictor`
(``SeqNN.predict`` is a shorthand for it).

Model metadata (the input/output contract every script reads instead of asking the user) is
``seqnn.meta``: num_features, num_species, species, seq_length, target_length, pool_width (bp
per output bin), crop_bp, num_targets, target_ids, strand_pair, model spec. It is written to
``model_meta.json`` beside every saved model and inside the model file itself.
"""
from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import keras
import numpy as np

from .. import YeastzoiError, __version__
from .blocks import GLOBAL_KEYS, BuildContext, block_parameters, get_block, keras_layer_class
from ..fileio import atomic_path, write_json_atomic
from .layers import (ReverseComplement, ShiftSequence, StochasticReverseComplement,
                     StochasticShift, SwitchReverse, UnreverseOutput)
from .loader import META_NAME, read_meta  # noqa: F401 (read_meta: re-exported for the trainer)
from .params import head_blocks, head_keys, validate_model
from .weights import RestoreReport, assign_weights, model_weights, read_h5_weights, write_h5_weights

log = logging.getLogger(__name__)


class SeqNN:
    """A sequence-to-coverage (or sequence-to-base) network built from a spec dict.

    Parameters
    ----------
    params_model: the ``model`` dict of a params.json (validated here).
    num_features: input channels; default the spec's ``num_features``, else 4. LM-style inputs
        have 4 DNA + 1 mask + num_species channels.
    meta: extra metadata (species, target_ids, strand_pair, ...) merged into :attr:`meta`.
    """

    def __init__(self, params_model: dict, num_features: int | None = None, meta: dict | None = None):
        self.spec = validate_model(params_model)
        spec_nf = self.spec.get("num_features")
        if num_features is not None and spec_nf is not None and num_features != spec_nf:
            raise YeastzoiError(f"model.num_features is {spec_nf} in the spec but {num_features} was "
                                "requested (dataset/CLI); make them agree")
        self.num_features = int(num_features or spec_nf or 4)
        self.seq_length = int(self.spec["seq_length"])
        self.head_keys = head_keys(self.spec)
        self.meta = dict(meta or {})
        self.path = None            # the file it was loaded from (set by the loader)
        self._ensembles = {}
        self._build()

    # ------------------------------------------------------------------ build
    def _build(self):
        spec = self.spec
        ctx = BuildContext()
        inputs = keras.Input((self.seq_length, self.num_features), name="sequence")
        x = inputs
        reversed_flag = None
        if spec.get("augment_rc"):
            x, reversed_flag = ctx.layer(StochasticReverseComplement)(x)
        if spec.get("augment_shift"):
            x = ctx.layer(StochasticShift, spec["augment_shift"])(x)
        globals_ = {k: spec[k] for k in GLOBAL_KEYS if k in spec}
        for i, block in enumerate(spec["trunk"]):
            x = self._block(x, ctx, block, globals_, f"model.trunk[{i}]")
        x = ctx.activate(x, spec.get("activation"))
        self.model_trunk = keras.Model(inputs, x, name="trunk")
        self.trunk_layer_names = {l.name for l in self.model_trunk.layers}
        self.models = []
        head_outputs = []
        for key in self.head_keys:
            y = x
            multi = isinstance(spec[key], list)
            for i, block in enumerate(head_blocks(spec, key)):
                y = self._block(y, ctx, block, globals_, f"model.{key}" + (f"[{i}]" if multi else ""))
            head_outputs.append(y)
        self.default_strand_pairs = [self._default_strand_pair(o) for o in head_outputs]
        for key, y, sp in zip(self.head_keys, head_outputs, self.default_strand_pairs):
            if reversed_flag is not None:
                y = ctx.layer(SwitchReverse, self.meta.get("strand_pair", sp))([y, reversed_flag])
            self.models.append(keras.Model(inputs, y, name=key))
        self.model = self.models[0]
        self._fill_meta()

    def _block(self, x, ctx, block, globals_, path):
        name = block["name"]
        params = {k: v for k, v in block.items() if k != "name"}
        try:
            if name[0].islower():
                fn = get_block(name)
                accepted = block_parameters(fn)
                args = {k: v for k, v in globals_.items() if k in accepted}
                args.update(params)
                return fn(x, ctx, **args)
            cls = keras_layer_class(name)
            return ctx.layer(cls, **params)(x)
        except YeastzoiError as e:
            raise YeastzoiError(f"{path} ({name}): {e}") from None
        except (ValueError, TypeError) as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
            raise YeastzoiError(f"{path} ({name}): cannot take input of shape {tuple(x.shape)}: {msg}") from None

    @staticmethod
    def _default_strand_pair(output) -> list[int] | None:
        units = output.shape[-1]
        # a 4-way per-base softmax (LM head) is complemented under reverse complement
        if units == 4 and output.shape[1] is not None:
            return [3, 2, 1, 0]
        return None

    def _fill_meta(self):
        out_len = self.model.output.shape[1]
        crop_bins = 0
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.Cropping1D):
                c = layer.cropping
                crop_bins += int(c[0]) if isinstance(c, (tuple, list)) else int(c)
        uncropped = out_len + 2 * crop_bins
        pool_width = self.seq_length // uncropped if uncropped else None
        num_species = max(self.num_features - 5, 0)
        meta = {
            "yeastzoi_version": __version__,
            "seq_length": self.seq_length,
            "num_features": self.num_features,
            "num_species": num_species,
            "species": None,
            "target_length": int(out_len),
            "pool_width": pool_width,
            "crop_bp": crop_bins * (pool_width or 0),
            "num_targets": int(self.model.output.shape[-1]),
            "target_ids": None,
            "strand_pair": self.default_strand_pairs[0],
            "heads": self.head_keys,
        }
        meta.update(self.meta)
        meta["model_spec"] = self.spec
        self.meta = meta

    # --------------------------------------------------------------- summary
    @property
    def num_params(self) -> int:
        return int(self.model.count_params())

    @property
    def num_trainable(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.model.trainable_weights))

    def stage_shapes(self) -> list[tuple[str, tuple]]:
        """(block JSON path, output shape) for every trunk and head block (rebuilds symbolically)."""
        ctx = BuildContext()
        x = keras.Input((self.seq_length, self.num_features))
        globals_ = {k: self.spec[k] for k in GLOBAL_KEYS if k in self.spec}
        out = []
        for i, block in enumerate(self.spec["trunk"]):
            x = self._block(x, ctx, block, globals_, f"model.trunk[{i}]")
            out.append((f"trunk[{i}] {block['name']}", tuple(x.shape)))
        x = ctx.activate(x, self.spec.get("activation"))
        for key in self.head_keys:
            y = x
            for block in head_blocks(self.spec, key):
                y = self._block(y, ctx, block, globals_, f"model.{key}")
            out.append((f"{key} {head_blocks(self.spec, key)[-1]['name']}", tuple(y.shape)))
        return out

    # ------------------------------------------------------------- save/load
    def save(self, path, model_index: int = 0) -> Path:
        """Save one head's model: ``.h5`` → baskerville Keras-2 layout; ``.keras`` → Keras 3
        archive. Metadata goes inside the file and into ``model_meta.json`` beside it."""
        path = Path(path)
        model = self.models[model_index]
        meta = self.meta
        if path.suffix == ".h5":
            with atomic_path(path) as tmp:
                write_h5_weights(tmp, model, attrs={"yeastzoi_meta": meta})
        elif path.suffix == ".keras":
            with atomic_path(path) as tmp:
                model.save(tmp)
                with zipfile.ZipFile(tmp, "a") as z:
                    z.writestr("yeastzoi_meta.json", json.dumps(meta, indent=1))
        else:
            raise YeastzoiError(f"{path}: model files must end in .h5 or .keras")
        write_json_atomic(path.parent / META_NAME, meta)
        return path

    def restore(self, path, trunk: bool = False, skip_mismatch: bool | None = None,
                model_index: int = 0) -> RestoreReport:
        """Load weights by layer name from a yeastzoi/baskerville ``.h5`` or a ``.keras`` file.

        ``trunk=True`` loads only the trunk's layers (fine-tuning a new head) and then skips
        shape mismatches by default; otherwise a mismatch is an error unless ``skip_mismatch``.
        Returns (and logs) the report of loaded / skipped / missing / unused layers.
        """
        path = Path(path)
        if not path.exists():
            raise YeastzoiError(f"{path}: no such model file")
        weights = load_weights_file(path)
        if skip_mismatch is None:
            skip_mismatch = trunk
        report = assign_weights(self.models[model_index], weights,
                                layer_names=self.trunk_layer_names if trunk else None,
                                skip_mismatch=skip_mismatch, source=str(path))
        file_meta = read_meta(path)
        if file_meta:
            for key in ("species", "target_ids") if not trunk else ("species",):
                if file_meta.get(key) is not None and self.meta.get(key) is None:
                    self.meta[key] = file_meta[key]
        for line in report.lines():
            log.info(line)
        return report

    @classmethod
    def from_file(cls, path, params_model: dict | None = None) -> "SeqNN":
        """:func:`yeastzoi.model.loader.load_model` (the one loader; the stored spec wins)."""
        from .loader import load_model
        return load_model(path, params_model)

    def set_meta(self, **kwargs):
        self.meta.update({k: v for k, v in kwargs.items()})

    # -------------------------------------------------------------- ensembles
    def build_ensemble(self, rc: bool = False, shifts=(0,), model_index: int = 0):
        """The Keras model averaging one head over shifts × {forward, reverse complement}.

        RC members reverse the output along length and swap stranded tracks
        (``meta['strand_pair']``; a 4-way LM head is complemented). (B, L, F) → the model's
        output shape, averaged in the model's output space. Built once per (rc, shifts, head)
        and cached, so a compiled predict function is traced once per process. Predicting
        goes through :class:`yeastzoi.model.predictor.Predictor`, which calls this.
        """
        shifts = [int(s) for s in shifts] or [0]
        strand_pair = self.meta.get("strand_pair")
        key = (bool(rc), tuple(shifts), int(model_index),
               tuple(strand_pair) if strand_pair is not None else None)
        if key in self._ensembles:
            return self._ensembles[key]
        model = self.models[model_index]
        if not rc and shifts == [0]:
            self._ensembles[key] = model
            return model
        inputs = keras.Input((self.seq_length, self.num_features), name="sequence")
        outs = [finish(model(prepare(inputs))) for prepare, finish in ensemble_views(rc, shifts, strand_pair)]
        y = outs[0] if len(outs) == 1 else keras.layers.Average()(outs)
        self._ensembles[key] = keras.Model(inputs, y, name="ensemble")
        return self._ensembles[key]

    def predict(self, x, batch_size: int = 4, model_index: int = 0) -> np.ndarray:
        """Shorthand for ``Predictor(self, batch_size=batch_size).predict(x)[0]``: one head's
        plain prediction of full model inputs ``x`` (B, seq_length, num_features)."""
        from .predictor import Predictor
        return Predictor(self, batch_size=batch_size, head=model_index).predict(x)[0]


def ensemble_views(rc: bool, shifts, strand_pair=None) -> list:
    """The views an RC/shift ensemble averages, in its order: per shift the forward view and,
    with ``rc``, the reverse complement. Each view is (prepare, finish): ``prepare`` maps inputs
    (B, L, F) to the view's inputs, ``finish`` maps the model's output on them back (reversed
    along length, stranded tracks swapped by ``strand_pair``). Both take Keras tensors or arrays."""
    views = []
    for s in [int(s) for s in shifts] or [0]:
        shift = (lambda x, s=s: ShiftSequence(s)(x)) if s else (lambda x: x)
        views.append((shift, lambda y: y))
        if rc:
            views.append((lambda x, shift=shift: ReverseComplement()(shift(x)),
                          lambda y: UnreverseOutput(strand_pair)(y)))
    return views


def load_weights_file(path) -> dict:
    """{layer: {local weight: array}} from .h5 (baskerville/yeastzoi) or .keras."""
    path = Path(path)
    if path.suffix == ".keras":
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=False)
        except Exception as e:  # keras raises many types for a bad archive
            raise YeastzoiError(f"{path}: cannot load Keras archive ({str(e).splitlines()[0][:120]})") from None
        return model_weights(model)
    return read_h5_weights(path)
