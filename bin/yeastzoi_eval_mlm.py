#!/usr/bin/env python3
"""Evaluate a masked DNA language model on an LM corpus, beside its baselines (an order-k
Markov chain and a bidirectional k-mer model, both counted on the corpus' train split).

  yeastzoi_eval_mlm.py params.json lm/model_best.h5 lm_data -o eval_lm
  yeastzoi_eval_mlm.py params.json lm/model_best.h5 lm_data -o eval_lm --split valid,test --repeats 3
  yeastzoi_eval_mlm.py --baselines-only lm_data -o eval_base --split valid,test --kmer 3 --markov-order 5

All models are scored at the same masked positions: the validation masks (mask token,
seed --seed + r for repeat r; the default seed gives the trainer's validation masks).
OUT/mlm_metrics.tsv: species, split, region (all / genic = exon-mask positions /
intergenic), model (lm, markov<k>, kmer<k>), n_masked, ce (nats), accuracy, perplexity =
exp(ce), loss_shorkie (Σ w·CE / number of masked positions, w = exon 0.1 × repeat 0.1:
Shorkie's weighting, comparable with its 0.418) and loss_exon_only (exon 0.1, repeats
weighted 1). The weightings are fixed, not taken from the params' train section.
OUT/mlm_summary.json: per split and region, the models side by side.
OUT/mlm_ce_<split>[_<species>].png: CE per region and model.
Definitions: the yeastzoi.evaluate.mlm and yeastzoi.evaluate.baselines docstrings.
"""
import logging
import sys
from pathlib import Path

from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.usage = ("%(prog)s [options] PARAMS MODEL DATA_DIR\n"
                "       %(prog)s [options] --baselines-only DATA_DIR")
    ap.add_argument("inputs", nargs="+", metavar="PARAMS MODEL DATA_DIR",
                    help="params.json of the LM (train section: mask_rate, batch_size; '-' = the "
                         "model's own spec), the LM model file (.h5 / .keras) and the LM corpus "
                         "directory (yeastzoi_lm_data.py); with --baselines-only just DATA_DIR")
    cli.add_set_argument(ap)
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--baselines-only", action="store_true", help="no model: score the baselines alone")
    ap.add_argument("--split", default="test", help="split(s) to evaluate, comma-separated, e.g. valid,test [test]")
    ap.add_argument("--markov-order", type=int, range=(-1, 10), default=5, help="Markov baseline order k (0..10); -1 to skip [5]")
    ap.add_argument("--kmer", type=int, range=(-1, 8), default=3,
                    help="bidirectional k-mer baseline: k bases each side (0..8); -1 to skip [3]")
    ap.add_argument("--repeats", type=int, range=(1, None), default=1, help="mask draws per sequence [1]")
    ap.add_argument("--seed", type=int, range=None, default=1_000_003,
                    help="mask seed of the first repeat [1000003: the trainer's validation masks]")
    ap.add_argument("--max-windows", type=int, range=(1, None), default=None,
                    help="score only the first N windows of each split (the trainer's valid loss uses "
                         "eval_steps_max × batch_size windows) [all]")
    ap.add_argument("-b", "--batch_size", type=int, range=(1, None), default=None, help="batch size [train.batch_size, else 4]")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG bar charts")
    args = ap.parse_args(argv)

    def fail(msg):
        print(f"error: {msg}", file=sys.stderr)
        return 2

    want = 1 if args.baselines_only else 3
    if len(args.inputs) != want:
        return fail(f"expected {'DATA_DIR' if want == 1 else 'PARAMS MODEL DATA_DIR'}, got "
                    f"{len(args.inputs)} argument(s): {' '.join(args.inputs)}"
                    + ("" if args.baselines_only else " (use --baselines-only DATA_DIR for no model)"))
    params, model, data_dir = (None, None, args.inputs[0]) if args.baselines_only else args.inputs
    model = cli.model_path(model)  # a file, or a shipped model's short name
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    if not splits or len(set(splits)) != len(splits):
        return fail(f"--split {args.split}: expected distinct comma-separated split names, e.g. valid,test")
    if args.baselines_only and args.markov_order < 0 and args.kmer < 0:
        return fail("--baselines-only with both baselines skipped: nothing to evaluate")
    if args.baselines_only and args.overrides:
        return fail("--set needs a params.json (not --baselines-only)")
    if not (Path(data_dir) / "statistics.json").exists():
        return fail(f"{data_dir} has no statistics.json; build it with yeastzoi_lm_data.py")

    cli.own_output(args)  # -o checked, locked and staged before any work
    cli.setup_logging(args)
    if params is not None:
        args.params = params
        params = cli.effective_params_path(args, args.out)
    from yeastzoi.evaluate.mlm import run_mlm_eval
    with cli.progress_bars(args.quiet) as progress:
        out = run_mlm_eval(params, model, data_dir, args.out, splits=splits, markov_order=args.markov_order,
                           kmer=args.kmer, repeats=args.repeats, seed=args.seed, batch_size=args.batch_size,
                           max_windows=args.max_windows, plots=not args.no_plots, progress=progress)
    logging.getLogger("yeastzoi_eval_mlm").info("wrote %s", ", ".join(str(p) for p in out.values()))
    return 0


if __name__ == "__main__":
    cli.run(main)
