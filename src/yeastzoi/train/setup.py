"""The validation phase of a training run: everything is built and checked, nothing written.

    run = prepare_run(cmd, out_dir, "none")   # strategy, inputs, model, optimizer, resume state

A fresh run builds the model from the command's spec (head units set to the data's tracks;
input channels and species list from ``--restore`` when it has them). A rerun in a folder
with a committed checkpoint builds it from the checkpoint's own effective spec and contract
(:mod:`yeastzoi.train.contract`) and reads the checkpoint into it; ``--restore`` is not
applied again.

The Keras backend picks the step module: :class:`yeastzoi.train.steps.Steps` (tf.distribute
+ GradientTape) under TensorFlow, :class:`yeastzoi.train.steps_jax.JaxSteps` (jitted stateless
step) under ``KERAS_BACKEND=jax``; everything else here (spec, inputs, checkpoints, outputs)
is the same for both.
"""
from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .. import YeastzoiError
from .checkpoints import Committed, committed_checkpoint, format_value
from .contract import Command, check_fresh_folder, check_resume
from .inputs import (TrainData, has_split, lm_data, read_track_statistics, strand_pair_list, track_data,
                     verify_inputs)
from .library import add_library, is_library_dir, library_mode, library_only_data
from .strategies import make_strategy, worker_role

log = logging.getLogger(__name__)


@dataclass
class Run:
    """Everything a validated run needs to train."""
    cmd: Command
    out_dir: Path
    write_dir: Path
    is_chief: bool
    t: dict
    global_batch: int
    data: TrainData
    seqnn: object
    optimizer: object
    ckpt: object                        # TrainState: model + optimizer variables (train_state.h5)
    steps: object
    params_out: dict                    # the effective spec (OUT/params.json)
    record: dict                        # the contract (run.json)
    state: dict
    history: list = field(default_factory=list)
    committed: Committed | None = None
    has_test: bool = False
    tensorboard: tuple | None = None


@dataclass
class Plan:
    """Where the model's spec, input channels, species and seed come from."""
    model_spec: dict
    seed: int
    restore: object = None
    num_features: int | None = None
    species_names: list | None = None
    species: str | None = None
    names_source: str = "model.species"


def set_head_units(model_spec: dict, num_targets: int) -> None:
    """Make the first head's last ``units`` the data's number of tracks (with a warning)."""
    from ..model.params import head_blocks, head_keys
    key = head_keys(model_spec)[0]
    for block in reversed(head_blocks(model_spec, key)):
        if "units" in block:
            if block["units"] != num_targets:
                log.warning("model.%s units is %s in the spec but the data has %d tracks; "
                            "using %d", key, block["units"], num_targets, num_targets)
                block["units"] = int(num_targets)
            return
    log.warning("model.%s has no 'units' to set to the data's %d tracks", key, num_targets)


def check_shapes(seqnn, stats, data_dir) -> None:
    """The model's input length and output bins must match the data's."""
    m = seqnn.meta
    if int(stats["seq_length"]) != m["seq_length"]:
        raise YeastzoiError(f"the model takes {m['seq_length']} bp but {data_dir} has {stats['seq_length']} bp "
                            f"windows; set model.seq_length={stats['seq_length']} (--set) or rebuild the data")
    if "target_length" in stats and int(stats["target_length"]) != m["target_length"]:
        raise YeastzoiError(
            f"the model outputs {m['target_length']} bins but {data_dir} has target_length "
            f"{stats['target_length']} (pool_width {stats.get('pool_width')}, crop_bp {stats.get('crop_bp')}); "
            "fix the spec's Cropping1D / pool_width (U-Net steps) / seq_length or rebuild the data to match")


def _resume_plan(cmd: Command, committed: Committed, write_dir: Path) -> Plan:
    """The checkpoint's own spec, channels, species and seed."""
    run = committed.run
    plan = Plan(copy.deepcopy(committed.params["model"]), int(committed.state.get("seed") or 0),
                names_source=f"the checkpoint {committed.path}")
    if run is not None:
        plan.seed = int(run.get("seed", plan.seed))
        plan.num_features, plan.species_names = run.get("num_features"), run.get("species_names")
        plan.species = run.get("target_species")
    else:                                   # an older yeastzoi: its model_meta.json
        meta = json.loads((write_dir / "model_meta.json").read_text()) if (write_dir / "model_meta.json").exists() else {}
        plan.num_features, plan.species_names = meta.get("num_features"), meta.get("species")
        plan.species = cmd.species or meta.get("target_species")
    return plan


