"""Checkpoints and history as ONE atomic unit per epoch, resume, and the fault-injection hook.

An epoch's bookkeeping is written into ``OUT/checkpoints/.tmp-epoch-N-PID/``:

    train_state.h5    :class:`TrainState`, backend-neutral (HDF5): every model variable
                      (weights, BatchNorm statistics, the Keras seed-generator states) and
                      every optimizer variable (step counter, moments), so a run started
                      under TensorFlow resumes under JAX and vice versa
    history.csv       every epoch's row so far
    model_best.h5, model_best.keras, model_meta.json
                      the best model so far (written when the epoch improved, else hard
                      links to the previous checkpoint's files)
    run.json          the run's contract (the command's spec, data dirs, restore, species, ...;
                      :mod:`yeastzoi.train.contract`)
    params.json       the effective spec the network was built from
    state.json        epoch, optimizer step, best valid loss and epoch, patience counter, seed

then renamed to ``epoch-N`` (N = 0-based epoch), and ``checkpoints/latest`` is replaced
atomically to name it: **that replace is the commit**. Only afterwards are the files a user
reads (``OUT/history.csv``, ``OUT/model_best.*``, ``OUT/model_meta.json``) *published* from
the committed checkpoint (hard links, each replaced atomically), and older checkpoints
removed. A process killed at any point leaves either the previous or the new epoch
committed; a rerun resumes from the committed one and publishes its files again, so the
top-level history.csv always equals the checkpoint's (no lost or duplicated rows) and
model_best.* is the best model of the epochs it lists.

Checkpoints written by an older yeastzoi hold a tf.train.Checkpoint (``ckpt.*``) instead of
``train_state.h5``; they resume under TensorFlow only.

**Fault injection** (tests): ``YEASTZOI_FAULT_AT=STAGE[:EPOCH]`` makes the trainer call
``os._exit(137)`` (as if SIGKILLed) at that stage of that 1-based epoch (any epoch when
omitted). Stages, in order: ``mid_epoch`` (after the epoch's first training step),
``after_weights``, ``after_history``, ``after_best``, ``after_state``, ``before_commit``
(the directory renamed, ``latest`` not yet replaced), ``after_commit`` (nothing published
yet) and ``after_publish`` (older checkpoints not yet removed).
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import YeastzoiError
from ..fileio import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

CKPT_DIR = "checkpoints"
LATEST = "latest"
FAULT_ENV = "YEASTZOI_FAULT_AT"
FAULT_STAGES = ("mid_epoch", "after_weights", "after_history", "after_best", "after_state",
                "before_commit", "after_commit", "after_publish")
#: the files published from the committed checkpoint to OUT
PUBLISHED = ("history.csv", "model_best.h5", "model_best.keras", "model_meta.json")
STATE_FILE = "train_state.h5"
BEST_FILES = ("model_best.h5", "model_best.keras", "model_meta.json")


# ------------------------------------------------------------------------- fault hook
def fault_setting() -> tuple[str, int | None] | None:
    """(stage, 1-based epoch or None) from ``YEASTZOI_FAULT_AT``; a bad value is an error."""
    raw = os.environ.get(FAULT_ENV, "").strip()
    if not raw:
        return None
    stage, _, epoch = raw.partition(":")
    if stage not in FAULT_STAGES or (epoch and not epoch.isdigit()):
        raise YeastzoiError(f"{FAULT_ENV}={raw}: expected STAGE[:EPOCH] with STAGE one of "
                            f"{', '.join(FAULT_STAGES)}")
    return stage, int(epoch) if epoch else None


def fault_point(stage: str, epoch: int) -> None:
    """Exit at once with status 137 when ``YEASTZOI_FAULT_AT`` names this stage (and epoch)."""
    setting = fault_setting()
    if setting and setting[0] == stage and setting[1] in (None, epoch):
        os._exit(137)


# ---------------------------------------------------------------------------- history
def format_value(v):
    """History cells: floats with 6 significant digits, everything else as is."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def read_history_rows(path) -> list[dict]:
    """history.csv rows as dicts of strings ([] when the file does not exist)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def history_text(rows: list[dict]) -> str:
    """CSV text of history rows (columns in first-seen order)."""
    cols = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


# ---------------------------------------------------------------------------- reading
@dataclass
class Committed:
    """The last committed checkpoint of an output folder."""
    path: Path
    state: dict
    run: dict | None            # run.json; None for a checkpoint of an older yeastzoi
    params: dict | None         # the effective spec it was trained with
    history: list[dict]

    @property
    def name(self) -> str:
        return self.path.name


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def committed_checkpoint(write_dir) -> Committed | None:
    """The checkpoint ``checkpoints/latest`` names, or None when there is none."""
    write_dir = Path(write_dir)
    latest = write_dir / CKPT_DIR / LATEST
    if not latest.exists():
        return None
    path = write_dir / CKPT_DIR / latest.read_text().strip()
    state = _read_json(path / "state.json")
    if state is None:
        raise YeastzoiError(f"{latest} names {path}, which is missing or incomplete; remove "
                            f"{write_dir / CKPT_DIR} to start over or train into a new --out")
    run = _read_json(path / "run.json")
    params = _read_json(path / "params.json") or _read_json(write_dir / "params.json")
    if (path / "history.csv").exists():
        history = read_history_rows(path / "history.csv")
    else:   # an older yeastzoi wrote history.csv only at the top level
        history = [r for r in read_history_rows(write_dir / "history.csv")
                   if int(r["epoch"]) <= state["epoch"] + 1]
    return Committed(path, state, run, params, history)


# ------------------------------------------------------------------------ train state
class TrainState:
    """A run's training state as one backend-neutral HDF5 file (``train_state.h5``).

    Groups ``model`` (``model.variables``: weights, BatchNorm statistics and the seed-generator
    states of dropout) and ``optimizer`` (``optimizer.variables``: step counter, moments), one
    dataset per variable in the order Keras lists them (named 00000, 00001, ...; attribute
    ``path``: the variable's Keras path, for messages). The order is that of the model built
    from the checkpoint's own spec, the same under every backend; on reading, counts and
    shapes must match and values are cast to the variable's dtype (seed states are int64
    under TensorFlow, uint32 under JAX)."""

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def _groups(self):
        return {"model": self.model.variables, "optimizer": self.optimizer.variables}

    def write(self, folder) -> Path:
        """Write ``folder/train_state.h5``; returns its path."""
        import h5py
        import keras
        path = Path(folder) / STATE_FILE
        with h5py.File(path, "w") as f:
            f.attrs["backend"] = keras.backend.backend()
            for name, variables in self._groups().items():
                group = f.create_group(name)
                for i, v in enumerate(variables):
                    group.create_dataset(f"{i:05d}", data=np.asarray(keras.ops.convert_to_numpy(v)))
                    group[f"{i:05d}"].attrs["path"] = str(v.path)
        return path

    def read(self, folder) -> str:
        """Assign the state in ``folder`` to the model and optimizer; returns the backend that
        wrote it. A state that does not fit (counts, shapes) is a one-line YeastzoiError and
        assigns nothing."""
        folder = Path(folder)
        path = folder / STATE_FILE
        if not path.exists():
            if (folder / "ckpt.index").exists():
                self._read_tf_checkpoint(folder)
                return "tensorflow"
            raise YeastzoiError(f"{folder}: no {STATE_FILE} in the checkpoint; remove {folder.parent} "
                                "to start over or train into a new --out")
        import h5py
        pairs = []
        with h5py.File(path, "r") as f:
            written_by = str(f.attrs.get("backend", "?"))
            for name, variables in self._groups().items():
                keys = sorted(f[name]) if name in f else []
                if len(keys) != len(variables):
                    raise YeastzoiError(f"{path}: {len(keys)} {name} variables, but the {name} built from the "
                                        f"checkpoint's spec has {len(variables)}; train into a new --out")
                for key, v in zip(keys, variables):
                    value = f[name][key][()]
                    if tuple(value.shape) != tuple(v.shape):
                        raise YeastzoiError(f"{path}: {name} variable {key} ({f[name][key].attrs.get('path')}) "
                                            f"has shape {tuple(value.shape)}, but {v.path} is {tuple(v.shape)}; "
                                            "train into a new --out")
                    pairs.append((v, np.asarray(value).astype(v.dtype)))
        for v, value in pairs:
            v.assign(value)
        return written_by

    def _read_tf_checkpoint(self, folder: Path) -> None:
        """A checkpoint of an older yeastzoi: a tf.train.Checkpoint (TensorFlow only)."""
        import keras
        if keras.backend.backend() != "tensorflow":
            raise YeastzoiError(f"{folder}: a checkpoint of an older yeastzoi (tf.train.Checkpoint) resumes under "
                                "TensorFlow only; unset KERAS_BACKEND to continue this run")
        import tensorflow as tf
        model = self.model
        rng = [v for v in model.variables if not any(v is w for w in model.weights)]
        ckpt = tf.train.Checkpoint(model=model, optimizer=self.optimizer, rng=rng)
        try:
            ckpt.read(str(folder / "ckpt")).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            raise YeastzoiError(f"{folder}: the checkpoint does not fit the model built from its "
                                f"spec ({first}); train into a new --out") from None


# ---------------------------------------------------------------------------- writing
def _link(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (a copy where links are not possible)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _replace_from(src: Path, dst: Path) -> None:
    tmp = dst.parent / f".{dst.name}.publish-{os.getpid()}"
    if tmp.exists():
        tmp.unlink()
    _link(src, tmp)
    os.replace(tmp, dst)


def publish(write_dir, committed_dir) -> None:
    """Make OUT's history.csv and model_best.* those of the committed checkpoint."""
    write_dir, committed_dir = Path(write_dir), Path(committed_dir)
    for name in PUBLISHED:
        if (committed_dir / name).exists():
            _replace_from(committed_dir / name, write_dir / name)


