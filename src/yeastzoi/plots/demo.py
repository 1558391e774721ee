"""The main job (``make demo``): the R64 genome and its SIMULATED tracks → the shipped models
applied (``r64_lm`` on the real R64 sequence, ``r64_sim_tracks`` on the SIMULATED tracks and
truth variants) → a short live fine-tune from ``r64_lm`` beside the same spec trained from
scratch → ``report.html`` (:mod:`yeastzoi.plots.demo_report`).

Three kinds of model appear, and every step names its kind (:data:`SOURCES`):

* ``r64_lm`` (shipped, ``data/r64_lm``): a masked LM trained on the REAL R64 sequence
  (``json_params/r64_lm.json``) — masked-LM evaluation on the R64 test chromosomes beside
  the k-mer and Markov baselines, LM conservation around RPL5 and at JASPAR motif matches,
  attention maps;
* ``r64_sim_tracks`` (shipped, ``data/r64_sim_tracks``): a coverage model fine-tuned from
  ``r64_lm`` on the SIMULATED tracks that ``yeastzoi_simulate.py --seed 1 --depth 2`` writes
  (exactly what this demo simulates) — variant scoring against the simulator's truth and
  the RPL5 locus plot;
* live runs: ``json_params/r64_tracks.json`` fine-tuned from ``r64_lm`` and trained from
  scratch for the few steps of :class:`Budget` (minutes), then evaluated side by side.

Every step is one of the ``bin/`` commands a user would run, so the demo doubles as a
worked example; the command lines (with the shipped models' short names) are listed in the
report. A step is skipped when its output exists AND it was made by the same command line
(``OUT/steps.json``), so rerunning the demo reuses finished work and a training step that
was interrupted resumes from its last checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import YeastzoiError, ZOO_DIR

log = logging.getLogger(__name__)

BIN = Path(__file__).resolve().parents[3] / "bin"

#: Held-out chromosomes (the LM's, reused for the track models so the LM never saw them).
VALID = "chrXI,chrXIII,chrXV"
TEST = "chrXII,chrXIV,chrXVI"
#: A ribosomal-protein gene on a test chromosome (RPL5 = YPL131W, chrXVI).
RP_GENE = "RPL5"
#: The genome's species name (the species sheet and the scratch model's species channel).
SPECIES = "Saccharomyces_cerevisiae_R64"
#: Short names of the shipped models (``yeastzoi.zoo_model``) and their specs (``ZOO_DIR``).
LM_MODEL = "r64_lm"
TRACKS_MODEL = "r64_sim_tracks"
LM_SPEC = "r64_lm.json"
TRACKS_SPEC = "r64_tracks.json"
#: The simulation the shipped r64_sim_tracks was trained on (yeastzoi_simulate.py --seed --depth).
SIM_SEED = 1
SIM_DEPTH = 2.0
#: Where each step's model comes from (a Step's ``model`` key → words for the report).
SOURCES = {
    LM_MODEL: "shipped r64_lm — masked LM trained on the real R64 sequence",
    TRACKS_MODEL: "shipped r64_sim_tracks — coverage model trained on SIMULATED tracks",
    "live": "live demo runs — minutes of training in this demo",
    "": "no model",
}


@dataclasses.dataclass
class Budget:
    """Sizes of the demo's steps. The live runs train json_params/r64_tracks.json (~3M
    parameters, ~60x the old tiny.json) for ``track_epochs`` × ``track_steps`` batches of
    the spec's batch size (4) and validate on ``eval_steps`` batches per epoch (the test
    metrics too); on 2 CPU cores a run of the default budget takes about 2-3 minutes."""
    track_epochs: int = 4
    track_steps: int = 25
    eval_steps: int = 10
    warmup_steps: int = 10        # learning-rate warm-up of the live runs (the spec's 100 > the whole run)
    batch_size: int | None = None  # None: the spec's (4)
    mixed_precision: bool = False  # --mixed-precision for the live runs (bf16 on CPU)
    depth: float = SIM_DEPTH      # simulated read depth; SIM_DEPTH = what the shipped r64_sim_tracks saw
    mlm_windows: int = 120        # R64 test windows scored by yeastzoi_eval_mlm.py
    lm_stride: int = 16384        # LM corpus stride: non-overlapping windows, so mlm_windows span more
    motif_genes: int = 100        # promoters for yeastzoi_motif_check.py (7 LM passes each)
    kmer: int = 3                 # k-mer baseline: k bases each side
    markov_order: int = 5


#: --quick: chrI-chrIII, two training steps, a handful of windows and promoters (smoke test).
QUICK = Budget(track_epochs=1, track_steps=2, eval_steps=2, warmup_steps=1, mlm_windows=8, motif_genes=6)


class Shipped(str):
    """A shipped model's short name on a command line: shown as the name, run as the file
    :func:`yeastzoi.zoo_model` resolves it to (the scripts accept either)."""


def shipped_path(name: str) -> str:
    """The file of shipped model ``name``; the name itself when this yeastzoi has no
    ``zoo_model`` (the script then resolves it). A missing model is a one-line error."""
    try:
        from .. import zoo_model
    except ImportError:  # an older yeastzoi: the scripts resolve short names themselves
        return str(name)
    return str(zoo_model(str(name)))


def script_path(script: str) -> str:
    """A bin/ script: the checkout's ``bin/`` copy, else the one pip put on PATH."""
    local = BIN / script
    return str(local) if local.is_file() else (shutil.which(script) or str(local))


