"""yeastzoi.report: a tiny HTML report (headings, paragraphs, tables, linked figures)."""
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from yeastzoi import YeastzoiError  # noqa: E402
from yeastzoi.report import HtmlReport  # noqa: E402


def _png(path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def test_report_tables_figures_and_escaping(tmp_path):
    fig = _png(tmp_path / "figs" / "line.png")
    df = pd.DataFrame({"name": ["a<b", "c"], "value": [0.123456, np.nan], "n": [3, 4]})
    rep = HtmlReport("QC & more")
    rep.heading("Section <1>").paragraph("x < y & z").table(df, float_format="{:.2f}").figure(fig, "a line")
    out = rep.write(tmp_path / "report.html")
    text = out.read_text()
    assert "<title>QC &amp; more</title>" in text
    assert "<h2>Section &lt;1&gt;</h2>" in text and "<p>x &lt; y &amp; z</p>" in text
    assert "<td>a&lt;b</td><td>0.12</td><td>3</td>" in text
    assert "<td>c</td><td></td><td>4</td>" in text  # NaN → empty cell
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert srcs == ["figs/line.png"]
    assert all((tmp_path / s).is_file() for s in srcs)


def test_report_max_rows_and_relative_links(tmp_path):
    fig = _png(tmp_path / "a" / "f.png")
    rep = HtmlReport("t").table(pd.DataFrame({"i": range(10)}), max_rows=3).figure(fig)
    text = rep.write(tmp_path / "b" / "r.html").read_text()
    assert text.count("<tr><td>") == 3 and "7 more rows not shown" in text
    assert '<img src="../a/f.png"' in text


def test_report_missing_figure_is_an_error(tmp_path):
    rep = HtmlReport("t").figure(tmp_path / "nope.png")
    with pytest.raises(YeastzoiError, match="nope.png does not exist"):
        rep.write(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
