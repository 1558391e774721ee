"""Cross-validation: one model per fold and replicate, job-array friendly, and the fold table.

    rows = train_folds("json_params/tiny.json", "data/folds", "out/cv", folds="0-7", reps=2)
    rows = train_folds(..., fold=3, rep=1)       # one job-array entry

Model f,c lives in ``OUT/f{f}c{c}/`` (fold f test, fold f+1 valid, the rest train) with the
outputs of :func:`yeastzoi.train.loop.train`; ``OUT/folds.tsv`` collects the finished jobs.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from .. import YeastzoiError
from ..fileio import write_json_atomic, write_text_atomic
from .checkpoints import format_value
from .loop import train

log = logging.getLogger(__name__)


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
        lines = ["\t".join(cols)] + ["\t".join(str(format_value(r.get(c, ""))) for c in cols) for r in rows]
        write_text_atomic(out_dir / "folds.tsv", "\n".join(lines) + "\n")
    return rows
