"""Promoter-library datasets: (sequence, context, measured activity) rows as training records.

    stats = build_library_dataset("sim/truth/library.tsv", "genome.fa", "genes.gtf", "targets.txt",
                                  "lib_data", {"basal": "SIM_RNA_basal+"}, seq_length=16384,
                                  pool_width=16, crop_bp=1024)

**The table** (tab-separated, one row per construct; ``yeastzoi_simulate.py --library N``
writes one, a real MPRA table can be brought into this shape): ``id``; ``sequence`` (the
insert, 5′→3′ in the reporter's orientation; A/C/G/T/N); ``reporter`` (gene_id in the GTF);
``chrom``, ``strand`` (the reporter's); ``insert_start``, ``insert_end`` (the replaced
reference interval, 0-based half-open; equal for a pure insertion); ``split``
(train/valid/test); ``activity_<condition>`` (measured activity, any monotone scale, e.g.
log expression). Other columns (``tss``, ``distance``, ``activity_true_*``, ``note``) are
ignored.

**The construct** (:func:`yeastzoi.genome.constructs.construct_codes`, the one construct
builder, also used by insertion scoring): the insert, reverse-complemented for a − strand
reporter, replaces [insert_start, insert_end); the side of the window holding the reporter
gene stays at its reference coordinates (so a length change moves only the far flank). The
window is placed by :func:`yeastzoi.data.geometry.gene_window_start` (the insert inside the
input, the reporter's exons inside the output, as insertion scoring places it) and the
reporter's bins are :meth:`yeastzoi.data.geometry.Geometry.gene_mask` of that window (every
bin overlapping an exon by ≥ 1 bp: the one gene → bins rule).

**Conditions → tracks**: ``tracks`` maps each condition to a track identifier of the targets
sheet (e.g. ``basal=SIM_RNA_basal+``; an identifier without its strand suffix also matches
``ID+``). That track is read out for + strand reporters and its ``strand_pair`` partner for −
strand reporters (an unstranded track pairs with itself).

**Records** ``OUT/tfrecords/{split}-{i}.tfr`` (ZLIB ``tf.train.Example``, raw-byte features):
``sequence`` uint8 (seq_length,) construct codes A0 C1 G2 T3 N4; ``gene_mask`` uint8
(target_length,) 1 on the reporter's bins; ``tracks`` int64 (C,) the model track read out per
condition; ``activity`` float32 (C,) the measured activity per condition. ``statistics.json``
has ``"dataset": "library"``, the geometry (seq_length, target_length, pool_width, crop_bp,
num_targets of the sheet), ``conditions``, ``library_tracks`` and ``{split}_seqs``; OUT also
gets ``targets.txt`` (the sheet) and ``library_rows.tsv`` (id, split, reporter, chrom,
window_start, insert_start, insert_end, keep, gene_bins).
"""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path
from ..genome.constructs import construct_codes, oriented_insert
from .geometry import Geometry, gene_window_start
from .tfrecords import TFR_DIR, ShardWriter, remove_stale_records, write_statistics

log = logging.getLogger(__name__)

#: record features of a library dataset (name → (dtype, shape rule))
LIBRARY_FEATURES = {"sequence": "uint8 (seq_length,)", "gene_mask": "uint8 (target_length,)",
                    "tracks": "int64 (conditions,)", "activity": "float32 (conditions,)"}
REQUIRED = ("id", "sequence", "reporter", "chrom", "strand", "insert_start", "insert_end", "split")
SPLITS = ("train", "valid", "test")


