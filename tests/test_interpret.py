"""interpret: entropy/conservation arithmetic, masking round plan, LM conservation on a
random-weight 2,048 bp tiny LM, bigWig/TSV/logo outputs, motif enrichment, attention maps,
and the four scripts (run in-process; one subprocess for the one-line error path)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import cli

from yeastzoi import YeastzoiError

from yeastzoi import interpret

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"
LM_LEN = 2048


def _script(name):
    spec = importlib.util.spec_from_file_location(name, BIN / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------- fixtures
GTF_ROWS = [  # chrom, start (1-based), end, strand, gene
    ("chrA", 2201, 2800, "+", "GENA"),
    ("chrA", 3301, 3900, "-", "GENB"),
    ("chrA", 4601, 5200, "+", "GENC"),
    ("chrB", 1501, 2100, "-", "GEND"),
]
REB1_SITE = "TTACCCGG"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Small FASTA (chrA 6 kb, chrB 3 kb) with REB1 sites planted in promoters, a GTF,
    a random-weight tiny LM (2,048 bp, 1 species) and its params file."""
    from yeastzoi.genome import Genome, write_fasta
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN
    import keras

    d = tmp_path_factory.mktemp("interp")
    rng = np.random.default_rng(7)
    seqs = {"chrA": list(rng.choice(list("ACGT"), 6000)), "chrB": list(rng.choice(list("ACGT"), 3000))}
    for chrom, s, e, strand, _ in GTF_ROWS:  # plant a REB1 site 60-200 bp upstream of each TSS
        for off in (60, 200):
            pos = s - 1 - off - len(REB1_SITE) if strand == "+" else e + off
            seqs[chrom][pos:pos + len(REB1_SITE)] = list(REB1_SITE)
    write_fasta(d / "g.fa", [(c, "".join(v)) for c, v in seqs.items()])
    lines = []
    for chrom, s, e, strand, g in GTF_ROWS:
        attrs = f'gene_id "{g}"; gene_name "{g}"; gene_biotype "protein_coding";'
        lines.append(f"{chrom}\ttest\tgene\t{s}\t{e}\t.\t{strand}\t.\t{attrs}")
        lines.append(f"{chrom}\ttest\texon\t{s}\t{e}\t.\t{strand}\t.\t{attrs} transcript_id \"{g}.1\";")
    (d / "g.gtf").write_text("\n".join(lines) + "\n")
    params_path = ROOT / "json_params" / "tiny_lm.json"
    params = load_params(params_path, overrides=[f"model.seq_length={LM_LEN}"])
    keras.utils.set_random_seed(3)
    seqnn = SeqNN(params["model"], num_features=6, meta={"species": ["testyeast"]})
    seqnn.save(d / "lm.h5")
    return {"dir": d, "genome": Genome(d / "g.fa"), "seqnn": seqnn, "gtf": d / "g.gtf",
            "params": params_path, "lm": d / "lm.h5"}


@pytest.fixture(scope="module")
def cons(world):
    return interpret.conservation(world["seqnn"], world["genome"], "chrA", 1500, 2300, batch_size=4)


