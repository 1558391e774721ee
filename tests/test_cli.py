"""yeastzoi.cli: a script's error output is its one ``error:`` line (TensorFlow/absl/oneDNN/
libBigWig start-up noise filtered out of file descriptor 2, inputs checked before TensorFlow is
imported, exit status 2), and zoo short names for params and model arguments."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import yeastzoi
from yeastzoi import YeastzoiError, cli, stderr_filter

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"

# The lines TensorFlow 2.21 prints on an AVX-512 CPU (copied from real runs, not produced here)
# and the ones libBigWig prints when a file does not open.
NOISE_LINES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796034398.191127    8230 port.cc:153] oneDNN custom operations are on. You may see "
    b"slightly different numerical results due to floating-point round-off errors from different "
    b"computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n",
    b"I0000 00:00:1796034398.282436    8230 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
    b"to use available CPU instructions in performance-critical operations.\n",
    b"To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX512_FP16 AVX_VNNI "
    b"AMX_TILE AMX_INT8 AMX_BF16 FMA, in other operations, rebuild TensorFlow with the appropriate "
    b"compiler flags.\n",
    b"E0000 00:00:1796035110.286462   21024 util.cc:195] oneDNN supports DT_HALF only on platforms with "
    b"AVX-512. Falling back to the default Eigen-based implementation if present.\n",
    b"I0000 00:00:1796036076.049118   29259 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    b"GPU will not be used.\n",
    b"E0000 00:00:1796036085.140284   29259 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
    b"error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
    b"2024-05-01 10:00:00.123456: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] Unable to "
    b"register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been "
    b"registered\n",
    b"[bwHdrRead] There was an error while reading in the header!\n",
    b"[pyBwOpen] bw is NULL!\n",
    b"[urlOpen] Couldn't open /tmp/none.bw for reading\n",
]
LOG_LINE = b"10:00:01 INFO yeastzoi_train: epoch 1: loss 0.6931\n"
BAR = [b"\r  0%|          | 0/4 [00:00<?, ?it/s]", b"\r 50%|#####     | 2/4 [00:01<00:01,  1.9it/s]"]


def test_filter_drops_the_noise_and_passes_everything_else():
    f = stderr_filter.StderrFilter()
    out = b"".join(f.feed(line) for line in NOISE_LINES)
    out += f.feed(LOG_LINE)
    out += f.feed(BAR[0]) + f.feed(BAR[1])       # a progress bar is forwarded at once, not held
    assert out == LOG_LINE + BAR[0] + BAR[1]
    # a noise line arriving while the bar is shown (training's DT_HALF line): the bar stays
    assert f.feed(NOISE_LINES[4]) == b""
    assert f.feed(b"\r100%|##########| 4/4 [00:02<00:00,  1.9it/s]\n") == \
        b"\r100%|##########| 4/4 [00:02<00:00,  1.9it/s]\n"
    assert f.feed(b"".join(NOISE_LINES)) == b""   # all in one read
    assert f.flush() == b""


def test_filter_handles_split_and_merged_reads():
    f = stderr_filter.StderrFilter()
    noise = NOISE_LINES[1]
    assert f.feed(noise[:40]) == b""               # an incomplete line is held ...
    assert f.feed(noise[40:] + LOG_LINE[:10]) == b""
    assert f.feed(LOG_LINE[10:]) == LOG_LINE       # ... and judged once it ends
    assert f.feed(BAR[1] + NOISE_LINES[4]) == BAR[1]   # bar and noise in one read
    assert f.feed(b"no newline yet") == b""
    assert f.flush() == b"no newline yet"           # what the filter process forwards when idle
    assert f.feed(b"\r\n" + LOG_LINE.replace(b"\n", b"\r\n")) == b"\r\n" + LOG_LINE.replace(b"\n", b"\r\n")


def test_fresh_line_after_a_progress_bar_only():
    f = stderr_filter.StderrFilter()
    assert f.feed(LOG_LINE + stderr_filter.FRESH_LINE + b"error: x\n") == LOG_LINE + b"error: x\n"
    assert f.feed(BAR[1] + stderr_filter.FRESH_LINE + b"error: x\n") == BAR[1] + b"\nerror: x\n"
    cleared = b"\r" + b" " * len(BAR[1]) + b"\r"     # what tqdm(leave=False) writes when closed
    assert f.feed(BAR[1] + cleared + stderr_filter.FRESH_LINE + b"error: x\n") == BAR[1] + cleared + b"error: x\n"


def test_filter_stream_copies_through_the_filter():
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    os.write(w_in, b"".join(NOISE_LINES) + LOG_LINE + BAR[1] + stderr_filter.FRESH_LINE + b"error: bad\n")
    os.close(w_in)
    stderr_filter.filter_stream(r_in, w_out)
    os.close(r_in), os.close(w_out)
    with os.fdopen(r_out, "rb") as fh:
        assert fh.read() == LOG_LINE + BAR[1] + b"\nerror: bad\n"


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "YEASTZOI_STDERR"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


NOISY_SCRIPT = """
import os, sys, time
from tqdm import tqdm
from yeastzoi import YeastzoiError, cli

