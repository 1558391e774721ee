"""ISM, MPRA-style insertions and deletion scans: scores recomputed from model predictions on
edited windows built here (random-weight 2,048 bp model, small FASTA and GTF), and the CLIs."""
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from yeastzoi.genome.dna import codes_to_onehot, revcomp_seq, seq_to_codes
from yeastzoi.score.edit_files import read_inserts
from yeastzoi.score.edits import deletion_scan, insertion_scores, ism
from yeastzoi.score.genes import find_gene, load_annotation
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.model.params import load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.score.options import ScoreOptions
from yeastzoi.coverage import read_targets, untransform

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


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import keras
    d = tmp_path_factory.mktemp("edits")
    rng = np.random.default_rng(11)
    seq = "".join(rng.choice(list("ACGT"), size=9000))
    fasta = write_fasta(d / "genome.fa", [("chrI", seq)])
    (d / "targets.txt").write_text(TARGETS)
    (d / "genes.gtf").write_text(GTF)
    params = load_params(ROOT / "json_params" / "tiny.json",
                         [f"model.seq_length={L}", "model.trunk[6].cropping=8", "model.head.units=3"])
    (d / "params.json").write_text(json.dumps(params))
    keras.utils.set_random_seed(5)
    m = SeqNN(params["model"], meta={"target_ids": ["chip", "rna+", "rna-"], "strand_pair": [0, 2, 1]})
    m.save(d / "model.h5")
    g = Genome(fasta)
    genes, exons = load_annotation(d / "genes.gtf", g)
    return {"dir": d, "seq": seq, "genome": g, "model": m, "targets": read_targets(d / "targets.txt"),
            "genes": genes, "exons": exons}


def _pred(w, windows):
    x = np.stack([codes_to_onehot(seq_to_codes(s)) for s in windows])
    return untransform(np.asarray(w["model"].models[0](x, training=False)), w["targets"]).astype(np.float64)


def _exon_mask(ws, exons):
    b0 = ws + 128 + np.arange(112) * 16
    cov = np.zeros(112)
    for a, b in exons:
        cov += np.clip(np.minimum(b0 + 16, b) - np.maximum(b0, a), 0, 16)
    return cov > 0          # the one gene-bin rule: every bin an exon touches (>= 1 bp)


def _logsed(ref, alt, m):
    return np.log2(alt[m].sum(0) + 1) - np.log2(ref[m].sum(0) + 1)


def test_ism_matches_manual(world):
    gene = find_gene(world["genes"], world["exons"], "P")
    res = ism([world["model"]], world["genome"], "chrI", 2900, 2906, ScoreOptions(stats=["logSED"]),
              world["targets"], gene=gene)
    arr = res.scores["logSED"]
    ref = res.ref
    assert arr.shape == (6, 4, 3)
    assert np.all(arr[np.arange(6), ref] == 0)
    assert np.isnan(arr[..., 2]).all() or np.all(arr[np.arange(6), ref, 2] == 0)   # rna- off-strand
    ws = res.attrs["window_start"]
    s = world["seq"]
    m = _exon_mask(ws, gene.exons)
    for k, b in ((0, (ref[0] + 1) % 4), (5, (ref[5] + 2) % 4)):
        p = 2900 + k
        alt = s[:p] + "ACGT"[b] + s[p + 1:]
        y = _pred(world, [s[ws:ws + L], alt[ws:ws + L]])
        exp = _logsed(y[0], y[1], m)
        np.testing.assert_allclose(arr[k, b, :2], exp[:2], rtol=2e-4, atol=2e-4)
        assert np.isnan(arr[k, b, 2])
    assert np.abs(np.nan_to_num(arr)).max() > 0


def test_insertions_both_strands_and_replace(world):
    gP = find_gene(world["genes"], world["exons"], "gP")
    gM = find_gene(world["genes"], world["exons"], "gM")
    ins = [("i1", "GATTACAGATTACA"), ("i2", "CCCCGGGGAAAATTTTCCCC")]
    res = insertion_scores([world["model"]], world["genome"], [gP, gM], ins, 30,
                           ScoreOptions(stats=["logSED"]), world["targets"])
    rows, sc = res.rows, res.scores
    assert list(rows["gene_id"]) == ["gP", "gP", "gM", "gM"] and sc["logSED"].shape == (4, 3)
    s = world["seq"]
    from yeastzoi.model.geometry import Geometry, gene_window_start
    meta = Geometry.from_meta(world["model"].meta)
    # + strand gP, insert i1 before base tss-30; window end fixed (right stitching)
    cut = gP.tss - 30
    ws, _ = gene_window_start(cut - 1, 3000, 3600, meta)
    hap = s[:cut] + ins[0][1] + s[cut:]
    n = len(ins[0][1])
    y = _pred(world, [s[ws:ws + L], hap[ws + n:ws + n + L]])
    np.testing.assert_allclose(sc["logSED"][0, :2], _logsed(y[0], y[1], _exon_mask(ws, gP.exons))[:2],
                               rtol=2e-4, atol=2e-4)
    # - strand gM: reverse complement inserted before base tss+1+30; window start fixed
    cut = gM.tss + 31
    ws, _ = gene_window_start(cut, 5000, 5500, meta)
    hap = s[:cut] + revcomp_seq(ins[1][1]) + s[cut:]
    y = _pred(world, [s[ws:ws + L], hap[ws:ws + L]])
    exp = _logsed(y[0], y[1], _exon_mask(ws, gM.exons))
    np.testing.assert_allclose(sc["logSED"][3, [0, 2]], exp[[0, 2]], rtol=2e-4, atol=2e-4)
    assert np.isnan(sc["logSED"][3, 1])
    # replace mode: the 14 bp ending 30 bp upstream of gP's TSS are overwritten
    res = insertion_scores([world["model"]], world["genome"], [gP], ins[:1], 30,
                           ScoreOptions(stats=["logSED"]), world["targets"], replace=True)
    rows, sc = res.rows, res.scores
    cut = gP.tss - 30
    ws, _ = gene_window_start(cut - 14, 3000, 3600, meta)
    hap = s[:cut - 14] + ins[0][1] + s[cut:]
    y = _pred(world, [s[ws:ws + L], hap[ws:ws + L]])
    np.testing.assert_allclose(sc["logSED"][0, :2], _logsed(y[0], y[1], _exon_mask(ws, gP.exons))[:2],
                               rtol=2e-4, atol=2e-4)


