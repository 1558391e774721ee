"""Training: one custom distributed loop for the masked LM and the coverage models.

This module is TensorFlow-specific (tf.data, tf.distribute, tf.train.Checkpoint); the
model, losses and metrics it drives are Keras 3 code.

    summary = train("json_params/tiny.json", ["data/tracks"], "out/ft",
                    restore="out/lm/model_best.h5", trunk=True)

**One loop for every strategy** (``none`` → the default strategy, ``mirrored`` →
MirroredStrategy over local GPUs, or over all logical CPU devices when there is no GPU,
``multiworker`` → MultiWorkerMirroredStrategy from ``TF_CONFIG``): the model and optimizer
are built in ``strategy.scope()``, datasets are batched with the *global* batch
(``train.batch_size`` × replicas) and split by ``experimental_distribute_dataset``, and a
step is ``strategy.run`` of a ``GradientTape`` step. Each replica's loss is its share of
the global loss: coverage losses are Σ per-example loss / (global number of examples), the
masked-LM loss is Σ w·CE / (global Σ m) (the denominators are all-reduced), and the L2
penalty of the layer regularisers is divided by the number of replicas; the optimizer sums
gradients across replicas, so a batch gives the same update on 1 or N replicas (up to
batch statistics of BatchNorm, which are per replica).

**Tasks** (``train.task``): ``self-supervised`` (loss ``mlm``; metrics: weighted loss, plain
masked cross-entropy, masked accuracy, perplexity = exp(CE); validation runs ``repeat_eval``
passes with masks seeded by the pass number, so every epoch sees the same masks);
``supervised`` / ``fine-tune`` (losses ``poisson``, ``poisson_mn``, ``mse``; Pearson R and R²
per track accumulated over every bin of the split, reported as the mean over tracks).
Validation losses are Σ over the split / Σ count (not a mean of batch means) plus the L2
penalty, like Keras' ``val_loss``.

**Outputs** in OUT: ``model_best.h5`` (baskerville layout) and ``model_best.keras`` and
``model_meta.json``; ``history.csv`` (one row per epoch); ``params.json`` (effective spec);
``train.log``; ``logs/{train,valid}`` TensorBoard events; ``checkpoints/epoch-N/`` (a
tf.train.Checkpoint of model, optimizer — including its step counter — and the Keras
seed-generator states, plus ``state.json`` with the epoch, best valid loss, patience
counter and seed) written under a temporary name and renamed, then
``checkpoints/latest`` rewritten atomically; ``test_metrics.json`` (best model on the test
split, when the data has one). Running again in the same OUT resumes after the last
finished epoch (dataset shuffles and masks are seeded by (seed, epoch), so a resumed run
sees what an uninterrupted one would); raising ``train_epochs_max`` continues training.

Under MultiWorkerMirroredStrategy every worker runs the same code (collectives need it);
the chief writes to OUT, the others to ``OUT/.worker-N`` which they delete at the end.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .. import YeastzoiError
from ..fileio import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

STRATEGIES = ("none", "mirrored", "multiworker")
CKPT_DIR = "checkpoints"


# --------------------------------------------------------------------------- strategy
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


def _worker_role(strategy) -> tuple[bool, int]:
    """(is_chief, task id) of this process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True, 0
    ttype, tid = resolver.task_type, int(resolver.task_id or 0)
    cluster = resolver.cluster_spec().as_dict()
    if "chief" in cluster:
        return ttype == "chief", tid
    return ttype == "worker" and tid == 0, tid


# ------------------------------------------------------------------------ optimizer
def _schedule_cls():
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


def learning_rate_at(train_params: dict, step: int) -> float:
    """The scheduled learning rate at optimizer step ``step`` (for logs)."""
    sched = _schedule_cls()(train_params["learning_rate"], train_params.get("warmup_steps", 0),
                            train_params.get("decay_steps"), train_params.get("decay_rate"))
    return float(np.asarray(sched(step)))


