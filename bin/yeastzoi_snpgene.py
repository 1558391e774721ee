#!/usr/bin/env python3
"""Gene-level variant scores: for every gene overlapping a variant's window, statistics over
the gene's bins (every bin overlapping an exon by >= 1 bp, the rule of gene-level evaluation),
strand-matched for stranded tracks; the window is
placed so that variant and gene both fit. Output OUT/scores.h5 with one row per (variant,
gene) pair (datasets si, gene, gene_name, gene_strand beside the variant fields).

  yeastzoi_snpgene.py params.json model.h5 variants.vcf -f genome.fa -g genes.gtf -o out --stats logSED --rc
"""
import logging

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    from yeastzoi.score.options import add_variant_arguments

    ap = cli.parser(__doc__)
    add_variant_arguments(ap, stats="logSED")
    cli.add_set_argument(ap)
    ap.add_argument("-g", "--gtf", required=True, help="gene annotation (GTF or GFF3)")
    ap.add_argument("--biotype", default=None,
                    help="score only genes of this biotype, e.g. protein_coding [all]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "variants", "fasta", "gtf", "targets", "background")  # before TensorFlow loads
    cli.setup_logging(args)
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    from yeastzoi.score.genes import load_annotation
    from yeastzoi.score.options import options_from_args
    from yeastzoi.score.runs import haplotype, load_variant_run, write_variant_outputs
    from yeastzoi.score.snps import score_variant_genes

    opts = options_from_args(args)
    run = load_variant_run(args.params, args.models, args.variants, args.fasta, shard=args.shard,
                           flip=args.flip, targets_path=args.targets, untransform=not args.no_untransform,
                           duplicates=args.duplicates, n_alleles=args.n_alleles)
    genes, exons = load_annotation(args.gtf, run.genome, biotype=args.biotype)
    logging.getLogger("yeastzoi_snpgene").info("%s: %d genes", args.gtf, len(genes))
    with haplotype(run, args.fasta, args.background, args.sample, args.het) as hap, \
            tqdm(total=len(hap.variants), unit=" var", disable=args.quiet, desc="scoring") as bar:
        genes, exons = hap.genes(genes, exons)
        res = score_variant_genes(run.models, hap.genome, hap.variants, genes, exons, opts,
                                  targets_df=run.targets, model_paths=args.models, progress=bar.update)
        hap.finish(res)
    if res.pairs is None or res.pairs.empty:
        raise YeastzoiError(f"{args.variants}: no variant has a gene of {args.gtf} in its window")
    res.attrs["gtf"] = str(args.gtf)
    write_variant_outputs(args.out, res, run.shard, args.variants, tsv=args.tsv, skipped=hap.skipped)
    return 0


if __name__ == "__main__":
    cli.run(main)
