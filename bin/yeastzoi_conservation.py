#!/usr/bin/env python3
"""LM conservation of a region: mask every position once (with its full window context),
read the language model's base distribution there, and report entropy and conservation.

  yeastzoi_conservation.py params.json lm/model_best.h5 -f genome.fa --region chrI:1000-1500 -o cons/
  yeastzoi_conservation.py params.json lm/model_best.h5 -f genome.fa --gene RPL3 --gtf genes.gtf --flank 500 -o cons/
  yeastzoi_conservation.py params.json lm/model_best.h5 -f genome.fa --bed promoters.bed -o cons/

Writes per region (NAME = the gene, the BED name, or chrom_start_end):
  OUT/NAME.pwm.tsv  chrom, pos (0-based), ref, A C G T (LM probabilities + pseudocount,
                    normalised), entropy (bits), conservation (2 − entropy, bits)
  OUT/NAME.bw       bigWig of conservation (header: the FASTA's chromosomes)
  OUT/NAME.png      logo, letters scaled by information content (panels of --panel-bp)
Each window masks at most --mask-rate of its positions per round, spaced evenly.
"""
from pathlib import Path

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("model", help="masked language model (.h5 / .keras)")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", metavar="CHROM:START-END", help="0-based half-open region")
    where.add_argument("--bed", help="BED file of regions")
    where.add_argument("--gene", help="gene name or id (needs --gtf)")
    ap.add_argument("--gtf", help="annotation (GTF/GFF3) for --gene")
    ap.add_argument("--flank", type=int, range=(0, None), default=0, help="bp added on each side of --gene [0]")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--species", help="species name or index for species-conditioned models [the model's stored target species]")
    ap.add_argument("--batch-size", "--rounds-per-batch", dest="batch_size", type=int, range=(1, None), default=4,
                    help="masked inputs per model call [4]")
    ap.add_argument("--pseudocount", type=float, range=(0, 1), default=1e-3, help="added to each base probability [1e-3]")
    ap.add_argument("--mask-rate", type=float, range=(0.0, 1.0), default=0.15, help="fraction masked per round [0.15]")
    ap.add_argument("--panel-bp", type=int, range=(1, None), default=100, help="bp per logo row [100]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "fasta", "bed", "gtf")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    cli.setup_logging(args)
    if args.gene and not args.gtf:
        raise YeastzoiError("--gene needs --gtf")
    if args.batch_size < 1 or args.flank < 0:
        raise YeastzoiError("--batch-size must be >= 1 and --flank >= 0")
    import logging

    from yeastzoi import interpret

    from yeastzoi.plots import genome_tracks as plots_genome
    from yeastzoi.genome import Genome, read_gtf
    from yeastzoi.model.loader import check_lm, load_model
    from yeastzoi.model.predictor import Predictor

    log = logging.getLogger("yeastzoi_conservation")
    genome = Genome(args.fasta)
    gtf = read_gtf(args.gtf) if args.gtf else None
    regions = interpret.named_regions(genome, args.region, args.bed, args.gene, gtf, args.flank)
    lm = Predictor(load_model(args.model, args.params), species=args.species, batch_size=args.batch_size)
    check_lm(lm.meta, args.model)
    out = Path(args.out)
    for name, chrom, s, e in regions:
        log.info("%s: %s:%d-%d (%d bp)", name, chrom, s, e, e - s)
        df = interpret.conservation(lm, genome, chrom, s, e, pseudocount=args.pseudocount,
                                    mask_rate=args.mask_rate)
        interpret.write_tsv(df, out / f"{name}.pwm.tsv")
        interpret.write_conservation_bigwig(out / f"{name}.bw", df, genome.chroms)
        plots_genome.plot_logo(df, out / f"{name}.png", panel_bp=args.panel_bp,
                               title=f"LM conservation {name} ({chrom}:{s}-{e})")
        c = df["conservation"]
        log.info("%s: conservation mean %.4f, max %.4f bits → %s/%s.{pwm.tsv,bw,png}",
                 name, c.mean(), c.max(), out, name)


if __name__ == "__main__":
    cli.run(main)
