"""Tests for yeastzoi.coverage (bam, trackfiles) with real BAM / bigWig / w5 / BED files written here."""
import logging
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pyBigWig
import pysam
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.coverage import (CoverageFile, bam_to_coverage, count_bam_records,
                               run_length_encode, write_bigwig, write_w5)

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"chrI": 100, "chrII": 50, "chrIII": 30}

# name, flag, ref, pos, cigar, tags, mapq
READS = [
    ("fwd", 0, "I", 10, "5M", [], 60),
    ("rev", 16, "I", 20, "4M", [], 60),
    ("spliced", 0, "I", 30, "3M10N2M", [], 60),
    ("del_rev", 16, "I", 50, "2M2D2M", [], 60),
    ("dup", 0x400, "I", 60, "3M", [], 60),
    ("multi", 0, "I", 70, "2M", [("NH", 2)], 60),
    ("secondary", 0x100, "I", 80, "2M", [], 60),
    ("supp", 0x800, "I", 90, "2M", [], 60),
    ("qcfail", 0x200, "I", 92, "2M", [], 60),
    ("clipped", 0, "II", 5, "2S3M", [], 60),
    ("lowq", 0, "I", 2, "2M", [("NH", 1)], 5),
    ("unmapped", 4, None, -1, None, [], 0),
]


@pytest.fixture(scope="module")
def bam(tmp_path_factory):
    d = tmp_path_factory.mktemp("bam")
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "I", "LN": 100}, {"SN": "II", "LN": 50}]}
    raw = d / "raw.bam"
    with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
        for name, flag, ref, pos, cigar, tags, mapq in READS:
            a = pysam.AlignedSegment(out.header)
            a.query_name = name
            a.flag = flag
            if ref is None:
                a.reference_id = -1
                a.reference_start = -1
                a.query_sequence = "ACGTA"
            else:
                a.reference_name = ref
                a.reference_start = pos
                a.cigarstring = cigar
                qlen = sum(n for op, n in a.cigartuples if op in (0, 1, 4, 7, 8))
                a.query_sequence = "A" * qlen
            a.mapping_quality = mapq
            a.set_tags(tags)
            out.write(a)
    sorted_bam = d / "reads.bam"
    pysam.sort("-o", str(sorted_bam), str(raw))
    pysam.index(str(sorted_bam))
    return sorted_bam


def _dense(pairs, n):
    a = np.zeros(n, np.float32)
    for p, v in pairs:
        a[p] += v
    return a


def test_5p_default(bam):
    res = bam_to_coverage(bam, SIZES)
    assert set(res.coverage) == set(SIZES)
    np.testing.assert_array_equal(
        res.coverage["chrI"], _dense([(10, 1), (23, 1), (30, 1), (55, 1), (2, 1)], 100))
    np.testing.assert_array_equal(res.coverage["chrII"], _dense([(5, 1)], 50))
    np.testing.assert_array_equal(res.coverage["chrIII"], np.zeros(30, np.float32))
    assert res.coverage["chrI"].dtype == np.float32
    c = res.counts
    assert c["records"] == 12 and c["used"] == 6
    for k in ("unmapped", "secondary", "supplementary", "qc_fail", "duplicate", "multimapper"):
        assert c[k] == 1, k
    assert c["low_mapq"] == 0 and c["other_strand"] == 0
    assert res.total == 6.0
    calls = []
    bam_to_coverage(bam, SIZES, progress=calls.append)
    assert sum(calls) == 12 and count_bam_records(bam) == 12


