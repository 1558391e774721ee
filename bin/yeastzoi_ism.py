#!/usr/bin/env python3
"""In-silico mutagenesis: all 3 alternative bases at every position of a region, batched.
Writes OUT/ism.h5 (one positions × 4 × targets dataset per statistic; the reference base's
entry is 0) and, with --gene, OUT/ism.png: a logo of the effect on that gene.

  yeastzoi_ism.py params.json model.h5 -f genome.fa -r chrI:142000-142200 -g genes.gtf --gene YAL005C -o out
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json ('-' = spec stored in the model)")
    cli.add_set_argument(ap)
    ap.add_argument("models", nargs="+", help="model file(s)")
    ap.add_argument("-f", "--fasta", required=True)
    ap.add_argument("-r", "--region", required=True, help="CHROM:START-END, 0-based half-open")
    ap.add_argument("-g", "--gtf", help="annotation, needed for --gene")
    ap.add_argument("--gene", help="score the effect on this gene's exon bins (id or name)")
    cli.add_scoring_arguments(ap, stats="logSED")
    ap.add_argument("--tracks", help="tracks averaged in the plot (ids/labels/indices/substrings) [all]")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "fasta", "gtf", "targets")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_ism")
    from yeastzoi.score import edit_files, edits
    from yeastzoi.score.engine import resolve_targets
    from yeastzoi.score.eqtl import select_tracks
    from yeastzoi.score.genes import find_gene, load_annotation
    from yeastzoi.model.loader import load_models
    from yeastzoi.genome import Genome, parse_region

    chrom, start, end = parse_region(args.region)
    if args.gene and not args.gtf:
        raise YeastzoiError("--gene needs -g/--gtf")
    opts = cli.scoring_options(args)
    genome = Genome(args.fasta)
    from yeastzoi.score.predict_files import resolve_regions
    ((chrom, start, end),) = resolve_regions(genome, [(chrom, start, end)])  # on the chromosome, before any work
    gene = None
    if args.gene:
        genes, exons = load_annotation(args.gtf, genome)
        gene = find_gene(genes, exons, args.gene)
    models = load_models(args.models, args.params)
    targets = None if args.no_untransform else resolve_targets(args.targets, args.models[0], models[0].meta)
    n = 3 * (end - start)
    with tqdm(total=n, unit=" mut", disable=args.quiet, desc="ISM") as bar:
        res = edits.ism(models, genome, chrom, start, end, opts, targets, gene, args.models,
                        progress=lambda k: bar.update(k))
    out = Path(args.out)
    log.info("wrote %s", edit_files.write_ism_h5(out / "ism.h5", res))
    cols = select_tracks(res, args.tracks)
    stat = opts.stats[0]
    title = f"ISM {chrom}:{start}-{end}, effect on {gene.gene_id if gene else 'nearby bins'} ({stat})"
    log.info("wrote %s", edit_files.plot_ism(res, out / "ism.png", stat, cols, title))
    return 0


if __name__ == "__main__":
    cli.run(main)
