#!/usr/bin/env python3
"""Corpus QC: per-genome statistics, MinHash distances, a tree, and (with --corpus) the
homology of train to held-out windows, with OUT/report.html.

  yeastzoi_corpus_qc.py SPECIES.tsv -o qc_out
  yeastzoi_corpus_qc.py SPECIES.tsv -o qc_out -l 16384 --stride 4096 --corpus lm_data -k 21

SPECIES.tsv: tab-separated with a header: name, fasta, and optionally gtf and repeats (as
for yeastzoi_lm_data.py; the first row is the reference species). Writes genomes.tsv,
windows.tsv.gz, distances.tsv, distance_matrix.tsv, tree.nwk, homology_*.tsv, figures/
and report.html. Every definition is stated in the report and in `pydoc yeastzoi.corpus.stats`.
"""
import contextlib

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("species", help="SPECIES.tsv (name, fasta[, gtf, repeats]); first row = reference")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("-l", "--seq_length", type=int, range=(1, None), default=16384, help="window length, bp [16384]")
    ap.add_argument("--stride", type=int, range=(1, None), default=4096, help="bp between window starts [4096]")
    ap.add_argument("--corpus", default=None, help="LM corpus folder (yeastzoi_lm_data.py output) for the homology report")
    ap.add_argument("-k", "--ksize", type=int, range=(1, 32), default=21, help="k-mer size of the MinHash sketches [21]")
    ap.add_argument("--scaled", type=int, range=(1, None), default=1000, help="sourmash scaled value (keep ~1/scaled of k-mers) [1000]")
    ap.add_argument("--max_n", type=float, range=(0.0, 1.0), default=0.1, help="windows with a larger N fraction are dropped [0.1]")
    ap.add_argument("--dust_level", type=float, range=(0, None), default=20, help="DUST level; a 64 bp window is low-complexity "
                    "when its score exceeds level/10 [20]")
    ap.add_argument("-t", "--test_chroms", default="chrXII,chrXIV,chrXVI", help="reference test chromosomes")
    ap.add_argument("-v", "--valid_chroms", default="chrXI,chrXIII,chrXV", help="reference valid chromosomes")
    ap.add_argument("--threads", type=int, range=(1, None), default=2, help="threads for minimap2 [2]")
    args = ap.parse_args(argv)
    cli.own_output(args)  # -o checked, locked and staged before any work
    cli.setup_logging(args)
    bars = []

    def progress(desc, total):
        bar = tqdm(total=total, desc=desc, disable=args.quiet)
        bars.append(bar)
        return bar.update

    from yeastzoi.corpus import run_corpus_qc
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [b.close() for b in bars])
        res = run_corpus_qc(args.species, args.out, seq_length=args.seq_length, stride=args.stride,
                            corpus=args.corpus, ksize=args.ksize, scaled=args.scaled, max_n_frac=args.max_n,
                            dust_level=args.dust_level, test_chroms=args.test_chroms.split(","),
                            valid_chroms=args.valid_chroms.split(","), threads=args.threads, progress=progress)
    g = res["genomes"]
    for r in g.itertuples(index=False):
        print(f"{r.name}: {r.length_bp:,} bp, GC {100 * r.gc:.2f} %, {r.genes:,} genes, coding {100 * r.coding_frac:.2f} %, "
              f"repeats {100 * r.repeat_frac:.2f} %, genes/window median {r.genes_per_window_overlap_median:g} "
              f"(overlap)")
    print(f"report: {res['report']}")
    return 0


if __name__ == "__main__":
    cli.run(main)
