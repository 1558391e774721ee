"""A SIMULATED strain panel under one regulatory model (yeastzoi.simulate.panel)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi.genome import Genome, ascii_to_codes
from yeastzoi.simulate import SimConfig, build_motifset, condition_weights, promoter_codes, promoter_content
from yeastzoi.simulate.strains import simulate_panel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim_panel(r64_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("simpanel")
    simulate_panel(r64_dir, d / "panel", n=2, divergence=0.002, seed=5, chroms=["chrI"])
    p = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_simulate.py"), "--panel", str(d / "panel"),
                        str(d / "sim"), "--seed", "3", "--depth", "0.05", "--conditions", "2", "--heldout", "1", "-q"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "SIMULATED panel" in p.stdout
    return d


def test_strain_lfc_is_the_exact_effect_of_its_single_promoter_variant(sim_panel):
    d = sim_panel
    panel = json.loads((d / "sim" / "panel.json").read_text())
    assert [(g["name"], g["role"]) for g in panel["genomes"]] == [
        ("Saccharomyces_cerevisiae_R64", "train"), ("sim_strain_01", "train"), ("sim_strain_02", "heldout")]
    genes = pd.read_csv(d / "sim" / "panel_truth" / "strain_genes.tsv", sep="\t")
    var = pd.read_csv(d / "sim" / "panel_truth" / "strain_variants.tsv", sep="\t")
    # one model: a gene without promoter variants has exactly the parent's expression
    same = genes[genes["promoter_variants"] == 0]
    assert len(same) > 20 and same.filter(like="lfc_").shape[1] == 2 and same.filter(like="lfc_").abs().max().max() == 0
    single = var[(var["promoter_variants"] == 1) & (var["ref"].str.len() == 1) & (var["alt"].str.len() == 1)]
    assert len(single) >= 5
    # recompute each single SNV's effect from the generative model in the PARENT background
    cfg = SimConfig()
    model = json.loads((d / "sim" / "Saccharomyces_cerevisiae_R64" / "truth" / "model.json").read_text())
    ms = build_motifset(cfg, np.asarray(model["background"]))
    W, conds = condition_weights(ms, cfg, 2)
    parent_genes = pd.read_csv(d / "sim" / "Saccharomyces_cerevisiae_R64" / "truth" / "genes.tsv", sep="\t")
    tss = dict(zip(parent_genes["gene_id"], zip(parent_genes["tss"], parent_genes["strand"])))
    with Genome(d / "panel" / "parent_subset" / "genome.fa") as g:
        codes = g.fetch_codes("chrI", 0, g.chroms["chrI"])
    nonzero = 0
    for r in single.itertuples():
        t, strand = tss[r.gene_id]
        alt = codes.copy()
        alt[r.pos - 1] = ascii_to_codes(np.frombuffer(r.alt.encode(), np.uint8))[0]
        m_ref = promoter_content(promoter_codes(codes, int(t), strand, cfg.promoter_bp), ms, cfg)
        m_alt = promoter_content(promoter_codes(alt, int(t), strand, cfg.promoter_bp), ms, cfg)
        want = (m_alt - m_ref) @ W
        got = np.array([getattr(r, f"lfc_{c}") for c, _ in conds])
        np.testing.assert_allclose(got, want, atol=2e-6)
        nonzero += int(np.abs(want).max() > 1e-3)
    assert nonzero >= 1


def test_panel_errors(tmp_path):
    from yeastzoi import YeastzoiError
    from yeastzoi.simulate.panel import read_panel

    with pytest.raises(YeastzoiError, match="no species.tsv"):
        read_panel(tmp_path)


def test_promoter_library_activities_are_the_model_of_the_construct(sim_panel):
    """truth/library.tsv: every activity is expr_base + M(insert)·W + the reporter's noise, exactly."""
    from yeastzoi.simulate.library import simulate_library

    d = sim_panel
    sim = d / "sim" / "Saccharomyces_cerevisiae_R64"
    lib = simulate_library(sim, d / "panel" / "parent_subset", n=120, seed=4, holdout=0.2)
    assert (sim / "truth" / "library.tsv").is_file() and len(lib) == 240 and lib["reporter"].nunique() == 2
    assert set(lib["strand"]) == {"+", "-"} and lib["sequence"].str.len().eq(500).all()
    counts = lib[lib["reporter"] == lib["reporter"].iat[0]]["split"].value_counts()
    assert counts["train"] > 50 and counts["valid"] > 10 and counts["test"] > 10
    cfg = SimConfig()
    model = json.loads((sim / "truth" / "model.json").read_text())
    ms = build_motifset(cfg, np.asarray(model["background"]))
    W, conds = condition_weights(ms, cfg, 2)
    genes = pd.read_csv(sim / "truth" / "genes.tsv", sep="\t").set_index("gene_id")
    M = []
    for r in lib.head(40).itertuples():
        codes = ascii_to_codes(np.frombuffer(r.sequence.encode(), np.uint8))
        m = promoter_content(codes, ms, cfg)
        M.append(m)
        want = cfg.expr_base + m @ W + genes.at[r.reporter, "noise"]
        got = np.array([getattr(r, f"activity_true_{c}") for c, _ in conds])
        np.testing.assert_allclose(got, want, atol=2e-6)
        g = genes.loc[r.reporter]
        assert (r.insert_start, r.insert_end) == ((g.tss - 500, g.tss) if g.strand == "+" else (g.tss + 1, g.tss + 501))
    assert np.mean([m.sum() > 0 for m in M]) > 0.5                       # planted sites are bound
    assert (lib["activity_basal"] - lib["activity_true_basal"]).std() == pytest.approx(0.1, rel=0.25)
