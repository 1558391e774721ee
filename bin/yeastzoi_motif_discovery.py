#!/usr/bin/env python3
"""Motif discovery from a masked language model: TF-MoDISco on the LM's base probabilities
over promoters, patterns matched to JASPAR yeast motifs (tomtom), and their seqlets' distance
to the nearest TSS vs random positions.

  yeastzoi_motif_discovery.py r64_lm r64_lm -f genome.fa --gtf genes.gtf -o lm_motifs/ --genes 400

Promoters: --upstream bp 5' (+ --downstream bp 3') of the TSS of --genes genes spread over the
annotation, genome orientation. Every position is masked once (LM conservation's plan);
hypothetical contribution p·log2(4p) (p with --pseudocount), observed = its value at the
reference base. Writes OUT/motifs.tsv (pattern, n_seqlets, width, consensus, best JASPAR
match, its id, tomtom p and q, strand, runners-up, median distance to the nearest TSS of the
seqlets and of --random random positions in the same promoters, Mann-Whitney p),
OUT/seqlets.tsv, OUT/promoters.tsv, OUT/logos/PATTERN.png, OUT/tss_distance.png,
OUT/modisco_results.h5 (for `modisco report`) and OUT/lm_probs.npz (the LM probabilities;
--reuse-probs reads it back instead of running the LM again).
"""
from pathlib import Path

