#!/usr/bin/env python3
"""Evaluate a masked DNA language model on an LM corpus, against an order-k Markov baseline.

  yeastzoi_eval_mlm.py params.json lm/model_best.h5 lm_data -o eval_lm
  yeastzoi_eval_mlm.py params.json lm/model_best.h5 lm_data -o eval_lm --split valid,test --repeats 3 --markov-order 5

OUT/mlm_metrics.tsv: species, split, region (all / genic = exon-mask positions / intergenic),
n_masked, ce (nats), accuracy, perplexity = exp(ce), weighted_loss (Shorkie's Σ w·CE / Σ m
with the train section's exon/repeat scales), markov_ce, markov_accuracy, markov_perplexity.
Masks are the validation masks (mask token, seeds --seed + r for repeat r). The Markov
baseline is fitted per species on the corpus' train windows with add-one smoothing and is
scored on exactly the same masked positions (definitions: yeastzoi.evaluate.tracks docstring).
OUT/mlm_ce_<split>[_<species>].png: LM vs Markov CE per region.
"""
import argparse
import contextlib
import logging
import sys

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json of the LM (train section: mask_rate, loss scales)")
    cli.add_set_argument(ap)
    ap.add_argument("model", help="LM model file (.h5 or .keras)")
    ap.add_argument("data_dir", help="LM corpus directory (yeastzoi_lm_data.py)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--split", default="test", help="split(s) to evaluate, comma-separated [test]")
    ap.add_argument("--markov-order", type=int, default=5, help="Markov baseline order k; -1 to skip [5]")
    ap.add_argument("--repeats", type=int, default=1, help="mask draws per sequence [1]")
    ap.add_argument("--seed", type=int, default=1_000_003,
                    help="mask seed of the first repeat [1000003: the trainer's validation masks]")
    ap.add_argument("-b", "--batch_size", type=int, default=None, help="batch size [train.batch_size]")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG bar charts")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_eval_mlm")
    bars = []

    def progress(desc, total):
        bar = tqdm(total=total, desc=desc, disable=args.quiet, unit=" seqs")
        bars.append(bar)
        return bar.update

    if args.repeats < 1:
        print(f"error: --repeats must be >= 1, got {args.repeats}", file=sys.stderr)
        return 2
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    from yeastzoi.evaluate.mlm import run_mlm_eval
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [b.close() for b in bars])
        out = run_mlm_eval(args.params, args.model, args.data_dir, args.out, splits=splits,
                           markov_order=args.markov_order, repeats=args.repeats, seed=args.seed,
                           batch_size=args.batch_size, plots=not args.no_plots, progress=progress)
    log.info("wrote %s", ", ".join(str(p) for p in out.values()))
    return 0


if __name__ == "__main__":
    cli.run(main)