def make_optimizer(train_params: dict, loss_scale: bool = False, clip: bool = True):
    """Keras optimizer from ``params.train`` (adam / adamw / sgd), warm-up schedule, clipping;
    wrapped in a LossScaleOptimizer when ``loss_scale`` (mixed_float16).

    ``clip=False`` leaves ``global_clipnorm`` / ``clip_norm`` out: Keras clips each replica's
    gradients *before* summing them across replicas, so the distributed train step clips the
    summed gradients itself instead."""
    import keras
    t = train_params
    sched = _schedule_cls()(t["learning_rate"], t.get("warmup_steps", 0), t.get("decay_steps"),
                            t.get("decay_rate"))
    want_clip = clip
    clip = {}
    if not want_clip:
        pass
    elif t.get("global_clipnorm"):
        clip["global_clipnorm"] = float(t["global_clipnorm"])
    elif t.get("clip_norm"):
        clip["clipnorm"] = float(t["clip_norm"])
    name = t.get("optimizer", "adam")
    if name == "adam":
        opt = keras.optimizers.Adam(sched, beta_1=t["adam_beta1"], beta_2=t["adam_beta2"], **clip)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(sched, weight_decay=t.get("weight_decay") or 0.0,
                                     beta_1=t["adam_beta1"], beta_2=t["adam_beta2"], **clip)
    elif name == "sgd":
        opt = keras.optimizers.SGD(sched, momentum=t.get("momentum", 0.99), **clip)
    else:
        raise YeastzoiError(f"train.optimizer: {name!r} is not one of adam, adamw, sgd")
    if loss_scale:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


# ---------------------------------------------------------------------------- data
class _Data:
    """Dataset factories and facts for one training run."""

    def __init__(self, kind, stats, make_train, make_evals, num_features, target_ids=None,
                 species=None, species_index=None, target_species=None, n_train=None):
        self.kind = kind                    # "lm" | "tracks"
        self.stats = stats
        self.make_train = make_train        # epoch → tf.data
        self.make_evals = make_evals        # split → list of tf.data (LM: one per repeat)
        self.num_features = num_features
        self.target_ids = target_ids
        self.species = species
        self.species_index = species_index
        self.target_species = target_species
        self.n_train = n_train


def _shard_policy(ds):
    import tensorflow as tf
    opt = tf.data.Options()
    opt.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opt)


def _target_ids(data_dir, num_targets):
    path = Path(data_dir) / "targets.txt"
    if path.exists():
        from ..coverage.targets import read_targets
        ids = [str(i) for i in read_targets(path)["identifier"]]
        if len(ids) == num_targets:
            return ids
        log.warning("%s lists %d tracks but statistics.json says %d; target_ids not recorded",
                    path, len(ids), num_targets)
    return None


def _strand_pairs(data_dir):
    """The targets sheet's strand_pair column (track i ↔ pair[i]) for RC ensembles/augmentation."""
    from ..coverage.targets import read_targets, strand_pairs
    return [int(i) for i in strand_pairs(read_targets(Path(data_dir) / "targets.txt"))]


def _match_species(names, wanted, data_species, source):
    """Index of the target genome's species channel (see module docstring of train)."""
    if not names:
        return None, None
    for label, value in (("--species", wanted), ("the data's statistics.json species", data_species)):
        if value is None:
            continue
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        if isinstance(value, list):
            continue
        if value in names:
            idx = names.index(value)
            log.info("species channel: %s (index %d of %d in %s), from %s", value, idx, len(names), source, label)
            return idx, value
        if label == "--species":
            raise YeastzoiError(f"--species {value}: not among the {len(names)} species of {source} "
                                f"({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})")
        log.warning("the data's species %r is not among the species of %s; using index 0", value, source)
    log.info("species channel: %s (index 0, the LM corpus's reference species; pass --species to choose)",
             names[0])
    return 0, names[0]


def _count(stats, split, files):
    n = stats.get(f"{split}_seqs")
    return int(n) if n is not None and files is None else None


