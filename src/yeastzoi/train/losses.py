"""Training losses (``keras.ops`` only, so they run under any Keras backend).

Coverage losses take ``y_true``/``y_pred`` of shape (B, L, T) and return one value per
example, shape (B,); the trainer sums them and divides by the *global* batch size, so a
batch split over replicas gives the same loss as on one device.

* :func:`poisson` — mean over bins and tracks of ``ŷ − y·log ŷ``.
* :func:`mse` — mean squared error over bins and tracks.
* :func:`poisson_mn` — Borzoi's Poisson-multinomial: for each track, a Poisson term on the
  total over positions (``Σŷ − Σy·log Σŷ``) weighted by ``total_weight``, plus a multinomial
  term on the shape (``−Σ_l y_l·log(ŷ_l / Σŷ)``); both divided by L (so the 1:1 balance of
  the two terms at ``total_weight`` 1 is Borzoi's) and averaged over tracks.
  An ``eps`` of 1e-7 is added to y and ŷ first.

Masked LM (see :mod:`yeastzoi.data.pipeline`): :func:`mlm_sums` returns the per-batch sums the
trainer reduces across replicas; :func:`mlm_loss` is ``Σ w·CE / Σ m`` for one batch.

Promoter library (:mod:`yeastzoi.data.library` rows; ``train.library_weight``):
:func:`library_readout` is the model's own gene-level prediction of a construct, ``r =
log2(1 + Σ_{b ∈ reporter bins} ŷ[b, track_c])`` per row and condition (ŷ in the model's output
space, i.e. the transformed coverage the model is trained on); :func:`library_loss` is the mean
over conditions of ``1 − Pearson(r, activity)`` over the rows of the batch. Pearson is
invariant to an affine map of either side, so the read-out needs no calibration parameters:
the assay's units and offset (log expression, MPRA ratios) and the model's track scale never
have to be matched, only the ranking and linear shape of the activities are learnt; the loss
lies in [0, 2] whatever the assay.

The training steps of both backends (:mod:`yeastzoi.train.steps` on TensorFlow,
:mod:`yeastzoi.train.steps_jax` on JAX) take their loss from :func:`loss_terms` (numerator and
denominator of one batch: the training loss is Σ numerators / Σ denominators over the global
batch) and the weight penalty from :func:`regularization_penalty`, so the two backends share
one definition of every loss.
"""
from __future__ import annotations

from keras import ops

EPS = 1e-7
COVERAGE_LOSSES = ("poisson", "poisson_mn", "mse")


def _f32(x):
    return ops.cast(x, "float32")


def poisson(y_true, y_pred):
    """Per-example Poisson NLL (without the log y! term), mean over bins and tracks → (B,)."""
    y_true, y_pred = _f32(y_true), _f32(y_pred)
    per = y_pred - y_true * ops.log(y_pred + EPS)
    return ops.mean(per, axis=(1, 2))


def mse(y_true, y_pred):
    """Per-example mean squared error over bins and tracks → (B,)."""
    y_true, y_pred = _f32(y_true), _f32(y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=(1, 2))


def poisson_mn(y_true, y_pred, total_weight: float = 1.0):
    """Per-example Poisson-multinomial loss → (B,) (see the module docstring)."""
    y_true, y_pred = _f32(y_true) + EPS, _f32(y_pred) + EPS
    length = ops.cast(ops.shape(y_true)[1], "float32")
    s_true = ops.sum(y_true, axis=1)               # (B, T)
    s_pred = ops.sum(y_pred, axis=1)
    pois = ops.mean(s_pred - s_true * ops.log(s_pred), axis=-1) / length
    logp = ops.log(y_pred / s_pred[:, None, :])
    multi = ops.mean(-ops.sum(y_true * logp, axis=1), axis=-1) / length
    return multi + total_weight * pois


def coverage_loss(name: str, total_weight: float = 1.0):
    """The per-example loss function ``f(y_true, y_pred) → (B,)`` named in params.train.loss."""
    if name == "poisson":
        return poisson
    if name == "mse":
        return mse
    if name == "poisson_mn":
        return lambda y, p: poisson_mn(y, p, total_weight)
    raise ValueError(f"unknown coverage loss {name!r}; expected one of {', '.join(COVERAGE_LOSSES)}")


