#!/usr/bin/env python3
"""BAM → per-base coverage as bigWig (.bw/.bigwig) or w5 (.w5/.h5).

  yeastzoi_cov.py reads.bam out.bw -f genome.fa --mode 5p --shift 20
  yeastzoi_cov.py rna.bam plus.w5 -c chrom.sizes --mode all --strand + --multimap weight
"""
import argparse
import logging

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bam", help="input BAM")
    ap.add_argument("out", help="output coverage: .bw/.bigwig or .w5/.h5")
    ref = ap.add_mutually_exclusive_group(required=True)
    ref.add_argument("-c", "--chrom-sizes", help="chrom.sizes of the reference (name<TAB>length)")
    ref.add_argument("-f", "--fasta", help="reference FASTA (names and lengths from its index)")
    ap.add_argument("--mode", choices=("5p", "all"), default="5p",
                    help="5p: 1 per read at its 5' end (ChIP-exo, MNase); all: mass 1 spread "
                         "over the aligned bases (RNA-seq) [5p]")
    ap.add_argument("--shift", type=int, default=0,
                    help="move 5' ends this many bp toward the read's 3' end (mode 5p) [0]")
    ap.add_argument("--strand", choices=("+", "-", "both"), default="both",
                    help="keep reads on this strand only [both]")
    ap.add_argument("--keep-dups", action="store_true", help="count duplicate-flagged reads")
    ap.add_argument("--multimap", choices=("skip", "weight"), default="skip",
                    help="reads with NH>1: skip, or weight 1/NH [skip]")
    ap.add_argument("--min-mapq", type=int, default=0, help="minimum mapping quality [0]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_cov")
    from yeastzoi import coverage

    out = args.out.lower()
    if not out.endswith((".bw", ".bigwig", ".w5", ".h5")):
        raise YeastzoiError(f"{args.out}: output must end in .bw, .bigwig, .w5 or .h5")
    from yeastzoi.genome import Genome, read_chrom_sizes
    sizes = read_chrom_sizes(args.chrom_sizes) if args.chrom_sizes else Genome(args.fasta).chroms
    total = coverage.count_bam_records(args.bam)  # also checks the BAM opens
    with tqdm(total=total, unit=" reads", unit_scale=True,
              disable=args.quiet, desc="reading BAM") as bar:
        res = coverage.bam_to_coverage(
            args.bam, sizes, mode=args.mode, shift=args.shift,
            strand=None if args.strand == "both" else args.strand,
            skip_duplicates=not args.keep_dups, multimap=args.multimap,
            min_mapq=args.min_mapq, progress=bar.update)
    c = res.counts
    log.info("records %d, used %d (weighted multi-mappers %d); skipped: %s", c["records"],
             c["used"], c["weighted_multimappers"],
             ", ".join(f"{k} {c[k]}" for k in coverage.SKIP_REASONS if c[k]) or "none")
    if out.endswith((".bw", ".bigwig")):
        coverage.write_bigwig(args.out, res.coverage, sizes)
    else:
        coverage.write_w5(args.out, res.coverage, sizes)
    log.info("wrote %s (total mass %.1f)", args.out, res.total)
    return 0


if __name__ == "__main__":
    cli.run(main)
