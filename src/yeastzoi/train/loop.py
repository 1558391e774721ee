"""Training: one custom distributed loop for the masked LM and the coverage models.

    summary = train("json_params/tiny.json", ["data/tracks"], "out/ft",
                    restore="out/lm/model_best.h5", trunk=True)

A run goes in three phases. **Validate** (nothing is written): the spec, the data dirs and
every record file, the restore file, the output folder (:mod:`yeastzoi.train.contract`: a
rerun must agree with the checkpoint it resumes; a folder holding another model is
refused), the model build and its output shape against the data, and the checkpoint to
resume. **Write**: OUT/params.json (the effective spec), ``train.log`` (with the records of
the validation phase), TensorBoard ``logs/``. **Train**: epochs, each committed as one
atomic checkpoint that holds weights, optimizer state, history and best model
(:mod:`yeastzoi.train.checkpoints`); then the test split with the best model.

**One loop for every strategy and backend** (:mod:`yeastzoi.train.strategies`): the model
and optimizer are built in ``strategy.scope()``, datasets are batched with the *global* batch
(``train.batch_size`` × replicas), and a step is, under TensorFlow, ``strategy.run`` of a
GradientTape step (:mod:`yeastzoi.train.steps`), under ``KERAS_BACKEND=jax`` a jitted
stateless step (:mod:`yeastzoi.train.steps_jax`; ``--strategy mirrored`` is Keras'
DataParallel over the local devices). Both share the losses, the L2 penalty, the clipping,
the checkpoints (backend-neutral: a run may be resumed under the other backend) and every
output. Under JAX, TensorFlow is still imported for the tf.data input pipelines (and the
TensorBoard event files), not for the model.

**Tasks** (``train.task``): ``self-supervised`` (loss ``mlm``; metrics: weighted loss, plain
masked cross-entropy, masked accuracy, perplexity = exp(CE); validation runs ``repeat_eval``
passes with masks seeded by the pass number, so every epoch sees the same masks);
``supervised`` / ``fine-tune`` (losses ``poisson``, ``poisson_mn``, ``mse``; Pearson R and R²
per track accumulated over every bin of the split, reported as the mean over tracks).

**Promoter libraries** (:mod:`yeastzoi.train.library`): library rows (construct, reporter
bins, track per condition, measured activity) trained through the model's own gene-level
read-out with a Pearson loss, alone (the data dir is a library dataset) or mixed into every
coverage step (``library=``); history.csv then has ``valid_library_loss`` and
``valid_library_pearsonr``.

**Outputs** in OUT: ``model_best.h5`` (baskerville layout), ``model_best.keras`` and
``model_meta.json`` (its ``best_epoch`` is the 1-based epoch of the weights);
``history.csv`` (one row per epoch); ``params.json`` (effective spec); ``train.log``;
``logs/{train,valid}`` TensorBoard events; ``checkpoints/epoch-N/`` and
``checkpoints/latest``; ``test_metrics.json`` and ``test_tracks.tsv`` (best model on the test
split, when the data has one). Running again in the same OUT resumes after the last
committed epoch (dataset shuffles and masks are seeded by (seed, epoch), so a resumed run
sees what an uninterrupted one would); raising ``train_epochs_max`` continues training.

Under MultiWorkerMirroredStrategy every worker runs the same code (collectives need it);
the chief writes to OUT, the others to ``OUT/.worker-N`` which they delete at the end.
"""
from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path

from .. import YeastzoiError
from ..fileio import write_json_atomic, write_text_atomic
from .checkpoints import (commit_epoch, fault_point, fault_setting, format_value, prune,
                          restore_outputs, write_params)
from .contract import Command
from .logs import RunLog, tensorboard_writers, write_epoch_scalars
from .optimizer import learning_rate_at
from .setup import Run, prepare_run

log = logging.getLogger(__name__)


def _load_spec(params, overrides):
    from ..model.params import apply_overrides, load_params, validate
    if isinstance(params, (str, Path)):
        return load_params(params, overrides)
    return validate(apply_overrides(params, overrides) if overrides else params)


def _check_paths(data_dirs, restore, trunk) -> list[Path]:
    from ..data.pipeline import read_statistics
    data_dirs = [Path(d) for d in ([data_dirs] if isinstance(data_dirs, (str, Path)) else data_dirs)]
    if not data_dirs:
        raise YeastzoiError("no data directory given")
    for d in data_dirs:
        if not d.is_dir():
            raise YeastzoiError(f"{d}: no such data directory")
        read_statistics(d)  # raises the one-line error when statistics.json is missing
    if restore is not None and not Path(restore).exists():
        raise YeastzoiError(f"{restore}: no such model file to restore")
    if trunk and restore is None:
        raise YeastzoiError("--trunk needs --restore LM.h5")
    return data_dirs


