"""Architecture / hyper-parameter sweeps over JSON specs: one folder per variant, a summary.

    variants = expand_grid("json_params/tiny.json", "grids/tiny_two_variants.json",
                           overrides=["train.train_epochs_max=2"])
    prepare(variants, "out/sweep")                 # OUT/<variant>/params.json (+ variant.json)
    rows = dry_run(variants, "out/sweep")          # parameter counts, output shapes
    train_variants(variants, "out/sweep", "data/tracks", jobs=2)
    rows = write_summary(variants, "out/sweep")    # OUT/summary.tsv, OUT/summary.html, figures/

**GRID.json** is an object with either or both of

- ``"grid": {PATH: [v1, v2, ...], ...}`` — the Cartesian product of the listed values (the first
  key varies slowest); a variant is named from its values, e.g. ``repeat1_lr0.001``;
- ``"variants": [{"name": ..., "spec": optional params.json, "set": {PATH: value}}]`` — an
  explicit list; ``spec`` replaces BASE.json for that variant (a relative path is looked up
  in the current directory, then in the grid file's folder and each folder above it).

With both, every explicit variant is crossed with the grid (``<name>_<grid name>``). Optional
top-level keys: ``"set"`` (overrides for every variant), ``"num_features"`` (input channels
for the dry-run build, e.g. 170 for a 165-species LM) and ``"description"``. PATHs are the
``--set`` JSON paths of :func:`yeastzoi.model.params.apply_overrides`. Overrides are applied in the
order BASE → command-line ``--set`` → grid ``"set"`` → the variant's own values, and the result
is validated like a params.json; a problem is one line naming the variant.

**Status** of a variant (the ``status`` column): ``dry`` (not trained, nothing started),
``finished`` (``done.json``, written by the sweep when training returns, or the trainer's
``test_metrics.json`` exists: it is skipped on a rerun), ``partial`` (a history or
checkpoint but not finished: a rerun resumes it from its checkpoint), ``failed`` (the last
training attempt of this sweep raised or exited non-zero; a rerun retries it).

**Peak memory** (``peak_rss_mb``) is the peak resident set size of the training process:
for subprocess runs (``jobs >= 1``) the child's own ``ru_maxrss`` from ``os.wait4``; for
in-process runs (``jobs=0``) the process high-water mark ``VmHWM`` of ``/proc/self/status``,
reset to the current RSS before each variant by writing ``5`` to ``/proc/self/clear_refs``
(when the reset is not possible the value is the process's peak so far, and
``peak_rss_method`` says so). It is recorded in ``OUT/<variant>/sweep_run.json`` by the run that
finished the variant.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .. import YeastzoiError
from ..fileio import read_json, write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

STATUSES = ("dry", "finished", "partial", "failed")
#: short labels for common override keys in generated variant names
ABBREV = {"learning_rate": "lr", "batch_size": "bs", "train_epochs_max": "epochs",
          "steps_per_epoch_max": "steps", "seq_length": "seq", "dropout": "drop",
          "weight_decay": "wd", "l2_scale": "l2", "num_features": "nf", "optimizer": "opt"}
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_HIGHER_BETTER = ("pearsonr", "r2", "accuracy")


# ----------------------------------------------------------------------------- grid
def read_grid(path) -> dict:
    """Read and check the structure of a GRID.json (one-line errors naming the file)."""
    path = Path(path)
    grid = read_json(path, "grid")
    if not isinstance(grid, dict) or not ("grid" in grid or "variants" in grid):
        raise YeastzoiError(f"{path}: expected an object with \"grid\" ({{PATH: [values]}}) and/or "
                            "\"variants\" ([{\"name\", \"spec\", \"set\"}])")
    known = {"grid", "variants", "set", "num_features", "description"}
    extra = sorted(set(grid) - known)
    if extra:
        raise YeastzoiError(f"{path}: unknown key \"{extra[0]}\"; expected {', '.join(sorted(known))}")
    g = grid.get("grid", {})
    if not isinstance(g, dict) or ("grid" in grid and not g):
        raise YeastzoiError(f"{path}: grid: expected a non-empty object {{PATH: [values]}}")
    for k, vals in g.items():
        if not isinstance(vals, list) or not vals:
            raise YeastzoiError(f"{path}: grid.{k}: expected a non-empty list of values, got {json.dumps(vals)}")
    vs = grid.get("variants", [])
    if not isinstance(vs, list) or ("variants" in grid and not vs):
        raise YeastzoiError(f"{path}: variants: expected a non-empty list of objects")
    for i, v in enumerate(vs):
        if not isinstance(v, dict) or "name" not in v:
            raise YeastzoiError(f"{path}: variants[{i}]: expected an object with a \"name\"")
        if not isinstance(v.get("set", {}), dict):
            raise YeastzoiError(f"{path}: variants[{i}].set: expected an object {{PATH: value}}")
    if not isinstance(grid.get("set", {}), dict):
        raise YeastzoiError(f"{path}: set: expected an object {{PATH: value}}")
    nf = grid.get("num_features")
    if nf is not None and (not isinstance(nf, int) or isinstance(nf, bool) or nf < 4):
        raise YeastzoiError(f"{path}: num_features: expected an int >= 4, got {json.dumps(nf)}")
    return grid


def _value_label(v) -> str:
    text = v if isinstance(v, str) else json.dumps(v)
    text = re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")
    return text or "x"


def _key_labels(keys: list[str]) -> dict[str, str]:
    """Short, distinct labels for grid keys: the last path token (abbreviated); the full path
    (sanitised) where two keys would share a label."""
    from ..model.params import parse_json_path
    short = {}
    for k in keys:
        toks = [t for t in parse_json_path(k) if isinstance(t, str)]
        last = toks[-1] if toks else k
        short[k] = ABBREV.get(last, last)
    counts = {}
    for s in short.values():
        counts[s] = counts.get(s, 0) + 1
    return {k: (s if counts[s] == 1 else re.sub(r"[^A-Za-z0-9]+", "", k.replace("model.", "")))
            for k, s in short.items()}


def grid_points(grid: dict) -> list[tuple[str, dict]]:
    """(name, {PATH: value}) for every point of a ``{PATH: [values]}`` grid, first key slowest."""
    keys = list(grid)
    labels = _key_labels(keys)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        name = "_".join(f"{labels[k]}{_value_label(v)}" for k, v in zip(keys, values))
        out.append((name, dict(zip(keys, values))))
    return out


def _resolve_spec(spec, grid_path: Path) -> Path:
    p = Path(spec)
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path.cwd() / p] + [d / p for d in [grid_path.resolve().parent, *grid_path.resolve().parents]]
    for c in candidates:
        if c.is_file():
            return c
    raise YeastzoiError(f"{grid_path}: spec {spec}: no such file (looked in the current directory and "
                        f"{grid_path.parent} and the folders above it)")


def _set_to_overrides(d: dict) -> list[str]:
    return [f"{k}={json.dumps(v)}" for k, v in d.items()]


def expand_grid(base, grid_path, overrides: list[str] | None = None) -> list[dict]:
    """The variants of a sweep, in order: ``{"name", "spec" (Path), "set" (the variant's own
    overrides), "overrides" (all PATH=VALUE strings in order), "num_features"}``.

    ``base`` is BASE.json (a variant's ``"spec"`` replaces it); ``overrides`` are the
    command-line ``--set`` strings, applied to every variant before the grid's own.
    """
    grid_path = Path(grid_path)
    grid = read_grid(grid_path)
    common = _set_to_overrides(grid.get("set", {}))
    explicit = grid.get("variants") or [{"name": None}]
    points = grid_points(grid["grid"]) if grid.get("grid") else [(None, {})]
    variants, seen = [], {}
    for i, ev in enumerate(explicit):
        name = ev.get("name")
        if name is not None and (not isinstance(name, str) or not _SAFE.match(name)):
            raise YeastzoiError(f"{grid_path}: variants[{i}].name {json.dumps(name)}: use letters, digits, "
                                "'.', '_', '+', '-' (it names the folder OUT/<name>/)")
        spec = _resolve_spec(ev["spec"], grid_path) if ev.get("spec") else Path(base)
        for pname, pset in points:
            full = "_".join(n for n in (name, pname) if n)
            if full in seen:
                raise YeastzoiError(f"{grid_path}: two variants are named {full!r} (variants[{seen[full]}] "
                                    f"and variants[{i}]); names must be unique")
            seen[full] = i
            own = {**ev.get("set", {}), **pset}
            variants.append({"name": full, "spec": spec, "set": own,
                             "overrides": list(overrides or []) + common + _set_to_overrides(own),
                             "num_features": grid.get("num_features"),
                             "expected_params": ev.get("expected_params")})
    return variants


def effective_spec(variant: dict) -> dict:
    """The validated spec of one variant (BASE or its spec, then its overrides)."""
    from ..model.params import load_params
    try:
        return load_params(variant["spec"], variant["overrides"])
    except YeastzoiError as e:
        raise YeastzoiError(f"variant {variant['name']}: {e}") from None


# ------------------------------------------------------------------------- prepare
def _trained(vdir: Path) -> bool:
    return any((vdir / n).exists() for n in ("history.csv", "checkpoints", "done.json", "test_metrics.json"))


def _variant_record(variant: dict) -> dict:
    return {"name": variant["name"], "spec": str(variant["spec"]), "set": variant["set"],
            "overrides": variant["overrides"]}


def prepare(variants: list[dict], out_dir, only: list[int] | None = None) -> list[Path]:
    """Validate every variant and write ``OUT/<variant>/params.json`` and ``variant.json``.

    All variants are validated before anything is written; ``only`` (indices) limits the
    writing to those variants (a job-array entry touches only its own folder). A variant folder that already has
    training outputs keeps its params.json (the trainer's effective spec); if its overrides
    changed since, that is an error (train it in a new OUT or remove the folder)."""
    out_dir = Path(out_dir)
    specs = [effective_spec(v) for v in variants]
    paths = []
    for i, (v, spec) in enumerate(zip(variants, specs)):
        vdir = out_dir / v["name"]
        if only is not None and i not in only:
            continue
        rec = _variant_record(v)
        old = vdir / "variant.json"
        if _trained(vdir):
            if old.exists():
                prev = json.loads(old.read_text())
                if prev.get("overrides") != rec["overrides"] or Path(prev.get("spec", "")).name != Path(rec["spec"]).name:
                    raise YeastzoiError(f"variant {v['name']}: {vdir} was trained with other overrides "
                                        f"({'; '.join(prev.get('overrides', [])) or 'none'}); use a new OUT "
                                        "or remove that folder")
        else:
            from ..cli import save_effective_params
            vdir.mkdir(parents=True, exist_ok=True)
            save_effective_params(spec, vdir)
        write_json_atomic(old, rec)
        paths.append(vdir / "params.json")
    return paths


# ------------------------------------------------------------------------- dry run
def _spec_hash(model_spec: dict, num_features) -> str:
    text = json.dumps({"model": model_spec, "nf": num_features}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def model_size(vdir, num_features=None) -> dict:
    """Parameter counts and output shapes of ``vdir/params.json``'s model (built symbolically),
    cached in ``vdir/model_size.json`` for as long as the spec and num_features are unchanged.

    num_features: the trained model's (``model_meta.json``) when it exists, else this value,
    else the spec's, else 4."""
    import keras
    from ..model.seqnn import SeqNN
    vdir = Path(vdir)
    spec = json.loads((vdir / "params.json").read_text())["model"]
    meta_path = vdir / "model_meta.json"
    if meta_path.exists():
        num_features = json.loads(meta_path.read_text()).get("num_features") or num_features
    if spec.get("num_features") is not None:
        num_features = None if num_features in (None, spec["num_features"]) else num_features
    key = _spec_hash(spec, num_features)
    cache = vdir / "model_size.json"
    if cache.exists():
        c = json.loads(cache.read_text())
        if c.get("hash") == key:
            return c
    t0 = time.time()
    try:
        seqnn = SeqNN(spec, num_features=num_features)
    except YeastzoiError as e:
        raise YeastzoiError(f"variant {vdir.name}: {e}") from None
    out = {"hash": key, "num_features": seqnn.num_features, "params": seqnn.num_params,
           "trainable": seqnn.num_trainable,
           "trunk_output": list(seqnn.model_trunk.output.shape[1:]),
           "outputs": {k: list(m.output.shape[1:]) for k, m in zip(seqnn.head_keys, seqnn.models)},
           "build_seconds": round(time.time() - t0, 2)}
    del seqnn
    keras.backend.clear_session()
    write_json_atomic(cache, out)
    return out


def dry_run(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """Build every variant (no training): writes OUT/summary.tsv + summary.html; returns rows."""
    out_dir = Path(out_dir)
    for v in variants:
        nf = num_features or v.get("num_features")
        s = model_size(out_dir / v["name"], nf)
        log.info("variant %s: %s parameters (%s trainable), trunk output %s, output %s (%.1f s)",
                 v["name"], f"{s['params']:,}", f"{s['trainable']:,}", tuple(s["trunk_output"]),
                 ", ".join(f"{k} {tuple(sh)}" for k, sh in s["outputs"].items()), s["build_seconds"])
    return write_summary(variants, out_dir, num_features=num_features)


# -------------------------------------------------------------------------- training
def variant_status(vdir) -> str:
    """dry | finished | partial | failed (see the module docstring)."""
    vdir = Path(vdir)
    if (vdir / "done.json").exists() or (vdir / "test_metrics.json").exists():
        return "finished"
    run = vdir / "sweep_run.json"
    if run.exists() and json.loads(run.read_text()).get("status") == "failed":
        return "failed"
    if (vdir / "history.csv").exists() or (vdir / "checkpoints" / "latest").exists():
        return "partial"
    return "dry"


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _train_in_process(variant: dict, vdir: Path, data_dirs, train_kw: dict) -> dict:
    import keras
    from .loop import train
    reset = _reset_peak_rss()
    t0 = time.time()
    rec = {"mode": "in-process", "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        summary = train(str(vdir / "params.json"), data_dirs, vdir, **train_kw)
        rec.update(status="finished", epochs=summary["epochs"], best_valid_loss=summary["best_valid_loss"])
    except Exception as e:  # one variant's failure (bad spec for the data, OOM) must not stop the sweep
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        rec.update(status="failed", error=msg if isinstance(e, YeastzoiError) else f"{type(e).__name__}: {msg}")
        log.error("variant %s failed: %s", variant["name"], rec["error"])
    rec.update(wall_seconds=round(time.time() - t0, 2), peak_rss_mb=round(_vm_hwm_mb(), 1),
               peak_rss_method="VmHWM (reset per variant)" if reset else "VmHWM (process peak so far)")
    keras.backend.clear_session()
    return rec


def _train_command(vdir: Path, data_dirs, train_script, train_args) -> list[str]:
    script = Path(train_script) if train_script else Path(__file__).resolve().parents[3] / "bin" / "yeastzoi_train.py"
    if not script.is_file():
        raise YeastzoiError(f"{script}: training script not found (pass train_script)")
    return [sys.executable, str(script), str(vdir / "params.json"), *map(str, data_dirs), "-o", str(vdir),
            "-q", *map(str, train_args or [])]


def _finish(vdir: Path, variant: dict, rec: dict) -> None:
    write_json_atomic(vdir / "sweep_run.json", rec)
    if rec["status"] == "finished":
        write_json_atomic(vdir / "done.json", {"variant": variant["name"], **{k: rec.get(k) for k in
                                                                             ("epochs", "best_valid_loss")}})
        log.info("variant %s: finished (%.1f s, peak RSS %.0f MB)", variant["name"], rec["wall_seconds"],
                 rec.get("peak_rss_mb") or float("nan"))


def train_variants(variants: list[dict], out_dir, data_dirs, jobs: int = 0, array_index: int | None = None,
                   train_script=None, train_args: list[str] | None = None, poll_seconds: float = 0.2,
                   **train_kw) -> list[dict]:
    """Train the unfinished variants (``prepare`` first); returns the summary rows.

    jobs: 0 → one after another in this process (:func:`yeastzoi.train.loop.train` with
    ``train_kw``); N ≥ 1 → N at a time as subprocesses of ``bin/yeastzoi_train.py`` (extra
    command-line ``train_args``), each logging to ``OUT/<variant>/sweep.log``.
    array_index: train only variant I (0-based, in grid order), e.g. a job-array entry.
    Finished variants are skipped; partial ones resume from their checkpoint; failed ones are
    retried. Training errors do not stop the other variants: their status is ``failed``.
    """
    out_dir = Path(out_dir)
    data_dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
    todo = list(enumerate(variants))
    if array_index is not None:
        if not 0 <= array_index < len(variants):
            raise YeastzoiError(f"--array-index {array_index}: the grid has {len(variants)} variants "
                                f"(0-{len(variants) - 1})")
        todo = [todo[array_index]]
    pending = []
    for i, v in todo:
        vdir = out_dir / v["name"]
        st = variant_status(vdir)
        if st == "finished":
            log.info("variant %d %s: finished; skipping", i, v["name"])
            continue
        log.info("variant %d %s: %s", i, v["name"], {"dry": "training", "partial": "resuming from its checkpoint",
                                                    "failed": "retrying"}[st])
        pending.append((i, v))
    if jobs <= 0:
        for i, v in pending:
            vdir = out_dir / v["name"]
            _finish(vdir, v, _train_in_process(v, vdir, data_dirs, train_kw))
    else:
        _run_subprocesses(pending, out_dir, data_dirs, jobs, train_script, train_args, poll_seconds)
    return write_summary(variants, out_dir)


def _run_subprocesses(pending, out_dir, data_dirs, jobs, train_script, train_args, poll_seconds):
    queue = list(pending)
    running = {}
    try:
        while queue or running:
            while queue and len(running) < jobs:
                i, v = queue.pop(0)
                vdir = out_dir / v["name"]
                cmd = _train_command(vdir, data_dirs, train_script, train_args)
                logf = open(vdir / "sweep.log", "a")
                logf.write(f"$ {' '.join(cmd)}\n")
                logf.flush()
                proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, PYTHONUNBUFFERED="1"))
                running[proc.pid] = (v, vdir, logf, time.time(), proc)
                log.info("variant %d %s: started pid %d", i, v["name"], proc.pid)
            done_any = False
            for pid in list(running):
                wpid, status, usage = os.wait4(pid, os.WNOHANG)
                if wpid == 0:
                    continue
                done_any = True
                v, vdir, logf, t0, proc = running.pop(pid)
                proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
                logf.close()
                rec = {"mode": "subprocess", "returncode": proc.returncode,
                       "status": "finished" if proc.returncode == 0 else "failed",
                       "wall_seconds": round(time.time() - t0, 2),
                       "peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1),
                       "peak_rss_method": "ru_maxrss of the child (os.wait4)"}
                if proc.returncode != 0:
                    tail = (vdir / "sweep.log").read_text(errors="replace").strip().splitlines()[-1:]
                    rec["error"] = tail[0] if tail else f"exit status {proc.returncode}"
                    log.error("variant %s failed (exit %d): %s; see %s", v["name"], proc.returncode,
                              rec["error"], vdir / "sweep.log")
                _finish(vdir, v, rec)
            if not done_any:
                time.sleep(poll_seconds)
    finally:
        for pid, (v, vdir, logf, t0, proc) in running.items():
            proc.terminate()
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            logf.close()


# --------------------------------------------------------------------------- summary
def read_history(path) -> list[dict]:
    """history.csv rows with numeric values as floats."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            row = {}
            for k, v in r.items():
                try:
                    row[k] = float(v)
                except (TypeError, ValueError):
                    row[k] = v
            rows.append(row)
    return rows


def history_stats(history: list[dict], best_epoch_hint: int | None = None) -> dict:
    """Best valid loss (and its epoch), best of each valid metric (max for Pearson R, R²,
    accuracy; min otherwise), epochs, and seconds per step = Σ seconds / Σ steps (each
    epoch's seconds include its validation).

    history.csv holds 6 significant digits, so several epochs may tie at the minimum; then
    ``best_epoch_hint`` (the trainer's own best epoch, 1-based) picks among them, else the first."""
    if not history:
        return {}
    out = {"epochs": int(max(r["epoch"] for r in history))}
    low = min(r["valid_loss"] for r in history)
    tied = [int(r["epoch"]) for r in history if r["valid_loss"] == low]
    out["best_epoch"] = best_epoch_hint if best_epoch_hint in tied else tied[0]
    out["best_valid_loss"] = low
    for k in history[0]:
        if k.startswith("valid_") and k != "valid_loss":
            vals = [r[k] for r in history if isinstance(r.get(k), float) and math.isfinite(r[k])]
            if vals:
                hib = any(k.endswith(m) for m in _HIGHER_BETTER)
                out[f"best_{k}"] = max(vals) if hib else min(vals)
    steps = sum(r.get("steps", 0) or 0 for r in history)
    secs = sum(r.get("seconds", 0) or 0 for r in history)
    out["seconds_per_step"] = secs / steps if steps else None
    return out


def _metric_column(rows: list[dict]) -> str | None:
    for m in ("best_valid_pearsonr", "best_valid_accuracy", "best_valid_r2"):
        if any(r.get(m) is not None for r in rows):
            return m
    return "best_valid_loss" if any(r.get("best_valid_loss") is not None for r in rows) else None


def summary_rows(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """One dict per variant: overrides, parameters, history statistics, memory, status."""
    out_dir = Path(out_dir)
    rows = []
    for i, v in enumerate(variants):
        vdir = out_dir / v["name"]
        row = {"index": i, "variant": v["name"], "spec": Path(v["spec"]).name,
               "overrides": "; ".join(f"{k}={json.dumps(x)}" for k, x in v["set"].items())}
        if (vdir / "params.json").exists():
            s = model_size(vdir, num_features or v.get("num_features"))
            row.update(params=s["params"], trainable=s["trainable"], num_features=s["num_features"],
                       output_shape=" ".join(f"{'x'.join(map(str, sh))}" for sh in s["outputs"].values()))
        row["status"] = variant_status(vdir)
        if (vdir / "history.csv").exists():
            row.update(history_stats(read_history(vdir / "history.csv"), _trainer_best_epoch(vdir)))
        run = vdir / "sweep_run.json"
        if run.exists():
            r = json.loads(run.read_text())
            row.update(peak_rss_mb=r.get("peak_rss_mb"), peak_rss_method=r.get("peak_rss_method"),
                       wall_seconds=r.get("wall_seconds"))
            if row["status"] == "failed":
                row["error"] = r.get("error")
        rows.append(row)
    return rows


def _trainer_best_epoch(vdir: Path) -> int | None:
    """The 1-based best epoch in the trainer's latest checkpoint state, if any."""
    latest = vdir / "checkpoints" / "latest"
    try:
        state = json.loads((vdir / "checkpoints" / latest.read_text().strip() / "state.json").read_text())
        return None if state.get("best_epoch") is None else int(state["best_epoch"]) + 1
    except (OSError, ValueError):
        return None


COLUMNS = ["index", "variant", "spec", "overrides", "params", "trainable", "num_features", "output_shape",
           "status", "epochs", "best_epoch", "best_valid_loss"]
TAIL = ["seconds_per_step", "wall_seconds", "peak_rss_mb", "peak_rss_method", "error"]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_summary(variants: list[dict], out_dir, num_features: int | None = None) -> list[dict]:
    """OUT/summary.tsv, OUT/summary.html and OUT/figures/*.png from the variants' folders."""
    import pandas as pd
    from ..plots.report import HtmlReport
    out_dir = Path(out_dir)
    rows = summary_rows(variants, out_dir, num_features)
    metrics = sorted({k for r in rows for k in r if k.startswith("best_valid_") and k != "best_valid_loss"})
    cols = [c for c in COLUMNS + metrics + TAIL if c in COLUMNS or any(r.get(c) is not None for r in rows)]
    lines = ["\t".join(cols)] + ["\t".join(_fmt(r.get(c)) for c in cols) for r in rows]
    write_text_atomic(out_dir / "summary.tsv", "\n".join(lines) + "\n")

    rep = HtmlReport(f"yeastzoi sweep: {out_dir.name}")
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    rep.paragraph(f"{len(rows)} variants: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    rep.table(df, float_format="{:.4g}")
    rep.paragraph("best_valid_loss: minimum over epochs of history.csv's valid_loss (epoch best_epoch); "
                  "best_valid_<metric>: maximum (Pearson R, R², accuracy) or minimum (others) over epochs; "
                  "seconds_per_step: Σ seconds / Σ steps of history.csv (includes validation); peak_rss_mb: "
                  "peak resident memory of the training run (method in peak_rss_method).", note=True)
    figs = plot_summary(rows, out_dir, variants)
    for path, caption in figs:
        rep.figure(path, caption)
    rep.write(out_dir / "summary.html")
    log.info("wrote %s and %s", out_dir / "summary.tsv", out_dir / "summary.html")
    return rows


def _short_count(x, _pos=None) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.0f}"


def plot_summary(rows: list[dict], out_dir, variants) -> list[tuple[Path, str]]:
    """metric_vs_params.png and learning_curves.png (when any variant has a history)."""
    from ..plots.figures import new_figure, save
    out_dir = Path(out_dir)
    figs = []
    metric = _metric_column(rows)
    pts = [r for r in rows if metric and r.get(metric) is not None and r.get("params")]
    if pts:
        fig, ax = new_figure(5.5, 4)
        for r in pts:
            ax.scatter(r["params"], r[metric], s=25)
            ax.annotate(r["variant"], (r["params"], r[metric]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xscale("log")
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator
        ax.xaxis.set_minor_formatter(NullFormatter())
        uniq = sorted({r["params"] for r in pts})
        if len(uniq) <= 8:                 # label the variants' own sizes (a narrow range has no decades)
            ax.xaxis.set_major_locator(FixedLocator(uniq))
            ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(_short_count))
        lo, hi = uniq[0], uniq[-1]
        ax.set_xlim(lo / 1.3, hi * 1.3)
        ax.set_xlabel("parameters")
        ax.set_ylabel(metric)
        figs.append((save(fig, out_dir / "figures" / "metric_vs_params.png"),
                     f"{metric} vs number of parameters (log scale), one point per trained variant."))
    curves = [(v["name"], out_dir / v["name"] / "history.csv") for v in variants]
    curves = [(n, read_history(p)) for n, p in curves if p.exists()]
    if curves:
        fig, ax = new_figure(5.5, 4)
        for name, h in curves:
            ax.plot([r["epoch"] for r in h], [r["valid_loss"] for r in h], marker="o", ms=3, label=name)
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.set_xlabel("epoch")
        ax.set_ylabel("valid loss")
        ax.legend(fontsize=7)
        figs.append((save(fig, out_dir / "figures" / "learning_curves.png"),
                     "Validation loss per epoch, one line per variant."))
    return figs


def format_table(rows: list[dict]) -> str:
    """A plain-text table of the main summary columns (for the command line)."""
    cols = [c for c in ("variant", "params", "trainable", "output_shape", "status", "epochs", "best_valid_loss",
                        "seconds_per_step", "peak_rss_mb") if any(r.get(c) is not None for r in rows)]

    def cell(r, c):
        v = r.get(c)
        if isinstance(v, int) and c in ("params", "trainable"):
            return f"{v:,}"
        return _fmt(v)

    cells = [[c for c in cols]] + [[cell(r, c) for c in cols] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
    return "\n".join("  ".join(x.ljust(w) if j == 0 else x.rjust(w) for j, (x, w) in enumerate(zip(row, widths)))
                     for row in cells)


def run_sweep(base, grid_path, out_dir, data_dirs=None, jobs: int = 0, dry: bool = False,
              array_index: int | None = None, num_features: int | None = None,
              overrides: list[str] | None = None, **train_kw) -> list[dict]:
    """Expand, prepare, then dry-run (``dry`` or no data) or train; returns the summary rows."""
    variants = expand_grid(base, grid_path, overrides)
    for v in variants:
        if num_features is not None:
            v["num_features"] = num_features
    prepare(variants, out_dir, only=None if array_index is None or dry or not data_dirs else [array_index])
    log.info("%d variants in %s: %s", len(variants), out_dir, ", ".join(v["name"] for v in variants))
    if dry or not data_dirs:
        return dry_run(variants, out_dir, num_features)
    return train_variants(variants, out_dir, data_dirs, jobs=jobs, array_index=array_index, **train_kw)


__all__ = ["read_grid", "grid_points", "expand_grid", "effective_spec", "prepare", "model_size", "dry_run",
           "variant_status", "train_variants", "read_history", "history_stats", "summary_rows",
           "write_summary", "plot_summary", "format_table", "run_sweep"]