from yeastzoi import YeastzoiError, cli


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("model", help="masked language model (.h5 / .keras) or shipped name (r64_lm)")
    ap.add_argument("-f", "--fasta", required=True, help="genome FASTA")
    ap.add_argument("--gtf", required=True, help="annotation (GTF/GFF3)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--genes", type=int, range=(1, None), default=400, help="number of promoters [400]")
    ap.add_argument("--upstream", type=int, range=(0, None), default=500, help="bp 5' of the TSS [500]")
    ap.add_argument("--downstream", type=int, range=(0, None), default=0, help="bp 3' of the TSS [0]")
    ap.add_argument("--pseudocount", type=float, range=(0.0, 1.0), default=1e-3, help="added to each base probability [1e-3]")
    ap.add_argument("--window", type=int, range=(1, None), default=21, help="modisco sliding window, bp [21]")
    ap.add_argument("--flank", type=int, range=(0, None), default=10, help="modisco seqlet flank, bp [10]")
    ap.add_argument("--fdr", type=float, range=(0.0, 1.0), default=0.2, help="modisco target seqlet FDR [0.2]")
    ap.add_argument("--leiden-runs", type=int, range=(1, None), default=50, help="modisco Leiden runs [50]")
    ap.add_argument("--trim", type=float, range=(0.0, 1.0), default=0.3, help="trim patterns to columns >= TRIM x max |CWM| [0.3]")
    ap.add_argument("--random", type=int, range=(1, None), default=10000, help="random positions for the TSS test [10000]")
    ap.add_argument("--seed", type=int, range=None, default=0, help="seed of the random positions [0]")
    ap.add_argument("--reuse-probs", action="store_true", help="read OUT/lm_probs.npz instead of running the LM")
    ap.add_argument("--species", help="species name or index for species-conditioned models [the model's stored target species]")
    ap.add_argument("--batch-size", type=int, range=(1, None), default=4, help="masked inputs per model call [4]")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "model", "fasta", "gtf")  # before TensorFlow loads
    cli.own_output(args)  # -o checked, locked and staged before any work
    args.params = cli.effective_params_path(args, args.out)
    cli.setup_logging(args)
    if min(args.genes, args.upstream + args.downstream, args.window, args.random, args.batch_size) < 1 \
            or min(args.upstream, args.downstream, args.flank) < 0 or not 0 < args.trim <= 1:
        raise YeastzoiError("--genes, --window, --random, --batch-size and --upstream + --downstream must be "
                            ">= 1, --upstream, --downstream, --flank >= 0 and --trim in (0, 1]")
    import logging

    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from yeastzoi import interpret
    from yeastzoi.fileio import atomic_path
    from yeastzoi.genome import Genome, genes_table, read_gtf

    log = logging.getLogger("yeastzoi_motif_discovery")
    out, final = Path(args.out), Path(args.out_final)   # staging folder, the real -o (cli.own_output)
    cache = out / "lm_probs.npz"
    if args.reuse_probs:
        if not ((final / "lm_probs.npz").is_file() and (final / "promoters.tsv").is_file()):
            raise YeastzoiError(f"{final / 'lm_probs.npz'} or {final / 'promoters.tsv'}: no such file; run once "
                                "without --reuse-probs")
        import shutil
        for name in ("lm_probs.npz", "promoters.tsv"):  # kept in the published result set
            shutil.copy2(final / name, out / name)
    genome = Genome(args.fasta)
    gtf = read_gtf(args.gtf)
    if args.reuse_probs:
        with np.load(cache, allow_pickle=False) as z:
            probs, codes = z["probs"], z["codes"]
        prom = pd.read_csv(out / "promoters.tsv", sep="\t")
        log.info("read LM probabilities of %d promoters from %s", len(prom), cache)
    else:
        from yeastzoi.model.loader import check_lm, load_model
        from yeastzoi.model.predictor import Predictor

        lm = Predictor(load_model(args.model, args.params), species=args.species, batch_size=args.batch_size)
        check_lm(lm.meta, args.model)
        with tqdm(desc="LM passes", unit=" inputs", disable=args.quiet) as bar:
            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)
            prom, probs, codes = interpret.promoter_probs(lm, genome, gtf, n_genes=args.genes,
                                                          upstream=args.upstream, downstream=args.downstream,
                                                          progress=progress)
        with atomic_path(cache) as tmp:
            np.savez_compressed(tmp, probs=probs, codes=codes)
        interpret.write_tsv(prom, out / "promoters.tsv")
    log.info("TF-MoDISco on %d regions x %d bp", *codes.shape)
    res = interpret.discover_from_probs(
        probs, codes, prom, genes_table(gtf), pseudocount=args.pseudocount, trim=args.trim,
        n_random=args.random, seed=args.seed, h5_path=out / "modisco_results.h5",
        sliding_window_size=args.window, flank_size=args.flank, target_seqlet_fdr=args.fdr,
        n_leiden_runs=args.leiden_runs)
    summary = res["summary"]
    interpret.write_tsv(summary, out / "motifs.tsv")
    seqlets = [p.seqlets.assign(pattern=p.name, chrom=prom["chrom"].to_numpy()[p.seqlets["region"]],
                                gene_name=prom["gene_name"].to_numpy()[p.seqlets["region"]],
                                genome_start=prom["start"].to_numpy()[p.seqlets["region"]] + p.seqlets["start"])
               for p in res["patterns"]]
    interpret.write_tsv(pd.concat(seqlets, ignore_index=True) if seqlets else
                        pd.DataFrame(columns=["region", "start", "end", "strand", "pattern"]), out / "seqlets.tsv")
    rows = {r["pattern"]: r for _, r in summary.iterrows()}
    for p in res["patterns"]:
        interpret.plot_pattern(p, rows.get(p.name), res["database"], out / "logos" / f"{p.name}.png")
    interpret.plot_tss_distances(res["distances"], out / "tss_distance.png")
    if summary.empty:
        log.warning("TF-MoDISco found no pattern")
    for r in summary.itertuples(index=False):
        log.info("%-6s %4d seqlets %-24s best %-8s p %.1e q %.1e; TSS median %.0f vs %.0f bp (p %.1e)",
                 r.pattern, r.n_seqlets, r.consensus, r.match, r.pvalue, r.qvalue, r.median_tss_bp,
                 r.median_random_bp, r.tss_pvalue)
    log.info("wrote %s/{motifs.tsv,seqlets.tsv,logos/,tss_distance.png,modisco_results.h5}", out)


if __name__ == "__main__":
    cli.run(main)
