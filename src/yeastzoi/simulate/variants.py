"""SIMULATED truth variants and MPRA constructs for :mod:`yeastzoi.simulate.run`.

Variants lie in promoters (the ``cfg.promoter_bp`` bp upstream of a protein-coding TSS).
For a fraction ``cfg.variant_gene_frac`` of genes (seeded) one variant is drawn, its
class drawn with probabilities ``cfg.variant_class_probs`` over

* ``disrupt``: an SNV that lowers the occupancy of existing sites only (every factor's
  content change ≤ 0, at least one < 0), with |basal LFC| ≥ ``cfg.variant_min_effect``;
* ``create``: an SNV that only raises occupancy (creates a site or strengthens one);
* ``neutral``: an SNV that changes no site at all (LFC exactly 0 in every condition);
* ``indel``: a deletion or insertion of 1..``cfg.indel_max_len`` bp at a random
  promoter position (whatever its effect).

When a gene offers no SNV of the drawn class, the next class in that order is tried.
The LFC is always recomputed exactly as expr(ALT promoter) − expr(REF promoter) per
condition (:func:`yeastzoi.simulate.model.apply_variant_promoter`).

MPRA (``truth/mpra.tsv``): every variant's REF and ALT gene-oriented promoter (exactly
``cfg.promoter_bp`` bp, 5′→3′ ending just upstream of the TSS) replaces the native
promoter of each of ``cfg.mpra_reporters`` reporter genes (the promoter region is
[tss−P, tss) on + strand reporters, [tss+1, tss+1+P) on − strand ones; ``distance`` = 0
bp between the insert's 3′ end and the reporter TSS). The reporter's true expression is
the model's: expr_base + M(insert)·W[:, c] + the reporter gene's own noise term.
"""
from __future__ import annotations

import numpy as np

from . import model as sm

CLASSES = ("disrupt", "create", "neutral", "indel")
_COMP = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_B = "ACGTN"


def _snv_candidates(dM: np.ndarray, W0: np.ndarray, prom: np.ndarray, cls: str, min_effect: float):
    """Indices (k, b) of SNVs of class ``cls`` in a promoter, from dM (P, 4, F)."""
    eps = 1e-9
    lfc = dM @ W0
    valid = (prom < 4)[:, None] & (np.arange(4)[None, :] != prom[:, None])
    lo, hi = dM.min(axis=2), dM.max(axis=2)
    if cls == "disrupt":
        m = valid & (lo < -eps) & (hi <= eps) & (np.abs(lfc) >= min_effect)
    elif cls == "create":
        m = valid & (hi > eps) & (lo >= -eps) & (np.abs(lfc) >= min_effect)
    else:  # neutral
        m = valid & (np.abs(dM).max(axis=2) == 0)
    return np.argwhere(m)


def choose_variants(rng, chrom: str, chrom_codes: np.ndarray, genes, ms, W: np.ndarray, cfg) -> list[dict]:
    """Truth variants for the protein-coding genes ``genes`` (DataFrame with gene_id,
    gene_name, tss, strand) of one chromosome. Returns dicts with chrom, pos (0-based),
    ref, alt (strings, VCF-style with an anchor base for indels), gene, cls, factor
    (the factor with the largest |content change| or '.'), lfc (C,), ref_prom, alt_prom."""
    P = cfg.promoter_bp
    probs = np.asarray(cfg.variant_class_probs, dtype=np.float64)
    out = []
    for g in genes.itertuples(index=False):
        if rng.random() >= cfg.variant_gene_frac:
            continue
        tss, strand = int(g.tss), g.strand
        prom = sm.promoter_codes(chrom_codes, tss, strand, P)
        if (prom == 4).mean() > 0.1:
            continue
        first = CLASSES[rng.choice(len(CLASSES), p=probs / probs.sum())]
        order = [first] + [c for c in CLASSES if c != first]
        var = None
        dM = None
        for cls in order:
            if cls == "indel":
                var = _indel(rng, chrom_codes, tss, strand, P, cfg)
            else:
                if dM is None:
                    dM = sm.snv_content_delta(prom, ms, cfg)
                cand = _snv_candidates(dM, W[:, 0], prom, cls, cfg.variant_min_effect)
                if len(cand) == 0:
                    continue
                k, b = cand[rng.integers(len(cand))]
                if strand == "+":
                    pos, ref_c, alt_c = tss - P + int(k), int(prom[k]), int(b)
                else:
                    pos, ref_c, alt_c = tss + P - int(k), int(_COMP[prom[k]]), int(_COMP[b])
                var = {"pos": pos, "ref": np.array([ref_c], np.uint8), "alt": np.array([alt_c], np.uint8)}
            if var is not None:
                var["cls"] = cls
                break
        if var is None:
            continue
        alt_prom = sm.apply_variant_promoter(chrom_codes, tss, strand, P, var["pos"], var["ref"], var["alt"])
        dm = sm.promoter_content(alt_prom, ms, cfg) - sm.promoter_content(prom, ms, cfg)
        lfc = dm @ W
        fac = ms.names[int(np.argmax(np.abs(dm)))] if np.abs(dm).max() > 0 else "."
        out.append({"chrom": chrom, "pos": var["pos"], "ref": "".join(_B[c] for c in var["ref"]),
                    "alt": "".join(_B[c] for c in var["alt"]), "gene": g.gene_id, "gene_name": g.gene_name,
                    "cls": var["cls"], "factor": fac, "lfc": lfc, "ref_prom": prom, "alt_prom": alt_prom})
    return out


