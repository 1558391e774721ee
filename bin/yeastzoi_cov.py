#!/usr/bin/env python3
"""BAM → per-base coverage as bigWig (.bw/.bigwig) or w5 (.w5/.h5).

  yeastzoi_cov.py reads.bam out.bw -f genome.fa --mode 5p --shift 20
  yeastzoi_cov.py rna.bam plus.w5 -c chrom.sizes --mode all --library fr-firststrand --strand +
  yeastzoi_cov.py rna.bam plus.bw -f genome.fa --mode all --library auto --gtf genes.gtf --strand +
  yeastzoi_cov.py mnase_pe.bam dyads.bw -f genome.fa --mode center --min-fragment 130 --max-fragment 200

Library types (--library; single-end reads are read 1 under every type):
  fr-firststrand   dUTP / TruSeq stranded: read 1 antisense; fragment strand = read 1 flipped
  fr-secondstrand  read 1 sense; fragment strand = read 1's strand
  unstranded       no strand; --strand is an error
  auto             measured over the genes of --gtf (sense fraction of read 1)
Without --library each record is a read of its own and --strand is its alignment strand:
on paired-end data that splits every fragment between the two strands (a warning says so).
Skipped always: unmapped, secondary, supplementary, QC-fail; duplicates unless --keep-dups.
"""
import argparse
import logging

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli

LIBRARIES = ("unstranded", "fr-firststrand", "fr-secondstrand", "auto")


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bam", help="input BAM")
    ap.add_argument("out", help="output coverage: .bw/.bigwig or .w5/.h5")
    ref = ap.add_mutually_exclusive_group(required=True)
    ref.add_argument("-c", "--chrom-sizes", help="chrom.sizes of the reference (name<TAB>length)")
    ref.add_argument("-f", "--fasta", help="reference FASTA (names and lengths from its index)")
    ap.add_argument("--mode", choices=("5p", "all", "depth", "center"), default="5p",
                    help="5p: 1 per read (per fragment, at read 1, with --library) at its 5' end "
                         "(ChIP-exo, MNase); all: mass 1 per read (per fragment with --library) "
                         "spread over the aligned bases (RNA-seq); depth: per-base read depth (bamCoverage --binSize 1); "
                         "center: 1 per proper pair at the fragment centre (MNase, paired-end) [5p]")
    ap.add_argument("--shift", type=int, range=None, default=0,
                    help="move 5' ends this many bp toward the read's 3' end (mode 5p) [0]")
    ap.add_argument("--library", choices=LIBRARIES, default=None,
                    help="library type: fragments counted once, mates on their fragment's strand "
                         "[none: each record by itself]")
    ap.add_argument("--gtf", help="GTF/GFF3 genes: measure the library type (needed by --library "
                                  "auto; with a named type, warn when the data disagree)")
    ap.add_argument("--strand", choices=("+", "-", "both"), default="both",
                    help="keep this strand only: the fragment's (transcript's) strand with "
                         "--library, else each record's own alignment strand [both]")
    ap.add_argument("--min-fragment", type=int, range=(0, None), default=0,
                    help="paired-end only: skip pairs with |TLEN| below this (bp) [0]")
    ap.add_argument("--max-fragment", type=int, range=(0, None), default=0,
                    help="paired-end only: skip pairs with |TLEN| above this (bp; 0: no bound) [0]")
    ap.add_argument("--keep-dups", action="store_true", help="count duplicate-flagged reads")
    ap.add_argument("--multimap", choices=("skip", "weight"), default="skip",
                    help="reads with NH>1: skip, or weight 1/NH [skip]")
    ap.add_argument("--min-mapq", type=int, range=(0, 255), default=0, help="minimum mapping quality [0]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "bam", "chrom_sizes", "fasta", "gtf")
    cli.check_output_file(args.out)  # writable before the BAM is read
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_cov")
    from yeastzoi import coverage

    out = args.out.lower()
    if not out.endswith((".bw", ".bigwig", ".w5", ".h5")):
        raise YeastzoiError(f"{args.out}: output must end in .bw, .bigwig, .w5 or .h5")
    if args.library == "auto" and not args.gtf:
        raise YeastzoiError("--library auto needs --gtf GENES.gtf to measure the sense fraction over genes")
    from yeastzoi.genome import Genome, read_chrom_sizes
    sizes = read_chrom_sizes(args.chrom_sizes) if args.chrom_sizes else Genome(args.fasta).chroms
    total = coverage.count_bam_records(args.bam)  # also checks the BAM opens
    library = args.library
    if args.gtf:
        check = coverage.infer_library(args.bam, args.gtf, min_mapq=args.min_mapq)
        log.info("library check: %s", check.describe())
        if library == "auto":
            if check.library is None:
                raise YeastzoiError(f"cannot tell the library type ({check.describe()}); "
                                    "name it with --library")
            library = check.library
            if library == "unstranded" and args.strand != "both":
                raise YeastzoiError(f"--strand {args.strand}: the library looks unstranded "
                                    f"({check.describe()}); drop --strand or name the library type")
        elif library is not None and not check.agrees(library):
            log.warning("--library %s, but the data look %s (%s); check the library type",
                        library, check.library, check.describe())
    strand = None if args.strand == "both" else args.strand
    library = coverage.check_coverage_options(args.mode, strand, library, args.shift, args.multimap,
                                              args.min_fragment, args.max_fragment, args.bam)
    with tqdm(total=total, unit=" reads", unit_scale=True,
              disable=args.quiet, desc="reading BAM") as bar:
        res = coverage.bam_to_coverage(
            args.bam, sizes, mode=args.mode, shift=args.shift, strand=strand,
            skip_duplicates=not args.keep_dups, multimap=args.multimap,
            min_mapq=args.min_mapq, library=library, min_fragment=args.min_fragment,
            max_fragment=args.max_fragment, progress=bar.update)
    c = res.counts
    log.info("records %d (paired %d), used %d (weighted multi-mappers %d); skipped: %s",
             c["records"], c["paired"], c["used"], c["weighted_multimappers"],
             ", ".join(f"{k} {c[k]}" for k in coverage.SKIP_REASONS if c[k]) or "none")
    if out.endswith((".bw", ".bigwig")):
        coverage.write_bigwig(args.out, res.coverage, sizes)
    else:
        coverage.write_w5(args.out, res.coverage, sizes)
    log.info("wrote %s (total mass %.1f)", args.out, res.total)
    return 0


if __name__ == "__main__":
    cli.run(main)
