"""Corpus QC run: genomes.tsv, windows, distances, a tree, homology and report.html.

:func:`run_corpus_qc` writes into ``out_dir``: genomes.tsv (one row per genome,
:func:`yeastzoi.corpus.genome_qc`), windows.tsv.gz, distances.tsv, distance_matrix.tsv,
tree.nwk (:mod:`yeastzoi.corpus.distances`), figures/*.png, with a corpus homology_*.tsv
(:func:`yeastzoi.corpus.corpus_homology`), and report.html (heatmap ordered by UPGMA).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.corpus.distances import neighbor_joining, newick, pairwise_distances, rooted_tree, sketch
from yeastzoi.corpus.figures import plot_grid, plot_heatmap, plot_histograms, plot_repeat_components, plot_tree
from yeastzoi.corpus.homology import COVERAGES, IDENTITIES, corpus_homology
from yeastzoi.corpus.repeats import DUST_LEVEL, DUST_WINDOW
from yeastzoi.corpus.stats import genome_qc, read_species_sheet
from yeastzoi.corpus.talk import looks_like_r64, talk_comparison, talk_notes
from yeastzoi.fileio import atomic_path, write_text_atomic
from yeastzoi.genome import Genome
from yeastzoi.report import HtmlReport

log = logging.getLogger(__name__)

DEFINITIONS = (
    "Definitions: length = all bases; N = non-ACGT bases; GC = (G+C)/(A+C+G+T); genes = every gene of the "
    "GTF (all biotypes); coding fraction = union of CDS bp / genome bp; exon fraction = union of exon bp "
    "(all biotypes) / genome bp; repeats: annotated = the sheet's repeats BED, soft-masked = lower-case FASTA "
    "bases, DUST = every base of a 64 bp window whose triplet score Σc(c−1)/2/(l−1) exceeds 2.0 (dustmasker "
    "level 20); repeat fraction = union of the three. Genes per window: 'overlap' = genes sharing ≥ 1 bp with "
    "the window, 'contained' = genes wholly inside, 'tss' = genes whose TSS is inside; 'coding_*' = the same "
    "for protein-coding genes only.")

def _held_out(fasta, test_chroms, valid_chroms) -> dict[str, str]:
    """FASTA chromosome → "test"/"valid" for the reference (names it lacks are skipped)."""
    held = {}
    with Genome(fasta) as g:
        for split, names in (("test", test_chroms), ("valid", valid_chroms)):
            for c in names:
                try:
                    held[g.resolve(c)] = split
                except YeastzoiError:
                    pass
    return held


def _genomes(sheet, seq_length, stride, max_n_frac, dust_window, dust_level, test_chroms, valid_chroms,
             progress) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(genomes.tsv rows, windows of every genome) of the species sheet."""
    upd = progress("genomes", len(sheet)) if progress else (lambda n: None)
    rows, wins = [], []
    for si, r in enumerate(sheet.itertuples(index=False)):
        held = _held_out(r.fasta, test_chroms, valid_chroms) if si == 0 else {}
        row, w = genome_qc(r.name, r.fasta, r.gtf or None, r.repeats or None, seq_length, stride, held,
                           max_n_frac, dust_window, dust_level)
        rows.append(row)
        wins.append(w)
        log.info("%s: %s bp, coding %.2f %%, repeats %.2f %%, %d windows", r.name, f"{row['length_bp']:,}",
                 100 * row["coding_frac"], 100 * row["repeat_frac"], row["windows"])
        upd(1)
    return pd.DataFrame(rows), pd.concat(wins, ignore_index=True)


def _distances(sheet, out: Path, ksize: int, scaled: int, progress):
    """(long distances, matrix, rooted tree) of the sheet's genomes, written to out."""
    upd = progress("sketches", len(sheet)) if progress else (lambda n: None)
    sketches = {}
    for r in sheet.itertuples(index=False):
        sketches[r.name] = sketch(r.fasta, ksize, scaled)
        upd(1)
    dist, mat = pairwise_distances(sketches, ksize)
    _write_tsv(out / "distances.tsv", dist)
    mat.index.name = "name"
    _write_tsv(out / "distance_matrix.tsv", mat.reset_index())
    tree = rooted_tree(neighbor_joining(mat), sheet["name"].iat[0])
    write_text_atomic(out / "tree.nwk", newick(tree) + "\n")
    return dist, mat, tree


