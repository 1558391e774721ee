"""Variant scoring: stats recomputed from model.predict, RC equivariance, shards, genes, LM,
bad input through the CLI (real FASTA, VCF, h5 files; random-weight 2,048 bp models)."""
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from yeastzoi.genome.dna import codes_to_onehot, revcomp_onehot, seq_to_codes
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.model.params import load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.score.lm import score_variants_lm
from yeastzoi.score.options import ScoreOptions
from yeastzoi.score.results import merge_scores, read_scores_h5, write_scores_h5
from yeastzoi.score.snps import score_variant_genes, score_variants
from yeastzoi.score.stats import compute_stats
from yeastzoi.coverage import read_targets, untransform
from yeastzoi.score.variants import parse_shard, read_variants, shard_variants

ROOT = Path(__file__).resolve().parents[1]
L = 2048
HALF = L // 2 - 1

TARGETS = """\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription
0\tchip\tchip.bw\t128\t32\t1\tsum\t0\tChIP
1\trna+\trna_p.bw\t64\t2\t2\tsum_sqrt\t2\tRNA plus
2\trna-\trna_m.bw\t64\t2\t2\tsum_sqrt\t1\tRNA minus
3\tmnase\tmnase.bw\t128\t32\t1\tsum\t3\tMNase
"""


def _random_seq(rng, n):
    return "".join(rng.choice(list("ACGT"), size=n))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("snpworld")
    rng = np.random.default_rng(7)
    seqs = {"chrI": _random_seq(rng, 6000), "chrII": _random_seq(rng, 4000)}
    fasta = write_fasta(d / "genome.fa", list(seqs.items()))
    (d / "targets.txt").write_text(TARGETS)
    params = load_params(ROOT / "json_params" / "tiny.json",
                         [f"model.seq_length={L}", "model.trunk[6].cropping=8", "model.head.units=4"])
    (d / "params.json").write_text(__import__("json").dumps(params))
    models = []
    for k in range(2):
        import keras
        keras.utils.set_random_seed(k + 1)
        m = SeqNN(params["model"], meta={"target_ids": ["chip", "rna+", "rna-", "mnase"],
                                         "strand_pair": [0, 2, 1, 3]})
        (d / f"m{k}").mkdir()
        m.save(d / f"m{k}" / "model.h5")
        models.append(m)
    s = seqs["chrI"]
    # SNV, SNV at a chromosome start (N padding), deletion, insertion, and a multi-allelic record
    rows = [("chrI", 3001, "snv1", s[3000], "ACGT".replace(s[3000], "")[0]),
            ("I", 20, "edge", s[19], "ACGT".replace(s[19], "")[1]),
            ("chrI", 4000, "del", s[3999:4003], s[3999]),
            ("chr1", 2500, "ins", s[2499], s[2499] + "GATTACA"),
            ("chrII", 1000, "multi", seqs["chrII"][999], ",".join([b for b in "ACGT" if b != seqs["chrII"][999]][:2]))]
    vcf = d / "calls.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in rows))
    return {"dir": d, "seqs": seqs, "fasta": fasta, "models": models, "vcf": vcf,
            "targets": read_targets(d / "targets.txt"), "params": d / "params.json"}


def _window(seqs, chrom, start):
    s = seqs[chrom]
    return "".join(s[i] if 0 <= i < len(s) else "N" for i in range(start, start + L))


def _alt_window(seqs, v, start):
    s = seqs[v.chrom]
    hap = s[:v.start] + v.alt + s[v.start + len(v.ref):]
    return "".join(hap[i] if 0 <= i < len(hap) else "N" for i in range(start, start + L))


def _manual(model, seqs, variants, targets, rc=False, sed_bp=1024):
    """SAD / logSED recomputed from SeqNN.predict on windows built here."""
    meta = model.meta
    out = {"SAD": [], "logSED": []}
    for v in variants:
        start = v.start - HALF
        x = np.stack([codes_to_onehot(seq_to_codes(_window(seqs, v.chrom, start))),
                      codes_to_onehot(seq_to_codes(_alt_window(seqs, v, start)))])
        y = np.asarray(model.models[0](x, training=False))
        if rc:
            yr = np.asarray(model.models[0](revcomp_onehot(x), training=False))[:, ::-1][..., [0, 2, 1, 3]]
            y = (y + yr) / 2
        y = untransform(y, targets)
        ref, alt = y[0].astype(np.float64), y[1].astype(np.float64)
        out["SAD"].append(alt.sum(0) - ref.sum(0))
        b0 = start + meta["crop_bp"] + np.arange(meta["target_length"]) * meta["pool_width"]
        m = (b0 < v.start + len(v.ref) + sed_bp) & (b0 + meta["pool_width"] > v.start - sed_bp)
        out["logSED"].append(np.log2(alt[m].sum(0) + 1) - np.log2(ref[m].sum(0) + 1))
    return {k: np.array(v) for k, v in out.items()}


