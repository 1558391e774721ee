"""The demo workflow without running it: plan() (shipped models by short name, step order,
budgets), run_steps' reuse rule with a fake runner, and build_report() on a small fake
output folder whose numbers are known (no training, no TensorFlow)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.plots import demo, demo_report
from yeastzoi.plots.demo import QUICK, Budget, Shipped, plan

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["genome", "simulate", "lm_data", "track_data", "eval_lm", "conservation", "motifs", "attention",
         "score_variants", "locus_plot", "finetune", "scratch", "eval_tracks"]


def by_name(steps):
    return {s.name: s for s in steps}


def test_plan_order_and_shipped_models(tmp_path):
    steps = plan(tmp_path, Budget())
    assert [s.name for s in steps] == ORDER
    s = by_name(steps)
    for name in ("eval_lm", "conservation", "motifs", "attention"):
        assert Shipped("r64_lm") in s[name].args and s[name].model == "r64_lm"
        assert s[name].display().split()[1:3] == ["json_params/r64_lm.json", "r64_lm"]
    for name in ("score_variants", "locus_plot"):
        assert s[name].model == "r64_sim_tracks"
        assert s[name].display().split()[1:3] == ["json_params/r64_tracks.json", "r64_sim_tracks"]
    assert str(tmp_path / "sim" / "truth" / "variants.vcf") in s["score_variants"].display()
    assert " --restore r64_lm --trunk " in s["finetune"].display()
    assert "--restore" not in s["scratch"].display() and "model.num_features=6" in s["scratch"].display()
    assert all("tiny" not in st.display() and "pretrain" not in st.name for st in steps)
    # every input a step reads from OUT is produced by an earlier step
    for consumer, producer in (("track_data", "simulate"), ("eval_lm", "lm_data"), ("score_variants", "simulate"),
                               ("finetune", "track_data"), ("eval_tracks", "finetune"), ("eval_tracks", "scratch")):
        assert ORDER.index(producer) < ORDER.index(consumer)
        assert str(s[producer].done.parent) in s[consumer].display()


def test_plan_applies_budget(tmp_path):
    s = by_name(plan(tmp_path, Budget()))
    sim = s["simulate"].display()
    assert "--seed 1 --depth 2.0" in sim and "--chroms" not in sim
    ev = s["eval_lm"].display()
    assert "--split test" in ev and "--max-windows 120" in ev and "--kmer 3" in ev and "--markov-order 5" in ev
    assert "--genes 100" in s["motifs"].display()
    for run in ("finetune", "scratch"):
        d = s[run].display()
        for want in ("train.train_epochs_max=4", "train.steps_per_epoch_max=25", "train.eval_steps_max=10"):
            assert want in d
        assert "batch_size" not in d and "--mixed-precision" not in d     # the spec's batch (4), float32
    b = Budget(track_epochs=2, track_steps=7, eval_steps=3, batch_size=2, mixed_precision=True, mlm_windows=30,
               motif_genes=12, depth=1.5)
    s = by_name(plan(tmp_path, b))
    tail = demo.live_train_args(b)
    assert tail == ["--set", "train.train_epochs_max=2", "--set", "train.train_epochs_min=1",
                    "--set", "train.steps_per_epoch_max=7", "--set", "train.eval_steps_max=3",
                    "--set", "train.warmup_steps=10", "--set", "train.batch_size=2", "--mixed-precision"]
    assert [str(a) for a in s["finetune"].args[-len(tail):]] == tail == [str(a) for a in s["scratch"].args[-len(tail):]]
    assert "--max-windows 30" in s["eval_lm"].display() and "--genes 12" in s["motifs"].display()
    assert "--depth 1.5" in s["simulate"].display()


def test_quick_plan(tmp_path):
    s = by_name(plan(tmp_path, QUICK, simulate_chroms="chrI,chrII,chrIII"))
    assert "--chroms chrI,chrII,chrIII" in s["simulate"].display()
    for name in ("lm_data", "track_data"):
        d = s[name].display()
        assert "-t chrIII -v chrII --no-homology --limit" in d and "gaps.bed" not in d
    assert "train.train_epochs_max=1" in s["finetune"].display()
    assert "train.steps_per_epoch_max=2" in s["scratch"].display()
    assert f"--max-windows {QUICK.mlm_windows}" in s["eval_lm"].display()


def test_shipped_names_resolve_when_run(tmp_path, monkeypatch):
    import yeastzoi

    monkeypatch.setattr(yeastzoi, "zoo_model", lambda name: tmp_path / "data" / name / "model_best.h5",
                        raising=False)
    step = by_name(plan(tmp_path, Budget()))["finetune"]
    cmd = step.command()
    assert cmd[0] == sys.executable and cmd[1].endswith("yeastzoi_train.py")
    assert cmd[cmd.index("--restore") + 1] == str(tmp_path / "data" / "r64_lm" / "model_best.h5")
    assert "--restore r64_lm" in step.display()

    def missing(name):
        raise YeastzoiError(f"{name}: no such shipped model")
    monkeypatch.setattr(yeastzoi, "zoo_model", missing, raising=False)
    with pytest.raises(YeastzoiError, match="r64_lm"):
        demo.check_shipped(plan(tmp_path, Budget()))


def test_run_steps_reuses_only_the_same_command(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, env=None):
        calls.append(Path(cmd[1]).name)
        for st in plan(tmp_path, Budget()):      # the same output paths whatever the budget
            if st.script == Path(cmd[1]).name:
                st.done.parent.mkdir(parents=True, exist_ok=True)
                st.done.write_text("{}")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    only = ["genome", "simulate"]
    recs = demo.run_steps(tmp_path, Budget(), only=only)
    assert [(r["step"], r["status"]) for r in recs] == [("genome", "ran"), ("simulate", "ran")]
    assert calls == ["yeastzoi_genome.py", "yeastzoi_simulate.py"]
    book = json.loads((tmp_path / "steps.json").read_text())
    assert book["simulate"]["command"] == recs[1]["command"]
    recs = demo.run_steps(tmp_path, Budget(), only=only)
    assert [r["status"] for r in recs] == ["reused", "reused"] and len(calls) == 2
    recs = demo.run_steps(tmp_path, Budget(depth=3.0), only=only)      # another command: run again
    assert [r["status"] for r in recs] == ["reused", "ran"] and calls[-1] == "yeastzoi_simulate.py"


def test_demo_script_rejects_unknown_step(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_demo.py"), "-o", str(tmp_path / "d"),
                        "--only", "pretrain_lm"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown step" in r.stderr and "eval_lm" in r.stderr


# ---------------------------------------------------------------------- the report
TRUTH = [  # chrom, pos, class, LFC basal, LFC induce, predicted logSED
    ("chrI", 100, "disrupt", -0.5, -0.4, -0.3), ("chrI", 200, "disrupt", -0.6, -0.6, -0.2),
    ("chrI", 300, "disrupt", -0.7, -0.1, 0.1), ("chrXII", 400, "disrupt", -0.8, -0.8, -0.4),
    ("chrI", 500, "create", 0.5, 0.5, 0.25), ("chrXII", 600, "create", 0.9, 0.9, 0.35),
    ("chrI", 700, "neutral", 0.0, 0.0, 0.01), ("chrXII", 800, "neutral", 0.0, 0.0, 0.15)]
TRACKS = ["SIM_RNA_basal+", "SIM_RNA_basal-", "SIM_RNA_induce_GCN4+", "SIM_RNA_induce_GCN4-", "SIM_CHIPEXO_REB1"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def fake_outputs(out: Path) -> None:
    from yeastzoi.score.results import ScoreResult, write_scores_h5
    from yeastzoi.score.variants import Variant

    pairs = {0: 1, 1: 0, 2: 3, 3: 2, 4: 4}
    write(out / "sim" / "targets.txt", "\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\tgroup\n"
          + "".join(f"{i}\t{t}\tbigwig/{i}.bw\t128\t32\t1\tsum\t{pairs[i]}\tSIMULATED {t}\t"
                    f"{'chipexo' if 'CHIP' in t else 'rnaseq'}\n" for i, t in enumerate(TRACKS)))
    write(out / "sim" / "truth" / "conditions.txt", "basal\tnone\ninduce_GCN4\tGCN4\n")
    write(out / "sim" / "done.json", json.dumps({"settings": {"chroms": ["chrI", "chrXII"], "seed": 1, "depth": 2.0}}))
    write(out / "sim" / "truth" / "variants.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
          + "".join(f"{c}\t{p}\tv{p}\tA\tC\t.\tPASS\tGENE=G{p};LFC={a},{b};CLASS={k};FACTOR=REB1\n"
                    for c, p, k, a, b, _ in TRUTH))
    scores = np.array([[s, s, s, s, 9.0] for *_, s in TRUTH], np.float32)
    variants = [Variant(id=f"v{p}", chrom=c, pos=p, ref="A", alt="C") for c, p, *_ in TRUTH]
    (out / "variants").mkdir(parents=True)
    genes = pd.DataFrame({"si": range(len(TRUTH)), "gene_id": [f"G{p}" for _, p, *_ in TRUTH],
                          "gene_name": [f"N{p}" for _, p, *_ in TRUTH], "gene_strand": "+"})
    write_scores_h5(out / "variants" / "scores.h5",
                    ScoreResult(variants, {"logSED": scores}, TRACKS, TRACKS, {}, pairs=genes))
    rows = ["species\tsplit\tregion\tmodel\tn_masked\tce\taccuracy\tperplexity\tloss_shorkie\tloss_exon_only"]
    for split, shift in (("test", 0.0), ("valid", 0.5)):
        for region, dr in (("all", 0.0), ("genic", 0.01), ("intergenic", -0.01)):
            for model, ce in (("lm", 1.2468), ("markov5", 1.3357), ("kmer3", 1.3091)):
                rows.append(f"R64\t{split}\t{region}\t{model}\t1000\t{ce + dr + shift}\t0.3712\t3.5\t0.41\t0.43")
    write(out / "eval_lm" / "mlm_metrics.tsv", "\n".join(rows) + "\n")
    write(out / "eval_lm" / "mlm_summary.json", json.dumps({"max_windows": 3, "reference":
                                                             {"shorkie_r64_valid_loss_shorkie": 0.418}}))
    write(out / "lm_data" / "sequences.bed", "chrI\t0\t16384\ttrain\tR64\nchrXII\t0\t16384\ttest\tR64\n"
          "chrXII\t16384\t32768\ttest\tR64\nchrXIV\t0\t16384\ttest\tR64\nchrXVI\t0\t16384\ttest\tR64\n")
    for name in ("lm_data", "track_data"):
        write(out / name / "statistics.json", json.dumps({"seq_length": 16384, "train_seqs": 11, "valid_seqs": 5,
                                                          "test_seqs": 4, "test_chroms": ["chrXII", "chrXIV", "chrXVI"]}))
    write(out / "motifs" / "motif_enrichment.tsv", "motif\tn_sites\tmotif_C\tflank_C\tdelta\tenrichment\tpvalue\n"
          "REB1\t10\t0.9123\t0.5\t0.4123\t1.8246\t0.001\nABF1\t5\t0.4\t0.45\t-0.05\t0.889\t0.8\nRAP1\t0\t\t\t\t\t\n")
    write(out / "motifs" / "promoters.tsv", "chrom\tstart\tend\n" + "chrI\t0\t500\n" * 3)
    write(out / "eval" / "compare.tsv", "identifier\tdescription\tgroup\tpearsonr_fine-tuned\tpearsonr_scratch\t"
          "pearsonr_diff\nA\ta\trnaseq\t0.61\t0.55\t0.06\nB\tb\trnaseq\t0.41\t0.35\t0.06\n"
          "C\tc\tchipexo\t0.2\t0.3\t-0.1\nD\td\thistone\t0.3\t0.1\t0.2\n")
    for run in ("finetune", "scratch"):
        write(out / run / "history.csv", "epoch,train_loss,valid_loss,seconds,steps\n1,1.5,1.4,10,25\n2,1.2,1.3,10,25\n")


def fake_shipped(tmp_path: Path, monkeypatch) -> None:
    import h5py

    for name in ("r64_lm", "r64_sim_tracks"):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        with h5py.File(folder / "model_best.h5", "w") as h5:
            h5.create_dataset("model_weights/dense/dense/kernel:0", data=np.zeros((123, 10), np.float32))
            h5.create_dataset("model_weights/dense/dense/bias:0", data=np.zeros(7, np.float32))
        write(folder / "history.csv", "epoch,train_loss,valid_loss,steps\n1,1.4,1.35,100\n2,1.3,1.3251,100\n")
    monkeypatch.setattr(demo, "shipped_path", lambda name: str(tmp_path / "data" / name / "model_best.h5"))


def test_build_report_reads_the_numbers_and_separates_real_from_simulated(tmp_path, monkeypatch):
    out = tmp_path / "out"
    fake_outputs(out)
    fake_shipped(tmp_path, monkeypatch)
    records = [{"step": s.name, "model": s.model, "command": s.display(), "status": "ran", "seconds": 1.5}
               for s in plan(out, Budget())]
    html = demo_report.build_report(out, records).read_text()
    real, sim, cmds = (html.index(demo_report.REAL_HEADING), html.index(demo_report.SIM_HEADING),
                       html.index("<h2>Commands</h2>"))
    assert html.index("<h2>Models</h2>") < real < sim < cmds
    real_part, sim_part = html[real:sim], html[sim:cmds]
    # REAL: LM vs baselines (test split only), windows scored, motif conservation, shipped history
    for want in ("1.247", "1.336", "1.309", "chrXII 0-32,768 (2 windows); chrXIV 0-16,384 (1 windows)", "0.418",
                 "0.9123", "3 real promoters", "r64_lm_loss.png", "chromosomes held out of r64_lm&#x27;s training"):
        assert want in real_part, want
    assert "1.747" not in html                                  # the valid split is left out
    # SIMULATED: sign accuracy disrupt (3/4), create (2/2), disrupt+create (5/6); effect AUROC 11/12
    for want in ("<td>disrupt</td><td>basal</td><td>4</td><td>0.75</td>", "<td>create</td><td>basal</td><td>2</td><td>1</td>",
                 "<td>disrupt+create</td><td>basal</td><td>6</td><td>0.8333</td>", "0.9167",
                 "<td>disrupt+create, test chromosomes</td><td>basal</td><td>2</td><td>1</td>",
                 "<td>all</td><td>0.38</td><td>0.325</td>", "score_vs_truth.png", "track_loss.png",
                 "simulated 2 chromosomes with seed 1 and depth 2.0 (sim/done.json)", "the same simulation."):
        assert want in sim_part, want
    for want in ("0.9123", "1.247"):
        assert want not in sim_part
    for want in ("0.8333", "0.9167", "0.325"):
        assert want not in real_part
    # the summary names model and file for each headline number
    top = html[:real]
    for want in ("lm 1.247; markov5 1.336; kmer3 1.309", "1 of 2 motifs more conserved than flanks (1 with p &lt; 0.05)",
                 "0.833 (n = 6)", "0.917 (6 vs 2)", "0.380 vs 0.325 (4 tracks)", "eval_lm/mlm_metrics.tsv",
                 "shipped r64_sim_tracks (SIMULATED tracks)", "1,237", "1.325"):
        assert want in top, want
    assert "--restore r64_lm --trunk" in html[cmds:]


def test_build_report_without_outputs_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "shipped_path", lambda name: (_ for _ in ()).throw(YeastzoiError("absent")))
    html = demo_report.build_report(tmp_path, []).read_text()
    assert "step eval_lm has not run" in html and "step eval_tracks has not run" in html
    assert "not found" in html                                   # the shipped models


def test_truth_rows_take_any_scorer_and_skip_unscored_variants(tmp_path):
    from yeastzoi.plots.demo_truth import truth_frame, truth_rows
    fake_outputs(tmp_path)
    vcf = tmp_path / "sim" / "truth" / "variants.vcf"
    # a scorer that knows only chrI variants: 10 × position in condition 0, −1 × in condition 1
    rows = truth_rows(vcf, lambda v, ci, cond: (10.0 if ci == 0 else -1.0) * v.pos if v.chrom == "chrI" else None)
    assert len(rows) == 2 * 5 and set(rows["condition"]) == {"basal", "induce_GCN4"}
    r = rows.set_index(["pos", "condition"])
    assert r.at[(300, "basal"), "score"] == 3000.0 and r.at[(300, "induce_GCN4"), "score"] == -300.0
    assert r.at[(300, "basal"), "lfc"] == -0.7 and r.at[(300, "induce_GCN4"), "lfc"] == -0.1
    assert r.at[(500, "basal"), "cls"] == "create" and r.at[(500, "basal"), "gene"] == "G500"
    # truth_frame is truth_rows scored from scores.h5: all 8 variants, predicted logSED as written
    # (stored as float16)
    frame = truth_frame(tmp_path / "variants" / "scores.h5", vcf)
    assert len(frame) == 16
    assert np.allclose(frame[frame["condition"] == "basal"]["score"], [s for *_, s in TRUTH], atol=1e-3)
