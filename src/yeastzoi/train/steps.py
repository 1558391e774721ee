"""Distributed train and evaluation steps (``strategy.run`` of a GradientTape step).

    steps = Steps(model, optimizer, strategy, params["train"], is_lm=True, num_targets=4)
    loss = steps.train_step(batch)          # one optimizer update on a distributed batch
    metrics = steps.evaluate(data, "valid") # Σ over the split / Σ count, + the L2 penalty

Each replica's loss is its share of the global loss: coverage losses are Σ per-example loss
/ (global number of examples), the masked-LM loss is Σ w·CE / (global Σ m) (the denominators
are all-reduced), and the L2 penalty of the layer regularisers is divided by the number of
replicas; gradients are summed across replicas and clipped once (``global_clipnorm`` or
``clip_norm``), so a batch gives the same update on 1 or N replicas (up to per-replica
BatchNorm statistics). Validation losses are Σ over the split / Σ count (not a mean of batch
means) plus the L2 penalty, like Keras' ``val_loss``. TensorFlow-specific.

Promoter-library rows (``library`` ``"mixed"``/``"only"``: :mod:`yeastzoi.train.library`) add
``train.library_weight × library_loss`` (:func:`yeastzoi.train.losses.library_loss`, the same
keras.ops function as the JAX step) of a separate forward pass over the library batch; each
replica's share is divided by the number of replicas.
"""
from __future__ import annotations

import numpy as np

from .inputs import shard_policy


class Steps:
    """The compiled train step and the evaluation of a split for one model and strategy."""

    def __init__(self, model, optimizer, strategy, train_params: dict, is_lm: bool, num_targets: int,
                 loss_scaled: bool = False, library: str | None = None):
        import tensorflow as tf
        from .library import library_weight
        from .losses import coverage_loss
        from .optimizer import clip_thresholds
        t = train_params
        self.library, self.library_weight = library, library_weight(t)
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.is_lm, self.num_targets, self.loss_scaled = is_lm, int(num_targets), loss_scaled
        self.n_rep = int(strategy.num_replicas_in_sync)
        self.loss_fn = None if is_lm else coverage_loss(t["loss"], t.get("total_weight", 1.0))
        self.global_clip, self.var_clip = clip_thresholds(t)
        self._train_step = tf.function(self._train_replicas)
        self._eval_step = tf.function(self._eval_replicas)
        self._readout_step = tf.function(self._readout_replicas)

    # ------------------------------------------------------------------ per replica
    def _reg(self):
        from .losses import regularization_penalty
        return regularization_penalty(self.model.losses)

    def _data_loss(self, ctx, batch, pred):
        import tensorflow as tf
        from keras import ops
        from .losses import loss_terms
        num, den = loss_terms(batch, pred, self.loss_fn)
        return num / ops.maximum(ctx.all_reduce(tf.distribute.ReduceOp.SUM, den), 1.0)

    def _clip(self, grads):
        from .optimizer import clip_gradients
        # on loss-scaled gradients the threshold scales too (LossScaleOptimizer unscales later)
        factor = self.optimizer.dynamic_scale if self.loss_scaled else 1.0
        return clip_gradients(grads, None if self.global_clip is None else self.global_clip * factor,
                              None if self.var_clip is None else self.var_clip * factor)

    def _library_loss(self, lib):
        from keras import ops
        from .losses import library_loss
        pred = ops.cast(self.model(lib[0], training=True), "float32")
        return self.library_weight * library_loss(pred, lib[1], lib[2], lib[3]) / self.n_rep

    def _train_fn(self, *batch):
        import tensorflow as tf
        from keras import ops
        from .library import batch_parts
        ctx = tf.distribute.get_replica_context()
        model, optimizer = self.model, self.optimizer
        cov, lib = batch_parts(batch, self.library)
        with tf.GradientTape() as tape:
            loss = self._reg() / self.n_rep
            if cov is not None:
                pred = ops.cast(model(cov[0], training=True), "float32")
                loss = self._data_loss(ctx, cov, pred) + loss
            if lib is not None:
                loss = loss + self._library_loss(lib)
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        if self.n_rep > 1:
            grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        if self.global_clip or self.var_clip:
            grads = self._clip(grads)
        if self.n_rep > 1:
            # the optimizer sums gradients across replicas again: hand it each replica's share
            grads = [g / self.n_rep for g in grads]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def _eval_fn(self, *batch):
        from keras import ops
        from .losses import loss_terms, mlm_sums
        from .metrics import track_sums
        x, y = batch[0], batch[1]
        pred = ops.cast(self.model(x, training=False), "float32")
        if self.is_lm:
            return ops.stack(mlm_sums(y, pred, batch[2], batch[3]))
        return ops.stack(loss_terms(batch, pred, self.loss_fn)), track_sums(y, pred)

    def _readout_fn(self, x, gene_mask, tracks, activity):
        from keras import ops
        from .losses import library_readout
        pred = ops.cast(self.model(x, training=False), "float32")
        return library_readout(pred, gene_mask, tracks), activity

    # ------------------------------------------------------------------ distributed
    def _train_replicas(self, batch):
        import tensorflow as tf
        loss = self.strategy.run(self._train_fn, args=tuple(batch))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)

    def _eval_replicas(self, batch):
        import tensorflow as tf
        out = self.strategy.run(self._eval_fn, args=tuple(batch))
        return tf.nest.map_structure(lambda v: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None),
                                     out)

    def _readout_replicas(self, batch):
        out = self.strategy.run(self._readout_fn, args=tuple(batch))
        return tuple(self.strategy.gather(v, axis=0) for v in out)

    def _readout_batches(self, ds):
        for batch in self.distribute(ds):
            readout, activity = self._readout_step(batch)
            yield np.asarray(readout), np.asarray(activity)

    def distribute(self, ds):
        """A tf.data dataset split across the replicas (DATA sharding)."""
        return self.strategy.experimental_distribute_dataset(shard_policy(ds))

    def train_step(self, batch) -> float:
        """One optimizer update; returns the global training loss of the batch."""
        return float(self._train_step(batch))

    def sync(self) -> None:
        """Nothing to do: the TensorFlow step updates the Keras variables in place (the JAX
        step keeps its state apart until :meth:`yeastzoi.train.steps_jax.JaxSteps.sync`)."""

    def evaluate(self, data, split: str) -> dict:
        """Loss and metrics over ``split`` (coverage: also ``_tracks``, the per-track sums;
        library rows: :func:`yeastzoi.train.library.evaluate_library`'s metrics)."""
        from keras import ops
        from .library import add_library_metrics
        reg = float(ops.convert_to_numpy(self._reg()))
        out = {"loss": reg} if self.library == "only" else self._evaluate_data(data, split, reg)
        return add_library_metrics(out, data, split, self.library_weight, self._readout_batches)

    def _evaluate_data(self, data, split: str, reg: float) -> dict:
        from .metrics import PearsonR2, mlm_metrics
        if self.is_lm:
            tot = np.zeros(4, np.float64)
            for ds in data.make_evals(split):
                for batch in self.distribute(ds):
                    tot += np.asarray(self._eval_step(batch), np.float64)
            return mlm_metrics(tot, reg)
        acc = PearsonR2(self.num_targets)
        tot = np.zeros(2, np.float64)
        for ds in data.make_evals(split):
            for batch in self.distribute(ds):
                ls, sums = self._eval_step(batch)
                tot += np.asarray(ls, np.float64)
                acc.add(np.asarray(sums))
        out = {"loss": float(tot[0] / max(tot[1], 1.0) + reg)}
        out.update(acc.summary())
        out["_tracks"] = acc
        return out
