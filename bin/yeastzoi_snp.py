#!/usr/bin/env python3
"""Score variants (VCF or TSV) with one or more trained models → OUT/scores.h5.

  yeastzoi_snp.py params.json model.h5 variants.vcf -f genome.fa -o out --stats SAD,logSED --rc
  yeastzoi_snp.py params.json f0/model.h5 f1/model.h5 calls.tsv -f genome.fa -o out --targets targets.txt --tsv
  yeastzoi_snp.py params_lm.json lm.h5 calls.vcf -f genome.fa -o out_lm --lm --species s288c
  yeastzoi_snp.py ... --shard 3/8 -o out/shard3     # then yeastzoi_snp_merge.py out/all out/shard*/scores.h5

Statistics and conventions: see the yeastzoi.score.snps module docstring. Without --targets a
targets.txt beside the first model is used when present; otherwise scores stay in the
model's transformed space (logged).
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def add_common(ap):
    ap.add_argument("params", help="params.json the models were trained with ('-' = spec stored in the model)")
    cli.add_set_argument(ap)
    ap.add_argument("models", nargs="+", help="model file(s) (.h5/.keras); several = mean and spread")
    ap.add_argument("variants", help="VCF (1-based) or TSV with chrom, pos, ref, alt")
    ap.add_argument("-f", "--fasta", required=True, help="reference FASTA")
    ap.add_argument("-o", "--out", required=True, help="output folder (scores.h5 [, scores.tsv])")
    ap.add_argument("--stats", default="SAD,logSED", help="comma-separated: SAD,logSAD,SED,logSED,D1,D2,JS [SAD,logSED]")
    ap.add_argument("--rc", action="store_true", help="average forward and reverse-complement predictions")
    ap.add_argument("--shifts", default="0", help="comma-separated shifts (bp) to average, e.g. 0,1,-1 [0]")
    ap.add_argument("--targets", help="targets sheet for untransforming (default: targets.txt beside the model)")
    ap.add_argument("--no-untransform", action="store_true", help="keep predictions in the model's transformed space")
    ap.add_argument("--species", help="species of the model's species channel (default: its first)")
    ap.add_argument("--flip", action="store_true", help="swap REF/ALT where ALT matches the FASTA instead of REF")
    ap.add_argument("--stitch", choices=("left", "right"), default="left", help="indel window stitching [left]")
    ap.add_argument("--cluster-bp", type=int, default=0,
                    help="variants within this many bp share one window and reference prediction [0]")
    ap.add_argument("--batch-size", type=int, default=8, help="sequences per model call [8]")
    ap.add_argument("--shard", help="i/N: score only the i-th of N contiguous parts (1-based)")
    ap.add_argument("--tsv", action="store_true", help="also write scores.tsv (one line per variant × track)")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")


def setup(args, name):
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return logging.getLogger(name)


def prepare(args, log):
    """Genome, variants (of this shard), models, targets sheet, options."""
    args.params = cli.effective_params_path(args, args.out)
    from yeastzoi.score import snps as snps
    from yeastzoi.genome.assembly import Genome
    from yeastzoi.score.variants import parse_shard, read_variants, shard_variants

    shard = parse_shard(args.shard)
    opts = snps.ScoreOptions(stats=snps.parse_stats(args.stats), rc=args.rc,
                             shifts=snps.parse_shifts(args.shifts), untransform=not args.no_untransform,
                             batch_size=args.batch_size, cluster_bp=args.cluster_bp, stitch=args.stitch,
                             species=args.species).check()
    genome = Genome(args.fasta)
    variants, _ = read_variants(args.variants, genome, flip=args.flip)
    variants = shard_variants(variants, shard)
    if shard[1] > 1:
        log.info("shard %d/%d: %d variants", shard[0], shard[1], len(variants))
        if not variants:
            raise YeastzoiError(f"--shard {args.shard}: this shard holds no variants; use fewer shards")
    models = snps.load_models(None if args.params == "-" else args.params, args.models)
    targets = None
    if not getattr(args, "lm", False) and not args.no_untransform:
        targets = snps.resolve_targets(args.targets, args.models[0], models[0].meta)
    elif args.targets:
        targets = snps.resolve_targets(args.targets, None, models[0].meta)
    return genome, variants, models, targets, opts, shard


def finish(args, result, shard, log):
    from yeastzoi.score import snps as snps

    result.attrs["shard"] = f"{shard[0]}/{shard[1]}"
    result.attrs["variants_file"] = str(args.variants)
    out = Path(args.out)
    h5 = snps.write_scores_h5(out / "scores.h5", result)
    log.info("wrote %s (%d rows × %d tracks; %s)", h5, len(next(iter(result.stats.values()))),
             len(result.target_ids), ", ".join(result.stats))
    if args.tsv:
        log.info("wrote %s", snps.write_scores_tsv(out / "scores.tsv", result))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(ap)
    ap.add_argument("--lm", action="store_true",
                    help="zero-shot LM score log p(alt) - log p(ref) at the masked position (LLR)")
    ap.add_argument("--sed-bp", type=int, default=1024, help="SED/logSED read-out: bins within this many bp of the variant [1024]")
    args = ap.parse_args(argv)
    log = setup(args, "yeastzoi_snp")
    from yeastzoi.score import snps as snps

    genome, variants, models, targets, opts, shard = prepare(args, log)
    opts.sed_bp = args.sed_bp
    with tqdm(total=len(variants), unit=" var", disable=args.quiet, desc="scoring") as bar:
        if args.lm:
            res = snps.score_variants_lm(models, genome, variants, opts, model_paths=args.models,
                                         progress=None)
            bar.update(len(variants))
        else:
            res = snps.score_variants(models, genome, variants, opts, targets_df=targets,
                                      model_paths=args.models, progress=bar.update)
    finish(args, res, shard, log)
    return 0


if __name__ == "__main__":
    cli.run(main)
