"""Nothing wrong, nothing lost: the whole request is checked before work, a run owns its output
folder, a failed run leaves it byte-identical, exit codes 2 / 130 / 1 (yeastzoi.cli, yeastzoi.outdir)."""
import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from yeastzoi import YeastzoiError, cli
from yeastzoi.genome import codes_to_seq, write_fasta
from yeastzoi.outdir import OutputFolder

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"
SETS = ["model.seq_length=2048", "model.trunk[6].cropping=16", "model.head.units=3"]


def load(script):
    spec = importlib.util.spec_from_file_location(f"contract_{script}", BIN / f"{script}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(capsys, script, *args):
    capsys.readouterr()
    rc = cli.call(load(script).main, [str(a) for a in args])
    err = capsys.readouterr().err
    return rc, err


def error_lines(err):
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def snapshot(folder: Path) -> dict:
    """path → sha256 of every file under ``folder`` (and the folder's sibling lock/staging names)."""
    out = {}
    if folder.exists():
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    out["<siblings>"] = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import keras

    from yeastzoi import zoo_spec
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN

    d = tmp_path_factory.mktemp("contract")
    keras.utils.set_random_seed(0)
    seqnn = SeqNN(load_params(zoo_spec("tiny"), SETS)["model"], meta={"target_ids": ["p", "m", "u"]})
    model = seqnn.save(d / "model.h5")
    rng = np.random.default_rng(2)
    seq = codes_to_seq(rng.integers(0, 4, 5000).astype(np.uint8))
    fa = write_fasta(d / "g.fa", [("chrI", seq)])
    vcf = d / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
                   f"chrI\t2001\ta\t{seq[2000]}\t{'A' if seq[2000] != 'A' else 'C'}\n"
                   f"chrI\t2001\tdup\t{seq[2000]}\t{'A' if seq[2000] != 'A' else 'C'}\n"
                   f"chrI\t3001\tn\t{seq[3000]}\tN\n")
    return d, model, fa, vcf, seq


def snp_args(world, out, *extra):
    d, model, fa, vcf, _ = world
    return ["-", model, vcf, "-f", fa, "-o", out, "--no-untransform", "-q", *extra]


# ----------------------------------------------------------------------------- the 11 bad cases
def test_ism_bad_region_leaves_the_earlier_result(world, tmp_path, capsys):
    d, model, fa, _, _ = world
    out = tmp_path / "ism"
    rc, err = run(capsys, "yeastzoi_ism", "-", model, "-f", fa, "-r", "chrI:2000-2004", "-o", out,
                  "--no-untransform", "-q")
    assert rc == 0, err
    with h5py.File(out / "ism.h5") as h5:
        assert np.isfinite(h5["logSED"][()]).all()
    before = snapshot(out)
    for region in ("chrI:50000-50010", "chrI:4995-5005"):     # past the end; running over it
        rc, err = run(capsys, "yeastzoi_ism", "-", model, "-f", fa, "-r", region, "-o", out, "--no-untransform")
        assert rc == 2 and len(error_lines(err)) == 1 and "chrI" in error_lines(err)[0], err
        assert snapshot(out) == before


@pytest.mark.parametrize("script", ["yeastzoi_snp", "yeastzoi_predict"])
def test_shift_past_the_window_is_refused(world, tmp_path, capsys, script):
    d, model, fa, vcf, _ = world
    out = tmp_path / "o"
    args = snp_args(world, out, "--shifts=-5000,0") if script == "yeastzoi_snp" else \
        ["-", model, "-f", fa, "--region", "chrI:0-3000", "-o", out, "--no-untransform", "--shifts=-5000,0"]
    rc, err = run(capsys, script, *args)
    lines = error_lines(err)
    assert rc == 2 and len(lines) == 1 and "--shifts -5000" in lines[0] and "at most 256 bp" in lines[0], err
    assert not out.exists()


def test_second_run_into_a_busy_folder_is_refused_and_a_stale_lock_taken_over(world, tmp_path, capsys):
    out = tmp_path / "busy"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock = tmp_path / ".busy.yeastzoi-lock"
        lock.write_text(json.dumps({"host": socket.gethostname(), "pid": other.pid, "script": "yeastzoi_snp.py",
                                    "started": "2026-12-06T07:00:00"}))
        rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, out))
        lines = error_lines(err)
        assert rc == 2 and len(lines) == 1 and f"PID {other.pid}" in lines[0] and "in use" in lines[0], err
        assert not out.exists() and lock.exists()
    finally:
        other.kill()
        other.wait()
    # the other process is gone: its lock is stale and taken over
    rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, out))
    assert rc == 0, err
    assert (out / "scores.h5").is_file() and not lock.exists()
    assert "taking over the stale lock" in err


