"""Motif discovery from LM probabilities (yeastzoi.interpret.motif_discovery): contributions,
TF-MoDISco (modisco-lite) on a toy probability model with planted motifs, tomtom (memelite)
matches against the real JASPAR yeast matrices, TSS distances, figures and the script."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("modiscolite")
pytest.importorskip("memelite")

from yeastzoi import YeastzoiError  # noqa: E402
from yeastzoi.genome.dna import revcomp_codes, seq_to_codes  # noqa: E402
from yeastzoi.interpret import conservation_from_probs, motif_discovery as md  # noqa: E402

BIN = Path(__file__).resolve().parents[1] / "bin"
TBF1 = "AACCCTAA"        # JASPAR MA0403.3 consensus: tomtom's best yeast match by > 1000x in p
RAP1 = "ATGTATGGGTGT"    # MA0359.3
N, L, TSS_AT = 240, 200, 30


def toy_model(seed=0):
    """A toy 'LM': random promoters (N, L) with a TSS at offset 30; TBF1 planted in 160 of them
    at offsets 50-69 (its centre 24-43 bp from the TSS), RAP1 in 96 at offsets 110-139 (86-115 bp),
    each on a random strand. Probabilities: 0.91 on the planted base at planted positions, elsewhere noise around
    uniform (Dirichlet(50)). Returns probs, codes, regions, tss, sites."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (N, L)).astype(np.uint8)
    probs = rng.dirichlet(np.full(4, 50.0), (N, L))
    sites = []
    for name, motif, n, lo, hi in (("TBF1", TBF1, 160, 50, 70), ("RAP1", RAP1, 96, 110, 140)):
        for i in rng.choice(N, n, replace=False):
            s = int(rng.integers(lo, hi))
            strand = "+" if rng.random() < 0.5 else "-"
            m = seq_to_codes(motif) if strand == "+" else revcomp_codes(seq_to_codes(motif))
            codes[i, s:s + len(m)] = m
            p = np.full((len(m), 4), 0.03)
            p[np.arange(len(m)), m] = 0.91
            probs[i, s:s + len(m)] = p
            sites.append((name, int(i), s, s + len(m), strand))
    regions = pd.DataFrame({"chrom": "chrT", "start": np.arange(N) * 1000, "end": np.arange(N) * 1000 + L})
    tss = pd.DataFrame({"chrom": "chrT", "tss": regions["start"] + TSS_AT})
    return probs, codes, regions, tss, pd.DataFrame(sites, columns=["motif", "region", "start", "end", "strand"])


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    probs, codes, regions, tss, sites = toy_model()
    h5 = tmp_path_factory.mktemp("modisco") / "modisco_results.h5"
    res = md.discover_from_probs(probs, codes, regions, tss, n_random=5000, seed=1, h5_path=h5,
                                 sliding_window_size=15, flank_size=5, n_leiden_runs=4)
    return res, sites, h5


# ----------------------------------------------------------------------------- arithmetic
def test_hypothetical_contributions_by_hand():
    p = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    hyp = md.hypothetical_contributions(p, pseudocount=0.0)
    # 0.5·log2(4·0.5) = 0.5; uniform: log2(1) = 0; one-hot: 1·log2(4) = 2
    np.testing.assert_allclose(hyp, [[0.5, 0.5, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0]], atol=1e-7)
    q = np.random.default_rng(0).dirichlet(np.ones(4), (3, 7))
    h = md.hypothetical_contributions(q)
    assert h.shape == (3, 7, 4) and h.dtype == np.float32
    np.testing.assert_allclose(h.sum(-1), conservation_from_probs(q), atol=1e-5)   # row sum = 2 − H
    # with ε: p' = (0.7 + ε)/(1 + 4ε) etc.
    e = 1e-3
    pp = (np.array([0.7, 0.3, 0, 0]) + e) / (1 + 4 * e)
    np.testing.assert_allclose(md.hypothetical_contributions([0.7, 0.3, 0, 0], e), pp * np.log2(4 * pp), rtol=1e-6)


