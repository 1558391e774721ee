#!/usr/bin/env python3
"""Predict coverage genome-wide (bigWig per track) or for BED regions (HDF5).

  yeastzoi_predict.py params.json model.h5 -f genome.fa --genome -o pred/ --rc --shifts 0,1
  yeastzoi_predict.py params.json m0.h5 m1.h5 -f genome.fa --region chrI:0-60000 -o pred/ --std
  yeastzoi_predict.py params.json model.h5 -f genome.fa --bed promoters.bed -o pred/ --tracks a,b

--genome / --region write OUT/<identifier>.bw per track (FASTA chromosome names and sizes;
bins of pool_width bp), OUT/tracks.tsv (identifier, description, file, ...) and
OUT/padded.bed (bins predicted from windows whose input ran off a chromosome end and was
N-padded; their values are kept in the bigWigs). Regions are 0-based half-open
(chrom:start-end, like BED). --bed writes OUT/preds.h5 (regions × bins × tracks, float16)
from one window centred on each region.

Values are untransformed to coverage units with the targets sheet: --targets SHEET, else
targets.txt beside the first model; --no-untransform writes the model's output space.
Several models are averaged (in model output space, before untransforming); --std adds
their standard deviation (in coverage units) as OUT/<identifier>.std.bw.
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json the models were trained with")
    ap.add_argument("models", nargs="+", help="model file(s) (.h5 / .keras); several are averaged")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA (indexed if needed)")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--genome", action="store_true", help="predict every chromosome")
    mode.add_argument("--region", action="append", metavar="CHROM:START-END",
                      help="predict this region (0-based half-open); may be repeated")
    mode.add_argument("--bed", metavar="REGIONS", help="one centred window per BED region → preds.h5")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--rc", action="store_true", help="average forward and reverse-complement predictions")
    ap.add_argument("--shifts", default="0", help="comma-separated input shifts (bp) to average [0]")
    ap.add_argument("--targets", help="targets sheet for track ids and untransform "
                                      "[targets.txt beside the first model]")
    ap.add_argument("--tracks", help="comma-separated track identifiers to write [all]")
    ap.add_argument("--batch", type=int, default=4, help="windows per batch [4]")
    ap.add_argument("--no-untransform", action="store_true",
                    help="write model-space values (no targets sheet needed)")
    ap.add_argument("--std", action="store_true", help="also write the std across models")
    ap.add_argument("--species", help="species name (or index) for species-conditioned models [the model's "
                                      "stored target species; required for a multi-species model that names none]")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a params.json value, e.g. model.seq_length=2048")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "fasta", "bed", "targets")  # before TensorFlow loads
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_predict")
    from yeastzoi.score import predict_files as predict
    from yeastzoi.genome import Genome, parse_region, read_bed
    from yeastzoi.model.loader import load_models, read_meta
    from yeastzoi.model.predictor import Predictor, parse_shifts
    from yeastzoi.coverage import read_targets, strand_pairs

    shifts = parse_shifts(args.shifts)
    if args.batch < 1:
        raise YeastzoiError(f"--batch {args.batch}: must be at least 1")
    tracks = [t.strip() for t in args.tracks.split(",") if t.strip()] if args.tracks else None
    sheet = Path(args.targets) if args.targets else Path(args.models[0]).parent / "targets.txt"
    targets_df = None
    if args.targets or sheet.exists():
        targets_df = read_targets(sheet)
        log.info("targets sheet: %s (%d tracks)", sheet, len(targets_df))
    regions = [parse_region(r) for r in args.region] if args.region else None
    bed = read_bed(args.bed) if args.bed else None
    genome = Genome(args.fasta)
    file_meta = read_meta(args.models[0])
    if file_meta:  # fail fast, before building any model
        predict.preflight(file_meta, genome, regions=regions, bed=bed, targets_df=targets_df,
                          tracks=tracks, untransform=not args.no_untransform,
                          name=args.models[0])
    pred = Predictor(load_models(args.models, args.params, overrides=args.set), rc=args.rc, shifts=shifts,
                     batch_size=args.batch, species=args.species,
                     strand_pair=strand_pairs(targets_df) if targets_df is not None else None)
    common = dict(targets_df=targets_df, tracks=tracks, untransform=not args.no_untransform, std=args.std)
    with tqdm(unit=" windows", disable=args.quiet, desc="predicting", delay=0.5) as bar:
        if bed is not None:
            bar.total = len(bed)
            path = predict.predict_bed(pred, genome, bed, Path(args.out) / "preds.h5",
                                       progress=bar.update, **common)
            log.info("wrote %s", path)
        else:
            res = predict.predict_to_bigwig(
                pred, genome, args.out, regions=regions, progress=bar.update,
                on_start=lambda n: setattr(bar, "total", n) or bar.refresh(), **common)
            log.info("wrote %d bigWig(s) and tracks.tsv to %s", len(res.files), res.out_dir)
    return 0


if __name__ == "__main__":
    cli.run(main)
