"""Library types, fragments and the library-type check of yeastzoi.coverage (bam, library).

Real BAMs with known fragments are written here (pysam): paired-end and single-end
stranded RNA-seq libraries (dUTP = fr-firststrand, fr-secondstrand, unstranded) from two
spliced genes on opposite strands, and a paired-end MNase library. Truth tracks are
computed from the fragments as generated (not from the BAM); deeptools' bamCoverage on
the same BAM is the independent cross-check (skipped only when deeptools is missing).
"""
import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

from yeastzoi import YeastzoiError, cli
from yeastzoi.coverage import CoverageFile, bam_to_coverage, classify_sense_fraction, infer_library

ROOT = Path(__file__).resolve().parents[1]
N = 3000                        # chromosome length (bp); BAM name "I", reference name "chrI"
SIZES = {"chrI": N}
R = 40                          # read length (aligned bases per mate)
# gene strand, exons (0-based half-open), in genome order
GENES = (("+", ((100, 400), (600, 1100))), ("-", ((1500, 1900), (2100, 2600))))
EXCLUDE = 0x4 | 0x100 | 0x200 | 0x400 | 0x800          # 3844: what bam_to_coverage always skips
HAS_DEEPTOOLS = importlib.util.find_spec("deeptools") is not None
needs_deeptools = pytest.mark.skipif(not HAS_DEEPTOOLS, reason="deeptools is not installed "
                                     "(pip install deeptools) — bamCoverage cross-check skipped")


# ----------------------------------------------------------------------------- fragments
def _blocks(exons, u0, u1):
    """Genomic blocks of spliced coordinates [u0, u1) (exons concatenated in genome order)."""
    out, base = [], 0
    for s, e in exons:
        a, b = max(u0, base), min(u1, base + e - s)
        if a < b:
            out.append((s + a - base, s + b - base))
        base += e - s
    return out


def _fragments(seed=0, n_per_gene=30):
    """Known fragments: (gene strand, left mate blocks, right mate blocks, gap op), mates in
    FR orientation (left forward, right reverse); lengths 45-160 bp so some mates overlap."""
    rng = np.random.default_rng(seed)
    frags = []
    for strand, exons in GENES:
        tx = sum(e - s for s, e in exons)
        for _ in range(n_per_gene):
            L = int(rng.integers(45, 161))
            u0 = int(rng.integers(0, tx - L + 1))
            frags.append((strand, _blocks(exons, u0, u0 + R), _blocks(exons, u0 + L - R, u0 + L), "N"))
    # intergenic pairs with a 3 bp deletion in the left mate (D is never covered)
    frags.append(("+", [(1200, 1220), (1223, 1243)], [(1290, 1330)], "D"))
    frags.append(("-", [(2700, 2740)], [(2760, 2780), (2783, 2803)], "D"))
    return frags


def _cigar(blocks, op):
    parts = [f"{blocks[0][1] - blocks[0][0]}M"]
    for (_, e0), (s1, e1) in zip(blocks, blocks[1:]):
        parts.append(f"{s1 - e0}{op}{e1 - s1}M")
    return "".join(parts)


def _read1_is_left(strand, library, i):
    """Read 1's mate: firststrand → read 1 antisense; secondstrand → sense; unstranded:
    alternating (fragment i), so exactly half of each gene's fragments read sense."""
    if library == "fr-firststrand":
        return strand == "-"          # left mate is forward: antisense to a - gene
    if library == "fr-secondstrand":
        return strand == "+"
    return i % 2 == 0


