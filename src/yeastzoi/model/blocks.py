"""Block registry: JSON block name → builder function.

A block builder takes the current tensor (B, L, C), a :class:`BuildContext` and the block's
keyword parameters, and returns the new tensor. Register your own from any module::

    from yeastzoi.model.blocks import register_block

    @register_block("my_conv")
    def my_conv(inputs, ctx, filters: int, kernel_size: int = 3, activation: str = "relu"):
        x = ctx.activate(inputs, activation)
        return ctx.layer(keras.layers.Conv1D, filters, kernel_size, padding="same")(x)

Parameters are declared with type annotations; :mod:`yeastzoi.model.params` validates the JSON
against them. Model-wide globals (``activation``, ``norm_type``, ``bn_momentum``,
``kernel_initializer``, ``l2_scale``, ``l1_scale``, ``padding``) are passed to every block
that declares them, unless the block's JSON sets them itself (an explicit ``null`` counts).

Layer names follow Keras-2 per-class counters in creation order (``conv1d``, ``conv1d_1``,
``batch_normalization_3`` …), counted per model build, which is what baskerville's saved
weights use; see :mod:`yeastzoi.model.weights`.
"""
from __future__ import annotations

import inspect
import re
from typing import Callable

import keras
from keras import ops

from .. import YeastzoiError
from .layers import MultiheadAttention, Scale, geometric_filters

BLOCKS: dict[str, Callable] = {}

GLOBAL_KEYS = ("activation", "norm_type", "bn_momentum", "kernel_initializer", "l2_scale",
               "l1_scale", "padding")


def register_block(name: str):
    """Decorator registering ``fn(inputs, ctx, **params)`` under the JSON block ``name``."""
    def wrap(fn):
        BLOCKS[name] = fn
        return fn
    return wrap


def get_block(name: str) -> Callable:
    try:
        return BLOCKS[name]
    except KeyError:
        raise YeastzoiError(f"unknown block {name!r}; registered: {', '.join(sorted(BLOCKS))}") from None


