"""The train and evaluation steps under ``KERAS_BACKEND=jax``: a jitted stateless step.

    steps = JaxSteps(model, optimizer, strategy, params["train"], is_lm=True, num_targets=4)
    loss = steps.train_step(batch)          # one optimizer update (numpy batch from tf.data)
    steps.sync()                            # write the step's state back into the Keras variables
    metrics = steps.evaluate(data, "valid") # Σ over the split / Σ count, + the L2 penalty

The same contract as :class:`yeastzoi.train.steps.Steps` (the TensorFlow step), from the same
definitions: the loss of a batch is :func:`yeastzoi.train.losses.loss_terms` (Σ numerator /
Σ denominator over the global batch) plus :func:`yeastzoi.train.losses.regularization_penalty`
of the layers' L2 losses, gradients are clipped by
:func:`yeastzoi.train.optimizer.clip_gradients`, and validation losses are Σ over the split /
Σ count plus the L2 penalty. The step is ``jax.jit`` of ``model.stateless_call`` +
``jax.value_and_grad`` + ``optimizer.stateless_apply``: during an epoch the model and optimizer
state live in JAX arrays held here; :meth:`JaxSteps.sync` (called at the end of every epoch,
and by :meth:`JaxSteps.evaluate`) assigns them to the Keras variables, which checkpoints and
model files read. A Keras variable assigned from outside (a restored model file) is read again
at the next step.

Data: the run's tf.data pipelines feed numpy batches (``as_numpy_iterator``); TensorFlow is
imported for the data only. Under ``--strategy mirrored`` (:class:`yeastzoi.train.strategies.JaxStrategy`)
each batch is placed with the ``keras.distribution.DataParallel`` data layout (split along
its first axis over the devices) and XLA partitions the step: the loss and gradients are
those of the global batch, BatchNorm statistics included (so N devices give the update of
one, up to float summation order). Mixed precision under JAX is ``mixed_bfloat16`` (no loss
scaling).

Promoter-library rows (``library`` ``"mixed"``/``"only"``: :mod:`yeastzoi.train.library`) add
``train.library_weight × library_loss`` (:func:`yeastzoi.train.losses.library_loss`, the
keras.ops function the TensorFlow step uses) of a separate forward pass over the library batch.
"""
from __future__ import annotations

import numpy as np


