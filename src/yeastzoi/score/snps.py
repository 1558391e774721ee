"""Variant effect scoring: windows, ref/alt sequences, a batched engine, statistics, output.

    models = [SeqNN.from_file(p) for p in paths]
    variants, _ = read_variants("calls.vcf", genome)
    opts = ScoreOptions(stats=("SAD", "logSED"), rc=True, shifts=(0, 1))
    result = score_variants(models, genome, variants, opts, targets_df=read_targets(sheet))
    write_scores_h5("out/scores.h5", result)

Windows
-------
A variant's window is ``seq_length`` bp with the variant's first REF base at 0-based index
``seq_length // 2 - 1`` (baskerville's convention), i.e. window start = ``pos0 -
(seq_length // 2 - 1)``; bases off a chromosome end are N. With ``cluster_bp > 0``
variants of one chromosome whose REF starts lie within ``cluster_bp`` bp of the cluster's
first variant share one window (centred the same way on the midpoint of the cluster's
first and last start) and one reference prediction; with ``cluster_bp = 0`` (default)
only variants at the same position (e.g. split multi-allelic records) share a window.

Alternative sequences (``stitch``): the ALT allele replaces the REF bases; for indels the
window is re-filled from the genome so that it stays ``seq_length`` long:

* ``left`` (default): the window start is kept; the sequence after the allele continues
  with the genome and is cut (insertion) or extended (deletion) at the right end, so the
  left flank and every output bin left of the variant stay aligned with the reference;
* ``right``: the window end is kept; the left flank is extended/cut at the left end, so
  the right flank and bins right of the variant stay aligned.

Predictions
-----------
Each model predicts ref and alt windows in fixed-size batches (the last batch padded),
averaged over its RC/shift ensemble (:meth:`yeastzoi.model.seqnn.SeqNN.build_ensemble`) in the
model's transformed space, then (unless ``untransform=False`` or no targets sheet is known)
mapped back to raw coverage per bin by :func:`yeastzoi.coverage.targets.untransform`.

Statistics (per track t; ``ref``/``alt`` are the predicted bins b of the read-out region)
------------------------------------------------------------------------------------------
* ``SAD``    = Σ_b alt[b, t] − Σ_b ref[b, t]      over all output bins of the window
* ``logSAD`` = log2(Σ_b alt + 1) − log2(Σ_b ref + 1)   over all output bins
* ``SED``    = Σ_b alt − Σ_b ref                   over the *effect bins* only
* ``logSED`` = log2(Σ_b alt + 1) − log2(Σ_b ref + 1)   over the effect bins
* ``D1``     = mean_b |alt − ref|                  over all output bins
* ``D2``     = sqrt(mean_b (alt − ref)²)           over all output bins
* ``JS``     = Jensen–Shannon divergence (bits) between the profiles normalised to sum 1,
  p = (ref + ε)/Σ(ref + ε), q = (alt + ε)/Σ(alt + ε), m = (p + q)/2, ε = 1e-6:
  JS = ½ Σ_b p log2(p/m) + ½ Σ_b q log2(q/m)   (0 ≤ JS ≤ 1); negative predictions are
  clipped to 0 first.

Effect bins: for variant scoring (:func:`score_variants`) the bins overlapping
``[pos0 − sed_bp, pos0 + sed_bp]`` (``sed_bp`` default 1024); for gene scoring
(:func:`score_variant_genes`) the gene's exon bins, and there *every* statistic is taken
over the exon bins (so SAD = SED there).
With several models every statistic is computed per model, then ``<stat>`` holds the mean
and ``<stat>_std`` the standard deviation (ddof 0) across models.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .. import YeastzoiError, __version__
from ..genome.dna import model_input, seq_to_codes
from ..fileio import atomic_path

log = logging.getLogger(__name__)

STATS = ("SAD", "logSAD", "SED", "logSED", "D1", "D2", "JS")
LM_STATS = ("LLR",)
JS_EPS = 1e-6
FLOAT16_MAX = 65504.0


# ----------------------------------------------------------------------------- options
@dataclasses.dataclass
class ScoreOptions:
    """Settings of a scoring run (all stored as attributes of scores.h5)."""

    stats: Sequence[str] = ("SAD", "logSED")
    rc: bool = False
    shifts: Sequence[int] = (0,)
    untransform: bool = True
    batch_size: int = 8
    cluster_bp: int = 0
    stitch: str = "left"
    sed_bp: int = 1024
    species: str | None = None
    compiled: bool | None = None   # None: compiled predict function for all but tiny jobs

    def check(self) -> "ScoreOptions":
        self.stats = parse_stats(self.stats)
        if self.stitch not in ("left", "right"):
            raise YeastzoiError(f"--stitch {self.stitch}: expected left or right")
        if self.batch_size < 1:
            raise YeastzoiError(f"--batch-size {self.batch_size}: must be >= 1")
        if self.cluster_bp < 0 or self.sed_bp < 0:
            raise YeastzoiError("--cluster-bp and --sed-bp must be >= 0")
        self.shifts = [int(s) for s in self.shifts] or [0]
        return self


def parse_stats(stats, allowed=STATS + LM_STATS) -> list[str]:
    """``"SAD,logSED"`` or a list → validated list (case-insensitive names)."""
    if isinstance(stats, str):
        stats = [s for s in stats.split(",") if s.strip()]
    canon = {s.lower(): s for s in allowed}
    out = []
    for s in stats:
        key = s.strip().lower()
        if key not in canon:
            raise YeastzoiError(f"--stats {s}: unknown statistic; choose from {', '.join(allowed)}")
        if canon[key] not in out:
            out.append(canon[key])
    if not out:
        raise YeastzoiError("--stats: give at least one statistic")
    return out


def parse_shifts(text: str | None) -> list[int]:
    if not text:
        return [0]
    try:
        return [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise YeastzoiError(f"--shifts {text}: expected comma-separated integers, e.g. 0,1,-1") from None


# ----------------------------------------------------------------------------- models
def species_index(meta: dict, species: str | None) -> int | None:
    """Species channel index of a model for ``species`` (name or integer); None when the
    model has no species channels. Default: the metadata's first species."""
    n = int(meta.get("num_species") or 0)
    if n == 0:
        return None
    names = list(meta.get("species") or [])
    if species is None:
        log.info("species: %s (index 0, the model's first species; set --species to change)",
                 names[0] if names else "0")
        return 0
    if species in names:
        return names.index(species)
    if str(species).isdigit() and int(species) < n:
        return int(species)
    raise YeastzoiError(f"--species {species}: not one of the model's species "
                        f"({', '.join(names) if names else f'indices 0..{n - 1}'})")