# ----------------------------------------------------------------------------- arithmetic
def test_entropy_uniform_and_one_hot_exact():
    uni = np.full(4, 0.25)
    assert interpret.entropy_bits(uni) == pytest.approx(2.0, abs=1e-12)
    assert interpret.conservation_from_probs(uni, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert interpret.conservation_from_probs(uni, 0.1) == pytest.approx(0.0, abs=1e-12)
    eps = 0.01
    q, r = (1 + eps) / (1 + 4 * eps), eps / (1 + 4 * eps)
    h = -(q * np.log2(q) + 3 * r * np.log2(r))
    one_hot = np.array([[0.0, 0.0, 1.0, 0.0]])
    np.testing.assert_allclose(interpret.normalise_probs(one_hot, eps), [[r, r, q, r]], rtol=1e-12)
    assert interpret.conservation_from_probs(one_hot, eps)[0] == pytest.approx(2 - h, rel=1e-12)
    assert 2 - h == pytest.approx(1.76571, abs=1e-5)
    assert interpret.entropy_bits(np.array([0.5, 0.5, 0.0, 0.0])) == pytest.approx(1.0, abs=1e-12)
    assert interpret.conservation_from_probs(one_hot, 0.0)[0] == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(YeastzoiError):
        interpret.normalise_probs(np.ones((2, 3)))


# ----------------------------------------------------------------------------- round plan
@pytest.mark.parametrize("n,L", [(800, 2048), (1, 2048), (5, 2048), (8192, 16384), (20000, 16384)])
def test_mask_rounds_cover_each_position_once(n, L):
    rounds = interpret.mask_rounds(n, L, 0.15)
    allpos = np.concatenate(rounds)
    assert len(allpos) == n
    np.testing.assert_array_equal(np.sort(allpos), np.arange(n))
    per_round = int(0.15 * L)
    assert max(len(r) for r in rounds) <= per_round
    R = len(rounds)
    assert R == min(n, max(-(-n // per_round), 7))
    for r in rounds:  # evenly spread: consecutive masked positions are R apart
        assert np.all(np.diff(r) == R)


def test_plan_chunks_tile_region_centred():
    chunks = interpret.plan_chunks("chrA", 100, 2600, 2048)
    assert [(c.start, c.end) for c in chunks] == [(100, 933), (933, 1767), (1767, 2600)]
    for c in chunks:
        assert c.end - c.start <= 1024
        assert c.window_start + 1024 == (c.start + c.end) // 2


# ----------------------------------------------------------------------------- conservation
def test_conservation_table_values(world, cons):
    df = cons
    assert list(df.columns) == interpret.PWM_COLUMNS
    assert len(df) == 800
    np.testing.assert_array_equal(df["pos"], np.arange(1500, 2300))
    assert "".join(df["ref"]) == world["genome"].fetch("chrA", 1500, 2300)
    c = df["conservation"].to_numpy()
    assert np.all((c >= 0) & (c <= 2))
    assert c.std() > 0 and np.unique(c).size > 100
    np.testing.assert_allclose(df[["A", "C", "G", "T"]].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(df["entropy"] + df["conservation"], 2.0, atol=1e-12)


def test_conservation_row_is_the_masked_prediction(world):
    """A row equals the LM's output at that position when exactly that position's round
    is masked in the window centred on the region (recomputed by hand)."""
    from yeastzoi.genome.dna import model_input

    seqnn, genome = world["seqnn"], world["genome"]
    start, end = 1000, 1300
    df = interpret.conservation(seqnn, genome, "chrA", start, end, pseudocount=0.0)
    rounds = interpret.mask_rounds(end - start, LM_LEN)
    w0 = (start + end) // 2 - LM_LEN // 2
    codes = genome.fetch_codes("chrA", w0, w0 + LM_LEN)
    for p in (0, 123, 299):
        r = next(r for r in rounds if p in r)
        mask = np.zeros(LM_LEN, np.float32)
        mask[r + (start - w0)] = 1
        x = model_input(codes, 6, 0, mask)
        assert x[p + start - w0, :4].sum() == 0 and x[p + start - w0, 4] == 1
        y = np.asarray(seqnn.model.predict_on_batch(x[None]))[0, p + start - w0]
        np.testing.assert_allclose(df.loc[p, ["A", "C", "G", "T"]].to_numpy(float), y, rtol=1e-4, atol=1e-6)


def test_conservation_near_chromosome_end_and_errors(world):
    df = interpret.conservation(world["seqnn"], world["genome"], "chrB", 2950, 3000)
    assert len(df) == 50 and df["conservation"].between(0, 2).all()
    with pytest.raises(YeastzoiError, match="runs off"):
        interpret.conservation(world["seqnn"], world["genome"], "chrB", 2950, 3001)


def test_bigwig_and_tsv(world, cons, tmp_path):
    import pyBigWig

    path = tmp_path / "c.bw"
    interpret.write_conservation_bigwig(path, cons, world["genome"].chroms)
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == {"chrA": 6000, "chrB": 3000}
    vals = np.array(bw.values("chrA", 1500, 2300))
    np.testing.assert_allclose(vals, cons["conservation"].to_numpy(np.float32), rtol=1e-6, atol=1e-11)
    assert np.isnan(bw.values("chrA", 1499, 1500)[0])
    bw.close()
    interpret.write_tsv(cons, tmp_path / "c.tsv")
    back = pd.read_csv(tmp_path / "c.tsv", sep="\t")
    assert len(back) == 800 and list(back.columns) == interpret.PWM_COLUMNS


def test_non_lm_model_is_refused(world):
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN

    p = load_params(ROOT / "json_params" / "tiny.json",
                    overrides=[f"model.seq_length={LM_LEN}", "model.trunk[6].cropping=8"])
    with pytest.raises(YeastzoiError, match="masked language model"):
        interpret.conservation(SeqNN(p["model"]), world["genome"], "chrA", 10, 20)


# ----------------------------------------------------------------------------- motifs
def test_motif_enrichment_hand_made():
    tracks = [np.full(100, 0.2), np.full(80, 0.4)]
    tracks[0][10:18] = 1.0
    tracks[0][40:48] = 1.0
    tracks[0][70:78] = 0.8
    tracks[1][5:13] = 0.9
    tracks[1][50:58] = 0.6
    tracks[1][0:5] = 0.4
    sites = pd.DataFrame({"motif": ["X"] * 5 + ["Y"], "region": [0, 0, 0, 1, 1, 1],
                          "start": [10, 40, 70, 5, 50, 50], "end": [18, 48, 78, 13, 58, 58]})
    df = interpret.motif_enrichment(tracks, sites, flank=5).set_index("motif")
    x = df.loc["X"]
    assert x.n_sites == 5
    assert x.motif_C == pytest.approx((1 + 1 + 0.8 + 0.9 + 0.6) / 5)
    assert x.flank_C == pytest.approx((0.2 * 3 + 0.4 * 2) / 5)
    assert x.delta == pytest.approx(x.motif_C - x.flank_C)
    assert x.enrichment == pytest.approx(x.motif_C / x.flank_C)
    assert x.pvalue == pytest.approx(1 / 32)  # exact one-sided signed-rank, 5 positive pairs
    assert df.loc["Y"].n_sites == 1 and np.isnan(df.loc["Y"].pvalue)


def test_find_motif_sites_finds_planted_reb1(world):
    from yeastzoi.genome.motifs import load_yeast_motifs, pwm_log_odds, score_pvalue_threshold

    lo = {"REB1": pwm_log_odds(load_yeast_motifs(["REB1"])["REB1"])}
    thr = {"REB1": score_pvalue_threshold(lo["REB1"], None, 1e-4)}
    codes = world["genome"].fetch_codes("chrA", 1900, 2200)   # GENA promoter: sites at 1932, 2072
    sites = interpret.find_motif_sites([codes], lo, thr)
    starts = set(sites["start"] + 1900)
    assert any(abs(s - 2132) <= 1 for s in starts) and any(abs(s - 1992) <= 1 for s in starts)


def test_promoter_regions_strand_aware():
    genes = pd.DataFrame({"chrom": ["c", "c", "c"], "start": [1000, 2000, 10], "end": [1500, 2600, 300],
                          "strand": ["+", "-", "+"], "gene_id": ["a", "b", "c"], "gene_name": ["A", "B", "C"],
                          "tss": [1000, 2599, 10]})
    p = interpret.promoter_regions(genes, {"c": 2800}, upstream=500)
    assert p[["start", "end"]].values.tolist() == [[500, 1000], [2600, 2800], [0, 10]]


# ----------------------------------------------------------------------------- attention
def test_attention_maps_shape_and_rows(world):
    from yeastzoi.genome.dna import model_input

    seqnn, genome = world["seqnn"], world["genome"]
    x = np.stack([model_input(genome.fetch_codes("chrA", s, s + LM_LEN), 6, 0) for s in (0, 3000)])
    maps = interpret.attention_maps(seqnn, x)
    assert len(maps) == 1
    assert maps[0].shape == (2, 2, 16, 16)   # B, heads, T = 2048 / 2^7
    np.testing.assert_allclose(maps[0].sum(-1), 1.0, atol=1e-5)
    assert (maps[0] >= 0).all()
    assert not np.allclose(maps[0][0], maps[0][1])
    res = interpret.window_attention(seqnn, genome, "chrA", 2200, 2800)
    assert res["bin_bp"] == 128 and res["window_start"] == 2500 - 1024
    assert res["maps"][0].shape == (2, 16, 16)
    with pytest.raises(YeastzoiError, match="does not exist"):
        interpret.attention_maps(seqnn, x, layers=[1])


# ----------------------------------------------------------------------------- scripts
def test_conservation_script(world, tmp_path):
    out = tmp_path / "cons"
    cli.call(_script("yeastzoi_conservation").main, [str(world["params"]), str(world["lm"]), "-f", str(world["dir"] / "g.fa"),
                                           "--gene", "GENA", "--gtf", str(world["gtf"]), "--flank", "50",
                                           "-o", str(out), "--set", f"model.seq_length={LM_LEN}", "-q"])
    df = pd.read_csv(out / "GENA.pwm.tsv", sep="\t")
    assert len(df) == 600 + 100 and df["pos"].iloc[0] == 2150
    assert df["conservation"].between(0, 2).all() and df["conservation"].std() > 0
    assert (out / "GENA.png").read_bytes()[:4] == b"\x89PNG"
    import pyBigWig
    bw = pyBigWig.open(str(out / "GENA.bw"))
    assert list(bw.chroms()) == ["chrA", "chrB"]
    bw.close()


def test_motif_check_script(world, tmp_path):
    out = tmp_path / "motifs"
    cli.call(_script("yeastzoi_motif_check").main, [str(world["params"]), str(world["lm"]), "-f", str(world["dir"] / "g.fa"),
                                          "--gtf", str(world["gtf"]), "-o", str(out), "--motifs", "REB1,ABF1",
                                          "--upstream", "300", "--set", f"model.seq_length={LM_LEN}", "-q"])
    enr = pd.read_csv(out / "motif_enrichment.tsv", sep="\t").set_index("motif")
    assert list(enr.index) == ["REB1", "ABF1"]
    assert enr.loc["REB1", "n_sites"] >= 8       # 2 planted sites × 4 promoters
    assert 0 < enr.loc["REB1", "motif_C"] < 2 and 0 < enr.loc["REB1", "pvalue"] <= 1
    sites = pd.read_csv(out / "motif_sites.tsv", sep="\t")
    assert {"chrom", "genome_start", "gene_name"} <= set(sites.columns)
    assert len(pd.read_csv(out / "promoters.tsv", sep="\t")) == 4
    assert (out / "motif_enrichment.png").exists()


def test_attention_script(world, tmp_path):
    out = tmp_path / "att"
    cli.call(_script("yeastzoi_attention").main, [str(world["params"]), str(world["lm"]), "-f", str(world["dir"] / "g.fa"),
                                        "--gene", "GENB", "--gtf", str(world["gtf"]), "-o", str(out),
                                        "--set", f"model.seq_length={LM_LEN}", "-q"])
    z = np.load(out / "attention.npz")
    assert z["layer0"].shape == (2, 16, 16) and int(z["bin_bp"]) == 128
    np.testing.assert_allclose(z["layer0"].sum(-1), 1.0, atol=1e-5)
    for f in ("layer0_head0.png", "layer0_head1.png", "layer0.png"):
        assert (out / f).stat().st_size > 1000


def test_script_error_is_one_line(world, tmp_path):
    r = subprocess.run([sys.executable, str(BIN / "yeastzoi_conservation.py"), str(world["params"]),
                        str(world["lm"]), "-f", str(world["dir"] / "g.fa"), "--gene", "GENA", "-o",
                        str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: --gene needs --gtf"


def test_named_regions(world, tmp_path):
    from yeastzoi.genome import read_gtf

    g = world["genome"]
    assert interpret.named_regions(g, region="chrA:1,000-1,500") == [("chrA_1000_1500", "chrA", 1000, 1500)]
    (tmp_path / "r.bed").write_text("chrA\t10\t60\tp1\nchrB\t0\t40\tp/2\n")
    assert interpret.named_regions(g, bed=tmp_path / "r.bed") == [("p1", "chrA", 10, 60), ("p_2", "chrB", 0, 40)]
    gtf = read_gtf(world["gtf"])
    assert interpret.named_regions(g, gene="gend", gtf_df=gtf, flank=2000) == [("GEND", "chrB", 0, 3000)]
    with pytest.raises(YeastzoiError, match="runs off"):
        interpret.named_regions(g, region="chrB:10-3001")
    with pytest.raises(YeastzoiError, match="exactly one"):
        interpret.named_regions(g, region="chrB:10-30", gene="GEND", gtf_df=gtf)
    with pytest.raises(YeastzoiError, match="not in the annotation"):
        interpret.named_regions(g, gene="NOPE", gtf_df=gtf)