def block_parameters(fn) -> dict[str, inspect.Parameter]:
    """The JSON-settable parameters of a block builder (all but inputs/ctx)."""
    params = list(inspect.signature(fn).parameters.values())[2:]
    return {p.name: p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def snake_case(class_name: str) -> str:
    """Keras-2 layer-name prefix of a class (Conv1D → conv1d, ReLU → re_lu)."""
    s = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()


@keras.saving.register_keras_serializable(package="yeastzoi")
class Activate(keras.layers.Layer):
    """Element-wise activation by name; ``gelu`` is the tanh approximation (Keras-2 default
    in baskerville), ``softplus``/``relu``/``sigmoid``/``exp``/``softmax``/``linear``."""

    def __init__(self, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.activation = activation

    def call(self, x):
        return apply_activation(x, self.activation)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


def apply_activation(x, name):
    if name in (None, "linear"):
        return x
    if name == "gelu":
        return ops.gelu(x, approximate=True)
    if name == "exp":
        return ops.exp(x)
    if name == "softmax":
        return ops.softmax(x, axis=-1)
    return keras.activations.get(name)(x)


class BuildContext:
    """State shared by the blocks of one model build: per-class layer-name counters and the
    U-Net skip representations (pre-pool tensors saved by towers, consumed by ``unet_conv``)."""

    def __init__(self):
        self.counters: dict[str, int] = {}
        self.reprs: list = []

    def name(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0)
        self.counters[prefix] = n + 1
        return prefix if n == 0 else f"{prefix}_{n}"

    def layer(self, cls, *args, **kwargs):
        """Instantiate ``cls`` with a Keras-2 style counter name (unless a name is given)."""
        kwargs.setdefault("name", self.name(snake_case(cls.__name__)))
        return cls(*args, **kwargs)

    def activate(self, x, activation):
        if activation in (None, "linear"):
            return x
        return self.layer(Activate, activation, name=self.name(activation))(x)

    def normalize(self, x, norm_type, bn_momentum=0.99, gamma_zeros=False):
        gamma = "zeros" if gamma_zeros else "ones"
        if norm_type in ("batch", "batch-sync"):
            return self.layer(keras.layers.BatchNormalization, momentum=bn_momentum,
                              epsilon=1e-3, gamma_initializer=gamma)(x)
        if norm_type == "layer":
            return self.layer(keras.layers.LayerNormalization, epsilon=1e-3,
                              gamma_initializer=gamma)(x)
        if norm_type is None:
            return x
        raise YeastzoiError(f"norm_type {norm_type!r} is not one of batch, batch-sync, layer, null")


def regularizer(l2_scale=0.0, l1_scale=0.0):
    if l1_scale and l2_scale:
        return keras.regularizers.L1L2(l1=l1_scale, l2=l2_scale)
    if l2_scale:
        return keras.regularizers.L2(l2_scale)
    if l1_scale:
        return keras.regularizers.L1(l1_scale)
    return None


def _pool(ctx, x, pool_size, pool_type="max", padding="same"):
    if pool_size and pool_size > 1:
        cls = keras.layers.MaxPooling1D if pool_type == "max" else keras.layers.AveragePooling1D
        x = ctx.layer(cls, pool_size=pool_size, padding=padding)(x)
    return x


def _conv(ctx, x, filters, kernel_size, *, strides=1, dilation_rate=1, use_bias=True,
          padding="same", kernel_initializer="he_normal", l2_scale=0.0, l1_scale=0.0,
          conv_type="standard"):
    cls = keras.layers.SeparableConv1D if conv_type == "separable" else keras.layers.Conv1D
    kw = dict(strides=strides, padding=padding, use_bias=use_bias, dilation_rate=dilation_rate)
    if conv_type == "separable":
        kw.update(depthwise_initializer=kernel_initializer, pointwise_initializer=kernel_initializer,
                  pointwise_regularizer=regularizer(l2_scale, l1_scale))
    else:
        kw.update(kernel_initializer=kernel_initializer, kernel_regularizer=regularizer(l2_scale, l1_scale))
    return ctx.layer(cls, filters, kernel_size, **kw)(x)


@register_block("conv_dna")
def conv_dna(inputs, ctx, filters: int, kernel_size: int = 15, activation: str | None = "relu",
             strides: int = 1, l2_scale: float = 0.0, l1_scale: float = 0.0, dropout: float = 0.0,
             pool_size: int = 1, pool_type: str = "max", norm_type: str | None = None,
             bn_momentum: float = 0.99, use_bias: bool | None = None, padding: str = "same",
             kernel_initializer: str = "he_normal", conv_type: str = "standard"):
    """First convolution on one-hot DNA: Conv1D → [norm → activation] → dropout → pool.
    With ``norm_type: null`` and ``activation: linear`` it is a single biased Conv1D."""
    if use_bias is None:
        use_bias = norm_type is None
    x = _conv(ctx, inputs, filters, kernel_size, strides=strides, use_bias=use_bias, padding=padding,
              kernel_initializer=kernel_initializer, l2_scale=l2_scale, l1_scale=l1_scale,
              conv_type=conv_type)
    x = ctx.normalize(x, norm_type, bn_momentum)
    if norm_type is not None:
        x = ctx.activate(x, activation)
    elif activation not in (None, "linear"):
        x = ctx.activate(x, activation)
    if dropout:
        x = ctx.layer(keras.layers.Dropout, dropout)(x)
    return _pool(ctx, x, pool_size, pool_type, padding)


@register_block("conv_block")
def conv_block(inputs, ctx, filters: int | None = None, kernel_size: int = 1,
               activation: str | None = "relu", strides: int = 1, dilation_rate: int = 1,
               l2_scale: float = 0.0, l1_scale: float = 0.0, dropout: float = 0.0,
               conv_type: str = "standard", pool_size: int = 1, pool_type: str = "max",
               norm_type: str | None = None, bn_momentum: float = 0.99,
               norm_gamma: str | None = None, residual: bool = False,
               kernel_initializer: str = "he_normal", padding: str = "same"):
    """activation → Conv1D (no bias when normalised) → norm → dropout → [residual add] → pool."""
    filters = filters or inputs.shape[-1]
    x = ctx.activate(inputs, activation)
    x = _conv(ctx, x, filters, kernel_size, strides=strides, dilation_rate=dilation_rate,
              use_bias=norm_type is None, padding=padding, kernel_initializer=kernel_initializer,
              l2_scale=l2_scale, l1_scale=l1_scale, conv_type=conv_type)
    x = ctx.normalize(x, norm_type, bn_momentum, gamma_zeros=(norm_gamma == "zeros" or residual))
    if dropout:
        x = ctx.layer(keras.layers.Dropout, dropout)(x)
    if residual:
        x = ctx.layer(keras.layers.Add)([inputs, x])
    return _pool(ctx, x, pool_size, pool_type, padding)


@register_block("conv_nac")
def conv_nac(inputs, ctx, filters: int | None = None, kernel_size: int = 1,
             activation: str | None = "relu", strides: int = 1, dilation_rate: int = 1,
             l2_scale: float = 0.0, l1_scale: float = 0.0, dropout: float = 0.0,
             conv_type: str = "standard", pool_size: int = 1, pool_type: str = "max",
             norm_type: str | None = None, bn_momentum: float = 0.99, residual: bool = False,
             kernel_initializer: str = "he_normal", padding: str = "same"):
    """Pre-activation convolution: norm → activation → Conv1D (biased) → dropout →
    [residual add] → pool."""
    filters = filters or inputs.shape[-1]
    x = ctx.normalize(inputs, norm_type, bn_momentum)
    x = ctx.activate(x, activation)
    x = _conv(ctx, x, filters, kernel_size, strides=strides, dilation_rate=dilation_rate,
              use_bias=True, padding=padding, kernel_initializer=kernel_initializer,
              l2_scale=l2_scale, l1_scale=l1_scale, conv_type=conv_type)
    if dropout:
        x = ctx.layer(keras.layers.Dropout, dropout)(x)
    if residual:
        x = ctx.layer(keras.layers.Add)([inputs, x])
    return _pool(ctx, x, pool_size, pool_type, padding)


_CONV_KEYS = ("activation", "l2_scale", "l1_scale", "norm_type", "bn_momentum",
              "kernel_initializer", "padding", "conv_type")


@register_block("conv_tower")
def conv_tower(inputs, ctx, filters_init: int, filters_end: int | None = None,
               filters_mult: float | None = None, divisible_by: int = 1, repeat: int = 1,
               kernel_size: int = 1, pool_size: int = 2, pool_type: str = "max", dropout: float = 0.0,
               activation: str | None = "relu", l2_scale: float = 0.0, l1_scale: float = 0.0,
               norm_type: str | None = None, bn_momentum: float = 0.99,
               kernel_initializer: str = "he_normal", padding: str = "same",
               conv_type: str = "standard"):
    """``repeat`` × conv_block with filters growing geometrically, each followed by a pool;
    the pre-pool tensors are saved for U-Net blocks."""
    x = inputs
    local = dict(activation=activation, l2_scale=l2_scale, l1_scale=l1_scale, norm_type=norm_type,
                 bn_momentum=bn_momentum, kernel_initializer=kernel_initializer, padding=padding,
                 conv_type=conv_type)
    for f in geometric_filters(filters_init, filters_end, repeat, divisible_by, filters_mult):
        x = conv_block(x, ctx, filters=f, kernel_size=kernel_size, dropout=dropout, **local)
        ctx.reprs.append(x)
        x = _pool(ctx, x, pool_size, pool_type, padding)
    return x


@register_block("res_tower")
def res_tower(inputs, ctx, filters_init: int, filters_end: int | None = None,
              filters_mult: float | None = None, divisible_by: int = 1, repeat: int = 2,
              num_convs: int = 2, kernel_size: int = 1, dropout: float = 0.0, pool_size: int = 2,
              pool_type: str = "max", activation: str | None = "relu", l2_scale: float = 0.0,
              l1_scale: float = 0.0, norm_type: str | None = None, bn_momentum: float = 0.99,
              kernel_initializer: str = "he_normal", padding: str = "same",
              conv_type: str = "standard"):
    """Residual tower (Shorkie/Borzoi): per repeat, conv_nac(F, kernel_size) then
    (num_convs − 1) × conv_nac(F, 1), dropout, a learned per-channel Scale (init 0) and
    Add(first conv output, scaled); the pre-pool tensor is saved for the U-Net; then
    MaxPool1D(pool_size, same). Filters grow geometrically filters_init → filters_end."""
    x = inputs
    local = dict(activation=activation, l2_scale=l2_scale, l1_scale=l1_scale, norm_type=norm_type,
                 bn_momentum=bn_momentum, kernel_initializer=kernel_initializer, padding=padding,
                 conv_type=conv_type)
    for f in geometric_filters(filters_init, filters_end, repeat, divisible_by, filters_mult):
        x = first = conv_nac(x, ctx, filters=f, kernel_size=kernel_size, **local)
        for _ in range(1, num_convs):
            x = conv_nac(x, ctx, filters=f, kernel_size=1, **local)
        if dropout:
            x = ctx.layer(keras.layers.Dropout, dropout)(x)
        x = ctx.layer(Scale)(x)
        x = ctx.layer(keras.layers.Add)([first, x])
        ctx.reprs.append(x)
        x = _pool(ctx, x, pool_size, pool_type, padding)
    return x


@register_block("dilated_residual")
def dilated_residual(inputs, ctx, filters: int, kernel_size: int = 3, rate_mult: float = 2.0,
                     dropout: float = 0.0, repeat: int = 1, round: bool = False,
                     activation: str | None = "relu", l2_scale: float = 0.0, l1_scale: float = 0.0,
                     norm_type: str | None = None, bn_momentum: float = 0.99,
                     kernel_initializer: str = "he_normal", padding: str = "same",
                     conv_type: str = "standard"):
    """Dilated residual tower: per repeat, conv_block(filters, kernel_size, dilation d) →
    conv_block(C_in, 1, dropout, zero-init norm gamma) → Add(input); d starts at 1 and is
    multiplied by ``rate_mult`` each repeat (rounded when ``round``)."""
    x = inputs
    rate = 1.0
    local = dict(activation=activation, l2_scale=l2_scale, l1_scale=l1_scale, norm_type=norm_type,
                 bn_momentum=bn_momentum, kernel_initializer=kernel_initializer, padding=padding,
                 conv_type=conv_type)
    for _ in range(repeat):
        rep_input = x
        x = conv_block(x, ctx, filters=filters, kernel_size=kernel_size, dilation_rate=int(rate), **local)
        x = conv_block(x, ctx, filters=rep_input.shape[-1], dropout=dropout, norm_gamma="zeros", **local)
        x = ctx.layer(keras.layers.Add)([rep_input, x])
        rate = float(int(rate * rate_mult + 0.5)) if round else rate * rate_mult
    return x


@register_block("transformer")
def transformer(inputs, ctx, key_size: int, heads: int, out_size: int | None = None,
                num_position_features: int = 32, dropout: float = 0.25,
                attention_dropout: float = 0.05, position_dropout: float = 0.01,
                dense_expansion: float = 2.0, mha_l2_scale: float = 0.0, l2_scale: float = 0.0,
                mha_initializer: str = "he_normal", kernel_initializer: str = "he_normal"):
    """Pre-norm transformer layer: LayerNorm → relative MHA (value = C/heads) → Dropout →
    Add; then LayerNorm → Dense(expansion·C) → Dropout → ReLU → Dense(C) → Dropout → Add."""
    channels = out_size or inputs.shape[-1]
    x = ctx.layer(keras.layers.LayerNormalization, epsilon=1e-3)(inputs)
    x = ctx.layer(MultiheadAttention, value_size=channels // heads, key_size=key_size, heads=heads,
                  num_position_features=num_position_features,
                  attention_dropout_rate=attention_dropout, positional_dropout_rate=position_dropout,
                  initializer=mha_initializer, l2_scale=mha_l2_scale)(x)
    x = ctx.layer(keras.layers.Dropout, dropout)(x)
    x = mha_out = ctx.layer(keras.layers.Add)([inputs, x])
    if not dense_expansion:
        return x
    reg = regularizer(l2_scale)
    y = ctx.layer(keras.layers.LayerNormalization, epsilon=1e-3)(x)
    y = ctx.layer(keras.layers.Dense, int(dense_expansion * channels), kernel_initializer=kernel_initializer,
                  kernel_regularizer=reg)(y)
    y = ctx.layer(keras.layers.Dropout, dropout)(y)
    y = ctx.layer(keras.layers.ReLU)(y)
    y = ctx.layer(keras.layers.Dense, channels, kernel_initializer=kernel_initializer,
                  kernel_regularizer=reg)(y)
    y = ctx.layer(keras.layers.Dropout, dropout)(y)
    return ctx.layer(keras.layers.Add)([mha_out, y])


@register_block("transformer_tower")
def transformer_tower(inputs, ctx, key_size: int, heads: int, repeat: int = 2,
                      num_position_features: int = 32, dropout: float = 0.25,
                      attention_dropout: float = 0.05, position_dropout: float = 0.01,
                      dense_expansion: float = 2.0, mha_l2_scale: float = 0.0, l2_scale: float = 0.0,
                      mha_initializer: str = "he_normal", kernel_initializer: str = "he_normal"):
    """``repeat`` × :func:`transformer` at constant width."""
    x = inputs
    for _ in range(repeat):
        x = transformer(x, ctx, key_size=key_size, heads=heads,
                        num_position_features=num_position_features, dropout=dropout,
                        attention_dropout=attention_dropout, position_dropout=position_dropout,
                        dense_expansion=dense_expansion, mha_l2_scale=mha_l2_scale,
                        l2_scale=l2_scale, mha_initializer=mha_initializer,
                        kernel_initializer=kernel_initializer)
    return x


@register_block("unet_conv")
def unet_conv(inputs, ctx, kernel_size: int = 1, upsample_conv: bool = False, stride: int = 2,
              activation: str | None = "relu", norm_type: str | None = None,
              bn_momentum: float = 0.99, l2_scale: float = 0.0, l1_scale: float = 0.0,
              dropout: float = 0.0, kernel_initializer: str = "he_normal", filters: int | None = None):
    """U-Net up-step: norm+activation on the low-resolution input and on the skip (the most
    recent saved tower tensor, ``stride``× longer), Dense(C) on each (the input's Dense only
    with ``upsample_conv``), UpSampling1D(stride) on the low path, Add, SeparableConv1D(C,
    kernel_size, same), optional dropout. Output (B, stride·L, C). C is the input's channel
    count (baskerville's rule) unless ``filters`` narrows it (a yeastzoi extension that makes
    the full-resolution steps of a CPU-sized LM cheap); ``filters`` needs ``upsample_conv``
    when it differs from the input's channels."""
    if not ctx.reprs:
        raise YeastzoiError("unet_conv has no saved tower representation to merge; "
                            "put a res_tower/conv_tower with enough repeats before it")
    skip = ctx.reprs.pop()
    length = inputs.shape[1]
    if length is not None and skip.shape[1] is not None and skip.shape[1] != stride * length:
        raise YeastzoiError(f"unet_conv: skip tensor length {skip.shape[1]} is not "
                            f"{stride}× the input length {length}")
    channels = int(filters or inputs.shape[-1])
    if channels != inputs.shape[-1] and not upsample_conv:
        raise YeastzoiError(f"unet_conv: filters={channels} differs from the input's "
                            f"{inputs.shape[-1]} channels; set upsample_conv true")
    reg = regularizer(l2_scale, l1_scale)
    x = ctx.normalize(inputs, norm_type, bn_momentum)
    s = ctx.normalize(skip, norm_type, bn_momentum)
    x = ctx.activate(x, activation)
    s = ctx.activate(s, activation)
    if upsample_conv:
        x = ctx.layer(keras.layers.Dense, channels, kernel_initializer=kernel_initializer,
                      kernel_regularizer=reg)(x)
    x = ctx.layer(keras.layers.UpSampling1D, size=stride)(x)
    s = ctx.layer(keras.layers.Dense, channels, kernel_initializer=kernel_initializer,
                  kernel_regularizer=reg)(s)
    x = ctx.layer(keras.layers.Add)([x, s])
    x = ctx.layer(keras.layers.SeparableConv1D, channels, kernel_size, padding="same",
                  depthwise_initializer=kernel_initializer,
                  pointwise_initializer=kernel_initializer, pointwise_regularizer=reg)(x)
    if dropout:
        x = ctx.layer(keras.layers.Dropout, dropout)(x)
    return x


@register_block("final")
def final(inputs, ctx, units: int, activation: str | None = "linear", flatten: bool = False,
          kernel_initializer: str = "he_normal", l2_scale: float = 0.0, l1_scale: float = 0.0):
    """Output head: Dense(units) with the head activation (softplus for coverage,
    softmax for the LM's 4 bases)."""
    x = inputs
    if flatten:
        x = ctx.layer(keras.layers.Flatten)(x)
    x = ctx.layer(keras.layers.Dense, units, kernel_initializer=kernel_initializer,
                  kernel_regularizer=regularizer(l2_scale, l1_scale))(x)
    return ctx.activate(x, activation)


@register_block("dense")
def dense(inputs, ctx, units: int, activation: str | None = "relu", dropout: float = 0.0,
          kernel_initializer: str = "he_normal", l2_scale: float = 0.0, l1_scale: float = 0.0):
    """Dense(units) → activation → dropout, applied per position."""
    x = ctx.layer(keras.layers.Dense, units, kernel_initializer=kernel_initializer,
                  kernel_regularizer=regularizer(l2_scale, l1_scale))(inputs)
    x = ctx.activate(x, activation)
    if dropout:
        x = ctx.layer(keras.layers.Dropout, dropout)(x)
    return x


def keras_layer_class(name: str):
    """Capitalised block names are plain Keras layers (``Conv1D``, ``Cropping1D``, ``Dense``…)."""
    cls = getattr(keras.layers, name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        raise YeastzoiError(f"unknown Keras layer {name!r}")
    return cls