NOISE = {noise!r}

def main(argv=None):
    os.write(2, b"".join(NOISE[:4]))           # what TensorFlow prints at import, straight from C++
    print("output", flush=True)
    bar = tqdm(total=4, mininterval=0)
    bar.update(2)
    time.sleep(0.3)                            # the filter forwards the bar while it is shown
    os.write(2, NOISE[4])                      # training's DT_HALF line, mid-bar
    if sys.argv[1] == "crash":
        os.write(2, b"F0000 00:00:1796034398.191127    8230 check.cc:1] Check failed: x\\n")
        os.abort()
    raise YeastzoiError("bad input: data/x.tfr")

cli.run(main)
"""


def test_script_error_is_one_line_after_noise_and_a_progress_bar(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(NOISY_SCRIPT.format(noise=NOISE_LINES))
    r = subprocess.run([sys.executable, str(script), "error"], capture_output=True, env=_clean_env(), timeout=120)
    assert r.returncode == 2 and r.stdout == b"output\n"
    lines = r.stderr.split(b"\n")
    assert lines[-2:] == [b"error: bad input: data/x.tfr", b""]     # on a line of its own, last
    assert b"2/4" in lines[-3]                                        # the bar before it, kept
    assert not any(n.strip() in r.stderr for n in NOISE_LINES)
    # with the filter off, the same script shows the noise: the test's lines are the real thing
    r = subprocess.run([sys.executable, str(script), "error"], capture_output=True, timeout=120,
                       env=_clean_env(YEASTZOI_STDERR_FILTER="0"))
    assert r.returncode == 2 and NOISE_LINES[1].strip() in r.stderr


def test_a_crash_still_shows_its_last_words(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(NOISY_SCRIPT.format(noise=NOISE_LINES))
    r = subprocess.run([sys.executable, str(script), "crash"], capture_output=True, env=_clean_env(), timeout=120)
    assert r.returncode < 0                          # SIGABRT
    assert r.stderr.rstrip().endswith(b"Check failed: x")


# ------------------------------------------------------- every script: a missing input file
M = "{missing}"
SCRIPTS = {   # script → arguments whose input files do not exist (the first one checked fails)
    "yeastzoi_model.py": [f"{M}/params.json"],
    "yeastzoi_train.py": ["tiny", f"{M}/data", "-o", "{tmp}/out"],
    "yeastzoi_train_folds.py": ["tiny", f"{M}/data", "-o", "{tmp}/out"],
    "yeastzoi_sweep.py": ["tiny", f"{M}/grid.json", "-o", "{tmp}/out"],
    "yeastzoi_eval.py": ["tiny", f"{M}/model.h5", f"{M}/data", "-o", "{tmp}/out"],
    "yeastzoi_eval_mlm.py": ["tiny_lm", f"{M}/model.h5", f"{M}/data", "-o", "{tmp}/out"],
    "yeastzoi_predict.py": ["tiny", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--genome", "-o", "{tmp}/out"],
    "yeastzoi_snp.py": ["tiny", f"{M}/model.h5", f"{M}/variants.vcf", "-f", f"{M}/genome.fa", "-o", "{tmp}/out"],
    "yeastzoi_snpgene.py": ["tiny", f"{M}/model.h5", f"{M}/variants.vcf", "-f", f"{M}/genome.fa",
                            "-g", f"{M}/genes.gtf", "-o", "{tmp}/out"],
    "yeastzoi_ism.py": ["tiny", f"{M}/model.h5", "-f", f"{M}/genome.fa", "-r", "chrI:0-100", "-o", "{tmp}/out"],
    "yeastzoi_isd.py": ["tiny", f"{M}/model.h5", "-f", f"{M}/genome.fa", "-g", f"{M}/genes.gtf",
                        "--gene", "RPL5", "-o", "{tmp}/out"],
    "yeastzoi_insert.py": ["tiny", f"{M}/model.h5", f"{M}/inserts.fa", "-f", f"{M}/genome.fa",
                           "-g", f"{M}/genes.gtf", "--genes", "RPL5", "-o", "{tmp}/out"],
    "yeastzoi_attention.py": ["tiny_lm", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--region", "chrI:0-100",
                              "-o", "{tmp}/out"],
    "yeastzoi_conservation.py": ["tiny_lm", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--region", "chrI:0-100",
                                 "-o", "{tmp}/out"],
    "yeastzoi_eqtl_negatives.py": [f"{M}/positives.vcf", f"{M}/population.vcf", "-g", f"{M}/genes.gtf",
                                   "-o", "{tmp}/out"],
    "yeastzoi_library_data.py": [f"{M}/library.tsv", f"{M}/genome.fa", f"{M}/genes.gtf", f"{M}/targets.txt",
                                 "--tracks", "basal=RNA", "-o", "{tmp}/out"],
    "yeastzoi_motif_discovery.py": ["tiny_lm", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--gtf", f"{M}/genes.gtf",
                                    "-o", "{tmp}/out"],
    "yeastzoi_motif_check.py": ["tiny_lm", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--gtf", f"{M}/genes.gtf",
                                "-o", "{tmp}/out"],
    "yeastzoi_plot.py": ["tiny", f"{M}/model.h5", "-f", f"{M}/genome.fa", "--region", "chrI:0-100",
                         "--gtf", f"{M}/genes.gtf", "--targets", f"{M}/targets.txt", "-o", "{tmp}/out.png"],
    "yeastzoi_data.py": [f"{M}/genome.fa", f"{M}/targets.txt", "-o", "{tmp}/out"],
    "yeastzoi_lm_data.py": [f"{M}/species.tsv", "-o", "{tmp}/out"],
    "yeastzoi_corpus_qc.py": [f"{M}/species.tsv", "-o", "{tmp}/out"],
    "yeastzoi_cov.py": [f"{M}/reads.bam", "{tmp}/out.bw", "-f", f"{M}/genome.fa"],
    "yeastzoi_simulate.py": [f"{M}/genome", "{tmp}/out"],
    "yeastzoi_genome.py": ["import", f"{M}/genome.fa", "-o", "{tmp}/out"],
    "yeastzoi_eqtl_eval.py": [f"{M}/scores.h5", f"{M}/positives.vcf", f"{M}/negatives.vcf"],
    "yeastzoi_snp_merge.py": ["{tmp}/merged.h5", f"{M}/a.h5", f"{M}/b.h5"],
}
#: runs the script as __main__ and says on stdout, at exit, whether TensorFlow was imported
PROBE = ("import atexit, runpy, sys; atexit.register(lambda: print('tensorflow imported' if 'tensorflow' in "
         "sys.modules else 'tensorflow not imported', flush=True)); sys.argv = sys.argv[1:]; "
         "runpy.run_path(sys.argv[0], run_name='__main__')")


def test_every_script_is_listed():
    assert sorted(SCRIPTS) == sorted(p.name for p in BIN.glob("*.py") if p.name != "yeastzoi_demo.py")


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_missing_input_is_one_error_line_before_tensorflow(script, tmp_path):
    missing = tmp_path / "missing"
    argv = [a.format(missing=missing, tmp=tmp_path) for a in SCRIPTS[script]]
    r = subprocess.run([sys.executable, "-c", PROBE, str(BIN / script), *argv], capture_output=True, text=True,
                       env=_clean_env(), cwd=tmp_path, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(missing) in lines[0], r.stderr[-2000:]
    assert r.stderr.endswith("\n")
    assert r.stdout.splitlines() == ["tensorflow not imported"]


def test_argparse_errors_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(BIN / "yeastzoi_model.py"), "--num-features", "x"], capture_output=True,
                       text=True, env=_clean_env(), cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "error: argument --num-features: 'x' is not an integer" in r.stderr


# ------------------------------------------------------- short names
def test_params_path_takes_zoo_short_names_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.params_path("shorkie_lm") == str(yeastzoi.ZOO_DIR / "shorkie_lm.json")
    assert cli.params_path("tiny.json") == str(yeastzoi.ZOO_DIR / "tiny.json")
    (tmp_path / "tiny.json").write_text("{}")        # a file of that name here wins
    assert cli.params_path("tiny.json") == "tiny.json"
    assert cli.params_path("-") == "-" and cli.params_path(None) is None
    with pytest.raises(YeastzoiError, match=r"^nope: no such params file or zoo spec \(zoo specs: .*shorkie_lm") as e:
        cli.params_path("nope")
    assert "\n" not in str(e.value)
    with pytest.raises(YeastzoiError, match="no such params file"):
        cli.params_path("sub/shorkie_lm.json")       # a path is a path, not a short name
    with pytest.raises(YeastzoiError, match="is a folder"):
        cli.params_path(str(tmp_path))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A shipped-models folder like data/: r64_lm with its files, and a folder without a model."""
    data = tmp_path / "data"
    (data / "r64_lm").mkdir(parents=True)
    for name in ("model_best.h5", "model_meta.json", "history.csv"):
        (data / "r64_lm" / name).write_text("x")
    (data / "examples").mkdir()
    monkeypatch.setattr(yeastzoi, "DATA_DIR", data)
    return data


