#!/usr/bin/env python3
"""Negative sets for the eQTL benchmark, built as Shorkie builds them: per positive
(variant, gene) a non-exonic population variant with the same REF/ALT and ALT allele
frequency >= --min-af, assigned to a random gene of the same chromosome whose signed TSS
distance lies within ±--window bp of the positive's (±--fallback bp when none), each
variant used once per set, --sets independent sets drawn from --seed.

  yeastzoi_eqtl_negatives.py positives.vcf population.vcf.gz -g genes.gtf -o negs/ --seed 1
  yeastzoi_snpgene.py params.json model.h5 negs/to_score.vcf -f genome.fa -g genes.gtf -o scores/
  yeastzoi_eqtl_eval.py scores/scores.h5 negs/positives.vcf negs/negatives_{1,2,3,4}.vcf -o eval/

POSITIVES: VCF/TSV with the gene in INFO GENE (or a gene column; gene_id or gene_name).
POPULATION: VCF with INFO/AF, or genotype (GT) columns to count it from.
Writes OUT/positives.vcf, OUT/negatives_{k}.vcf, OUT/to_score.vcf, OUT/negatives.tsv,
OUT/summary.json (counts, including positives without a matching negative) and
OUT/tss_distance.png.
"""
import argparse
import logging

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("positives", help="VCF/TSV of positive variants with their gene (INFO GENE or a gene column)")
    ap.add_argument("population", help="population VCF (INFO/AF or GT genotypes)")
    ap.add_argument("-g", "--gtf", required=True, help="gene annotation (GTF/GFF3): TSSs and exons")
    ap.add_argument("-f", "--fasta", default=None, help="reference FASTA: check REF alleles (optional)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--sets", type=int, range=(1, None), default=4, help="independent negative sets [4]")
    ap.add_argument("--seed", type=int, range=None, default=0, help="random seed (set k uses child k of the seed) [0]")
    ap.add_argument("--window", type=int, range=(0, None), default=100, help="TSS-distance window, ± bp [100]")
    ap.add_argument("--fallback", type=int, range=(0, None), default=200, help="wider window when none matches, ± bp; "
                                                              "0 = none [200]")
    ap.add_argument("--min-af", type=float, range=(0.0, 1.0), default=0.05, help="minimum ALT allele frequency [0.05]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "positives", "population", "gtf", "fasta")
    cli.own_output(args)  # -o checked, locked and staged before any work
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from tqdm import tqdm

    from yeastzoi.score.eqtl_negatives import build_negative_sets, write_negative_sets

    genome = None
    if args.fasta:
        from yeastzoi.genome import Genome
        genome = Genome(args.fasta)
    with tqdm(total=None, disable=args.quiet, desc="negative sets", unit=" positives") as bar:
        res = build_negative_sets(args.positives, args.population, args.gtf, genome=genome, n_sets=args.sets,
                                  seed=args.seed, window=args.window, fallback=args.fallback or None,
                                  min_af=args.min_af, progress=bar.update)
    write_negative_sets(args.out, res)
    s = res.summary
    print(f"{s['n_positives']} positives ({s['n_positives_read'] - s['n_positives']} skipped: "
          f"{s['skipped_positives']}); {s['population_candidates']} candidate variants")
    for st in s["sets"]:
        print(f"set {st['set']}: {st['matched']} negatives ({st['matched_fallback']} within the fallback window), "
              f"{st['unmatched']} positives without a match")
    print(f"wrote {args.out_final}/negatives_1..{args.sets}.vcf, positives.vcf, to_score.vcf, summary.json")
    return 0


if __name__ == "__main__":
    cli.run(main)