def test_contribution_inputs_and_shape_errors():
    codes = np.array([[0, 3, 4]], dtype=np.uint8)
    oh, hyp = md.contribution_inputs(np.full((1, 3, 4), 0.25), codes)
    np.testing.assert_array_equal(oh[0], [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert np.all(hyp == 0)
    with pytest.raises(YeastzoiError, match="equal-length"):
        md.contribution_inputs(np.full((1, 3, 4), 0.25), codes[:, :2])


def test_trim_span():
    cwm = np.zeros((10, 4))
    cwm[2, 0], cwm[4, 1], cwm[6, 2], cwm[8, 3] = 0.2, -1.0, 0.31, 0.29
    assert md.trim_span(cwm, 0.3) == (4, 7)     # |−1.0| is the max; 0.31 passes, 0.29 and 0.2 do not
    assert md.trim_span(cwm, 0.2) == (2, 9)


def test_nearest_tss_distance_by_hand():
    tss = pd.DataFrame({"chrom": ["a", "a", "a", "b"], "tss": [100, 500, 300, 50]})
    d = md.nearest_tss_distance(["a", "a", "a", "a", "b", "c"], [0, 250, 390, 900, 60, 5], tss)
    np.testing.assert_array_equal(d[:5], [100, 50, 90, 400, 10])
    assert np.isnan(d[5])


def test_random_positions_stay_in_regions():
    regions = pd.DataFrame({"chrom": ["a", "b"], "start": [100, 1000], "end": [110, 1090]})
    c, x = md.random_positions(regions, 5000, seed=3)
    a = c == "a"
    assert x[a].min() >= 100 and x[a].max() < 110 and x[~a].min() >= 1000 and x[~a].max() < 1090
    assert 0.06 < a.mean() < 0.14          # 10 of 100 bases lie in region a


# ----------------------------------------------------------------------------- the toy run
def test_planted_motifs_are_the_top_patterns_and_match_jaspar(toy):
    res, sites, h5 = toy
    s = res["summary"].set_index("pattern")
    assert list(s.index[:2]) == ["pos_0", "pos_1"]
    assert s.loc["pos_0", "match"] == "TBF1" and s.loc["pos_0", "match_id"].startswith("MA0403")
    assert s.loc["pos_1", "match"] == "RAP1" and s.loc["pos_1", "match_id"].startswith("MA0359")
    assert s.loc["pos_0", "qvalue"] < 0.05 and s.loc["pos_1", "qvalue"] < 0.05
    assert s.loc["pos_0", "consensus"] in (TBF1, "TTAGGGTT")     # trimmed to the planted 8 bp
    assert s.loc["pos_1", "width"] == len(RAP1)
    # the JASPAR matrices have the planted lengths: aligned at column 0, on the pattern's strand
    assert list(s["offset"][:2]) == [0, 0]
    for pat, motif in (("pos_0", TBF1), ("pos_1", RAP1)):
        assert s.loc[pat, "strand"] == ("+" if s.loc[pat, "consensus"] == motif else "-")
    # seqlet counts: 160 and 96 planted
    assert 140 <= s.loc["pos_0", "n_seqlets"] <= 160 and 80 <= s.loc["pos_1", "n_seqlets"] <= 96
    assert h5.is_file() and len(res["database"]) > 100


def test_seqlet_cores_are_the_planted_sites(toy):
    res, sites, _ = toy
    for pat, motif in (("pos_0", "TBF1"), ("pos_1", "RAP1")):
        p = next(x for x in res["patterns"] if x.name == pat)
        planted = sites[sites["motif"] == motif]
        key = set(zip(planted["region"], planted["start"], planted["end"]))
        found = list(zip(p.seqlets["region"], p.seqlets["start"], p.seqlets["end"]))
        assert sum(f in key for f in found) / len(found) >= 0.95
        # the strand of a seqlet is relative to the pattern: all agree, or all disagree, with the plant
        merged = p.seqlets.merge(planted, on=["region", "start", "end"], suffixes=("", "_planted"))
        agree = (merged["strand"] == merged["strand_planted"]).mean()
        assert agree > 0.95 or agree < 0.05


def test_tss_distance_of_planted_motifs(toy):
    res, sites, _ = toy
    s = res["summary"].set_index("pattern")
    # core centres (start + end) // 2: TBF1 24-43 bp from the TSS (offset 30), RAP1 86-115 bp;
    # random positions in 0-199: 61 of 200 lie within 30 bp, the median distance is 69-70 bp
    for pat, motif in (("pos_0", "TBF1"), ("pos_1", "RAP1")):
        planted = sites[sites["motif"] == motif]
        expected = np.median(np.abs((planted["start"] + planted["end"]) // 2 - TSS_AT))
        assert abs(s.loc[pat, "median_tss_bp"] - expected) <= 2
    assert 24 <= s.loc["pos_0", "median_tss_bp"] <= 43 and s.loc["pos_0", "tss_pvalue"] < 1e-12
    assert 86 <= s.loc["pos_1", "median_tss_bp"] <= 115 and s.loc["pos_1", "tss_pvalue"] < 1e-4
    assert 66 <= s.loc["pos_0", "median_random_bp"] <= 74
    assert len(res["distances"]["random"]) == 5000


def test_figures(toy, tmp_path):
    res, _, _ = toy
    row = res["summary"].iloc[0]
    p = md.plot_pattern(res["patterns"][0], row, res["database"], tmp_path / "logo.png")
    q = md.plot_tss_distances(res["distances"], tmp_path / "tss.png")
    assert p.stat().st_size > 5000 and q.stat().st_size > 5000
    np.testing.assert_allclose(md.information_logo(np.array([[1, 0, 0, 0], [0.25] * 4])).sum(1), [2, 0])


def test_no_pattern_from_flat_probabilities():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 4, (60, 100)).astype(np.uint8)
    probs = rng.dirichlet(np.full(4, 50.0), (60, 100))
    regions = pd.DataFrame({"chrom": "chrT", "start": np.arange(60) * 1000, "end": np.arange(60) * 1000 + 100})
    tss = pd.DataFrame({"chrom": ["chrT"], "tss": [0]})
    res = md.discover_from_probs(probs, codes, regions, tss, database=[("X", "X", np.full((6, 4), 0.25))],
                                 n_random=100, sliding_window_size=15, flank_size=5, n_leiden_runs=2)
    assert res["patterns"] == [] and res["summary"].empty
    assert list(res["summary"].columns) == md.SUMMARY_COLUMNS


# ----------------------------------------------------------------------------- the script
@pytest.mark.slow
def test_script_on_cached_probabilities(r64_dir, tmp_path):
    """--reuse-probs: the toy probabilities placed on real R64 promoters; no TensorFlow."""
    from yeastzoi.genome import genes_table, read_gtf

    probs, codes, _, _, _ = toy_model(seed=5)
    genes = genes_table(read_gtf(r64_dir / "genes.gtf"))
    genes = genes[(genes["strand"] == "+") & (genes["tss"] > 1000)].iloc[:N]
    prom = pd.DataFrame({"chrom": genes["chrom"].to_numpy(), "start": genes["tss"].to_numpy() - TSS_AT,
                         "end": genes["tss"].to_numpy() - TSS_AT + L, "strand": "+",
                         "gene_name": genes["gene_name"].to_numpy()})
    out = tmp_path / "out"
    out.mkdir()
    prom.to_csv(out / "promoters.tsv", sep="\t", index=False)
    np.savez(out / "lm_probs.npz", probs=probs.astype(np.float32), codes=codes)
    r = subprocess.run([sys.executable, str(BIN / "yeastzoi_motif_discovery.py"), "r64_lm", "r64_lm",
                        "-f", str(r64_dir / "genome.fa"), "--gtf", str(r64_dir / "genes.gtf"), "-o", str(out),
                        "--reuse-probs", "--window", "15", "--flank", "5", "--leiden-runs", "4", "--random", "2000"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    s = pd.read_csv(out / "motifs.tsv", sep="\t")
    assert list(s["match"][:2]) == ["TBF1", "RAP1"]
    # the TSS is 30 bp into each promoter: TBF1 seqlets sit 24-43 bp from it (another gene's TSS may be nearer)
    assert s.loc[0, "median_tss_bp"] <= 43 and s.loc[0, "tss_pvalue"] < 1e-10
    seq = pd.read_csv(out / "seqlets.tsv", sep="\t")
    assert set(seq["pattern"]) >= {"pos_0", "pos_1"} and (seq["genome_start"] >= prom["start"].min()).all()
    for name in ("pos_0.png", "pos_1.png"):
        assert (out / "logos" / name).stat().st_size > 5000
    assert (out / "tss_distance.png").is_file() and (out / "modisco_results.h5").is_file()
    assert "tensorflow" not in r.stderr.lower()


def test_script_reuse_without_cache_is_one_error_line(r64_dir, tmp_path):
    r = subprocess.run([sys.executable, str(BIN / "yeastzoi_motif_discovery.py"), "r64_lm", "r64_lm",
                        "-f", str(r64_dir / "genome.fa"), "--gtf", str(r64_dir / "genes.gtf"),
                        "-o", str(tmp_path / "o"), "--reuse-probs"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.strip().startswith("error: ") and "lm_probs.npz" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