@dataclasses.dataclass
class Step:
    name: str
    done: Path                 # output whose existence marks the step as finished
    script: str
    args: list
    model: str = ""            # key of SOURCES: which model the step's outputs come from

    def command(self) -> list[str]:
        args = [shipped_path(a) if isinstance(a, Shipped) else str(a) for a in self.args]
        return [sys.executable, script_path(self.script)] + args

    def display(self) -> str:
        def show(a):
            p = Path(a) if isinstance(a, Path) else None
            if p is not None and p.is_relative_to(ZOO_DIR):   # a zoo spec: json_params/NAME
                return str(p.relative_to(ZOO_DIR.parent))
            return str(a)
        return " ".join([self.script] + [show(a) for a in self.args])


def _sets(*pairs: str) -> list[str]:
    return [x for p in pairs for x in ("--set", p)]


def live_train_args(budget: Budget) -> list[str]:
    """The budget's ``--set`` overrides (and flags) shared by both live runs."""
    args = _sets(f"train.train_epochs_max={budget.track_epochs}", "train.train_epochs_min=1",
                 f"train.steps_per_epoch_max={budget.track_steps}",
                 f"train.eval_steps_max={budget.eval_steps}", f"train.warmup_steps={budget.warmup_steps}")
    if budget.batch_size:
        args += _sets(f"train.batch_size={budget.batch_size}")
    return args + (["--mixed-precision"] if budget.mixed_precision else [])


def data_steps(out: Path, budget: Budget, simulate_chroms: str | None) -> list[Step]:
    """Genome, simulation, the LM corpus (for the LM evaluation) and the track data set."""
    g, sim = out / "genome", out / "sim"
    sim_args = [g, sim, "--seed", SIM_SEED, "--depth", budget.depth]
    if simulate_chroms:  # quick mode: the simulated chromosomes decide the splits
        chroms = simulate_chroms.split(",")
        limits = ["-t", chroms[-1], "-v", chroms[-2], "--no-homology", "--limit", out / "quick_limit.bed"]
        sim_args += ["--chroms", simulate_chroms]
    else:
        limits = ["-t", TEST, "-v", VALID]
    return [
        Step("genome", g / "genome.json", "yeastzoi_genome.py", ["r64", g]),
        Step("simulate", sim / "done.json", "yeastzoi_simulate.py", sim_args),
        Step("lm_data", out / "lm_data" / "statistics.json", "yeastzoi_lm_data.py",
             [out / "species.tsv", "-o", out / "lm_data", "--stride", budget.lm_stride] + limits),
        Step("track_data", out / "track_data" / "statistics.json", "yeastzoi_data.py",
             [g / "genome.fa", sim / "targets.txt", "-o", out / "track_data"] + limits
             + ([] if simulate_chroms else ["-g", g / "gaps.bed"])),
    ]


def real_data_steps(out: Path, budget: Budget) -> list[Step]:
    """The shipped r64_lm on the real R64 sequence."""
    g = out / "genome"
    fa, gtf = g / "genome.fa", g / "genes.gtf"
    spec, lm = ZOO_DIR / LM_SPEC, Shipped(LM_MODEL)
    return [
        Step("eval_lm", out / "eval_lm" / "mlm_metrics.tsv", "yeastzoi_eval_mlm.py",
             [spec, lm, out / "lm_data", "--split", "test", "-o", out / "eval_lm", "--kmer", budget.kmer,
              "--markov-order", budget.markov_order, "--max-windows", budget.mlm_windows], LM_MODEL),
        Step("conservation", out / "conservation" / "done", "yeastzoi_conservation.py",
             [spec, lm, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "--flank", 300,
              "-o", out / "conservation"], LM_MODEL),
        Step("motifs", out / "motifs" / "motif_enrichment.tsv", "yeastzoi_motif_check.py",
             [spec, lm, "-f", fa, "--gtf", gtf, "--genes", budget.motif_genes, "-o", out / "motifs"], LM_MODEL),
        Step("attention", out / "attention" / "attention.npz", "yeastzoi_attention.py",
             [spec, lm, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "-o", out / "attention"], LM_MODEL),
    ]


def simulated_steps(out: Path, budget: Budget) -> list[Step]:
    """The shipped r64_sim_tracks on the SIMULATED tracks and truth variants."""
    g, sim = out / "genome", out / "sim"
    fa, gtf, targets = g / "genome.fa", g / "genes.gtf", sim / "targets.txt"
    spec, tracks = ZOO_DIR / TRACKS_SPEC, Shipped(TRACKS_MODEL)
    return [
        Step("score_variants", out / "variants" / "scores.h5", "yeastzoi_snpgene.py",
             [spec, tracks, sim / "truth" / "variants.vcf", "-f", fa, "-g", gtf, "--targets", targets,
              "--stats", "logSED,SED", "-o", out / "variants"], TRACKS_MODEL),
        Step("locus_plot", out / "locus" / f"{RP_GENE}.png", "yeastzoi_plot.py",
             [spec, tracks, "-f", fa, "--gene", RP_GENE, "--gtf", gtf, "--targets", targets,
              "-o", out / "locus" / f"{RP_GENE}.png"], TRACKS_MODEL),
    ]