def _lm_data(t, data_dirs, seed, global_batch, splits):
    import tensorflow as tf
    from ..data.pipeline import lm_dataset, read_statistics
    stats_all = [read_statistics(d) for d in data_dirs]
    stats = stats_all[0]
    for d, s in zip(data_dirs[1:], stats_all[1:]):
        for key in ("seq_length", "num_species", "species"):
            if s.get(key) != stats.get(key):
                raise YeastzoiError(f"{d}: {key} {s.get(key)!r} differs from {data_dirs[0]}'s "
                                    f"{stats.get(key)!r}; LM corpora trained together must share "
                                    "seq_length and the species list")
    n_species = int(stats.get("num_species", 1))
    kw = dict(mask_rate=t["mask_rate"], use_bert=t["use_bert"], exon_loss_scale=t["exon_loss_scale"],
              non_exon_loss_scale=t["non_exon_loss_scale"], repeat_loss_scale=t["repeat_loss_scale"],
              non_repeat_loss_scale=t["non_repeat_loss_scale"])
    steps = t.get("steps_per_epoch_max")

    def make_train(epoch):
        parts = [lm_dataset(d, "train", batch_size=global_batch, training=True, rc=True,
                            seed=seed * 100003 + epoch, repeat=bool(steps), shuffle=True,
                            shuffle_buffer=t["shuffle_buffer"], drop_remainder=True,
                            files=(splits or {}).get("train"), **kw) for d in data_dirs]
        ds = parts[0] if len(parts) == 1 else tf.data.Dataset.sample_from_datasets(
            parts, seed=seed + epoch, stop_on_empty_dataset=False)
        return ds.take(steps) if steps else ds

    def make_evals(split):
        out = []
        for r in range(max(1, int(t.get("repeat_eval") or 1))):
            parts = [lm_dataset(d, split, batch_size=global_batch, training=False, rc=False,
                                seed=1_000_003 + r, shuffle=False, files=(splits or {}).get(split), **kw)
                     for d in data_dirs]
            ds = parts[0]
            for p in parts[1:]:
                ds = ds.concatenate(p)
            if t.get("eval_steps_max"):
                ds = ds.take(int(t["eval_steps_max"]))
            out.append(ds)
        return out

    species = stats.get("species")
    n_train = sum(int(s.get("train_seqs", 0)) for s in stats_all)
    return _Data("lm", stats, make_train, make_evals, 5 + n_species, species=species, n_train=n_train)


def _track_data(t, data_dirs, seed, global_batch, splits, num_features, species_names, species,
                names_source):
    from ..data.pipeline import read_statistics, track_dataset
    if len(data_dirs) > 1:
        log.warning("coverage training reads only the first data dir (%s); ignoring %s",
                    data_dirs[0], ", ".join(map(str, data_dirs[1:])))
    d = data_dirs[0]
    stats = read_statistics(d)
    sp_idx, sp_name = None, None
    if num_features > 5:
        sp_idx, sp_name = _match_species(species_names, species, stats.get("species"), names_source)
        if sp_idx is None:
            raise YeastzoiError(f"the model takes {num_features} input channels ({num_features - 5} species) "
                                "but no species list is known: restore an LM file with metadata or set "
                                "model.species in the spec")
    steps = t.get("steps_per_epoch_max")
    files = splits or {}

    def make_train(epoch):
        ds = track_dataset(d, "train", batch_size=global_batch, shuffle=True,
                           shuffle_buffer=t["shuffle_buffer"], seed=seed * 100003 + epoch,
                           repeat=bool(steps), files=files.get("train"), num_features=num_features,
                           species_index=sp_idx, drop_remainder=True)
        return ds.take(steps) if steps else ds

    def make_evals(split):
        ds = track_dataset(d, split, batch_size=global_batch, shuffle=False, files=files.get(split),
                           num_features=num_features, species_index=sp_idx)
        if t.get("eval_steps_max"):
            ds = ds.take(int(t["eval_steps_max"]))
        return [ds]

    n_train = None if splits else stats.get("train_seqs")
    return _Data("tracks", stats, make_train, make_evals, num_features,
                 target_ids=_target_ids(d, int(stats["num_targets"])), species=species_names,
                 species_index=sp_idx, target_species=sp_name, n_train=n_train)


def _has_split(data, split, splits):
    from ..data.pipeline import record_files
    if splits is not None:
        return bool(splits.get(split))
    return bool(record_files(data, split))


# --------------------------------------------------------------------------- model
def _set_head_units(model_spec: dict, num_targets: int) -> None:
    from ..model.params import head_blocks, head_keys
    key = head_keys(model_spec)[0]
    blocks = head_blocks(model_spec, key)
    for block in reversed(blocks):
        if "units" in block:
            if block["units"] != num_targets:
                log.warning("model.%s units is %s in the spec but the data has %d tracks; "
                            "using %d", key, block["units"], num_targets, num_targets)
                block["units"] = int(num_targets)
            return
    log.warning("model.%s has no 'units' to set to the data's %d tracks", key, num_targets)


def _check_shapes(seqnn, stats, data_dir):
    m = seqnn.meta
    if int(stats["seq_length"]) != m["seq_length"]:
        raise YeastzoiError(f"the model takes {m['seq_length']} bp but {data_dir} has {stats['seq_length']} bp "
                            f"windows; set model.seq_length={stats['seq_length']} (--set) or rebuild the data")
    if "target_length" in stats and int(stats["target_length"]) != m["target_length"]:
        raise YeastzoiError(
            f"the model outputs {m['target_length']} bins but {data_dir} has target_length "
            f"{stats['target_length']} (pool_width {stats.get('pool_width')}, crop_bp {stats.get('crop_bp')}); "
            "fix the spec's Cropping1D / pool_width (U-Net steps) / seq_length or rebuild the data to match")


