"""Distribution strategies by name, and this process's role in a multi-worker cluster.

Under TensorFlow (the default backend): ``none`` → the default strategy; ``mirrored`` →
MirroredStrategy over the local GPUs, or over all logical CPU devices when there is no GPU;
``multiworker`` → MultiWorkerMirroredStrategy from ``TF_CONFIG``.

Under ``KERAS_BACKEND=jax`` (:class:`JaxStrategy`): ``none`` → one device (JAX's default);
``mirrored`` → Keras' ``keras.distribution.DataParallel`` over every local JAX device
(variables replicated, each batch split along its first axis; XLA sums the gradients, and
BatchNorm statistics are those of the whole global batch); ``multiworker`` is refused.
"""
from __future__ import annotations

import contextlib
import json
import os

from .. import YeastzoiError

STRATEGIES = ("none", "mirrored", "multiworker")


class JaxStrategy:
    """The JAX counterpart of a tf.distribute strategy: a device count and a build scope.

    ``distribution`` is the ``keras.distribution.DataParallel`` of ``mirrored`` (None for
    ``none``); variables created in :meth:`scope` are replicated over its devices."""

    def __init__(self, name: str = "none"):
        import jax
        self.name = name or "none"
        self.distribution = None
        if self.name == "mirrored":
            import keras
            devices = keras.distribution.list_devices()
            self.distribution = keras.distribution.DataParallel(devices=devices)
            self.devices = list(devices)
        else:
            self.devices = [str(jax.devices()[0])]
        self.num_replicas_in_sync = len(self.devices)

    def scope(self):
        """Where the model and optimizer are built (the distribution's scope, if any)."""
        return self.distribution.scope() if self.distribution is not None else contextlib.nullcontext()


def make_strategy(name: str = "none"):
    """A strategy by name: ``none`` | ``mirrored`` | ``multiworker`` (see the module docstring)."""
    import keras
    if name not in (None,) + STRATEGIES:
        raise YeastzoiError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if keras.backend.backend() == "jax":
        if name == "multiworker":
            raise YeastzoiError("--strategy multiworker runs on the TensorFlow engine only; under "
                                "KERAS_BACKEND=jax use --strategy mirrored (all local devices) or unset "
                                "KERAS_BACKEND")
        return JaxStrategy(name or "none")
    import tensorflow as tf
    if name in (None, "none"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise YeastzoiError("--strategy multiworker needs TF_CONFIG (cluster spec and this "
                            "worker's task), e.g. {\"cluster\": {\"worker\": [\"host1:12345\", "
                            "\"host2:12345\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}")
    try:
        json.loads(raw)
    except json.JSONDecodeError as e:
        raise YeastzoiError(f"TF_CONFIG is not valid JSON ({e})") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def worker_role(strategy) -> tuple[bool, int]:
    """(is_chief, task id) of this process; a single process is the chief, task 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True, 0
    ttype, tid = resolver.task_type, int(resolver.task_id or 0)
    cluster = resolver.cluster_spec().as_dict()
    if "chief" in cluster:
        return ttype == "chief", tid
    return ttype == "worker" and tid == 0, tid