def test_two_real_processes_one_folder(world, tmp_path):
    """Two real snp processes into one -o. The first is held at a chosen point, just after it
    took the folder (YEASTZOI_HOLD_OUTPUT), while the second starts: the second is refused in
    one line naming the first; released, the first publishes its results."""
    import time

    out = tmp_path / "both"
    release = tmp_path / "release"
    cmd = [sys.executable, str(BIN / "yeastzoi_snp.py"), *map(str, snp_args(world, out))]
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "YEASTZOI_HOLD_OUTPUT": str(release)})
    try:
        lock = tmp_path / ".both.yeastzoi-lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.exists(), first.stderr.read() if first.poll() is not None else "no lock"
        second = subprocess.run(cmd, capture_output=True, text=True)
        lines = error_lines(second.stderr)
        assert second.returncode == 2 and len(lines) == 1, second.stderr
        assert f"in use by yeastzoi_snp.py (PID {first.pid}" in lines[0]
    finally:
        release.write_text("go")
        err = first.communicate(timeout=300)[1]
    assert first.returncode == 0, err
    assert (out / "scores.h5").is_file() and not lock.exists()


def test_unwritable_outputs_fail_before_any_work(world, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, blocker / "out"))
    assert rc == 2 and len(error_lines(err)) == 1 and "cannot create" in err and "Traceback" not in err
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "old.txt").write_text("keep")
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (root ignores file modes)")
    try:
        before = snapshot(ro)
        rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, ro))
        assert rc == 2 and len(error_lines(err)) == 1 and "cannot write into the output folder" in err, err
        assert snapshot(ro) == before
        rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, ro / "sub"))
        assert rc == 2 and len(error_lines(err)) == 1, err
        bam = tmp_path / "r.bam"
        bam.write_bytes(b"")
        rc, err = run(capsys, "yeastzoi_cov", bam, ro / "x.bw", "-c", tmp_path / "afile")
        assert rc == 2 and len(error_lines(err)) == 1 and "cannot" in err, err
    finally:
        subprocess.run(["chattr", "-i", str(ro)])


@pytest.mark.parametrize("content,msg", [("", "invalid JSON"), ("{bad", "invalid JSON"),
                                         ("[1, 2]", "must be a JSON object")])
def test_bad_sidecar_metadata_is_one_line(world, tmp_path, capsys, content, msg):
    d, model, fa, _, _ = world
    bare = tmp_path / "bare.h5"
    bare.write_bytes(Path(model).read_bytes())
    with h5py.File(bare, "a") as h5:
        del h5.attrs["yeastzoi_meta"]
    (tmp_path / "model_meta.json").write_text(content)
    rc, err = run(capsys, "yeastzoi_predict", "-", bare, "-f", fa, "--region", "chrI:0-3000", "-o", tmp_path / "o",
                  "--no-untransform")
    lines = error_lines(err)
    assert rc == 2 and len(lines) == 1 and "model_meta.json" in lines[0] and msg in lines[0], err


def test_plain_text_named_gz_is_read_by_content(tmp_path, capsys):
    fa = tmp_path / "plain.fa.gz"
    fa.write_text(">chr1\n" + "ACGT" * 100 + "\n")
    rc, err = run(capsys, "yeastzoi_genome", "import", fa, "-o", tmp_path / "g", "--keep-names")
    assert rc == 0, err
    assert (tmp_path / "g" / "genome.fa").read_text().startswith(">chr1\nACGT")


def test_zero_pool_width_and_stride_are_one_line_usage_errors(tmp_path, capsys):
    for opt in (["-w", "0"], ["--stride", "0"], ["-l", "-5"]):
        rc, err = run(capsys, "yeastzoi_data", "x.fa", "t.txt", "-o", tmp_path / "o", *opt)
        lines = error_lines(err)
        assert rc == 2 and len(lines) == 1 and opt[0] in lines[0] and "must be >=" in lines[0], err


# ----------------------------------------------------------------------------- warnings with counts
def test_duplicate_and_n_allele_records_are_counted(world, tmp_path, capsys):
    rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, tmp_path / "o"))
    assert rc == 0, err
    assert "1 duplicate record(s)" in err and "kept, each scored again" in err
    assert "1 variant(s) with N in REF or ALT (an unknown base to the model) kept" in err
    rc, err = run(capsys, "yeastzoi_snp", *snp_args(world, tmp_path / "o2", "--duplicates", "drop",
                                                   "--n-alleles", "drop"))
    assert rc == 0, err
    from yeastzoi.score.results import read_scores_h5
    assert [v.id for v in read_scores_h5(tmp_path / "o2" / "scores.h5").variants] == ["a"]
    assert err.count("dropped") == 2


