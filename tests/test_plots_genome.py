"""plots_genome: gene models, logo, attention heatmap, track and motif plots; the locus
track data (interpret.locus_tracks: predicted vs observed in the same units) and the
yeastzoi_plot.py script on a random-weight 2,048 bp coverage model."""
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError

from yeastzoi import interpret

from yeastzoi.plots import genome_tracks as plots_genome

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG"


def _gtf_df():
    cols = ["chrom", "start", "end", "strand", "feature", "gene_id", "gene_name", "gene_biotype",
            "transcript_id", "frame"]
    rows = [("chrA", 200, 900, "+", "gene", "g1", "ONE", "protein_coding", "", "."),
            ("chrA", 200, 400, "+", "exon", "g1", "ONE", "protein_coding", "t1", "."),
            ("chrA", 600, 900, "+", "exon", "g1", "ONE", "protein_coding", "t1", "."),
            ("chrA", 800, 1500, "-", "gene", "g2", "TWO", "protein_coding", "", "."),
            ("chrA", 800, 1500, "-", "exon", "g2", "TWO", "protein_coding", "t2", "."),
            ("chrA", 1600, 1900, "+", "gene", "g3", "", "protein_coding", "", "."),
            ("chrB", 100, 300, "+", "gene", "g4", "FOUR", "protein_coding", "", ".")]
    return pd.DataFrame(rows, columns=cols)


def test_genes_in_window_and_bins():
    genes = plots_genome.genes_in_window(_gtf_df(), "chrA", 0, 1700)
    assert [g["name"] for g in genes] == ["ONE", "TWO", "g3"]
    assert genes[0]["exons"] == [(200, 400), (600, 900)]
    assert genes[1] == {"name": "TWO", "strand": "-", "start": 800, "end": 1500, "exons": [(800, 1500)]}
    assert genes[2]["exons"] == [(1600, 1900)]        # no exon rows: the gene span
    assert plots_genome.genes_in_window(_gtf_df(), "chrA", 2000, 3000) == []
    b = plots_genome.genes_to_bins(genes, 100, 50)
    assert b[0]["start"] == 2.0 and b[0]["end"] == 16.0 and b[0]["exons"] == [(2.0, 6.0), (10.0, 16.0)]
    assert plots_genome._lanes(genes) == [0, 1, 0]


@pytest.fixture
def table():
    rng = np.random.default_rng(1)
    n = 250
    p = rng.dirichlet(np.full(4, 0.3), n)
    df = pd.DataFrame({"chrom": "chrA", "pos": np.arange(5000, 5000 + n), "ref": list(rng.choice(list("ACGT"), n))})
    for i, b in enumerate("ACGT"):
        df[b] = p[:, i]
    df["entropy"] = interpret.entropy_bits(p)
    df["conservation"] = 2 - df["entropy"]
    return df


def test_plot_logo(table, tmp_path):
    for kw, name in (({}, "fast.png"), ({"engine": "logomaker"}, "lm.png")):
        out = plots_genome.plot_logo(table.iloc[:40], tmp_path / name, **kw)
        assert out.read_bytes()[:4] == PNG
    assert plots_genome.plot_logo(table, tmp_path / "panels.png", panel_bp=100).stat().st_size > 10_000
    assert plots_genome.plot_logo(table, tmp_path / "line.png", panel_bp=10, max_panels=5).exists()
    with pytest.raises(YeastzoiError):
        plots_genome.plot_logo(table, tmp_path / "x.png", engine="svg")
    with pytest.raises(YeastzoiError):
        plots_genome.plot_logo(table.iloc[:0], tmp_path / "x.png")


def test_draw_logo_stacks_letters():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plots_genome.draw_logo(ax, np.array([[0.1, 0.0, 1.2, 0.3]]), np.array([0.0]))
    coll = ax.collections[0]
    tops = sorted(p.vertices[:, 1].max() for p in coll.get_paths())
    np.testing.assert_allclose(tops, [0.1, 0.4, 1.6], atol=1e-9)   # stacked smallest first, zero skipped
    plt.close(fig)


