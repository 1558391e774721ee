#!/usr/bin/env python3
"""Did the LM learn known motifs? LM conservation at JASPAR yeast motif matches in
promoters vs their flanks.

  yeastzoi_motif_check.py params.json lm/model_best.h5 -f genome.fa --gtf genes.gtf -o motifs/ \\
      --motifs REB1,ABF1,RAP1 --genes 200

Promoters are --upstream bp 5' of the TSS of --genes genes spread over the annotation
(protein-coding when known). Matches: one-strand p <= --pvalue against the promoters'
base composition. Per match: mean conservation over the motif vs over --flank bp on each
side. Writes OUT/motif_enrichment.tsv (motif, n_sites, motif_C, flank_C, delta,
enrichment = motif_C / flank_C, pvalue = one-sided Wilcoxon signed-rank, motif > flank),
OUT/motif_sites.tsv, OUT/promoters.tsv and OUT/motif_enrichment.png.
"""
from pathlib import Path

from yeastzoi import YeastzoiError, cli

DEFAULT_MOTIFS = "REB1,ABF1,RAP1,MCM1,CBF1,GCN4,MSN2,PHO4"


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("model", help="masked language model (.h5 / .keras)")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA")
    ap.add_argument("--gtf", required=True, help="annotation (GTF/GFF3)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--motifs", default=DEFAULT_MOTIFS, help=f"JASPAR yeast factor names [{DEFAULT_MOTIFS}]")
    ap.add_argument("--genes", type=int, range=(1, None), default=100, help="number of promoters [100]")
    ap.add_argument("--upstream", type=int, range=(1, None), default=500, help="promoter length, bp 5' of the TSS [500]")
    ap.add_argument("--pvalue", type=float, range=(0.0, 1.0), default=1e-4, help="motif match p-value [1e-4]")
    ap.add_argument("--flank", type=int, range=(1, None), default=20, help="flank bp on each side of a match [20]")
    ap.add_argument("--species", help="species name or index for species-conditioned models [the model's stored target species]")
    ap.add_argument("--batch-size", type=int, range=(1, None), default=4, help="masked inputs per model call [4]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "fasta", "gtf")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    cli.setup_logging(args)
    motifs = [m.strip() for m in args.motifs.split(",") if m.strip()]
    if not motifs or args.genes < 1 or args.upstream < 1 or args.flank < 1 or args.batch_size < 1:
        raise YeastzoiError("need at least one motif and positive --genes, --upstream, --flank, --batch-size")
    import logging

    from yeastzoi import interpret

    from yeastzoi.plots import genome_tracks as plots_genome
    from yeastzoi.genome import Genome, read_gtf
    from yeastzoi.model.loader import check_lm, load_model
    from yeastzoi.model.predictor import Predictor

    log = logging.getLogger("yeastzoi_motif_check")
    genome = Genome(args.fasta)
    gtf = read_gtf(args.gtf)
    lm = Predictor(load_model(args.model, args.params), species=args.species, batch_size=args.batch_size)
    check_lm(lm.meta, args.model)
    res = interpret.motif_check(lm, genome, gtf, motifs, n_genes=args.genes, upstream=args.upstream,
                                pvalue=args.pvalue, flank=args.flank)
    out = Path(args.out)
    enr = res["enrichment"]
    interpret.write_tsv(enr, out / "motif_enrichment.tsv")
    interpret.write_tsv(res["sites"], out / "motif_sites.tsv")
    interpret.write_tsv(res["promoters"], out / "promoters.tsv")
    plots_genome.plot_motif_enrichment(enr, out / "motif_enrichment.png",
                                       title=f"LM conservation at motif matches ({len(res['promoters'])} promoters)")
    for r in enr.itertuples(index=False):
        log.info("%-6s n=%4d  motif C %.4f  flank C %.4f  enrichment %.3f  p %.2g", r.motif, r.n_sites,
                 r.motif_C, r.flank_C, r.enrichment, r.pvalue)
    log.info("wrote %s/motif_enrichment.{tsv,png}", out)


if __name__ == "__main__":
    cli.run(main)