def _fresh_plan(cmd: Command, is_lm: bool) -> Plan:
    from ..model.seqnn import read_meta
    plan = Plan(copy.deepcopy(cmd.params["model"]), int(cmd.seed or 0), restore=cmd.restore,
                species=cmd.species)
    if is_lm:
        return plan
    meta = read_meta(cmd.restore) if cmd.restore else None
    if meta and meta.get("num_features"):
        plan.num_features = int(meta["num_features"])
        plan.species_names, plan.names_source = meta.get("species"), str(cmd.restore)
        if plan.model_spec.get("num_features") not in (None, plan.num_features):
            log.warning("model.num_features %s in the spec replaced by %d from %s",
                        plan.model_spec["num_features"], plan.num_features, cmd.restore)
        plan.model_spec["num_features"] = plan.num_features
    else:
        plan.num_features = int(plan.model_spec.get("num_features") or 4)
        plan.species_names = plan.model_spec.get("species")
    return plan


def _inputs(cmd: Command, plan: Plan, is_lm: bool, global_batch: int) -> TrainData:
    t = cmd.params["train"]
    n_rep = global_batch // int(t["batch_size"])
    if is_lm:
        if cmd.library is not None or is_library_dir(cmd.data_dirs[0]):
            raise YeastzoiError("library rows train coverage models, not the masked LM: set train.task "
                                "supervised or fine-tune")
        data = lm_data(t, cmd.data_dirs, plan.seed, global_batch, cmd.splits)
    elif is_library_dir(cmd.data_dirs[0]):
        if cmd.library is not None or cmd.splits:
            raise YeastzoiError(f"{cmd.data_dirs[0]} is a library dataset (library-only training): give a track "
                                "data dir to mix --library rows into, and no folds")
        set_head_units(plan.model_spec, int(read_track_statistics(cmd.data_dirs[0])["num_targets"]))
        data = library_only_data(t, cmd.data_dirs[0], plan.seed, n_rep, plan.num_features, plan.species_names,
                                 plan.species, plan.names_source)
    else:
        set_head_units(plan.model_spec, int(read_track_statistics(cmd.data_dirs[0])["num_targets"]))
        data = track_data(t, cmd.data_dirs, plan.seed, global_batch, cmd.splits, plan.num_features,
                          plan.species_names, plan.species, plan.names_source)
        if cmd.library is not None:
            add_library(t, data, cmd.library, plan.seed, n_rep, cmd.data_dirs[0])
    verify_inputs(data)
    return data


def _model_meta(cmd: Command, data: TrainData, task: str) -> dict:
    meta = {"species": data.species, "task": task}
    if data.target_ids:
        meta["target_ids"] = data.target_ids
        meta["strand_pair"] = strand_pair_list(cmd.data_dirs[0])
    if data.stats.get("chrom_sizes"):
        meta["chrom_sizes"] = data.stats["chrom_sizes"]  # the training genome's names (predict checks them)
    if data.species_index is not None:
        meta.update(species_index=data.species_index, target_species=data.target_species)
    return meta


def _build(cmd, plan, data, strategy, policy, task):
    """(seqnn, optimizer, TrainState) built in the strategy's scope."""
    import keras
    from ..model.seqnn import SeqNN
    from .checkpoints import TrainState
    from .logs import dtype_policy
    from .optimizer import make_optimizer
    keras.utils.set_random_seed(plan.seed)
    with dtype_policy(policy), strategy.scope():
        seqnn = SeqNN(plan.model_spec, num_features=data.num_features, meta=_model_meta(cmd, data, task))
        check_shapes(seqnn, data.stats, cmd.data_dirs[0])
        optimizer = make_optimizer(cmd.params["train"], loss_scale=policy == "mixed_float16", clip=False)
        optimizer.build(seqnn.model.trainable_variables)
    log.info("model: %s parameters (%s trainable), input (%d, %d), output (%d, %d)",
             f"{seqnn.num_params:,}", f"{seqnn.num_trainable:,}", seqnn.seq_length, data.num_features,
             seqnn.meta["target_length"], seqnn.meta["num_targets"])
    return seqnn, optimizer, TrainState(seqnn.model, optimizer)


def _read_checkpoint(ckpt, committed: Committed, optimizer) -> None:
    import keras
    written_by = ckpt.read(committed.path)
    state = committed.state
    backend = keras.backend.backend()
    log.info("resuming from %s: epoch %d done, optimizer step %d, best valid loss %s (epoch %s)%s",
             committed.path, state["epoch"] + 1, int(keras.ops.convert_to_numpy(optimizer.iterations)),
             format_value(state["best_valid_loss"]), None if state["best_epoch"] is None else state["best_epoch"] + 1,
             "" if written_by in (backend, "?") else f"; written under {written_by}, continued under {backend}")


