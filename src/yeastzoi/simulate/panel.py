"""SIMULATED tracks for a SIMULATED strain panel, all strains under ONE regulatory model.

    summary = simulate_panel_tracks("panel/", "sim_panel/", seed=1, depth=2, heldout=1)

``panel/`` is a folder written by ``yeastzoi_genome.py strains`` (species.tsv with the parent
first, one genome folder per strain, each with ``mutations.tsv.gz``, and strains.vcf.gz).
Every genome (the parent and each strain) is simulated by :func:`yeastzoi.simulate.run.simulate_genome`
with the SAME seed, settings and motif background (the parent's base composition), so the
motifs, site thresholds, weights W and the per-gene noise ε_g (keyed by gene id) are shared:
a strain's expression differs from the parent's only through its own sequence. For a gene
g of strain s, the true effect of the strain's promoter variants is therefore exact:

    LFC[s, g, c] = expr_s[g, c] − expr_parent[g, c]

(ε_g cancels), and for a gene with one promoter variant in s it is that variant's exact
effect in the parent background.

Outputs under OUT:

* ``<genome>/`` — a complete simulation per genome (bam/, bigwig/, targets.txt with the same
  16 track identifiers, truth/ in that genome's coordinates);
* ``panel_truth/strain_genes.tsv`` — strain, gene, chrom, tss/strand (parent coordinates),
  number of the strain's variants in the gene's promoter, parent and strain expression and
  LFC per condition (every gene, 0 where nothing changed);
* ``panel_truth/strain_variants.tsv`` — each strain's variants that touch a promoter
  (parent coordinates, VCF POS/REF/ALT as in strains.vcf.gz), the gene, how many of the
  strain's variants share that promoter, and the gene's LFC in that strain per condition
  (exact per variant where ``promoter_variants`` is 1);
* ``panel_truth/strains.vcf.gz`` — the panel's multi-sample VCF (readable by
  ``apply-vcf``, ``--background``, ``--vcf --sample``);
* ``panel.json`` — genomes, roles (``train`` / ``heldout``: the last ``heldout`` strains
  are kept out of training so their private variants are carried by no training strain),
  counts.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, write_json_atomic
from .config import SIMULATED

log = logging.getLogger(__name__)


def read_panel(panel_dir) -> tuple[Path, list[tuple[str, Path]]]:
    """(parent folder, [(strain name, folder)]) of a panel written by ``yeastzoi_genome.py strains``."""
    panel_dir = Path(panel_dir)
    sheet = panel_dir / "species.tsv"
    if not sheet.is_file():
        raise YeastzoiError(f"{panel_dir}: no species.tsv; make the panel with `yeastzoi_genome.py strains "
                            f"PARENT_DIR {panel_dir}`")
    rows = pd.read_csv(sheet, sep="\t")
    folders = [Path(f).parent if Path(f).is_absolute() else (panel_dir / f).parent for f in rows["fasta"]]
    strains = list(zip(rows["name"].iloc[1:], folders[1:]))
    for name, d in strains:
        if not (d / "mutations.tsv.gz").is_file():
            raise YeastzoiError(f"{d}: strain {name} has no mutations.tsv.gz; not a SIMULATED panel strain")
    if not strains:
        raise YeastzoiError(f"{sheet}: no strains after the parent row")
    return folders[0], strains


def promoter_spans(genes: pd.DataFrame, P: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) bp of each gene's promoter: [tss − P, tss) on +, [tss + 1, tss + 1 + P) on −."""
    tss = genes["tss"].to_numpy(np.int64)
    plus = (genes["strand"] == "+").to_numpy()
    return np.where(plus, tss - P, tss + 1), np.where(plus, tss, tss + 1 + P)


