"""Custom Keras 3 layers (``keras.layers`` / ``keras.ops`` only, so models also run under JAX).

- :class:`Scale` — learned per-channel scale (residual branch gate, initialised at zero).
- :class:`MultiheadAttention` — multi-head self-attention with Transformer-XL style relative
  positions: position features (central-mask basis + the same × sign(distance)) computed for
  the runtime length, projected by ``r_k_layer``, learned content/position biases
  ``r_w_bias`` / ``r_r_bias`` of shape (1, heads, 1, key_size); q scaled by key_size^-0.5.
- :class:`StochasticShift`, :class:`StochasticReverseComplement`, :class:`SwitchReverse` —
  training-time augmentation inside the model (identity at inference).
- :class:`ShiftSequence`, :class:`ReverseComplement`, :class:`UnreverseOutput` —
  deterministic transforms used by RC/shift prediction ensembles.

Sequence tensors are (batch, length, channels): channels 0-3 are one-hot A,C,G,T; any extra
channels (LM mask, species one-hot) are reversed along length but never complemented.
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def complement_dna_channels(x):
    """Complement the 4 DNA channels (A↔T, C↔G) of (..., C) and keep extra channels."""
    dna = ops.flip(x[..., :4], axis=-1)
    if x.shape[-1] == 4:
        return dna
    return ops.concatenate([dna, x[..., 4:]], axis=-1)


def reverse_complement(x):
    """Reverse complement a sequence batch (B, L, C): reverse length, complement DNA channels."""
    return complement_dna_channels(ops.flip(x, axis=1))


@keras.saving.register_keras_serializable(package="yeastzoi")
class Scale(keras.layers.Layer):
    """Multiply the last axis by a learned vector ``scale`` of shape (C,)."""

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                     initializer=self.initializer, trainable=True)

    def call(self, x):
        return x * ops.cast(self.scale, x.dtype)

    def get_config(self):
        return {**super().get_config(), "initializer": keras.initializers.serialize(self.initializer)}


def central_mask_features(distances, num_basis: int, length: int):
    """Central-mask position basis: feature i (1-based) is 1 where |distance| < r^i − 1 with
    r = (length + 1)^(1/num_basis), so the widest mask spans the whole ``length`` positions.

    distances (P,) float → (P, num_basis) float.
    """
    rate = float(np.exp(np.log(length + 1) / num_basis))
    widths = ops.power(rate, ops.arange(1, num_basis + 1, dtype="float32")) - 1.0
    return ops.cast(widths[None, :] > ops.abs(distances)[:, None], "float32")


def relative_position_features(length: int, num_features: int):
    """Position features for all 2·length−1 relative distances −(length−1) … (length−1).

    Returns (2·length−1, num_features): half central-mask basis functions of |d| (widths
    scaled to ``length``, the attention input length at run time), half the
    same multiplied by sign(d) (asymmetric), as in the Shorkie/Borzoi attention.
    """
    distances = ops.arange(-length + 1, length, dtype="float32")
    basis = central_mask_features(distances, num_features // 2, length)
    return ops.concatenate([basis, ops.sign(distances)[:, None] * basis], axis=-1)


def relative_shift(logits):
    """Map position logits (B, H, T, 2T−1) indexed by distance d+T−1 to (B, H, T, T) with
    entry [i, j] = logits[i, (j − i) + T − 1] (the Transformer-XL shift, done with reshapes)."""
    shape = ops.shape(logits)
    b, h, t = shape[0], shape[1], shape[2]
    x = ops.pad(logits, [[0, 0], [0, 0], [0, 0], [1, 0]])        # (B,H,T,2T)
    x = ops.reshape(x, (b, h, 2 * t, t))[:, :, 1:, :]             # (B,H,2T-1,T)
    x = ops.reshape(x, (b, h, t, 2 * t - 1))
    return x[:, :, :, :t]


@keras.saving.register_keras_serializable(package="yeastzoi")
class MultiheadAttention(keras.layers.Layer):
    """Relative-position multi-head self-attention.

    Input (B, T, C) → output (B, T, C_out) where C_out = heads × value_size unless
    ``out_size`` is given. Weights (names match baskerville's saved layout):
    ``r_w_bias``, ``r_r_bias`` (1, heads, 1, key_size); ``q_layer``/``k_layer`` Dense(heads·key,
    no bias); ``v_layer`` Dense(heads·value, no bias); ``embedding_layer`` Dense(out, bias,
    zero-initialised kernel); ``r_k_layer`` Dense(heads·key, no bias) over the position features.
    """

    def __init__(self, value_size, key_size, heads, num_position_features=32,
                 attention_dropout_rate=0.05, positional_dropout_rate=0.01,
                 zero_initialize=True, initializer="he_normal", l2_scale=0.0, out_size=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.value_size = int(value_size)
        self.key_size = int(key_size)
        self.heads = int(heads)
        self.num_position_features = int(num_position_features)
        self.attention_dropout_rate = attention_dropout_rate
        self.positional_dropout_rate = positional_dropout_rate
        self.zero_initialize = zero_initialize
        self.initializer = initializer
        self.l2_scale = l2_scale
        self.out_size = out_size
        reg = keras.regularizers.L2(l2_scale) if l2_scale else None
        dense = dict(use_bias=False, kernel_initializer=initializer, kernel_regularizer=reg)
        self.q_layer = keras.layers.Dense(self.heads * self.key_size, name="q_layer", **dense)
        self.k_layer = keras.layers.Dense(self.heads * self.key_size, name="k_layer", **dense)
        self.v_layer = keras.layers.Dense(self.heads * self.value_size, name="v_layer", **dense)
        self.r_k_layer = keras.layers.Dense(self.heads * self.key_size, name="r_k_layer", **dense)
        self.attention_dropout = keras.layers.Dropout(attention_dropout_rate)
        self.positional_dropout = keras.layers.Dropout(positional_dropout_rate)
        self._embedding_kwargs = dict(
            kernel_initializer="zeros" if zero_initialize else initializer,
            kernel_regularizer=reg)

    def build(self, input_shape):
        channels = input_shape[-1]
        out = self.out_size or self.heads * self.value_size
        self.r_w_bias = self.add_weight(name="r_w_bias", shape=(1, self.heads, 1, self.key_size),
                                        initializer=self.initializer)
        self.r_r_bias = self.add_weight(name="r_r_bias", shape=(1, self.heads, 1, self.key_size),
                                        initializer=self.initializer)
        self.embedding_layer = keras.layers.Dense(out, name="embedding_layer", **self._embedding_kwargs)
        self.q_layer.build(input_shape)
        self.k_layer.build(input_shape)
        self.v_layer.build(input_shape)
        self.embedding_layer.build(tuple(input_shape[:-1]) + (self.heads * self.value_size,))
        self.r_k_layer.build((None, self.num_position_features))
        self._channels = channels

    def _split_heads(self, x, size):
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, t, self.heads, size)), (0, 2, 1, 3))

    def attention_weights(self, inputs, training=False):
        """Softmax attention (B, heads, T, T) before dropout (for attention maps)."""
        return ops.softmax(self._logits(inputs, training), axis=-1)

    def _logits(self, inputs, training):
        t = inputs.shape[1] if inputs.shape[1] is not None else ops.shape(inputs)[1]
        q = self._split_heads(self.q_layer(inputs), self.key_size) * (self.key_size ** -0.5)
        k = self._split_heads(self.k_layer(inputs), self.key_size)
        pos = relative_position_features(t, self.num_position_features)
        pos = self.positional_dropout(ops.cast(pos, inputs.dtype), training=training)
        r_k = self.r_k_layer(pos)                                           # (2T-1, H*K)
        r_k = ops.transpose(ops.reshape(r_k, (2 * t - 1, self.heads, self.key_size)), (1, 0, 2))
        content = ops.matmul(q + ops.cast(self.r_w_bias, q.dtype), ops.swapaxes(k, -1, -2))
        position = ops.matmul(q + ops.cast(self.r_r_bias, q.dtype), ops.swapaxes(r_k[None], -1, -2))
        return content + relative_shift(position)

    def call(self, inputs, training=False):
        v = self._split_heads(self.v_layer(inputs), self.value_size)
        weights = ops.softmax(self._logits(inputs, training), axis=-1)
        weights = self.attention_dropout(weights, training=training)
        out = ops.matmul(weights, v)                                        # (B,H,T,V)
        b, t = ops.shape(out)[0], ops.shape(out)[2]
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (b, t, self.heads * self.value_size))
        return self.embedding_layer(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_size or self.heads * self.value_size,)

    def get_config(self):
        return {**super().get_config(), "value_size": self.value_size, "key_size": self.key_size,
                "heads": self.heads, "num_position_features": self.num_position_features,
                "attention_dropout_rate": self.attention_dropout_rate,
                "positional_dropout_rate": self.positional_dropout_rate,
                "zero_initialize": self.zero_initialize, "initializer": self.initializer,
                "l2_scale": self.l2_scale, "out_size": self.out_size}


@keras.saving.register_keras_serializable(package="yeastzoi")
class StochasticShift(keras.layers.Layer):
    """Training only: shift the sequence by a random offset in [−shift_max, shift_max] bp,
    filling the vacated positions with zeros (N). Identity at inference."""

    def __init__(self, shift_max=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.shift_max = int(shift_max)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training or self.shift_max == 0:
            return x
        shift = keras.random.randint((), -self.shift_max, self.shift_max + 1, seed=self.seed_generator)
        return shift_sequence(x, shift, self.shift_max)

    def get_config(self):
        return {**super().get_config(), "shift_max": self.shift_max, "seed": self.seed}


def shift_sequence(x, shift, max_abs_shift: int):
    """Shift (B, L, C) right by ``shift`` bp (negative = left), padding with zeros.

    ``max_abs_shift`` bounds |shift| (static) so that the pad size is known."""
    m = int(max_abs_shift)
    if m == 0:
        return x
    length = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    padded = ops.pad(x, [[0, 0], [m, m], [0, 0]])
    start = m - shift
    idx = ops.arange(length) + start
    return ops.take(padded, idx, axis=1)


@keras.saving.register_keras_serializable(package="yeastzoi")
class ShiftSequence(keras.layers.Layer):
    """Deterministic shift by ``shift`` bp (positive = right), zero (N) padded."""

    def __init__(self, shift=0, **kwargs):
        super().__init__(**kwargs)
        self.shift = int(shift)

    def call(self, x):
        return shift_sequence(x, self.shift, abs(self.shift))

    def get_config(self):
        return {**super().get_config(), "shift": self.shift}


@keras.saving.register_keras_serializable(package="yeastzoi")
class ReverseComplement(keras.layers.Layer):
    """Deterministic reverse complement of (B, L, C) (extra channels only reversed)."""

    def call(self, x):
        return reverse_complement(x)


@keras.saving.register_keras_serializable(package="yeastzoi")
class UnreverseOutput(keras.layers.Layer):
    """Undo an input reverse complement on a model output (B, L_out, T): reverse length and
    permute tracks by ``strand_pair`` (track i takes the value of track strand_pair[i])."""

    def __init__(self, strand_pair=None, **kwargs):
        super().__init__(**kwargs)
        self.strand_pair = None if strand_pair is None else [int(i) for i in strand_pair]

    def call(self, y):
        y = ops.flip(y, axis=1)
        if self.strand_pair is not None:
            y = ops.take(y, np.asarray(self.strand_pair, dtype="int32"), axis=-1)
        return y

    def get_config(self):
        return {**super().get_config(), "strand_pair": self.strand_pair}


@keras.saving.register_keras_serializable(package="yeastzoi")
class StochasticReverseComplement(keras.layers.Layer):
    """Training only: reverse-complement each sequence of the batch with probability 1/2.

    Returns (x_out, flag) where ``flag`` (B, 1, 1) is 1 for the reversed sequences (0 at
    inference); :class:`SwitchReverse` at the end of the network uses it to undo the
    reversal on the output."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        flag = ops.zeros_like(x[:, :1, :1])
        if not training:
            return x, flag
        flag = flag + ops.cast(keras.random.uniform(ops.shape(flag), seed=self.seed_generator) < 0.5, x.dtype)
        return ops.where(flag > 0.5, reverse_complement(x), x), flag

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="yeastzoi")
class SwitchReverse(keras.layers.Layer):
    """Undo :class:`StochasticReverseComplement` on the output (B, L, T) where ``flag`` is 1."""

    def __init__(self, strand_pair=None, **kwargs):
        super().__init__(**kwargs)
        self.unreverse = UnreverseOutput(strand_pair)
        self.strand_pair = strand_pair

    def call(self, inputs):
        y, flag = inputs
        return ops.where(ops.cast(flag, y.dtype) > 0.5, self.unreverse(y), y)

    def get_config(self):
        return {**super().get_config(), "strand_pair": self.strand_pair}


def geometric_filters(filters_init: int, filters_end: int | None, repeat: int,
                      divisible_by: int = 1, filters_mult: float | None = None) -> list[int]:
    """Filter counts of a tower growing geometrically from filters_init to filters_end over
    ``repeat`` stages, each rounded to a multiple of ``divisible_by``."""
    if filters_mult is None:
        filters_mult = 1.0 if repeat <= 1 or not filters_end else \
            math.exp(math.log(filters_end / filters_init) / (repeat - 1))
    out, f = [], float(filters_init)
    for _ in range(repeat):
        out.append(int(np.round(f / divisible_by) * divisible_by))
        f *= filters_mult
    return out
