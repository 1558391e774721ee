"""Bad inputs to the genome / coverage / data scripts (issue 14), run as users run them.

Each case builds tiny inputs in tmp_path and runs the bin/ script: an unusable input is
exit status 2 with exactly one ``error:`` line on stderr naming the file (and line) and
the fix, and no output folder left behind; a recoverable input is a WARNING with counts
and a documented behaviour.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yeastzoi import cli
from yeastzoi.genome import write_fasta

ROOT = Path(__file__).resolve().parents[1]


def _run(script, *args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "bin" / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _main(script):
    spec = importlib.util.spec_from_file_location(script[:-3] + "_under_test", ROOT / "bin" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def _warnings(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("WARNING")]


def _rewrap(path: Path, width: int) -> None:
    """Rewrite a FASTA with another line width (its .fai, if any, left as it was)."""
    name, seq = None, []
    out = []
    for line in path.read_text().splitlines() + [">"]:
        if line.startswith(">"):
            if name is not None:
                s = "".join(seq)
                out += [f">{name}"] + [s[i:i + width] for i in range(0, len(s), width)]
            name, seq = line[1:], []
        else:
            seq.append(line)
    path.write_text("\n".join(out) + "\n")


def _genome(d: Path, sizes=None, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    sizes = sizes or {"chrA": 3000, "chrB": 2000, "chrC": 1500}
    fa = d / "g.fa"
    write_fasta(fa, [(c, "".join(rng.choice(list("ACGT"), n))) for c, n in sizes.items()])
    return fa


# ------------------------------------------------------------------ a) stale .fai
def test_stale_fai_is_rebuilt_with_a_warning(tmp_path):
    fa = _genome(tmp_path)
    fai = Path(str(fa) + ".fai")
    before = fai.read_text()
    _rewrap(fa, 80)                                   # the old 60-column index is now stale
    (tmp_path / "species.tsv").write_text(f"name\tfasta\nsp\t{fa.name}\n")
    out = tmp_path / "lm"
    r = _run("yeastzoi_lm_data.py", tmp_path / "species.tsv", "-o", out, "-l", 1000, "--stride", 500,
             "-t", "chrB", "-v", "chrA", "--no-homology", "-q")
    assert r.returncode == 0, r.stderr
    warn = [w for w in _warnings(r.stderr) if ".fai" in w]
    assert len(warn) == 1 and f"{fai}: stale FASTA index" in warn[0] and "rebuilt" in warn[0], r.stderr
    assert fai.read_text() != before and "\t80\t81\n" in fai.read_text()
    assert (out / "statistics.json").exists()


def test_stale_fai_in_a_read_only_folder_is_one_line_error(tmp_path, capsys, monkeypatch):
    fa = _genome(tmp_path)
    _rewrap(fa, 70)
    fai = Path(str(fa) + ".fai")
    (tmp_path / "species.tsv").write_text(f"name\tfasta\nsp\t{fa}\n")
    import yeastzoi.genome.reference as reference
    monkeypatch.setattr(reference.os, "access", lambda *a, **k: False)
    out = tmp_path / "lm"
    rc = cli.call(_main("yeastzoi_lm_data.py"), [str(tmp_path / "species.tsv"), "-o", str(out), "-l", "1000",
                                                  "-t", "chrB", "-v", "chrA", "--no-homology", "-q"])
    assert rc == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {fai}: stale FASTA index (") and f"delete {fai}" in line
    assert not out.exists()


def test_stale_fai_detection_cases(tmp_path):
    from yeastzoi.genome import Genome, stale_fai_reason
    fa = _genome(tmp_path, {"chrA": 130, "chrB": 60, "chrC": 7})
    assert stale_fai_reason(fa) is None
    text = fa.read_text()
    fa.write_text(text.replace(">chrB", ">chrB description here"))       # header grew: offsets move
    assert "chrB" in stale_fai_reason(fa)
    fa.write_text(text[:-3] + "\n")                                      # last record shortened
    assert "chrC" in stale_fai_reason(fa)
    fa.write_text(text)
    with Genome(fa) as g:                                                # a good index is kept as is
        assert g.fetch("chrC", 0, 7) == text.splitlines()[-1]


# ------------------------------------------------------------------ b) empty species sheet
@pytest.mark.parametrize("content, message", [
    ("", "empty species sheet; write a header line (name<TAB>fasta"),
    ("\n\n# only a comment\n", "empty species sheet; write a header line"),
    ("name\tfasta\n", "no species rows; add one row per genome below the header"),
])
def test_empty_species_sheet_is_one_line_error(tmp_path, content, message):
    sheet = tmp_path / "species.tsv"
    sheet.write_text(content)
    out = tmp_path / "lm"
    r = _run("yeastzoi_lm_data.py", sheet, "-o", out, "-q")
    assert r.returncode == 2
    assert _one_error_line(r.stderr).startswith(f"error: {sheet}: {message}")
    assert not out.exists()


def test_species_sheet_row_errors_name_the_line(tmp_path):
    _genome(tmp_path)
    sheet = tmp_path / "species.tsv"
    sheet.write_text("name\tfasta\nsp\tg.fa\nsp2\tg.fa\textra\n")
    r = _run("yeastzoi_lm_data.py", sheet, "-o", tmp_path / "lm", "-q")
    assert r.returncode == 2
    assert _one_error_line(r.stderr) == (f"error: {sheet}:3: 3 tab-separated fields but the header has 2; "
                                         f"separate columns with single tabs")


# ------------------------------------------------------------------ c) duplicated chromosome name
def test_duplicate_chromosome_name_leaves_no_genome_folder(tmp_path):
    fa = tmp_path / "dup.fa"
    fa.write_text(">chrA\nACGTACGT\n>chrB\nACGT\n>chrA other copy\nGGGG\n")
    out = tmp_path / "genome"
    r = _run("yeastzoi_genome.py", "import", fa, "-o", out)
    assert r.returncode == 2
    assert _one_error_line(r.stderr) == (f"error: {fa}:5: sequence name 'chrA' repeats the header at line 1; "
                                         f"rename or remove one of the two sequences")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["dup.fa"]          # no temporary folder either


def test_failed_import_leaves_an_existing_genome_folder_unchanged(tmp_path):
    good = tmp_path / "good.fa"
    good.write_text(">chrA\nACGTACGTAC\n")
    out = tmp_path / "genome"
    assert _run("yeastzoi_genome.py", "import", good, "-o", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.fa"
    bad.write_text(">chrA\nAC\n>chrA\nGG\n")
    r = _run("yeastzoi_genome.py", "import", bad, "-o", out)
    assert r.returncode == 2 and "repeats the header at line 1" in _one_error_line(r.stderr)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_genome_folder_is_written_atomically(tmp_path, monkeypatch):
    import yeastzoi.genome.folder as folder
    from yeastzoi import YeastzoiError

    def boom(*a, **k):
        raise YeastzoiError("disk full")
    monkeypatch.setattr(folder, "write_chrom_sizes", boom)              # fails after genome.fa is written
    out = tmp_path / "genome"
    with pytest.raises(YeastzoiError, match="disk full"):
        folder.write_genome_dir(out, [("chrA", "ACGT")], {"name": "x"})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ d) annotation past the chromosome end
def test_gtf_exon_past_chromosome_end_is_clipped_with_a_warning(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">chrA\n" + "ACGT" * 25 + "\n")                       # 100 bp
    gtf = tmp_path / "g.gtf"
    row = 'chrA\tx\texon\t{}\t{}\t.\t+\t.\tgene_id "{}"; transcript_id "{}.1";\n'
    gtf.write_text(row.format(1, 40, "g1", "g1") + row.format(81, 120, "g1", "g1")   # clipped to 100
                   + row.format(150, 160, "g2", "g2"))                                # wholly past: dropped
    out = tmp_path / "genome"
    r = _run("yeastzoi_genome.py", "import", fa, gtf, "-o", out)
    assert r.returncode == 0, r.stderr
    warn = _warnings(r.stderr)
    assert len(warn) == 1, r.stderr
    assert (f"{gtf}: annotation past the chromosome end (kept inside it): 1 exon(s) clipped to the end, "
            f"1 exon(s) dropped (starting past it), 0 other row(s) clipped and 0 dropped; 2 gene(s) touched, "
            f"1 of them dropped (no rows left)") in warn[0]
    from yeastzoi.genome import genes_table, read_gtf
    ann = read_gtf(out / "genes.gtf")
    assert ann["end"].max() == 100 and set(ann["gene_id"]) == {"g1"}
    assert genes_table(ann)[["start", "end"]].values.tolist() == [[0, 100]]


# ------------------------------------------------------------------ e) negative coverage in a target bigWig
def test_negative_bigwig_values_are_clipped_to_zero_with_a_warning(tmp_path):
    import tensorflow as tf

    from yeastzoi.coverage import write_bigwig
    sizes = {"chrA": 3000, "chrB": 2000, "chrC": 1500}
    fa = _genome(tmp_path, sizes)
    cov = {c: np.full(n, 2.0, np.float32) for c, n in sizes.items()}
    cov["chrA"][100:180] = -80.0                                         # an input-subtracted dip
    cov["chrB"][10:12] = -1.0
    bw = tmp_path / "neg.bw"
    write_bigwig(bw, cov, sizes)
    (tmp_path / "targets.txt").write_text(f"\tidentifier\tfile\tsum_stat\n0\tneg\t{bw.name}\tsum\n")
    out = tmp_path / "data"
    r = _run("yeastzoi_data.py", fa, tmp_path / "targets.txt", "-o", out, "-l", 512, "-w", 16, "-c", 0,
             "-t", "chrB", "-v", "chrA", "--no-homology", "-q")
    assert r.returncode == 0, r.stderr
    warn = [w for w in _warnings(r.stderr) if "negative" in w]
    assert len(warn) == 1, r.stderr
    assert f"{bw}: 82 negative coverage value(s) (lowest -80)" in warn[0]
    assert "clipped to 0 before the transform" in warn[0]
    targets = []
    for f in sorted((out / "tfrecords").glob("*.tfr")):
        for rec in tf.data.TFRecordDataset(str(f), compression_type="ZLIB"):
            ex = tf.io.parse_single_example(rec, {"target": tf.io.FixedLenFeature([], tf.string)})
            targets.append(tf.io.decode_raw(ex["target"], tf.float16).numpy())
    y = np.concatenate(targets)
    assert y.min() == 0 and y.max() == 32                                  # 16 bp × 2.0 per bin
