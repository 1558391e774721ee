"""Edited sequences predicted from their reference's tower: the same outputs for less work.

A Shorkie-style network is *local* up to its first global layer (attention): every position
of a convolution/pooling tensor depends only on the input bases inside its receptive field.
An alternative sequence that differs from its reference in a short span (an SNV, an MNP, any
same-length edit) changes only the tower positions whose receptive field covers the span;
every other position equals the reference's. :class:`TowerSplit` cuts a Keras model at that
boundary (the *frontier*: the last local tensors — for Shorkie the transformer input and the
three U-Net skip tensors) and computes an edited sequence as

    frontier(alt) = frontier(ref) with the affected positions recomputed from a short
                    sub-window of alt (``patch_bp`` bp, aligned to the coarsest resolution),
    output(alt)   = rest(frontier(alt))              # attention, U-Net, head: global

which is the full forward pass of ``alt`` up to floating-point rounding (tested against it).
For the Shorkie fine-tune spec the tower is ~64 % of a forward pass and the sub-window
~3 kb of 16 kb, so an edited sequence costs about half a pass.

Local layers (receptive-field rule in bp, ``r`` = bp per position of the layer's input):
Conv1D / SeparableConv1D / DepthwiseConv1D with "same" padding and stride 1 (+ dilation·(k−1)·r
on each side, conservatively the whole kernel), pooling with stride = size (resolution × size),
UpSampling1D (resolution ÷ size, + r), and position-wise layers (Dense, BatchNormalization
and LayerNormalization over channels, activations, Dropout, Scale, Add/Multiply/Average).
Training-time augmentation is the identity at inference: StochasticShift is position-wise there,
and StochasticReverseComplement passes the sequence on and gives a flag without positions (zero)
that the output's SwitchReverse reads. Anything else (attention, cropping, flattening) is global.
The split serves inference only. A model with no local prefix is not split: :func:`tower_split`
returns None and callers predict the edited sequence whole.
"""
from __future__ import annotations

import math

import keras
import numpy as np

from .blocks import Activate
from .layers import Scale, StochasticReverseComplement, StochasticShift

__all__ = ["TowerSplit", "tower_split", "diff_span"]

#: StochasticShift is the identity at inference
_POSITIONWISE = (keras.layers.Dense, keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                 keras.layers.Activation, keras.layers.ReLU, keras.layers.Dropout, keras.layers.Add,
                 keras.layers.Multiply, keras.layers.Average, keras.layers.InputLayer, Activate, Scale,
                 StochasticShift)
_POOLS = (keras.layers.MaxPooling1D, keras.layers.AveragePooling1D)
_CONVS = (keras.layers.Conv1D, keras.layers.SeparableConv1D, keras.layers.DepthwiseConv1D)


#: a frontier tensor without positions (StochasticReverseComplement's flag, zero at inference):
#: an alternative takes its reference's value
CONSTANT = 0


def _local_rule(layer, res_in: float, ext_in: float):
    """(resolution bp/position, receptive-field extent bp on each side) of a local layer's
    output, or None when the layer is global."""
    if isinstance(layer, _CONVS):
        if getattr(layer, "padding", None) != "same" or tuple(layer.strides) != (1,):
            return None
        k, d = int(layer.kernel_size[0]), int(layer.dilation_rate[0])
        return res_in, ext_in + d * (k - 1) * res_in
    if isinstance(layer, _POOLS):
        p, s = int(layer.pool_size[0]), int(layer.strides[0])
        return (res_in * p, ext_in) if p == s else None
    if isinstance(layer, keras.layers.UpSampling1D):
        return res_in / int(layer.size), ext_in + res_in
    if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.LayerNormalization)):
        axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        if list(axis) not in ([-1], [2]):         # per channel only; per position is position-bound
            return None
    if isinstance(layer, _POSITIONWISE):
        return res_in, ext_in
    return None


def diff_span(ref: np.ndarray, alt: np.ndarray) -> tuple[int, int] | None:
    """[lo, hi) of the positions where two (L, …) arrays differ (None when identical)."""
    d = np.flatnonzero((np.asarray(ref) != np.asarray(alt)).reshape(len(ref), -1).any(axis=1))
    return (int(d[0]), int(d[-1]) + 1) if len(d) else None