def test_read_variants_split_alias_indels(world):
    g = Genome(world["fasta"])
    vs, rep = read_variants(world["vcf"], g)
    assert [v.id for v in vs] == ["snv1", "edge", "del", "ins", "multi", "multi_2"]
    assert [v.chrom for v in vs] == ["chrI", "chrI", "chrI", "chrI", "chrII", "chrII"]
    assert rep.multiallelic == 1 and rep.indels == 2 and rep.records == 5


def test_sad_logsed_match_model_predict(world):
    g = Genome(world["fasta"])
    vs, _ = read_variants(world["vcf"], g)
    m = world["models"][0]
    res = score_variants([m], g, vs, ScoreOptions(stats=["SAD", "logSED", "D1", "JS"], batch_size=3),
                         targets_df=world["targets"])
    man = _manual(m, world["seqs"], vs, world["targets"])
    np.testing.assert_allclose(res.stats["SAD"], man["SAD"], rtol=2e-4, atol=2e-3)
    np.testing.assert_allclose(res.stats["logSED"], man["logSED"], rtol=2e-4, atol=2e-4)
    assert np.abs(res.stats["SAD"]).max() > 1e-3      # variants do change predictions
    assert np.all(res.stats["D1"] >= 0) and np.all((res.stats["JS"] >= 0) & (res.stats["JS"] <= 1))


def test_rc_equals_mean_of_forward_and_reverse(world):
    g = Genome(world["fasta"])
    vs, _ = read_variants(world["vcf"], g)
    m = world["models"][0]
    res = score_variants([m], g, vs, ScoreOptions(stats=["SAD", "logSED"], rc=True), targets_df=world["targets"])
    man = _manual(m, world["seqs"], vs, world["targets"], rc=True)
    np.testing.assert_allclose(res.stats["SAD"], man["SAD"], rtol=2e-4, atol=2e-3)
    np.testing.assert_allclose(res.stats["logSED"], man["logSED"], rtol=2e-4, atol=2e-4)
    fwd = score_variants([m], g, vs, ScoreOptions(stats=["SAD"]), targets_df=world["targets"])
    assert not np.allclose(fwd.stats["SAD"], res.stats["SAD"])


def test_stats_definitions_by_hand():
    ref = np.array([[[1.0], [3.0], [0.0]]])
    alt = np.array([[[2.0], [1.0], [4.0]]])
    em = np.array([[True, True, False]])
    s = compute_stats(ref, alt, ["SAD", "logSAD", "SED", "logSED", "D1", "D2", "JS"], effect_mask=em)
    assert s["SAD"][0, 0] == pytest.approx(3.0)
    assert s["logSAD"][0, 0] == pytest.approx(np.log2(8) - np.log2(5))
    assert s["SED"][0, 0] == pytest.approx(-1.0)
    assert s["logSED"][0, 0] == pytest.approx(np.log2(4) - np.log2(5))
    assert s["D1"][0, 0] == pytest.approx(7 / 3)
    assert s["D2"][0, 0] == pytest.approx(np.sqrt(21 / 3))
    same = compute_stats(ref, ref, ["JS"])["JS"]
    assert same[0, 0] == pytest.approx(0.0, abs=1e-9)