def test_5p_shift_strand_dups_multimap_mapq(bam):
    res = bam_to_coverage(bam, SIZES, shift=2)
    np.testing.assert_array_equal(
        res.coverage["chrI"], _dense([(12, 1), (21, 1), (32, 1), (53, 1), (4, 1)], 100))
    np.testing.assert_array_equal(res.coverage["chrII"], _dense([(7, 1)], 50))

    plus = bam_to_coverage(bam, SIZES, strand="+")
    minus = bam_to_coverage(bam, SIZES, strand="-")
    np.testing.assert_array_equal(plus.coverage["chrI"], _dense([(10, 1), (30, 1), (2, 1)], 100))
    np.testing.assert_array_equal(minus.coverage["chrI"], _dense([(23, 1), (55, 1)], 100))
    assert plus.counts["other_strand"] == 2 and minus.counts["other_strand"] == 4

    res = bam_to_coverage(bam, SIZES, skip_duplicates=False, multimap="weight", min_mapq=10)
    np.testing.assert_array_equal(
        res.coverage["chrI"], _dense([(10, 1), (23, 1), (30, 1), (55, 1), (60, 1), (70, 0.5)], 100))
    assert res.counts["low_mapq"] == 1 and res.counts["weighted_multimappers"] == 1
    assert res.counts["duplicate"] == 0 and res.counts["multimapper"] == 0
    assert res.total == pytest.approx(6.5)  # + the chrII read

    # a reverse read shifted past the chromosome start is dropped and counted
    res = bam_to_coverage(bam, SIZES, shift=24)
    assert res.counts["off_chrom"] == 1  # rev: 23 - 24 = -1
    np.testing.assert_array_equal(res.coverage["chrII"], _dense([(29, 1)], 50))


def test_all_mode_spliced_and_deletions(bam):
    res = bam_to_coverage(bam, SIZES, mode="all")
    exp = _dense([(p, 0.2) for p in range(10, 15)] + [(p, 0.25) for p in range(20, 24)]
                 + [(p, 0.2) for p in (30, 31, 32, 43, 44)]
                 + [(p, 0.25) for p in (50, 51, 54, 55)] + [(p, 0.5) for p in (2, 3)], 100)
    np.testing.assert_allclose(res.coverage["chrI"], exp, rtol=0, atol=1e-7)
    # intron / deletion / uncovered bases are exactly zero
    assert np.all(res.coverage["chrI"][33:43] == 0) and np.all(res.coverage["chrI"][52:54] == 0)
    assert np.count_nonzero(res.coverage["chrI"]) == 5 + 4 + 5 + 4 + 2
    np.testing.assert_allclose(res.coverage["chrII"], _dense([(p, 1 / 3) for p in (5, 6, 7)], 50),
                               atol=1e-7)
    assert res.total == pytest.approx(6.0, abs=1e-5)

    w = bam_to_coverage(bam, SIZES, mode="all", multimap="weight")
    np.testing.assert_allclose(w.coverage["chrI"] - res.coverage["chrI"],
                               _dense([(70, 0.25), (71, 0.25)], 100), atol=1e-7)
    with pytest.raises(YeastzoiError, match="shift"):
        bam_to_coverage(bam, SIZES, mode="all", shift=3)


def test_bam_alias_errors(bam, tmp_path):
    with pytest.raises(YeastzoiError, match="none of the BAM chromosome names"):
        bam_to_coverage(bam, {"chr2L": 100})
    with pytest.raises(YeastzoiError, match="no such BAM"):
        bam_to_coverage(tmp_path / "nope.bam", SIZES)
    bad = tmp_path / "bad.bam"
    bad.write_text("not a bam\n")
    with pytest.raises(YeastzoiError, match="cannot be read as BAM"):
        bam_to_coverage(bad, SIZES)
    # exact names also match; reads on chromosomes missing from the sizes are counted
    res = bam_to_coverage(bam, {"I": 100})
    assert res.counts["unknown_chrom"] == 1 and res.counts["used"] == 5


def test_run_length_encode():
    s, e, v = run_length_encode(np.array([0, 0, 2, 2, 2, 1, 0], np.float32))
    assert s.tolist() == [0, 2, 5, 6] and e.tolist() == [2, 5, 6, 7]
    assert v.tolist() == [0, 2, 1, 0]