# ------------------------------------------------------------------------ history
def _read_history(path) -> list[dict]:
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_history(path, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(rows[0].keys())
    for r in rows[1:]:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    write_text_atomic(path, buf.getvalue())


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


# ---------------------------------------------------------------------- checkpoint
def _latest_checkpoint(out_dir: Path):
    ck = out_dir / CKPT_DIR
    latest = ck / "latest"
    if not latest.exists():
        return None
    name = latest.read_text().strip()
    d = ck / name
    if not (d / "state.json").exists():
        log.warning("%s points to %s which is incomplete; starting from scratch", latest, d)
        return None
    return d


def _write_checkpoint(ckpt, out_dir: Path, epoch: int, state: dict) -> Path:
    ck = out_dir / CKPT_DIR
    ck.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch}"
    tmp = ck / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    ckpt.write(str(tmp / "ckpt"))
    write_json_atomic(tmp / "state.json", state)
    final = ck / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_text_atomic(ck / "latest", name + "\n")
    for old in ck.iterdir():
        if old.name not in (name, "latest") and (old.name.startswith("epoch-") or old.name.startswith(".tmp-")):
            shutil.rmtree(old, ignore_errors=True)
    return final


@contextlib.contextmanager
def _dtype_policy(policy):
    import keras
    prev = keras.config.dtype_policy()
    if policy:
        keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(prev)


@contextlib.contextmanager
def _log_file(path):
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("yeastzoi")
    root.addHandler(handler)
    old_level = root.level
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


# --------------------------------------------------------------------------- train
def train(params, data_dirs, out_dir, restore=None, trunk: bool = False, strategy: str = "none",
          mixed_precision: bool = False, species: str | None = None, seed: int | None = None,
          progress=None, overrides: list[str] | None = None, splits: dict | None = None) -> dict:
    """Train a model from a spec on one or more data dirs; resume if OUT has a checkpoint.

    params: a params.json path or a loaded spec dict (see :func:`yeastzoi.model.params.load_params`);
        ``overrides`` are ``PATH=VALUE`` strings applied to it.
    data_dirs: data directories (LM corpora are interleaved; for tracks only the first is used).
    restore / trunk: weights to start from (``trunk=True``: the LM trunk, by layer name).
    strategy: ``none`` | ``mirrored`` | ``multiworker``; mixed_precision: bf16 on CPU, fp16 +
        loss scaling on GPU.
    species: the target genome's name among the LM's species (default: the data's
        statistics.json ``species``, else the LM's reference species, index 0).
    progress: ``progress(desc, total) -> bar`` with ``update(n)`` (e.g. ``tqdm``); None: no bars.
    splits: ``{"train": files, "valid": files, "test": files}`` instead of the split names
        (cross-validation folds).
    Returns a summary dict (epochs, best epoch and valid loss, test metrics, paths).
    """
    from ..model.params import apply_overrides, load_params, validate
    if isinstance(params, (str, Path)):
        params = load_params(params, overrides)
    else:
        params = validate(apply_overrides(params, overrides) if overrides else params)
    data_dirs = [Path(d) for d in ([data_dirs] if isinstance(data_dirs, (str, Path)) else data_dirs)]
    if not data_dirs:
        raise YeastzoiError("no data directory given")
    from ..data.pipeline import read_statistics
    for d in data_dirs:
        if not Path(d).is_dir():
            raise YeastzoiError(f"{d}: no such data directory")
        read_statistics(d)  # raises the one-line error when statistics.json is missing
    if restore is not None and not Path(restore).exists():
        raise YeastzoiError(f"{restore}: no such model file to restore")
    if trunk and restore is None:
        raise YeastzoiError("--trunk needs --restore LM.h5")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _log_file(out_dir / "train.log"):
        return _train(params, data_dirs, out_dir, restore, trunk, strategy, mixed_precision, species,
                      seed, progress, splits)