def _indel(rng, chrom_codes, tss, strand, P, cfg):
    """A deletion or insertion, VCF-anchored (REF/ALT share their first base), lying
    strictly inside the promoter on the genome + strand."""
    n = int(rng.integers(1, cfg.indel_max_len + 1))
    lo, hi = (tss - P, tss) if strand == "+" else (tss + 1, tss + 1 + P)
    lo = max(lo, 1)
    hi = min(hi, len(chrom_codes))
    if hi - lo < n + 2:
        return None
    pos = int(rng.integers(lo, hi - n - 1))          # anchor base
    if rng.random() < 0.5:
        ref = chrom_codes[pos:pos + n + 1].copy()
        alt = ref[:1].copy()
    else:
        ref = chrom_codes[pos:pos + 1].copy()
        alt = np.concatenate([ref, rng.integers(0, 4, size=n).astype(np.uint8)])
    if (ref == 4).any():
        return None
    return {"pos": pos, "ref": ref, "alt": alt}


def vcf_text(variants: list[dict], chrom_sizes: dict, cond_names: list, fasta_name: str) -> str:
    """VCF 4.2 text of the truth variants, sorted by (chromosome order, position)."""
    order = {c: i for i, c in enumerate(chrom_sizes)}
    lines = ["##fileformat=VCFv4.2",
             "##source=yeastzoi.simulate.run (SIMULATED truth variants)",
             f"##reference={fasta_name}"]
    lines += [f"##contig=<ID={c},length={int(n)}>" for c, n in chrom_sizes.items()]
    lines += ['##INFO=<ID=GENE,Number=1,Type=String,Description="Gene whose promoter holds the variant (SIMULATED)">',
              '##INFO=<ID=LFC,Number=.,Type=Float,Description="True log2 fold change ALT vs REF of GENE expression, '
              f'one value per condition in conditions.txt order: {",".join(cond_names)}">',
              '##INFO=<ID=CLASS,Number=1,Type=String,Description="disrupt, create, neutral or indel">',
              '##INFO=<ID=FACTOR,Number=1,Type=String,Description="Factor whose promoter content changes most (. if none)">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for v in sorted(variants, key=lambda v: (order[v["chrom"]], v["pos"], v["ref"], v["alt"])):
        lfc = ",".join(f"{x:.6g}" if x != 0 else "0" for x in v["lfc"])
        lines.append(f"{v['chrom']}\t{v['pos'] + 1}\t{v['id']}\t{v['ref']}\t{v['alt']}\t.\tPASS\t"
                     f"GENE={v['gene']};LFC={lfc};CLASS={v['cls']};FACTOR={v['factor']}")
    return "\n".join(lines) + "\n"


def mpra_rows(variants: list[dict], reporters, ms, W: np.ndarray, noise_by_gene: dict, cfg,
              cond_names: list) -> list[dict]:
    """Rows of mpra.tsv: one per (variant, allele ref/alt, reporter gene)."""
    P = cfg.promoter_bp
    rows = []
    cache = {}
    for v in variants:
        for allele, prom in (("ref", v["ref_prom"]), ("alt", v["alt_prom"])):
            key = prom.tobytes()
            if key not in cache:
                cache[key] = sm.promoter_content(prom, ms, cfg)
            M = cache[key]
            seq = "".join(_B[c] for c in prom)
            for r in reporters.itertuples(index=False):
                tss = int(r.tss)
                ins = (tss - P, tss) if r.strand == "+" else (tss + 1, tss + 1 + P)
                expr = cfg.expr_base + M @ W + noise_by_gene[r.gene_id]
                row = {"id": f"{v['id']}:{allele}:{r.gene_id}", "variant_id": v["id"], "allele": allele,
                       "gene": v["gene"], "reporter": r.gene_id, "reporter_chrom": r.chrom,
                       "reporter_tss": tss, "reporter_strand": r.strand, "insert_start": ins[0],
                       "insert_end": ins[1], "distance": 0, "sequence": seq}
                row.update({f"expr_{c}": round(float(x), 6) for c, x in zip(cond_names, expr)})
                rows.append(row)
    return rows
