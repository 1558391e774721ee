"""Predicting a strain from its own sequence (yeastzoi_predict.py --vcf/--sample, --strain,
--lift-to-reference) and the per-base lift of its tracks to reference coordinates."""
import importlib.util
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from yeastzoi.genome import Genome, codes_to_seq, write_fasta
from yeastzoi.score.strain_tracks import value_runs

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bin" / "yeastzoi_predict.py"
SETS = ["model.seq_length=2048", "model.trunk[6].cropping=16", "model.head.units=3"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import keras

    from yeastzoi import zoo_spec
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN

    d = tmp_path_factory.mktemp("strain_model")
    keras.utils.set_random_seed(0)
    seqnn = SeqNN(load_params(zoo_spec("tiny"), SETS)["model"], meta={"target_ids": ["p", "m", "u"]})
    rng = np.random.default_rng(3)
    fa = write_fasta(d / "ref.fa", [("chrI", codes_to_seq(rng.integers(0, 4, 6000).astype(np.uint8))),
                                    ("chrII", codes_to_seq(rng.integers(0, 4, 3000).astype(np.uint8)))])
    return zoo_spec("tiny"), seqnn.save(d / "model.h5"), fa


def run(capsys, *args):
    from yeastzoi import cli

    spec = importlib.util.spec_from_file_location("yeastzoi_predict_strain_cli", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    capsys.readouterr()
    rc = cli.call(mod.main, [str(a) for a in args] + [a for s in SETS for a in ("--set", s)])
    return rc, capsys.readouterr().err


def per_base(path, chrom, start, end):
    bw = pyBigWig.open(str(path))
    try:
        return np.asarray(bw.values(chrom, start, end, numpy=True), np.float64)
    finally:
        bw.close()


def test_value_runs():
    s, e = value_runs(np.array([1, 1, 2, np.nan, np.nan, 2, 2, 3]))
    assert s.tolist() == [0, 2, 5, 7] and e.tolist() == [2, 3, 7, 8]


def test_predict_strain_lifted_to_reference(tiny, tmp_path, capsys):
    params, model, fa = tiny
    with Genome(fa) as g:
        ref = g.fetch("chrI", 0, 6000)
    # variants only in the second tiling window's input (window 0 reads [-256, 1792)):
    # an SNV at 2500, 5 bp inserted after 2600, 3 bp deleted after 2800 (0-based)
    alt = {"A": "C", "C": "G", "G": "T", "T": "A"}
    rows = [("chrI", 2501, ref[2500], alt[ref[2500]]), ("I", 2601, ref[2600], ref[2600] + "ACGTA"),
            ("chrI", 2801, ref[2800:2804], ref[2800])]
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n" + "".join(
        f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t1/1\t0/0\n" for c, p, r, a in rows))
    base = [params, model, "-f", fa, "--region", "chrI:0-3072", "--no-untransform", "-q"]
    rc, err = run(capsys, *base, "-o", tmp_path / "ref")
    assert rc == 0, err
    rc, err = run(capsys, *base, "-o", tmp_path / "s1", "--vcf", vcf, "--sample", "S1", "--lift-to-reference")
    assert rc == 0, err
    out = tmp_path / "s1"
    with Genome(out / "strain" / "S1" / "genome.fa") as g:
        assert g.chroms == {"chrI": 6002, "chrII": 3000}
    # the strain bigWig is in strain coordinates: the lifted region [0, 3074) of the strain
    sb = pyBigWig.open(str(out / "p.bw"))
    assert sb.chroms() == {"chrI": 6002, "chrII": 3000} and sb.intervals("chrI")[-1][1] == 3074
    sb.close()
    for t in ("p", "m", "u"):
        r = per_base(tmp_path / "ref" / f"{t}.bw", "chrI", 0, 3072)
        lifted = per_base(out / "reference" / f"{t}.bw", "chrI", 0, 3072)
        strain = per_base(out / f"{t}.bw", "chrI", 0, 3074)
        # window 0 has no variant in its input: identical to predicting the reference
        np.testing.assert_allclose(lifted[:1536], r[:1536], rtol=1e-6, atol=1e-7)
        # after the insertion, reference base x sits at strain x + 5, after the deletion at x + 2
        np.testing.assert_array_equal(lifted[2601:2801], strain[2606:2806])
        np.testing.assert_array_equal(lifted[2804:3072], strain[2806:3074])
        assert np.isnan(lifted[2801:2804]).all() and np.isfinite(lifted[:2801]).all()
        assert np.abs(lifted[1536:] - r[1536:])[np.isfinite(lifted[1536:])].max() > 1e-4  # the variants matter
    ins = (out / "reference" / "inserted.bed").read_text().split()
    assert ins == ["chrI", "2601", "2602", "strain:2601-2606", "5", "0"]
    # the same strain given as a folder predicts the same values
    rc, err = run(capsys, *base, "-o", tmp_path / "s1b", "--strain", out / "strain" / "S1")
    assert rc == 0, err
    np.testing.assert_array_equal(per_base(tmp_path / "s1b" / "u.bw", "chrI", 0, 3074),
                                  per_base(out / "u.bw", "chrI", 0, 3074))
    # a strain without variants (S2) predicts exactly the reference
    rc, err = run(capsys, *base, "-o", tmp_path / "s2", "--vcf", vcf, "--sample", "S2", "--lift-to-reference")
    assert rc == 0, err
    np.testing.assert_allclose(per_base(tmp_path / "s2" / "reference" / "m.bw", "chrI", 0, 3072),
                               per_base(tmp_path / "ref" / "m.bw", "chrI", 0, 3072), rtol=1e-6, atol=1e-7)


def test_predict_strain_bad_inputs_one_line(tiny, tmp_path, capsys):
    params, model, fa = tiny
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                   "chrI\t10\t.\tN\tA\t.\tPASS\t.\tGT\t1/1\n")
    base = [params, model, "-f", fa, "--region", "chrI:0-3072", "--no-untransform", "-o", tmp_path / "o"]
    cases = [(["--vcf", vcf], "--vcf needs --sample"),
             (["--vcf", vcf, "--sample", "S9"], "sample(s) S9 not in the VCF"),
             (["--lift-to-reference"], "--lift-to-reference needs a strain"),
             (["--strain", tmp_path], "not a strain folder")]
    for extra, msg in cases:
        rc, err = run(capsys, *base, *extra)
        lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert rc == 2 and len(lines) == 1 and msg in lines[0], (extra, err)