def test_deletion_scan_matches_manual(world):
    gP = find_gene(world["genes"], world["exons"], "gP")
    res = deletion_scan([world["model"]], world["genome"], gP, 200, 400,
                        ScoreOptions(stats=["logSED", "SED"]), world["targets"])
    tiles, sc, ws = res.rows, res.scores, res.attrs["window_start"]
    assert list(tiles["start"]) == list(range(ws, ws + L - 200 + 1, 400))
    s = world["seq"]
    m = _exon_mask(ws, gP.exons)
    i = 0                                   # first tile: left of the gene → window end fixed
    a, b = int(tiles["start"][i]), int(tiles["end"][i])
    assert b <= 3000
    hap = s[:a] + s[b:]
    y = _pred(world, [s[ws:ws + L], hap[ws - 200:ws - 200 + L]])
    np.testing.assert_allclose(sc["logSED"][i, :2], _logsed(y[0], y[1], m)[:2], rtol=2e-4, atol=2e-4)
    j = len(tiles) - 1                      # last tile: right of the gene → window start fixed
    a, b = int(tiles["start"][j]), int(tiles["end"][j])
    assert a >= 3600
    hap = s[:a] + s[b:]
    y = _pred(world, [s[ws:ws + L], hap[ws:ws + L]])
    np.testing.assert_allclose(sc["logSED"][j, :2], _logsed(y[0], y[1], m)[:2], rtol=2e-4, atol=2e-4)
    assert bool(tiles["overlaps_exon"].any())


def test_read_inserts(tmp_path):
    fa = tmp_path / "i.fa"
    fa.write_text(">a desc\nACGT\nAC\n>b\nGG\n")
    assert read_inserts(fa) == [("a", "ACGTAC"), ("b", "GG")]
    tsv = tmp_path / "i.tsv"
    tsv.write_text("name\tsequence\nx\tACGN\n")
    assert read_inserts(tsv) == [("x", "ACGN")]
    tsv.write_text("x\tAXG\n")
    with pytest.raises(Exception, match="A/C/G/T/N"):
        read_inserts(tsv)


def test_clis(world, tmp_path):
    d = world["dir"]
    common = ["-f", str(d / "genome.fa"), "--targets", str(d / "targets.txt"), "-q"]
    py = [sys.executable]
    r = subprocess.run(py + [str(ROOT / "bin" / "yeastzoi_ism.py"), str(d / "params.json"), str(d / "model.h5"),
                             "-r", "chrI:2950-2960", "-g", str(d / "genes.gtf"), "--gene", "P",
                             "-o", str(tmp_path / "ism")] + common, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "ism" / "ism.h5") as h5:
        assert h5["logSED"].shape == (10, 4, 3) and h5.attrs["gene"] == "gP"
    assert (tmp_path / "ism" / "ism.png").stat().st_size > 2000
    (tmp_path / "ins.fa").write_text(">a\nGATTACA\n>b\nCCCGGG\n")
    r = subprocess.run(py + [str(ROOT / "bin" / "yeastzoi_insert.py"), str(d / "params.json"), str(d / "model.h5"),
                             str(tmp_path / "ins.fa"), "-g", str(d / "genes.gtf"), "--genes", "P,gM",
                             "--distance", "20", "-o", str(tmp_path / "ins")] + common,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "ins" / "insert.h5") as h5:
        assert h5["logSED"].shape == (4, 3) and [x.decode() for x in h5["insert"][()]] == ["a", "b", "a", "b"]
    r = subprocess.run(py + [str(ROOT / "bin" / "yeastzoi_isd.py"), str(d / "params.json"), str(d / "model.h5"),
                             "-g", str(d / "genes.gtf"), "--gene", "gM", "--tile", "256", "--step", "256",
                             "-o", str(tmp_path / "isd")] + common, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "isd" / "isd.h5") as h5:
        assert h5["logSED"].shape == (8, 3)
    assert (tmp_path / "isd" / "isd.png").exists()
    from yeastzoi import YeastzoiError
    with pytest.raises(YeastzoiError, match="gene nope: not in the annotation"):
        find_gene(world["genes"], world["exons"], "nope")