def test_multi_model_mean_std_and_shards_merge(world, tmp_path):
    g = Genome(world["fasta"])
    vs, _ = read_variants(world["vcf"], g)
    ms = world["models"]
    both = score_variants(ms, g, vs, ScoreOptions(stats=["SAD"]), targets_df=world["targets"])
    one = [score_variants([m], g, vs, ScoreOptions(stats=["SAD"]), targets_df=world["targets"]).stats["SAD"]
           for m in ms]
    np.testing.assert_allclose(both.stats["SAD"], (one[0] + one[1]) / 2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(both.stats["SAD_std"], np.abs(one[0] - one[1]) / 2, rtol=1e-4, atol=1e-5)
    # shards 1/2 + 2/2 merged = the full run
    parts = []
    for i in (1, 2):
        sv = shard_variants(vs, parse_shard(f"{i}/2"))
        r = score_variants([ms[0]], g, sv, ScoreOptions(stats=["SAD"]), targets_df=world["targets"])
        parts.append(write_scores_h5(tmp_path / f"s{i}.h5", r))
    assert sum(len(shard_variants(vs, (i, 2))) for i in (1, 2)) == len(vs)
    merged = merge_scores(parts, tmp_path / "merged.h5")
    back = read_scores_h5(tmp_path / "merged.h5")
    assert [v.id for v in back.variants] == [v.id for v in vs]
    np.testing.assert_allclose(back.stats["SAD"], one[0].astype(np.float16), rtol=1e-3)
    assert merged.attrs["merged_shards"] == 2


def test_cluster_windows_share_reference(world):
    g = Genome(world["fasta"])
    s = world["seqs"]["chrI"]
    from yeastzoi.score.variants import Variant
    vs = [Variant(f"v{p}", "chrI", p, s[p - 1], "A" if s[p - 1] != "A" else "C") for p in (3000, 3010, 3100)]
    res = score_variants([world["models"][0]], g, vs, ScoreOptions(stats=["SAD"], cluster_bp=200),
                         targets_df=world["targets"])
    assert res.attrs["windows"] == 1
    # the shared window is centred on the cluster midpoint; recompute variant 2 by hand
    start = (2999 + 3099) // 2 - HALF
    m = world["models"][0]
    x = np.stack([codes_to_onehot(seq_to_codes(_window(world["seqs"], "chrI", start))),
                  codes_to_onehot(seq_to_codes(_alt_window(world["seqs"], vs[2], start)))])
    y = untransform(np.asarray(m.models[0](x, training=False)), world["targets"]).astype(np.float64)
    np.testing.assert_allclose(res.stats["SAD"][2], y[1].sum(0) - y[0].sum(0), rtol=2e-4, atol=2e-3)


def test_gene_scores_over_exon_bins(world, tmp_path):
    import pandas as pd
    g = Genome(world["fasta"])
    vs, _ = read_variants(world["vcf"], g)
    vs = [v for v in vs if v.id == "snv1"]
    genes = pd.DataFrame({"chrom": ["chrI", "chrI"], "start": [3200, 2000], "end": [3900, 2600],
                          "strand": ["+", "-"], "gene_id": ["gP", "gM"], "gene_name": ["P", "M"],
                          "gene_biotype": ["protein_coding"] * 2, "tss": [3200, 2599]})
    exons = {"gP": [(3200, 3400), (3600, 3900)], "gM": [(2000, 2600)]}
    res = score_variant_genes([world["models"][0]], g, vs, genes, exons,
                              ScoreOptions(stats=["SED", "logSED"]), targets_df=world["targets"])
    assert list(res.pairs["gene_id"]) == ["gP", "gM"]
    m = world["models"][0]
    v = vs[0]
    start = v.start - HALF
    x = np.stack([codes_to_onehot(seq_to_codes(_window(world["seqs"], "chrI", start))),
                  codes_to_onehot(seq_to_codes(_alt_window(world["seqs"], v, start)))])
    y = untransform(np.asarray(m.models[0](x, training=False)), world["targets"]).astype(np.float64)
    b0 = start + 128 + np.arange(112) * 16
    for row, gid, strand in ((0, "gP", "+"), (1, "gM", "-")):
        cov = np.zeros(112)
        for a, b in exons[gid]:
            cov += np.clip(np.minimum(b0 + 16, b) - np.maximum(b0, a), 0, 16)
        msk = cov > 0                                   # every bin touched by an exon (>= 1 bp)
        exp = np.log2(y[1][msk].sum(0) + 1) - np.log2(y[0][msk].sum(0) + 1)
        got = res.stats["logSED"][row]
        keep = [0, 1, 3] if strand == "+" else [0, 2, 3]
        np.testing.assert_allclose(got[keep], exp[keep], rtol=2e-4, atol=2e-4)
        other = 2 if strand == "+" else 1
        assert np.isnan(got[other])                    # opposite-strand RNA track not scored
    write_scores_h5(tmp_path / "g.h5", res)
    with h5py.File(tmp_path / "g.h5") as h5:
        assert h5["logSED"].shape == (2, 4) and h5["gene"][0] == b"gP" and list(h5["si"][()]) == [0, 0]


def test_lm_zero_shot_matches_manual(world, tmp_path, capsys):
    import keras
    from yeastzoi.genome.dna import model_input
    keras.utils.set_random_seed(3)
    params = load_params(ROOT / "json_params" / "tiny_lm.json", [f"model.seq_length={L}"])
    lm = SeqNN(params["model"], num_features=7, meta={"species": ["sc", "kl"]})
    g = Genome(world["fasta"])
    vs, _ = read_variants(world["vcf"], g)
    res = score_variants_lm([lm], g, vs, ScoreOptions(species="kl"))
    v = vs[0]
    start = v.start - HALF
    mask = np.zeros(L)
    mask[HALF] = 1
    x = model_input(seq_to_codes(_window(world["seqs"], "chrI", start)), 7, 1, mask=mask)[None]
    pf = np.asarray(lm.models[0](x, training=False))[0]
    pr = np.asarray(lm.models[0](revcomp_onehot(x), training=False))[0]
    r, a = "ACGT".index(v.ref), "ACGT".index(v.alt)
    exp = 0.5 * ((np.log(pf[HALF, a]) - np.log(pf[HALF, r]))
                 + (np.log(pr[L - 1 - HALF, 3 - a]) - np.log(pr[L - 1 - HALF, 3 - r])))
    assert res.stats["LLR"][0, 0] == pytest.approx(exp, abs=1e-4)
    ids = [v.id for v in vs]
    assert np.isnan(res.stats["LLR"][ids.index("del"), 0]) and np.isfinite(res.stats["LLR"][ids.index("multi"), 0])
    # the same LM scored as a track model (no --lm) is refused in one line, library and script
    from yeastzoi import YeastzoiError, cli
    with pytest.raises(YeastzoiError, match="masked language model.*--lm"):
        score_variants([lm], g, vs, ScoreOptions(species="kl"))
    lm.save(tmp_path / "lm" / "lm.h5")
    spec = __import__("importlib.util").util.spec_from_file_location("snp_cli", ROOT / "bin" / "yeastzoi_snp.py")
    mod = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = cli.call(mod.main, ["-", str(tmp_path / "lm" / "lm.h5"), str(world["vcf"]), "-f", str(world["fasta"]),
                             "-o", str(tmp_path / "out"), "--species", "kl", "-q"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert rc == 2 and len(err) == 1 and "--lm" in err[0], err
    assert not (tmp_path / "out" / "scores.h5").exists()


# ----------------------------------------------------------------------------- CLI
def _cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_snp.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_scores_h5_and_tsv(world, tmp_path):
    d = world["dir"]
    out = tmp_path / "out"
    r = _cli(world["params"], d / "m0" / "model.h5", d / "m1" / "model.h5", world["vcf"], "-f", world["fasta"],
             "-o", out, "--stats", "SAD,logSED", "--targets", d / "targets.txt", "--tsv", "-q")
    assert r.returncode == 0, r.stderr
    with h5py.File(out / "scores.h5") as h5:
        assert h5["SAD"].dtype == np.float16 and h5["SAD"].shape == (6, 4)
        assert h5["SAD_std"].shape == (6, 4)
        assert [x.decode() for x in h5["snp"][()]] == ["snv1", "edge", "del", "ins", "multi", "multi_2"]
        assert list(h5["pos"][()]) == [3001, 20, 4000, 2500, 1000, 1000]
        assert not h5.attrs["rc"] and h5.attrs["num_models"] == 2 and h5.attrs["untransformed"]
        assert [x.decode() for x in h5["target_labels"][()]] == ["ChIP", "RNA plus", "RNA minus", "MNase"]
    import pandas as pd
    tsv = pd.read_csv(out / "scores.tsv", sep="\t")
    assert len(tsv) == 24 and {"snp", "target_id", "SAD", "logSED"} <= set(tsv.columns)


@pytest.mark.parametrize("body,needle", [
    ("chrI\t3001\tx\tNNNNNA\tC\n", None),  # REF mismatch (filled in below)
    ("chrZ\t10\tx\tA\tC\n", "chromosome 'chrZ'"),
    ("chrI\tten\tx\tA\tC\n", "line 3"),
    ("", "no variants"),
])
def test_cli_bad_input(world, tmp_path, body, needle):
    s = world["seqs"]["chrI"]
    if needle is None:
        wrong = "ACGT".replace(s[3000], "")[0]
        body = f"chrI\t3001\tx\t{wrong}\tC\n"
        needle = "line 3: REF"
    vcf = tmp_path / "bad.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n" + body)
    out = tmp_path / "out"
    d = world["dir"]
    r = _cli(world["params"], d / "m0" / "model.h5", vcf, "-f", world["fasta"], "-o", out, "-q")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not (out / "scores.h5").exists()
    assert not out.exists() or not any(p.name.endswith(".h5") for p in out.iterdir())


def _fake_result(tmp_path, rows, values, ids=("rna+", "rna-"), pairs=None):
    import pandas as pd
    from yeastzoi.score.results import ScoreResult
    from yeastzoi.score.variants import Variant
    vs = [Variant(i, c, p, r, a) for i, c, p, r, a in rows]
    res = ScoreResult(vs, {"logSED": np.asarray(values, np.float32)}, list(ids), list(ids), {"mode": "snp"},
                      pairs=None if pairs is None else pd.DataFrame(pairs, columns=["si", "gene_id", "gene_name",
                                                                                    "gene_strand"]))
    return write_scores_h5(tmp_path / "scores.h5", res)


def test_eqtl_benchmark_numbers(tmp_path):
    from yeastzoi.score.eqtl import eqtl_benchmark, plot_roc
    rows = [(f"v{i}", "chrI", 100 + i, "A", "C") for i in range(6)]
    # |score| (mean of the two tracks): positives v0..v2 = 3, 1, 0.5; negatives v3..v5 = 0.25, 2, 0.1
    vals = [[3, 3], [-1, -1], [0.5, 0.5], [0.25, 0.25], [-2, -2], [0.1, 0.1]]
    h5p = _fake_result(tmp_path, rows, vals)
    pos = tmp_path / "pos.tsv"
    pos.write_text("chrom\tpos\tref\talt\tbeta\n" + "".join(f"I\t{100 + i}\tA\tC\t{b}\n" for i, b in
                                                            zip(range(3), (0.7, -0.2, -0.1))))
    neg = tmp_path / "neg.vcf"
    neg.write_text("#CHROM\tPOS\tID\tREF\tALT\n" + "".join(f"chrI\t{100 + i}\tn{i}\tA\tC\n" for i in range(3, 6)))
    m = eqtl_benchmark(h5p, pos, neg, stat="logSED")
    # pairs (pos > neg): 3 > all 3; 1 > 0.25, 0.1; 0.5 > 0.25, 0.1 → 7 / 9
    assert m["auroc"] == pytest.approx(7 / 9)
    assert m["n_positives"] == 3 and m["n_negatives"] == 3 and m["n_sign"] == 3
    # sign: scores 3 (beta +), -1 (−), 0.5 (−) → positives above both negatives... 3 > -1, 3 > 0.5 → 1.0
    assert m["sign_auroc"] == pytest.approx(1.0)
    assert plot_roc(m, tmp_path / "roc.png").stat().st_size > 1000
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_eqtl_eval.py"), str(h5p), str(pos),
                        str(neg), "-o", str(tmp_path / "ev"), "--tracks", "rna+", "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "AUROC 0.7778" in r.stdout and (tmp_path / "ev" / "roc.png").exists()


def test_truth_accuracy_numbers(tmp_path):
    from yeastzoi.score.eqtl import truth_accuracy
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "conditions.txt").write_text("basal\tnone\nheat\tHSF1\n")
    lfcs = [(0.5, 1.0), (-0.4, -0.2), (0.3, -0.6), (0.0, 0.0)]
    (truth / "variants.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(
        f"chrI\t{100 + i}\ts{i}\tA\tC\t.\tPASS\tGENE=g{i};LFC={a},{b};CLASS=x\n" for i, (a, b) in enumerate(lfcs)))
    rows = [(f"s{i}", "chrI", 100 + i, "A", "C") for i in range(4)]
    # gene-level file: each variant has its own gene row plus a decoy gene with a large score
    pairs, vals = [], []
    for i in range(4):
        pairs += [(i, f"g{i}", "", "+"), (i, "decoy", "", "+")]
        vals += [[(0.2, -0.1, -0.3, 0.05)[i], (0.4, 0.1, 0.2, 0.0)[i]], [9.0, 9.0]]
    h5p = _fake_result(tmp_path, rows, vals, ids=("RNA_basal", "RNA_heat"), pairs=pairs)
    acc = truth_accuracy(h5p, truth / "variants.vcf", {"basal": ["RNA_basal"], "heat": ["RNA_heat"]})
    b = acc["conditions"]["basal"]
    # basal: scores 0.2, -0.1, -0.3 vs LFC 0.5, -0.4, 0.3 → signs right 2/3
    assert b["sign_accuracy"] == pytest.approx(2 / 3) and b["n_effect"] == 3 and b["n_neutral"] == 1
    # |score| effect vs neutral: 0.2, 0.1, 0.3 all > 0.05 → 1.0
    assert b["effect_auroc"] == pytest.approx(1.0)
    h = acc["conditions"]["heat"]
    # heat: scores 0.4, 0.1, 0.2 vs LFC 1.0, -0.2, -0.6 → 1/3 signs right; sign AUROC 1.0 (0.4 ranks first)
    assert h["sign_accuracy"] == pytest.approx(1 / 3) and h["sign_auroc"] == pytest.approx(1.0)
    assert acc["pooled"]["n_scored"] == 8


