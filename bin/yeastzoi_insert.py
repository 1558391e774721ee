#!/usr/bin/env python3
"""MPRA-style insertions: place each sequence of a FASTA/TSV `--distance` bp upstream of the
TSS of each gene (in the gene's orientation, native context) and score that gene's exon bins
against the unedited locus. Writes OUT/insert.h5 and OUT/insert.tsv (one line per gene ×
insert × track).

  yeastzoi_insert.py params.json model.h5 inserts.fa -f genome.fa -g genes.gtf --genes YAL005C,YBR072W --distance 50 -o out
  yeastzoi_insert.py ... --replace --distance 0       # overwrite the promoter instead of inserting
"""
import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", help="params.json ('-' = spec stored in the model)")
    cli.add_set_argument(ap)
    ap.add_argument("models", nargs="+", help="model file(s)")
    ap.add_argument("inserts", help="FASTA or TSV (name<TAB>sequence) of sequences, 5'->3' in gene orientation")
    ap.add_argument("-f", "--fasta", required=True)
    ap.add_argument("-g", "--gtf", required=True)
    ap.add_argument("--genes", required=True, help="comma-separated gene ids or names")
    ap.add_argument("--distance", type=int, default=0, help="bp between the insert's 3' end and the TSS [0]")
    ap.add_argument("--replace", action="store_true", help="overwrite native bases instead of inserting")
    cli.add_scoring_arguments(ap, stats="logSED,SED")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "models", "inserts", "fasta", "gtf", "targets")  # before TensorFlow loads
    args.params = cli.effective_params_path(args, args.out)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("yeastzoi_insert")
    from yeastzoi.score import edit_files, edits
    from yeastzoi.score.engine import resolve_targets
    from yeastzoi.score.genes import find_gene, load_annotation
    from yeastzoi.model.loader import load_models
    from yeastzoi.genome import Genome

    if args.distance < 0:
        raise YeastzoiError("--distance must be >= 0")
    opts = cli.scoring_options(args)
    inserts = edit_files.read_inserts(args.inserts)
    genome = Genome(args.fasta)
    genes_df, exons = load_annotation(args.gtf, genome)
    genes = [find_gene(genes_df, exons, g.strip()) for g in args.genes.split(",") if g.strip()]
    models = load_models(args.models, args.params)
    targets = None if args.no_untransform else resolve_targets(args.targets, args.models[0], models[0].meta)
    with tqdm(total=len(genes) * len(inserts), disable=args.quiet, desc="inserts") as bar:
        res = edits.insertion_scores(models, genome, genes, inserts, args.distance, opts, targets,
                                     replace=args.replace, model_paths=args.models, progress=bar.update)
    res.attrs["inserts_file"] = str(args.inserts)
    out = Path(args.out)
    edit_files.write_table_h5(out / "insert.h5", res.rows, res.scores, res.target_ids, res.target_labels, res.attrs)
    edit_files.write_table_tsv(out / "insert.tsv", res.rows, res.scores, res.target_ids)
    log.info("wrote %s and insert.tsv (%d genes × %d inserts)", out / "insert.h5", len(genes), len(inserts))
    return 0


if __name__ == "__main__":
    cli.run(main)
