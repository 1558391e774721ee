"""Shorkie's MPRA insertion protocol: every level of the scores recomputed from two random-weight
2,048 bp models on constructs built here (replace, centre anchor, reverse complement on the
minus strand, strand-matched tracks), the activity comparison against hand computations,
the default contexts on R64, one-line errors and the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.coverage import read_targets, untransform
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.genome.dna import codes_to_onehot, revcomp_seq, seq_to_codes
from yeastzoi.model.geometry import Geometry, gene_window_start
from yeastzoi.model.params import load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.score.edits import insertion_variant
from yeastzoi.score.genes import find_gene, load_annotation
from yeastzoi.score.mpra import (SHORKIE_CONTEXTS, MpraScores, compare_activity, mpra_scores, parse_distances,
                                 read_activity)
from yeastzoi.score.options import ScoreOptions

ROOT = Path(__file__).resolve().parents[1]
L = 2048
TARGETS = """\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription
0\tchip\tchip.bw\t128\t32\t1\tsum\t0\tChIP
1\trna+\trna_p.bw\t64\t2\t2\tsum_sqrt\t2\tRNA plus
2\trna-\trna_m.bw\t64\t2\t2\tsum_sqrt\t1\tRNA minus
"""
GTF = ('chrI\tt\tgene\t3001\t3600\t.\t+\t.\tgene_id "gP"; gene_name "P";\n'
       'chrI\tt\texon\t3001\t3200\t.\t+\t.\tgene_id "gP"; transcript_id "tP";\n'
       'chrI\tt\texon\t3401\t3600\t.\t+\t.\tgene_id "gP"; transcript_id "tP";\n'
       'chrI\tt\tgene\t5001\t5500\t.\t-\t.\tgene_id "gM"; gene_name "M";\n'
       'chrI\tt\texon\t5001\t5500\t.\t-\t.\tgene_id "gM"; transcript_id "tM";\n')
INSERTS = [("s1", "GATTACAGATTACAGGCCTA"), ("s2", "CCCCGGGGAAAATTTTCCC"), ("s3", "ACGTTGCAACGTTGCAAA")]
DISTANCES = [40, 60]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import keras
    d = tmp_path_factory.mktemp("mpra")
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), size=9000))
    fasta = write_fasta(d / "genome.fa", [("chrI", seq)])
    (d / "targets.txt").write_text(TARGETS)
    (d / "genes.gtf").write_text(GTF)
    params = load_params(ROOT / "json_params" / "tiny.json",
                         [f"model.seq_length={L}", "model.trunk[6].cropping=8", "model.head.units=3",
                          "model.kernel_initializer=he_normal"])
    (d / "params.json").write_text(json.dumps(params))
    models = []
    for k in range(2):                     # two "folds"
        keras.utils.set_random_seed(20 + k)
        m = SeqNN(params["model"], meta={"target_ids": ["chip", "rna+", "rna-"], "strand_pair": [0, 2, 1]})
        head = [layer for layer in m.models[0].layers if layer.weights][-1]
        w = head.get_weights()
        head.set_weights([w[0] * 20, w[1]])        # larger effects than a plain random init (~1e-2 logSED)
        m.save(d / f"f{k}.h5")
        models.append(m)
    g = Genome(fasta)
    genes, exons = load_annotation(d / "genes.gtf", g)
    ctx = [find_gene(genes, exons, "gP"), find_gene(genes, exons, "gM")]
    return {"dir": d, "seq": seq, "genome": g, "models": models, "targets": read_targets(d / "targets.txt"),
            "ctx": ctx}


def _construct(w, geo, gene, seq, distance):
    """(ref window, edited window, exon-bin mask) of one construct, built here: the sequence
    (reverse-complemented on the minus strand) overwrites the bases centred `distance` bp
    upstream of the TSS."""
    s, n = w["seq"], len(seq)
    gap = distance - n // 2
    if gene.strand == "+":
        lo, ins = gene.tss - gap - n, seq
    else:
        lo, ins = gene.tss + 1 + gap, revcomp_seq(seq)
    hap = s[:lo] + ins + s[lo + n:]
    ws, _ = gene_window_start(lo, min(a for a, _ in gene.exons), max(b for _, b in gene.exons), geo)
    b0 = ws + geo.offset + np.arange(geo.target_length) * geo.pool_width
    m = np.zeros(geo.target_length, bool)
    for a, b in gene.exons:
        m |= (b0 < b) & (b0 + geo.pool_width > a)
    return s[ws:ws + L], hap[ws:ws + L], m


def test_protocol_levels_match_direct_computation(world):
    sc = mpra_scores(world["models"], world["genome"], world["ctx"], INSERTS, ScoreOptions(), world["targets"],
                     distances=DISTANCES, tracks="rna")
    assert sc.per_model.shape == (2, 3, 2, 2, 2) and sc.track_ids == ["rna+", "rna-"]
    geo = Geometry.from_meta(world["models"][0].meta)
    keys, wins, masks = [], [], []
    for i, (_, s) in enumerate(INSERTS):
        for c, g in enumerate(world["ctx"]):
            for j, d in enumerate(DISTANCES):
                ref, alt, m = _construct(world, geo, g, s, d)
                keys.append((i, c, j, 0 if g.strand == "+" else 1))      # the strand-matched RNA track
                wins += [ref, alt]
                masks.append(m)
    x = np.stack([codes_to_onehot(seq_to_codes(t)) for t in wins])
    exp = np.full((2, 3, 2, 2, 2), np.nan)
    for mi, model in enumerate(world["models"]):
        y = untransform(np.asarray(model.models[0](x, training=False)), world["targets"]).astype(np.float64)
        for q, ((i, c, j, k), m) in enumerate(zip(keys, masks)):
            ref, alt = y[2 * q], y[2 * q + 1]
            exp[mi, i, c, j, k] = np.log2(alt[m, 1 + k].sum() + 1) - np.log2(ref[m, 1 + k].sum() + 1)
    assert np.nanmin(np.abs(exp)) > 1e-4 and np.nanmax(np.abs(exp)) > 1e-2    # effects well above the tolerance
    np.testing.assert_allclose(sc.per_model, exp, rtol=1e-3, atol=2e-6)     # NaN where off-strand, too
    per_context = np.nanmean(exp.mean(0), -1)                                # folds, then tracks
    np.testing.assert_allclose(sc.per_context, per_context, rtol=1e-3, atol=2e-6)
    np.testing.assert_allclose(sc.per_distance, per_context.mean(1), rtol=1e-3, atol=2e-6)
    np.testing.assert_allclose(sc.score, per_context.mean((1, 2)), rtol=1e-3, atol=2e-6)
    # chunking the inserts (one per chunk) gives the same numbers
    sc1 = mpra_scores(world["models"][:1], world["genome"], world["ctx"], INSERTS, ScoreOptions(), world["targets"],
                      distances=DISTANCES, tracks="rna", chunk_rows=1)
    np.testing.assert_allclose(sc1.per_model[0], sc.per_model[0], rtol=1e-5, atol=1e-6)


def test_construct_builder_and_errors(world):
    g, gp, gm = world["genome"], world["ctx"][0], world["ctx"][1]
    s = world["seq"]
    v, pos, stitch = insertion_variant(g, gp, "x", "ACGTAC", 10, replace=True, anchor="centre")
    # + strand: centre 10 bp upstream → 10 - 3 = 7 bp between the 3' end and the TSS (3000)
    assert (v.start, v.ref, v.alt, stitch) == (3000 - 7 - 6, s[2987:2993], "ACGTAC", "right")
    v, pos, stitch = insertion_variant(g, gm, "x", "AACGTT"[:5] + "G", 10, replace=True, anchor="centre")
    assert (v.start, v.alt, stitch) == (5500 + 7, revcomp_seq("AACGTG"), "left")
    with pytest.raises(YeastzoiError, match=r"runs past the start of chrI \(9000 bp\)"):
        insertion_variant(g, gp, "x", "ACGT", 3100, replace=True)
    with pytest.raises(YeastzoiError, match=r"runs past the end of chrI \(9000 bp\)"):
        insertion_variant(g, gm, "x", "ACGT", 3600)
    with pytest.raises(YeastzoiError, match="would overlap the TSS; use a distance >= 10 bp"):
        insertion_variant(g, gp, "x", "A" * 20, 5, replace=True, anchor="centre")
    with pytest.raises(YeastzoiError, match=r"insert s1 \(20 bp\) 8990 bp upstream of gene gP .* runs past the start"):
        mpra_scores(world["models"], g, world["ctx"], INSERTS, ScoreOptions(), world["targets"], distances=[8990])
    with pytest.raises(YeastzoiError, match=r"context gene gM \(- strand\): none of the chosen tracks \(rna\+\)"):
        mpra_scores(world["models"][:1], g, world["ctx"], INSERTS[:1], ScoreOptions(), world["targets"],
                    distances=[40], tracks="rna+")
    assert parse_distances("100:200:10") == list(range(100, 201, 10)) and parse_distances("60,40,60") == [40, 60]
    with pytest.raises(YeastzoiError, match="START:END:STEP"):
        parse_distances("100:50")


def _hand_scores(per_distance, k_nan=False):
    """MpraScores with one model, one context and per-distance scores given (I, D)."""
    pd_ = np.asarray(per_distance, np.float32)
    I, D = pd_.shape
    pm = pd_[None, :, None, :, None]
    if k_nan:      # a second, off-strand track (NaN) must not change the averages
        pm = np.concatenate([pm, np.full_like(pm, np.nan)], -1)
    return MpraScores("logSED", [f"q{i}" for i in range(I)], ["g"], ["G"], ["+"], list(range(100, 100 + 10 * D, 10)),
                      [0], ["rna+"], pm, {})


def test_compare_activity_by_hand(tmp_path):
    sc = _hand_scores([[1, 3], [2, 2], [3, 5], [4, 6]], k_nan=True)
    np.testing.assert_allclose(sc.score, [2, 2, 4, 5])
    act = tmp_path / "act.tsv"
    act.write_text("name\tactivity\nq0\t1\nq1\t3\nq2\t2\nq3\t4\nextra\t9\n")
    a = read_activity(act)
    m = compare_activity(sc, a)
    o = m["overall"]
    # Pearson of (2,2,4,5) with (1,3,2,4): 3.5 / sqrt(6.75 · 5); Spearman: 3 / sqrt(4.5 · 5)
    assert o["pearson"] == pytest.approx(3.5 / np.sqrt(33.75)) and o["spearman"] == pytest.approx(3 / np.sqrt(22.5))
    # quarter by rank: low q0 (score 2), high q3 (score 5) → AUROC 1
    assert (o["auroc"], o["n_high"], o["n_low"]) == (1.0, 1, 1)
    # halves: low q0, q2 (2, 4) vs high q1, q3 (2, 5): (0.5 + 0 + 1 + 1) / 4
    assert compare_activity(sc, a, high_low=0.5)["overall"]["auroc"] == pytest.approx(0.625)
    assert m["by_distance"][100]["pearson"] == pytest.approx(0.8)             # (1,2,3,4) vs (1,3,2,4)
    assert m["by_context"]["g"]["pearson"] == pytest.approx(o["pearson"]) and m["n_missing"] == 0
    act.write_text("id\tmeasured\tclass\nq0\t1\thigh\nq1\t3\thigh\nq2\t2\tlow\nq3\t4\tlow\n")
    assert compare_activity(sc, read_activity(act))["overall"]["auroc"] == 0.0   # the class column wins
    act.write_text("name\tactivity\nq0\tx\n")
    with pytest.raises(YeastzoiError, match="act.tsv line 2: activity 'x' is not a number"):
        read_activity(act)
    act.write_text("name\tseq\nq0\tACGT\n")
    with pytest.raises(YeastzoiError, match="needs a header with a name column"):
        read_activity(act)


def test_default_contexts_on_r64(r64_dir):
    from yeastzoi.genome import genes_table, read_gtf
    genes = genes_table(read_gtf(r64_dir / "genes.gtf")).set_index("gene_id")
    assert len(SHORKIE_CONTEXTS) == 22
    assert sum(s == "+" for _, _, s in SHORKIE_CONTEXTS) == 10
    for gid, name, strand in SHORKIE_CONTEXTS:
        assert genes.loc[gid, "strand"] == strand, gid
        assert name == gid or genes.loc[gid, "gene_name"].upper() == name, (gid, genes.loc[gid, "gene_name"])


@pytest.mark.slow
def test_cli_mpra(world, tmp_path):
    d = world["dir"]
    fa = tmp_path / "lib.fa"
    fa.write_text("".join(f">{n}\n{s}\n" for n, s in INSERTS))
    act = tmp_path / "act.tsv"
    act.write_text("name\tactivity\ns1\t0.5\ns2\t2.0\ns3\t1.0\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_insert.py"), str(d / "params.json"),
                        str(d / "f0.h5"), str(d / "f1.h5"), str(fa), "-f", str(d / "genome.fa"), "-g",
                        str(d / "genes.gtf"), "--targets", str(d / "targets.txt"), "--mpra", "--genes", "gP,M",
                        "--distance", "40:60:20", "--tracks", "rna", "--activity", str(act), "--high-low", "0.5",
                        "-o", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sc = mpra_scores(world["models"], world["genome"], world["ctx"], INSERTS, ScoreOptions(), world["targets"],
                     distances=DISTANCES, tracks="rna")
    with h5py.File(out / "mpra.h5") as h5:
        np.testing.assert_allclose(h5["per_model"][()], sc.per_model, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h5["score"][()], sc.score, rtol=1e-5, atol=1e-6)
        assert list(h5["distances"][()]) == DISTANCES and h5.attrs["anchor"] == "centre"
    tsv = pd.read_csv(out / "mpra.tsv", sep="\t")
    assert list(tsv.columns) == ["name", "activity", "score", "d40", "d60", "gP", "gM"]
    np.testing.assert_allclose(tsv["score"], sc.score, rtol=1e-4)
    m = json.loads((out / "metrics.json").read_text())
    assert m["overall"]["n"] == 3 and m["overall"]["n_high"] == 1 and "AUROC high vs low" in r.stdout
    assert (out / "mpra.png").stat().st_size > 5000


def test_cli_construct_past_the_chromosome_end_is_one_line_before_tensorflow(world, tmp_path):
    d = world["dir"]
    fa = tmp_path / "lib.fa"
    fa.write_text("".join(f">{n}\n{s}\n" for n, s in INSERTS))
    probe = ("import atexit, runpy, sys; atexit.register(lambda: print('tf' if 'tensorflow' in sys.modules "
             "else 'no tf', flush=True)); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", probe, str(ROOT / "bin" / "yeastzoi_insert.py"), "-",
                        str(d / "f0.h5"), str(fa), "-f", str(d / "genome.fa"), "-g", str(d / "genes.gtf"),
                        "--genes", "gP,gM", "--distance", "40,3100", "--replace", "-o", str(tmp_path / "o2"), "-q"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("error:")] == [
        "error: insert s1 (20 bp) 3100 bp upstream of gene gP (+, TSS chrI:3000) runs past the start of chrI "
        "(9000 bp); use a smaller distance or another context gene"]
    assert r.stdout.splitlines() == ["no tf"]
