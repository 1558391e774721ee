"""Sweep runs: write each variant's folder, train the unfinished ones, record their status.

    prepare(variants, "out/sweep")                 # OUT/<variant>/params.json (+ variant.json)
    train_variants(variants, "out/sweep", "data/tracks", jobs=2)

Variants are skipped, resumed or retried by their status
(:func:`yeastzoi.train.sweep_summary.variant_status`).

**Peak memory** (``peak_rss_mb``) is the peak resident set size of the training process:
for subprocess runs (``jobs >= 1``) the child's own ``ru_maxrss`` from ``os.wait4``; for
in-process runs (``jobs=0``) the process high-water mark ``VmHWM`` of ``/proc/self/status``,
reset to the current RSS before each variant by writing ``5`` to ``/proc/self/clear_refs``
(when the reset is not possible the value is the process's peak so far, and
``peak_rss_method`` says so). It is recorded in ``OUT/<variant>/sweep_run.json`` by the run that
finished the variant.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from .. import YeastzoiError
from ..fileio import write_json_atomic
from .grid import effective_spec
from .sweep_summary import variant_status, write_summary

log = logging.getLogger(__name__)

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
            write_json_atomic(vdir / "params.json", {k: spec[k] for k in ("train", "model") if k in spec})
        write_json_atomic(old, rec)
        paths.append(vdir / "params.json")
    return paths


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
    command-line ``train_args``), run with ``-q``: ``OUT/<variant>/sweep.log`` gets the command
    and the run's warnings and errors, its ``train.log`` every record.
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

