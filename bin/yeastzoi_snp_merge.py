#!/usr/bin/env python3
"""Merge the scores.h5 files of `--shard i/N` runs (given in shard order) into one.

  yeastzoi_snp_merge.py out/scores.h5 out/shard1/scores.h5 out/shard2/scores.h5 ...
"""
import argparse
import logging

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="merged scores.h5 to write")
    ap.add_argument("shards", nargs="+", help="shard scores.h5 files, in shard order")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_output_file(args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from yeastzoi.score.results import merge_scores

    seen = set()
    for p in args.shards:
        if p in seen:
            raise YeastzoiError(f"{p}: given twice")
        seen.add(p)
    res = merge_scores(args.shards, args.out)
    shards = sorted({str(r) for r in [res.attrs.get("shard")] if r})
    logging.getLogger("yeastzoi_snp_merge").info("wrote %s: %d variants from %d shards %s", args.out,
                                                 len(res.variants), len(args.shards), "".join(shards))
    return 0


if __name__ == "__main__":
    cli.run(main)
