"""Attention maps of a model's relative-position attention layers.

:func:`attention_maps` returns, for each attention layer of a model, the softmax attention
weights (B, heads, T, T) of a batch of inputs (T = the trunk's pooled length; each query
row sums to 1); :func:`window_attention` those of the window centred on a region, with the
input built by the one :class:`~yeastzoi.model.predictor.Predictor` (its species channel
follows the one species rule) and batched by its batching loop.
"""
from __future__ import annotations

import logging

import numpy as np

from .. import YeastzoiError
from ..model.predictor import as_predictor, is_seqnn
from .regions import centred_input

log = logging.getLogger(__name__)


def _seqnn_of(pred):
    if not is_seqnn(pred.members[0]):
        raise YeastzoiError("attention maps need a SeqNN model (not a plain function)")
    if pred.num_models > 1:
        log.warning("attention maps of the first of %d models (%s)", pred.num_models, pred.names[0])
    return pred.members[0]


def attention_layers(model) -> list:
    """The relative-position attention layers of a SeqNN (or a Predictor's first model), in
    model order."""
    from ..model.layers import MultiheadAttention

    seqnn = _seqnn_of(model) if hasattr(model, "members") else model
    return [l for l in seqnn.model.layers if isinstance(l, MultiheadAttention)]


def attention_maps(model, x, layers=None, batch_size: int | None = None) -> list[np.ndarray]:
    """Attention weights of each attention layer for inputs ``x`` (B, seq_length, F).

    ``model``: a Predictor (its first model; batching) or a SeqNN. Returns a list (one per
    selected layer; ``layers``: indices into :func:`attention_layers`, default all) of
    float32 arrays (B, heads, T, T): row i holds query position i's softmax weights over the
    T key positions (sums to 1). Inference mode (no dropout).
    """
    import keras

    pred = as_predictor(model, batch_size=batch_size)
    seqnn = _seqnn_of(pred)
    all_layers = attention_layers(seqnn)
    if not all_layers:
        raise YeastzoiError("the model has no attention layers (no transformer_tower in its trunk)")
    idx = list(range(len(all_layers))) if layers is None else [int(i) for i in layers]
    for i in idx:
        if not 0 <= i < len(all_layers):
            raise YeastzoiError(f"attention layer {i} does not exist; the model has "
                                f"{len(all_layers)} (0-{len(all_layers) - 1})")
    chosen = [all_layers[i] for i in idx]
    sub = keras.Model(seqnn.model.input, [l.input for l in chosen])

    def weights(xb):
        feats = sub(xb, training=False)
        feats = feats if isinstance(feats, (list, tuple)) else [feats]
        return [np.asarray(layer.attention_weights(f, training=False), dtype=np.float32)
                for layer, f in zip(chosen, feats)]

    return pred.map_batches(weights, pred.check_input(x))


def window_attention(model, genome, chrom: str, start: int, end: int, layers=None,
                     species=None) -> dict:
    """Attention maps of the window centred on [start, end).

    Returns dict ``maps`` (list per layer of (heads, T, T)), ``layers`` (indices),
    ``window_start`` (bp), ``bin_bp`` (bp per attention position), ``chrom``."""
    pred = as_predictor(model, species=species)
    x, w0 = centred_input(pred, genome, chrom, start, end)
    n_layers = len(attention_layers(pred))
    idx = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    maps = [m[0] for m in attention_maps(pred, x, idx)]
    t = maps[0].shape[-1]
    return {"maps": maps, "layers": idx, "window_start": w0, "chrom": genome.resolve(chrom),
            "bin_bp": pred.seq_length // t}