def prune(write_dir, keep: str | None) -> None:
    """Remove every checkpoint directory except ``keep`` (temporaries and uncommitted ones too)."""
    ck = Path(write_dir) / CKPT_DIR
    if not ck.is_dir():
        return
    for old in ck.iterdir():
        if old.name != keep and (old.name.startswith("epoch-") or old.name.startswith(".tmp-")):
            shutil.rmtree(old, ignore_errors=True)


def _carry_best(write_dir: Path, tmp: Path) -> None:
    """Link the previous best model into the new checkpoint (the epoch did not improve)."""
    prev = committed_checkpoint(write_dir)
    for name in BEST_FILES:
        for src in ([prev.path / name] if prev else []) + [write_dir / name]:
            if src.exists():
                _link(src, tmp / name)
                break


def commit_epoch(write_dir, epoch: int, ckpt, state: dict, history: list[dict], run: dict,
                 params: dict, save_best=None) -> Path:
    """Write epoch ``epoch`` (0-based) as one checkpoint, commit it, publish it, prune the rest.

    ``ckpt``: the :class:`TrainState`; ``save_best(folder)``: writes model_best.* into the
    folder when this epoch improved (None: the previous best is carried over)."""
    write_dir = Path(write_dir)
    ck = write_dir / CKPT_DIR
    ck.mkdir(parents=True, exist_ok=True)
    e1, name = epoch + 1, f"epoch-{epoch}"
    tmp = ck / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    ckpt.write(tmp)
    fault_point("after_weights", e1)
    (tmp / "history.csv").write_text(history_text(history))
    fault_point("after_history", e1)
    if save_best is not None:
        save_best(tmp)
    else:
        _carry_best(write_dir, tmp)
    fault_point("after_best", e1)
    for fname, obj in (("run.json", run), ("params.json", params), ("state.json", state)):
        (tmp / fname).write_text(json.dumps(obj, indent=2) + "\n")
    fault_point("after_state", e1)
    final = ck / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fault_point("before_commit", e1)
    write_text_atomic(ck / LATEST, name + "\n")          # the commit
    fault_point("after_commit", e1)
    publish(write_dir, final)
    fault_point("after_publish", e1)
    prune(write_dir, keep=name)
    return final


def restore_outputs(write_dir, committed: Committed) -> None:
    """On resume: drop uncommitted checkpoint folders and publish the committed files again
    (repairs a run killed between its commit and its publishing)."""
    prune(write_dir, keep=committed.name)
    publish(write_dir, committed.path)
    if not (committed.path / "history.csv").exists() and committed.history:
        write_text_atomic(Path(write_dir) / "history.csv", history_text(committed.history))


def write_params(write_dir, params: dict) -> None:
    """OUT/params.json: the effective spec (train with its seed, model as built)."""
    write_json_atomic(Path(write_dir) / "params.json", params)