#: jobs needing more model calls than this use the compiled predict function (tracing it
#: costs several eager calls' time, so tiny jobs run eagerly)
COMPILE_MIN_BATCHES = 6


class Predictor:
    """One model's RC/shift ensemble, called in fixed-size batches (last batch padded so the
    compiled predict function is traced once). ``compiled``: None = decide from the work
    announced with :meth:`expect` (compiled above :data:`COMPILE_MIN_BATCHES` batches)."""

    def __init__(self, seqnn, rc: bool = False, shifts=(0,), batch_size: int = 8,
                 species: str | None = None, compiled: bool | None = None):
        self.seqnn = seqnn
        self.meta = seqnn.meta
        # one ensemble model per (rc, shifts) per SeqNN, so its compiled predict function
        # is traced once per process
        cache = seqnn.__dict__.setdefault("_yeastzoi_ensembles", {})
        key = (bool(rc), tuple(int(s) for s in shifts))
        if key not in cache:
            cache[key] = seqnn.build_ensemble(rc=rc, shifts=list(shifts))
        self.model = cache[key]
        self.batch_size = int(batch_size)
        self.num_features = seqnn.num_features
        self.species_index = species_index(self.meta, species)
        self.seq_length = seqnn.seq_length
        self.compiled = compiled

    def expect(self, n_sequences: int) -> None:
        """Announce the number of sequences to come (chooses compiled vs eager calls)."""
        if self.compiled is None:
            self.compiled = -(-int(n_sequences) // self.batch_size) > COMPILE_MIN_BATCHES

    def encode(self, codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """codes (B, L) → model input (B, L, F) with this model's species channel."""
        if self.num_features == 4:
            return model_input(codes, 4)
        return model_input(codes, self.num_features, self.species_index, mask=mask)

    def predict_codes(self, codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.predict(self.encode(codes, mask))

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        n, bs = len(x), self.batch_size
        if self.compiled:
            call = self.model.predict_on_batch
        else:
            def call(xb):
                return self.model(xb, training=False)
        out = []
        for i in range(0, n, bs):
            xb = x[i:i + bs]
            k = len(xb)
            if k < bs:
                xb = np.concatenate([xb, np.zeros((bs - k,) + xb.shape[1:], np.float32)])
            out.append(np.asarray(call(xb))[:k])
        return np.concatenate(out) if out else np.zeros((0,), np.float32)


def check_models(models) -> dict:
    """All models must share seq_length, output bins, pool width and track count."""
    if not models:
        raise YeastzoiError("no model given")
    keys = ("seq_length", "target_length", "pool_width", "crop_bp", "num_targets")
    first = {k: models[0].meta.get(k) for k in keys}
    for i, m in enumerate(models[1:], 2):
        other = {k: m.meta.get(k) for k in keys}
        if other != first:
            diff = ", ".join(f"{k} {first[k]} vs {other[k]}" for k in keys if first[k] != other[k])
            raise YeastzoiError(f"model {i} does not match model 1 ({diff}); an ensemble needs "
                                "models of the same architecture and targets")
    return first


def resolve_targets(targets_path, model_path, meta: dict):
    """The targets sheet for untransforming: ``targets_path`` when given, else a
    ``targets.txt`` beside the model file; None when neither exists. The sheet must have
    one row per model output track."""
    from ..coverage.targets import read_targets

    path = Path(targets_path) if targets_path else None
    if path is None and model_path is not None:
        cand = Path(model_path).parent / "targets.txt"
        if cand.is_file():
            log.info("targets sheet: %s (found beside the model)", cand)
            path = cand
    if path is None:
        return None
    df = read_targets(path)
    n = meta.get("num_targets")
    if n is not None and len(df) != int(n):
        raise YeastzoiError(f"{path}: the sheet has {len(df)} tracks but the model predicts {n}; "
                            "give the sheet the model was trained with")
    ids = meta.get("target_ids")
    if ids and list(map(str, ids)) != list(map(str, df["identifier"])):
        log.warning("%s: identifiers differ from the model's target_ids; using the sheet's", path)
    return df


def target_labels(meta: dict, targets_df) -> tuple[list[str], list[str]]:
    n = int(meta["num_targets"])
    if targets_df is not None:
        ids = [str(x) for x in targets_df["identifier"]]
        labels = [str(d) if str(d) else i for d, i in zip(targets_df["description"], ids)]
        return ids, labels
    ids = [str(x) for x in (meta.get("target_ids") or [f"t{i}" for i in range(n)])]
    return ids, list(ids)


def track_strands(targets_df, num_targets: int) -> np.ndarray:
    """'+', '-' or '.' per track: stranded tracks have a strand_pair partner other than
    themselves and an identifier ending in + or -."""
    out = np.array(["."] * num_targets, dtype=object)
    if targets_df is None:
        return out
    sp = np.asarray(targets_df["strand_pair"], dtype=np.int64)
    for i, ident in enumerate(targets_df["identifier"]):
        ident = str(ident)
        if sp[i] != i and ident[-1:] in "+-":
            out[i] = ident[-1]
    return out


# ----------------------------------------------------------------------------- sequences
def window_start(pos0: int, seq_length: int) -> int:
    """Window start that puts 0-based position ``pos0`` at index ``seq_length // 2 - 1``."""
    return int(pos0) - (seq_length // 2 - 1)


def ref_codes(genome, chrom: str, start: int, seq_length: int) -> np.ndarray:
    return genome.fetch_codes(chrom, start, start + seq_length)


def alt_codes(genome, variant, start: int, seq_length: int, stitch: str = "left") -> np.ndarray:
    """Codes (seq_length,) of the window starting at ``start`` with ALT replacing REF
    (stitching as in the module docstring)."""
    chrom, v0 = variant.chrom, variant.start
    alt = seq_to_codes(variant.alt)
    after = v0 + len(variant.ref)
    end = start + seq_length
    if stitch == "left":
        left = genome.fetch_codes(chrom, start, v0)[max(0, start - v0):] if v0 > start else np.zeros(0, np.uint8)
        if v0 < start:  # variant starts left of the window (cluster windows never do)
            alt = alt[start - v0:]
        need = seq_length - len(left) - len(alt)
        right = genome.fetch_codes(chrom, after, after + max(need, 0))
        seq = np.concatenate([left, alt, right])[:seq_length]
    else:
        right = genome.fetch_codes(chrom, after, end) if after < end else np.zeros(0, np.uint8)
        need = seq_length - len(right) - len(alt)
        left = genome.fetch_codes(chrom, v0 - max(need, 0), v0)
        seq = np.concatenate([left, alt, right])[-seq_length:]
    return seq


# ----------------------------------------------------------------------------- stats
def compute_stats(ref: np.ndarray, alt: np.ndarray, stats: Sequence[str],
                  effect_mask: np.ndarray | None = None,
                  all_mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Statistics (module docstring) of ref/alt predictions (N, bins, T) → {stat: (N, T)}.

    ``effect_mask`` (N, bins) bool selects the SED/logSED bins (default all);
    ``all_mask`` (N, bins) the bins of the other statistics (default all)."""
    ref = np.asarray(ref, dtype=np.float64)
    alt = np.asarray(alt, dtype=np.float64)
    n, nb = ref.shape[:2]
    am = np.ones((n, nb), bool) if all_mask is None else np.asarray(all_mask, bool)
    em = am if effect_mask is None else np.asarray(effect_mask, bool)
    wa = am[..., None].astype(np.float64)
    we = em[..., None].astype(np.float64)
    out = {}
    cnt = np.maximum(wa.sum(1), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if {"SAD", "logSAD"} & set(stats):
            rs, as_ = (ref * wa).sum(1), (alt * wa).sum(1)
            if "SAD" in stats:
                out["SAD"] = as_ - rs
            if "logSAD" in stats:
                out["logSAD"] = np.log2(np.maximum(as_, 0) + 1) - np.log2(np.maximum(rs, 0) + 1)
        if {"SED", "logSED"} & set(stats):
            rs, as_ = (ref * we).sum(1), (alt * we).sum(1)
            if "SED" in stats:
                out["SED"] = as_ - rs
            if "logSED" in stats:
                out["logSED"] = np.log2(np.maximum(as_, 0) + 1) - np.log2(np.maximum(rs, 0) + 1)
        d = (alt - ref) * wa
        if "D1" in stats:
            out["D1"] = np.abs(d).sum(1) / cnt
        if "D2" in stats:
            out["D2"] = np.sqrt(np.square(d).sum(1) / cnt)
        if "JS" in stats:
            p = (np.maximum(ref, 0) + JS_EPS) * wa
            q = (np.maximum(alt, 0) + JS_EPS) * wa
            p = p / p.sum(1, keepdims=True)
            q = q / q.sum(1, keepdims=True)
            m = (p + q) / 2
            kl_p = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1) / np.where(m > 0, m, 1)), 0).sum(1)
            kl_q = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1) / np.where(m > 0, m, 1)), 0).sum(1)
            out["JS"] = 0.5 * kl_p + 0.5 * kl_q
    return {s: out[s].astype(np.float32) for s in stats}


def bins_overlapping(start: int, meta: dict, lo: int, hi: int) -> np.ndarray:
    """bool (target_length,): output bins of the window at ``start`` overlapping [lo, hi)."""
    pw, nb = int(meta["pool_width"]), int(meta["target_length"])
    b0 = start + int(meta["crop_bp"]) + np.arange(nb) * pw
    return (b0 < hi) & (b0 + pw > lo)


def exon_bins(start: int, meta: dict, exons, min_frac: float = 0.5) -> np.ndarray:
    """bool (target_length,): bins of the window at ``start`` covered ≥ ``min_frac`` by exons."""
    pw, nb = int(meta["pool_width"]), int(meta["target_length"])
    r0 = start + int(meta["crop_bp"])
    cov = np.zeros(nb * pw, np.int32)
    for s, e in exons:
        a, b = max(s - r0, 0), min(e - r0, nb * pw)
        if b > a:
            cov[a:b] = 1
    return cov.reshape(nb, pw).sum(1) >= min_frac * pw


# ----------------------------------------------------------------------------- engine
@dataclasses.dataclass
class Job:
    """One ref/alt window pair: variant ``vi`` in the window starting at ``start``; each
    readout (row, effect_mask, all_mask, track_mask) becomes one output row."""

    vi: int
    chrom: str
    start: int
    readouts: list
    stitch: str | None = None      # overrides the run's stitching for this job


@dataclasses.dataclass
class ScoreResult:
    variants: list
    stats: dict                  # stat → (rows, T) mean over models; <stat>_std with >1 model
    target_ids: list
    target_labels: list
    attrs: dict
    pairs: pd.DataFrame | None = None    # gene mode: si, gene_id, gene_name, gene_strand


def _run_jobs(predictors, genome, variants, jobs: list[Job], n_rows: int, stats, stitch: str,
              targets_df, do_untransform: bool, progress: Callable | None = None,
              chunk_seqs: int = 64) -> dict[str, np.ndarray]:
    """Predict every job's ref (shared per window) and alt, compute stats per readout.
    Returns {stat: (M, n_rows, T)}."""
    from ..coverage.targets import untransform

    meta = predictors[0].meta
    L, T = int(meta["seq_length"]), int(meta["num_targets"])
    out = {s: np.full((len(predictors), n_rows, T), np.nan, np.float32) for s in stats}
    # chunk jobs so that each chunk holds ~chunk_seqs sequences and windows are not split
    chunks, cur, cur_windows, count = [], [], set(), 0
    for job in jobs:
        key = (job.chrom, job.start)
        add = 1 + (key not in cur_windows)
        if cur and count + add > chunk_seqs and key not in cur_windows:
            chunks.append(cur)
            cur, cur_windows, count = [], set(), 0
            add = 2
        cur.append(job)
        cur_windows.add(key)
        count += add
    if cur:
        chunks.append(cur)
    reported: set = set()
    n_seqs = len({(j.chrom, j.start) for j in jobs}) + len(jobs)
    for p in predictors:
        p.expect(n_seqs)
    for chunk in chunks:
        win_index: dict = {}
        seqs = []
        for job in chunk:
            key = (job.chrom, job.start)
            if key not in win_index:
                win_index[key] = len(seqs)
                seqs.append(ref_codes(genome, job.chrom, job.start, L))
        alt_index = []
        for job in chunk:
            alt_index.append(len(seqs))
            seqs.append(alt_codes(genome, variants[job.vi], job.start, L, job.stitch or stitch))
        codes = np.stack(seqs)
        for mi, pred in enumerate(predictors):
            y = pred.predict_codes(codes)
            if do_untransform and targets_df is not None:
                y = untransform(y, targets_df)
            rows, em, am, tm, ri, ai = [], [], [], [], [], []
            for job, a in zip(chunk, alt_index):
                r = win_index[(job.chrom, job.start)]
                for row, emask, amask, tmask in job.readouts:
                    rows.append(row)
                    em.append(emask)
                    am.append(amask)
                    tm.append(tmask)
                    ri.append(r)
                    ai.append(a)
            if not rows:
                continue
            res = compute_stats(y[ri], y[ai], stats, effect_mask=np.stack(em), all_mask=np.stack(am))
            tmask = np.stack(tm)
            for s in stats:
                v = res[s]
                v[~tmask] = np.nan
                out[s][mi, rows] = v
        if progress is not None:
            new = {job.vi for job in chunk} - reported
            reported |= new
            progress(len(new))
    return out


def _reduce(per_model: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for s, arr in per_model.items():
        with np.errstate(invalid="ignore"):
            out[s] = arr.mean(0) if arr.shape[0] else arr[0]
            if arr.shape[0] > 1:
                out[f"{s}_std"] = arr.std(0)
    return out


def _windows_for(variants, seq_length: int, cluster_bp: int) -> dict[int, int]:
    """variant index → window start (module docstring: clusters)."""
    starts = {}
    order = sorted(range(len(variants)), key=lambda i: (variants[i].chrom, variants[i].start))
    group: list[int] = []

    def flush():
        if not group:
            return
        a, b = variants[group[0]].start, variants[group[-1]].start
        s = window_start((a + b) // 2, seq_length)
        for i in group:
            starts[i] = s

    for i in order:
        v = variants[i]
        if group:
            g0 = variants[group[0]]
            same = v.chrom == g0.chrom and (v.start == g0.start if cluster_bp == 0
                                             else v.start + len(v.ref) - g0.start <= cluster_bp)
            if not same:
                flush()
                group = []
        group.append(i)
    flush()
    return starts


def _settings(models, model_paths, opts: ScoreOptions, targets_df, do_untransform, mode: str) -> dict:
    meta = models[0].meta
    return {"yeastzoi_version": __version__, "mode": mode,
            "models": [str(p) for p in (model_paths or [f"model{i}" for i in range(len(models))])],
            "num_models": len(models), "rc": bool(opts.rc), "shifts": [int(s) for s in opts.shifts],
            "untransformed": bool(do_untransform), "stats": list(opts.stats), "stitch": opts.stitch,
            "cluster_bp": int(opts.cluster_bp), "sed_bp": int(opts.sed_bp),
            "species": opts.species or ((meta.get("species") or [None])[0] if meta.get("num_species") else None),
            "seq_length": int(meta["seq_length"]), "pool_width": int(meta["pool_width"] or 1),
            "crop_bp": int(meta.get("crop_bp") or 0), "target_length": int(meta["target_length"]),
            "variant_index": int(meta["seq_length"]) // 2 - 1}


def _prepare(models, opts, targets_df):
    opts.check()
    check_models(models)
    do_untransform = bool(opts.untransform and targets_df is not None)
    if opts.untransform and targets_df is None:
        log.warning("no targets sheet: scores are in the model's transformed space "
                    "(give --targets to untransform)")
    preds = [Predictor(m, opts.rc, opts.shifts, opts.batch_size, opts.species, opts.compiled) for m in models]
    return preds, do_untransform


def score_variants(models, genome, variants, opts: ScoreOptions, targets_df=None,
                   model_paths=None, progress: Callable | None = None) -> ScoreResult:
    """Score every variant with every model (see the module docstring). ``progress(n)`` is
    called with the number of variants finished after each chunk."""
    preds, do_untransform = _prepare(models, opts, targets_df)
    meta = models[0].meta
    L, T = int(meta["seq_length"]), int(meta["num_targets"])
    starts = _windows_for(variants, L, opts.cluster_bp)
    full = np.ones(int(meta["target_length"]), bool)
    tall = np.ones(T, bool)
    jobs = []
    for i in sorted(starts, key=lambda i: (variants[i].chrom, starts[i], i)):
        v, s = variants[i], starts[i]
        em = bins_overlapping(s, meta, v.start - opts.sed_bp, v.start + len(v.ref) + opts.sed_bp)
        jobs.append(Job(i, v.chrom, s, [(i, em, full, tall)]))
    n_win = len({(j.chrom, j.start) for j in jobs})
    log.info("%d variants in %d windows; %d model(s), rc=%s, shifts=%s, batch %d", len(variants), n_win,
             len(models), opts.rc, list(opts.shifts), opts.batch_size)
    per_model = _run_jobs(preds, genome, variants, jobs, len(variants), opts.stats, opts.stitch,
                          targets_df, do_untransform, progress)
    ids, labels = target_labels(meta, targets_df)
    attrs = _settings(models, model_paths, opts, targets_df, do_untransform, "snp")
    attrs["windows"] = n_win
    return ScoreResult(list(variants), _reduce(per_model), ids, labels, attrs)


# ----------------------------------------------------------------------------- genes
def gene_window_start(pos0: int, gene_lo: int, gene_hi: int, meta: dict) -> tuple[int, bool]:
    """Window start so that the variant lies in the input window and the gene span
    [gene_lo, gene_hi) in the output (cropped) region; the variant-centred window when it
    already fits, else the nearest start that does. Returns (start, fits)."""
    L = int(meta["seq_length"])
    crop, R = int(meta.get("crop_bp") or 0), int(meta["target_length"]) * int(meta["pool_width"])
    s0 = window_start(pos0, L)
    lo_v, hi_v = pos0 - L + 1, pos0                    # variant inside the input window
    lo_g, hi_g = gene_hi - R - crop, gene_lo - crop     # gene inside the output region
    lo, hi = max(lo_v, lo_g), min(hi_v, hi_g)
    if lo <= hi:
        return int(min(max(s0, lo), hi)), True
    centre = (gene_lo + gene_hi) // 2 - crop - R // 2
    return int(min(max(centre, lo_v), hi_v)), False


def score_variant_genes(models, genome, variants, genes: pd.DataFrame, exons: dict,
                        opts: ScoreOptions, targets_df=None, model_paths=None,
                        progress: Callable | None = None) -> ScoreResult:
    """Gene-level scores: one output row per (variant, gene) pair for every gene whose span
    overlaps the variant-centred input window. Every statistic is taken over the gene's exon
    bins (≥ 50 % exon overlap) in a window placed by :func:`gene_window_start`; for stranded
    tracks only those on the gene's strand are scored (the others are NaN).

    ``genes``: :func:`yeastzoi.genome.assembly.genes_table` rows (chromosomes already FASTA names);
    ``exons``: :func:`yeastzoi.genome.assembly.exons_by_gene`."""
    preds, do_untransform = _prepare(models, opts, targets_df)
    meta = models[0].meta
    L, T = int(meta["seq_length"]), int(meta["num_targets"])
    strands = track_strands(targets_df, T)
    if targets_df is None:
        log.warning("no targets sheet: every track is treated as unstranded")
    by_chrom = {c: g for c, g in genes.groupby("chrom", sort=False)}
    jobs: dict[tuple, Job] = {}
    pairs = []
    partial = 0
    for vi, v in enumerate(variants):
        g = by_chrom.get(v.chrom)
        if g is None:
            continue
        s0 = window_start(v.start, L)
        hit = g[(g["start"] < s0 + L) & (g["end"] > s0)]
        for gr in hit.itertuples(index=False):
            ex = exons.get(gr.gene_id) or [(int(gr.start), int(gr.end))]
            lo, hi = min(e[0] for e in ex), max(e[1] for e in ex)
            s, fits = gene_window_start(v.start, lo, hi, meta)
            partial += int(not fits)
            em = exon_bins(s, meta, ex)
            if not em.any():
                continue
            tm = np.array([st == "." or st == gr.strand for st in strands], bool)
            key = (vi, s)
            if key not in jobs:
                jobs[key] = Job(vi, v.chrom, s, [])
            jobs[key].readouts.append((len(pairs), em, em, tm))
            pairs.append((vi, gr.gene_id, getattr(gr, "gene_name", ""), gr.strand, bool(fits)))
    if partial:
        log.warning("%d variant-gene pairs: the gene is longer than the output region or too far "
                    "from the variant; only its exon bins inside the window are scored", partial)
    job_list = sorted(jobs.values(), key=lambda j: (j.chrom, j.start, j.vi))
    log.info("%d variants, %d variant-gene pairs, %d windows", len(variants), len(pairs),
             len({(j.chrom, j.start) for j in job_list}))
    per_model = _run_jobs(preds, genome, variants, job_list, len(pairs), opts.stats, opts.stitch,
                          targets_df, do_untransform, progress)
    ids, labels = target_labels(meta, targets_df)
    attrs = _settings(models, model_paths, opts, targets_df, do_untransform, "snpgene")
    pairs_df = pd.DataFrame(pairs, columns=["si", "gene_id", "gene_name", "gene_strand", "gene_fits"])
    return ScoreResult(list(variants), _reduce(per_model), ids, labels, attrs, pairs=pairs_df)


# ----------------------------------------------------------------------------- LM zero-shot
def score_variants_lm(models, genome, variants, opts: ScoreOptions, model_paths=None,
                      progress: Callable | None = None) -> ScoreResult:
    """Zero-shot LM score ``LLR`` = log p(alt) − log p(ref) (natural log) at the masked
    variant position(s), from a masked-LM model whose output is (L, 4) base probabilities.

    The window is the variant-centred one; the REF positions are masked (mask channel 1,
    DNA channels 0); the score is computed on the forward window and on its reverse
    complement (output position reversed, bases complemented) and the two are averaged.
    Substitutions of any length (len(REF) = len(ALT)) sum the per-position log ratios over
    the positions where the alleles differ; indels get NaN (counted in the log). With
    several models: mean and ``LLR_std``. ``opts.rc``/``shifts`` are not used (both strands
    are always scored)."""
    if not models:
        raise YeastzoiError("no model given")
    opts.stats = ["LLR"]
    for m in models:
        if int(m.meta.get("num_targets") or 0) != 4 or int(m.meta["target_length"]) != int(m.meta["seq_length"]):
            raise YeastzoiError("--lm needs a masked-LM model with a per-base 4-way output "
                                f"(this model outputs {m.meta['target_length']} × {m.meta['num_targets']})")
        if m.num_features < 5:
            raise YeastzoiError("--lm needs a model with a mask input channel (4 DNA + 1 mask + species)")
    L = int(models[0].seq_length)
    keys, key_of, by_key = [], {}, {}
    n_indel = 0
    for vi, v in enumerate(variants):
        if v.is_indel:
            n_indel += 1
            continue
        k = (v.chrom, v.start, len(v.ref))
        if k not in key_of:
            key_of[k] = len(keys)
            keys.append(k)
            by_key[k] = []
        by_key[k].append(vi)
    if n_indel:
        log.warning("%d indels get no LM score (NaN); LM scores are defined for substitutions", n_indel)
    comp = np.array([3, 2, 1, 0, 4])
    scores = np.full((len(models), len(variants), 1), np.nan, np.float32)
    chunk = max(opts.batch_size * 4, 8)
    for mi, m in enumerate(models):
        pred = Predictor(m, False, (0,), opts.batch_size, opts.species, opts.compiled)
        pred.expect(2 * len(keys))
        for c0 in range(0, len(keys), chunk):
            ks = keys[c0:c0 + chunk]
            codes, masks = [], []
            for chrom, p0, n in ks:
                s = window_start(p0, L)
                codes.append(ref_codes(genome, chrom, s, L))
                mk = np.zeros(L, np.float32)
                mk[p0 - s:p0 - s + n] = 1
                masks.append(mk)
            codes, masks = np.stack(codes), np.stack(masks)
            x = pred.encode(codes, masks)
            x_rc = np.concatenate([x[:, ::-1, :4][..., ::-1], x[:, ::-1, 4:]], axis=-1)
            y = pred.predict(np.concatenate([x, x_rc]))
            yf, yr = y[:len(ks)], y[len(ks):]
            logf = np.log(np.maximum(yf, 1e-12))
            logr = np.log(np.maximum(yr, 1e-12))
            for j, k in enumerate(ks):
                for vi in by_key[k]:
                    v = variants[vi]
                    i0 = v.start - window_start(v.start, L)
                    r, a = seq_to_codes(v.ref), seq_to_codes(v.alt)
                    tot_f = tot_r = 0.0
                    for q in range(len(r)):
                        if r[q] == a[q] or r[q] > 3 or a[q] > 3:
                            continue
                        i = i0 + q
                        tot_f += logf[j, i, a[q]] - logf[j, i, r[q]]
                        ir = L - 1 - i
                        tot_r += logr[j, ir, comp[a[q]]] - logr[j, ir, comp[r[q]]]
                    scores[mi, vi, 0] = 0.5 * (tot_f + tot_r)
            if progress is not None:
                progress(len(ks))
    attrs = _settings(models, model_paths, opts, None, False, "lm")
    attrs.update({"rc": True, "lm_log_base": "e", "lm_indels_nan": n_indel})
    return ScoreResult(list(variants), _reduce({"LLR": scores}), ["lm_llr"],
                       ["LM log p(alt) - log p(ref), both strands"], attrs)


# ----------------------------------------------------------------------------- output
def _strs(values):
    import h5py

    return np.array([str(x) for x in values], dtype=h5py.string_dtype())


def _f16(a: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(a, np.float32), -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)


def _attr(val):
    import h5py

    if val is None:
        return "None"
    if isinstance(val, (list, tuple)):
        if not val or any(isinstance(x, str) for x in val):
            return np.array([str(x) for x in val], dtype=h5py.string_dtype())
        return np.asarray(val)
    return val


def write_scores_h5(path, result: ScoreResult) -> Path:
    """Write ``scores.h5`` atomically (module docstring of :mod:`yeastzoi.score.snps` for the stats).

    Datasets: ``snp``, ``chr``, ``pos`` (1-based), ``ref_allele``, ``alt_allele``, ``flipped``,
    ``target_ids``, ``target_labels``, one float16 dataset per statistic (rows × targets;
    rows = variants, or variant-gene pairs in gene mode, which adds ``si`` (row → variant
    index), ``gene``, ``gene_name``, ``gene_strand``). Settings are file attributes."""
    import h5py

    path = Path(path)
    v = result.variants
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("snp", data=_strs([x.id for x in v]))
            h5.create_dataset("chr", data=_strs([x.chrom for x in v]))
            h5.create_dataset("pos", data=np.array([x.pos for x in v], np.int64))
            h5.create_dataset("ref_allele", data=_strs([x.ref for x in v]))
            h5.create_dataset("alt_allele", data=_strs([x.alt for x in v]))
            h5.create_dataset("flipped", data=np.array([x.flipped for x in v], bool))
            h5.create_dataset("target_ids", data=_strs(result.target_ids))
            h5.create_dataset("target_labels", data=_strs(result.target_labels))
            if result.pairs is not None:
                p = result.pairs
                h5.create_dataset("si", data=np.asarray(p["si"], np.int64))
                h5.create_dataset("gene", data=_strs(p["gene_id"]))
                h5.create_dataset("gene_name", data=_strs(p["gene_name"]))
                h5.create_dataset("gene_strand", data=_strs(p["gene_strand"]))
            for s, arr in result.stats.items():
                h5.create_dataset(s, data=_f16(arr), compression="gzip" if arr.size > 4096 else None)
            for k, val in result.attrs.items():
                h5.attrs[k] = _attr(val)
    return path


def read_scores_h5(path) -> ScoreResult:
    """Read a scores.h5 back (float32 stats)."""
    import h5py

    from .variants import Variant

    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: scores file not found")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise YeastzoiError(f"{path}: not an HDF5 scores file") from None
    with h5:
        dec = lambda k: [x.decode() if isinstance(x, bytes) else str(x) for x in h5[k][()]]  # noqa: E731
        need = ("snp", "chr", "pos", "ref_allele", "alt_allele", "target_ids")
        miss = [k for k in need if k not in h5]
        if miss:
            raise YeastzoiError(f"{path}: not a yeastzoi scores.h5 (missing {', '.join(miss)})")
        flipped = h5["flipped"][()] if "flipped" in h5 else np.zeros(len(h5["pos"]), bool)
        variants = [Variant(id=i, chrom=c, pos=int(p), ref=r, alt=a, flipped=bool(f))
                    for i, c, p, r, a, f in zip(dec("snp"), dec("chr"), h5["pos"][()], dec("ref_allele"),
                                                dec("alt_allele"), flipped)]
        skip = {"snp", "chr", "pos", "ref_allele", "alt_allele", "flipped", "target_ids", "target_labels",
                "si", "gene", "gene_name", "gene_strand"}
        stats = {k: h5[k][()].astype(np.float32) for k in h5.keys() if k not in skip}
        pairs = None
        if "si" in h5:
            pairs = pd.DataFrame({"si": h5["si"][()], "gene_id": dec("gene"), "gene_name": dec("gene_name"),
                                  "gene_strand": dec("gene_strand")})
        attrs = {}
        for k, val in h5.attrs.items():
            if isinstance(val, np.ndarray):
                val = [x.decode() if isinstance(x, bytes) else x.item() if hasattr(x, "item") else x for x in val]
            elif isinstance(val, bytes):
                val = val.decode()
            elif hasattr(val, "item"):
                val = val.item()
            attrs[k] = val
        labels = dec("target_labels") if "target_labels" in h5 else dec("target_ids")
        return ScoreResult(variants, stats, dec("target_ids"), labels, attrs, pairs=pairs)


def write_scores_tsv(path, result: ScoreResult) -> Path:
    """Long table: one line per (row, target) with the variant (and gene) fields and every
    statistic."""
    v = result.variants
    T = len(result.target_ids)
    if result.pairs is not None:
        si = np.asarray(result.pairs["si"], np.int64)
    else:
        si = np.arange(len(v))
    n = len(si)
    df = pd.DataFrame({
        "snp": np.repeat([v[i].id for i in si], T), "chr": np.repeat([v[i].chrom for i in si], T),
        "pos": np.repeat([v[i].pos for i in si], T), "ref_allele": np.repeat([v[i].ref for i in si], T),
        "alt_allele": np.repeat([v[i].alt for i in si], T)})
    if result.pairs is not None:
        df["gene"] = np.repeat(result.pairs["gene_id"].values, T)
        df["gene_name"] = np.repeat(result.pairs["gene_name"].values, T)
    df["target_id"] = np.tile(result.target_ids, n)
    df["target_label"] = np.tile(result.target_labels, n)
    for s, arr in result.stats.items():
        df[s] = np.asarray(arr, np.float32).reshape(-1)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="nan")
    return Path(path)


def merge_scores(paths, out_path) -> ScoreResult:
    """Concatenate shard outputs (in the given order) into one scores.h5; targets, statistics
    and mode must agree."""
    parts = [read_scores_h5(p) for p in paths]
    if not parts:
        raise YeastzoiError("no shard files to merge")
    first = parts[0]
    variants, pair_frames, stats = [], [], {k: [] for k in first.stats}
    for p, r in zip(paths, parts):
        if r.target_ids != first.target_ids or set(r.stats) != set(first.stats):
            raise YeastzoiError(f"{p}: targets or statistics differ from {paths[0]}; shards must come "
                                "from one run")
        if (r.pairs is None) != (first.pairs is None):
            raise YeastzoiError(f"{p}: gene-level and variant-level shards cannot be merged")
        if r.pairs is not None:
            pf = r.pairs.copy()
            pf["si"] += len(variants)
            pair_frames.append(pf)
        variants.extend(r.variants)
        for k in stats:
            stats[k].append(r.stats[k])
    attrs = dict(first.attrs)
    attrs["merged_shards"] = len(parts)
    attrs.pop("shard", None)
    res = ScoreResult(variants, {k: np.concatenate(v) for k, v in stats.items()}, first.target_ids,
                      first.target_labels, attrs,
                      pairs=pd.concat(pair_frames, ignore_index=True) if pair_frames else None)
    write_scores_h5(out_path, res)
    return res


# ----------------------------------------------------------------------------- loading
def load_models(params_path, model_paths) -> list:
    """SeqNN for each model file, built from ``params_path``'s model spec (or, when
    ``params_path`` is None, from the spec stored in each file's metadata)."""
    from ..model.params import load_params
    from ..model.seqnn import SeqNN

    spec = load_params(params_path)["model"] if params_path else None
    models = []
    for p in model_paths:
        if not Path(p).exists():
            raise YeastzoiError(f"{p}: no such model file")
        models.append(SeqNN.from_file(p, params_model=spec))
        log.info("model %s: %d bp → %d × %s bp bins, %d tracks", p, models[-1].seq_length,
                 models[-1].meta["target_length"], models[-1].meta["pool_width"], models[-1].meta["num_targets"])
    return models


# ----------------------------------------------------------------------------- evaluation
def _variant_key(chrom: str, pos: int, ref: str, alt: str):
    from ..genome.aliases import canonical_chrom

    return (canonical_chrom(chrom) or chrom, int(pos), ref.upper(), alt.upper())


def variant_scores(result: ScoreResult, stat: str, tracks=None, genes: dict | None = None):
    """One number per scored variant: ``stat`` averaged (NaN-aware) over ``tracks`` (ids,
    labels or indices; None = all). For gene-level results the row of the gene
    ``genes[variant key]`` is used when given, else the gene row with the largest |score|.
    Returns {variant key: score} (keys from :func:`_variant_key`; flipped variants are
    stored under their original orientation too, with the sign reversed)."""
    if stat not in result.stats:
        raise YeastzoiError(f"statistic {stat} is not in the scores file (it has {', '.join(result.stats)})")
    arr = np.asarray(result.stats[stat], np.float64)
    cols = select_tracks(result, tracks)
    with np.errstate(invalid="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        per_row = np.nanmean(arr[:, cols], axis=1)
    out = {}
    if result.pairs is None:
        rows = {i: [i] for i in range(len(result.variants))}
        gene_of = [None] * len(per_row)
    else:
        rows = {}
        for r, si in enumerate(result.pairs["si"]):
            rows.setdefault(int(si), []).append(r)
        gene_of = list(result.pairs["gene_id"])
    for i, v in enumerate(result.variants):
        rr = [r for r in rows.get(i, []) if np.isfinite(per_row[r])]
        key = _variant_key(v.chrom, v.pos, v.ref, v.alt)
        if not rr:
            continue
        want = (genes or {}).get(key)
        if want is not None:
            rr = [r for r in rr if gene_of[r] == want]
            if not rr:
                continue
        r = max(rr, key=lambda r: abs(per_row[r]))
        out[key] = per_row[r]
        if v.flipped:
            out[_variant_key(v.chrom, v.pos, v.alt, v.ref)] = -per_row[r]
    return out


def select_tracks(result: ScoreResult, tracks) -> list[int]:
    """Track columns for ``tracks`` (ids, labels, indices, or '*'-free substrings)."""
    T = len(result.target_ids)
    if tracks is None or (isinstance(tracks, str) and tracks in ("", "all")):
        return list(range(T))
    if isinstance(tracks, str):
        tracks = [t for t in tracks.split(",") if t]
    cols = []
    for t in tracks:
        t = str(t)
        if t in result.target_ids:
            cols.append(result.target_ids.index(t))
        elif t in result.target_labels:
            cols.append(result.target_labels.index(t))
        elif t.isdigit() and int(t) < T:
            cols.append(int(t))
        else:
            hits = [i for i, x in enumerate(result.target_ids) if t in x]
            if not hits:
                raise YeastzoiError(f"track {t}: not among the scored tracks ({', '.join(result.target_ids[:10])}"
                                    f"{' ...' if T > 10 else ''})")
            cols.extend(hits)
    return sorted(set(cols))


def _auc(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if len(set(y.tolist())) < 2:
        return float("nan"), float("nan")
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def _effect_sign(info: dict) -> float | None:
    for k in ("beta", "BETA", "effect", "EFFECT", "slope", "LFC", "lfc", "sign", "z", "Z"):
        if k in info:
            try:
                x = float(str(info[k]).split(",")[0])
            except ValueError:
                return None
            return float(np.sign(x)) if x != 0 else None
    return None


def eqtl_benchmark(scores_h5, positives, negatives, stat: str = "logSED", tracks=None) -> dict:
    """AUROC/AUPRC of |score| for positives vs negatives (both VCF/TSV; every listed
    variant must be in the scores file, else it is counted as missing), and the sign AUROC
    of the score against the positives' effect direction (INFO/column beta, effect, slope,
    LFC, sign or z; positives without one are left out of it). A positive with a ``gene``
    (INFO GENE or a gene column) uses that gene's row in gene-level scores.
    Returns the metrics plus the arrays for plotting (``labels``, ``scores``, ``sign_labels``,
    ``sign_scores``)."""
    from .variants import read_variants

    res = read_scores_h5(scores_h5)
    sets = {}
    for name, path in (("positives", positives), ("negatives", negatives)):
        vs, _ = read_variants(path)
        sets[name] = vs
    genes = {}
    for v in sets["positives"] + sets["negatives"]:
        g = v.info.get("GENE") or v.info.get("gene")
        if g:
            genes[_variant_key(v.chrom, v.pos, v.ref, v.alt)] = g
    sc = variant_scores(res, stat, tracks, genes)
    labels, scores, missing = [], [], {"positives": 0, "negatives": 0}
    sign_y, sign_s = [], []
    for name, lab in (("positives", 1), ("negatives", 0)):
        for v in sets[name]:
            key = _variant_key(v.chrom, v.pos, v.ref, v.alt)
            if key not in sc:
                missing[name] += 1
                continue
            labels.append(lab)
            scores.append(sc[key])
            if lab:
                sgn = _effect_sign(v.info)
                if sgn is not None:
                    sign_y.append(int(sgn > 0))
                    sign_s.append(sc[key])
    if missing["positives"] + missing["negatives"]:
        log.warning("variants without a score: %d positives, %d negatives", missing["positives"], missing["negatives"])
    labels, scores = np.array(labels), np.array(scores)
    if labels.size == 0 or labels.min() == labels.max():
        raise YeastzoiError(f"{scores_h5}: needs scored positives and negatives (scored: {int(labels.sum())} "
                            f"positives, {int((labels == 0).sum())} negatives); score both sets into one file")
    auroc, auprc = _auc(labels, np.abs(scores))
    s_auroc, _ = _auc(np.array(sign_y), np.array(sign_s)) if sign_y else (float("nan"), None)
    return {"stat": stat, "n_positives": int(labels.sum()), "n_negatives": int((labels == 0).sum()),
            "missing_positives": missing["positives"], "missing_negatives": missing["negatives"],
            "auroc": auroc, "auprc": auprc, "auprc_baseline": float(labels.mean()),
            "n_sign": len(sign_y), "sign_auroc": s_auroc,
            "labels": labels, "scores": scores, "sign_labels": np.array(sign_y), "sign_scores": np.array(sign_s)}


def plot_roc(metrics: dict, path) -> Path:
    """ROC curves (|score| positives vs negatives; sign) of :func:`eqtl_benchmark` → image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    fpr, tpr, _ = roc_curve(metrics["labels"], np.abs(metrics["scores"]))
    ax.plot(fpr, tpr, label=f"|{metrics['stat']}| AUROC {metrics['auroc']:.3f}")
    if len(set(metrics["sign_labels"].tolist())) == 2:
        fpr, tpr, _ = roc_curve(metrics["sign_labels"], metrics["sign_scores"])
        ax.plot(fpr, tpr, label=f"sign AUROC {metrics['sign_auroc']:.3f}")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)


def _truth_conditions(truth_vcf: Path) -> list[str]:
    cond_file = truth_vcf.parent / "conditions.txt"
    if cond_file.is_file():
        return [ln.split("\t")[0] for ln in cond_file.read_text().splitlines() if ln.strip()]
    with open(truth_vcf) as fh:
        for line in fh:
            if line.startswith("##INFO=<ID=LFC") and "order:" in line:
                return [c.strip() for c in line.split("order:")[1].split('"')[0].split(",")]
            if not line.startswith("#"):
                break
    raise YeastzoiError(f"{truth_vcf}: cannot tell the LFC condition order (no conditions.txt beside it "
                        "and no 'order:' in the LFC header)")


def truth_accuracy(scores_h5, truth_vcf, condition_track_map: dict, stat: str = "logSED",
                   min_lfc: float = 0.0) -> dict:
    """Score the simulator's truth variants against their true LFC.

    ``truth_vcf``: ``truth/variants.vcf`` (INFO GENE, LFC per condition in
    ``conditions.txt`` order, CLASS); ``condition_track_map``: condition → track ids (or
    labels / indices) whose ``stat`` (NaN-aware mean; in gene-level scores the row of the
    variant's GENE) is compared with that condition's LFC. Per condition and pooled over
    conditions: ``sign_accuracy`` (fraction with sign(score) = sign(LFC) among variants with
    |LFC| > ``min_lfc``), ``sign_auroc`` (AUROC of the score for LFC > 0 among them),
    ``effect_auroc`` (AUROC of |score| for |LFC| > ``min_lfc`` vs LFC = 0), ``pearson``,
    ``spearman`` and counts."""
    from scipy.stats import pearsonr, spearmanr

    from .variants import read_variants

    truth_vcf = Path(truth_vcf)
    conds = _truth_conditions(truth_vcf)
    res = read_scores_h5(scores_h5)
    truth, _ = read_variants(truth_vcf)
    genes = {_variant_key(v.chrom, v.pos, v.ref, v.alt): v.info.get("GENE") for v in truth}
    out = {"stat": stat, "conditions": {}}
    pooled_s, pooled_l = [], []
    for cond, tracks in condition_track_map.items():
        if cond not in conds:
            raise YeastzoiError(f"condition {cond} is not in {truth_vcf} (it has {', '.join(conds)})")
        ci = conds.index(cond)
        sc = variant_scores(res, stat, tracks, genes)
        s, lfc = [], []
        for v in truth:
            key = _variant_key(v.chrom, v.pos, v.ref, v.alt)
            if key in sc and "LFC" in v.info:
                s.append(sc[key])
                lfc.append(float(str(v.info["LFC"]).split(",")[ci]))
        s, lfc = np.array(s), np.array(lfc)
        out["conditions"][cond] = _truth_metrics(s, lfc, min_lfc, pearsonr, spearmanr)
        pooled_s.append(s)
        pooled_l.append(lfc)
    if pooled_s:
        out["pooled"] = _truth_metrics(np.concatenate(pooled_s), np.concatenate(pooled_l), min_lfc,
                                       pearsonr, spearmanr)
    out["n_truth_variants"] = len(truth)
    return out


def _truth_metrics(s, lfc, min_lfc, pearsonr, spearmanr) -> dict:
    eff = np.abs(lfc) > min_lfc
    neutral = lfc == 0
    m = {"n_scored": int(len(s)), "n_effect": int(eff.sum()), "n_neutral": int(neutral.sum())}
    m["sign_accuracy"] = float(np.mean(np.sign(s[eff]) == np.sign(lfc[eff]))) if eff.any() else float("nan")
    m["sign_auroc"] = _auc((lfc[eff] > 0).astype(int), s[eff])[0] if eff.any() else float("nan")
    sel = eff | neutral
    m["effect_auroc"] = _auc(eff[sel].astype(int), np.abs(s[sel]))[0] if sel.any() else float("nan")
    ok = len(s) > 2 and np.std(s) > 0 and np.std(lfc) > 0
    m["pearson"] = float(pearsonr(s, lfc)[0]) if ok else float("nan")
    m["spearman"] = float(spearmanr(s, lfc)[0]) if ok else float("nan")
    return m
