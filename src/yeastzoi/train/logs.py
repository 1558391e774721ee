"""A training run's log file, TensorBoard scalars and the dtype policy context.

:class:`RunLog` collects the ``yeastzoi`` log records of a run in memory until the run has
been validated and :meth:`RunLog.open` names its file, so a refused run writes nothing.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RunLog(logging.Handler):
    """Buffer ``yeastzoi`` log records until :meth:`open`, then append them to a file.

    Use as a context manager around the run; records below INFO are not kept. When the
    ``yeastzoi`` logger was quieter than INFO (a ``-q`` run), it is opened to INFO for the file
    only: records below its former level are kept from the caller's handlers (the terminal)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.file: logging.FileHandler | None = None
        self._old_level = None
        self._forward_level = None      # set while this handler forwards records to the root itself

    def emit(self, record):
        if self.file is None:
            self.records.append(record)
        else:
            self.file.handle(record)
        if self._forward_level is not None and record.levelno >= self._caller_level(record.name):
            logging.getLogger().handle(record)

    def _caller_level(self, name: str) -> int:
        """The level ``name``'s logger had before :meth:`__enter__` opened ``yeastzoi`` to INFO."""
        logger = logging.getLogger(name)
        while logger is not None and logger.name != "yeastzoi":
            if logger.level:
                return logger.level
            logger = logger.parent
        return self._forward_level

    def open(self, path) -> None:
        """Start writing to ``path`` (appending), beginning with the buffered records."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.file = logging.FileHandler(path)
        self.file.setFormatter(logging.Formatter(_FORMAT))
        for record in self.records:
            self.file.handle(record)
        self.records = []

    def __enter__(self):
        root = logging.getLogger("yeastzoi")
        root.addHandler(self)
        self._old_level = root.level
        if root.getEffectiveLevel() > logging.INFO and root.propagate:
            self._forward_level = root.getEffectiveLevel()
            root.setLevel(logging.INFO)
            root.propagate = False
        return self

    def __exit__(self, *exc):
        root = logging.getLogger("yeastzoi")
        root.removeHandler(self)
        root.setLevel(self._old_level)
        if self._forward_level is not None:
            root.propagate = True
            self._forward_level = None
        if self.file is not None:
            self.file.close()
        self.records = []
        return False


@contextlib.contextmanager
def dtype_policy(policy):
    """Set the Keras global dtype policy for the block (None: unchanged); restore it after."""
    import keras
    prev = keras.config.dtype_policy()
    if policy:
        keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(prev)


def tensorboard_writers(out_dir):
    """(train, valid) TensorBoard summary writers under ``OUT/logs``."""
    import tensorflow as tf
    return (tf.summary.create_file_writer(str(Path(out_dir) / "logs" / "train")),
            tf.summary.create_file_writer(str(Path(out_dir) / "logs" / "valid")))


def scalar(tag, value, step):
    """A TensorBoard scalar event via the low-level ``tf.summary.write`` (no tensorboard
    package needed; TensorBoard shows it under Scalars)."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2
    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=meta)


def write_epoch_scalars(writers, epoch: int, train_loss: float, lr: float, valid: dict) -> None:
    """One epoch's scalars: training loss and learning rate; every validation metric."""
    if writers is None:
        return
    tb_train, tb_valid = writers
    with tb_train.as_default():
        scalar("loss", train_loss, epoch)
        scalar("learning_rate", lr, epoch)
    with tb_valid.as_default():
        for k, v in valid.items():
            scalar(k, v, epoch)
    tb_train.flush()
    tb_valid.flush()
