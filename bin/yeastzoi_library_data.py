#!/usr/bin/env python3
"""Build a promoter-library dataset: (sequence, context, measured activity) rows as records
the trainer reads (library-only, or mixed into coverage training with --library).

  yeastzoi_library_data.py sim/truth/library.tsv genome.fa genes.gtf targets.txt \\
      --tracks basal=SIM_RNA_basal+,stress=SIM_RNA_stress+ -o lib_data -l 16384 -w 16 -c 1024

TABLE columns: id, sequence (insert 5'->3' in the reporter's orientation), reporter (gene_id of
GTF), chrom, strand, insert_start, insert_end (replaced reference interval, 0-based), split
(train/valid/test), activity_<condition> (e.g. yeastzoi_simulate.py --library N's table).
Each row's construct (the insert, reverse-complemented on a - strand reporter, in place of the
interval; the reporter's side of the window fixed) is written with the reporter's output bins,
the model track read out per condition (--tracks COND=TRACK_ID: the track for + strand
reporters; - strand reporters read its strand_pair partner) and the activities.

OUT gets tfrecords/{split}-{i}.tfr (features sequence, gene_mask, tracks, activity),
statistics.json ("dataset": "library"), targets.txt and library_rows.tsv (one row per record:
id, split, reporter, window_start, keep side, gene bins). Rules: yeastzoi.data.library.
"""
import argparse
import logging

from yeastzoi import YeastzoiError, cli


def parse_tracks(text: str) -> dict:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        cond, sep, ident = item.partition("=")
        if not sep or not cond or not ident:
            raise YeastzoiError(f"--tracks {item!r}: expected CONDITION=TRACK_ID (comma-separated)")
        out[cond] = ident
    if not out:
        raise YeastzoiError("--tracks: name at least one CONDITION=TRACK_ID")
    return out


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", help="library table (TSV)")
    ap.add_argument("fasta", help="genome FASTA of the reporter contexts")
    ap.add_argument("gtf", help="annotation (GTF/GFF3) holding the reporter genes")
    ap.add_argument("targets", help="targets sheet of the model to train (strand_pair column for - reporters)")
    ap.add_argument("--tracks", required=True, metavar="COND=TRACK,...",
                    help="track read out per condition (activity_<COND> column), e.g. basal=SIM_RNA_basal+")
    ap.add_argument("-o", "--out", required=True, help="output data directory")
    ap.add_argument("-l", "--seq_length", type=int, range=(1, None), default=16384, help="input window length, bp [16384]")
    ap.add_argument("-w", "--pool_width", type=int, range=(1, None), default=16, help="target bin width, bp [16]")
    ap.add_argument("-c", "--crop_bp", type=int, range=(0, None), default=1024, help="bp cropped from each side [1024]")
    ap.add_argument("-r", "--seqs_per_tfr", type=int, range=(1, None), default=256, help="records per TFRecord file [256]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    tracks = parse_tracks(args.tracks)
    cli.check_inputs(args, "table", "fasta", "gtf", "targets")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    cli.own_output(args)
    from yeastzoi.data.library import build_library_dataset
    with cli.progress_bars(args.quiet) as progress:
        st = build_library_dataset(args.table, args.fasta, args.gtf, args.targets, args.out, tracks,
                                   seq_length=args.seq_length, pool_width=args.pool_width, crop_bp=args.crop_bp,
                                   seqs_per_file=args.seqs_per_tfr, progress=progress)
    counts = ", ".join(f"{k[:-5]} {v}" for k, v in st.items() if k.endswith("_seqs"))
    logging.getLogger("yeastzoi_library_data").info("%s: %s library rows, conditions %s; %.1f s", args.out_final,
                                                    counts, ", ".join(st["conditions"]), st["build_seconds"])
    return 0


if __name__ == "__main__":
    cli.run(main)
