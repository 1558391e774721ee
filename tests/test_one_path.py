"""One implementation of each core path (DESIGN.md), checked across tools.

1. A species-conditioned LM (2 species; the R64-like reference is the SECOND, index 1) and a
   track model fine-tuned from its trunk for species 1: prediction (the yeastzoi_predict.py
   script end-to-end), variant scoring (its reference window), evaluation, attention and LM
   conservation all feed the model the same input for one window — species channel 1 from
   the model's stored metadata — and get the same output; ``--species`` naming the other
   genome moves the channel everywhere.
2. Gene-level evaluation and gene-level variant scoring use the same bins for a gene whose
   exons cover bins partially.
Tiny random-weight 2,048 bp models; every prediction is recorded where all of them pass
(:meth:`yeastzoi.model.predictor.Predictor.map_batches`).
"""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import cli
from yeastzoi.genome import Genome, model_input, write_fasta
from yeastzoi.model.geometry import Geometry
from yeastzoi.model.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]
L, WS = 2048, 4000                      # the window: input [4000, 6048), output bins [4128, 5920)
SPECIES = ["k_lactis", "s288c"]          # R64-like reference second


def _record(monkeypatch):
    """Record (x, y) of every batch any predictor runs (y None for non-array outputs)."""
    calls = []
    original = Predictor.map_batches

    def spy(self, fn, x):
        y = original(self, fn, x)
        calls.append((np.array(x), np.array(y) if isinstance(y, np.ndarray) else None))
        return y
    monkeypatch.setattr(Predictor, "map_batches", spy)
    return calls


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import keras

    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN

    d = tmp_path_factory.mktemp("onepath")
    rng = np.random.default_rng(5)
    seq = "".join(rng.choice(list("ACGT"), size=12000))
    fasta = write_fasta(d / "genome.fa", [("chrI", seq)])
    meta = {"species": SPECIES, "species_index": 1, "target_species": "s288c"}
    keras.utils.set_random_seed(1)
    lm_spec = load_params(ROOT / "json_params" / "tiny_lm.json", [f"model.seq_length={L}"])["model"]
    lm = SeqNN(lm_spec, num_features=7, meta={**meta, "task": "self-supervised"})
    lm.save(d / "lm" / "model.h5")
    ft_spec = load_params(ROOT / "json_params" / "tiny.json",
                          [f"model.seq_length={L}", "model.trunk[6].cropping=8", "model.head.units=3"])["model"]
    ft = SeqNN(ft_spec, num_features=7, meta={**meta, "task": "fine-tune", "target_ids": ["a", "b", "c"]})
    ft.restore(d / "lm" / "model.h5", trunk=True)     # "fine-tuned" from the LM's trunk
    ft.save(d / "ft" / "model.h5")
    data = _track_data(d / "data", seq)
    return {"dir": d, "seq": seq, "fasta": fasta, "lm": d / "lm" / "model.h5", "ft": d / "ft" / "model.h5",
            "data": data}


def _track_data(d, seq):
    """A data dir whose one test record is the window [WS, WS + L)."""
    from yeastzoi.coverage import write_targets
    from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_sequences_bed, write_statistics
    from yeastzoi.genome import seq_to_codes

    with ShardWriter(d / "tfrecords", "test", seqs_per_file=2) as w:
        w.write(serialize_example(seq_to_codes(seq[WS:WS + L]),
                                  np.random.default_rng(0).gamma(2, 1, (112, 3)).astype(np.float16)))
    write_targets(d / "targets.txt", pd.DataFrame({"identifier": ["a", "b", "c"], "file": ["x", "y", "z"]}))
    write_sequences_bed(d / "sequences.bed", pd.DataFrame([("chrI", WS, WS + L, "test")],
                                                          columns=["chrom", "start", "end", "split"]))
    write_statistics(d / "statistics.json", {"seq_length": L, "target_length": 112, "num_targets": 3,
                                             "pool_width": 16, "crop_bp": 128, "test_seqs": 1})
    return d


