"""What a training command asks for, and whether it may write into an output folder.

A run's *contract* is stored in each checkpoint (``run.json``): the command's validated spec
(``params``), the data dirs, ``--library``, ``--restore``/``--trunk``, ``--species``, the fold files,
``--mixed-precision`` and the seed, plus what the trainer derived from them (input channels,
species list and the target species). Before anything is written:

* **OUT has a committed checkpoint** — the rerun continues from the checkpoint's own
  effective spec and contract. What the command leaves out (``--restore``, ``--trunk``,
  ``--species``, the seed) is taken from the checkpoint; what it states must agree, except
  the stopping rules (:data:`RESUMABLE_TRAIN_KEYS`: raise ``train_epochs_max`` to continue).
  A spec may be given either as the original file or as OUT/params.json (the effective
  spec). Otherwise the run is refused in one line naming the first difference.
* **OUT has no checkpoint** — it may be new or empty, or hold only a params.json equal to
  the command's spec (e.g. written by ``yeastzoi_sweep.py``, or by a run that failed before
  its first epoch ended). A folder holding another model (model_best.*, history.csv
  without a checkpoint, or another spec's params.json) is refused in one line naming it.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .. import YeastzoiError

log = logging.getLogger(__name__)

#: train keys a rerun may change: the stopping rules
RESUMABLE_TRAIN_KEYS = ("train_epochs_max", "train_epochs_min", "patience")
FOREIGN_FILES = ("model_best.h5", "model_best.keras", "history.csv")
_FIX = "rerun with the original arguments or train into a new --out"


def _resolved(path) -> str | None:
    return None if path is None else str(Path(path).resolve())


@dataclass
class Command:
    """The training command: a validated spec and the options that define the run."""
    params: dict
    data_dirs: list
    restore: object = None
    trunk: bool = False
    species: str | None = None
    splits: dict | None = None
    mixed_precision: bool = False
    seed: int | None = None             # the explicit seed (argument, else train.seed), or None
    derived: dict = field(default_factory=dict)
    library: object = None              # a promoter-library data dir mixed into coverage training

    def record(self) -> dict:
        """The contract stored in run.json (``derived``: num_features, species, seed, ...)."""
        splits = None if self.splits is None else {k: [_resolved(f) for f in v] for k, v in self.splits.items()}
        out = {"params": self.params, "data_dirs": [_resolved(d) for d in self.data_dirs],
               "restore": _resolved(self.restore), "trunk": bool(self.trunk), "species": self.species,
               "splits": splits, "mixed_precision": bool(self.mixed_precision), **self.derived}
        if self.library is not None:
            out["library"] = _resolved(self.library)
        return out


def first_difference(here, there, path: str = "") -> str | None:
    """The first JSON path where ``here`` (the command) and ``there`` (stored) differ, as words."""
    if isinstance(here, dict) and isinstance(there, dict):
        for k in list(here) + [k for k in there if k not in here]:
            p = f"{path}.{k}" if path else str(k)
            if k not in there:
                return f"{p} is {json.dumps(here[k])} here but absent there"
            if k not in here:
                return f"{p} is absent here but {json.dumps(there[k])} there"
            diff = first_difference(here[k], there[k], p)
            if diff:
                return diff
        return None
    if isinstance(here, list) and isinstance(there, list) and len(here) == len(there):
        for i, (a, b) in enumerate(zip(here, there)):
            diff = first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if here != there:
        return f"{path} is {json.dumps(here)} here but {json.dumps(there)} there"
    return None


def _comparable(params: dict) -> dict:
    train = {k: v for k, v in params.get("train", {}).items() if k not in RESUMABLE_TRAIN_KEYS + ("seed",)}
    return {"model": params.get("model"), "train": train}


def spec_difference(command: dict, *stored: dict) -> str | None:
    """None when the command's spec equals any of ``stored`` (up to the stopping rules and
    the seed), else the first difference from the first of them."""
    mine = _comparable(command)
    if any(s is not None and first_difference(mine, _comparable(s)) is None for s in stored):
        return None
    return first_difference(mine, _comparable(next(s for s in stored if s is not None)))


def _option_difference(cmd: Command, run: dict) -> str | None:
    """The first option of the command that contradicts the stored contract."""
    mine = cmd.record()
    if mine["data_dirs"] != run.get("data_dirs"):
        return f"data {', '.join(mine['data_dirs'])} here but {', '.join(run.get('data_dirs') or [])} there"
    if mine.get("library") != run.get("library"):
        return f"--library {mine.get('library') or 'none'} here but {run.get('library') or 'none'} there"
    if mine["splits"] != run.get("splits"):
        return "the fold files differ"
    if cmd.restore is not None and (mine["restore"], mine["trunk"]) != (run.get("restore"), run.get("trunk")):
        return (f"--restore {cmd.restore}{' --trunk' if cmd.trunk else ''} here but "
                f"{run.get('restore') or 'none'}{' --trunk' if run.get('trunk') else ''} there")
    if cmd.species is not None and cmd.species not in (run.get("species"), run.get("target_species")):
        return f"--species {cmd.species} here but {run.get('target_species') or 'none'} there"
    if mine["mixed_precision"] != bool(run.get("mixed_precision")):
        on = ("off", "on")
        return (f"--mixed-precision {on[mine['mixed_precision']]} here but "
                f"{on[bool(run.get('mixed_precision'))]} there")
    if cmd.seed is not None and cmd.seed != run.get("seed"):
        return f"seed {cmd.seed} here but {run.get('seed')} there"
    return None


def check_resume(cmd: Command, committed, out_dir) -> None:
    """Refuse (one line) a rerun that contradicts the checkpoint's contract (module docstring)."""
    run = committed.run
    if run is None:
        log.warning("%s was written by an older yeastzoi (no run.json): resuming from its params.json "
                    "without checking the command against it", committed.path)
        if committed.params is None:
            raise YeastzoiError(f"{out_dir}: checkpoint {committed.path} has no params.json to resume "
                                "from; train into a new --out")
        return
    diff = spec_difference(cmd.params, run.get("params"), committed.params)
    diff = diff or _option_difference(cmd, run)
    if diff:
        raise YeastzoiError(f"{out_dir}: holds a checkpointed run of a different command ({diff}, "
                            f"'there' being {committed.path}); {_FIX}")


def check_fresh_folder(cmd: Command, out_dir, effective: dict) -> None:
    """Refuse (one line) to start a run in a folder that holds another model."""
    from ..model.params import validate
    out_dir = Path(out_dir)
    fix = "train into a new --out or remove that folder"
    found = [n for n in FOREIGN_FILES if (out_dir / n).exists()]
    if found:
        raise YeastzoiError(f"{out_dir}: holds another model ({found[0]} but no checkpoint to resume); {fix}")
    path = out_dir / "params.json"
    if not path.exists():
        return
    try:
        other = validate(json.loads(path.read_text()))
    except (ValueError, YeastzoiError):
        raise YeastzoiError(f"{out_dir}: holds a params.json that is not a valid spec; {fix}") from None
    diff = spec_difference(other, cmd.params, effective)
    if diff:
        diff = first_difference(_comparable(cmd.params), _comparable(other))
        raise YeastzoiError(f"{out_dir}: holds another model's params.json ({diff}, 'there' being "
                            f"{path}); {fix}")