class JaxSteps:
    """The jitted train step and the evaluation of a split for one model (JAX backend)."""

    def __init__(self, model, optimizer, strategy, train_params: dict, is_lm: bool, num_targets: int,
                 loss_scaled: bool = False, library: str | None = None):
        import jax
        from .library import library_weight
        from .losses import coverage_loss
        from .optimizer import clip_thresholds
        if loss_scaled:
            raise ValueError("loss scaling (mixed_float16) is not used under JAX: use mixed_bfloat16")
        t = train_params
        self.library, self.library_weight = library, library_weight(t)
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.is_lm, self.num_targets, self.loss_scaled = is_lm, int(num_targets), False
        self.n_rep = int(strategy.num_replicas_in_sync)
        self.distribution = getattr(strategy, "distribution", None)
        self.loss_fn = None if is_lm else coverage_loss(t["loss"], t.get("total_weight", 1.0))
        self.global_clip, self.var_clip = clip_thresholds(t)
        self._state = None
        self._train_jit = jax.jit(self._train_fn)
        self._eval_jit = jax.jit(self._eval_fn)
        self._readout_jit = jax.jit(self._readout_fn)

    # ------------------------------------------------------------------ pure functions
    def _forward(self, trainable, non_trainable, x, training: bool):
        """(float32 prediction, updated non-trainable state, L2 penalty) — no side effects."""
        from keras import ops
        from .losses import regularization_penalty
        pred, non_trainable, losses = self.model.stateless_call(
            trainable, non_trainable, x, training=training, return_losses=True)
        return ops.cast(pred, "float32"), non_trainable, regularization_penalty(losses)

    def _objective(self, trainable, non_trainable, batch):
        """(loss, updated non-trainable state) of one batch (coverage and/or library part)."""
        from keras import ops
        from .library import batch_parts
        from .losses import library_loss, loss_terms
        cov, lib = batch_parts(batch, self.library)
        loss = None
        if cov is not None:
            pred, non_trainable, reg = self._forward(trainable, non_trainable, cov[0], True)
            num, den = loss_terms(cov, pred, self.loss_fn)
            loss = num / ops.maximum(den, 1.0) + reg
        if lib is not None:
            pred, non_trainable, reg = self._forward(trainable, non_trainable, lib[0], True)
            term = self.library_weight * library_loss(pred, lib[1], lib[2], lib[3])
            loss = term + reg if loss is None else loss + term
        return loss, non_trainable

    def _train_fn(self, state, batch):
        import jax
        from .optimizer import clip_gradients
        trainable, non_trainable, opt_vars = state

        def objective(trainable):
            return self._objective(trainable, non_trainable, batch)

        (loss, non_trainable), grads = jax.value_and_grad(objective, has_aux=True)(trainable)
        grads = clip_gradients(grads, self.global_clip, self.var_clip)
        trainable, opt_vars = self.optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), loss

    def _eval_fn(self, trainable, non_trainable, batch):
        """(loss sums, prediction or None): LM (4,) :func:`mlm_sums`; coverage (2,) loss terms."""
        from keras import ops
        from .losses import loss_terms, mlm_sums
        pred, _ = self.model.stateless_call(trainable, non_trainable, batch[0], training=False)
        pred = ops.cast(pred, "float32")
        if self.is_lm:
            return ops.stack(mlm_sums(batch[1], pred, batch[2], batch[3])), None
        return ops.stack(loss_terms(batch, pred, self.loss_fn)), pred

    def _readout_fn(self, trainable, non_trainable, batch):
        """(read-out (B, C), activity) of a library batch."""
        from keras import ops
        from .losses import library_readout
        pred, _ = self.model.stateless_call(trainable, non_trainable, batch[0], training=False)
        return library_readout(ops.cast(pred, "float32"), batch[1], batch[2]), batch[3]

    # ------------------------------------------------------------------ state
    def _variables(self):
        return (self.model.trainable_variables, self.model.non_trainable_variables, self.optimizer.variables)

    def _pull(self):
        return tuple([v.value for v in group] for group in self._variables())

    def sync(self) -> None:
        """Assign the step's state to the Keras variables (model and optimizer); afterwards the
        variables are the truth again (the next step reads them)."""
        if self._state is None:
            return
        for group, values in zip(self._variables(), self._state):
            for ref, value in zip(group, values):
                ref.assign(value)
        self._state = None

    # ------------------------------------------------------------------ data
    def _place(self, array):
        """A numpy batch array on the device(s): split along axis 0 under DataParallel (replicated
        when the batch does not divide over the devices, e.g. a split's last batch)."""
        import keras
        dist = self.distribution
        if dist is None:
            return array
        if array.shape[0] % self.n_rep == 0:
            layout = dist.get_data_layout(array.shape)
        else:
            layout = keras.distribution.TensorLayout([None] * array.ndim, dist.device_mesh)
        return keras.distribution.distribute_tensor(array, layout)

    def distribute(self, ds):
        """The batches of a tf.data dataset as (device-placed) arrays, one tuple per batch."""
        for batch in ds.as_numpy_iterator():
            yield tuple(self._place(np.asarray(b)) for b in batch)

    # ------------------------------------------------------------------ public steps
    def train_step(self, batch) -> float:
        """One optimizer update; returns the global training loss of the batch."""
        if self._state is None:
            self._state = self._pull()
        self._state, loss = self._train_jit(self._state, tuple(batch))
        return float(loss)

    def evaluate(self, data, split: str) -> dict:
        """Loss and metrics over ``split`` (coverage: also ``_tracks``, the per-track sums;
        library rows: :func:`yeastzoi.train.library.evaluate_library`'s metrics)."""
        from keras import ops
        from .library import add_library_metrics
        from .losses import regularization_penalty
        self.sync()
        trainable, non_trainable, _ = self._pull()
        reg = float(ops.convert_to_numpy(regularization_penalty(self.model.losses)))

        def readout_batches(ds):
            for batch in self.distribute(ds):
                readout, activity = self._readout_jit(trainable, non_trainable, batch)
                yield np.asarray(readout), np.asarray(activity)

        out = {"loss": reg} if self.library == "only" else self._evaluate_data(data, split, reg, trainable,
                                                                                non_trainable)
        return add_library_metrics(out, data, split, self.library_weight, readout_batches)

    def _evaluate_data(self, data, split: str, reg: float, trainable, non_trainable) -> dict:
        from .metrics import PearsonR2, mlm_metrics
        if self.is_lm:
            tot = np.zeros(4, np.float64)
            for ds in data.make_evals(split):
                for batch in self.distribute(ds):
                    tot += np.asarray(self._eval_jit(trainable, non_trainable, batch)[0], np.float64)
            return mlm_metrics(tot, reg)
        acc = PearsonR2(self.num_targets)
        tot = np.zeros(2, np.float64)
        for ds in data.make_evals(split):
            for batch in self.distribute(ds):
                sums, pred = self._eval_jit(trainable, non_trainable, batch)
                tot += np.asarray(sums, np.float64)
                acc.update(np.asarray(batch[1]), np.asarray(pred))   # float64 on the host
        out = {"loss": float(tot[0] / max(tot[1], 1.0) + reg)}
        out.update(acc.summary())
        out["_tracks"] = acc
        return out