def _records(frags, library, paired=True):
    """BAM records (dicts) of the fragments and the truth per fragment (strand, read-1 flag
    per mate). Adds records that must be skipped (secondary, duplicate, QC-fail,
    supplementary, unmapped)."""
    recs, truth = [], []
    for i, (strand, left, right, op) in enumerate(frags):
        r1_left = _read1_is_left(strand, library, i)
        tlen = right[-1][1] - left[0][0]
        mates = [(left, False, r1_left), (right, True, not r1_left)]
        truth.append((strand, mates))
        for blocks, rev, is_r1 in mates:
            if not paired and not is_r1:
                continue
            if paired:
                flag = 0x1 | 0x2 | (0x40 if is_r1 else 0x80) | (0x10 if rev else 0x20)
                other = right if blocks is left else left
                pair = dict(mpos=other[0][0], tlen=-tlen if rev else tlen)
            else:
                flag, pair = (0x10 if rev else 0), {}
            recs.append(dict(name=f"f{i}", flag=flag, pos=blocks[0][0], cigar=_cigar(blocks, op), **pair))
    # records every mode must skip (same positions as real reads: they would change counts)
    s, lb = frags[0][1][0][0], frags[0][1]
    for extra in (0x100, 0x400, 0x200, 0x800):
        recs.append(dict(name=f"x{extra}", flag=extra | (0x41 if paired else 0), pos=s,
                         cigar=_cigar(lb, "N"), **(dict(mpos=s, tlen=0) if paired else {})))
    recs.append(dict(name="unmapped", flag=0x4, pos=-1, cigar=None))
    return recs, truth


def _write_bam(path, recs):
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "I", "LN": N}]}
    raw = path.with_suffix(".raw.bam")
    with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
        for r in recs:
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.flag = r["name"], r["flag"]
            if r["cigar"] is None:
                a.reference_id, a.reference_start, a.query_sequence = -1, -1, "A" * R
            else:
                a.reference_id, a.reference_start, a.cigarstring = 0, r["pos"], r["cigar"]
                a.query_sequence = "A" * sum(n for op, n in a.cigartuples if op in (0, 1, 4, 7, 8))
                a.mapping_quality = 60
            if "mpos" in r:
                a.next_reference_id, a.next_reference_start, a.template_length = 0, r["mpos"], r["tlen"]
            out.write(a)
    pysam.sort("-o", str(path), str(raw))
    pysam.index(str(path))
    raw.unlink()
    return path


def _truth(truth, mode, paired=True, shift=0):
    """Truth tracks {'+': (N,), '-': (N,)} float64 from the fragments as generated."""
    out = {"+": np.zeros(N), "-": np.zeros(N)}
    for strand, mates in truth:
        t = out[strand]
        for blocks, rev, is_r1 in mates:
            if not paired and not is_r1:
                continue
            nb = sum(e - s for s, e in blocks)
            if mode == "depth":
                for s, e in blocks:
                    t[s:e] += 1
            elif mode == "all":
                for s, e in blocks:
                    t[s:e] += (0.5 if paired else 1.0) / nb
            elif mode == "5p" and is_r1:
                t[blocks[-1][1] - 1 - shift if rev else blocks[0][0] + shift] += 1
    return out


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """BAMs and truth: firststrand / secondstrand / unstranded paired, firststrand single-end."""
    d = tmp_path_factory.mktemp("lib")
    frags = _fragments()
    out = {}
    for name, library, paired in (("fs_pe", "fr-firststrand", True), ("ss_pe", "fr-secondstrand", True),
                                  ("un_pe", "unstranded", True), ("fs_se", "fr-firststrand", False),
                                  ("ss_se", "fr-secondstrand", False)):
        recs, truth = _records(frags, library, paired)
        out[name] = (_write_bam(d / f"{name}.bam", recs), truth, paired)
    gtf = d / "genes.gtf"
    lines = []
    for k, (strand, exons) in enumerate(GENES):
        gid = f'gene_id "G{k}"; transcript_id "T{k}";'
        lines.append(f"chrI\tt\tgene\t{exons[0][0] + 1}\t{exons[-1][1]}\t.\t{strand}\t.\t{gid}")
        lines += [f"chrI\tt\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{gid}" for s, e in exons]
    gtf.write_text("\n".join(lines) + "\n")
    out["gtf"] = gtf
    return out


