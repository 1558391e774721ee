#!/usr/bin/env python3
"""Build a masked-LM corpus from one or more genomes.

  yeastzoi_lm_data.py SPECIES.tsv -o lm_data
  yeastzoi_lm_data.py SPECIES.tsv -o lm_data -l 16384 --stride 4096 -t chrXII,chrXIV,chrXVI -v chrXI,chrXIII,chrXV

SPECIES.tsv: tab-separated with a header: name, fasta, and optionally gtf (exon mask) and
repeats (BED; soft-masked bases count as repeats too). The FIRST row is the reference
species: its -t/-v chromosomes are test/valid; everything else of every species is train
(minus windows homologous to valid/test). Paths are relative to the TSV's folder.
"""
import argparse
import logging


from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("species", help="SPECIES.tsv (name, fasta[, gtf, repeats]); first row = reference")
    ap.add_argument("-o", "--out", required=True, help="output data directory")
    ap.add_argument("-l", "--seq_length", type=int, range=(1, None), default=16384, help="window length, bp [16384]")
    ap.add_argument("--stride", type=int, range=(1, None), default=4096, help="bp between window starts [4096]")
    ap.add_argument("-t", "--test_chroms", default="chrXII,chrXIV,chrXVI", help="reference test chromosomes [chrXII,chrXIV,chrXVI]")
    ap.add_argument("-v", "--valid_chroms", default="chrXI,chrXIII,chrXV", help="reference valid chromosomes [chrXI,chrXIII,chrXV]")
    ap.add_argument("--limit", default=None, help="BED on the reference: keep only its windows overlapping it")
    ap.add_argument("--max_n", type=float, range=(0.0, 1.0), default=0.1, help="maximum N fraction per window [0.1]")
    ap.add_argument("--min_exon", type=float, range=(0.0, 1.0), default=0.0, help="minimum exon fraction per window [0]")
    ap.add_argument("--exon_trim", type=int, range=(0, None), default=10, help="bp trimmed from each end of every exon in the mask [10]")
    ap.add_argument("-r", "--seqs_per_tfr", type=int, range=(1, None), default=256, help="sequences per TFRecord file [256]")
    ap.add_argument("--no-homology", action="store_true", help="skip the minimap2 homology filter")
    ap.add_argument("--min_identity", type=float, range=(0.0, 1.0), default=0.8, help="homology: identity threshold [0.8]")
    ap.add_argument("--max_query_cov", type=float, range=(0.0, 1.0), default=0.1, help="homology: query coverage threshold [0.1]")
    ap.add_argument("--min_block", type=int, range=(0, None), default=0, help="homology: minimum block length for the identity rule [0]")
    ap.add_argument("--threads", type=int, range=(1, None), default=2, help="threads for minimap2 [2]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_lm_data")

    from yeastzoi.data.builders import build_lm_corpus
    with cli.progress_bars(args.quiet) as progress:
        st = build_lm_corpus(
            args.species, args.out, seq_length=args.seq_length, stride=args.stride,
            test_chroms=args.test_chroms, valid_chroms=args.valid_chroms, limit_bed=args.limit,
            max_n_frac=args.max_n, min_exon_frac=args.min_exon, exon_trim=args.exon_trim,
            homology=not args.no_homology,
            homology_kw=dict(min_identity=args.min_identity, max_query_cov=args.max_query_cov,
                             min_block=args.min_block),
            seqs_per_file=args.seqs_per_tfr, threads=args.threads, progress=progress)
    rem = st["report"]["homology_removed"]
    log.info("%s: %d species; train %d, valid %d, test %d sequences; homology removed %s; %.1f s", args.out,
             st["num_species"], st["train_seqs"], st["valid_seqs"], st["test_seqs"],
             sum(rem.values()) if rem else "none (off)" if not st["homology"] else 0, st["build_seconds"])
    return 0


if __name__ == "__main__":
    cli.run(main)
