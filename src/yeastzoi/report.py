"""A tiny self-contained HTML report: headings, paragraphs, tables from DataFrames, PNG figures.

    rep = HtmlReport("yeastzoi demo")
    rep.heading("Accuracy")
    rep.paragraph("Pearson R per track on the test split.")
    rep.table(df, float_format="{:.3f}")
    rep.figure("out/figures/violin.png", "Per-track R by group.")
    rep.write("out/report.html")

Figures are linked (not embedded) by their path relative to the report's folder; a
figure file that does not exist when :meth:`HtmlReport.write` runs is an error, so a
written report never has a broken image. Text is HTML-escaped.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from . import YeastzoiError
from .fileio import write_text_atomic

_CSS = """body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.85em}
th,td{border:1px solid #ccc;padding:0.2em 0.5em;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figcaption{font-size:0.85em;color:#555}img{max-width:100%}
p.note{font-size:0.85em;color:#555}"""


class HtmlReport:
    """Collects blocks in order; :meth:`write` renders them to one HTML file."""

    def __init__(self, title: str):
        self.title = str(title)
        self._blocks: list[tuple[str, object]] = []

    def heading(self, text: str, level: int = 2) -> "HtmlReport":
        level = min(max(int(level), 1), 6)
        self._blocks.append(("raw", f"<h{level}>{html.escape(str(text))}</h{level}>"))
        return self

    def paragraph(self, text: str, note: bool = False) -> "HtmlReport":
        cls = ' class="note"' if note else ""
        self._blocks.append(("raw", f"<p{cls}>{html.escape(str(text))}</p>"))
        return self

    def table(self, df: pd.DataFrame, caption: str | None = None, float_format: str = "{:.4g}",
              max_rows: int | None = None, index: bool = False) -> "HtmlReport":
        """A DataFrame as a table; floats via ``float_format``, NaN/None as empty cells;
        at most ``max_rows`` rows (a note says how many were left out)."""
        df = df.reset_index() if index else df
        shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)

        def cell(v):
            if v is None or (isinstance(v, float) and v != v):
                return ""
            if isinstance(v, float):
                return html.escape(float_format.format(v))
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>\n"
                       for row in shown.itertuples(index=False, name=None))
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        text = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>"
        if len(shown) < len(df):
            text += f'<p class="note">{len(df) - len(shown):,} more rows not shown.</p>'
        self._blocks.append(("raw", text))
        return self

    def figure(self, path, caption: str | None = None, width: str | None = None) -> "HtmlReport":
        """A PNG (or any image) linked relative to the report's folder."""
        self._blocks.append(("figure", (Path(path), caption, width)))
        return self

    def render(self, report_dir) -> str:
        report_dir = Path(report_dir)
        parts = []
        for kind, obj in self._blocks:
            if kind == "raw":
                parts.append(obj)
                continue
            path, caption, width = obj
            if not path.is_file():
                raise YeastzoiError(f"report figure {path} does not exist; write the figure before the report")
            rel = Path(os.path.relpath(path.resolve(), report_dir.resolve())).as_posix()
            style = f' style="width:{html.escape(width)}"' if width else ""
            cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
            parts.append(f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption or rel)}"{style}>'
                         f"{cap}</figure>")
        title = html.escape(self.title)
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
                f"<style>{_CSS}</style></head>\n<body>\n<h1>{title}</h1>\n" + "\n".join(parts)
                + "\n</body></html>\n")

    def write(self, path) -> Path:
        """Render and write atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, self.render(path.parent))
        return path


__all__ = ["HtmlReport"]