def _check_backend() -> None:
    """Training runs under the TensorFlow and JAX Keras backends (one step module each)."""
    import keras
    if keras.backend.backend() not in ("tensorflow", "jax"):
        raise YeastzoiError(f"training runs under KERAS_BACKEND tensorflow or jax, not "
                            f"{keras.backend.backend()!r}; unset KERAS_BACKEND (or set it to jax) to "
                            f"train, and use the other backend to predict")


def train(params, data_dirs, out_dir, restore=None, trunk: bool = False, strategy: str = "none",
          mixed_precision: bool = False, species: str | None = None, seed: int | None = None,
          progress=None, overrides: list[str] | None = None, splits: dict | None = None,
          library=None) -> dict:
    """Train a model from a spec on one or more data dirs; resume if OUT has a checkpoint.

    params: a params.json path or a loaded spec dict (see :func:`yeastzoi.model.params.load_params`);
        ``overrides`` are ``PATH=VALUE`` strings applied to it.
    data_dirs: data directories (LM corpora are interleaved; for tracks only the first is used).
    restore / trunk: weights to start from (``trunk=True``: the LM trunk, by layer name).
    strategy: ``none`` | ``mirrored`` | ``multiworker`` (TensorFlow; under JAX ``mirrored`` is
        DataParallel over the local devices and ``multiworker`` is refused); mixed_precision:
        bf16 on CPU, fp16 + loss scaling on a GPU under TensorFlow, bf16 everywhere under JAX.
    species: the target genome's name among the LM's species (default: the data's
        statistics.json ``species``, else the LM's reference species, index 0).
    progress: ``progress(desc, total) -> bar`` with ``update(n)`` (e.g. ``tqdm``); None: no bars.
    splits: ``{"train": files, "valid": files, "test": files}`` instead of the split names
        (cross-validation folds).
    library: a promoter-library data dir whose rows are mixed into every coverage step
        (:mod:`yeastzoi.train.library`; ``train.library_weight``). A first data dir that *is*
        a library dataset trains on library rows only.
    Returns a summary dict (epochs, best epoch and valid loss, test metrics, paths).
    Every problem found before training is a one-line YeastzoiError and leaves OUT untouched.
    """
    _check_backend()
    params = _load_spec(params, overrides)
    data_dirs = _check_paths(data_dirs, restore, trunk)
    if library is not None:
        _check_paths([library], None, False)
    fault_setting()                       # a malformed YEASTZOI_FAULT_AT is an error up front
    t = params["train"]
    explicit_seed = seed if seed is not None else t.get("seed")
    cmd = Command(params, data_dirs, restore, trunk, species, splits, bool(mixed_precision),
                  None if explicit_seed is None else int(explicit_seed), library=library)
    out_dir = Path(out_dir)
    with RunLog() as run_log:
        run = prepare_run(cmd, out_dir, strategy)
        run_log.open(out_dir / "train.log")
        _open_outputs(run)
        stopped_early = _run_epochs(run, progress)
        return _finish(run, stopped_early)


def _open_outputs(run: Run) -> None:
    run.write_dir.mkdir(parents=True, exist_ok=True)
    if run.committed is not None:
        restore_outputs(run.write_dir, run.committed)
    else:
        prune(run.write_dir, keep=None)           # temporaries of a run killed in its first epoch
    write_params(run.write_dir, run.params_out)


def _start_epoch(run: Run) -> tuple[int, bool]:
    """(first epoch to train, whether early stopping was already reached)."""
    t, state = run.t, run.state
    start = state["epoch"] + 1
    if start >= int(t["train_epochs_max"]):
        log.info("already trained %d epochs (train_epochs_max %d); nothing to do", start, t["train_epochs_max"])
        return start, False
    if state["since_best"] >= t["patience"] and start >= t["train_epochs_min"]:
        log.info("early stopping was reached before (%d epochs without improvement); raise "
                 "train.patience to continue", state["since_best"])
        return int(t["train_epochs_max"]), True
    return start, False


def _train_epoch(run: Run, epoch: int, progress) -> tuple[float, int]:
    """Train one epoch; returns (mean training loss, steps)."""
    steps_total = run.t.get("steps_per_epoch_max")
    if steps_total is None and run.data.n_train:
        steps_total = int(run.data.n_train) // (run.data.train_batch or run.global_batch)
    bar = progress(f"epoch {epoch + 1}/{run.t['train_epochs_max']}", steps_total) if progress else None
    loss_sum, n_steps = 0.0, 0
    for batch in run.steps.distribute(run.data.make_train(epoch)):
        loss = run.steps.train_step(batch)
        if not math.isfinite(loss):
            raise YeastzoiError(f"epoch {epoch + 1} step {n_steps + 1}: training loss is {loss}; lower "
                                "train.learning_rate or set train.global_clipnorm")
        loss_sum += loss
        n_steps += 1
        if n_steps == 1:
            fault_point("mid_epoch", epoch + 1)
        if bar is not None:
            bar.update(1)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss_sum / n_steps:.4f}")
    run.steps.sync()                              # JAX: the step's state into the variables
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    if n_steps == 0:
        raise YeastzoiError(f"{run.cmd.data_dirs[0]}: no training batches (fewer than "
                            f"{run.data.train_batch or run.global_batch} train sequences for the global batch?); "
                            "lower train.batch_size (library rows: train.library_batch_size)")
    return loss_sum / n_steps, n_steps