def test_nan_and_inf_coverage_are_counted(tmp_path, caplog):
    import logging

    import pandas as pd
    import pyBigWig

    from yeastzoi.data.builders import write_track_records

    caplog.set_level(logging.WARNING)
    fa = write_fasta(tmp_path / "g.fa", [("chrI", "ACGT" * 64)])
    bw = pyBigWig.open(str(tmp_path / "c.bw"), "w")
    bw.addHeader([("chrI", 256)])
    vals = np.ones(256)
    vals[[5, 6]] = np.nan
    vals[9] = np.inf
    bw.addEntries("chrI", 0, values=vals.tolist(), span=1, step=1)
    bw.close()
    from yeastzoi.coverage import CoverageFile
    from yeastzoi.genome import Genome

    targets = pd.DataFrame({"identifier": ["c"], "file": [str(tmp_path / "c.bw")], "clip": [100.0],
                            "clip_soft": [50.0], "scale": [1.0], "sum_stat": ["sum"], "strand_pair": [0]})
    windows = pd.DataFrame({"chrom": ["chrI"], "start": [0], "end": [256], "split": ["train"]})

    class Sink:
        def __init__(self):
            self.n = 0

        def write(self, rec):
            self.n += 1

    sink = Sink()
    with Genome(fa) as g:
        codes = {"chrI": g.fetch_codes("chrI", 0, 256)}
        write_track_records(windows, {"train": sink}, g, codes, [CoverageFile(tmp_path / "c.bw")], targets, 0, 16,
                            16, None, None, 0.3, lambda name, n: (lambda k: None))
    assert sink.n == 1
    assert "2 NaN and 1 ±Inf coverage value(s)" in caplog.text and "first at chrI:5" in caplog.text


# ----------------------------------------------------------------------------- the folder contract
def test_output_folder_publishes_a_set_and_removes_stale_files(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "mine.txt").write_text("a user's file")
    with OutputFolder(out, "t") as stage:
        (stage / "scores.h5").write_text("1")
        (stage / "scores.tsv").write_text("1")
        (stage / "sub").mkdir()
        (stage / "sub" / "x.png").write_text("1")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        ".yeastzoi-outputs.json", "mine.txt", "scores.h5", "scores.tsv", "sub/x.png"]
    with OutputFolder(out, "t") as stage:            # a rerun without --tsv
        (stage / "scores.h5").write_text("2")
    assert (out / "scores.h5").read_text() == "2" and not (out / "scores.tsv").exists()
    assert not (out / "sub" / "x.png").exists() and (out / "mine.txt").read_text() == "a user's file"
    with OutputFolder(out, "other_script") as stage:   # another script into the same folder is no rerun
        (stage / "other.txt").write_text("o")
    assert (out / "scores.h5").read_text() == "2" and (out / "other.txt").exists()
    before = snapshot(out)
    with pytest.raises(RuntimeError):
        with OutputFolder(out, "t") as stage:        # a failure half way: nothing changes
            (stage / "scores.h5").write_text("3")
            raise RuntimeError("boom")
    assert snapshot(out) == before


def test_exit_codes_internal_error_and_interrupt(capsys):
    def boom(argv):
        raise ValueError("unexpected")

    def interrupted(argv):
        raise KeyboardInterrupt

    capsys.readouterr()
    assert cli.call(boom, []) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [e for e in err.splitlines() if e] and "internal error: ValueError: unexpected" in err
    assert "Traceback" not in err
    assert cli.call(boom, ["--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert cli.call(interrupted, []) == 130
    assert error_lines(capsys.readouterr().err) == ["error: interrupted"]


def test_missing_backend_is_a_user_error(monkeypatch, capsys):
    """KERAS_BACKEND names a framework that is not installed: exit 2 and one line saying how to fix
    it; a missing module that is not the backend stays an internal error (exit 1)."""
    def needs(name):
        def main(argv):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return main

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    capsys.readouterr()
    assert cli.call(needs("jax.numpy"), []) == 2
    assert error_lines(capsys.readouterr().err) == [
        "error: KERAS_BACKEND=jax but jax is not installed: install it (pip install 'yeastzoi[jax]') or unset "
        "KERAS_BACKEND"]
    assert cli.call(needs("pyBigWig"), []) == 1
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err


# ----------------------------------------------------------------------------- property: every script's numbers
def _numeric_options():
    cases = []
    for path in sorted(BIN.glob("yeastzoi_*.py")):
        cases.append(path.stem)
    return cases


@pytest.mark.parametrize("script", _numeric_options())
def test_every_numeric_option_is_range_checked(script, capsys):
    """Every int/float option of every script declares its range; values just outside it (and
    non-numbers) are exit 2 with one error line naming the option, before any work."""
    mod = load(script)
    cli.ArgumentParser.parsed.clear()
    with pytest.raises(SystemExit) as ex:
        cli.call(mod.main, ["--help"])
    assert ex.value.code == 0, capsys.readouterr().err
    parsers = [(None, cli.ArgumentParser.parsed[-1])]
    for action in parsers[0][1]._actions:
        if action.choices and isinstance(action.choices, dict):          # subcommands
            parsers += [(name, sub) for name, sub in action.choices.items()]
    checked = 0
    for sub, parser in parsers:
        for action in parser._actions:
            t = action.type
            if t in (int, float):
                pytest.fail(f"{script} {action.option_strings}: numeric option without a declared range")
            if not hasattr(t, "lo") or not action.option_strings:
                continue
            bad = ["x"]
            if t.lo is not None:
                bad.append(str(t.lo - 1))
            if t.hi is not None:
                bad.append(str(t.hi + 1))
            opt = action.option_strings[-1]
            for value in bad:
                argv = ([sub] if sub else []) + [opt, value]
                rc, err = run(capsys, script, *argv)
                lines = error_lines(err)
                assert rc == 2 and len(lines) == 1 and opt in lines[0] and "Traceback" not in err, (script, argv, err)
                checked += 1
    assert checked >= 0
