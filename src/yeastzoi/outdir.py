"""The output-folder contract of the ``bin/`` scripts: a run owns ``-o`` while it runs, writes
into a staging folder, and publishes its results as a set only when it succeeds.

    with OutputFolder("out") as stage:      # lock out/, stage in a sibling folder
        write results under stage/
        stage_ok = True
    # success → files moved into out/, files an earlier run wrote that this one did not are
    # removed; failure or interruption → out/ left exactly as it was

Rules:

* **checked up front**: OUT's parent is created if missing; a path that cannot be a folder
  (a file in the way, a read-only or full file system) is a one-line error before any work
  (:class:`yeastzoi.YeastzoiError`, exit 2).
* **lock**: ``.<name>.yeastzoi-lock`` beside OUT holds the owner's host, PID, script and start
  time (created with O_EXCL). A second run into a busy folder is refused in one line naming
  the other process; a lock whose process no longer exists on this host (a killed run) is
  stale and taken over, with a warning.
* **staging**: results are written into ``.<name>.staging-<pid>`` beside OUT (same file
  system, so publishing is a rename per file). On success every staged file replaces its
  namesake in OUT; then the files listed in OUT's ``.yeastzoi-outputs.json`` by the previous
  run of the same script and not written by this one are deleted (so no ``scores.tsv`` of an earlier ``--tsv``
  run survives beside new results), and the new list is written. Files in OUT that no
  yeastzoi run wrote are never touched. On failure the staging folder is removed.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import socket
import sys
from pathlib import Path

from . import YeastzoiError

log = logging.getLogger(__name__)

MANIFEST = ".yeastzoi-outputs.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def probe_writable(folder: Path, what: str) -> None:
    probe = folder / f".yeastzoi-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise YeastzoiError(f"{folder}: cannot write into the {what} ({exc.strerror or exc}); "
                            "choose another output folder with -o") from None


class OutputFolder:
    """Own output folder ``path`` for one run (module docstring). ``__enter__`` returns the
    staging folder the run writes into; ``finish(success)`` publishes or discards it."""

    def __init__(self, path, script: str | None = None):
        self.path = Path(path)
        self.script = script or Path(sys.argv[0]).name
        self.lock = self.path.parent / f".{self.path.name}.yeastzoi-lock"
        self.stage = self.path.parent / f".{self.path.name}.staging-{os.getpid()}"
        self._locked = False

    # ------------------------------------------------------------------ claim
    def __enter__(self) -> Path:
        return self.claim()

    def __exit__(self, exc_type, exc, tb):
        self.finish(exc_type is None)
        return False

    def claim(self) -> Path:
        p = self.path
        if p.exists() and not p.is_dir():
            raise YeastzoiError(f"{p}: exists and is not a folder; give -o a folder path")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise YeastzoiError(f"{p}: cannot create the output folder's parent {p.parent} "
                                f"({exc.strerror or exc}); choose another -o") from None
        probe_writable(p.parent, "output folder's parent")
        if p.is_dir():
            probe_writable(p, "output folder")
        self._take_lock()
        try:
            if self.stage.exists():
                shutil.rmtree(self.stage)
            self.stage.mkdir()
        except OSError as exc:
            self._release()
            raise YeastzoiError(f"{p}: cannot stage results beside it ({exc.strerror or exc}); choose another -o") \
                from None
        return self.stage

    def _take_lock(self) -> None:
        me = {"host": socket.gethostname(), "pid": os.getpid(), "script": self.script,
              "started": datetime.datetime.now().isoformat(timespec="seconds")}
        for _ in range(2):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self._read_lock()
                if other.get("host") == me["host"] and isinstance(other.get("pid"), int) \
                        and not _alive(other["pid"]):
                    log.warning("%s: taking over the stale lock of %s (PID %s, started %s), which is no longer "
                                "running", self.path, other.get("script"), other.get("pid"), other.get("started"))
                    self._remove_stale(other["pid"])
                    continue
                raise YeastzoiError(
                    f"{self.path}: in use by {other.get('script', 'another run')} (PID {other.get('pid', '?')} on "
                    f"{other.get('host', '?')}, since {other.get('started', '?')}); wait for it to finish or choose "
                    f"another -o (if no such process runs, delete {self.lock})") from None
            except OSError as exc:
                raise YeastzoiError(f"{self.path}: cannot create the lock {self.lock} ({exc.strerror or exc}); "
                                    "choose another -o") from None
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self._locked = True
            return
        raise YeastzoiError(f"{self.path}: could not take the lock {self.lock}; delete it and retry")

    def _read_lock(self) -> dict:
        try:
            return json.loads(self.lock.read_text())
        except (OSError, ValueError):
            return {}

    def _remove_stale(self, pid: int) -> None:
        self.lock.unlink(missing_ok=True)
        shutil.rmtree(self.path.parent / f".{self.path.name}.staging-{pid}", ignore_errors=True)

    def _release(self) -> None:
        if self._locked:
            self.lock.unlink(missing_ok=True)
            self._locked = False

    # ------------------------------------------------------------------ publish
    def finish(self, success: bool) -> list[str]:
        """Publish the staged files (``success``) or discard them; release the lock. Returns
        the relative paths published."""
        published = []
        try:
            if success and self.stage.is_dir():
                published = self._publish()
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
            self._release()
        return published

    def _publish(self) -> list[str]:
        files = sorted(str(f.relative_to(self.stage)) for f in self.stage.rglob("*") if not f.is_dir())
        self.path.mkdir(parents=True, exist_ok=True)
        for rel in files:
            dst = self.path / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_dir():
                shutil.rmtree(dst)
            os.replace(self.stage / rel, dst)
        manifest = self.path / MANIFEST
        old, old_script = [], None
        try:
            prev = json.loads(manifest.read_text())
            old, old_script = prev.get("files", []), prev.get("script")
        except (OSError, ValueError, AttributeError):
            pass
        if old_script != self.script:   # another script's results in the same folder are not a rerun's
            old = []
        new = set(files)
        for rel in old:
            if rel not in new and (self.path / rel).is_file():
                (self.path / rel).unlink()
                log.info("%s: removed %s, written by an earlier run but not by this one", self.path, rel)
        tmp = self.path / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps({"script": self.script, "files": files}, indent=1) + "\n")
        os.replace(tmp, manifest)
        log.info("published %d file(s) to %s", len(files), self.path)
        return files


__all__ = ["MANIFEST", "OutputFolder", "probe_writable"]
