"""Tests for yeastzoi.genome.motifs: JASPAR loading (offline pyjaspar), log-odds, scanning, thresholds."""
import itertools

import numpy as np
import pytest

from yeastzoi import YeastzoiError

from yeastzoi.genome import motifs as motifs
from yeastzoi.genome.dna import revcomp_codes, seq_to_codes


@pytest.fixture(scope="module")
def pwms():
    return motifs.load_yeast_motifs(["REB1", "abf1", "Gcn4"])


def test_load_yeast_motifs_shapes_and_consensus(pwms):
    assert list(pwms) == ["REB1", "ABF1", "GCN4"]
    assert pwms["REB1"].shape == (9, 4)
    assert pwms["ABF1"].shape == (14, 4)
    for p in pwms.values():
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert p.min() > 0
    # Reb1 binds TTACCCG; Gcn4 binds TGA(C/G)TCA
    assert "TTACCCG" in motifs.consensus(pwms["REB1"])
    assert motifs.consensus(pwms["GCN4"]) in ("TGACTCAT", "ATGAGTCA", "TGACTCA", "TGAGTCAT")
    assert motifs.motif_ids(["REB1"])["REB1"].startswith("MA0363")


def test_unknown_factor_is_one_line_error():
    with pytest.raises(YeastzoiError, match="NOTAFACTOR") as e:
        motifs.load_yeast_motifs(["REB1", "NOTAFACTOR"])
    assert "\n" not in str(e.value)


def test_log_odds_values(pwms):
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    lo = motifs.pwm_log_odds(pwms["REB1"], bg)
    assert lo.shape == (9, 5) and lo.dtype == np.float32
    np.testing.assert_allclose(lo[:, :4], np.log2(pwms["REB1"] / bg), rtol=1e-6)
    assert np.all(lo[:, 4] == motifs.N_SCORE)
    rc = motifs.revcomp_log_odds(lo)
    np.testing.assert_array_equal(rc[0, :4], lo[-1, 3::-1])
    lo_min, lo_max = motifs.score_bounds(lo)
    assert lo_max == pytest.approx(float(lo[:, :4].max(axis=1).sum()))
    assert motifs.relative_score(lo_max, lo) == pytest.approx(1.0)
    assert motifs.relative_score(lo_min, lo) == pytest.approx(0.0)


def test_scan_matches_brute_force_both_strands(pwms):
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=300).astype(np.uint8)
    codes[100] = 4
    lo = motifs.pwm_log_odds(pwms["ABF1"])
    L = lo.shape[0]
    fwd, rev = motifs.scan_pwm(codes, lo)
    assert fwd.shape == rev.shape == (300 - L + 1,)
    brute = np.array([sum(lo[j, codes[i + j]] for j in range(L)) for i in range(300 - L + 1)])
    np.testing.assert_allclose(fwd, brute, rtol=1e-5, atol=1e-3)
    # the − strand score of window i is the + strand score of the reverse complement
    rc = revcomp_codes(codes)
    fwd_rc, _ = motifs.scan_pwm(rc, lo)
    np.testing.assert_allclose(rev, fwd_rc[::-1], rtol=1e-5, atol=1e-3)
    # windows touching the N score far below any threshold
    assert fwd[100 - L + 1:101].max() < -1000 and rev[100 - L + 1:101].max() < -1000


def test_planted_consensus_found_on_both_strands(pwms):
    pwm = pwms["REB1"]
    lo = motifs.pwm_log_odds(pwm)
    site = seq_to_codes(motifs.consensus(pwm))
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=400).astype(np.uint8)
    codes[50:59] = site
    codes[300:309] = revcomp_codes(site)
    fwd, rev = motifs.scan_pwm(codes, lo)
    best = motifs.score_bounds(lo)[1]
    assert fwd[50] == pytest.approx(best, abs=1e-4)
    assert rev[300] == pytest.approx(best, abs=1e-4)
    assert int(np.argmax(fwd)) == 50 and int(np.argmax(rev)) == 300


def test_pvalue_threshold_exact_on_enumeration():
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.25, 0.25, 0.4, 0.1]])
    lo = motifs.pwm_log_odds(pwm)
    scores = np.array([sum(lo[j, b] for j, b in enumerate(k)) for k in itertools.product(range(4), repeat=3)])
    for p in (1 / 64, 5 / 64, 0.3):
        thr = motifs.score_pvalue_threshold(lo, None, p, resolution=1e-4)
        assert (scores >= thr).mean() <= p + 1e-9
        below = scores[scores < thr]
        if len(below):  # one step lower would exceed the p-value
            assert (scores >= below.max() - 1e-9).mean() > p


def test_pvalue_threshold_matches_random_sequence_rate(pwms):
    lo = motifs.pwm_log_odds(pwms["REB1"])
    thr = motifs.score_pvalue_threshold(lo, None, 1e-3)
    codes = np.random.default_rng(2).integers(0, 4, size=400_000).astype(np.uint8)
    fwd, rev = motifs.scan_pwm(codes, lo)
    rate = ((fwd >= thr).mean() + (rev >= thr).mean()) / 2
    print(f"REB1 threshold {thr:.2f} bits; empirical one-strand rate {rate:.2e} (target 1e-3)")
    assert 0.6e-3 < rate <= 1.25e-3


def test_background_from_codes():
    bg = motifs.background_from_codes(seq_to_codes("AACGTTNN"))
    np.testing.assert_allclose(bg, [2 / 6, 1 / 6, 1 / 6, 2 / 6])
    with pytest.raises(YeastzoiError):
        motifs.background_from_codes(seq_to_codes("NNN"))
