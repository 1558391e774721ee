#!/usr/bin/env python3
"""eQTL benchmark: AUROC/AUPRC of |score| for positive (fine-mapped) variants vs
distance-matched negatives — one or several negative sets (Shorkie: four, built by
yeastzoi_eqtl_negatives.py) with their mean — AUPRC by |TSS distance| bin, sign AUROC
against the positives' effect direction, and a figure (ROC curves + AUPRC by bin).

  yeastzoi_eqtl_eval.py out/scores.h5 positives.vcf negatives.vcf --stat logSED --tracks rna -o eval/
  yeastzoi_eqtl_eval.py out/scores.h5 negs/positives.vcf negs/negatives_{1,2,3,4}.vcf \\
      --tracks rna --lm lm/scores.h5 -o eval/

SCORES is one scores.h5 (yeastzoi_snp.py or yeastzoi_snpgene.py) that holds every set;
--lm adds the zero-shot LM score (|LLR| from yeastzoi_snp.py --lm) beside it. POSITIVES /
NEGATIVES are VCF/TSV files; a variant's gene comes from GENE/gene, its TSS distance from
INFO TSS_DIST (else --gtf), the effect direction of a positive from an INFO key or column
named beta, effect, slope, LFC, sign or z. Writes OUT/metrics.json and OUT/roc.png.
"""
import argparse
import logging
from pathlib import Path

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scores", help="scores.h5")
    ap.add_argument("positives", help="VCF/TSV of positive (causal) variants")
    ap.add_argument("negatives", nargs="+", help="VCF/TSV of distance-matched negatives; several = several sets")
    ap.add_argument("--stat", default="logSED", help="statistic to evaluate [logSED]")
    ap.add_argument("--tracks", default=None, help="comma-separated track ids/labels/indices or id substrings "
                                                   "to average [all]")
    ap.add_argument("--lm", default=None, help="scores.h5 of the LM (yeastzoi_snp.py --lm): also evaluate |LLR|")
    ap.add_argument("--gtf", default=None, help="annotation for TSS distances of variants without INFO TSS_DIST")
    ap.add_argument("--bins", default=",".join(map(str, (600, 1000, 2000, 3000, 5000, 8000))),
                    help="upper edges (bp) of the |TSS distance| bins; the last bin is open "
                         "[600,1000,2000,3000,5000,8000: Shorkie's]")
    ap.add_argument("-o", "--out", default=None, help="folder for metrics.json and roc.png")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "scores", "positives", "negatives", "lm", "gtf")
    if args.out:
        cli.own_output(args)  # -o checked, locked and staged before any work
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    from yeastzoi import YeastzoiError
    from yeastzoi.fileio import write_json_atomic
    from yeastzoi.score.eqtl import eqtl_benchmark_sets, json_summary, plot_eqtl_sets

    try:
        bins = [int(x) for x in args.bins.split(",") if x.strip()]
    except ValueError:
        raise YeastzoiError(f"--bins {args.bins}: expected comma-separated integers (bp)") from None
    results = {args.stat: eqtl_benchmark_sets(args.scores, args.positives, args.negatives, stat=args.stat,
                                              tracks=args.tracks, bins=bins, gtf=args.gtf)}
    if args.lm:
        results["LM |LLR|"] = eqtl_benchmark_sets(args.lm, args.positives, args.negatives, stat="LLR", bins=bins,
                                                  gtf=args.gtf)
    for name, m in results.items():
        if m["n_sets"] > 1:
            for k, (a, p) in enumerate(zip(m["auroc_sets"], m["auprc_sets"]), 1):
                print(f"{name} set {k}: AUROC {a:.4f}  AUPRC {p:.4f}")
        print(f"{name}: AUROC {m['auroc']:.4f}  AUPRC {m['auprc']:.4f} (baseline {m['auprc_baseline']:.3f})  "
              f"sign AUROC {m['sign_auroc']:.4f} (n={m['n_sign']})  positives {m['n_positives']}  "
              f"negatives {m['n_negatives']}" + (f" in {m['n_sets']} sets" if m["n_sets"] > 1 else ""))
        b = m["bins"]
        print(f"{name} AUPRC by |TSS distance|: " + "  ".join(
            f"{lab} {v:.3f} (n+={n})" for lab, v, n in zip(b["labels"], b["auprc_mean"], b["n_positives"]) if n))
    if args.out:
        out = Path(args.out)
        summary = json_summary(results[args.stat])
        if args.lm:
            summary["lm"] = json_summary(results["LM |LLR|"])
        write_json_atomic(out / "metrics.json", summary)
        plot_eqtl_sets(results, out / "roc.png")
        logging.getLogger("yeastzoi_eqtl_eval").info("wrote %s/metrics.json and roc.png", out)
    return 0


if __name__ == "__main__":
    cli.run(main)
