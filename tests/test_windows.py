"""Contigs, folds of arms (no base lost on real R64 gaps), chromosome splits, windows, filters."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.data.windows import (Contig, filter_windows, fold_roles, interval_coverage, make_windows,
                              merge_intervals, n_fraction, overlaps_any, read_bed_intervals,
                              split_arms_into_folds, split_by_chromosomes, split_contigs)

R64 = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "r64"
if not R64.exists():
    R64 = Path("/work/shared/reference/r64")


def _r64():
    if not (R64 / "assembly_gaps.bed").exists():
        pytest.skip(f"shared R64 reference not found at {R64}")
    sizes = {}
    for line in (R64 / "chrom.sizes").read_text().split("\n"):
        if line.strip():
            c, n = line.split()
            if c != "chrmt":
                sizes[c] = int(n)
    gaps = read_bed_intervals(R64 / "assembly_gaps.bed")
    gaps.pop("chrmt", None)
    return sizes, gaps


@pytest.mark.parametrize("k", [8, 5, 3])
def test_r64_folds_cover_every_base_once(k):
    sizes, gaps = _r64()
    contigs = split_contigs(sizes, gaps)
    assert len(contigs) == 32                                    # 16 chromosomes × 2 arms
    assert Contig("chrXV", 326702, 1091291) in contigs           # the arm baskerville drops
    folds = split_arms_into_folds(contigs, k)
    assert len(folds) == k
    gap_bp = sum(int((g[:, 1] - g[:, 0]).sum()) for g in gaps.values())
    for chrom, size in sizes.items():
        count = np.zeros(size, np.int8)
        for f in folds:
            for c in f:
                if c.chrom == chrom:
                    count[c.start:c.end] += 1
        gmask = np.zeros(size, bool)
        for s, e in gaps[chrom]:
            gmask[s:e] = True
        assert np.all(count[~gmask] == 1), chrom                 # every arm base exactly once
        assert np.all(count[gmask] == 0), chrom
    totals = np.array([sum(c.length for c in f) for f in folds])
    assert totals.sum() == sum(sizes.values()) - gap_bp
    # balanced: no fold more than 1.5× the mean and no piece longer than total/k
    assert totals.max() <= 1.5 * totals.mean(), totals
    assert max(c.length for f in folds for c in f) <= totals.sum() / k


def test_fold_roles():
    assert fold_roles(8, 7) == {"test": [7], "valid": [0], "train": [1, 2, 3, 4, 5, 6]}
    with pytest.raises(YeastzoiError):
        split_arms_into_folds([Contig("a", 0, 10)], 1)


def test_split_contigs_gaps_and_unmappable():
    sizes = {"chr2": 1000, "chr1": 500}
    gaps = {"chr2": np.array([[100, 200]])}
    unmap = {"chr2": np.array([[500, 520], [700, 800]]), "chr1": np.array([[0, 50]])}
    c = split_contigs(sizes, gaps, unmap, min_unmap_len=50)
    assert c == [Contig("chr1", 50, 500), Contig("chr2", 0, 100), Contig("chr2", 200, 700),
                 Contig("chr2", 800, 1000)]
    assert merge_intervals(np.array([[5, 9], [0, 3], [3, 4], [8, 12]])).tolist() == [[0, 4], [5, 12]]


def test_windows_tail_aligned_and_short_contigs():
    w = make_windows([(Contig("c", 10, 110), "train"), (Contig("c", 200, 230), "test"),
                      (Contig("d", 0, 80), "valid")], seq_length=40, stride=30)
    assert w.values.tolist() == [["c", 10, 50, "train"], ["c", 40, 80, "train"], ["c", 70, 110, "train"],
                                 ["d", 0, 40, "valid"], ["d", 30, 70, "valid"], ["d", 40, 80, "valid"]]
    # every base of a contig at least seq_length long is covered
    w2 = make_windows([(Contig("c", 3, 1003), "train")], 128, 100)
    cov = np.zeros(1003, int)
    for s, e in zip(w2.start, w2.end):
        cov[s:e] += 1
    assert cov[3:].min() >= 1 and cov[:3].max() == 0 and (w2.end - w2.start == 128).all()


def test_chromosome_split_and_errors():
    cs = [Contig("chrXI", 0, 5), Contig("chrXII", 0, 5), Contig("chrI", 0, 5)]
    lab = split_by_chromosomes(cs, ["chrXII"], ["chrXI"])
    assert [s for _, s in lab] == ["valid", "test", "train"]
    with pytest.raises(YeastzoiError, match="both"):
        split_by_chromosomes(cs, ["chrI"], ["chrI"])
    with pytest.raises(YeastzoiError, match="chrZ"):
        split_by_chromosomes(cs, ["chrZ"], [], chrom_sizes={"chrI": 5})


def test_filters_n_exon_limit():
    w = pd.DataFrame({"chrom": ["a", "a", "a", "b"], "start": [0, 10, 90, 0], "end": [20, 30, 110, 20],
                      "split": ["train"] * 4})
    codes = {"a": np.zeros(100, np.uint8), "b": np.zeros(50, np.uint8)}
    codes["a"][10:15] = 4
    nf = n_fraction(w, codes)
    np.testing.assert_allclose(nf, [5 / 20, 5 / 20, 10 / 20, 0])     # bp past the end count as N
    exons = {"a": np.array([[0, 10], [5, 12]])}
    ef = interval_coverage(w, exons, {"a": 100, "b": 50})
    np.testing.assert_allclose(ef, [12 / 20, 2 / 20, 0, 0])
    assert overlaps_any(w, {"a": np.array([[30, 31]]), "b": np.array([[19, 25]])}).tolist() == [False, False, False, True]
    kept, removed = filter_windows(w, n_frac=nf, max_n_frac=0.3, exon_frac=ef, min_exon_frac=0.05,
                                   limit={"a": np.array([[0, 11]])})
    assert kept[["chrom", "start"]].values.tolist() == [["a", 0], ["a", 10]]
    assert removed == {"n_fraction": 1, "exon_fraction": 1, "limit": 0}


def test_read_bed_errors(tmp_path):
    p = tmp_path / "x.bed"
    p.write_text("chrI\t5\t10\nchrI\t8\t12\n")
    assert read_bed_intervals(p)["chrI"].tolist() == [[5, 12]]
    with pytest.raises(YeastzoiError, match="not in the genome"):
        read_bed_intervals(p, chrom_sizes={"I": 100})
    assert read_bed_intervals(p, {"I": 100}, resolve=lambda n: n.replace("chr", ""))["I"].tolist() == [[5, 12]]
    p.write_text("chrI\tfive\t10\n")
    with pytest.raises(YeastzoiError, match=r"x.bed:1"):
        read_bed_intervals(p)
