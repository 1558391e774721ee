"""Tests for yeastzoi.coverage (sheet, transform, blacklist): sheet reading/validation, transform numbers, exact inverse."""
import math

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.coverage import (INVERTIBLE_SUM_STATS, SUM_STATS, apply_blacklist, bin_mask,
                              nan_fraction, read_targets, strand_pairs, transform_coverage,
                              transform_tracks, untransform, write_targets)

BASK = ("\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\n"
        "0\tRNA+\tcov/rna_p.bw\t768\t384\t0.3\tsum_sqrt\t1\tRNA-seq plus\n"
        "1\tRNA-\t/abs/rna_m.bw\t768\t384\t0.3\tsum_sqrt\t0\tRNA-seq minus\n"
        "2\tMNase\tmnase.w5\t32\t\t1\tmean\t2\tMNase\n")
SHORKIE = ("index\tidentifier\tfile\tsum_stat\tclip_soft\tdescription\tgroup\n"
           "0\tCHIP_Reb1\tchipexo/reb1.bw\tsum\t32\tReb1 ChIP-exo\tchipexo\n"
           "1\tH3K4me3\tmnase/h3.bw\tsum_sqrt\t\tH3K4me3 MNase\tmnase\n")


def _sheet(tmp_path, text, name="targets.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ----------------------------------------------------------------------------- sheet
def test_read_baskerville_sheet(tmp_path):
    p = _sheet(tmp_path, BASK)
    df = read_targets(p)
    assert list(df.index) == [0, 1, 2]
    assert list(df.columns) == ["identifier", "file", "clip", "clip_soft", "scale", "sum_stat",
                                "strand_pair", "description", "group"]
    assert df.loc[0, "file"] == str(tmp_path / "cov" / "rna_p.bw")
    assert df.loc[1, "file"] == "/abs/rna_m.bw"
    assert df["clip"].tolist() == [768, 768, 32]
    assert df.loc[0, "clip_soft"] == 384 and math.isnan(df.loc[2, "clip_soft"])
    assert df["scale"].tolist() == [0.3, 0.3, 1.0]
    assert df["strand_pair"].tolist() == [1, 0, 2]
    assert df["group"].tolist() == ["", "", ""]
    assert strand_pairs(df).tolist() == [1, 0, 2]


def test_read_shorkie_sheet_defaults(tmp_path):
    df = read_targets(_sheet(tmp_path, SHORKIE))
    assert df["identifier"].tolist() == ["CHIP_Reb1", "H3K4me3"]
    assert df["clip"].tolist() == [65504.0, 65504.0]
    assert df["scale"].tolist() == [1.0, 1.0]
    assert df["strand_pair"].tolist() == [0, 1]
    assert df.loc[0, "clip_soft"] == 32 and math.isnan(df.loc[1, "clip_soft"])
    assert df["group"].tolist() == ["chipexo", "mnase"]
    assert df.loc[1, "file"] == str(tmp_path / "mnase" / "h3.bw")


def test_write_targets_round_trip(tmp_path):
    df = read_targets(_sheet(tmp_path, SHORKIE))
    out = tmp_path / "sub" / "t2.txt"
    write_targets(out, df)
    header = out.read_text().splitlines()[0].split("\t")
    assert header == ["", "identifier", "file", "clip", "clip_soft", "scale", "sum_stat",
                      "strand_pair", "description", "group"]
    df2 = read_targets(out)
    pd.testing.assert_frame_equal(df, df2)
    # pandas can read it as baskerville does
    raw = pd.read_csv(out, sep="\t", index_col=0)
    assert raw["strand_pair"].tolist() == [0, 1]


@pytest.mark.parametrize("text,match", [
    ("\tidentifier\tclip\n0\ta\t1\n", r"targets.txt line 1: missing column 'file'"),
    ("\tfile\tclip\n0\ta.bw\t1\n", r"targets.txt line 1: missing column 'identifier'"),
    ("\tidentifier\tfile\tsum_stat\n0\ta\ta.bw\tsum\n1\tb\tb.bw\tfoo\n",
     r"targets.txt line 3: sum_stat 'foo' is not one of sum, sum_sqrt"),
    ("\tidentifier\tfile\tclip\n0\ta\ta.bw\tbig\n",
     r"targets.txt line 2: clip 'big' is not a number"),
    ("\tidentifier\tfile\tscale\n0\ta\ta.bw\tx\n",
     r"targets.txt line 2: scale 'x' is not a number"),
    ("\tidentifier\tfile\n0\ta\ta.bw\n\n1\ta\tb.bw\n",
     r"targets.txt line 4: identifier 'a' duplicates line 2"),
    ("\tidentifier\tfile\tstrand_pair\n0\ta\ta.bw\t1\n1\tb\tb.bw\t2\n",
     r"targets.txt line 3: strand_pair 2 is out of range; the sheet has tracks 0..1"),
    ("\tidentifier\tfile\tstrand_pair\n0\ta\ta.bw\t1\n1\tb\tb.bw\t1\n",
     r"targets.txt line 2: strand_pair 1 points to track 1 whose strand_pair is 1"),
    ("\tidentifier\tfile\tstrand_pair\n0\ta\ta.bw\tone\n",
     r"targets.txt line 2: strand_pair 'one' is not an integer"),
    ("\tidentifier\tfile\n0\ta\ta.bw\textra\n", r"targets.txt line 2: 4 tab-separated fields"),
    ("\tidentifier\tfile\n0\ta\t\n", r"targets.txt line 2: empty file for 'a'"),
    ("\tidentifier\tfile\n", r"targets.txt: no tracks"),
])
def test_sheet_errors(tmp_path, text, match):
    with pytest.raises(YeastzoiError, match=match) as ei:
        read_targets(_sheet(tmp_path, text))
    assert "\n" not in str(ei.value)


# ----------------------------------------------------------------------------- transform
COV = np.array([1, 2, 3, 4, 0, 0, 0, 8], np.float32)


@pytest.mark.parametrize("sum_stat,expected", [
    ("sum", [10, 8]),
    ("sum_sqrt", [math.sqrt(11) - 1, 2.0]),
    ("sum_exp75", [11 ** 0.75 - 1, 9 ** 0.75 - 1]),
    ("mean", [2.5, 2.0]),
    ("mean_sqrt", [math.sqrt(3.5) - 1, math.sqrt(3) - 1]),
    ("max", [4, 8]),
    ("median", [2.5, 0]),
    ("peak", [1, 1]),
])
def test_transform_sum_stats(sum_stat, expected):
    y = transform_coverage(COV, 4, sum_stat)
    assert y.dtype == np.float32 and y.shape == (2,)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_transform_peak_scale_clips_nan():
    peak = np.zeros(16, np.float32)
    peak[3] = 1
    np.testing.assert_allclose(transform_coverage(peak, 8, "peak"), [math.sqrt(0.5), 0], rtol=1e-6)
    np.testing.assert_allclose(transform_coverage(COV, 4, "sum", scale=2), [20, 16])
    # soft clip: 10 > 9 → 9 - 1 + sqrt(10 - 9 + 1)
    np.testing.assert_allclose(transform_coverage(COV, 4, "sum", clip_soft=9),
                               [8 + math.sqrt(2), 8], rtol=1e-6)
    np.testing.assert_allclose(transform_coverage(COV, 4, "sum", clip_soft=9, clip=9), [9, 8])
    np.testing.assert_allclose(transform_coverage(COV, 4, "sum", clip=8.5), [8.5, 8])
    # float16 range
    big = np.full(8, 1e5, np.float32)
    np.testing.assert_array_equal(transform_coverage(big, 4, "sum"), [65504, 65504])
    # NaN bases count as 0; nan_fraction reports them
    c = COV.copy()
    c[0] = np.nan
    np.testing.assert_allclose(transform_coverage(c, 4, "sum"), [9, 8])
    assert nan_fraction(c) == pytest.approx(1 / 8)
    two = np.stack([c, np.full(8, np.nan, np.float32)], axis=1)
    np.testing.assert_allclose(nan_fraction(two), [1 / 8, 1.0])
    with pytest.raises(YeastzoiError, match="not divisible by pool_width 3"):
        transform_coverage(COV, 3, "sum")
    with pytest.raises(YeastzoiError, match="sum_stat 'avg'"):
        transform_coverage(COV, 4, "avg")


def test_transform_old_form():
    # pool (sum), ^0.75, soft clip cs + sqrt(y - cs), clip, × scale
    y = transform_coverage(COV, 4, "sum_exp75", scale=2, clip_soft=5, old=True)
    e1 = 5 + math.sqrt(10 ** 0.75 - 5)
    np.testing.assert_allclose(y, [2 * e1, 2 * 8 ** 0.75], rtol=1e-6)
    y = transform_coverage(COV, 4, "sum_exp75", scale=2, clip_soft=5, clip=5.5, old=True)
    np.testing.assert_allclose(y, [11, 2 * 8 ** 0.75], rtol=1e-6)
    np.testing.assert_allclose(transform_coverage(COV, 4, "sum_sqrt", old=True),
                               [math.sqrt(10), math.sqrt(8)], rtol=1e-6)
    # Borzoi numbers: y^(3/4) then 384 + sqrt(y - 384) above 384
    x = np.zeros(32, np.float32)
    x[0] = 10000.0
    y = transform_coverage(x, 32, "sum_exp75", clip_soft=384, old=True)
    assert y[0] == pytest.approx(384 + math.sqrt(1000 - 384), rel=1e-6)


def _df(sum_stats, scale, clip_soft, clip=None):
    T = len(sum_stats)
    return pd.DataFrame({"identifier": [f"t{i}" for i in range(T)], "file": ["x"] * T,
                         "clip": clip if clip is not None else [65504.0] * T,
                         "clip_soft": clip_soft, "scale": scale, "sum_stat": sum_stats,
                         "strand_pair": list(range(T))})


def test_transform_tracks_matches_single():
    rng = np.random.default_rng(1)
    stats = list(SUM_STATS)
    T = len(stats)
    df = _df(stats, rng.uniform(0.2, 3, T).tolist(), [np.nan, 5, 20, np.nan, 3, 2, 0.5, 1],
             clip=[65504, 30, 65504, 65504, 10, 65504, 65504, 65504])
    cov = rng.gamma(0.5, 3, size=(64, T)).astype(np.float32)
    cov[rng.random(cov.shape) < 0.5] = 0
    for old in (False, True):
        y = transform_tracks(cov, df, 16, old=old)
        assert y.shape == (4, T) and y.dtype == np.float32
        for t in range(T):
            r = df.iloc[t]
            np.testing.assert_allclose(
                y[:, t], transform_coverage(cov[:, t], 16, r["sum_stat"], r["scale"], r["clip_soft"],
                                            r["clip"], old=old), rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("old", [False, True])
def test_untransform_is_exact_inverse(seed, old):
    rng = np.random.default_rng(seed)
    stats = list(INVERTIBLE_SUM_STATS) * 2
    T = len(stats)
    pool = 8
    scale = rng.uniform(0.1, 3.0, T)
    # half the tracks soft-clipped low enough that many bins pass through the soft clip
    clip_soft = np.where(np.arange(T) % 2 == 0, np.nan, rng.uniform(0.5, 6.0, T))
    df = _df(stats, scale.tolist(), clip_soft.tolist())
    cov = (rng.gamma(0.7, 20.0, size=(pool * 50, T))).astype(np.float32)
    y = transform_tracks(cov, df, pool, old=old)
    pooled = cov.astype(np.float64).reshape(50, pool, T)
    expected = np.where([s.startswith("sum") for s in stats], pooled.sum(1), pooled.mean(1))
    x = untransform(y, df, old=old)
    assert x.dtype == np.float32 and x.shape == y.shape
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-6)
    cs = np.where(np.isnan(clip_soft), np.inf, clip_soft)
    assert (y > cs).sum() > 50  # the soft-clip region is exercised
    # batch shape (B, N, T) works the same
    xb = untransform(np.stack([y, y]), df, old=old)
    np.testing.assert_allclose(xb[1], x, rtol=1e-6)


def test_untransform_max_peak_and_errors():
    df = _df(["max", "peak", "median"], [2.0, 1.0, 1.0], [np.nan, np.nan, 3.0])
    y = np.array([[6.0, 0.5, 3.0 - 1 + math.sqrt(3)]])
    np.testing.assert_allclose(untransform(y, df), [[3.0, 0.0625, 5.0]], rtol=1e-6)
    with pytest.raises(YeastzoiError, match="predictions have 2 tracks"):
        untransform(np.zeros((4, 2)), df)


# ----------------------------------------------------------------------------- blacklist
def test_blacklist():
    # window [100, 164) in 16 bp bins: [130, 140) touches bins 1 and 2, [164, 200) none,
    # [90, 101) bin 0
    m = bin_mask([(130, 140), (164, 200), (90, 101)], 100, 4, 16)
    assert m.tolist() == [True, True, True, False]
    assert bin_mask([(148, 149)], 100, 4, 16).tolist() == [False, False, False, True]
    bins = np.array([[9.0, 1.0], [0.5, 8.0], [50.0, 2.0], [3.0, 4.0], [1.0, 6.0]], np.float32)
    mask = np.array([False, True, True, False, False])
    out = apply_blacklist(bins, mask)
    # unmasked medians: track0 median(9,3,1)=3, track1 median(1,4,6)=4
    np.testing.assert_array_equal(out, [[9, 1], [0.5, 4], [3, 2], [3, 4], [1, 6]])
    np.testing.assert_array_equal(apply_blacklist(bins, np.zeros(5, bool)), bins)
    with pytest.raises(YeastzoiError, match="blacklist mask has 3 bins"):
        apply_blacklist(bins, np.zeros(3, bool))


def test_sheet_bigwig_transform_end_to_end(tmp_path):
    """targets.txt → bigWig files on disk → window transform, numbers by hand."""
    from yeastzoi.coverage import CoverageFile, write_bigwig
    sizes = {"chrI": 64}
    a = np.zeros(64, np.float32)
    a[0:8] = 2.0      # bin 0 (16 bp): sum 16
    a[20] = 100.0     # bin 1: sum 100
    a[40:48] = 1.0    # bin 2: sum 8
    b = np.zeros(64, np.float32)
    b[16:32] = 3.0    # bin 1: mean 3, max 3
    (tmp_path / "cov").mkdir()
    write_bigwig(tmp_path / "cov" / "a.bw", {"chrI": a}, sizes)
    write_bigwig(tmp_path / "cov" / "b.bw", {"chrI": b}, sizes)
    (tmp_path / "targets.txt").write_text(
        "\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\n"
        "0\ta_sum\tcov/a.bw\t15\t10\t1\tsum\t0\ta\n"
        "1\ta_sqrt\tcov/a.bw\t\t\t0.5\tsum_sqrt\t1\ta\n"
        "2\tb_max\tcov/b.bw\t2\t\t1\tmax\t2\tb\n")
    df = read_targets(tmp_path / "targets.txt")
    cov = np.stack([CoverageFile(f, reference_chroms={"I": 64}).values("I", 0, 64)
                    for f in df["file"]], axis=1)
    y = transform_tracks(cov, df, 16)
    exp = np.array([
        [9 + math.sqrt(7), math.sqrt(9) - 1, 0],
        [15, math.sqrt(51) - 1, 2],                 # 9+sqrt(91) = 18.5 > 15 → hard clip
        [8, math.sqrt(5) - 1, 0],
        [0, 0, 0]])
    np.testing.assert_allclose(y, exp, rtol=1e-6)
    # inverse recovers the pooled sums of the unclipped sqrt track
    np.testing.assert_allclose(untransform(y, df)[:, 1], [16, 100, 8, 0], rtol=1e-5, atol=1e-6)