def run_corpus_qc(species_tsv, out_dir, seq_length: int = 16384, stride: int = 4096, corpus=None,
                  ksize: int = 21, scaled: int = 1000, max_n_frac: float = 0.1, dust_window: int = DUST_WINDOW,
                  dust_level: float = DUST_LEVEL, test_chroms=("chrXII", "chrXIV", "chrXVI"),
                  valid_chroms=("chrXI", "chrXIII", "chrXV"), identities=IDENTITIES, coverages=COVERAGES,
                  threads: int = 2, progress=None) -> dict:
    """Write genomes.tsv, windows.tsv.gz, distances.tsv, distance_matrix.tsv, tree.nwk,
    figures, (with ``corpus``) homology_*.tsv and report.html into ``out_dir``.

    ``progress(desc, total)`` → update(n) callable, as in :mod:`yeastzoi.data.builders`.
    Returns {"genomes": DataFrame, "windows": DataFrame, "distances": DataFrame or None,
    "tree", "homology": dict or None, "report": path}."""
    sheet = read_species_sheet(species_tsv)
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    genomes, windows = _genomes(sheet, seq_length, stride, max_n_frac, dust_window, dust_level, test_chroms,
                                valid_chroms, progress)
    _write_tsv(out / "genomes.tsv", genomes)
    _write_tsv(out / "windows.tsv.gz", windows)
    figs = {"genes": plot_histograms(windows, "genes_overlap", fig_dir / "genes_per_window.png",
                                     f"genes overlapping a {seq_length:,} bp window",
                                     bins=np.arange(-0.5, windows["genes_overlap"].max() + 1.5) if len(windows) else 10),
            "exon": plot_histograms(windows, "exon_frac", fig_dir / "exon_fraction.png",
                                    "exon fraction per window", bins=np.linspace(0, 1, 41)),
            "repeats": plot_repeat_components(genomes, fig_dir / "repeat_components.png")}
    dist = tree = None
    if len(sheet) >= 2:
        dist, mat, tree = _distances(sheet, out, ksize, scaled, progress)
        figs["heatmap"] = plot_heatmap(mat, fig_dir / "distances_heatmap.png")
        figs["tree"] = plot_tree(tree, fig_dir / "tree.png")
    hom = None
    if corpus is not None:
        hom = corpus_homology(corpus, sheet, identities, coverages, threads, progress)
        for name in ("windows", "by_species", "by_chrom", "removed"):
            _write_tsv(out / f"homology_{name}.tsv{'.gz' if name == 'windows' else ''}", hom[name])
        _write_tsv(out / "homology_grid.tsv", hom["grid"].reset_index())
        figs["grid"] = plot_grid(hom["grid"], fig_dir / "homology_grid.png")
    rep = HtmlReport("yeastzoi corpus QC")
    _report_genomes(rep, species_tsv, sheet, genomes, figs, seq_length, stride, max_n_frac)
    if dist is not None:
        _report_distances(rep, sheet, dist, figs, ksize, scaled, out)
    if hom is not None:
        _report_homology(rep, hom, figs, corpus)
    report = rep.write(out / "report.html")
    return {"genomes": genomes, "windows": windows, "distances": dist, "tree": tree, "homology": hom,
            "report": report}


def _report_genomes(rep, species_tsv, sheet, genomes, figs, seq_length, stride, max_n_frac) -> None:
    rep.paragraph(f"Species sheet {species_tsv}: {len(sheet)} genome(s); reference (first row) "
                  f"{sheet['name'].iat[0]}. Windows: {seq_length:,} bp every {stride:,} bp along whole "
                  f"chromosomes, as the LM corpus builder makes them (windows with > {max_n_frac:g} N dropped).")
    simulated = [r.name for r in sheet.itertuples(index=False) if _is_simulated(r.fasta)]
    if simulated:
        rep.paragraph(f"SIMULATED genomes (yeastzoi.simulate.strains mutated copies, not real strains): {', '.join(simulated)}.")
    rep.heading("Genomes")
    rep.paragraph(DEFINITIONS)
    rep.table(_genome_table(genomes))
    if looks_like_r64(sheet["fasta"].iat[0]):
        r0 = genomes.iloc[0].to_dict()
        rep.heading("R64 beside the talk", 3)
        rep.table(talk_comparison(r0), float_format="{:.4g}")
        rep.paragraph(talk_notes(r0, seq_length, stride))
    rep.figure(figs["genes"], f"Genes overlapping each {seq_length:,} bp window (dashed: median).")
    rep.figure(figs["exon"], "Exon fraction per window.")
    rep.figure(figs["repeats"], "Repeat fraction by component (annotated, soft-masked, DUST) and their union.")