def _train(params, data_dirs, out_dir, restore, trunk, strategy_name, mixed_precision, species,
           seed, progress, splits):
    import keras
    import tensorflow as tf
    from keras import ops
    from .losses import coverage_loss, mlm_sums
    from .metrics import PearsonR2, track_sums
    from ..model.seqnn import SeqNN, read_meta

    t = params["train"]
    task = t["task"]
    is_lm = task == "self-supervised"
    if is_lm and t["loss"] != "mlm":
        raise YeastzoiError(f"train.task self-supervised needs train.loss mlm, got {t['loss']!r}")
    if not is_lm and t["loss"] == "mlm":
        raise YeastzoiError(f"train.loss mlm needs train.task self-supervised, got {task!r}")
    if task == "fine-tune" and restore is None:
        log.warning("task fine-tune without --restore: training from random initialisation")
    seed = int(seed if seed is not None else (t.get("seed") if t.get("seed") is not None else 0))

    strategy = make_strategy(strategy_name)
    n_rep = int(strategy.num_replicas_in_sync)
    is_chief, task_id = _worker_role(strategy)
    write_dir = out_dir if is_chief else out_dir / f".worker-{task_id}"
    write_dir.mkdir(parents=True, exist_ok=True)
    global_batch = int(t["batch_size"]) * n_rep
    log.info("strategy %s: %d replica(s), global batch %d (%d per replica)%s", strategy_name, n_rep,
             global_batch, t["batch_size"], "" if is_chief else f", worker {task_id} (not chief)")

    gpu = bool(tf.config.list_physical_devices("GPU"))
    policy = None
    if mixed_precision:
        policy = "mixed_float16" if gpu else "mixed_bfloat16"
        log.info("mixed precision: %s%s", policy, " with loss scaling" if policy == "mixed_float16" else "")

    # ---- inputs and model spec
    model_spec = json.loads(json.dumps(params["model"]))
    restore_meta = read_meta(restore) if restore else None
    if is_lm:
        data = _lm_data(t, data_dirs, seed, global_batch, splits)
        num_features = data.num_features
    else:
        stats0 = read_statistics_safe(data_dirs[0])
        _set_head_units(model_spec, int(stats0["num_targets"]))
        if restore_meta and restore_meta.get("num_features"):
            num_features = int(restore_meta["num_features"])
            species_names = restore_meta.get("species")
            names_source = str(restore)
            if model_spec.get("num_features") not in (None, num_features):
                log.warning("model.num_features %s in the spec replaced by %d from %s",
                            model_spec["num_features"], num_features, restore)
            model_spec["num_features"] = num_features
        else:
            num_features = int(model_spec.get("num_features") or 4)
            species_names = model_spec.get("species")
            names_source = "model.species"
        data = _track_data(t, data_dirs, seed, global_batch, splits, num_features, species_names,
                           species, names_source)
    stats = data.stats

    keras.utils.set_random_seed(seed)
    with _dtype_policy(policy), strategy.scope():
        meta = {"species": data.species, "task": task}
        if data.target_ids:
            meta["target_ids"] = data.target_ids
            meta["strand_pair"] = _strand_pairs(data_dirs[0])
        if stats.get("chrom_sizes"):
            meta["chrom_sizes"] = stats["chrom_sizes"]  # the training genome's names (predict checks them)
        if data.species_index is not None:
            meta.update(species_index=data.species_index, target_species=data.target_species)
        seqnn = SeqNN(model_spec, num_features=num_features, meta=meta)
        _check_shapes(seqnn, stats, data_dirs[0])
        model = seqnn.model
        optimizer = make_optimizer(t, loss_scale=policy == "mixed_float16", clip=False)
        optimizer.build(model.trainable_variables)
    log.info("model: %s parameters (%s trainable), input (%d, %d), output (%d, %d)",
             f"{seqnn.num_params:,}", f"{seqnn.num_trainable:,}", seqnn.seq_length, num_features,
             seqnn.meta["target_length"], seqnn.meta["num_targets"])

    params_out = {"train": dict(t, seed=seed), "model": seqnn.spec}
    write_json_atomic(write_dir / "params.json", params_out)

    rng_vars = [v for v in model.variables if not any(v is w for w in model.weights)]
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, rng=rng_vars)

    # ---- resume or start
    history_path = write_dir / "history.csv"
    state = {"epoch": -1, "best_valid_loss": None, "best_epoch": None, "since_best": 0, "seed": seed}
    latest = _latest_checkpoint(write_dir)
    if latest is not None:
        ckpt.read(str(latest / "ckpt")).assert_existing_objects_matched()
        state = json.loads((latest / "state.json").read_text())
        if state.get("seed") != seed:
            log.warning("resuming with seed %d; the checkpoint was trained with seed %s", seed, state.get("seed"))
        log.info("resuming from %s: epoch %d done, optimizer step %d, best valid loss %s (epoch %s)",
                 latest, state["epoch"] + 1, int(optimizer.iterations.numpy()), _fmt(state["best_valid_loss"]),
                 None if state["best_epoch"] is None else state["best_epoch"] + 1)
        if restore:
            log.info("checkpoint found: --restore %s is not applied again", restore)
    elif restore:
        seqnn.restore(restore, trunk=trunk)  # logs the loaded / skipped / missing report
    history = [r for r in _read_history(history_path) if int(r["epoch"]) <= state["epoch"] + 1]

    # ---- steps
    loss_fn = None if is_lm else coverage_loss(t["loss"], t.get("total_weight", 1.0))
    num_targets = int(seqnn.meta["num_targets"])
    SUM = tf.distribute.ReduceOp.SUM
    global_clip = float(t["global_clipnorm"]) if t.get("global_clipnorm") else None
    var_clip = float(t["clip_norm"]) if t.get("clip_norm") and not global_clip else None

    def _reg():
        losses = model.losses
        if not losses:
            return ops.convert_to_tensor(0.0, "float32")
        total = ops.cast(losses[0], "float32")
        for extra in losses[1:]:
            total = total + ops.cast(extra, "float32")
        return total

    def _train_fn(*batch):
        ctx = tf.distribute.get_replica_context()
        x, y = batch[0], batch[1]
        with tf.GradientTape() as tape:
            pred = ops.cast(model(x, training=True), "float32")
            if is_lm:
                wce, _, _, cnt = mlm_sums(y, pred, batch[2], batch[3])
                denom = ctx.all_reduce(SUM, cnt)
                data_loss = wce / ops.maximum(denom, 1.0)
            else:
                per = loss_fn(y, pred)
                nb = ctx.all_reduce(SUM, ops.cast(ops.shape(per)[0], "float32"))
                data_loss = ops.sum(per) / ops.maximum(nb, 1.0)
            loss = data_loss + _reg() / n_rep
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        if n_rep > 1:
            grads = ctx.all_reduce(SUM, grads)
        if global_clip or var_clip:
            # on loss-scaled gradients the threshold scales too (LossScaleOptimizer unscales later)
            factor = optimizer.dynamic_scale if policy == "mixed_float16" else 1.0
            if global_clip:
                grads, _ = tf.clip_by_global_norm(grads, global_clip * factor)
            else:
                grads = [tf.clip_by_norm(g, var_clip * factor) for g in grads]
        if n_rep > 1:
            # the optimizer sums gradients across replicas again: hand it each replica's share
            grads = [g / n_rep for g in grads]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def _eval_fn(*batch):
        x, y = batch[0], batch[1]
        pred = ops.cast(model(x, training=False), "float32")
        if is_lm:
            return ops.stack(mlm_sums(y, pred, batch[2], batch[3]))
        per = loss_fn(y, pred)
        return (ops.stack([ops.sum(per), ops.cast(ops.shape(per)[0], "float32")]),
                track_sums(y, pred))

    @tf.function
    def train_step(batch):
        loss = strategy.run(_train_fn, args=tuple(batch))
        return strategy.reduce(SUM, loss, axis=None)

    @tf.function
    def eval_step(batch):
        out = strategy.run(_eval_fn, args=tuple(batch))
        return tf.nest.map_structure(lambda v: strategy.reduce(SUM, v, axis=None), out)

    def evaluate(split):
        reg = float(ops.convert_to_numpy(_reg()))
        if is_lm:
            tot = np.zeros(4, np.float64)
            for ds in data.make_evals(split):
                for batch in strategy.experimental_distribute_dataset(_shard_policy(ds)):
                    tot += np.asarray(eval_step(batch), np.float64)
            wce, ce, corr, n = tot
            n = max(n, 1.0)
            return {"loss": float(wce / n + reg), "ce": float(ce / n), "accuracy": float(corr / n),
                    "perplexity": math.exp(min(ce / n, 50.0))}
        acc = PearsonR2(num_targets)
        tot = np.zeros(2, np.float64)
        for ds in data.make_evals(split):
            for batch in strategy.experimental_distribute_dataset(_shard_policy(ds)):
                ls, sums = eval_step(batch)
                tot += np.asarray(ls, np.float64)
                acc.add(np.asarray(sums))
        out = {"loss": float(tot[0] / max(tot[1], 1.0) + reg)}
        out.update(acc.summary())
        out["_tracks"] = acc
        return out

    # ---- epochs
    tb_train = tb_valid = None
    if is_chief:
        tb_train = tf.summary.create_file_writer(str(out_dir / "logs" / "train"))
        tb_valid = tf.summary.create_file_writer(str(out_dir / "logs" / "valid"))
    epochs_max = int(t["train_epochs_max"])
    steps_total = t.get("steps_per_epoch_max")
    if steps_total is None and data.n_train:
        steps_total = int(data.n_train) // global_batch
    start = state["epoch"] + 1
    stopped_early = False
    if start >= epochs_max:
        log.info("already trained %d epochs (train_epochs_max %d); nothing to do", start, epochs_max)
    elif state["since_best"] >= t["patience"] and start >= t["train_epochs_min"]:
        log.info("early stopping was reached before (%d epochs without improvement); raise "
                 "train.patience to continue", state["since_best"])
        start = epochs_max
        stopped_early = True
    for epoch in range(start, epochs_max):
        t0 = time.time()
        bar = progress(f"epoch {epoch + 1}/{epochs_max}", steps_total) if progress else None
        loss_sum, n_steps = 0.0, 0
        for batch in strategy.experimental_distribute_dataset(_shard_policy(data.make_train(epoch))):
            loss = float(train_step(batch))
            if not math.isfinite(loss):
                raise YeastzoiError(f"epoch {epoch + 1} step {n_steps + 1}: training loss is {loss}; lower "
                                    "train.learning_rate or set train.global_clipnorm")
            loss_sum += loss
            n_steps += 1
            if bar is not None:
                bar.update(1)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss_sum / n_steps:.4f}")
        if bar is not None and hasattr(bar, "close"):
            bar.close()
        if n_steps == 0:
            raise YeastzoiError(f"{data_dirs[0]}: no training batches (fewer than {global_batch} train "
                                "sequences for the global batch?); lower train.batch_size")
        train_loss = loss_sum / n_steps
        valid = evaluate("valid")
        valid.pop("_tracks", None)
        step = int(optimizer.iterations.numpy())
        lr = learning_rate_at(t, max(step - 1, 0))
        secs = time.time() - t0
        row = {"epoch": epoch + 1, "train_loss": train_loss}
        row.update({f"valid_{k}": v for k, v in valid.items()})
        row.update(seconds=round(secs, 2), lr=lr, steps=n_steps)
        improved = state["best_valid_loss"] is None or valid["loss"] < state["best_valid_loss"]
        if improved:
            state.update(best_valid_loss=float(valid["loss"]), best_epoch=epoch, since_best=0)
            seqnn.save(write_dir / "model_best.h5")
            seqnn.save(write_dir / "model_best.keras")
        else:
            state["since_best"] += 1
        state["epoch"] = epoch
        state["step"] = step
        history.append({k: _fmt(v) for k, v in row.items()})
        _write_checkpoint(ckpt, write_dir, epoch, state)
        _write_history(history_path, history)
        if tb_train is not None:
            with tb_train.as_default():
                _scalar("loss", train_loss, epoch + 1)
                _scalar("learning_rate", lr, epoch + 1)
            with tb_valid.as_default():
                for k, v in valid.items():
                    _scalar(k, v, epoch + 1)
            tb_train.flush()
            tb_valid.flush()
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in valid.items() if k != "loss")
        log.info("epoch %d: train loss %.4f, valid loss %.4f%s  %s  (%.1f s, %d steps, lr %.2e)",
                 epoch + 1, train_loss, valid["loss"], " *" if improved else "", metrics, secs, n_steps, lr)
        if epoch + 1 >= t["train_epochs_min"] and state["since_best"] >= t["patience"]:
            log.info("early stop: valid loss did not improve for %d epochs", state["since_best"])
            stopped_early = True
            break

    # ---- test with the best model
    summary = {"out_dir": str(out_dir), "epochs": state["epoch"] + 1, "best_epoch":
               None if state["best_epoch"] is None else state["best_epoch"] + 1,
               "best_valid_loss": state["best_valid_loss"], "stopped_early": stopped_early,
               "replicas": n_rep, "history": history}
    if _has_test(data_dirs[0], splits) and (write_dir / "model_best.h5").exists():
        seqnn.restore(write_dir / "model_best.h5")
        test = evaluate("test")
        acc = test.pop("_tracks", None)
        summary["test"] = test
        write_json_atomic(write_dir / "test_metrics.json", test)
        if acc is not None:
            ids = data.target_ids or [str(i) for i in range(num_targets)]
            lines = ["identifier\tpearsonr\tr2"] + [f"{i}\t{r:.6g}\t{q:.6g}" for i, r, q in
                                                    zip(ids, acc.pearsonr(), acc.r2())]
            write_text_atomic(write_dir / "test_tracks.tsv", "\n".join(lines) + "\n")
        log.info("test (best model, epoch %s): %s", summary["best_epoch"],
                 "  ".join(f"{k} {v:.4f}" for k, v in test.items()))
    if not is_chief:
        shutil.rmtree(write_dir, ignore_errors=True)
    return summary