class TowerSplit:
    """A Keras model cut at its frontier (module docstring).

    ``tower``: (B, L, F) → frontier tensors (a reference's tower);
    ``patch``: (B, patch_bp, F) → frontier tensors of a sub-window; ``rest``: frontier → output.
    ``resolution[i]`` bp per position of frontier tensor i; ``extent`` the largest receptive
    field (bp each side); ``align`` the coarsest resolution (sub-windows start on multiples).
    """

    def __init__(self, model, frontier, resolution, extent, max_edit_bp: int):
        self.resolution = [int(r) for r in resolution]
        self.extent = int(math.ceil(extent))
        self.align = max(self.resolution)          # CONSTANT (0) tensors never are the max
        L = int(model.inputs[0].shape[1])
        self.seq_length = L
        # the affected region is the edit ± extent; it is exact when at least extent bp of
        # context lie on either side inside the sub-window
        need = max_edit_bp + 4 * self.extent + 4 * self.align
        self.patch_bp = min(L, -(-need // self.align) * self.align)
        self.max_edit_bp = max_edit_bp
        self.tower = keras.Model(model.inputs[0], list(frontier))
        self.rest = keras.Model(list(frontier), model.outputs[0])
        sub = keras.Input((self.patch_bp, int(model.inputs[0].shape[-1])))
        self.patch = keras.Model(sub, _replay(model.inputs[0], sub, frontier))

    @property
    def worthwhile(self) -> bool:
        """The sub-window is shorter than half the sequence (else predict edits whole)."""
        return self.patch_bp * 2 <= self.seq_length

    def window(self, span: tuple[int, int]) -> tuple[int, int, int] | None:
        """(sub-window start, affected lo, affected hi), all bp and multiples of ``align``, for
        an edit at ``span`` [lo, hi); None when the edit is longer than ``max_edit_bp`` or
        the sub-window cannot hold ``extent`` bp of context on both sides of the affected
        region (then the edited sequence is predicted whole)."""
        lo, hi = span
        if hi - lo > self.max_edit_bp:
            return None
        a, L, e, P = self.align, self.seq_length, self.extent, self.patch_bp
        aff_lo = max(lo - e, 0) // a * a
        aff_hi = min(-(-(hi + e) // a) * a, L)
        start = min(max((aff_lo - e) // a * a, 0), L - P)
        low_ok = start == 0 or aff_lo - start >= e
        high_ok = start + P == L or start + P - aff_hi >= e
        return (start, aff_lo, aff_hi) if low_ok and high_ok else None

    def splice(self, ref_frontier: list, ref_rows, sub_frontier: list, windows: list) -> list:
        """Frontier tensors (K, len_i, C_i) of K alternatives: rows ``ref_rows`` of the
        references' ``ref_frontier`` (N, len_i, C_i) with, for alternative j, the positions
        covering [aff_lo, aff_hi) bp of ``windows[j]`` = (start, aff_lo, aff_hi) taken from
        row j of ``sub_frontier`` (the sub-windows' tensors)."""
        out = []
        for ref, sub, r in zip(ref_frontier, sub_frontier, self.resolution):
            t = ref[np.asarray(ref_rows)]                     # a copy
            if r != CONSTANT:
                for j, (start, lo, hi) in enumerate(windows):
                    i0, i1, o = lo // r, hi // r, start // r
                    t[j, i0:i1] = sub[j, i0 - o:i1 - o]
            out.append(t)
        return out


def _replay(old_input, new_input, targets):
    """The local graph from ``old_input`` to ``targets`` applied to ``new_input`` (same layers,
    same weights)."""
    values = {id(old_input): new_input}

    def value(t):
        if id(t) in values:
            return values[id(t)]
        op, node_index, tensor_index = t._keras_history
        node = op._inbound_nodes[node_index]
        for arg in node.arguments.keras_tensors:
            value(arg)
        args, kwargs = node.arguments.fill_in(values)
        outs = op(*args, **kwargs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for o_old, o_new in zip(node.outputs, outs):
            values[id(o_old)] = o_new
        return values[id(t)]

    return [value(t) for t in targets]


def tower_split(model, max_edit_bp: int = 64) -> TowerSplit | None:
    """The :class:`TowerSplit` of a one-input, one-output Keras model over (B, L, F)
    sequences, or None when it has no useful local prefix."""
    if len(model.inputs) != 1 or len(model.outputs) != 1 or model.inputs[0].shape[1] is None:
        return None
    info: dict[int, tuple | None] = {}      # id(tensor) → (resolution, extent) or None (global)
    consumers: dict[int, list] = {}
    tensors: dict[int, object] = {}
    x0 = model.inputs[0]
    info[id(x0)] = (1.0, 0.0)
    tensors[id(x0)] = x0

    def visit(t):
        if id(t) in info:
            return info[id(t)]
        op, node_index, _ = t._keras_history
        node = op._inbound_nodes[node_index]
        ins = node.arguments.keras_tensors
        got = [visit(a) for a in ins]
        for a in ins:
            consumers.setdefault(id(a), []).extend(node.outputs)
        outs = [None] * len(node.outputs)
        if ins and all(g is not None for g in got) and len({g[0] for g in got}) == 1:
            if isinstance(op, StochasticReverseComplement):      # (sequence, flag)
                outs = [got[0], (CONSTANT, 0.0)]
            else:
                outs = [_local_rule(op, got[0][0], max(g[1] for g in got))] * len(outs)
        for o, v in zip(node.outputs, outs):
            info[id(o)] = v
            tensors[id(o)] = o
        return info[id(t)]

    out = model.outputs[0]
    visit(out)
    if info[id(out)] is not None:            # all local: nothing global to cut at
        return None
    frontier = []
    for tid, res in info.items():
        if res is None:
            continue
        if any(info[id(c)] is None for c in consumers.get(tid, [])):
            frontier.append(tensors[tid])
    if not frontier or any(t is x0 for t in frontier):
        return None
    resolution = [info[id(t)][0] for t in frontier]
    positional = [r for r in resolution if r != CONSTANT]
    if not positional or any(r != int(r) or r < 1 or max(positional) % r for r in positional):
        return None
    if int(model.inputs[0].shape[1]) % max(positional):
        return None
    extent = max(info[id(t)][1] for t in frontier)
    return TowerSplit(model, frontier, resolution, extent, max_edit_bp)