def _report_distances(rep, sheet, dist, figs, ksize, scaled, out: Path) -> None:
    rep.heading("Distances")
    rep.paragraph(f"MinHash sketches (sourmash, k = {ksize}, scaled = {scaled}); Mash distance "
                  f"D = −ln(2J/(1+J))/k from the Jaccard index J; ANI ≈ 1 − D. The tree is neighbour "
                  f"joining on D rooted on the reference {sheet['name'].iat[0]} (tree.nwk); the heatmap is "
                  f"ordered by UPGMA.")
    rep.table(dist, float_format="{:.5g}")
    sim = simulated_vs_configured(sheet, dist)
    if len(sim):
        rep.paragraph("SIMULATED strains: Mash distance to the reference beside the configured divergence "
                      "(SNVs per bp; indel events add indel_fraction × divergence per bp, so the expected Mash "
                      "distance is about divergence × (1 + indel_fraction)).")
        rep.table(sim, float_format="{:.4g}")
        _write_tsv(out / "simulated_vs_configured.tsv", sim)
    rep.figure(figs["heatmap"], "Mash distances, UPGMA order.")
    rep.figure(figs["tree"], "Neighbour-joining tree rooted on the reference.")


def _report_homology(rep, hom, figs, corpus) -> None:
    rep.heading("Homology of train to held-out windows")
    rep.paragraph(
        f"Corpus {corpus}: {len(hom['windows']):,} train windows (kept and removed by the builder) mapped with "
        f"minimap2 asm20 to {hom['held_out_bp']:,} bp of reference valid/test windows. A window counts at "
        f"identity ≥ i and coverage ≥ c when alignments of identity (matches / block length) ≥ i cover ≥ c of "
        f"it. 'shorkie_rule' = any alignment above 80 % identity or total coverage above 10 % (the builder's "
        f"default rule); 'removed_by_builder' = train windows absent from sequences.bed.")
    if hom["other_filters"]:
        rep.paragraph(f"Other filters also removed windows ({hom['other_filters']}); they are counted as removed here.")
    rep.table(hom["grid"].reset_index(), float_format="{:.3f}")
    rep.figure(figs["grid"], "Fraction of train windows aligned to valid/test by threshold.")
    rep.table(hom["by_species"], float_format="{:.3f}")
    rep.table(hom["by_chrom"], float_format="{:.3f}", max_rows=200)
    rem = hom["removed"]
    rep.paragraph(f"{len(rem):,} windows removed by the builder (homology_removed.tsv):")
    rep.table(rem[["species", "chrom", "start", "end", "best_identity", "longest_block", "coverage_any"]],
              float_format="{:.3f}", max_rows=100)


def _genome_table(genomes: pd.DataFrame) -> pd.DataFrame:
    t = genomes[["name", "chroms", "length_bp", "n_frac", "gc", "genes", "protein_coding_genes", "coding_frac",
                 "exon_frac_genome", "repeat_annotated_frac", "repeat_softmask_frac", "repeat_dust_frac",
                 "repeat_frac", "windows", "genes_per_window_overlap_median", "genes_per_window_overlap_mean",
                 "genes_per_window_contained_mean", "exon_frac_window_mean"]].copy()
    return t


def simulated_vs_configured(sheet: pd.DataFrame, dist: pd.DataFrame) -> pd.DataFrame:
    """For SIMULATED strains of the reference: configured divergence vs measured Mash distance."""
    ref = sheet["name"].iat[0]
    recs = []
    for r in sheet.iloc[1:].itertuples(index=False):
        man = Path(r.fasta).parent / "genome.json"
        if not man.exists():
            continue
        try:
            m = json.loads(man.read_text())
        except ValueError:
            continue
        if not m.get("simulated") or "divergence" not in m:
            continue
        hit = dist[((dist["name_a"] == ref) & (dist["name_b"] == r.name)) | ((dist["name_b"] == ref) & (dist["name_a"] == r.name))]
        if hit.empty:
            continue
        d = float(m["divergence"])
        mash = float(hit["mash_distance"].iat[0])
        recs.append((r.name, m.get("parent"), d, m.get("indel_fraction", 0.0), mash,
                     (mash - d) / d if d else float("nan")))
    return pd.DataFrame(recs, columns=["strain", "parent", "divergence", "indel_fraction", "mash_to_reference",
                                       "relative_difference"])


def _is_simulated(fasta) -> bool:
    man = Path(fasta).parent / "genome.json"
    if not man.exists():
        return False
    try:
        return bool(json.loads(man.read_text()).get("simulated"))
    except ValueError:
        return False


def _write_tsv(path, df: pd.DataFrame) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.6g",
                  compression="gzip" if path.suffix == ".gz" else None)
    return path
