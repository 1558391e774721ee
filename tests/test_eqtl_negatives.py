"""Shorkie's eQTL negative sets (every matching rule on a hand-made population VCF and GTF),
allele frequencies from INFO/AF or genotypes, and the benchmark over several sets (AUROC /
AUPRC / AUPRC by TSS-distance bin against hand computations), library and CLI."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.score.eqtl_negatives import build_negative_sets, tss_distance
from yeastzoi.score.variants import read_variants

ROOT = Path(__file__).resolve().parents[1]
HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


def _gtf_line(chrom, feat, s1, e1, strand, gid, name=None):
    attrs = f'gene_id "{gid}";' + (f' gene_name "{name}";' if name else "") + \
        ("" if feat == "gene" else f' transcript_id "t{gid}";')
    return f"{chrom}\tt\t{feat}\t{s1}\t{e1}\t.\t{strand}\t.\t{attrs}\n"


# genes (1-based GTF coordinates; TSS 0-based in the comments)
GENES = [("chrI", 1001, 1100, "+", "g1", None, [(1001, 1100)]),        # TSS 1000, exon [1000, 1100)
         ("chrII", 1001, 1100, "+", "g2", None, [(1001, 1100)]),       # TSS 1000
         ("chrIII", 2001, 3000, "-", "g3", None, [(2001, 3000)]),      # TSS 2999 (minus)
         ("chrIII", 6001, 6500, "+", "g3p", None, [(6001, 6100), (6401, 6500)]),   # TSS 6000
         ("chrIV", 1001, 1200, "+", "g4", "FOUR", [(1001, 1200)]),     # TSS 1000
         ("chrV", 5001, 5400, "+", "g5", None, [(5001, 5400)]),        # TSS 5000
         ("chrV", 4701, 4801, "-", "g5m", None, [(4701, 4801)])]       # TSS 4800 (minus)

# positives: (chrom, pos0, id, ref, alt, gene)
POSITIVES = [("chrI", 1020, "P1", "A", "G", "g1"),       # d = +20
             ("chrIII", 3099, "P2", "T", "C", "g3"),     # d = 2999 - 3099 = -100 (minus strand)
             ("chrIV", 700, "P4", "G", "A", "four"),     # d = -300; gene given by (any-case) name
             ("chrV", 4920, "Q1", "C", "T", "g5"),       # d = -80
             ("chrV", 4925, "Q2", "C", "T", "g5"),       # d = -75
             ("chrV", 4930, "Q3", "C", "T", "g5"),       # d = -70
             ("chrI", 500, "S1", "A", "G", None),        # skipped: no gene
             ("chrI", 510, "S2", "A", "G", "nope"),      # skipped: gene not in the GTF
             ("chrII", 520, "S3", "A", "G", "g1")]       # skipped: gene on another chromosome

# population: (chrom, pos0, id, ref, alt, AF)
POPULATION = [("chrI", 960, "a1", "A", "G", 0.3),        # d -40: eligible for P1
              ("chrI", 965, "alt_diff", "A", "C", 0.5),  # other ALT
              ("chrI", 970, "ref_diff", "C", "G", 0.5),  # other REF
              ("chrI", 975, "af_low", "A", "G", 0.04),   # AF below 0.05
              ("chrI", 976, "af_edge", "A", "G", 0.05),  # AF exactly 0.05: kept
              ("chrI", 1050, "exonic", "A", "G", 0.5),   # d +30 but inside g1's exon
              ("chrI", 1100, "exon_end", "A", "G", 0.5),  # d +100, first base after the exon: kept
              ("chrI", 1020, "P1_again", "A", "G", 0.5),  # the positive itself
              ("chrI", 800, "far", "A", "G", 0.5),       # d -200: |diff| 220 > 200
              ("chrII", 960, "other_chrom", "A", "G", 0.5),   # d -40 to g2, but not P1's chromosome
              ("chrIII", 5880, "s_up", "T", "C", 0.5),   # d -120 to g3p (+): matches P2's signed -100
              ("chrIII", 6120, "s_down", "T", "C", 0.5),  # d +120 to g3p: only |d| would match
              ("chrIII", 3080, "s_m", "T", "C", 0.5),    # d 2999 - 3080 = -81 to g3 (minus): upstream
              ("chrIV", 860, "f_fb", "G", "A", 0.5),     # d -140: |diff| 160, only in the fallback
              ("chrIV", 920, "f_out", "G", "A", 0.5),    # d -80: |diff| 220
              ("chrIV", 490, "f_out2", "G", "A", 0.5),   # d -510: |diff| 210
              ("chrV", 4900, "u1", "C", "T", 0.5),       # d -100 to g5 and to g5m
              ("chrV", 4890, "u2", "C", "T", 0.5),       # d -110 to g5, -90 to g5m
              ("chrV", 4920, "Q1_again", "C", "T", 0.5)]  # a positive itself (non-exonic)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("negs")
    gtf = "".join(_gtf_line(c, "gene", s, e, st, g, n) + "".join(_gtf_line(c, "exon", a, b, st, g, n) for a, b in ex)
                  for c, s, e, st, g, n, ex in GENES)
    (d / "genes.gtf").write_text(gtf)
    (d / "pos.vcf").write_text(HEAD + "\n" + "".join(
        f"{c}\t{p + 1}\t{i}\t{r}\t{a}\t.\t.\t{'GENE=' + g if g else '.'};beta=0.5\n" for c, p, i, r, a, g in POSITIVES))
    (d / "pop.vcf").write_text(HEAD + "\n" + "".join(
        f"{c}\t{p + 1}\t{i}\t{r}\t{a}\t.\t.\tAC=3;AF={af}\n" for c, p, i, r, a, af in POPULATION))
    return d


def _build(files, **kw):
    return build_negative_sets(files / "pos.vcf", files / "pop.vcf", files / "genes.gtf", **kw)


def _chosen(res, positive):
    """(negative ids, gene ids, windows) chosen for one positive over all sets."""
    rows = [r for s in res.sets for r in s.itertuples() if r.positive_id == positive]
    return {r.id for r in rows}, {r.gene_id for r in rows}, {int(r.window) for r in rows}


def test_tss_distance_is_signed_and_strand_aware():
    assert tss_distance(900, 1000, "+") == -100 and tss_distance(1100, 1000, "+") == 100
    assert tss_distance(1100, 1000, "-") == -100 and tss_distance(900, 1000, "-") == 100
    np.testing.assert_array_equal(tss_distance([900, 900], [1000, 1000], ["+", "-"]), [-100, 100])


def test_same_alleles_af_non_exonic_same_chromosome(files):
    res = _build(files, n_sets=40, seed=1)
    # P1: exactly the three eligible variants appear over 40 sets; every decoy is excluded by its rule
    ids, genes, windows = _chosen(res, "P1")
    assert ids == {"a1", "af_edge", "exon_end"} and genes == {"g1"} and windows == {100}
    # lowering the AF threshold admits af_low (so AF was what excluded it)
    ids, _, _ = _chosen(_build(files, n_sets=40, seed=1, min_af=0.01), "P1")
    assert ids == {"a1", "af_edge", "exon_end", "af_low"}
    s = res.summary
    # AF >= 0.05: all but af_low (18); exonic among them: 'exonic' and 'P1_again'; Q1_again is a positive
    assert s["population_af_pass"] == 18 and s["population_exonic"] == 2
    assert s["population_positives_in_population"] == 1 and s["population_candidates"] == 15
    assert s["skipped_positives"] == {"no_gene": 1, "gene_not_in_annotation": 1, "gene_on_other_chromosome": 1}
    assert s["n_positives"] == 6 and s["n_positives_read"] == 9
    # every chosen negative: same alleles as its positive, within the window of its distance
    pos = res.positives.set_index("id")
    for st in res.sets:
        for r in st.itertuples():
            p = pos.loc[r.positive_id]
            assert (r.ref, r.alt) == (p.ref, p.alt) and r.af >= 0.05
            assert abs(r.tss_distance - p.tss_distance) <= r.window
            assert r.tss_distance == tss_distance(r.pos - 1, r.tss, r.gene_strand)


def test_signed_distance_on_the_minus_strand(files):
    res = _build(files, n_sets=20, seed=2)
    assert res.positives.set_index("id").loc["P2", "tss_distance"] == -100
    ids, genes, windows = _chosen(res, "P2")
    # s_up lies 120 bp upstream of g3p (+) and s_m 81 bp upstream of g3 (-): signed -120 and -81 vs -100;
    # s_down is +120 from g3p (only |d| would match)
    assert ids == {"s_up", "s_m"} and genes == {"g3p", "g3"} and windows == {100}
    rows = {r.id: r for st in res.sets for r in st.itertuples()}
    assert (rows["s_m"].gene_id, rows["s_m"].tss_distance, rows["s_up"].tss_distance) == ("g3", -81, -120)


def test_window_boundary_and_fallback(files):
    res = _build(files, n_sets=4, seed=3)
    ids, genes, windows = _chosen(res, "P4")
    assert ids == {"f_fb"} and genes == {"g4"} and windows == {200}       # |diff| 160: fallback only
    assert all(st["matched_fallback"] == 1 for st in res.summary["sets"])
    # no fallback: P4 has no negative in any set (counted)
    res = _build(files, n_sets=4, seed=3, fallback=None)
    assert _chosen(res, "P4")[0] == set()
    assert res.positives.set_index("id").loc["P4", "matched_sets"] == 0
    assert res.summary["positives_unmatched_in_every_set"] == 2            # P4 and Q3
    # the window is inclusive: |diff| = 160 matches a 160 bp window, not a 159 bp one
    assert _chosen(_build(files, n_sets=2, window=160, fallback=None), "P4")[:3:2] == ({"f_fb"}, {160})
    assert _chosen(_build(files, n_sets=2, window=159, fallback=None), "P4")[0] == set()


def test_each_negative_once_per_set_and_random_gene(files):
    res = _build(files, n_sets=40, seed=4)
    for st in res.sets:
        q = st[st["positive_id"].isin(["Q1", "Q2", "Q3"])]
        assert sorted(q["id"]) == ["u1", "u2"] and list(q["positive_id"]) == ["Q1", "Q2"]   # Q3 left without
        assert st["id"].is_unique
    assert _chosen(res, "Q1")[1] == {"g5", "g5m"}          # both genes lie within the window of u1 and u2
    assert all(st["unmatched"] == 1 for st in res.summary["sets"])          # Q3 (P4 uses the fallback)
    assert res.summary["positives_unmatched_in_every_set"] == 1


def test_reproducible_and_independent_sets(files):
    a, b = _build(files, seed=7), _build(files, seed=7)
    assert len(a.sets) == 4
    for x, y in zip(a.sets, b.sets):
        assert x.equals(y)
    picks = [tuple(s.sort_values("positive_id")["id"]) + tuple(s["gene_id"]) for s in a.sets]
    assert len(set(picks)) > 1                              # the four sets are drawn independently
    two = _build(files, seed=7, n_sets=2)                   # set k does not depend on how many sets
    assert all(x.equals(y) for x, y in zip(two.sets, a.sets[:2]))
    other = _build(files, seed=8)
    assert any(not x.equals(y) for x, y in zip(a.sets, other.sets))


def test_allele_frequency_from_info_or_genotypes(tmp_path):
    v = tmp_path / "gt.vcf"
    v.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3\ts4\n"
                 "chrI\t10\ta\tA\tG\t.\t.\t.\tGT:DP\t0/1:5\t1/1:3\t0/0:2\t./.:0\n"      # 3 / 6
                 "chrI\t20\tb\tA\tG,T\t.\t.\t.\tGT\t0|2\t1|1\t0\t.\n"                   # 2/5, 1/5
                 "chrI\t30\tc\tA\tG\t.\t.\tAF=0.125\tGT\t0/0\t0/0\t0/0\t0/0\n"          # INFO/AF wins
                 "chrI\t40\td\tA\tG\t.\t.\t.\tGT\t.\t.\t./.\t.\n")                      # nothing called
    vs, _ = read_variants(v, allele_freq=True)
    assert [x.af for x in vs[:4]] == [0.5, 0.4, 0.2, 0.125] and np.isnan(vs[4].af)
    assert read_variants(v)[0][0].af is None                 # only when asked
    w = tmp_path / "multi.vcf"
    w.write_text(HEAD + "\nchrI\t10\tm\tA\tG,T\t.\t.\tAF=0.1,0.3\n")
    assert [x.af for x in read_variants(w, allele_freq=True)[0]] == [0.1, 0.3]
    bad = tmp_path / "noaf.vcf"
    bad.write_text(HEAD + "\nchrI\t10\tm\tA\tG\t.\t.\tAC=2\n")
    with pytest.raises(YeastzoiError, match=r"noaf.vcf line 3: no allele frequency: no INFO/AF and no GT"):
        read_variants(bad, allele_freq=True)


def test_population_from_genotypes(files, tmp_path):
    pop = tmp_path / "gt_pop.vcf"
    pop.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                   + "\t".join(f"s{i}" for i in range(11)) + "\n"
                   "chrI\t961\ta1\tA\tG\t.\t.\t.\tGT\t0/1" + "\t0/0" * 10 + "\n"       # AF 1/22 < 0.05
                   "chrI\t977\ta2\tA\tG\t.\t.\t.\tGT\t1/1" + "\t0/0" * 10 + "\n")      # AF 2/22 >= 0.05
    res = build_negative_sets(files / "pos.vcf", pop, files / "genes.gtf", n_sets=3)
    assert _chosen(res, "P1")[0] == {"a2"}
    assert res.sets[0].set_index("id").loc["a2", "af"] == pytest.approx(2 / 22)


def test_bad_inputs_are_one_line(files, tmp_path):
    with pytest.raises(YeastzoiError, match="need at least 1 negative set"):
        _build(files, n_sets=0)
    nogene = tmp_path / "nogene.vcf"
    nogene.write_text(HEAD + "\nchrI\t10\tx\tA\tG\t.\t.\t.\n")
    with pytest.raises(YeastzoiError, match="no positive names a gene"):
        build_negative_sets(nogene, files / "pop.vcf", files / "genes.gtf")


def _fake_scores(path, rows, values, stat="logSED"):
    from yeastzoi.score.results import ScoreResult, write_scores_h5
    from yeastzoi.score.variants import Variant
    vs = [Variant(i, "chrI", p, "A", "C") for i, p in rows]
    return write_scores_h5(path, ScoreResult(vs, {stat: np.asarray(values, np.float32)[:, None]}, ["rna+"],
                                             ["rna+"], {"mode": "snp"}))


def test_benchmark_over_sets_and_distance_bins(tmp_path):
    from yeastzoi.score.eqtl import eqtl_benchmark_sets, plot_eqtl_sets
    # (id, pos, score, TSS_DIST): positives p*, negative set 1 n*, set 2 m*
    pos = [("p0", 100, 3.0, -100), ("p1", 101, -1.0, -700), ("p2", 102, 0.5, -100)]
    s1 = [("n0", 110, 0.25, -120), ("n1", 111, -2.0, -650), ("n2", 112, 0.1, -90)]
    s2 = [("m0", 120, 4.0, -110), ("m1", 121, 0.2, -720), ("m2", 122, -0.3, -80)]
    allv = pos + s1 + s2
    _fake_scores(tmp_path / "scores.h5", [(i, p) for i, p, _, _ in allv], [s for _, _, s, _ in allv])
    _fake_scores(tmp_path / "lm.h5", [(i, p) for i, p, _, _ in allv], [-s for _, _, s, _ in allv], stat="LLR")
    for name, vs in (("pos", pos), ("n1", s1), ("n2", s2)):
        (tmp_path / f"{name}.vcf").write_text(HEAD + "\n" + "".join(
            f"chrI\t{p}\t{i}\tA\tC\t.\t.\tTSS_DIST={d}\n" for i, p, _, d in vs))
    m = eqtl_benchmark_sets(tmp_path / "scores.h5", tmp_path / "pos.vcf", [tmp_path / "n1.vcf", tmp_path / "n2.vcf"])
    # set 1: pairs pos > neg 7/9; set 2 (m0 = 4 beats every positive) 6/9
    assert m["auroc_sets"] == pytest.approx([7 / 9, 6 / 9]) and m["auroc"] == pytest.approx(13 / 18)
    # AP set 1: ranks P N P P N N → 1/3·(1 + 2/3 + 3/4) = 29/36; set 2: N P P P N N → 23/36
    assert m["auprc_sets"] == pytest.approx([29 / 36, 23 / 36]) and m["auprc"] == pytest.approx(26 / 36)
    b = m["bins"]
    assert b["labels"] == ["0-600", "600-1000", "1000-2000", "2000-3000", "3000-5000", "5000-8000", ">8000"]
    # 0-600: set 1 P P N N → 1; set 2 N P P N → 1/2·1/2 + 1/2·2/3 = 7/12. 600-1000: 1/2 and 1
    assert b["auprc_sets"][0][:2] == pytest.approx([1.0, 0.5]) and b["auprc_sets"][1][:2] == pytest.approx([7 / 12, 1])
    assert b["auprc_mean"][:2] == pytest.approx([19 / 24, 0.75]) and np.isnan(b["auprc_mean"][2])
    assert b["n_positives"][:2] == [2, 1] and b["n_negatives_sets"][0][:2] == [2, 1]
    with pytest.raises(YeastzoiError, match="increasing"):
        eqtl_benchmark_sets(tmp_path / "scores.h5", tmp_path / "pos.vcf", [tmp_path / "n1.vcf"], bins=[600, 500])
    assert plot_eqtl_sets({"logSED": m}, tmp_path / "p.png").stat().st_size > 5000
    # the CLI: several sets and the LM's |LLR| beside the model's score
    out = tmp_path / "ev"
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_eqtl_eval.py"), str(tmp_path / "scores.h5"),
                        str(tmp_path / "pos.vcf"), str(tmp_path / "n1.vcf"), str(tmp_path / "n2.vcf"),
                        "--lm", str(tmp_path / "lm.h5"), "-o", str(out), "-q"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "logSED: AUROC 0.7222" in r.stdout and "logSED set 2: AUROC 0.6667" in r.stdout
    assert "LM |LLR|: AUROC 0.7222" in r.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["auroc"] == pytest.approx(13 / 18) and metrics["lm"]["auprc"] == pytest.approx(26 / 36)
    assert metrics["bins"]["auprc_mean"][1] == pytest.approx(0.75)
    assert (out / "roc.png").stat().st_size > 5000


def test_cli_writes_the_sets(files, tmp_path):
    out = tmp_path / "negs"
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_eqtl_negatives.py"), str(files / "pos.vcf"),
                        str(files / "pop.vcf"), "-g", str(files / "genes.gtf"), "-o", str(out), "--seed", "5", "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "set 1: 5 negatives (1 within the fallback window), 1 positives without a match" in r.stdout
    lib = _build(files, seed=5)
    for k in range(1, 5):
        vs, _ = read_variants(out / f"negatives_{k}.vcf")
        assert [v.id for v in vs] == list(lib.sets[k - 1]["id"])
        assert [v.info["GENE"] for v in vs] == list(lib.sets[k - 1]["gene_id"])
        assert [int(v.info["TSS_DIST"]) for v in vs] == list(lib.sets[k - 1]["tss_distance"])
    pos, _ = read_variants(out / "positives.vcf")
    assert [v.id for v in pos] == ["P1", "P2", "P4", "Q1", "Q2", "Q3"]
    assert pos[2].info["GENE"] == "g4" and pos[2].info["TSS_DIST"] == "-300" and pos[2].info["beta"] == "0.5"
    every = {v.id for v in pos} | {i for s in lib.sets for i in s["id"]}
    assert sorted(v.id for v in read_variants(out / "to_score.vcf")[0]) == sorted(every)
    s = json.loads((out / "summary.json").read_text())
    assert s["sets"][0] == {"set": 1, "matched": 5, "matched_fallback": 1, "unmatched": 1}
    assert (out / "tss_distance.png").stat().st_size > 5000
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_eqtl_negatives.py"), str(files / "pos.vcf"),
                        str(tmp_path / "missing.vcf"), "-g", str(files / "genes.gtf"), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [f"error: {tmp_path / 'missing.vcf'}: no such "
                                                                   "file; check the path"]


def test_with_a_fasta_chromosome_aliases(files, tmp_path):
    from yeastzoi.genome import Genome, write_fasta
    # Ensembl-style names in the FASTA (I, II, ...); N bases match any REF
    fa = write_fasta(tmp_path / "g.fa", [(c, "N" * 10000) for c in ("I", "II", "III", "IV", "V")])
    a, b = _build(files, seed=9), _build(files, seed=9, genome=Genome(fa))
    for x, y in zip(a.sets, b.sets):
        assert list(x["id"]) == list(y["id"]) and list(x["gene_id"]) == list(y["gene_id"])
        assert set(y["chrom"]) <= {"I", "III", "IV", "V"} and set(x["chrom"]) <= {"chrI", "chrIII", "chrIV", "chrV"}
