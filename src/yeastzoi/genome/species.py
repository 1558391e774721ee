"""The species sheet (SPECIES.tsv): the genomes of a multi-genome run, reference first.

Tab-separated with a header line: ``name``, ``fasta`` and optionally ``gtf`` (annotation)
and ``repeats`` (a BED). ``#`` lines and blank lines are skipped. The FIRST row is the
reference species (its chromosomes provide valid/test for an LM corpus). Relative paths
are taken relative to the sheet's folder. Every problem is one :class:`YeastzoiError`
naming the sheet (and the line) and the fix.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from yeastzoi import YeastzoiError

SPECIES_COLUMNS = ("name", "fasta", "gtf", "repeats")
_HEADER_HINT = "name<TAB>fasta, optionally gtf and repeats"


def _sheet_lines(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise YeastzoiError(f"{path}: not a text file; the species sheet is tab-separated text "
                            f"({_HEADER_HINT})") from None
    return [(i, [f.strip() for f in line.rstrip("\r").split("\t")]) for i, line in enumerate(text.split("\n"), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_species_table(path) -> pd.DataFrame:
    """Read SPECIES.tsv → DataFrame (name, fasta, gtf, repeats; absolute paths, "" where a
    file is not given), rows in sheet order.

    Errors (one line each): a missing sheet; an empty sheet or one with only a header; a
    header without ``name`` or ``fasta`` or with a column twice; a row with more fields
    than the header; an empty name or fasta; a species name used twice; a listed file that
    does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: species table not found; check the path")
    lines = _sheet_lines(path)
    if not lines:
        raise YeastzoiError(f"{path}: empty species sheet; write a header line ({_HEADER_HINT}) and one "
                            f"row per genome, the reference first")
    hline, header = lines[0]
    for need in ("name", "fasta"):
        if need not in header:
            raise YeastzoiError(f"{path}:{hline}: missing column '{need}'; the header needs {_HEADER_HINT} "
                                f"(tab-separated)")
    if len(set(header)) != len(header):
        raise YeastzoiError(f"{path}:{hline}: a column appears twice in the header; keep one of each")
    if len(lines) == 1:
        raise YeastzoiError(f"{path}: no species rows; add one row per genome below the header (the first "
                            f"is the reference)")
    rows, seen = [], {}
    for ln, fields in lines[1:]:
        if len(fields) > len(header):
            raise YeastzoiError(f"{path}:{ln}: {len(fields)} tab-separated fields but the header has "
                                f"{len(header)}; separate columns with single tabs")
        row = dict(zip(header, fields + [""] * (len(header) - len(fields))))
        for need in ("name", "fasta"):
            if not row[need]:
                raise YeastzoiError(f"{path}:{ln}: empty {need}; give every genome a name and a FASTA")
        if row["name"] in seen:
            raise YeastzoiError(f"{path}:{ln}: species name '{row['name']}' repeats line {seen[row['name']]}; "
                                f"names must be unique")
        seen[row["name"]] = ln
        rows.append([row["name"]] + [_absolute(path, ln, col, row.get(col, "")) for col in SPECIES_COLUMNS[1:]])
    return pd.DataFrame(rows, columns=list(SPECIES_COLUMNS))


def _absolute(sheet: Path, ln: int, col: str, value: str) -> str:
    if not value:
        return ""
    p = Path(value).expanduser()
    p = p if p.is_absolute() else sheet.parent / p
    if not p.exists():
        raise YeastzoiError(f"{sheet}:{ln}: {col} file {value} not found (paths are relative to the "
                            f"sheet's folder); fix the path")
    return str(p)