def test_bigwig_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    cov = {"chrI": np.repeat(rng.integers(0, 4, 20), 5).astype(np.float32) * 0.5,
           "chrII": np.zeros(50, np.float32)}
    cov["chrII"][10:13] = [1.25, 1.25, 7.0]
    path = tmp_path / "t.bw"
    write_bigwig(path, cov, SIZES)
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == SIZES
    # zero runs are not stored: the number of entries equals the number of nonzero runs
    ivs = bw.intervals("chrII")
    assert ivs == ((10, 12, 1.25), (12, 13, 7.0))
    bw.close()
    with CoverageFile(path) as cf:
        assert cf.chroms == SIZES
        np.testing.assert_array_equal(cf.values("chrI", 0, 100), cov["chrI"])
        np.testing.assert_array_equal(cf.values("chrII"), cov["chrII"])
        np.testing.assert_array_equal(cf.values("chrIII", 0, 30), np.zeros(30))
        # beyond the ends reads as zeros
        v = cf.values("chrII", -3, 55)
        assert v.shape == (58,) and v.dtype == np.float32
        np.testing.assert_array_equal(v[3:53], cov["chrII"])
        assert not v[:3].any() and not v[53:].any()
        with pytest.raises(YeastzoiError, match="unknown chromosome"):
            cf.values("chrX", 0, 5)
    with pytest.raises(YeastzoiError, match="shape"):
        write_bigwig(tmp_path / "x.bw", {"chrI": np.zeros(99)}, SIZES)
    assert not (tmp_path / "x.bw").exists()


def test_bigwig_nan_and_alias(tmp_path, caplog):
    path = tmp_path / "nan.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("I", 40), ("Mito", 10)])
    bw.addEntries(["I", "I"], [5, 10], ends=[8, 12], values=[float("nan"), 3.0])
    bw.close()
    with caplog.at_level(logging.WARNING, logger="yeastzoi.coverage.trackfiles"):
        cf = CoverageFile(path, reference_chroms={"chrI": 40, "chrII": 60, "chrIII": 20})
    assert cf.chroms == {"chrI": 40, "chrII": 60, "chrIII": 20}
    assert cf.missing == ["chrII", "chrIII"]
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "2 of 3 reference chromosomes are absent" in msgs and "chrII" in msgs
    v = cf.values("chrI", 0, 15)
    assert np.isnan(v[5:8]).all()
    np.testing.assert_array_equal(v[10:12], [3.0, 3.0])
    assert np.count_nonzero(np.nan_to_num(v)) == 2
    np.testing.assert_array_equal(cf.values("chrII", 0, 60), np.zeros(60))
    assert not cf.nan_only()
    cf.raise_if_nan_only()
    cf.close()
    with pytest.raises(YeastzoiError, match="none of the bigWig chromosome names"):
        CoverageFile(path, reference_chroms={"chr2L": 40})


def test_nan_only_track(tmp_path):
    path = tmp_path / "allnan.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chrI", 40)])
    bw.addEntries(["chrI", "chrI"], [0, 10], ends=[5, 40], values=[float("nan")] * 2)
    bw.close()
    with CoverageFile(path) as cf:
        assert cf.nan_only()
        with pytest.raises(YeastzoiError, match=r"allnan.bw: every value is NaN"):
            cf.raise_if_nan_only()
    w5 = tmp_path / "nan.w5"
    write_w5(w5, {"chrI": np.full(40, np.nan, np.float32)}, {"chrI": 40})
    with CoverageFile(w5) as cf:
        assert cf.nan_only()
    write_w5(w5, {"chrI": np.r_[np.full(39, np.nan), 0.0].astype(np.float32)}, {"chrI": 40})
    with CoverageFile(w5) as cf:
        assert not cf.nan_only()