def _scalar(tag, value, step):
    """A TensorBoard scalar event via the low-level ``tf.summary.write`` (no tensorboard
    package needed; TensorBoard shows it under Scalars)."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2
    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=meta)


def read_statistics_safe(data_dir):
    from ..data.pipeline import read_statistics
    stats = read_statistics(data_dir)
    for key in ("seq_length", "target_length", "num_targets"):
        if key not in stats:
            raise YeastzoiError(f"{data_dir}/statistics.json has no {key!r}: is it an LM corpus? "
                                "coverage tasks (supervised / fine-tune) need a track data dir")
    return stats


def _has_test(data_dir, splits):
    try:
        return _has_split(data_dir, "test", splits)
    except YeastzoiError:
        return False


# --------------------------------------------------------------------- cross-validation
def parse_folds(text: str | None, k: int) -> list[int]:
    """``"0-7"`` / ``"0,2,5"`` / None (all K) → fold indices, checked against K."""
    if text is None or str(text).strip() == "":
        return list(range(k))
    out = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise YeastzoiError(f"--folds {text}: expected a range like 0-7 or a list like 0,2,5") from None
    bad = [f for f in out if not 0 <= f < k]
    if bad:
        raise YeastzoiError(f"--folds {text}: fold {bad[0]} out of range; the data has {k} folds (0-{k - 1})")
    return sorted(set(out))


def train_folds(params, data_dir, out_dir, folds=None, reps: int = 1, fold: int | None = None,
                rep: int | None = None, seed: int | None = None, **train_kw) -> list[dict]:
    """Cross-validation: one model per fold f and replicate c in ``OUT/f{f}c{c}/``.

    Fold f is test, f+1 validation, the rest train (:func:`yeastzoi.data.pipeline.fold_splits`).
    ``fold``/``rep`` select a single job (job-array entry); otherwise every (f, c) of
    ``folds`` (``"0-7"``) × ``range(reps)`` runs in turn. A job whose ``done.json`` exists is
    skipped; an unfinished one resumes from its checkpoint. Replicate c uses seed
    ``seed + c``. ``train_kw`` goes to :func:`train`. Writes ``OUT/folds.tsv`` (one row per
    finished job: best valid loss, test metrics) and returns those rows.
    """
    from ..data.pipeline import fold_splits, read_statistics
    stats = read_statistics(data_dir)
    k = stats.get("folds")
    if not k:
        raise YeastzoiError(f"{data_dir}/statistics.json has no 'folds': build the data with "
                            "yeastzoi_data.py -f K for cross-validation")
    fold_list = [int(fold)] if fold is not None else parse_folds(folds, int(k))
    if fold is not None:
        parse_folds(str(fold), int(k))
    rep_list = [int(rep)] if rep is not None else list(range(int(reps)))
    base_seed = 0 if seed is None else int(seed)
    out_dir = Path(out_dir)
    for f in fold_list:
        for c in rep_list:
            job = out_dir / f"f{f}c{c}"
            if (job / "done.json").exists():
                log.info("%s is finished; skipping", job)
                continue
            log.info("fold %d replicate %d → %s", f, c, job)
            summary = train(params, [data_dir], job, seed=base_seed + c, splits=fold_splits(data_dir, f),
                            **train_kw)
            done = {k_: v for k_, v in summary.items() if k_ != "history"}
            done.update(fold=f, rep=c)
            write_json_atomic(job / "done.json", done)
    return collect_folds(out_dir)


def collect_folds(out_dir) -> list[dict]:
    """Rows of the finished ``f*c*/done.json`` under OUT, also written to ``OUT/folds.tsv``."""
    out_dir = Path(out_dir)
    rows = []
    for p in sorted(out_dir.glob("f*c*/done.json")):
        d = json.loads(p.read_text())
        row = {"fold": d.get("fold"), "rep": d.get("rep"), "epochs": d.get("epochs"),
               "best_valid_loss": d.get("best_valid_loss")}
        row.update({f"test_{k}": v for k, v in (d.get("test") or {}).items()})
        rows.append(row)
    rows.sort(key=lambda r: (r["fold"], r["rep"]))
    if rows:
        cols = list(rows[0])
        for r in rows[1:]:
            cols += [c for c in r if c not in cols]
        lines = ["\t".join(cols)] + ["\t".join(str(_fmt(r.get(c, ""))) for c in cols) for r in rows]
        write_text_atomic(out_dir / "folds.tsv", "\n".join(lines) + "\n")
    return rows