def live_steps(out: Path, budget: Budget) -> list[Step]:
    """The live runs: r64_tracks.json fine-tuned from r64_lm and from scratch, same steps;
    then both evaluated on the test chromosomes."""
    spec, data = ZOO_DIR / TRACKS_SPEC, out / "track_data"
    ft, sc = out / "finetune", out / "scratch"
    train = live_train_args(budget)
    return [
        Step("finetune", ft / "test_metrics.json", "yeastzoi_train.py",
             [spec, data, "-o", ft, "--restore", Shipped(LM_MODEL), "--trunk"]
             + _sets('train.task="fine-tune"') + train, "live"),
        Step("scratch", sc / "test_metrics.json", "yeastzoi_train.py",
             [spec, data, "-o", sc] + _sets("model.num_features=6", f'model.species=["{SPECIES}"]',
                                             'train.task="supervised"') + train, "live"),
        Step("eval_tracks", out / "eval" / "compare.tsv", "yeastzoi_eval.py",
             [ft / "params.json", ft / "model_best.h5", data, "--split", "test", "-o", out / "eval",
              "--compare", sc / "model_best.h5", "--labels", "fine-tuned,scratch", "--gtf",
              out / "genome" / "genes.gtf"], "live"),
    ]


def plan(out, budget: Budget | None = None, simulate_chroms: str | None = None) -> list[Step]:
    """The demo's steps, in order (paths under ``out``): data, the shipped models on real
    data, the shipped model on SIMULATED data, the live runs."""
    out, budget = Path(out), budget or Budget()
    return (data_steps(out, budget, simulate_chroms) + real_data_steps(out, budget)
            + simulated_steps(out, budget) + live_steps(out, budget))


def _write_inputs(out: Path, simulate_chroms: str | None) -> None:
    """Small input files the commands take: the species sheet and, in quick mode, a BED of
    the simulated chromosomes (track windows elsewhere would have no simulated reads)."""
    g = out / "genome"
    sheet = out / "species.tsv"
    if not sheet.exists():  # paths relative to the sheet's folder
        sheet.write_text("name\tfasta\tgtf\trepeats\n"
                         f"{SPECIES}\tgenome/genome.fa\tgenome/genes.gtf\tgenome/repeats.bed\n")
    if simulate_chroms:
        from ..genome import read_chrom_sizes
        sizes = read_chrom_sizes(g / "chrom.sizes")
        (out / "quick_limit.bed").write_text("".join(f"{c}\t0\t{sizes[c]}\n" for c in simulate_chroms.split(",")))


def check_shipped(steps: list[Step]) -> None:
    """Resolve every shipped model the steps use, before anything runs (one-line error
    naming the missing model, instead of a failure after minutes of simulation)."""
    for name in dict.fromkeys(a for s in steps for a in s.args if isinstance(a, Shipped)):
        shipped_path(name)


def run_steps(out, budget: Budget | None = None, simulate_chroms: str | None = None,
              only: list[str] | None = None) -> list[dict]:
    """Run (or reuse, when finished by the same command) every step; returns per-step
    records (step, model, command, status, seconds) for the report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    steps = [s for s in plan(out, budget, simulate_chroms) if not only or s.name in only]
    book_path = out / "steps.json"
    book = json.loads(book_path.read_text()) if book_path.exists() else {}
    check_shipped([s for s in steps if not _reusable(s, book)])
    records = []
    for i, step in enumerate(steps, 1):
        if step.name in ("lm_data", "track_data"):
            _write_inputs(out, simulate_chroms)
        rec = {"step": step.name, "model": step.model, "command": step.display()}
        if _reusable(step, book):
            log.info("[%d] %s: done already (%s)", i, step.name, step.done)
            rec.update(status="reused", seconds=book[step.name].get("seconds"))
        else:
            log.info("[%d] %s: %s", i, step.name, step.display())
            t0 = time.time()
            result = subprocess.run(step.command(), env=env)
            if result.returncode != 0:
                raise YeastzoiError(f"demo step {step.name} failed (exit {result.returncode}): "
                                    f"{step.display()}")
            if not step.done.exists():  # steps without a natural sentinel get one
                step.done.parent.mkdir(parents=True, exist_ok=True)
                step.done.write_text(json.dumps({"finished": time.time()}))
            book[step.name] = {"command": step.display(), "seconds": round(time.time() - t0, 1)}
            book_path.write_text(json.dumps(book, indent=1))
            rec.update(status="ran", seconds=book[step.name]["seconds"])
        records.append(rec)
    return records


def _reusable(step: Step, book: dict) -> bool:
    """Finished, by this very command line (an output of another demo version is redone)."""
    return step.done.exists() and book.get(step.name, {}).get("command") == step.display()