def test_w5_round_trip(tmp_path):
    cov = {"chrI": np.linspace(0, 10, 100).astype(np.float32),
           "chrII": np.full(50, 70000.0, np.float32)}
    path = tmp_path / "t.w5"
    write_w5(path, cov, SIZES)
    with h5py.File(path, "r") as h5:
        assert sorted(h5) == sorted(SIZES)
        assert h5["chrI"].dtype == np.float16 and h5["chrI"].compression == "gzip"
        assert h5["chrIII"].shape == (30,) and not h5["chrIII"][:].any()
    with CoverageFile(path) as cf:
        v = cf.values("chrI", 10, 20)
        np.testing.assert_array_equal(v, cov["chrI"][10:20].astype(np.float16).astype(np.float32))
        assert (cf.values("chrII", 0, 50) == 65504).all()
        np.testing.assert_array_equal(cf.values("chrI", 95, 105)[5:], np.zeros(5))


def test_bed_reading(tmp_path):
    bed = tmp_path / "peaks.bed"
    bed.write_text("track name=x\nI\t2\t6\tpeak1\t0\t+\nI\t4\t8\tpeak2\nII\t0\t3\tp\n")
    with CoverageFile(bed, reference_chroms={"chrI": 12, "chrII": 5}) as cf:
        np.testing.assert_array_equal(cf.values("chrI", 0, 12),
                                      [0, 0, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0])
        np.testing.assert_array_equal(cf.values("chrII"), [1, 1, 1, 0, 0])
    bg = tmp_path / "cov.bedgraph"
    bg.write_text("chrI\t0\t3\t2.5\nchrI\t3\t4\t-1\n")
    with CoverageFile(bg) as cf:
        assert cf.chroms == {"chrI": 4}
        np.testing.assert_array_equal(cf.values("chrI", 0, 6), [2.5, 2.5, 2.5, -1, 0, 0])
    bad = tmp_path / "bad.bed"
    bad.write_text("chrI\t0\t3\nchrI\tx\t4\n")
    with pytest.raises(YeastzoiError, match=r"bad\.bed:2: BED start/end must be integers.*fix the line"):
        CoverageFile(bad)


def test_cli(bam, tmp_path):
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("".join(f"{c}\t{n}\n" for c, n in SIZES.items()))
    out = tmp_path / "o.bw"
    script = ROOT / "bin" / "yeastzoi_cov.py"
    r = subprocess.run([sys.executable, str(script), str(bam), str(out), "-c", str(sizes),
                        "--mode", "all", "--multimap", "weight", "--strand", "+"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "used" in r.stderr
    with CoverageFile(out) as cf:
        v = cf.values("chrI", 0, 100)
    exp = _dense([(p, 0.2) for p in range(10, 15)] + [(p, 0.2) for p in (30, 31, 32, 43, 44)]
                 + [(p, 0.25) for p in (70, 71)] + [(p, 0.5) for p in (2, 3)], 100)
    np.testing.assert_allclose(v, exp, atol=1e-7)
    # -f FASTA: names and lengths from the FASTA; BAM 'I' maps onto FASTA 'chrI'
    fa = tmp_path / "g.fa"
    fa.write_text(">chrI\n" + "A" * 100 + "\n>chrII\n" + "C" * 50 + "\n")
    w5 = tmp_path / "o.w5"
    r = subprocess.run([sys.executable, str(script), str(bam), str(w5), "-f", str(fa), "-q",
                        "--shift", "1", "--keep-dups"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(w5, "r") as h5:
        assert sorted(h5) == ["chrI", "chrII"]
        np.testing.assert_array_equal(
            h5["chrI"][:], _dense([(11, 1), (22, 1), (31, 1), (54, 1), (61, 1), (3, 1)], 100))
    bad = tmp_path / "bad.bam"
    bad.write_text("not a bam\n")
    for b, msg in ((tmp_path / "missing.bam", "no such BAM file"), (bad, "cannot be read as BAM")):
        r = subprocess.run([sys.executable, str(script), str(b), str(tmp_path / "x.w5"),
                            "-c", str(sizes)], capture_output=True, text=True)
        assert r.returncode == 2
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert msg in r.stderr
    assert not (tmp_path / "x.w5").exists()
