#!/usr/bin/env python3
"""Cross-validation: train one model per fold (and replicate) of a K-fold data dir.

  yeastzoi_train_folds.py json_params/tiny.json data_folds -o out/cv --folds 0-7 --reps 2
  yeastzoi_train_folds.py json_params/tiny.json data_folds -o out/cv --fold 3 --rep 1   # one job
  yeastzoi_train_folds.py json_params/tiny.json data_folds -o out/cv --restore lm.h5 --trunk

Model f,c lives in OUT/f{f}c{c}/ (fold f test, fold f+1 valid, the rest train) with the
outputs of yeastzoi_train.py. Jobs may run as separate processes or job-array entries
(--fold F --rep C, e.g. F = $SLURM_ARRAY_TASK_ID): finished jobs (done.json) are skipped,
unfinished ones resume. OUT/folds.tsv collects the finished jobs' best valid loss and test
metrics (best model on the fold's test split).
"""
import argparse
import logging

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json (train + model spec)")
    ap.add_argument("data_dir", help="data directory built with yeastzoi_data.py -f K")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    ap.add_argument("--folds", default=None, help="folds to train, e.g. 0-7 or 0,3 [all]")
    ap.add_argument("--reps", type=int, range=(1, None), default=1, help="replicates per fold (seeds seed+c) [1]")
    ap.add_argument("--fold", type=int, range=(0, None), default=None, help="train only this fold (job-array entry)")
    ap.add_argument("--rep", type=int, range=(0, None), default=None, help="train only this replicate")
    ap.add_argument("--restore", default=None, help="model file to start from (e.g. the LM)")
    ap.add_argument("--trunk", action="store_true", help="restore only the trunk")
    ap.add_argument("--strategy", default="none", choices=("none", "mirrored", "multiworker"))
    ap.add_argument("--mixed-precision", action="store_true")
    ap.add_argument("--species", default=None, help="target genome's species name among the LM's species")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                    help="override a spec value (repeatable)")
    ap.add_argument("--seed", type=int, range=None, default=None, help="base seed [0]")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "data_dir", "restore")  # before TensorFlow loads
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("absl").setLevel(logging.WARNING)

    def progress(desc, total):
        return tqdm(total=total, desc=desc, unit=" step", leave=False, disable=args.quiet)

    from yeastzoi.train import train_folds
    rows = train_folds(args.params, args.data_dir, args.out, folds=args.folds, reps=args.reps,
                       fold=args.fold, rep=args.rep, seed=args.seed, restore=args.restore,
                       trunk=args.trunk, strategy=args.strategy,
                       mixed_precision=args.mixed_precision, species=args.species,
                       progress=progress, overrides=args.overrides)
    log = logging.getLogger("yeastzoi_train_folds")
    for r in rows:
        log.info("f%sc%s: best valid loss %.4f, test pearsonr %s", r["fold"], r["rep"],
                 r["best_valid_loss"] or float("nan"), r.get("test_pearsonr", "n/a"))
    return 0


if __name__ == "__main__":
    cli.run(main)
