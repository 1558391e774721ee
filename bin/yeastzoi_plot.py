#!/usr/bin/env python3
"""Predicted vs observed coverage at a locus, with gene models.

  yeastzoi_plot.py params.json model.h5 -f genome.fa --gene RPL3 --gtf genes.gtf --targets targets.txt -o rpl3.png
  yeastzoi_plot.py params.json model.h5 -f genome.fa --region chrI:140000-150000 --gtf genes.gtf \\
      --targets targets.txt --tracks rna_plus,chipexo_REB1 -o locus.png --rc

Plots the output window centred on the region or gene (target_length bins of pool_width
bp). Both lines are in the same units: predictions are untransformed with the targets
sheet; observed coverage is read from the sheet's files and put through the sheet's
transform and its inverse, i.e. the raw reads pooled per bin like the training targets
(bin sum for sum* tracks, bin mean for mean* tracks; scale undone; clip applied).
"""
from pathlib import Path

from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("model", help="coverage model (.h5 / .keras)")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", metavar="CHROM:START-END", help="0-based half-open region")
    where.add_argument("--gene", help="gene name or id")
    ap.add_argument("--gtf", required=True, help="annotation (GTF/GFF3) for gene models")
    ap.add_argument("--targets", required=True, help="targets sheet the model was trained with")
    ap.add_argument("-o", "--out", required=True, help="output image (.png / .pdf / .svg)")
    ap.add_argument("--tracks", help="comma-separated track identifiers [all, at most 12 shown]")
    ap.add_argument("--rc", action="store_true", help="average forward and reverse-complement predictions")
    ap.add_argument("--no-observed", action="store_true", help="predictions only")
    ap.add_argument("--species", help="species name or index for species-conditioned models [the model's stored target species]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "fasta", "gtf", "targets")  # before TensorFlow loads
    cli.check_output_file(args.out)
    args.params = cli.effective_params_path(args, args.out)
    cli.setup_logging(args)
    import logging

    from yeastzoi import interpret

    from yeastzoi.plots import genome_tracks as plots_genome
    from yeastzoi.genome import Genome, read_gtf
    from yeastzoi.model.loader import load_model
    from yeastzoi.model.predictor import Predictor
    from yeastzoi.coverage import read_targets

    log = logging.getLogger("yeastzoi_plot")
    genome = Genome(args.fasta)
    gtf = read_gtf(args.gtf)
    sheet = read_targets(args.targets)
    (name, chrom, s, e), = interpret.named_regions(genome, args.region, None, args.gene, gtf)
    pred = Predictor(load_model(args.model, args.params), rc=args.rc, species=args.species)
    tracks = [t.strip() for t in args.tracks.split(",") if t.strip()] if args.tracks else None
    if tracks is None and len(sheet) > 12:
        tracks = [str(t) for t in sheet["identifier"][:12]]
        log.info("showing the first 12 of %d tracks (choose with --tracks)", len(sheet))
    res = interpret.locus_tracks(pred, genome, sheet, chrom, s, e, tracks=tracks, observed=not args.no_observed)
    span = res["pred"].shape[0] * res["bin_bp"]
    if e - s > span:
        log.warning("%s is %d bp but the model's output covers %d bp; showing the centred %d bp",
                    name, e - s, span, span)
    ylabels = [interpret.pooled_units(st, res["bin_bp"]) for st in res["sum_stats"]]
    genes = plots_genome.genes_in_window(gtf, res["chrom"], res["start"], res["start"] + span)
    names = [f"{i} {d}".strip() if d and d != i else i for i, d in zip(res["ids"], res["descriptions"])]
    plots_genome.plot_tracks(res["pred"], res["obs"], genes, args.out, start=res["start"], bin_bp=res["bin_bp"],
                             names=names, chrom=res["chrom"], ylabel=ylabels,
                             title=f"{name}: predicted{' (fwd+rc)' if args.rc else ''} vs observed coverage, "
                                   f"untransformed (observed pooled like the training targets)")
    log.info("wrote %s (%d tracks, %s:%d-%d)", Path(args.out), len(names), res["chrom"], res["start"],
             res["start"] + span)


if __name__ == "__main__":
    cli.run(main)