def test_plot_attention(tmp_path):
    rng = np.random.default_rng(0)
    m = rng.random((2, 16, 16))
    m /= m.sum(-1, keepdims=True)
    genes = plots_genome.genes_to_bins(plots_genome.genes_in_window(_gtf_df(), "chrA", 0, 2048), 0, 128)
    assert plots_genome.plot_attention(m, genes, tmp_path / "a.png").read_bytes()[:4] == PNG
    assert plots_genome.plot_attention(m[0], [], tmp_path / "b.png", titles=["one"]).exists()
    with pytest.raises(YeastzoiError):
        plots_genome.plot_attention(m[:, :, :8], genes, tmp_path / "c.png")


def test_plot_tracks_and_motifs(tmp_path):
    rng = np.random.default_rng(0)
    pred, obs = rng.random((112, 3)), rng.random((112, 3))
    genes = plots_genome.genes_in_window(_gtf_df(), "chrA", 0, 1792)
    out = plots_genome.plot_tracks(pred, obs, genes, tmp_path / "t.png", start=0, bin_bp=16,
                                   names=["a", "b", "c"], chrom="chrA", ylabel="reads (sum) / 16 bp")
    assert out.read_bytes()[:4] == PNG
    assert plots_genome.plot_tracks(pred[:, 0], None, [], tmp_path / "t1.png").exists()
    labels = [interpret.pooled_units(s, 16) for s in ("sum_sqrt", "mean", "max")]
    assert labels == ["reads (sum) / 16 bp bin", "reads (mean per bp) / 16 bp bin", "reads (max per bp) / 16 bp bin"]
    assert plots_genome.plot_tracks(pred, obs, genes, tmp_path / "t3.png", ylabel=labels).exists()
    with pytest.raises(YeastzoiError):
        plots_genome.plot_tracks(pred, obs, genes, tmp_path / "t4.png", ylabel=labels[:2])
    with pytest.raises(YeastzoiError):
        plots_genome.plot_tracks(pred, obs[:, :2], genes, tmp_path / "t2.png")
    enr = pd.DataFrame({"motif": ["REB1", "ABF1"], "n_sites": [12, 0], "motif_C": [0.5, np.nan],
                        "flank_C": [0.3, np.nan], "pvalue": [0.01, np.nan]})
    assert plots_genome.plot_motif_enrichment(enr, tmp_path / "m.png").read_bytes()[:4] == PNG


def test_observed_like_predicted_units():
    sheet = pd.DataFrame({"identifier": ["s", "m"], "file": ["x", "y"], "scale": [2.0, 0.5],
                          "sum_stat": ["sum_sqrt", "mean"], "clip_soft": [np.nan, np.nan],
                          "clip": [65504.0, 65504.0]})
    cov = np.zeros((64, 2), np.float32)
    cov[:16] = 3.0
    cov[16:32, 0] = np.arange(16)
    cov[16:32, 1] = 5.0
    obs = interpret.observed_like_predicted(cov, sheet, 16)
    np.testing.assert_allclose(obs[:, 0], [48, 120, 0, 0], rtol=1e-5)   # bin sums of raw reads
    np.testing.assert_allclose(obs[:, 1], [3, 5, 0, 0], rtol=1e-5)      # bin means