def _precision_policy(mixed_precision: bool) -> str | None:
    """The dtype policy of ``--mixed-precision``: TensorFlow mixed_float16 (+ loss scaling) on a
    GPU, else mixed_bfloat16; JAX mixed_bfloat16 on every device."""
    if not mixed_precision:
        return None
    import keras
    if keras.backend.backend() == "jax":
        return "mixed_bfloat16"
    import tensorflow as tf
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def steps_class():
    """The step module's class for the Keras backend: ``Steps`` (TensorFlow) or ``JaxSteps``."""
    import keras
    if keras.backend.backend() == "jax":
        from .steps_jax import JaxSteps
        return JaxSteps
    from .steps import Steps
    return Steps


def _check_task(t: dict, restore) -> bool:
    is_lm = t["task"] == "self-supervised"
    if is_lm and t["loss"] != "mlm":
        raise YeastzoiError(f"train.task self-supervised needs train.loss mlm, got {t['loss']!r}")
    if not is_lm and t["loss"] == "mlm":
        raise YeastzoiError(f"train.loss mlm needs train.task self-supervised, got {t['task']!r}")
    if t["task"] == "fine-tune" and restore is None:
        log.warning("task fine-tune without --restore: training from random initialisation")
    return is_lm


def prepare_run(cmd: Command, out_dir: Path, strategy_name: str = "none") -> Run:
    """Validate and build the run (see the module docstring); writes nothing."""
    import keras
    t = cmd.params["train"]
    strategy = make_strategy(strategy_name)
    n_rep = int(strategy.num_replicas_in_sync)
    is_chief, task_id = worker_role(strategy)
    write_dir = out_dir if is_chief else out_dir / f".worker-{task_id}"
    committed = committed_checkpoint(write_dir)
    if committed is not None:
        check_resume(cmd, committed, out_dir)
    is_lm = _check_task(t, cmd.restore if committed is None else committed.path)
    plan = _resume_plan(cmd, committed, write_dir) if committed else _fresh_plan(cmd, is_lm)
    global_batch = int(t["batch_size"]) * n_rep
    log.info("backend %s, strategy %s: %d replica(s), global batch %d (%d per replica)%s",
             keras.backend.backend(), strategy_name, n_rep, global_batch, t["batch_size"],
             "" if is_chief else f", worker {task_id} (not chief)")
    policy = _precision_policy(cmd.mixed_precision)
    if policy:
        log.info("mixed precision: %s%s", policy, " with loss scaling" if policy == "mixed_float16" else "")
    data = _inputs(cmd, plan, is_lm, global_batch)
    seqnn, optimizer, ckpt = _build(cmd, plan, data, strategy, policy, t["task"])
    params_out = {"train": dict(t, seed=plan.seed), "model": seqnn.spec}
    state = {"epoch": -1, "best_valid_loss": None, "best_epoch": None, "since_best": 0, "seed": plan.seed}
    if committed is not None:
        _read_checkpoint(ckpt, committed, optimizer)
        state = dict(committed.state)
        if cmd.restore:
            log.info("checkpoint found: --restore %s is not applied again", cmd.restore)
    else:
        check_fresh_folder(cmd, write_dir, params_out)
        if cmd.restore:
            seqnn.restore(cmd.restore, trunk=cmd.trunk)  # logs the loaded / skipped / missing report
    cmd.derived = {"seed": plan.seed, "num_features": data.num_features, "species_names": data.species,
                   "species_index": data.species_index, "target_species": data.target_species}
    # a resumed run keeps the contract of the run it continues (what the rerun left out included)
    record = dict(committed.run) if committed is not None and committed.run else cmd.record()
    steps = steps_class()(seqnn.model, optimizer, strategy, t, is_lm, int(seqnn.meta["num_targets"]),
                          loss_scaled=policy == "mixed_float16", library=library_mode(data))
    return Run(cmd, out_dir, write_dir, is_chief, t, global_batch, data, seqnn, optimizer, ckpt, steps,
               params_out, record, state, list(committed.history) if committed else [], committed,
               _has_test(cmd))


def _has_test(cmd: Command) -> bool:
    try:
        return has_split(cmd.data_dirs[0], "test", cmd.splits)
    except YeastzoiError:
        return False
