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

Strains (reference coordinates in, the strain's own sequence predicted): --strain DIR (a
strain folder from `yeastzoi_genome.py apply-vcf`, -f being its reference FASTA) or --vcf
VARIANTS.vcf --sample NAME (the strain is built first into OUT/strain/NAME). --region/--bed
are given in REFERENCE coordinates and lifted to the strain; the bigWigs are in the strain's
coordinates (chromosome sizes of OUT/strain/NAME or DIR). --lift-to-reference also writes
OUT/reference/<identifier>.bw in reference coordinates: each reference base takes the value
of the strain bin holding its aligned base; deleted bases are left empty; inserted strain
sequence has no reference coordinate and is listed in OUT/reference/inserted.bed (with the
bins wholly inside it), never merged into a neighbour.

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
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    ap.add_argument("--batch", type=int, range=(1, None), default=4, help="windows per batch [4]")
    ap.add_argument("--no-untransform", action="store_true",
                    help="write model-space values (no targets sheet needed)")
    ap.add_argument("--std", action="store_true", help="also write the std across models")
    ap.add_argument("--species", help="species name (or index) for species-conditioned models [the model's "
                                      "stored target species; required for a multi-species model that names none]")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a params.json value, e.g. model.seq_length=2048")
    st = ap.add_argument_group("strains (regions in reference coordinates)")
    who = st.add_mutually_exclusive_group()
    who.add_argument("--strain", metavar="DIR", help="strain genome folder (apply-vcf) whose reference is -f")
    who.add_argument("--vcf", help="build the strain from this VCF (with --sample) into OUT/strain/SAMPLE")
    st.add_argument("--sample", help="the VCF sample to build (with --vcf)")
    st.add_argument("--het", choices=("ref", "alt", "error"), default="ref",
                    help="heterozygous calls when building from --vcf [ref: keep the reference]")
    st.add_argument("--lift-to-reference", action="store_true",
                    help="also write OUT/reference/*.bw in reference coordinates (+ inserted.bed)")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "fasta", "bed", "targets", "vcf", "strain")  # before TensorFlow loads
    if args.lift_to_reference and not (args.strain or args.vcf):
        raise YeastzoiError("--lift-to-reference needs a strain: --strain DIR or --vcf VCF --sample NAME")
    if args.lift_to_reference and args.bed:
        raise YeastzoiError("--lift-to-reference writes bigWigs: use it with --region or --genome, not --bed")
    if args.sample and not args.vcf:
        raise YeastzoiError("--sample names a sample of --vcf; give --vcf VARIANTS.vcf too (or --strain DIR)")
    cli.own_output(args)  # -o checked, locked and staged before any work
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
    strain = None
    if args.strain or args.vcf:  # predict the strain's own sequence; regions given in reference coordinates
        strain = open_strain(args, genome, regions, bed, log)
        genome, regions, bed = strain["genome"], strain["regions"], strain["bed"]
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
            log.info("wrote %d bigWig(s) and tracks.tsv to %s%s", len(res.files), res.out_dir,
                     f" in the coordinates of strain {strain['name']}" if strain else "")
    if strain and args.lift_to_reference:
        from yeastzoi.score.strain_tracks import lift_to_reference

        rep = lift_to_reference(res.files + res.std_files, Path(args.out) / "reference", strain["map"],
                                strain["reference"].chroms, strain["ref_regions"], pred.geometry.pool_width)
        log.info("lifted %d bigWig(s) to reference coordinates in %s: %d insertion(s) (%d bp, %d whole bins) "
                 "have no reference coordinate (inserted.bed); %d reference bp deleted in the strain left empty",
                 len(rep.files), Path(args.out) / "reference", rep.insertions, rep.inserted_bp,
                 rep.inserted_bins, rep.deleted_bp)
    return 0


def open_strain(args, ref_genome, regions, bed, log) -> dict:
    """The strain to predict: its folder (built from --vcf when asked), coordinate map,
    Genome, and the regions / BED lifted from reference to strain coordinates."""
    from yeastzoi.genome import Genome, apply_vcf, strain_map
    from yeastzoi.score.predict_files import resolve_regions

    if args.vcf:
        if not args.sample:
            raise YeastzoiError("--vcf needs --sample NAME (the strain to build and predict)")
        apply_vcf(args.fasta, args.vcf, Path(args.out) / "strain", samples=[args.sample], het=args.het)
        folder = Path(args.out) / "strain" / args.sample
    else:
        folder = Path(args.strain)
    cmap = strain_map(folder)
    missing = [c for c in ref_genome.chroms if c not in cmap.blocks]
    if missing:
        raise YeastzoiError(f"{folder}: its coordinate map lacks {', '.join(missing[:5])} of {args.fasta}; "
                            "give the reference FASTA the strain was built from as -f")
    ref_regions = resolve_regions(ref_genome, regions) if regions else \
        [(c, 0, n) for c, n in ref_genome.chroms.items() if n > 0]
    strain_regions = [(c, *cmap.lift_region(c, s, e)) for c, s, e in ref_regions]
    if bed is not None:
        bed = bed.assign(chrom=[ref_genome.resolve(c) for c in bed["chrom"]])
        bed = cmap.lift_intervals(bed)[0]
    genome = Genome(folder / "genome.fa")
    log.info("strain %s (%s): %d region(s) lifted from reference to strain coordinates", folder.name, folder,
             len(strain_regions))
    return {"name": folder.name, "genome": genome, "map": cmap, "reference": ref_genome, "bed": bed,
            "ref_regions": ref_regions, "regions": strain_regions if regions else None}


if __name__ == "__main__":
    cli.run(main)
