"""yeastzoi_snp.py and the real baskerville's hound_snp.py give the same SAD for the same model.

One 4-channel model (json_params/tiny.json, 16,384 bp → 896 × 16 bp bins, 6 tracks of which two
strand pairs) is built by yeastzoi with random non-trivial weights, saved as a Keras-2 .h5 and
scored by both scripts on the same VCF (SNVs in the middle of chromosomes and near both ends,
where windows run off the chromosome and are padded with N). baskerville reports Σ alt − Σ ref
as "SUM", with each strand pair summed into its + track; yeastzoi's per-track SAD is collapsed the
same way (benchmarks/bench_peer.py: ``sad_agreement``, the function the benchmark calls).

Needs baskerville's own venv (``.peer/bin/baskerville-python``, ../shared/peer/README.md);
skipped without it. Slow (six script runs, ~2 min), except the strand-collapsing check.
"""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / ".peer" / "bin" / "baskerville-python"

needs_peer = pytest.mark.skipif(not PEER.exists(), reason=".peer/bin/baskerville-python is absent: build "
                                                          "baskerville's venv with ../shared/peer/setup.sh .peer")

SHEET = ("\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\n"
         "0\tchip\tx.bw\t384\t32\t1\tsum\t0\tChIP\n"
         "1\trna+\tx.bw\t384\t32\t1\tsum_sqrt\t2\tRNA +\n"
         "2\trna-\tx.bw\t384\t32\t1\tsum_sqrt\t1\tRNA -\n"
         "3\tmnase\tx.bw\t384\t32\t1\tsum\t3\tMNase\n"
         "4\tcage+\tx.bw\t384\t32\t1\tsum\t5\tCAGE +\n"
         "5\tcage-\tx.bw\t384\t32\t1\tsum\t4\tCAGE -\n")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_peer", ROOT / "benchmarks" / "bench_peer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from yeastzoi.genome import write_fasta
    bp = _bench()
    work = tmp_path_factory.mktemp("peer")
    rng = np.random.default_rng(3)
    chroms = [(c, "".join(rng.choice(list("ACGT"), size=n))) for c, n in (("chrA", 40_000), ("chrB", 25_000))]
    fasta = write_fasta(work / "g.fa", chroms)
    (work / "targets.txt").write_text(SHEET)
    seqs = dict(chroms)
    picks = [("chrA", 5), ("chrA", 20_000), ("chrA", 39_990), ("chrB", 3_000), ("chrB", 12_500), ("chrB", 24_000)]
    picks += [("chrA", int(p)) for p in rng.integers(9_000, 31_000, size=6)]
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i, (c, pos) in enumerate(sorted(set(picks), key=lambda r: (r[0], r[1]))):
        ref = seqs[c][pos - 1]
        alt = "ACGT"[("ACGT".index(ref) + 1 + i % 3) % 4]
        lines.append(f"{c}\t{pos}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
    vcf = work / "snvs.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    args = bp.parse_args(["agree", "--no-wait"])
    model = bp.make_model(args, work, ROOT / "json_params" / "tiny.json", work / "targets.txt", tracks=6)
    return bp, args, work, model, vcf, fasta


def test_collapse_strands_sums_pairs_into_the_plus_track(tmp_path):
    bp = _bench()
    (tmp_path / "targets.txt").write_text(SHEET)
    sad = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.5, -1.0, 0.25, 0.0, 2.0, -2.0]])
    out, ids = bp.collapse_strands(sad, tmp_path / "targets.txt")
    assert ids == ["chip", "rna+", "mnase", "cage+"]
    np.testing.assert_array_equal(out, [[1.0, 5.0, 4.0, 11.0], [0.5, -0.75, 0.0, 0.0]])


@pytest.mark.slow
@needs_peer
@pytest.mark.parametrize("rc", [False, True], ids=["forward", "rc"])
def test_same_sad_as_baskerville(setup, rc):
    bp, args, work, model, vcf, fasta = setup
    meta = json.loads((model / "model_meta.json").read_text())
    assert meta["strand_pair"] == [0, 2, 1, 3, 5, 4]
    cmp = bp.sad_agreement(args, work, model, vcf, fasta, rc=rc, tag=f"t{int(rc)}")
    _assert_agree(cmp)
    assert cmp["baskerville_SAD_all_zero"]             # its "SAD" needs --stats exactly SAD


def _assert_agree(cmp):
    assert cmp["variants"] == 12 and cmp["tracks_compared"] == 4
    assert cmp["max_abs_sad"] > 1e-3, cmp              # the variants do move the predictions
    # both files are float16 (relative spacing 2^-11 ≈ 4.9e-4) and baskerville sums the bins in
    # float32: differences of a few 1e-6 remain; a strand mix-up or a shifted window is far larger
    assert cmp["max_abs_diff"] <= 1e-2 * cmp["max_abs_sad"], cmp
    assert cmp["max_rel_diff"] < 0.025, cmp             # ~0.006 here; 0.066 with strands mixed (below)
    assert cmp["pearson_r"] > 0.9999, cmp


@pytest.mark.slow
@needs_peer
def test_rc_uses_the_sheets_strand_pairs_when_the_model_has_none(setup):
    bp, args, work, _, vcf, fasta = setup
    model = bp.make_model(args, work, ROOT / "json_params" / "tiny.json", work / "targets.txt", tracks=6,
                          strand_pair=False, name="model_nosp")
    assert json.loads((model / "model_meta.json").read_text()).get("strand_pair") is None
    _assert_agree(bp.sad_agreement(args, work, model, vcf, fasta, rc=True, tag="nosp"))