def _run_tools(world, tmp_path, monkeypatch, species):
    """Inputs and outputs of every tool for the window; ``species`` as --species (None: stored)."""
    from yeastzoi import interpret
    from yeastzoi.evaluate import evaluate_tracks
    from yeastzoi.model.loader import load_model
    from yeastzoi.score.options import ScoreOptions
    from yeastzoi.score.snps import score_variants
    from yeastzoi.score.variants import Variant

    calls = _record(monkeypatch)
    genome = Genome(world["fasta"])
    out = {}
    # prediction: the script, end to end (one window: its output bins are the region)
    spec = importlib.util.spec_from_file_location("predict_cli", ROOT / "bin" / "yeastzoi_predict.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv = ["-", str(world["ft"]), "-f", str(world["fasta"]), "--region", f"chrI:{WS + 128}-{WS + 1920}",
            "-o", str(tmp_path / f"pred_{species}"), "--no-untransform", "-q"]
    assert cli.call(mod.main, argv + (["--species", species] if species else [])) == 0
    out["predict"] = calls[-1]
    import pyBigWig
    bw = pyBigWig.open(str(tmp_path / f"pred_{species}" / "a.bw"))
    out["predict_bigwig"] = np.array([v for _, _, v in bw.intervals("chrI")], np.float32)
    bw.close()
    ft = Predictor(load_model(world["ft"]), species=species)
    # variant scoring: the SNV's window is [WS, WS + L); its first sequence is the reference
    p0 = WS + L // 2 - 1
    ref = world["seq"][p0]
    score_variants(ft, genome, [Variant("v", "chrI", p0 + 1, ref, "A" if ref != "A" else "C")],
                   ScoreOptions(stats=["SAD"], untransform=False))
    x, y = calls[-1]
    out["snp"] = (x[:1], y[:1])
    # evaluation of the data dir's one record (the same window)
    evaluate_tracks(ft, world["data"], "test")
    out["eval"] = calls[-1]
    # attention of the track model and of the LM for the window centred on [5000, 5048)
    interpret.window_attention(ft, genome, "chrI", 5000, 5048)
    out["attention"] = calls[-1]
    lm = Predictor(load_model(world["lm"]), species=species)
    interpret.window_attention(lm, genome, "chrI", 5000, 5048)
    out["lm_attention"] = calls[-1]
    n = len(calls)
    interpret.conservation(lm, genome, "chrI", 5000, 5048)        # one chunk: window [WS, WS + L)
    out["conservation"] = calls[n:]
    return out


@pytest.mark.parametrize("species,channel", [(None, 1), ("k_lactis", 0)])
def test_every_tool_feeds_the_same_window(world, tmp_path, monkeypatch, species, channel):
    from yeastzoi.genome import seq_to_codes

    out = _run_tools(world, tmp_path, monkeypatch, species)
    want = model_input(seq_to_codes(world["seq"][WS:WS + L]), 7, channel)[None]
    assert want[0, :, 5 + channel].min() == 1 and want[0, :, 5 + 1 - channel].max() == 0
    for tool in ("predict", "snp", "eval", "attention", "lm_attention"):
        np.testing.assert_array_equal(out[tool][0], want, err_msg=tool)
    y = out["predict"][1]
    for tool in ("snp", "eval"):
        assert np.abs(out[tool][1] - y).max() < 1e-5, tool
    assert np.abs(out["predict_bigwig"] - y[0, :, 0]).max() < 1e-5
    # conservation: the same window, DNA masked at each round's positions, species channel set
    for x, _ in out["conservation"]:
        masked = x[..., 4] == 1
        assert masked.any(axis=1).all()
        np.testing.assert_array_equal(x[..., 5:], np.broadcast_to(want[..., 5:], x[..., 5:].shape))
        np.testing.assert_array_equal(np.where(masked[..., None], 0, want[..., :4]), x[..., :4])
    if species is not None:                       # another channel: another prediction
        from yeastzoi.model.loader import load_model
        x1 = model_input(seq_to_codes(world["seq"][WS:WS + L]), 7, 1)[None]
        assert np.abs(Predictor(load_model(world["ft"])).predict(x1)[0] - y).max() > 1e-6


