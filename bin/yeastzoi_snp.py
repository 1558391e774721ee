#!/usr/bin/env python3
"""Score variants (VCF or TSV) with one or more trained models → OUT/scores.h5.

  yeastzoi_snp.py params.json model.h5 variants.vcf -f genome.fa -o out --stats SAD,logSED --rc
  yeastzoi_snp.py params.json f0/model.h5 f1/model.h5 calls.tsv -f genome.fa -o out --targets targets.txt --tsv
  yeastzoi_snp.py params_lm.json lm.h5 calls.vcf -f genome.fa -o out_lm --lm --species s288c
  yeastzoi_snp.py ... --shard 3/8 -o out/shard3     # then yeastzoi_snp_merge.py out/all out/shard*/scores.h5

Statistics and conventions: see the yeastzoi.score.snps module docstring. Without --targets a
targets.txt beside the first model is used when present; otherwise scores stay in the
model's transformed space (logged). A masked language model is scored only with --lm
(statistics over its base probabilities would mean nothing). --species follows the one
species rule: the given name or index, else the model's stored target species.
"""
from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    from yeastzoi.score.options import add_variant_arguments

    ap = cli.parser(__doc__)
    add_variant_arguments(ap)
    cli.add_set_argument(ap)
    ap.add_argument("--lm", action="store_true",
                    help="zero-shot LM score log p(alt) - log p(ref) at the masked position (LLR)")
    ap.add_argument("--sed-bp", type=int, range=(0, None), default=1024, help="SED/logSED read-out: bins within this many bp of the variant [1024]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "variants", "fasta", "targets", "background")  # before TensorFlow loads
    cli.setup_logging(args)
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    from yeastzoi.score.lm import score_variants_lm
    from yeastzoi.score.options import options_from_args
    from yeastzoi.score.runs import haplotype, load_variant_run, write_variant_outputs
    from yeastzoi.score.snps import score_variants

    opts = options_from_args(args)
    run = load_variant_run(args.params, args.models, args.variants, args.fasta, shard=args.shard,
                           flip=args.flip, targets_path=args.targets, untransform=not args.no_untransform,
                           duplicates=args.duplicates, n_alleles=args.n_alleles,
                           lm=args.lm)
    with haplotype(run, args.fasta, args.background, args.sample, args.het) as hap, \
            tqdm(total=len(hap.variants), unit=" var", disable=args.quiet, desc="scoring") as bar:
        if args.lm:
            res = score_variants_lm(run.models, hap.genome, hap.variants, opts, model_paths=args.models,
                                    progress=bar.update)
        else:
            res = score_variants(run.models, hap.genome, hap.variants, opts, targets_df=run.targets,
                                 model_paths=args.models, progress=bar.update)
        hap.finish(res)
    write_variant_outputs(args.out, res, run.shard, args.variants, tsv=args.tsv, skipped=hap.skipped)
    return 0


if __name__ == "__main__":
    cli.run(main)
