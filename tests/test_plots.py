"""Plots: files are written atomically, are real PNG/PDF images, and handle NaN / tiny groups."""
import numpy as np
import pytest

from yeastzoi import figures as plots
from yeastzoi.fileio import save_figure

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    import matplotlib.image as mpimg
    return mpimg.imread(path).shape


def test_violin_by_group(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0.2, 0.8, 30), rng.uniform(0.0, 0.4, 10), [0.5], [np.nan, np.nan]])
    groups = ["RNA"] * 30 + ["ChIP"] * 10 + ["MNase"] + ["empty", "empty"]
    out = plots.violin_by_group(values, groups, tmp_path / "v.png", title="test")
    assert out == tmp_path / "v.png"
    assert out.read_bytes()[:8] == PNG
    h, w, _ = _png_size(out)
    assert h > 200 and w > 300
    assert [p.name for p in tmp_path.iterdir()] == ["v.png"]     # no temporary left behind
    pdf = plots.violin_by_group(values, groups, tmp_path / "v.pdf", order=["RNA", "ChIP"])
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_scatter_compare(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 50)
    b = a - 0.1 + rng.normal(0, 0.05, 50)
    b[3] = np.nan
    out = plots.scatter_compare(a, b, tmp_path / "s.png", xlabel="fine-tuned", ylabel="scratch",
                                groups=["g1"] * 25 + ["g2"] * 25)
    assert out.read_bytes()[:8] == PNG
    h, w, _ = _png_size(out)
    assert abs(h - w) < 0.25 * w          # square axes (aspect equal, diagonal)
    out2 = plots.scatter_compare([np.nan], [np.nan], tmp_path / "empty.png")
    assert out2.read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="pair up"):
        plots.scatter_compare([1, 2], [1], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_grouped_bars(tmp_path):
    import pandas as pd
    df = pd.DataFrame({"LM": [1.2, 1.1, np.nan], "Markov-5": [1.3, 1.25, 1.32]},
                      index=["all", "genic", "intergenic"])
    out = plots.grouped_bars(df, tmp_path / "b.png", ylabel="CE (nats)", title="t")
    assert out.read_bytes()[:8] == PNG
    h, w, _ = _png_size(out)
    assert w > 300 and h > 200


def test_save_failure_leaves_nothing(tmp_path):
    fig, ax = plots.new_figure()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "x.notaformat")
    assert list(tmp_path.iterdir()) == []
