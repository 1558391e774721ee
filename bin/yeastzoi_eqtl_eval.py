#!/usr/bin/env python3
"""eQTL benchmark: AUROC/AUPRC of |score| for positive (fine-mapped) variants vs
distance-matched negatives, sign AUROC against the positives' effect direction, ROC plot.

  yeastzoi_eqtl_eval.py out/scores.h5 positives.vcf negatives.vcf --stat logSED --tracks rna -o eval/

SCORES is one scores.h5 (yeastzoi_snp.py or yeastzoi_snpgene.py) that holds both sets;
POSITIVES / NEGATIVES are VCF/TSV files; the effect direction of a positive comes from an
INFO key or column named beta, effect, slope, LFC, sign or z, its gene from GENE/gene.
"""
import argparse
import logging
from pathlib import Path

from yeastzoi import cli


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scores", help="scores.h5")
    ap.add_argument("positives", help="VCF/TSV of positive (causal) variants")
    ap.add_argument("negatives", help="VCF/TSV of distance-matched negative variants")
    ap.add_argument("--stat", default="logSED", help="statistic to evaluate [logSED]")
    ap.add_argument("--tracks", default=None, help="comma-separated track ids/labels/indices or id substrings "
                                                   "to average [all]")
    ap.add_argument("-o", "--out", default=None, help="folder for metrics.json and roc.png")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from yeastzoi.fileio import write_json_atomic
    from yeastzoi.score.eqtl import eqtl_benchmark, plot_roc

    m = eqtl_benchmark(args.scores, args.positives, args.negatives, stat=args.stat, tracks=args.tracks)
    summary = {k: v for k, v in m.items() if not hasattr(v, "shape")}
    print(f"{args.stat}: AUROC {m['auroc']:.4f}  AUPRC {m['auprc']:.4f} (baseline {m['auprc_baseline']:.3f})  "
          f"sign AUROC {m['sign_auroc']:.4f} (n={m['n_sign']})  positives {m['n_positives']}  "
          f"negatives {m['n_negatives']}")
    if args.out:
        out = Path(args.out)
        write_json_atomic(out / "metrics.json", summary)
        plot_roc(m, out / "roc.png")
        logging.getLogger("yeastzoi_eqtl_eval").info("wrote %s/metrics.json and roc.png", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
