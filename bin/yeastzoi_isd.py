#!/usr/bin/env python3
"""Deletion scan: delete tiles across the window around a gene and score the effect on that
gene's exon bins, to find distal regulatory elements. Writes OUT/isd.h5, OUT/isd.tsv and
OUT/isd.png.

  yeastzoi_isd.py params.json model.h5 -f genome.fa -g genes.gtf --gene YAL005C --tile 100 --step 50 -o out
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json ('-' = spec stored in the model)")
    cli.add_set_argument(ap)
    ap.add_argument("models", nargs="+", help="model file(s)")
    ap.add_argument("-f", "--fasta", required=True)
    ap.add_argument("-g", "--gtf", required=True)
    ap.add_argument("--gene", required=True, help="gene id or name")
    ap.add_argument("--tile", type=int, range=(1, None), default=100, help="deleted tile length, bp [100]")
    ap.add_argument("--step", type=int, range=(1, None), default=100, help="bp between tile starts [100]")
    cli.add_scoring_arguments(ap, stats="logSED")
    ap.add_argument("--tracks", help="tracks averaged in the plot [all]")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "fasta", "gtf", "targets")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_isd")
    from yeastzoi.score import edit_files, edits
    from yeastzoi.score.engine import resolve_targets
    from yeastzoi.score.eqtl import select_tracks
    from yeastzoi.score.genes import find_gene, load_annotation
    from yeastzoi.model.loader import load_models
    from yeastzoi.genome import Genome

    opts = cli.scoring_options(args)
    genome = Genome(args.fasta)
    genes_df, exons = load_annotation(args.gtf, genome)
    gene = find_gene(genes_df, exons, args.gene)
    models = load_models(args.models, args.params)
    targets = None if args.no_untransform else resolve_targets(args.targets, args.models[0], models[0].meta)
    L = models[0].seq_length
    with tqdm(total=max(1, (L - args.tile) // args.step + 1), disable=args.quiet, desc="deletions") as bar:
        res = edits.deletion_scan(models, genome, gene, args.tile, args.step, opts, targets,
                                  model_paths=args.models, progress=bar.update)
    out = Path(args.out)
    edit_files.write_table_h5(out / "isd.h5", res.rows, res.scores, res.target_ids, res.target_labels, res.attrs)
    edit_files.write_table_tsv(out / "isd.tsv", res.rows, res.scores, res.target_ids)
    edit_files.plot_deletion_scan(res.rows, res.scores, gene, out / "isd.png", opts.stats[0],
                                  select_tracks(res, args.tracks))
    log.info("wrote %s, isd.tsv, isd.png (%d tiles)", out / "isd.h5", len(res.rows))
    return 0


if __name__ == "__main__":
    cli.run(main)