def read_library_table(path) -> pd.DataFrame:
    """The library table (module docstring), checked: one-line errors name the file and row."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype={"id": str, "sequence": str, "reporter": str, "chrom": str,
                                                "strand": str, "split": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise YeastzoiError(f"{path}: cannot read the library table ({e})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise YeastzoiError(f"{path}: no column(s) {', '.join(missing)}; a library table needs "
                            f"{', '.join(REQUIRED)} and activity_<condition> columns")
    if not library_conditions(df):
        raise YeastzoiError(f"{path}: no activity_<condition> column")
    for i, row in enumerate(df.itertuples(index=False), start=2):
        seq = str(row.sequence).upper()
        if not seq or set(seq) - set("ACGTN"):
            raise YeastzoiError(f"{path} line {i}: sequence must be non-empty A/C/G/T/N")
        if row.strand not in ("+", "-"):
            raise YeastzoiError(f"{path} line {i}: strand {row.strand!r}; expected + or -")
        if row.split not in SPLITS:
            raise YeastzoiError(f"{path} line {i}: split {row.split!r}; expected train, valid or test")
        if not 0 <= int(row.insert_start) <= int(row.insert_end):
            raise YeastzoiError(f"{path} line {i}: needs 0 <= insert_start <= insert_end")
    return df


def library_conditions(df: pd.DataFrame) -> list[str]:
    """Condition names of the ``activity_<condition>`` columns (``activity_true_*`` excluded)."""
    return [c[len("activity_"):] for c in df.columns
            if c.startswith("activity_") and not c.startswith("activity_true_")]


def condition_tracks(targets_df: pd.DataFrame, tracks: dict) -> dict[str, tuple[int, int]]:
    """{condition: (track index for + reporters, index for − reporters)} (module docstring)."""
    from ..coverage import strand_pairs
    ids = [str(i) for i in targets_df["identifier"]]
    pair = strand_pairs(targets_df)
    out = {}
    for cond, ident in tracks.items():
        name = ident if ident in ids else f"{ident}+" if f"{ident}+" in ids else None
        if name is None:
            raise YeastzoiError(f"library track {cond}={ident}: no such identifier in the targets sheet "
                                f"(e.g. {', '.join(ids[:6])})")
        k = ids.index(name)
        out[cond] = (k, int(pair[k]))
    return out


def library_record(codes: np.ndarray, gene_mask: np.ndarray, tracks, activity) -> bytes:
    """One library record as serialized ``tf.train.Example`` bytes (features: module docstring)."""
    import tensorflow as tf

    def _bytes(a):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.ascontiguousarray(a).tobytes()]))

    feats = {"sequence": _bytes(np.asarray(codes, np.uint8)), "gene_mask": _bytes(np.asarray(gene_mask, np.uint8)),
             "tracks": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(t) for t in tracks])),
             "activity": _bytes(np.asarray(activity, np.float32))}
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def construct_window(genome, row, exons, geo: Geometry) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(codes (seq_length,), gene mask (target_length,) bool, window start, keep side) of one
    table row whose reporter has ``exons`` [(start, end), ...] (module docstring)."""
    lo, hi = int(row.insert_start), int(row.insert_end)
    g_lo, g_hi = min(a for a, _ in exons), max(b for _, b in exons)
    if g_lo >= hi:
        keep = "right"
    elif g_hi <= lo:
        keep = "left"
    else:
        raise YeastzoiError(f"library row {row.id}: the insert {row.chrom}:{lo}-{hi} overlaps reporter "
                            f"{row.reporter}'s exons ({g_lo}-{g_hi}); place it outside the gene")
    ins = oriented_insert(str(row.sequence), row.strand)
    ws, fits = gene_window_start((lo + hi) // 2, g_lo, g_hi, geo)
    first = hi - len(ins) if keep == "right" else lo
    if first < ws or first + len(ins) > ws + geo.seq_length:
        raise YeastzoiError(f"library row {row.id}: the {len(ins)} bp insert and reporter {row.reporter} do "
                            f"not fit one {geo.seq_length} bp window; use a longer -l or a closer reporter")
    codes = construct_codes(genome, row.chrom, lo, hi, ins, ws, geo.seq_length, keep=keep)
    mask = geo.gene_mask(ws, exons)
    if not mask.any():
        raise YeastzoiError(f"library row {row.id}: reporter {row.reporter} has no bin in the output window")
    if not fits:
        log.warning("library row %s: reporter %s does not fit the output window whole; its bins inside "
                    "it are read out", row.id, row.reporter)
    return codes, mask, ws, keep


def _reporter_exons(gtf, df: pd.DataFrame, genome) -> dict:
    from ..genome import exons_by_gene, read_gtf
    gtf_df = read_gtf(gtf)
    exons = exons_by_gene(gtf_df)
    missing = sorted(set(df["reporter"]) - set(exons))
    if missing:
        raise YeastzoiError(f"{gtf}: no exons for reporter(s) {', '.join(missing[:5])}; the table's reporter "
                            "column must name gene_ids of this annotation")
    for chrom in df["chrom"].unique():
        genome.resolve(chrom)
    return exons


def build_library_dataset(table, fasta, gtf, targets, out_dir, tracks: dict, seq_length: int = 16384,
                          pool_width: int = 16, crop_bp: int = 1024, seqs_per_file: int = 256,
                          progress=None) -> dict:
    """Write a library dataset (module docstring) to ``out_dir``; returns statistics.json's dict.

    tracks: {condition: targets-sheet identifier}; every condition must have an
    ``activity_<condition>`` column. progress: ``progress(desc, total) -> update(n)`` (:func:`yeastzoi.cli.progress_bars`) or None."""
    from ..coverage import read_targets
    from ..genome import Genome
    t0 = time.time()
    df = read_library_table(table)
    conds = library_conditions(df)
    if not tracks:
        raise YeastzoiError(f"no library tracks given; name a track per condition, e.g. "
                            f"{conds[0]}=TRACK_ID (conditions of {table}: {', '.join(conds)})")
    unknown = [c for c in tracks if c not in conds]
    if unknown:
        raise YeastzoiError(f"library tracks {', '.join(unknown)}: {table} has no activity column for them "
                            f"(conditions: {', '.join(conds)})")
    targets_df = read_targets(targets)
    cond_tracks = condition_tracks(targets_df, tracks)
    span = seq_length - 2 * crop_bp
    if crop_bp < 0 or span <= 0 or span % pool_width:
        raise YeastzoiError(f"-l {seq_length} -c {crop_bp} -w {pool_width}: the target region (l − 2c) must be "
                            "positive and a multiple of the bin width")
    geo = Geometry(seq_length, span // pool_width, pool_width)
    genome = Genome(fasta)
    exons = _reporter_exons(gtf, df, genome)
    out_dir = Path(out_dir)
    tfr = out_dir / TFR_DIR
    tfr.mkdir(parents=True, exist_ok=True)
    remove_stale_records(tfr)
    order = list(tracks)
    rows, counts = [], {}
    update = progress("library records", len(df)) if progress else None
    for split in SPLITS:
        part = df[df["split"] == split]
        with ShardWriter(tfr, split, seqs_per_file) as w:
            for row in part.itertuples(index=False):
                codes, mask, ws, keep = construct_window(genome, row, exons[row.reporter], geo)
                idx = [cond_tracks[c][0 if row.strand == "+" else 1] for c in order]
                act = [float(getattr(row, f"activity_{c}")) for c in order]
                if not np.all(np.isfinite(act)):
                    raise YeastzoiError(f"{table}: row {row.id} has a non-finite activity")
                w.write(library_record(codes, mask, idx, act))
                rows.append({"id": row.id, "split": split, "reporter": row.reporter, "chrom": row.chrom,
                             "window_start": ws, "insert_start": int(row.insert_start),
                             "insert_end": int(row.insert_end), "keep": keep, "gene_bins": int(mask.sum())})
                if update is not None:
                    update(1)
        counts[f"{split}_seqs"] = int(len(part))
    with atomic_path(out_dir / "library_rows.tsv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)
    with atomic_path(out_dir / "targets.txt") as tmp:
        shutil.copyfile(targets, tmp)
    stats = {"dataset": "library", "seq_length": int(seq_length), "seq_depth": 4, "seq_1hot": True,
             "target_length": geo.target_length, "num_targets": int(len(targets_df)), "pool_width": int(pool_width),
             "crop_bp": int(crop_bp), "conditions": order,
             "library_tracks": {c: {"identifier": tracks[c], "plus": cond_tracks[c][0], "minus": cond_tracks[c][1]}
                                for c in order},
             "table": str(Path(table).resolve()), **counts, "build_seconds": round(time.time() - t0, 2)}
    write_statistics(out_dir / "statistics.json", stats)
    return stats


__all__ = ["LIBRARY_FEATURES", "read_library_table", "library_conditions", "condition_tracks", "library_record",
           "construct_window", "build_library_dataset"]
