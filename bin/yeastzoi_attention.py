#!/usr/bin/env python3
"""Attention maps of a model's transformer layers for the window centred on a region or gene.

  yeastzoi_attention.py params.json model.h5 -f genome.fa --gene RPL3 --gtf genes.gtf -o att/
  yeastzoi_attention.py params.json model.h5 -f genome.fa --region chrI:140000-141000 -o att/ --layers 0 --heads 0,1

Writes OUT/layer{L}_head{H}.png (query × key heatmap, gene models along both axes in
attention-bin coordinates), OUT/layer{L}.png (all heads of the layer side by side) and
OUT/attention.npz (``layer{L}``: heads × T × T weights; ``window_start``, ``bin_bp``,
``chrom``). T = seq_length / bin_bp positions (the trunk's pooled resolution).
"""
from pathlib import Path

import numpy as np

from yeastzoi import YeastzoiError, cli


def _ints(text, what):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise YeastzoiError(f"{what} {text}: expected comma-separated integers or 'all'") from None


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("model", help="model file (.h5 / .keras) with a transformer tower")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", metavar="CHROM:START-END", help="0-based half-open region")
    where.add_argument("--gene", help="gene name or id (needs --gtf)")
    ap.add_argument("--gtf", help="annotation (GTF/GFF3): gene models on the axes; needed for --gene")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--layers", default="all", help="attention layer indices, e.g. 0,1 [all]")
    ap.add_argument("--heads", default="all", help="head indices, e.g. 0,2 [all]")
    ap.add_argument("--species", help="species name or index for species-conditioned models [the model's stored target species]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "fasta", "gtf")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    cli.setup_logging(args)
    if args.gene and not args.gtf:
        raise YeastzoiError("--gene needs --gtf")
    import logging

    from yeastzoi import interpret

    from yeastzoi.plots import genome_tracks as plots_genome
    from yeastzoi.fileio import atomic_path
    from yeastzoi.genome import Genome, read_gtf
    from yeastzoi.model.loader import load_model
    from yeastzoi.model.predictor import Predictor

    log = logging.getLogger("yeastzoi_attention")
    genome = Genome(args.fasta)
    gtf = read_gtf(args.gtf) if args.gtf else None
    (name, chrom, s, e), = interpret.named_regions(genome, args.region, None, args.gene, gtf)
    pred = Predictor(load_model(args.model, args.params), species=args.species)
    layers = None if args.layers == "all" else _ints(args.layers, "--layers")
    res = interpret.window_attention(pred, genome, chrom, s, e, layers=layers)
    w0, bin_bp = res["window_start"], res["bin_bp"]
    L = pred.seq_length
    genes = plots_genome.genes_in_window(gtf, chrom, w0, w0 + L) if gtf is not None else []
    gbins = plots_genome.genes_to_bins(genes, w0, bin_bp)
    out = Path(args.out)
    arrays = {}
    for li, m in zip(res["layers"], res["maps"]):
        heads = list(range(m.shape[0])) if args.heads == "all" else _ints(args.heads, "--heads")
        bad = [h for h in heads if not 0 <= h < m.shape[0]]
        if bad:
            raise YeastzoiError(f"--heads {bad[0]}: layer {li} has {m.shape[0]} heads (0-{m.shape[0] - 1})")
        arrays[f"layer{li}"] = m
        label = f"{bin_bp} bp bins from {chrom}:{w0}"
        for h in heads:
            plots_genome.plot_attention(m[h], gbins, out / f"layer{li}_head{h}.png",
                                        titles=[f"{name}: layer {li} head {h}"], bin_label=label)
        plots_genome.plot_attention(m[heads], gbins, out / f"layer{li}.png",
                                    titles=[f"layer {li} head {h}" for h in heads], bin_label=label)
    with atomic_path(out / "attention.npz") as tmp:
        np.savez_compressed(tmp, window_start=w0, bin_bp=bin_bp, chrom=chrom, **arrays)
    log.info("%s: window %s:%d-%d, %d layer(s) × %d positions of %d bp → %s", name, chrom, w0, w0 + L,
             len(arrays), res["maps"][0].shape[-1], bin_bp, out)


if __name__ == "__main__":
    cli.run(main)
