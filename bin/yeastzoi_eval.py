#!/usr/bin/env python3
"""Evaluate a coverage model on one split of a track data directory.

  yeastzoi_eval.py params.json model_best.h5 data -o eval_test
  yeastzoi_eval.py params.json ft/model_best.h5 data -o eval --rc --shifts 0,1 --gtf genes.gtf \\
      --compare scratch/model_best.h5 --labels fine-tuned,scratch
  yeastzoi_eval.py params.json f3c0/model_best.h5 data_folds -o eval_f3 --fold 3

OUT gets tracks.tsv (identifier, description, group, pearsonr, r2 over all bins of the split
in the stored transformed space; pearsonr_raw, r2_raw after untransforming), summary.tsv
(per track group mean/median), violin_pearsonr.png; with --gtf genes.tsv (gene-level R of
log2(1 + coverage summed over each gene's exon bins), gene_values.tsv and
violin_genes.png; with --compare tracks_<label2>.tsv, compare.tsv and compare_pearsonr.png;
with --save-preds preds.h5 (float16). A many-genome dataset (yeastzoi_data.py --genomes)
adds tracks_genomes.tsv (the same columns per genome, over that genome's windows),
summary_genomes.tsv and violin_genomes.png; --gtf then uses the reference genome's windows.
Definitions: the yeastzoi.evaluate.tracks and yeastzoi.evaluate.genes module docstrings.
"""
import argparse
import contextlib
import logging

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json the model was trained with")
    cli.add_set_argument(ap)
    ap.add_argument("model", help="model file (.h5 or .keras)")
    ap.add_argument("data_dir", help="track data directory (statistics.json, targets.txt, tfrecords/)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--split", default="test", help="split to evaluate [test]")
    ap.add_argument("--fold", type=int, range=(0, None), default=None, help="K-fold data dir: evaluate fold F's --split")
    ap.add_argument("--rc", action="store_true", help="average with reverse-complement predictions")
    ap.add_argument("--shifts", default="0", help="comma-separated input shifts to average [0]")
    ap.add_argument("--gtf", default=None, help="GTF/GFF3: gene-level R over exon bins")
    ap.add_argument("--compare", default=None, help="a second model to evaluate and compare")
    ap.add_argument("--labels", default=None, help="names of the two models, e.g. fine-tuned,scratch")
    ap.add_argument("--species", default=None, help="species channel (name or index) for species-conditioned models "
                                                    "[the model's stored target species]")
    ap.add_argument("-b", "--batch_size", type=int, range=(1, None), default=None, help="batch size [train.batch_size]")
    ap.add_argument("--save-preds", action="store_true", help="write OUT/preds.h5 (float16 predictions)")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "data_dir", "gtf", "compare")  # before TensorFlow loads
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_eval")
    bars = []

    def progress(desc, total):
        bar = tqdm(total=total, desc=desc, disable=args.quiet, unit=" seqs")
        bars.append(bar)
        return bar.update

    from yeastzoi.model.predictor import parse_shifts
    shifts = parse_shifts(args.shifts)
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
    from yeastzoi.evaluate.track_runs import run_track_eval
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [b.close() for b in bars])
        out = run_track_eval(args.params, args.model, args.data_dir, args.out, split=args.split,
                             fold=args.fold, rc=args.rc, shifts=shifts, gtf=args.gtf,
                             compare=args.compare, labels=labels, batch_size=args.batch_size,
                             species=args.species, save_preds=args.save_preds,
                             plots=not args.no_plots, progress=progress)
    log.info("wrote %s", ", ".join(str(p) for p in out.values()))
    return 0


if __name__ == "__main__":
    cli.run(main)