def _deeptools(bam, out, *extra):
    """bamCoverage per-base raw counts of chromosome I → float64 (N,)."""
    exe = Path(sys.executable).parent / "bamCoverage"
    r = subprocess.run([str(exe), "-b", str(bam), "-o", str(out), "--binSize", "1",
                        "--normalizeUsing", "None", "-p", "1", "--samFlagExclude", str(EXCLUDE),
                        *map(str, extra)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    with pyBigWig.open(str(out)) as bw:
        return np.nan_to_num(np.asarray(bw.values("I", 0, N), dtype=np.float64))


def _cov(bam, **kw):
    return bam_to_coverage(bam, SIZES, **kw)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", ["fs_pe", "ss_pe", "fs_se", "ss_se"])
def test_stranded_tracks_match_truth(libs, name):
    bam, truth, paired = libs[name]
    # the fragments include mates that overlap (depth counts both there) and spliced mates
    assert sum(m[0][0][-1][1] > m[1][0][0][0] for _, m in truth) >= 5
    assert sum(len(b) > 1 for _, m in truth for b, _, _ in m) >= 5
    library = "fr-firststrand" if name.startswith("fs") else "fr-secondstrand"
    n_frag = len(truth)
    for mode in ("depth", "all", "5p"):
        shift = 3 if mode == "5p" else 0
        exp = _truth(truth, mode, paired, shift=shift)
        for strand in "+-":
            res = _cov(bam, mode=mode, library=library, strand=strand, shift=shift)
            np.testing.assert_allclose(res.coverage["chrI"], exp[strand], rtol=0, atol=1e-6,
                                       err_msg=f"{name} {mode} {strand}")
            # 4 flagged records + 1 unmapped are skipped; the rest split by fragment strand
            c = res.counts
            assert (c["secondary"], c["duplicate"], c["qc_fail"], c["supplementary"], c["unmapped"]) == (1,) * 5
        both = _cov(bam, mode=mode, library=library, shift=shift)
        np.testing.assert_allclose(both.coverage["chrI"], exp["+"] + exp["-"], atol=1e-6)
        if mode in ("all", "5p"):  # one unit of mass per fragment, whatever the library
            assert both.total == pytest.approx(n_frag, abs=1e-4)
            assert both.counts["used"] == (n_frag if mode == "5p" else len(truth) * (2 if paired else 1))
    assert (both.counts["paired"] > 0) == paired


def test_legacy_strand_splits_fragments_and_warns(libs, caplog):
    """The old per-alignment strand: each pair lands half on each track, with a WARNING."""
    bam, truth, _ = libs["fs_pe"]
    with caplog.at_level(logging.WARNING, logger="yeastzoi.coverage"):
        plus = _cov(bam, mode="5p", strand="+")
    assert "split between the + and - tracks" in caplog.text
    assert plus.counts["used"] == len(truth)      # one mate of every fragment is forward
    assert plus.counts["other_strand"] == len(truth)
    with caplog.at_level(logging.WARNING, logger="yeastzoi.coverage"):
        caplog.clear()
        legacy = _cov(bam, mode="all")
    assert "2 per fragment" in caplog.text and legacy.total == pytest.approx(2 * len(truth), abs=1e-4)
    lib = _cov(bam, mode="5p", library="fr-firststrand", strand="+")
    n_plus = sum(s == "+" for s, _ in truth)
    assert lib.counts["used"] == lib.counts["other_mate"] == n_plus == 31   # read 1 / read 2 of + fragments
    assert lib.counts["other_strand"] == 2 * (len(truth) - n_plus)          # both mates of - fragments


@needs_deeptools
@pytest.mark.parametrize("name", ["fs_pe", "ss_pe", "fs_se", "un_pe"])
def test_deeptools_cross_check(libs, tmp_path, name):
    """Same BAM, independent tool: bamCoverage --filterRNAstrand forward keeps the dUTP
    fragments of + genes (= fr-firststrand '+'), so for fr-secondstrand '+' is its 'reverse'.
    Depth (--binSize 1, no normalisation) per strand, then read 1's 5' ends (--Offset)."""
    bam, truth, paired = libs[name]
    if name == "un_pe":
        dt = _deeptools(bam, tmp_path / "u.bw")
        exp = _truth(truth, "depth")
        np.testing.assert_array_equal(dt, exp["+"] + exp["-"])
        np.testing.assert_array_equal(_cov(bam, mode="depth", library="unstranded").coverage["chrI"], dt)
        return
    library = "fr-firststrand" if name.startswith("fs") else "fr-secondstrand"
    exp = _truth(truth, "depth", paired)
    for strand, dt_name in (("+", "forward"), ("-", "reverse")):
        if library == "fr-secondstrand":
            dt_name = {"forward": "reverse", "reverse": "forward"}[dt_name]
        dt = _deeptools(bam, tmp_path / f"{dt_name}.bw", "--filterRNAstrand", dt_name)
        ours = _cov(bam, mode="depth", library=library, strand=strand).coverage["chrI"]
        np.testing.assert_array_equal(ours, dt, err_msg=f"{name} {strand}")
        np.testing.assert_array_equal(dt, exp[strand])
    # 5' ends: read 1 only (--samFlagInclude 64 for pairs); --Offset 1 is the 5' base
    inc = ("--samFlagInclude", 64) if paired else ()
    dt = _deeptools(bam, tmp_path / "5p.bw", "--Offset", 1, *inc)
    ours = _cov(bam, mode="5p", library=library).coverage["chrI"]
    np.testing.assert_array_equal(ours, dt)
    assert dt.sum() == len(truth)
    if name != "fs_pe":
        return
    # shift 3 = --Offset 4, except that our shift counts genome bp: a read 1 whose 5'
    # block is shorter than 4 bp lands in the intron, where --Offset walks on to the
    # next block (the read's own bases)
    dt = _deeptools(bam, tmp_path / "5p4.bw", "--Offset", 4, *inc)
    ours = _cov(bam, mode="5p", library=library, shift=3).coverage["chrI"]
    short = [(b[-1][1] - 4 if rev else b[0][0] + 3) for _, m in truth for b, rev, r1 in m
             if r1 and (b[-1][1] - b[-1][0] if rev else b[0][1] - b[0][0]) < 4]
    introns = [p for _, ex in GENES for p in range(ex[0][1], ex[1][0])]
    diff = np.flatnonzero(ours != dt)
    assert sorted(p for p in diff if ours[p] > dt[p]) == sorted(short)
    assert set(short) <= set(introns) and len(diff) == 2 * len(short) > 0


def _mnase_bam(path, paired=True):
    """Proper pairs with fragment lengths of both parities, a non-proper pair and a pair
    with TLEN 0; returns (bam, truth centres of the proper pairs as (left, length))."""
    frags = [(100, 130), (400, 131), (700, 146), (1000, 147), (1300, 200), (1600, 129),
             (1900, 201), (2200, 160), (2203, 160), (2500, 60)]
    recs = []
    for i, (s, L) in enumerate(frags):
        e = s + L
        if paired:
            recs.append(dict(name=f"m{i}", flag=0x1 | 0x2 | 0x20 | 0x40, pos=s, cigar=f"{R}M", mpos=e - R, tlen=L))
            recs.append(dict(name=f"m{i}", flag=0x1 | 0x2 | 0x10 | 0x80, pos=e - R, cigar=f"{R}M", mpos=s, tlen=-L))
        else:
            recs.append(dict(name=f"m{i}", flag=0, pos=s, cigar=f"{R}M"))
    if paired:
        recs.append(dict(name="np", flag=0x1 | 0x20 | 0x40, pos=2800, cigar=f"{R}M", mpos=2850, tlen=90))
        recs.append(dict(name="np", flag=0x1 | 0x10 | 0x80, pos=2850, cigar=f"{R}M", mpos=2800, tlen=-90))
        recs.append(dict(name="z", flag=0x1 | 0x40 | 0x8, pos=2900, cigar=f"{R}M", mpos=2900, tlen=0))
    return _write_bam(path, recs), frags


def test_center_mode_truth_and_fragment_bounds(tmp_path):
    bam, frags = _mnase_bam(tmp_path / "mnase.bam")
    res = _cov(bam, mode="center")
    exp = np.zeros(N)
    for s, L in frags:
        exp[s + L // 2] += 1         # left + |TLEN| // 2
    np.testing.assert_array_equal(res.coverage["chrI"], exp)
    c = res.counts
    assert c["used"] == len(frags) and c["other_mate"] == len(frags) and c["improper_pair"] == 3
    # mode all: 0.5 per mate of a mapped pair; a mate whose partner is unmapped (0x8) carries 1
    a = _cov(bam, mode="all", library="unstranded")
    assert a.total == pytest.approx(len(frags) + 1 + 1, abs=1e-5)   # + the non-proper pair + 'z'
    np.testing.assert_allclose(a.coverage["chrI"][2900:2900 + R], 1 / R, rtol=1e-6)
    # inclusive bounds, as bamCoverage's --minFragmentLength/--maxFragmentLength
    res = _cov(bam, mode="center", min_fragment=130, max_fragment=200)
    kept = [(s, L) for s, L in frags if 130 <= L <= 200]
    assert res.counts["used"] == len(kept) == 7
    assert res.counts["fragment_length"] == 2 * (len(frags) - len(kept))
    assert sorted(np.flatnonzero(res.coverage["chrI"])) == sorted(s + L // 2 for s, L in kept)
    # a fragment length bound in mode depth keeps both mates of the fragments in range
    d = _cov(bam, mode="depth", min_fragment=130, max_fragment=200)
    assert d.total == pytest.approx(2 * R * len(kept))


@needs_deeptools
def test_center_mode_vs_deeptools_mnase(tmp_path):
    """bamCoverage --MNase marks [c-1, c+1) per fragment of even length L (c = left + L/2):
    its track is ours + ours shifted left by one base on the even-length fragments."""
    bam, frags = _mnase_bam(tmp_path / "m.bam")
    even = [(s, L) for s, L in frags if L % 2 == 0]
    recs = []
    for i, (s, L) in enumerate(even):
        recs.append(dict(name=f"e{i}", flag=0x63, pos=s, cigar=f"{R}M", mpos=s + L - R, tlen=L))
        recs.append(dict(name=f"e{i}", flag=0x93, pos=s + L - R, cigar=f"{R}M", mpos=s, tlen=-L))
    ebam = _write_bam(tmp_path / "even.bam", recs)
    ours = _cov(ebam, mode="center", min_fragment=1, max_fragment=1000).coverage["chrI"].astype(np.float64)
    dt = _deeptools(ebam, tmp_path / "mn.bw", "--MNase", "--minFragmentLength", 1, "--maxFragmentLength", 1000)
    np.testing.assert_array_equal(dt, ours + np.r_[ours[1:], 0])
    assert ours.sum() == len(even) == 6
    # default MNase bounds 130-200 give the same fragments as ours with those bounds
    ours = _cov(bam, mode="center", min_fragment=130, max_fragment=200).coverage["chrI"]
    assert sorted(np.flatnonzero(ours)) == [s + L // 2 for s, L in sorted(frags) if 130 <= L <= 200]


def test_paired_only_options_on_single_end(tmp_path):
    bam, _ = _mnase_bam(tmp_path / "se.bam", paired=False)
    with pytest.raises(YeastzoiError, match=r"se\.bam: no read pairs .* mode 'center' needs paired-end"):
        _cov(bam, mode="center")
    with pytest.raises(YeastzoiError, match="fragment length bound needs paired-end"):
        _cov(bam, mode="5p", min_fragment=100)
    with pytest.raises(YeastzoiError, match="unstranded library has no transcript strand"):
        _cov(bam, mode="all", library="unstranded", strand="+")
    with pytest.raises(YeastzoiError, match="not one of unstranded"):
        _cov(bam, library="dUTP")
    with pytest.raises(YeastzoiError, match="shift only applies to mode '5p'"):
        _cov(bam, mode="depth", shift=2)
    with pytest.raises(YeastzoiError, match="0 <= min <= max"):
        _cov(bam, mode="5p", min_fragment=300, max_fragment=200)


def test_infer_library(libs):
    expect = {"fs_pe": "fr-firststrand", "ss_pe": "fr-secondstrand", "un_pe": "unstranded",
              "fs_se": "fr-firststrand", "ss_se": "fr-secondstrand"}
    for name, lib in expect.items():
        chk = infer_library(libs[name][0], libs["gtf"])
        assert chk.library == lib, chk.describe()
        assert (chk.paired > 0) == libs[name][2]
    chk = infer_library(libs["fs_pe"][0], libs["gtf"])
    # 60 genic fragments x 2 mates (the 2 intergenic pairs and skipped records don't count)
    assert chk.reads == 120 and chk.sense == 0 and chk.sense_fraction == 0.0
    assert not chk.agrees("fr-secondstrand") and chk.agrees("fr-firststrand")
    assert "sense fraction 0.000 over 120 paired-end records" in chk.describe()
    un = infer_library(libs["un_pe"][0], libs["gtf"])
    assert un.sense_fraction == 0.5 and un.reads == 120
    assert infer_library(libs["fs_pe"][0], libs["gtf"], min_reads=121).library is None
    assert [classify_sense_fraction(f) for f in (0.04, 0.2, 0.5, 0.7, 0.8, 0.97, float("nan"))] == \
        ["fr-firststrand", "fr-firststrand", "unstranded", None, "fr-secondstrand", "fr-secondstrand", None]


def _run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_cov.py"), *map(str, args)],
                          capture_output=True, text=True)


def _cli_main():
    spec = importlib.util.spec_from_file_location("yeastzoi_cov_under_test", ROOT / "bin" / "yeastzoi_cov.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_cli_library_auto_and_errors(libs, tmp_path, capsys, caplog):
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text(f"chrI\t{N}\n")
    bam, truth, _ = libs["fs_pe"]
    out = tmp_path / "plus.bw"
    r = _run_cli(bam, out, "-c", sizes, "--mode", "depth", "--library", "auto", "--gtf", libs["gtf"],
                 "--strand", "+")
    assert r.returncode == 0, r.stderr
    assert "→ fr-firststrand" in r.stderr
    with CoverageFile(out) as cf:
        np.testing.assert_array_equal(cf.values("chrI", 0, N), _truth(truth, "depth")["+"])
    main = _cli_main()
    # a named type the data contradict: a warning, the named type is used
    with caplog.at_level(logging.WARNING):
        assert cli.call(main, [str(bam), str(tmp_path / "x.bw"), "-c", str(sizes), "-q", "--mode", "5p",
                               "--library", "fr-secondstrand", "--gtf", str(libs["gtf"])]) == 0
    assert "--library fr-secondstrand, but the data look fr-firststrand" in caplog.text
    with CoverageFile(tmp_path / "x.bw") as cf:   # secondstrand: read 1 is still the 5' end
        assert cf.values("chrI", 0, N).sum() == len(truth)
    se_bam, _ = _mnase_bam(tmp_path / "se.bam", paired=False)
    for b, extra, msg in ((se_bam, ("--mode", "center"), "mode 'center' needs paired-end reads"),
                          (se_bam, ("--library", "auto"), "--library auto needs --gtf"),
                          (libs["un_pe"][0], ("--library", "auto", "--gtf", libs["gtf"], "--strand", "-"),
                           "--strand -: the library looks unstranded")):
        capsys.readouterr()
        assert cli.call(main, [str(b), str(tmp_path / "e.bw"), "-c", str(sizes), "-q", *map(str, extra)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        assert msg in err
    assert not (tmp_path / "e.bw").exists()
