"""Strain genomes from a VCF (yeastzoi.genome.strain_vcf) and the reference ↔ strain map
(yeastzoi.genome.coordmap)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome import (CHAIN_NAME, CoordMap, apply_vcf, read_gtf, strain_map, write_genome_dir)
from yeastzoi.simulate.strains import simulate_panel

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- the map
def test_coordmap_hand_made():
    # insert 3 bp before reference base 10; delete reference [20, 24); 40 bp chromosome
    m = CoordMap.from_edits({"c": 40}, {"c": [(10, 0, 3), (20, 4, 0)]})
    x = [0, 9, 10, 19, 20, 23, 24, 30, 39]
    assert m.to_strain("c", x, "next").tolist() == [0, 9, 13, 22, 23, 23, 23, 29, 38]
    assert m.to_strain("c", x).tolist() == [0, 9, 13, 22, -1, -1, 23, 29, 38]
    assert m.to_strain("c", [20, 23], "prev").tolist() == [22, 22]
    assert m.to_reference("c", [9, 10, 11, 12, 13, 22, 23]).tolist() == [9, -1, -1, -1, 10, 19, 24]
    assert m.inserted("c") == [(10, 13, 10)] and m.deleted("c") == [(20, 24)]
    assert m.blocks["c"].strain_size == 39
    # intervals: an insertion strictly inside is included, at an edge excluded; deleted edges trimmed;
    # an interval deleted entirely keeps 1 bp at the deletion point
    df = pd.DataFrame({"chrom": "c", "start": [5, 10, 0, 18, 21], "end": [15, 12, 10, 26, 23], "name": list("abcde")})
    lifted, gone = m.lift_intervals(df)
    assert lifted[["start", "end"]].values.tolist() == [[5, 18], [13, 15], [0, 10], [21, 25], [23, 24]]
    assert gone == 1 and lifted["name"].tolist() == list("abcde")
    # VCF-style anchored edits give the same map: REF=A ALT=AXYZ at 9; REF=ABCDE ALT=A at 19
    v = CoordMap.from_edits({"c": 40}, {"c": [(9, 1, 4), (19, 5, 1), (30, 2, 2)]})
    for c in ("ref_start", "strain_start", "size"):
        assert np.array_equal(getattr(v.blocks["c"], c), getattr(m.blocks["c"], c))


def test_coordmap_round_trip_and_chain_file(tmp_path):
    rng = np.random.default_rng(5)
    n = 50_000
    pos = np.sort(rng.choice(np.arange(1, n - 20), 300, replace=False))
    edits, last = [], -1
    for p in pos.tolist():
        if p <= last:
            continue
        kind = rng.integers(3)
        e = (p, 1, 1) if kind == 0 else (p, 1, 1 + int(rng.integers(1, 9))) if kind == 1 else (p, 1 + int(rng.integers(1, 9)), 1)
        edits.append(e)
        last = p + e[1]
    m = CoordMap.from_edits({"c": n, "d": 1000}, {"c": edits})
    x = np.arange(n)
    q = m.to_strain("c", x)
    deleted = np.zeros(n, bool)
    for s, rl, al in edits:
        if rl > al:
            deleted[s + al:s + rl] = True
    assert np.array_equal(q < 0, deleted)
    assert np.array_equal(m.to_reference("c", q[q >= 0]), x[q >= 0])          # every aligned base round-trips
    assert np.all(np.diff(q[q >= 0]) > 0)
    ins = sum(al - rl for s, rl, al in edits if al > rl)
    assert m.blocks["c"].strain_size == n + sum(al - rl for s, rl, al in edits)
    assert (m.to_reference("c", np.arange(m.blocks["c"].strain_size)) < 0).sum() == ins
    assert m.is_identity("d") and not m.is_identity("c")
    m.write_chain(tmp_path / "x.chain")
    back = CoordMap.read_chain(tmp_path / "x.chain")
    for c in ("c", "d"):
        for k in ("ref_start", "strain_start", "size"):
            assert np.array_equal(getattr(back.blocks[c], k), getattr(m.blocks[c], k))
        assert back.blocks[c].strain_size == m.blocks[c].strain_size
    first = (tmp_path / "x.chain").read_text().splitlines()[0].split()
    assert first[:5] == ["chain", str(int(m.blocks["c"].size.sum())), "c", str(n), "+"]
    (tmp_path / "bad.chain").write_text("chain 1 c 10 - 0 10 c 10 + 0 10 1\n10\n")
    with pytest.raises(YeastzoiError, match="bad.chain line 1"):
        CoordMap.read_chain(tmp_path / "bad.chain")


# ----------------------------------------------------------------------------- apply-vcf
REF = {"chrI": "ACGTACGTAC" * 10, "chrII": "GGGGCCCCAA" * 5}   # 100 bp, 50 bp


@pytest.fixture(scope="module")
def ref_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref") / "ref"
    gtf = pd.DataFrame({"chrom": ["chrI"] * 3, "start": [20, 20, 20], "end": [60, 60, 60], "strand": "+",
                        "feature": ["gene", "transcript", "exon"], "gene_id": "G1", "gene_name": "G1",
                        "gene_biotype": "protein_coding", "transcript_id": [None, "T1", "T1"], "frame": "."})
    write_genome_dir(d, list(REF.items()), {"name": "toyref"}, gtf=gtf,
                     repeats=[("chrI", 70, 80, "rep", ".", "+")], gaps=[("chrII", 10, 12, "CEN2")])
    return d


def _vcf(path, rows, samples=("s1",), fmt="GT", header_extra=()):
    head = ["##fileformat=VCFv4.2", *header_extra]
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO" + (f"\tFORMAT\t{chr(9).join(samples)}" if samples else "")
    lines = [*head, cols]
    for r in rows:
        lines.append("\t".join(str(x) for x in r[:5]) + "\t.\tPASS\t." + (f"\t{fmt}\t" + "\t".join(r[5:]) if samples else ""))
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def _seq(d, chrom):
    from yeastzoi.genome import Genome

    with Genome(Path(d) / "genome.fa") as g:
        return g.fetch(chrom, 0, g.chroms[chrom])


def test_apply_vcf_genotypes_hets_missing_overlaps(ref_dir, tmp_path):
    s = REF["chrI"]
    rows = [
        ("chrI", 3, ".", "G", "T,C", "2/2", "1/1", "0/0"),        # multi-allelic: GT picks the allele
        ("I", 11, ".", "A", "AGG", "1/1", "0/1", "1/1"),          # alias; GG inserted after base 10 (0-based); het in s2
        ("chrI", 31, ".", "ACGTA", "A", "1/1", "./.", "0|0"),     # bases 31..34 (0-based) deleted; missing in s2
        ("chrI", 33, ".", "G", "C", "1/1", "0/0", "0/0"),         # inside s1's deletion: overlapping, skipped
        ("chrI", 50, ".", "C", "<DEL>", "1/1", "0/0", "0/0"),     # symbolic: skipped, counted
        ("chrII", 2, ".", "GG", "TT", "1", "0", "1"),             # MNP, haploid GT
    ]
    vcf = _vcf(tmp_path / "v.vcf", rows, samples=("s1", "s2", "s3"))
    res = apply_vcf(ref_dir, vcf, tmp_path / "out", all_samples=True)
    assert set(res) == {"s1", "s2", "s3"}
    s1 = s[:2] + "C" + s[3:11] + "GG" + s[11:31] + s[35:]
    assert _seq(tmp_path / "out" / "s1", "chrI") == s1
    assert _seq(tmp_path / "out" / "s1", "chrII") == "GTT" + REF["chrII"][3:]
    c1 = res["s1"]["applied"]
    assert (c1["applied"], c1["snvs"], c1["mnps"], c1["insertions"], c1["deletions"]) == (4, 1, 1, 1, 1)
    assert (c1["overlapping"], c1["symbolic"]) == (1, 1)
    assert _seq(tmp_path / "out" / "s2", "chrI") == s[:2] + "T" + s[3:]          # het kept reference, missing ignored
    c2 = res["s2"]["applied"]
    assert (c2["heterozygous"], c2["missing"], c2["reference_calls"], c2["applied"]) == (1, 1, 3, 1)
    # the annotation is lifted through s1's indels: gene [20, 60) → [22, 58); repeats [70, 80) → [68, 78)
    gtf = read_gtf(tmp_path / "out" / "s1" / "genes.gtf")
    assert gtf[gtf["feature"] == "gene"][["start", "end"]].values.tolist() == [[22, 58]]
    assert (tmp_path / "out" / "s1" / "repeats.bed").read_text().split("\t")[1:3] == ["68", "78"]
    man = json.loads((tmp_path / "out" / "s1" / "genome.json").read_text())
    assert man["strain_of"] == "toyref" and man["sample"] == "s1" and man["coordinate_map"] == CHAIN_NAME
    m = strain_map(tmp_path / "out" / "s1")
    assert m.to_strain("chrI", [10, 11, 29, 31, 35]).tolist() == [10, 13, 31, -1, 33]
    # --het alt applies the ALT of the het call
    res = apply_vcf(ref_dir, vcf, tmp_path / "alt", samples=["s2"], het="alt")
    assert _seq(tmp_path / "alt" / "s2", "chrI") == s[:2] + "T" + s[3:11] + "GG" + s[11:]
    with pytest.raises(YeastzoiError, match=r"line 4: sample s2 is heterozygous \(0/1\)"):
        apply_vcf(ref_dir, vcf, tmp_path / "err", samples=["s2"], het="error")
    assert not (tmp_path / "err" / "s2").exists()


def test_apply_vcf_sites_only_and_errors(ref_dir, tmp_path):
    s = REF["chrI"]
    vcf = _vcf(tmp_path / "sites.vcf", [("chrI", 1, ".", "A", "T"), ("chrI", 5, ".", "A", "AC")], samples=())
    res = apply_vcf(ref_dir, vcf, tmp_path / "o")
    assert list(res) == ["sites"]
    assert _seq(tmp_path / "o" / "sites", "chrI") == "T" + s[1:5] + "C" + s[5:]
    multi = _vcf(tmp_path / "multi.vcf", [("chrI", 1, ".", "A", "T,G")], samples=())
    with pytest.raises(YeastzoiError, match="multi.vcf line 3: multi-allelic record without genotypes"):
        apply_vcf(ref_dir, multi, tmp_path / "o2")
    bad = _vcf(tmp_path / "bad.vcf", [("chrI", 1, ".", "A", "T", "1/1"), ("chrI", 2, ".", "G", "T", "1/1")])
    with pytest.raises(YeastzoiError, match=r"bad.vcf line 4: REF G disagrees with the reference at chrI:2 \(C\)"):
        apply_vcf(ref_dir, bad, tmp_path / "o3", samples=["s1"])
    res = apply_vcf(ref_dir, bad, tmp_path / "o4", samples=["s1"], skip_mismatch=True)
    assert res["s1"]["applied"]["ref_mismatch"] == 1 and res["s1"]["applied"]["applied"] == 1
    with pytest.raises(YeastzoiError, match="sample.*nope.*not in the VCF"):
        apply_vcf(ref_dir, bad, tmp_path / "o5", samples=["nope"])
    other = _vcf(tmp_path / "asm.vcf", [("chrI", 1, ".", "A", "T", "1/1")],
                 header_extra=["##contig=<ID=chrI,length=230218>"])
    with pytest.raises(YeastzoiError, match="contig chrI is 230,218 bp but chrI of the reference .* is 100 bp"):
        apply_vcf(ref_dir, other, tmp_path / "o6", samples=["s1"])
    chrom = _vcf(tmp_path / "chrom.vcf", [("chr1x", 1, ".", "A", "T", "1/1")])
    with pytest.raises(YeastzoiError, match="chromosome 'chr1x' is not in the reference"):
        apply_vcf(ref_dir, chrom, tmp_path / "o7", samples=["s1"])
    two = _vcf(tmp_path / "two.vcf", [("chrI", 1, ".", "A", "T", "1/1", "0/0")], samples=("a", "b"))
    with pytest.raises(YeastzoiError, match="2 samples .*--sample NAME or .*--all-samples"):
        apply_vcf(ref_dir, two, tmp_path / "o8")
    nogt = _vcf(tmp_path / "nogt.vcf", [("chrI", 1, ".", "A", "T", "30", "40")], samples=("a", "b"), fmt="DP")
    with pytest.raises(YeastzoiError, match="several samples but no GT"):
        apply_vcf(ref_dir, nogt, tmp_path / "o9", samples=["a", "b"])


def test_apply_vcf_cli_one_line_errors(ref_dir, tmp_path):
    bad = _vcf(tmp_path / "bad.vcf", [("chrI", 2, ".", "G", "T", "1/1")])
    cmd = [sys.executable, str(ROOT / "bin" / "yeastzoi_genome.py"), "apply-vcf", str(ref_dir), str(bad),
           "-o", str(tmp_path / "o")]
    p = subprocess.run(cmd + ["--sample", "s1"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith("error: ") and "REF G" in p.stderr
    assert not (tmp_path / "o").exists()
    p = subprocess.run(cmd + ["--sample", "zz"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "zz" in p.stderr
    p = subprocess.run(cmd + ["--sample", "s1", "--skip-mismatch"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "1 strain genome(s)" in p.stdout and (tmp_path / "o" / "s1" / CHAIN_NAME).is_file()


def test_simulated_panel_rebuilt_from_its_vcf(r64_dir, tmp_path):
    """Acceptance: the panel's mutations as a multi-sample VCF rebuild every strain byte for byte."""
    out = tmp_path / "panel"
    simulate_panel(r64_dir, out, n=2, divergence=0.01, seed=4, chroms=["chrI", "chrVI"])
    res = apply_vcf(out / "parent_subset", out / "strains.vcf.gz", tmp_path / "rebuilt", all_samples=True)
    assert list(res) == ["sim_strain_01", "sim_strain_02"]
    for name in res:
        assert (tmp_path / "rebuilt" / name / "genome.fa").read_bytes() == (out / name / "genome.fa").read_bytes()
        a, b = read_gtf(tmp_path / "rebuilt" / name / "genes.gtf"), read_gtf(out / name / "genes.gtf")
        assert len(a) > 500 and a[["chrom", "start", "end", "feature", "gene_id"]].equals(
            b[["chrom", "start", "end", "feature", "gene_id"]])
        assert (tmp_path / "rebuilt" / name / CHAIN_NAME).read_text() == (out / name / CHAIN_NAME).read_text()
        c = res[name]["applied"]
        assert c["overlapping"] == 0 and c["insertions"] > 100 and c["deletions"] > 100 and c["snvs"] > 3000