def mlm_sums(y, probs, w, m):
    """Masked-LM sums over a batch: (Σ w·CE, Σ m·CE, Σ m·[argmax = y], Σ m), float32 scalars.

    y int (B, L) base codes (N = 4 only at unmasked positions); probs (B, L, 4) softmax;
    w, m float (B, L) weights and mask (0 outside masked positions).
    """
    probs = _f32(probs)
    w, m = _f32(w), _f32(m)
    y = ops.cast(ops.minimum(ops.cast(y, "int32"), 3), "int32")
    onehot = ops.one_hot(y, 4, dtype="float32")
    ce = -ops.log(ops.clip(ops.sum(onehot * probs, axis=-1), EPS, 1.0))
    correct = ops.cast(ops.equal(ops.argmax(probs, axis=-1), y), "float32")
    return ops.sum(w * ce), ops.sum(m * ce), ops.sum(m * correct), ops.sum(m)


def mlm_loss(y, probs, w, m):
    """Shorkie's masked-LM loss of one batch: ``Σ w·CE / Σ m`` (scalar)."""
    wce, _, _, n = mlm_sums(y, probs, w, m)
    return wce / ops.maximum(n, 1.0)


def loss_terms(batch, pred, loss_fn=None):
    """(numerator, denominator) of one batch's training loss, float32 scalars.

    The loss of a global batch is Σ numerator / max(Σ denominator, 1), the sums running over
    the replicas' shares of the batch. Masked LM (``loss_fn`` None; ``batch`` = (x, y, w, m)):
    (Σ w·CE, Σ m). Coverage (``batch`` = (x, y), ``loss_fn`` from :func:`coverage_loss`):
    (Σ per-example loss, number of examples).
    """
    if loss_fn is None:
        wce, _, _, cnt = mlm_sums(batch[1], pred, batch[2], batch[3])
        return wce, cnt
    per = loss_fn(batch[1], pred)
    return ops.sum(per), ops.cast(ops.shape(per)[0], "float32")


def regularization_penalty(losses):
    """The sum of a model's regularisation losses (e.g. ``model.losses``: the layers' L2
    penalties) as a float32 scalar; 0 for an empty list."""
    if not losses:
        return ops.convert_to_tensor(0.0, "float32")
    total = _f32(losses[0])
    for extra in losses[1:]:
        total = total + _f32(extra)
    return total


def library_readout(pred, gene_mask, tracks):
    """The gene-level read-out of library constructs, float32 (B, C).

    pred (B, L, T) model output; gene_mask (B, L) 1 on the reporter's bins; tracks int (B, C)
    the track read out per condition. ``r[i, c] = log2(1 + Σ_b gene_mask[i, b] · pred[i, b,
    tracks[i, c]])``."""
    pred, gene_mask = _f32(pred), _f32(gene_mask)
    per_track = ops.sum(pred * gene_mask[:, :, None], axis=1)                      # (B, T)
    onehot = ops.one_hot(ops.cast(tracks, "int32"), ops.shape(pred)[-1], dtype="float32")  # (B, C, T)
    total = ops.sum(onehot * per_track[:, None, :], axis=-1)                       # (B, C)
    return ops.log2(1.0 + ops.maximum(total, 0.0))


def pearson_columns(x, y):
    """Pearson r of each column of x and y (B, C) over the rows → (C,), float32 (0 where a
    column is constant)."""
    x, y = _f32(x), _f32(y)
    xc = x - ops.mean(x, axis=0, keepdims=True)
    yc = y - ops.mean(y, axis=0, keepdims=True)
    num = ops.sum(xc * yc, axis=0)
    den = ops.sqrt(ops.sum(ops.square(xc), axis=0) * ops.sum(ops.square(yc), axis=0) + EPS)
    return num / den


def library_loss(pred, gene_mask, tracks, activity):
    """Mean over conditions of ``1 − Pearson(read-out, activity)`` over the batch (scalar)."""
    return ops.mean(1.0 - pearson_columns(library_readout(pred, gene_mask, tracks), activity))
