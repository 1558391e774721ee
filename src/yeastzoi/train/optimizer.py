"""The learning-rate schedule and the optimizer built from a spec's ``train`` section.

    opt = make_optimizer(params["train"])            # adam / adamw / sgd, warm-up schedule
    learning_rate_at(params["train"], step=100)      # the scheduled rate (for logs)
    grads = clip_gradients(grads, *clip_thresholds(params["train"]))   # the custom loops' clipping

Schedule: linear warm-up over ``warmup_steps`` to ``learning_rate``, then constant, or
exponential decay ``lr · decay_rate^((step − warmup) / decay_steps)`` when both decay keys
are set. Keras 3 code (``keras.ops``), usable under any backend.
"""
from __future__ import annotations

import numpy as np

from .. import YeastzoiError


def schedule_class():
    """The ``WarmupSchedule`` Keras LearningRateSchedule class (built lazily: imports keras)."""
    import keras
    from keras import ops

    class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up over ``warmup_steps`` to ``learning_rate``, then constant, or
        exponential decay ``lr · decay_rate^((step − warmup) / decay_steps)``."""

        def __init__(self, learning_rate, warmup_steps=0, decay_steps=None, decay_rate=None):
            self.learning_rate = float(learning_rate)
            self.warmup_steps = int(warmup_steps or 0)
            self.decay_steps = decay_steps
            self.decay_rate = decay_rate

        def __call__(self, step):
            step = ops.cast(step, "float32")
            lr = ops.convert_to_tensor(self.learning_rate, "float32")
            if self.decay_steps and self.decay_rate is not None:
                after = ops.maximum(step - float(self.warmup_steps), 0.0)
                lr = lr * ops.power(float(self.decay_rate), after / float(self.decay_steps))
            if self.warmup_steps > 0:
                lr = lr * ops.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
            return lr

        def get_config(self):
            return dict(learning_rate=self.learning_rate, warmup_steps=self.warmup_steps,
                        decay_steps=self.decay_steps, decay_rate=self.decay_rate)

    return WarmupSchedule


def make_schedule(train_params: dict):
    """The warm-up / decay schedule of ``params.train``."""
    t = train_params
    return schedule_class()(t["learning_rate"], t.get("warmup_steps", 0), t.get("decay_steps"),
                            t.get("decay_rate"))


def learning_rate_at(train_params: dict, step: int) -> float:
    """The scheduled learning rate at optimizer step ``step`` (for logs)."""
    return float(np.asarray(make_schedule(train_params)(step)))


def _clip_arguments(t: dict, clip: bool) -> dict:
    if not clip:
        return {}
    if t.get("global_clipnorm"):
        return {"global_clipnorm": float(t["global_clipnorm"])}
    if t.get("clip_norm"):
        return {"clipnorm": float(t["clip_norm"])}
    return {}


def make_optimizer(train_params: dict, loss_scale: bool = False, clip: bool = True):
    """Keras optimizer from ``params.train`` (adam / adamw / sgd), warm-up schedule, clipping;
    wrapped in a LossScaleOptimizer when ``loss_scale`` (mixed_float16).

    ``clip=False`` leaves ``global_clipnorm`` / ``clip_norm`` out: Keras clips each replica's
    gradients *before* summing them across replicas, so the distributed train step clips the
    summed gradients itself instead."""
    import keras
    t = train_params
    sched = make_schedule(t)
    kw = _clip_arguments(t, clip)
    name = t.get("optimizer", "adam")
    if name == "adam":
        opt = keras.optimizers.Adam(sched, beta_1=t["adam_beta1"], beta_2=t["adam_beta2"], **kw)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(sched, weight_decay=t.get("weight_decay") or 0.0,
                                     beta_1=t["adam_beta1"], beta_2=t["adam_beta2"], **kw)
    elif name == "sgd":
        opt = keras.optimizers.SGD(sched, momentum=t.get("momentum", 0.99), **kw)
    else:
        raise YeastzoiError(f"train.optimizer: {name!r} is not one of adam, adamw, sgd")
    if loss_scale:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def clip_thresholds(train_params: dict) -> tuple[float | None, float | None]:
    """(global_clipnorm, clip_norm) of ``params.train`` (``global_clipnorm`` wins; None: off)."""
    t = train_params
    global_clip = float(t["global_clipnorm"]) if t.get("global_clipnorm") else None
    var_clip = float(t["clip_norm"]) if t.get("clip_norm") and not global_clip else None
    return global_clip, var_clip


def clip_gradients(grads, global_clip: float | None = None, var_clip: float | None = None):
    """Gradients clipped as ``tf.clip_by_global_norm`` / ``tf.clip_by_norm`` define it, in
    ``keras.ops`` (the TensorFlow and the JAX train steps share it).

    ``global_clip``: every gradient × c / max(‖all gradients‖₂, c); else ``var_clip``: each
    gradient × c / max(‖gradient‖₂, c); neither: unchanged. ``None`` gradients (variables
    the loss does not reach, TensorFlow) stay None and do not count in the norm."""
    from keras import ops
    if global_clip is not None:
        sq = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads if g is not None]
        norm = ops.sqrt(ops.sum(ops.stack(sq)))
        scale = global_clip / ops.maximum(norm, global_clip)
        return [None if g is None else g * ops.cast(scale, g.dtype) for g in grads]
    if var_clip is not None:
        out = []
        for g in grads:
            if g is not None:
                norm = ops.sqrt(ops.sum(ops.square(ops.cast(g, "float32"))))
                g = g * ops.cast(var_clip / ops.maximum(norm, var_clip), g.dtype)
            out.append(g)
        return out
    return list(grads)
