#!/usr/bin/env python3
"""Gene-level variant scores: for every gene overlapping a variant's window, statistics over
the gene's exon bins (>= 50 % exon overlap), strand-matched for stranded tracks; the window is
placed so that variant and gene both fit. Output OUT/scores.h5 with one row per (variant,
gene) pair (datasets si, gene, gene_name, gene_strand beside the variant fields).

  yeastzoi_snpgene.py params.json model.h5 variants.vcf -f genome.fa -g genes.gtf -o out --stats logSED --rc
"""
from yeastzoi import cli
import argparse
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from yeastzoi_snp import add_common, finish, prepare, setup  # noqa: E402

from yeastzoi import YeastzoiError  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(ap)
    ap.add_argument("-g", "--gtf", required=True, help="gene annotation (GTF or GFF3)")
    ap.add_argument("--biotype", default=None,
                    help="score only genes of this biotype, e.g. protein_coding [all]")
    ap.set_defaults(stats="logSED")
    args = ap.parse_args(argv)
    log = setup(args, "yeastzoi_snpgene")
    from yeastzoi.score import snps as snps
    from yeastzoi.genome.aliases import match_chroms
    from yeastzoi.genome.assembly import exons_by_gene, genes_table, read_gtf

    genome, variants, models, targets, opts, shard = prepare(args, log)
    raw = read_gtf(args.gtf)
    cmap = match_chroms(raw["chrom"].unique(), list(genome.chroms), what="GTF", path=args.gtf, strict=False)
    if cmap.unmatched:
        log.warning("%s: %d chromosome(s) not in the FASTA ignored: %s", args.gtf, len(cmap.unmatched),
                    ", ".join(cmap.unmatched[:8]))
    gtf = read_gtf(args.gtf, chrom_map=dict(cmap))
    genes = genes_table(gtf)
    if args.biotype:
        genes = genes[genes["gene_biotype"] == args.biotype]
        if genes.empty:
            raise YeastzoiError(f"{args.gtf}: no gene of biotype {args.biotype}")
    log.info("%s: %d genes", args.gtf, len(genes))
    with tqdm(total=len(variants), unit=" var", disable=args.quiet, desc="scoring") as bar:
        res = snps.score_variant_genes(models, genome, variants, genes, exons_by_gene(gtf), opts,
                                       targets_df=targets, model_paths=args.models, progress=bar.update)
    if res.pairs is None or res.pairs.empty:
        raise YeastzoiError(f"{args.variants}: no variant has a gene of {args.gtf} in its window")
    res.attrs["gtf"] = str(args.gtf)
    finish(args, res, shard, log)
    return 0


if __name__ == "__main__":
    cli.run(main)
