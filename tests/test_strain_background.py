"""Scoring variants on a strain's haplotype (yeastzoi_snp.py / yeastzoi_snpgene.py --background
VCF --sample NAME), with a motif-counting toy model whose scores are exact counts."""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi.genome import codes_to_seq, write_fasta
from yeastzoi.score.results import read_scores_h5

ROOT = Path(__file__).resolve().parents[1]
MOTIF = "TGACTC"
M1, M2 = 1000, 1600            # 0-based starts of the two planted motifs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 3 kb chromosome with two planted motifs and a model whose output bin b is the number
    of exact MOTIF matches starting in it (Conv1D one-hot match, ReLU(score - 5), average pool
    16 bp, × 16): 512 bp input, 24 bins of 16 bp."""
    import keras

    from yeastzoi.model.seqnn import SeqNN

    d = tmp_path_factory.mktemp("bg")
    rng = np.random.default_rng(11)
    seq = list(codes_to_seq(rng.integers(0, 4, 3000).astype(np.uint8)))
    for p in (M1, M2):
        seq[p:p + 6] = MOTIF
    seq = "".join(seq)
    assert seq.count(MOTIF) == 2
    fa = write_fasta(d / "ref.fa", [("chrI", seq)])
    spec = {"seq_length": 512, "activation": "linear", "norm_type": None,
            "trunk": [{"name": "Conv1D", "filters": 1, "kernel_size": 6, "padding": "same", "activation": "relu"},
                      {"name": "AveragePooling1D", "pool_size": 16}, {"name": "Cropping1D", "cropping": 4}],
            "head": {"name": "final", "units": 1, "activation": "linear"}}
    keras.utils.set_random_seed(0)
    seqnn = SeqNN(spec, meta={"target_ids": ["rna"]})
    conv = next(l for l in seqnn.model.layers if l.name.startswith("conv1d"))
    k = np.zeros((6, 4, 1), np.float32)
    for i, b in enumerate(MOTIF):
        k[i, "ACGT".index(b), 0] = 1
    conv.set_weights([k, np.array([-5.0], np.float32)])
    dense = next(l for l in seqnn.model.layers if l.name.startswith("dense"))
    dense.set_weights([np.array([[16.0]], np.float32), np.zeros(1, np.float32)])
    model = seqnn.save(d / "model.h5")
    flip = {"A": "G", "C": "A", "G": "T", "T": "C"}
    # scored variants (reference coordinates): V1 breaks motif 1, V2 breaks motif 2,
    # V3 sits where strain S1 carries its own allele
    variants = d / "variants.vcf"
    variants.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n" + "".join(
        f"chrI\t{p + 1}\t{n}\t{seq[p]}\t{flip[seq[p]]}\n" for n, p in (("V1", M1 + 2), ("V2", M2 + 2), ("V3", M1 + 4))))
    # strain S1 already lost motif 1 (another base of it changed) and has 7 bp inserted between
    # the motifs (inside V2's window); S2 carries only a far-away SNV
    bg = d / "strains.vcf"
    ins = seq[1500] + "ACGTACG"
    bg.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
                  f"chrI\t{M1 + 5}\t.\t{seq[M1 + 4]}\tA\t.\tPASS\t.\tGT\t1/1\t0/0\n"
                  f"chrI\t1501\t.\t{seq[1500]}\t{ins}\t.\tPASS\t.\tGT\t1/1\t0/0\n"
                  f"chrI\t2901\t.\t{seq[2900]}\t{flip[seq[2900]]}\t.\tPASS\t.\tGT\t0/0\t1/1\n")
    gtf = d / "genes.gtf"
    gtf.write_text("".join(f'chrI\tt\t{f}\t{a}\t{b}\t.\t+\t.\tgene_id "G{i}"; transcript_id "T{i}"; '
                           f'gene_name "G{i}"; gene_biotype "protein_coding";\n'
                           for i, (a, b) in enumerate(((M1 - 40, M1 + 60), (M2 - 40, M2 + 60)), 1)
                           for f in ("gene", "transcript", "exon")))
    return fa, model, variants, bg, gtf


def run(script, capsys, *args):
    from yeastzoi import cli

    spec = importlib.util.spec_from_file_location(f"{script}_bg", ROOT / "bin" / f"{script}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    capsys.readouterr()
    rc = cli.call(mod.main, [str(a) for a in args])
    return rc, capsys.readouterr().err


def scores(out, stat):
    res = read_scores_h5(out / "scores.h5")
    return {v.id: (v.pos, float(x)) for v, x in zip(res.variants, res.stats[stat][:, 0])}, res


def test_background_changes_the_score_only_where_the_strain_lost_the_motif(world, tmp_path, capsys):
    fa, model, variants, bg, gtf = world
    base = ["-", model, variants, "-f", fa, "--no-untransform", "--stats", "SAD", "-q"]
    rc, err = run("yeastzoi_snp", capsys, *base, "-o", tmp_path / "ref")
    assert rc == 0, err
    ref, _ = scores(tmp_path / "ref", "SAD")
    assert ref == {"V1": (M1 + 3, -1.0), "V2": (M2 + 3, -1.0), "V3": (M1 + 5, -1.0)}   # each breaks one motif
    rc, err = run("yeastzoi_snp", capsys, *base, "-o", tmp_path / "s1", "--background", bg, "--sample", "S1")
    assert rc == 0, err
    s1, res = scores(tmp_path / "s1", "SAD")
    # S1 already lost motif 1: V1 changes nothing there; V2 still breaks motif 2 (7 bp downstream in
    # the strain, reported at its reference position); V3 is S1's own site: not scored, listed
    assert s1 == {"V1": (M1 + 3, 0.0), "V2": (M2 + 3, -1.0)}
    assert res.attrs["background_sample"] == "S1" and res.attrs["background_skipped"] == 1
    skipped = pd.read_csv(tmp_path / "s1" / "background_skipped.tsv", sep="\t")
    assert skipped[["id", "reason"]].values.tolist() == [["V3", "the strain carries another allele"]]
    rc, err = run("yeastzoi_snp", capsys, *base, "-o", tmp_path / "s2", "--background", bg, "--sample", "S2")
    assert rc == 0, err
    assert scores(tmp_path / "s2", "SAD")[0] == ref                       # S2's variant lies outside every window
    # gene level: logSED over the gene's bins, log2(0 + 1) - log2(1 + 1) = -1 on the reference, 0 in S1
    gbase = ["-", model, variants, "-f", fa, "-g", gtf, "--no-untransform", "--stats", "logSED", "-q"]
    rc, err = run("yeastzoi_snpgene", capsys, *gbase, "-o", tmp_path / "g_ref")
    assert rc == 0, err
    rc, err = run("yeastzoi_snpgene", capsys, *gbase, "-o", tmp_path / "g_s1", "--background", bg, "--sample", "S1")
    assert rc == 0, err
    for out, want in ((tmp_path / "g_ref", {("V1", "G1"): -1.0, ("V2", "G2"): -1.0, ("V3", "G1"): -1.0}),
                      (tmp_path / "g_s1", {("V1", "G1"): 0.0, ("V2", "G2"): -1.0})):
        res = read_scores_h5(out / "scores.h5")
        got = {(res.variants[si].id, g): round(float(x), 6) for si, g, x in
               zip(res.pairs["si"], res.pairs["gene_id"], res.stats["logSED"][:, 0]) if g in ("G1", "G2")}
        got = {k: v for k, v in got.items() if (k[0], k[1]) in want}
        assert got == want, out


def test_background_bad_inputs_one_line(world, tmp_path, capsys):
    fa, model, variants, bg, gtf = world
    base = ["-", model, variants, "-f", fa, "--no-untransform", "-o", tmp_path / "o"]
    for extra, msg in ((["--background", bg], "--background needs --sample"),
                       (["--background", bg, "--sample", "S7"], "sample(s) S7 not in the VCF"),
                       (["--sample", "S1"], "give --background")):
        rc, err = run("yeastzoi_snp", capsys, *base, *extra)
        lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert rc == 2 and len(lines) == 1 and msg in lines[0], (extra, err)
    assert not (tmp_path / "o" / "scores.h5").exists()
