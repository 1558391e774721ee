#!/usr/bin/env python3
"""SIMULATED ChIP-exo, MNase, H3K4me3 and RNA-seq coverage with ground truth from a
genome folder (from `yeastzoi_genome.py r64 GENOME_DIR`).

  yeastzoi_simulate.py GENOME_DIR OUT_DIR                       # whole genome, 16 tracks
  yeastzoi_simulate.py GENOME_DIR OUT_DIR --chroms chrI,chrII,chrIII --seed 1 --depth 0.5
  yeastzoi_simulate.py --panel PANEL_DIR OUT_DIR --heldout 1     # a strain panel, ONE regulatory model
  yeastzoi_simulate.py GENOME_DIR OUT_DIR --library 10000          # + a designed promoter library (MPRA)

--panel takes a folder from `yeastzoi_genome.py strains` and simulates the parent and every
strain with the same seed, settings and motif background, so each strain's expression differs
from the parent's only through its own sequence; OUT_DIR/<genome>/ per genome, and
OUT_DIR/panel_truth/ (strain_genes.tsv and strain_variants.tsv with exact LFCs,
strains.vcf.gz), OUT_DIR/panel.json (roles: the last --heldout strains are kept out of training).

Writes OUT_DIR/bam/, OUT_DIR/bigwig/, OUT_DIR/targets.txt, OUT_DIR/truth/ (genes.tsv,
conditions.txt, sites.bed, variants.vcf, mpra.tsv, model.json) and OUT_DIR/done.json.
A finished OUT_DIR with the same settings is reused. All of it is SIMULATED data.
"""
import argparse
import logging

from tqdm import tqdm

from yeastzoi import cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("genome_dir", help="genome folder (genome.fa, genes.gtf), or with --panel a strain panel folder")
    ap.add_argument("out_dir", help="output folder")
    ap.add_argument("--chroms", help="comma-separated chromosomes to simulate [all]")
    ap.add_argument("--seed", type=int, range=None, default=0, help="random seed [0]")
    ap.add_argument("--depth", type=float, range=(1e-09, None), default=1.0, help="read-count multiplier [1.0]")
    ap.add_argument("--conditions", type=int, range=(1, None), default=4,
                    help="RNA-seq conditions; 0 is basal, each other induces one factor [4]")
    ap.add_argument("--library", type=int, range=(0, None), default=0,
                    help="also write OUT_DIR/truth/library.tsv: N designed promoters in reporter contexts "
                         "with exact SIMULATED activities (an MPRA to train on) [0]")
    ap.add_argument("--panel", action="store_true", help="GENOME_DIR is a strain panel (yeastzoi_genome.py strains)")
    ap.add_argument("--heldout", type=int, range=(0, None), default=0, help="with --panel: strains kept out of training [0]")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "genome_dir")  # before TensorFlow loads
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from yeastzoi.simulate.run import simulate_genome

    chroms = [c for c in args.chroms.split(",") if c] if args.chroms else None
    with tqdm(disable=args.quiet, unit=" steps", desc="simulating") as bar:
        def progress(msg):
            bar.set_postfix_str(msg)
            bar.update(1)
        if args.panel:
            from yeastzoi.simulate.panel import simulate_panel_tracks

            p = simulate_panel_tracks(args.genome_dir, args.out_dir, seed=args.seed, depth=args.depth,
                                      conditions=args.conditions, chroms=chroms, heldout=args.heldout,
                                      progress=progress)
            print(f"SIMULATED panel written to {args.out_dir}: {len(p['genomes'])} genomes ("
                  + ", ".join(f"{g['name']} {g['role']}" for g in p["genomes"])
                  + f"); {p['genes_with_promoter_variants']} strain × gene promoters changed, exact LFCs in "
                  f"{args.out_dir}/panel_truth/")
            return 0
        s = simulate_genome(args.genome_dir, args.out_dir, chroms=chroms, seed=args.seed,
                            depth=args.depth, conditions=args.conditions, progress=progress)
    if args.library:
        from yeastzoi.simulate.library import simulate_library

        lib = simulate_library(args.out_dir, args.genome_dir, args.library, seed=args.seed)
        print(f"SIMULATED promoter library: {args.out_dir}/truth/library.tsv, {len(lib):,} rows "
              f"({args.library:,} promoters × {lib['reporter'].nunique()} reporter contexts)")
    reused = " (reused finished output)" if s.get("reused") else ""
    print(f"SIMULATED data written to {args.out_dir}{reused}: {len(s['chroms'])} chromosomes, "
          f"{s['genes']} genes, {s['bound_sites']} bound sites, {s['variants']} truth variants, "
          f"{len(s['tracks'])} tracks, {s['total_reads']:,} reads, {s['seconds']} s")
    for t in s["tracks"]:
        print(f"  {t['identifier']:24s} {t['group']:8s} {t['reads']:>10,} reads  {t['file']}")
    return 0


if __name__ == "__main__":
    cli.run(main)