def strain_truth(parent_genes: pd.DataFrame, strain_genes: pd.DataFrame, records: list, cond_names: list,
                 P: int, strain: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(gene table, variant table) of one strain (module docstring). ``*_genes``: the two
    simulations' truth/genes.tsv; ``records``: the strain's VCF records (chrom, POS, REF, ALT)."""
    g = parent_genes[["gene_id", "gene_name", "chrom", "tss", "strand"]].copy()
    s = strain_genes.set_index("gene_id")
    missing = set(g["gene_id"]) - set(s.index)
    if missing:
        raise YeastzoiError(f"strain {strain}: {len(missing)} parent genes missing from its simulation "
                            f"(e.g. {sorted(missing)[:3]}); simulate the same chromosomes")
    lo, hi = promoter_spans(g, P)
    rec = pd.DataFrame(records, columns=["chrom", "pos", "ref", "alt"])
    hits = []
    for chrom, idx in g.groupby("chrom", sort=False).indices.items():
        r = rec[rec["chrom"] == chrom]
        if r.empty:
            continue
        a = r["pos"].to_numpy() - 1
        b = a + r["ref"].str.len().to_numpy()
        for i in idx:
            m = (a < hi[i]) & (b > lo[i])
            for k in np.flatnonzero(m):
                hits.append((i, r.index[k]))
    n_prom = np.zeros(len(g), np.int64)
    for i, _ in hits:
        n_prom[i] += 1
    g.insert(0, "strain", strain)
    g["promoter_variants"] = n_prom
    for c in cond_names:
        ref_e = parent_genes[f"expr_{c}"].to_numpy()
        st_e = s.loc[g["gene_id"], f"expr_{c}"].to_numpy()
        g[f"expr_parent_{c}"] = ref_e
        g[f"expr_strain_{c}"] = st_e
        g[f"lfc_{c}"] = np.round(st_e - ref_e, 6) + 0.0
    rows = []
    for i, k in hits:
        rows.append({"strain": strain, "chrom": rec.at[k, "chrom"], "pos": int(rec.at[k, "pos"]),
                     "ref": rec.at[k, "ref"], "alt": rec.at[k, "alt"], "gene_id": g.at[i, "gene_id"],
                     "promoter_variants": int(n_prom[i]),
                     **{f"lfc_{c}": float(g.at[i, f"lfc_{c}"]) for c in cond_names}})
    return g, pd.DataFrame(rows)


def simulate_panel_tracks(panel_dir, out_dir, seed: int = 0, depth: float = 1.0, conditions: int = 4,
                          chroms=None, heldout: int = 0, config=None, progress=None) -> dict:
    """Simulate the parent and every strain of ``panel_dir`` under one regulatory model and
    write the panel truth (module docstring). Returns panel.json's content."""
    from ..genome import Genome, load_genome_dir
    from .config import SimConfig
    from .run import simulate_genome
    from .strains import strain_vcf_records

    cfg = config or SimConfig()
    parent_dir, strains = read_panel(panel_dir)
    if not 0 <= heldout < len(strains):
        raise YeastzoiError(f"--heldout {heldout}: must be between 0 and {len(strains) - 1} (the panel has "
                            f"{len(strains)} strains; at least one must train)")
    out = Path(out_dir)
    step = progress or (lambda msg: None)
    parent_name = load_genome_dir(parent_dir)["name"]
    step(f"simulating {parent_name}")
    summaries = {parent_name: simulate_genome(parent_dir, out / parent_name, chroms, seed, depth, conditions, cfg)}
    model = json.loads((out / parent_name / "truth" / "model.json").read_text())
    background = np.asarray(model["background"], np.float64)
    cond_names = list(model["W"])
    parent_genes = pd.read_csv(out / parent_name / "truth" / "genes.tsv", sep="\t")
    gene_tables, var_tables = [], []
    with Genome(load_genome_dir(parent_dir)["fasta"]) as parent:
        for name, folder in strains:
            step(f"simulating {name}")
            summaries[name] = simulate_genome(folder, out / name, chroms, seed, depth, conditions, cfg,
                                              motif_background=background)
            muts = pd.read_csv(folder / "mutations.tsv.gz", sep="\t", keep_default_na=False,
                               dtype={"ref": str, "alt": str})
            sg = pd.read_csv(out / name / "truth" / "genes.tsv", sep="\t")
            gt, vt = strain_truth(parent_genes, sg, strain_vcf_records(parent, muts), cond_names,
                                  cfg.promoter_bp, name)
            gene_tables.append(gt)
            var_tables.append(vt)
    truth = out / "panel_truth"
    truth.mkdir(parents=True, exist_ok=True)
    for fname, tables in (("strain_genes.tsv", gene_tables), ("strain_variants.tsv", var_tables)):
        with atomic_path(truth / fname) as tmp:
            pd.concat(tables, ignore_index=True).to_csv(tmp, sep="\t", index=False)
    vcf = Path(panel_dir) / "strains.vcf.gz"
    if vcf.is_file():
        with atomic_path(truth / "strains.vcf.gz") as tmp:
            shutil.copyfile(vcf, tmp)
    roles = {parent_name: "train"}
    roles.update({n: ("heldout" if i >= len(strains) - heldout else "train") for i, (n, _) in enumerate(strains)})
    genes_all = pd.concat(gene_tables, ignore_index=True)
    panel = {"simulated": True, "note": f"{SIMULATED} strain panel tracks under one regulatory model",
             "panel_dir": str(Path(panel_dir).resolve()), "seed": seed, "depth": depth,
             "conditions": cond_names, "genomes": [{"name": n, "role": roles[n], "dir": str((out / n).resolve())}
                                                   for n in roles],
             "genes_with_promoter_variants": int((genes_all["promoter_variants"] > 0).sum()),
             "promoter_variant_rows": int(sum(len(t) for t in var_tables))}
    write_json_atomic(out / "panel.json", panel)
    log.info("%s: %d genomes simulated (%s); %d strain × gene promoters changed", out, len(roles),
             ", ".join(f"{n} {r}" for n, r in roles.items()), panel["genes_with_promoter_variants"])
    return panel


__all__ = ["read_panel", "promoter_spans", "strain_truth", "simulate_panel_tracks"]