def _save_best(run: Run, epoch: int):
    def save(folder: Path) -> None:
        run.seqnn.meta["best_epoch"] = epoch + 1
        run.seqnn.save(folder / "model_best.h5")
        run.seqnn.save(folder / "model_best.keras")
    return save


def _end_epoch(run: Run, epoch: int, train_loss: float, n_steps: int, seconds: float) -> tuple[dict, bool]:
    """Validate, then commit the epoch's checkpoint (one atomic unit); returns (valid, improved)."""
    import keras
    state = run.state
    valid = run.steps.evaluate(run.data, "valid")
    valid.pop("_tracks", None)
    step = int(keras.ops.convert_to_numpy(run.optimizer.iterations))
    lr = learning_rate_at(run.t, max(step - 1, 0))
    row = {"epoch": epoch + 1, "train_loss": train_loss}
    row.update({f"valid_{k}": v for k, v in valid.items()})
    row.update(seconds=round(seconds, 2), lr=lr, steps=n_steps)
    improved = state["best_valid_loss"] is None or valid["loss"] < state["best_valid_loss"]
    if improved:
        state.update(best_valid_loss=float(valid["loss"]), best_epoch=epoch, since_best=0)
    else:
        state["since_best"] += 1
    state.update(epoch=epoch, step=step, backend=keras.backend.backend())
    run.history.append({k: format_value(v) for k, v in row.items()})
    commit_epoch(run.write_dir, epoch, run.ckpt, state, run.history, run.record, run.params_out,
                 _save_best(run, epoch) if improved else None)
    write_epoch_scalars(run.tensorboard, epoch + 1, train_loss, lr, valid)
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in valid.items() if k != "loss")
    log.info("epoch %d: train loss %.4f, valid loss %.4f%s  %s  (%.1f s, %d steps, lr %.2e)",
             epoch + 1, train_loss, valid["loss"], " *" if improved else "", metrics, seconds, n_steps, lr)
    return valid, improved


def _run_epochs(run: Run, progress) -> bool:
    """Train the remaining epochs; returns whether training stopped early."""
    start, stopped_early = _start_epoch(run)
    if run.is_chief and start < int(run.t["train_epochs_max"]):
        run.tensorboard = tensorboard_writers(run.out_dir)
    for epoch in range(start, int(run.t["train_epochs_max"])):
        t0 = time.time()
        train_loss, n_steps = _train_epoch(run, epoch, progress)
        _end_epoch(run, epoch, train_loss, n_steps, time.time() - t0)
        if epoch + 1 >= run.t["train_epochs_min"] and run.state["since_best"] >= run.t["patience"]:
            log.info("early stop: valid loss did not improve for %d epochs", run.state["since_best"])
            return True
    return stopped_early


def _finish(run: Run, stopped_early: bool) -> dict:
    """Test the best model (when the data has a test split); the run's summary."""
    state, write_dir = run.state, run.write_dir
    summary = {"out_dir": str(run.out_dir), "epochs": state["epoch"] + 1, "best_epoch":
               None if state["best_epoch"] is None else state["best_epoch"] + 1,
               "best_valid_loss": state["best_valid_loss"], "stopped_early": stopped_early,
               "replicas": run.steps.n_rep, "history": run.history}
    if run.has_test and (write_dir / "model_best.h5").exists():
        run.seqnn.restore(write_dir / "model_best.h5")
        test = run.steps.evaluate(run.data, "test")
        acc = test.pop("_tracks", None)
        summary["test"] = test
        write_json_atomic(write_dir / "test_metrics.json", test)
        if acc is not None:
            ids = run.data.target_ids or [str(i) for i in range(run.steps.num_targets)]
            lines = ["identifier\tpearsonr\tr2"] + [f"{i}\t{r:.6g}\t{q:.6g}" for i, r, q in
                                                    zip(ids, acc.pearsonr(), acc.r2())]
            write_text_atomic(write_dir / "test_tracks.tsv", "\n".join(lines) + "\n")
        log.info("test (best model, epoch %s): %s", summary["best_epoch"],
                 "  ".join(f"{k} {v:.4f}" for k, v in test.items()))
    if not run.is_chief:
        shutil.rmtree(write_dir, ignore_errors=True)
    return summary
