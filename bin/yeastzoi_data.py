#!/usr/bin/env python3
"""Build a track dataset (baskerville format) from a FASTA and a targets sheet, or from
many genomes with their own tracks (--genomes).

  yeastzoi_data.py genome.fa targets.txt -o data -f 8 -g gaps.bed -b blacklist.bed
  yeastzoi_data.py genome.fa targets.txt -o data -t chrXII,chrXIV -v chrXI -l 16384 -w 16 -c 1024
  yeastzoi_data.py --genomes genomes.tsv -o data -t chrXII,chrXIV -v chrXI

OUT gets tfrecords/{split}-{i}.tfr (split train/valid/test, or fold0..K-1 with -f K),
statistics.json, targets.txt and sequences.bed (chrom, start, end, split: the full
seq_length input window, 0-based half-open; the target region is start+crop .. end-crop).

--genomes SHEET (tab-separated: name, genome_dir, targets[, reference]; paths relative to
the sheet): splits are made on the reference genome (the row marked in `reference`, else the
first) and lifted into every genome through its coordinate map, so one reference locus has
one split in every genome. Records add a `genome` index, sequences.bed adds genome,
ref_start, ref_end, OUT adds genomes.tsv. BED options are in reference coordinates; -g
defaults to the reference folder's gaps.bed; --min_exon uses each folder's genes.gtf.
Rules: the yeastzoi.data.genomes module docstring.
"""
import argparse
import logging


from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fasta", nargs="?", help="genome FASTA (indexed, or in a writable folder)")
    ap.add_argument("targets", nargs="?", help="targets sheet (baskerville or Shorkie columns)")
    ap.add_argument("--genomes", default=None, metavar="SHEET",
                    help="many genomes with their own tracks: a sheet of name, genome_dir, targets[, reference] "
                         "(instead of FASTA TARGETS)")
    ap.add_argument("-o", "--out", required=True, help="output data directory")
    ap.add_argument("-l", "--seq_length", type=int, range=(1, None), default=16384, help="input window length, bp [16384]")
    ap.add_argument("-w", "--pool_width", type=int, range=(1, None), default=16, help="target bin width, bp [16]")
    ap.add_argument("-c", "--crop_bp", type=int, range=(0, None), default=1024, help="bp cropped from each side for targets [1024]")
    ap.add_argument("--stride", type=int, range=(1, None), default=None,
                    help="bp between window starts [seq_length - 2*crop_bp: target regions tile]")
    ap.add_argument("-t", "--test_chroms", default="", help="comma list of test chromosomes")
    ap.add_argument("-v", "--valid_chroms", default="", help="comma list of valid chromosomes")
    ap.add_argument("-f", "--folds", type=int, range=(2, None), default=None, help="K folds of chromosome arms instead of -t/-v")
    ap.add_argument("-g", "--gaps", default=None, help="gaps BED: contigs are split here (e.g. centromeres) "
                                                        "[--genomes: the reference folder's gaps.bed]")
    ap.add_argument("-u", "--umap", default=None, help="unmappable regions BED (bins clipped, long stretches split contigs)")
    ap.add_argument("--umap_frac", type=float, range=(0.0, 1.0), default=0.3, help="unmappable fraction above which a bin is clipped [0.3]")
    ap.add_argument("-b", "--blacklist", default=None, help="blacklist BED (overlapping bins clipped)")
    ap.add_argument("-r", "--seqs_per_tfr", type=int, range=(1, None), default=256, help="sequences per TFRecord file [256]")
    ap.add_argument("--limit", default=None, help="BED: keep only windows overlapping it")
    ap.add_argument("--max_n", type=float, range=(0.0, 1.0), default=0.1, help="maximum N fraction per window [0.1]")
    ap.add_argument("--gtf", default=None, help="annotation for --min_exon")
    ap.add_argument("--min_exon", type=float, range=(0.0, 1.0), default=0.0, help="minimum exon fraction per window (needs --gtf) [0]")
    ap.add_argument("--no-homology", action="store_true", help="skip the minimap2 homology filter")
    ap.add_argument("--min_identity", type=float, range=(0.0, 1.0), default=0.8, help="homology: identity threshold [0.8]")
    ap.add_argument("--max_query_cov", type=float, range=(0.0, 1.0), default=0.1, help="homology: query coverage threshold [0.1]")
    ap.add_argument("--min_block", type=int, range=(0, None), default=0, help="homology: minimum block length for the identity rule [0]")
    ap.add_argument("--seed", type=int, range=None, default=None, help="recorded in statistics.json (the build is deterministic)")
    ap.add_argument("--threads", type=int, range=(1, None), default=2, help="threads for minimap2 [2]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    if args.genomes is not None and (args.fasta or args.targets):
        raise YeastzoiError("give either FASTA TARGETS or --genomes SHEET, not both")
    if args.genomes is None and not (args.fasta and args.targets):
        raise YeastzoiError("give FASTA and TARGETS (one genome) or --genomes SHEET (many genomes)")
    if args.genomes is not None and args.gtf is not None:
        raise YeastzoiError("--gtf: with --genomes, --min_exon uses each genome folder's genes.gtf; drop --gtf")
    cli.check_inputs(args, "fasta", "targets", "genomes", "gaps", "umap", "blacklist", "limit", "gtf")  # before TF
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_data")

    kw = dict(seq_length=args.seq_length, pool_width=args.pool_width, crop_bp=args.crop_bp, stride=args.stride,
              test_chroms=args.test_chroms, valid_chroms=args.valid_chroms, folds=args.folds, gaps_bed=args.gaps,
              unmap_bed=args.umap, blacklist_bed=args.blacklist, seqs_per_file=args.seqs_per_tfr,
              limit_bed=args.limit, max_n_frac=args.max_n, min_exon_frac=args.min_exon, umap_frac=args.umap_frac,
              homology=not args.no_homology,
              homology_kw=dict(min_identity=args.min_identity, max_query_cov=args.max_query_cov,
                               min_block=args.min_block),
              seed=args.seed, threads=args.threads)
    with cli.progress_bars(args.quiet) as progress:
        if args.genomes is not None:
            from yeastzoi.data.genomes import build_genomes_track_dataset
            st = build_genomes_track_dataset(args.genomes, args.out, progress=progress, **kw)
        else:
            from yeastzoi.data.builders import build_track_dataset
            st = build_track_dataset(args.fasta, args.targets, args.out, gtf=args.gtf, progress=progress, **kw)
    counts = ", ".join(f"{k[:-5]} {v}" for k, v in st.items() if k.endswith("_seqs"))
    hom = st.get("homology")
    log.info("%s: %s sequences (%d bins x %d tracks each)%s; %.1f s", args.out, counts, st["target_length"],
             st["num_targets"], f"; homology removed {hom['removed']}" if hom else "", st["build_seconds"])
    for name, per_split in st.get("genome_seqs", {}).items():
        log.info("  %s: %s", name, ", ".join(f"{sp} {n}" for sp, n in per_split.items()))
    return 0


if __name__ == "__main__":
    cli.run(main)
