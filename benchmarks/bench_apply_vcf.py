#!/usr/bin/env python
"""How long does a population VCF take to become strain genome folders?

    benchmarks/bench_apply_vcf.py --genome r64 --strains 80 --sites 400000 --per-strain 60000 -o /tmp/bench_vcf

Writes a SIMULATED multi-sample VCF over the whole reference: ``--sites`` variant sites
(90 % SNVs, 5 % 1–6 bp insertions, 5 % 1–6 bp deletions, non-overlapping, REF from the
reference), each strain carrying a random ``--per-strain`` of them as ``1/1`` (a population:
sites are shared between strains, as in the 1,011-genomes panel where yeast isolates differ
from S288C by ~0.5 %). Then times ``yeastzoi_genome.py apply-vcf --all-samples`` (the library
call :func:`yeastzoi.genome.apply_vcf`) end to end: parsing, every strain's genome.fa,
lifted genes.gtf / repeats / gaps and coordinate map. Prints and writes OUT/summary.json.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np


def write_vcf(genome_dir: Path, path: Path, strains: int, sites: int, per_strain: int, seed: int) -> int:
    from pysam.libcbgzf import BGZFile

    from yeastzoi.genome import Genome, load_genome_dir

    rng = np.random.default_rng(seed)
    info = load_genome_dir(genome_dir)
    with Genome(info["fasta"]) as g:
        sizes = dict(g.chroms)
        total = sum(sizes.values())
        names = list(sizes)
        offsets = np.cumsum([0] + [sizes[c] for c in names])
        pos = np.unique(rng.integers(10, total - 10, sites))
        kinds = rng.choice(3, len(pos), p=[0.9, 0.05, 0.05])
        lens = rng.integers(1, 7, len(pos))
        carriers = [np.sort(rng.choice(len(pos), min(per_strain, len(pos)), replace=False)) for _ in range(strains)]
        gt = np.zeros((len(pos), strains), bool)
        for j, c in enumerate(carriers):
            gt[c, j] = True
        head = ["##fileformat=VCFv4.2", "##source=benchmarks/bench_apply_vcf.py (SIMULATED)"]
        head += [f"##contig=<ID={c},length={n}>" for c, n in sizes.items()]
        head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                    + "\t".join(f"strain_{j:03d}" for j in range(strains)))
        n, last_end = 0, (None, -1)
        seqs = {c: g.fetch(c, 0, sizes[c]) for c in names}
        with BGZFile(str(path), "wb") as fh:
            fh.write(("\n".join(head) + "\n").encode())
            for i, p in enumerate(pos.tolist()):
                k = int(np.searchsorted(offsets, p, side="right") - 1)
                chrom, x = names[k], p - int(offsets[k])
                seq = seqs[chrom]
                if x + 8 >= len(seq) or (last_end[0] == chrom and x <= last_end[1]):
                    continue
                if kinds[i] == 0:
                    ref, alt = seq[x], "ACGT"[("ACGT".index(seq[x]) + 1) % 4] if seq[x] in "ACGT" else "A"
                elif kinds[i] == 1:
                    ref, alt = seq[x], seq[x] + "".join(rng.choice(list("ACGT"), int(lens[i])))
                else:
                    ref, alt = seq[x:x + 1 + int(lens[i])], seq[x]
                last_end = (chrom, x + len(ref))
                calls = "\t".join("1/1" if b else "0/0" for b in gt[i])
                fh.write(f"{chrom}\t{x + 1}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}\n".encode())
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genome", required=True, help="reference genome folder (yeastzoi_genome.py r64 DIR)")
    ap.add_argument("--strains", type=int, default=80)
    ap.add_argument("--sites", type=int, default=400_000)
    ap.add_argument("--per-strain", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--out", required=True)
    args = ap.parse_args()
    from yeastzoi.genome import apply_vcf

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vcf = out / "panel.vcf.gz"
    t0 = time.time()
    records = write_vcf(Path(args.genome), vcf, args.strains, args.sites, args.per_strain, args.seed)
    t_write = time.time() - t0
    t0 = time.time()
    res = apply_vcf(args.genome, vcf, out / "strains", all_samples=True)
    t_apply = time.time() - t0
    applied = [m["applied"]["applied"] for m in res.values()]
    summary = {"strains": len(res), "vcf_records": records, "vcf_mb": round(vcf.stat().st_size / 1e6, 1),
               "records_applied_per_strain_mean": float(np.mean(applied)),
               "genome_bp": res[next(iter(res))]["total_bp"], "write_vcf_s": round(t_write, 1),
               "apply_vcf_s": round(t_apply, 1), "s_per_strain": round(t_apply / len(res), 2),
               "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