@pytest.mark.slow
def test_snpgene_cli(world, tmp_path):
    d = world["dir"]
    gtf = tmp_path / "genes.gtf"
    gtf.write_text('chrI\tt\tgene\t3201\t3900\t.\t+\t.\tgene_id "gP"; gene_name "P";\n'
                   'chrI\tt\texon\t3201\t3400\t.\t+\t.\tgene_id "gP"; transcript_id "tP";\n'
                   'chrI\tt\texon\t3601\t3900\t.\t+\t.\tgene_id "gP"; transcript_id "tP";\n'
                   'chrII\tt\tgene\t101\t900\t.\t-\t.\tgene_id "gQ"; gene_name "Q";\n')
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_snpgene.py"), str(world["params"]),
                        str(d / "m0" / "model.h5"), str(world["vcf"]), "-f", str(world["fasta"]), "-g", str(gtf),
                        "-o", str(out), "--tsv", "-q", "--targets", str(d / "targets.txt")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    res = read_scores_h5(out / "scores.h5")
    # snv1 (chrI:3001), del (4000), ins (2500) see gP; edge (chrI:20, window ends at 1044) sees
    # none; both chrII alleles see gQ
    got = sorted(zip(res.pairs["si"], res.pairs["gene_id"]))
    assert got == [(0, "gP"), (2, "gP"), (3, "gP"), (4, "gQ"), (5, "gQ")]
    assert res.stats["logSED"].shape == (5, 4) and res.attrs["mode"] == "snpgene"
    first_q = list(res.pairs["gene_id"]).index("gQ")
    assert np.isnan(res.stats["logSED"][0, 2]) and np.isnan(res.stats["logSED"][first_q, 1])
    assert np.isfinite(res.stats["logSED"][0, [0, 1, 3]]).all()


