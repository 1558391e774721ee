#!/usr/bin/env python3
"""Sweep architecture / training variants of a JSON spec: one spec per variant, a comparison table.

  yeastzoi_sweep.py json_params/tiny.json grids/tiny_two_variants.json -o out/sweep --dry-run
  yeastzoi_sweep.py json_params/lm_transformer_unet_small.json grids/talk_architectures.json -o out/talk --dry-run
  yeastzoi_sweep.py json_params/tiny.json grids/tiny_two_variants.json -o out/sweep --train data/tracks --jobs 2
  yeastzoi_sweep.py BASE.json GRID.json -o out/sweep --train data --array-index $SLURM_ARRAY_TASK_ID

GRID.json: {"grid": {"model.trunk[2].repeat": [1, 2], "train.learning_rate": [1e-3, 1e-4]}}
(Cartesian product; variants named like repeat1_lr0.001) and/or {"variants": [{"name": ...,
"spec": optional params.json replacing BASE.json, "set": {PATH: value}}]}; optional top-level
"set" (for every variant) and "num_features" (input channels of the dry-run build).
--set overrides apply to every variant before the grid's own.

Writes OUT/<variant>/params.json (effective spec), OUT/summary.tsv and OUT/summary.html
(parameters, output shapes, status, best valid loss / metrics, epochs, seconds per step,
peak memory; figures in OUT/figures/). Without --train (or with --dry-run) nothing is
trained. With --train each unfinished variant is trained: in this process one after
another, or --jobs N at a time as yeastzoi_train.py subprocesses (log in
OUT/<variant>/sweep.log); --array-index I trains only variant I (0-based). Rerunning skips
finished variants and resumes partial ones from their checkpoints.
"""
import logging

from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("grid", help="GRID.json (grid and/or variants)")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    ap.add_argument("--train", dest="data_dirs", action="append", default=None, metavar="DATA_DIR",
                    help="train every unfinished variant on this data dir (repeatable for LM corpora)")
    ap.add_argument("--jobs", type=int, range=(0, None), default=0,
                    help="N >= 1: train N variants at a time as subprocesses [0: one after another in this process]")
    ap.add_argument("--dry-run", action="store_true", help="only build each variant: parameters and output shapes")
    ap.add_argument("--array-index", type=int, range=(0, None), default=None, help="train only variant I (0-based; job arrays)")
    ap.add_argument("--num-features", type=int, range=(1, None), default=None,
                    help="input channels of the dry-run build [grid's num_features, else the spec's, else 4]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "grid", "data_dirs")  # before TensorFlow loads
    cli.setup_logging(args)
    from yeastzoi.train import format_table, run_sweep
    rows = run_sweep(args.params, args.grid, args.out, data_dirs=args.data_dirs, jobs=args.jobs,
                     dry=args.dry_run, array_index=args.array_index, num_features=args.num_features,
                     overrides=args.overrides)
    print(format_table(rows))
    failed = [r["variant"] for r in rows if r["status"] == "failed"]
    if failed:
        logging.getLogger("yeastzoi_sweep").error("%d variants failed: %s", len(failed), ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    cli.run(main)