def test_zoo_model_resolves_shipped_models(data_dir):
    assert yeastzoi.zoo_model("r64_lm") == data_dir / "r64_lm" / "model_best.h5"
    assert yeastzoi.zoo_models() == ["r64_lm"]
    for bad in ("r64", "examples", "../data/r64_lm", ""):
        with pytest.raises(YeastzoiError, match=r"no such shipped model; known models: r64_lm \(in ") as e:
            yeastzoi.zoo_model(bad)
        assert "\n" not in str(e.value)


def test_model_path_and_check_inputs(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "mine.h5"
    own.write_text("x")
    assert cli.model_path(str(own)) == str(own)
    assert cli.model_path("r64_lm") == str(data_dir / "r64_lm" / "model_best.h5")
    with pytest.raises(YeastzoiError, match=r"^gone.h5: no such model file or shipped model \(shipped models: r64_lm\)$"):
        cli.model_path("gone.h5")

    class Args:
        params, models, restore, fasta, gtf = "tiny", [str(own), "r64_lm"], None, str(own), None
    args = Args()
    cli.check_inputs(args, "params", "models", "restore", "fasta", "gtf", "not_an_argument")
    assert args.params == str(yeastzoi.ZOO_DIR / "tiny.json")
    assert args.models == [str(own), str(data_dir / "r64_lm" / "model_best.h5")]
    args.fasta = "none.fa"
    with pytest.raises(YeastzoiError, match=r"^none.fa: no such FASTA file; check the path$"):
        cli.check_inputs(args, "fasta")


def test_model_script_takes_a_short_name_from_another_folder(tmp_path):
    r = subprocess.run([sys.executable, str(BIN / "yeastzoi_model.py"), "shorkie_lm", "--num-features", "170", "-q"],
                       capture_output=True, text=True, env=_clean_env(), cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "total parameters     13,665,828" in r.stdout
    assert r.stderr == ""