def test_species_rule_errors_in_one_line(world):
    """A multi-species model naming no target species: one-line error, no channel 0."""
    from yeastzoi import YeastzoiError
    from yeastzoi.model.loader import resolve_species

    meta = {"num_features": 7, "species": SPECIES}
    with pytest.raises(YeastzoiError, match="2 species channels but its metadata names no target species") as e:
        resolve_species(meta)
    assert "\n" not in str(e.value)
    assert resolve_species(meta, "s288c") == 1 and resolve_species({**meta, "species_index": 1}) == 1
    assert resolve_species({"num_features": 6}) == 0 and resolve_species({"num_features": 5}) is None


def test_gene_bins_shared_by_evaluation_and_scoring(tmp_path):
    """A gene whose exons touch bins partially: gene-level evaluation (gene_exon_bins) and
    gene-level variant scoring (score_variant_genes) use the same bins of the same window."""
    from yeastzoi.evaluate import GeneSums, gene_exon_bins
    from yeastzoi.score.engine import gene_readout
    from yeastzoi.score.options import ScoreOptions
    from yeastzoi.score.snps import score_variant_genes
    from yeastzoi.score.variants import Variant

    geo = Geometry(seq_length=L, target_length=112, pool_width=16)    # bins from 4128, 16 bp
    # exon bp in bins: 5 in bin 0; 8, 16, 16, 16, 4 in bins 4-8; 2 in bin 10
    exons = [(4130, 4135), (4200, 4260), (4301, 4303)]
    bins = [0, 4, 5, 6, 7, 8, 10]
    windows = pd.DataFrame({"chrom": ["chrI"], "start": [WS], "end": [WS + L]})
    gb = gene_exon_bins({"g": exons}, {"g": "chrI"}, windows, geo)
    (row, eval_bins), = gb.by_window[0]
    assert list(eval_bins) == bins
    mask, _ = gene_readout(geo, WS, exons, "+", np.array(["."]))
    assert list(np.flatnonzero(mask)) == bins
    # scoring through the engine with a model whose bin b predicts (b + 1) × (number of A)
    meta = {"seq_length": L, "target_length": 112, "pool_width": 16, "crop_bp": 128, "num_targets": 1,
            "num_features": 4}

    def count_a(x):
        return (np.arange(1, 113, dtype=np.float32)[None, :, None] * x[:, :, 0].sum(1)[:, None, None])

    rng = np.random.default_rng(2)
    seq = "".join(rng.choice(list("ACGT"), size=9000))
    genome = Genome(write_fasta(tmp_path / "g.fa", [("chrI", seq)]))
    p0 = WS + L // 2 - 1                       # the variant window starts at WS
    ref = seq[p0]
    alt, delta = ("A", 1) if ref != "A" else ("C", -1)
    genes = pd.DataFrame({"chrom": ["chrI"], "start": [4130], "end": [4303], "strand": ["+"], "gene_id": ["g"],
                          "gene_name": ["G"], "tss": [4130]})
    res = score_variant_genes(Predictor(count_a, meta), genome, [Variant("v", "chrI", p0 + 1, ref, alt)], genes,
                              {"g": exons}, ScoreOptions(stats=["SED"], untransform=False))
    assert res.stats["SED"][0, 0] == pytest.approx(delta * sum(b + 1 for b in bins))
    sums = GeneSums(gb, 1)
    sums.update(0, np.arange(1, 113, dtype=np.float64)[:, None], np.zeros((112, 1)))
    assert sums.pred[0, 0] == pytest.approx(abs(res.stats["SED"][0, 0]))