def test_failed_run_leaves_the_folder_as_it_found_it(world, tmp_path):
    """A finished run's folder (scores.h5 + the params.json it ran with), then a rerun with a
    different spec (--set) that fails on its VCF: exit 2, one error line, and both files are
    byte-identical to the finished run's (params.json lands only when a run succeeds)."""
    d = world["dir"]
    out = tmp_path / "out"
    ok = _cli(world["params"], d / "m0" / "model.h5", world["vcf"], "-f", world["fasta"], "-o", out,
              "--targets", d / "targets.txt", "-q")
    assert ok.returncode == 0, ok.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"scores.h5", "params.json"} <= set(before)
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchrZ\t10\tx\tA\tC\n")
    r = _cli(world["params"], d / "m0" / "model.h5", bad, "-f", world["fasta"], "-o", out,
             "--set", "train.learning_rate=0.5", "-q")
    assert r.returncode == 2
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [r.stderr.strip()] and r.stderr.startswith("error:")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_truncated_model_file_is_one_line(world, tmp_path):
    d = world["dir"]
    cut = tmp_path / "cut" / "model.h5"
    cut.parent.mkdir()
    data = (d / "m0" / "model.h5").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    r = _cli(world["params"], cut, world["vcf"], "-f", world["fasta"], "-o", tmp_path / "out", "-q")
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and str(cut) in lines[0] and "truncated" in lines[0], r.stderr
    assert not (tmp_path / "out").exists()
