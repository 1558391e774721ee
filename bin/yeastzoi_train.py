#!/usr/bin/env python3
"""Train a yeastzoi model: masked-LM pretraining, fine-tuning or training from scratch.

  yeastzoi_train.py json_params/tiny_lm.json lm_data -o out/lm
  yeastzoi_train.py json_params/tiny.json track_data -o out/ft --restore out/lm/model_best.h5 --trunk
  yeastzoi_train.py json_params/tiny.json track_data -o out/scratch --set train.task=supervised
  yeastzoi_train.py json_params/tiny.json track_data --library lib_data -o out/mixed
  yeastzoi_train.py json_params/tiny.json lib_data -o out/lib      # library rows only

The task comes from the spec's train.task (self-supervised / supervised / fine-tune).
Several DATA_DIRs: LM corpora are interleaved (they must share the species list); for
coverage tasks only the first is read. Running the same command again in the same OUT
resumes after the last finished epoch; raise train.train_epochs_max (--set) to continue.
A rerun may leave out --restore/--trunk/--species (the checkpoint's own are used); one that
states another spec, data dir, --restore, --species or seed is refused in one line, and so
is an OUT that holds another model. Nothing is written to OUT until the spec, the data
(every record file is read once), the model's shapes and OUT itself have been checked.

Promoter libraries (yeastzoi_library_data.py): --library LIB_DATA mixes one batch of library
rows into every coverage step (loss = coverage loss + train.library_weight x library loss, the
library loss being mean over conditions of 1 - Pearson r between the model's gene-level
read-out log2(1 + sum of the reporter's bins of the condition's track) and the measured
activity over the batch; train.library_batch_size rows per step). A DATA_DIR that is a
library dataset trains on library rows only. history.csv adds valid_library_loss and
valid_library_pearsonr.

OUT gets model_best.h5 (baskerville layout), model_best.keras, model_meta.json,
history.csv, params.json (effective spec), train.log, logs/ (TensorBoard),
checkpoints/ (resumable; each epoch's weights, optimizer state, history and best model are
committed as one unit) and test_metrics.json (best model, test split).

--strategy mirrored uses all local GPUs (all logical CPUs without a GPU); multiworker
reads the cluster from TF_CONFIG and is started once per worker with the same arguments.

KERAS_BACKEND=jax trains with JAX (a jitted stateless step) from the same spec, data and
checkpoints, with the same outputs: a run may be resumed, and its model files restored or
fine-tuned from, under either backend. TensorFlow is still needed for the tf.data input
pipeline. Under JAX, --strategy mirrored is Keras' DataParallel over all local JAX devices
(GPUs, else CPU), multiworker is refused, and --mixed-precision is mixed_bfloat16.
"""
import argparse
import logging

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json (train + model spec)")
    ap.add_argument("data_dirs", nargs="+", help="data directories (statistics.json + tfrecords/)")
    ap.add_argument("-o", "--out", required=True, help="output directory (resumed when it has a checkpoint)")
    ap.add_argument("--library", default=None, metavar="LIB_DATA",
                    help="promoter-library data dir (yeastzoi_library_data.py) mixed into every coverage step")
    ap.add_argument("--restore", default=None, help="model file (.h5/.keras) to start from")
    ap.add_argument("--trunk", action="store_true", help="restore only the trunk (fine-tune from an LM)")
    ap.add_argument("--strategy", default="none", choices=("none", "mirrored", "multiworker"),
                    help="tf.distribute strategy; under KERAS_BACKEND=jax mirrored = DataParallel [none]")
    ap.add_argument("--mixed-precision", action="store_true",
                    help="mixed_float16 + loss scaling on GPU, mixed_bfloat16 on CPU (JAX: mixed_bfloat16)")
    ap.add_argument("--species", default=None,
                    help="target genome's species name among the LM's species [data's, else the LM reference]")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                    help="override a spec value, e.g. train.learning_rate=2e-5 (repeatable)")
    ap.add_argument("--seed", type=int, range=None, default=None, help="random seed [train.seed, else 0]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress bars")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "data_dirs", "restore", "library")  # before TensorFlow loads
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("absl").setLevel(logging.WARNING)

    def progress(desc, total):
        return tqdm(total=total, desc=desc, unit=" step", leave=False, disable=args.quiet)

    from yeastzoi.train import train
    summary = train(args.params, args.data_dirs, args.out, restore=args.restore, trunk=args.trunk,
                    strategy=args.strategy, mixed_precision=args.mixed_precision,
                    species=args.species, seed=args.seed, progress=progress,
                    overrides=args.overrides, library=args.library)
    best = summary["best_valid_loss"]
    msg = f"{summary['out_dir']}: {summary['epochs']} epochs, best valid loss " + \
          (f"{best:.4f} (epoch {summary['best_epoch']})" if best is not None else "n/a")
    if "test" in summary:
        msg += "; test " + ", ".join(f"{k} {v:.4f}" for k, v in summary["test"].items())
    logging.getLogger("yeastzoi_train").info(msg)
    return 0


if __name__ == "__main__":
    cli.run(main)