# ----------------------------------------------------------------------------- locus + script
@pytest.fixture(scope="module")
def cov_world(tmp_path_factory):
    from yeastzoi.coverage import write_bigwig
    from yeastzoi.genome import Genome, write_fasta, write_gtf
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN
    from yeastzoi.coverage import write_targets

    d = tmp_path_factory.mktemp("plotw")
    rng = np.random.default_rng(2)
    write_fasta(d / "g.fa", [("chrA", "".join(rng.choice(list("ACGT"), 5000))),
                             ("chrB", "".join(rng.choice(list("ACGT"), 1000)))])
    write_gtf(_gtf_df(), d / "g.gtf")
    sizes = {"chrA": 5000, "chrB": 1000}
    a = np.zeros(5000, np.float32)
    a[1000:1100] = 2.0
    b = np.ones(5000, np.float32)
    write_bigwig(d / "a.bw", {"chrA": a}, sizes)
    write_bigwig(d / "b.bw", {"chrA": b, "chrB": np.ones(1000, np.float32)}, sizes)
    sheet = pd.DataFrame({"identifier": ["ta", "tb"], "file": [str(d / "a.bw"), str(d / "b.bw")],
                          "scale": [1.0, 1.0], "sum_stat": ["sum", "mean"], "description": ["A track", "B"]})
    write_targets(d / "targets.txt", sheet)
    sets = ["model.seq_length=2048", "model.trunk[6].cropping=8", "model.head.units=2"]
    params = load_params(ROOT / "json_params" / "tiny.json", overrides=sets)
    seqnn = SeqNN(params["model"])
    seqnn.save(d / "model.h5")
    return {"dir": d, "seqnn": seqnn, "genome": Genome(d / "g.fa"), "sets": sets}


def test_locus_tracks_units(cov_world):
    from yeastzoi.coverage import read_targets

    d = cov_world["dir"]
    sheet = read_targets(d / "targets.txt")
    res = interpret.locus_tracks(cov_world["seqnn"], cov_world["genome"], sheet, "chrA", 1000, 1100)
    assert res["pred"].shape == (112, 2) and res["obs"].shape == (112, 2)
    assert res["window_start"] == 1050 - 1024 and res["start"] == 26 + 8 * 16 and res["bin_bp"] == 16
    bins = res["start"] + 16 * np.arange(112)
    inside = np.minimum(bins + 16, 1100) - np.maximum(bins, 1000)
    np.testing.assert_allclose(res["obs"][:, 0], 2.0 * np.clip(inside, 0, None), rtol=1e-5)
    np.testing.assert_allclose(res["obs"][:, 1], 1.0, rtol=1e-5)
    assert np.all(res["pred"] >= 0) and res["ids"] == ["ta", "tb"]
    only = interpret.locus_tracks(cov_world["seqnn"], cov_world["genome"], sheet, "chrA", 1000, 1100,
                                  tracks=["tb"], observed=False)
    assert only["obs"] is None and only["pred"].shape == (112, 1)
    np.testing.assert_allclose(only["pred"][:, 0], res["pred"][:, 1], rtol=1e-5)
    with pytest.raises(YeastzoiError, match="not in the targets sheet"):
        interpret.locus_tracks(cov_world["seqnn"], cov_world["genome"], sheet, "chrA", 1000, 1100, tracks=["zz"])


def test_plot_script(cov_world, tmp_path):
    spec = importlib.util.spec_from_file_location("yeastzoi_plot", ROOT / "bin" / "yeastzoi_plot.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    d = cov_world["dir"]
    sets = [a for s in cov_world["sets"] for a in ("--set", s)]
    out = tmp_path / "locus.png"
    mod.main([str(ROOT / "json_params" / "tiny.json"), str(d / "model.h5"), "-f", str(d / "g.fa"),
              "--gene", "TWO", "--gtf", str(d / "g.gtf"), "--targets", str(d / "targets.txt"),
              "-o", str(out), "--rc", "-q", *sets])
    assert out.read_bytes()[:4] == PNG
    with pytest.raises(YeastzoiError, match="not in the annotation"):
        mod.main([str(ROOT / "json_params" / "tiny.json"), str(d / "model.h5"), "-f", str(d / "g.fa"),
                  "--gene", "NOPE", "--gtf", str(d / "g.gtf"), "--targets", str(d / "targets.txt"),
                  "-o", str(out), "-q", *sets])
