#!/usr/bin/env python3
"""MPRA-style insertions: place each sequence of a FASTA/TSV upstream of the TSS of each gene
(in the gene's orientation, native context) and score that gene's exon bins against the
unedited locus. Writes OUT/insert.h5 and OUT/insert.tsv (one line per gene × insert ×
distance × track).

  yeastzoi_insert.py params.json model.h5 inserts.fa -f genome.fa -g genes.gtf --genes YAL005C,YBR072W --distance 50 -o out
  yeastzoi_insert.py ... --replace --distance 0       # overwrite the promoter instead of inserting

--mpra runs Shorkie's MPRA protocol: each sequence replaces the native sequence centred
100, 110, ..., 200 bp upstream of the TSS of 22 context genes (10 on +, 12 on -: GPM3, SLI1,
VPS52, YMR160W, MRPS28, YCT1, RDL2, PHS1, RTC3, MSN4 / COA4, ERI1, RSM25, ERD1, MRM2, SNT2,
CSI2, RPE1, PKC1, AIM11, MAE1, MRPL1; --genes, --distance, --anchor, --mode override), read
out as logSED over the context gene's exon bins on the --tracks of its strand, averaged over
models (folds), tracks, contexts and distances; with --activity the scores are compared
with the measured activities (Pearson/Spearman r, AUROC high vs low). Writes OUT/mpra.h5
(every level), OUT/mpra.tsv, OUT/mpra.png [, OUT/metrics.json]:

  yeastzoi_insert.py params.json f*/model.h5 lib.fa -f r64.fa -g r64.gtf --mpra --tracks RNA \\
      --targets targets.txt --activity lib.tsv -o mpra/
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json ('-' = spec stored in the model)")
    cli.add_set_argument(ap)
    ap.add_argument("models", nargs="+", help="model file(s); several (folds) are averaged")
    ap.add_argument("inserts", help="FASTA or TSV (name<TAB>sequence) of sequences, 5'->3' in gene orientation")
    ap.add_argument("-f", "--fasta", required=True)
    ap.add_argument("-g", "--gtf", required=True)
    ap.add_argument("--genes", default=None, help="comma-separated gene ids or names [--mpra: Shorkie's 22 contexts]")
    ap.add_argument("--distance", default=None,
                    help="bp upstream of the TSS: N, N,M,... or START:END:STEP [0; --mpra: 100:200:10]")
    ap.add_argument("--anchor", choices=("end", "centre"), default=None,
                    help="what lies --distance bp upstream: the insert's 3' end or its centre [end; --mpra: centre]")
    ap.add_argument("--mode", choices=("insert", "replace"), default=None,
                    help="insert the sequence or overwrite native bases [insert; --mpra: replace]")
    ap.add_argument("--replace", dest="mode", action="store_const", const="replace", help="same as --mode replace")
    ap.add_argument("--mpra", action="store_true", help="Shorkie's MPRA protocol (see above)")
    ap.add_argument("--tracks", default=None, help="--mpra: tracks to average (ids, labels, id substrings) [all]")
    ap.add_argument("--activity", default=None, help="--mpra: TSV with name and measured activity "
                                                     "(optional class high/low) to compare with")
    ap.add_argument("--high-low", type=float, range=(0.0, 0.5), default=0.25,
                    help="--mpra: fraction of sequences (by rank) in each of the high and low groups [0.25]")
    cli.add_scoring_arguments(ap, stats="logSED,SED")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "inserts", "fasta", "gtf", "targets", "activity")  # before TF loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_insert")
    from yeastzoi.score import edit_files, edits, mpra
    from yeastzoi.score.engine import resolve_targets
    from yeastzoi.score.genes import find_gene, load_annotation

    if (args.activity or args.tracks) and not args.mpra:
        raise YeastzoiError("--activity and --tracks belong to the MPRA protocol; add --mpra")
    distances = mpra.parse_distances(args.distance if args.distance is not None
                                     else "100:200:10" if args.mpra else "0")
    anchor = args.anchor or ("centre" if args.mpra else "end")
    replace = (args.mode or ("replace" if args.mpra else "insert")) == "replace"
    opts = cli.scoring_options(args)
    inserts = edit_files.read_inserts(args.inserts)
    activity = mpra.read_activity(args.activity) if args.activity else None
    from yeastzoi.genome import Genome

    genome = Genome(args.fasta)
    genes_df, exons = load_annotation(args.gtf, genome)
    names = args.genes.split(",") if args.genes else (mpra.default_contexts() if args.mpra else None)
    if not names:
        raise YeastzoiError("--genes: give the gene(s) to insert upstream of (or --mpra for the default contexts)")
    genes = [find_gene(genes_df, exons, g.strip()) for g in names if g.strip()]
    edits.check_constructs(genome, genes, inserts, distances, replace, anchor)    # before loading the models
    from yeastzoi.model.loader import load_models
    models = load_models(args.models, args.params)
    targets = None if args.no_untransform else resolve_targets(args.targets, args.models[0], models[0].meta)
    out = Path(args.out)
    total = len(genes) * len(inserts) * len(distances)
    with tqdm(total=total, disable=args.quiet, desc="inserts") as bar:
        if args.mpra:
            stat = opts.stats[0] if len(opts.stats) == 1 else "logSED"
            sc = mpra.mpra_scores(models, genome, genes, inserts, opts, targets, distances=distances,
                                  tracks=args.tracks, stat=stat, replace=replace, anchor=anchor,
                                  model_paths=args.models, progress=bar.update)
        else:
            res = edits.insertion_scores(models, genome, genes, inserts, distances, opts, targets, replace=replace,
                                         model_paths=args.models, progress=bar.update, anchor=anchor)
    if not args.mpra:
        res.attrs["inserts_file"] = str(args.inserts)
        edit_files.write_table_h5(out / "insert.h5", res.rows, res.scores, res.target_ids, res.target_labels,
                                  res.attrs)
        edit_files.write_table_tsv(out / "insert.tsv", res.rows, res.scores, res.target_ids)
        log.info("wrote %s and insert.tsv (%d genes × %d inserts × %d distances)", out / "insert.h5", len(genes),
                 len(inserts), len(distances))
        return 0
    sc.attrs["inserts_file"] = str(args.inserts)
    mpra.write_mpra_h5(out / "mpra.h5", sc)
    mpra.write_mpra_tsv(out / "mpra.tsv", sc, activity)
    metrics = None
    if activity is not None:
        from yeastzoi.fileio import write_json_atomic
        metrics = mpra.compare_activity(sc, activity, args.high_low)
        write_json_atomic(out / "metrics.json", metrics)
        o = metrics["overall"]
        print(f"{sc.stat} vs activity: Pearson r {o['pearson']:.4f}  Spearman r {o['spearman']:.4f}  "
              f"AUROC high vs low {o['auroc']:.4f} (n={o['n']}, {o['n_high']} high / {o['n_low']} low)")
    mpra.plot_mpra(sc, out / "mpra.png", metrics, activity)
    log.info("wrote %s, mpra.tsv, mpra.png (%d sequences × %d contexts × %d distances × %d tracks × %d models)",
             out / "mpra.h5", len(inserts), len(genes), len(distances), len(sc.track_ids), sc.per_model.shape[0])
    return 0


if __name__ == "__main__":
    cli.run(main)
