"""tf.distribute strategies by name, and this process's role in a multi-worker cluster.

``none`` → the default strategy; ``mirrored`` → MirroredStrategy over the local GPUs, or
over all logical CPU devices when there is no GPU; ``multiworker`` →
MultiWorkerMirroredStrategy from ``TF_CONFIG``. TensorFlow-specific (training engine only).
"""
from __future__ import annotations

import json
import os

from .. import YeastzoiError

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name: str = "none"):
    """A tf.distribute strategy by name: ``none`` | ``mirrored`` | ``multiworker``."""
    import tensorflow as tf
    if name in (None, "none"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "multiworker":
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
    raise YeastzoiError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


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
