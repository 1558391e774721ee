"""yeastzoi.simulate.strains: SIMULATED strain panel (SNVs with ts/tv, indels, annotation liftover)."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome import Genome, read_gtf
from yeastzoi.corpus import mash_distance, sketch
from yeastzoi.genome import CoordMap
from yeastzoi.simulate.strains import indel_edits, mutate_sequence, simulate_panel

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["chrI", "chrIII", "chrVI"]  # 817 kb


def _random_seq(n, seed=0):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def test_mutate_rates_tstv_and_liftover():
    seq = _random_seq(400_000)
    new, info = mutate_sequence(seq, np.random.default_rng(3), 0.01, ts_tv=2.5, indel_fraction=0.2)
    n_snv = len(info["snv_pos"])
    assert abs(n_snv / 400_000 - 0.01) < 0.001  # 4,000 ± 63 expected
    assert 2.2 < info["transitions"] / info["transversions"] < 2.8
    ref = info["snv_ref"].tobytes().decode()
    alt = info["snv_alt"].tobytes().decode()
    ts = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
    assert sum((r, a) in ts for r, a in zip(ref, alt)) == info["transitions"]
    assert all(r != a for r, a in zip(ref, alt))
    ind = info["indels"]
    assert abs(len(ind["pos"]) / 400_000 - 0.002) < 0.0005
    assert len(new) == len(seq) + int(ind["length"].sum())
    # every parent base that is neither deleted nor substituted is found at its lifted position
    deleted = np.zeros(len(seq), bool)
    for p, L in zip(ind["pos"], ind["length"]):
        if L < 0:
            deleted[p:p - L] = True
    x = np.arange(len(seq))
    ok = ~deleted
    ok[info["snv_pos"]] = False
    lx = CoordMap.from_edits({"c": len(seq)}, {"c": indel_edits(ind)}).to_strain("c", x[ok])
    a = np.frombuffer(seq.encode(), np.uint8)[x[ok]]
    b = np.frombuffer(new.encode(), np.uint8)[lx]
    assert np.array_equal(a, b)


def test_indel_edits_hand_made():
    ind = {"pos": np.array([10, 20]), "length": np.array([3, -4])}  # insert 3 before 10; delete [20, 24)
    m = CoordMap.from_edits({"c": 40}, {"c": indel_edits(ind)})
    assert m.to_strain("c", [0, 9, 10, 19, 20, 23, 24, 30], "next").tolist() == [0, 9, 13, 22, 23, 23, 23, 29]


def test_mutate_rejects_bad_divergence():
    with pytest.raises(YeastzoiError, match="divergence"):
        mutate_sequence("ACGT" * 10, np.random.default_rng(0), 0.7)


def _check_panel(r64_dir, out, chroms, divergence, n, scaled):
    sheet = pd.read_csv(out / "species.tsv", sep="\t")
    assert list(sheet.columns) == ["name", "fasta", "gtf", "repeats"]
    assert sheet["name"].tolist() == ["Saccharomyces_cerevisiae_R64"] + [f"sim_strain_{i:02d}" for i in range(1, n + 1)]
    ref = sketch(out / sheet["fasta"].iat[0], 21, scaled)
    dists = []
    for i in range(1, n + 1):
        man = json.loads((out / f"sim_strain_{i:02d}" / "genome.json").read_text())
        assert man["simulated"] is True and "SIMULATED" in man["source"] and man["chroms"] == chroms
        d = mash_distance(ref.jaccard(sketch(out / sheet["fasta"].iat[i], 21, scaled)), 21)
        dists.append(d)
        assert abs(d - divergence) / divergence < 0.2, (i, d)
    return dists


def test_panel_small_mash_matches_divergence_and_annotation_lifted(r64_dir, tmp_path):
    out = tmp_path / "panel"
    simulate_panel(r64_dir, out, n=2, divergence=0.005, seed=7, chroms=SMALL)
    dists = _check_panel(r64_dir, out, SMALL, 0.005, 2, scaled=100)
    assert all(0.004 < d < 0.006 for d in dists)
    # lifted CDS: almost every + strand protein-coding CDS still starts with ATG in the strain
    gtf = read_gtf(out / "sim_strain_01" / "genes.gtf")
    parent = read_gtf(r64_dir / "genes.gtf")
    assert (gtf["feature"] == "gene").sum() == (parent[parent["chrom"].isin(SMALL)]["feature"] == "gene").sum()
    cds = gtf[(gtf["feature"] == "CDS") & (gtf["strand"] == "+")].drop_duplicates("transcript_id")
    with Genome(out / "sim_strain_01" / "genome.fa") as g:
        starts = [g.fetch(r.chrom, r.start, r.start + 3) for r in cds.itertuples()]
    assert len(starts) > 150 and np.mean([s == "ATG" for s in starts]) > 0.95
    muts = pd.read_csv(gzip.open(out / "sim_strain_01" / "mutations.tsv.gz"), sep="\t")
    assert set(muts["kind"]) == {"SNV", "INS", "DEL"}
    # the parent subset copy is not simulated
    assert json.loads((out / "parent_subset" / "genome.json").read_text())["simulated"] is False


def test_strains_cli(r64_dir, tmp_path):
    out = tmp_path / "cli"
    p = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_genome.py"), "strains", str(r64_dir), str(out),
                        "--n", "1", "--divergence", "0.01", "--seed", "3", "--chroms", "chrI"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "SIMULATED" in p.stdout
    man = json.loads((out / "sim_strain_01" / "genome.json").read_text())
    assert man["seed"] == 3001 and abs(man["mutations"]["snvs_per_bp"] - 0.01) < 0.002
    p = subprocess.run([sys.executable, str(ROOT / "bin" / "yeastzoi_genome.py"), "strains", str(r64_dir), str(out),
                        "--chroms", "chrXXX"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "chrXXX" in p.stderr


@pytest.mark.slow
def test_panel_whole_genome_mash(r64_dir, tmp_path):
    out = tmp_path / "panel"
    simulate_panel(r64_dir, out, n=2, divergence=0.005, seed=11)
    _check_panel(r64_dir, out, list(Genome(r64_dir / "genome.fa").chroms), 0.005, 2, scaled=1000)
