"""Acceptance tests of the SIMULATED coverage + ground truth (yeastzoi.simulate.run) on chrI-chrIII."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pyBigWig
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.simulate import model as sm
from yeastzoi.genome import Genome, genes_table, read_gtf
from yeastzoi.simulate.run import SimConfig, simulate_genome
from yeastzoi.coverage import read_targets

CHROMS = ["chrI", "chrII", "chrIII"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim(r64_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "out"
    summary = simulate_genome(r64_dir, out, chroms=CHROMS, seed=3)
    return out, summary


@pytest.fixture(scope="module")
def genome(r64_dir):
    return Genome(r64_dir / "genome.fa")


def _bw_values(path, chroms):
    bw = pyBigWig.open(str(path))
    vals = {c: np.nan_to_num(np.asarray(bw.values(c, 0, bw.chroms()[c], numpy=True), dtype=np.float64))
            for c in chroms}
    bw.close()
    return vals


def test_summary_and_targets(sim, genome):
    out, s = sim
    assert s["simulated"] and "SIMULATED" in s["note"]
    assert s["chroms"] == CHROMS
    t = read_targets(out / "targets.txt")
    assert len(t) >= 12 and len(t) == len(s["tracks"])
    assert set(t["group"]) == {"chipexo", "mnase", "histone", "rnaseq"}
    assert all(d.startswith("SIMULATED") for d in t["description"])
    assert (t["group"] == "chipexo").sum() >= 4 and (t["group"] == "rnaseq").sum() >= 6
    sp = t["strand_pair"].to_numpy()
    np.testing.assert_array_equal(sp[sp], np.arange(len(t)))
    plus = t.index[t["identifier"] == "SIM_RNA_basal+"][0]
    assert t.loc[sp[plus], "identifier"] == "SIM_RNA_basal-"
    for f in t["file"]:
        assert (out / f).is_file()
    print("tracks:", {x["identifier"]: x["reads"] for x in s["tracks"]})


def test_bams_pass_pysam_checks(sim, genome):
    out, s = sim
    bams = sorted({x["bam"] for x in s["tracks"]})
    assert len(bams) >= 9
    reads = {x["bam"]: x["reads"] for x in s["tracks"]}
    for b in bams:
        path = str(out / b)
        assert pysam.quickcheck(path) == ""  # raises on a broken BAM
        assert Path(path + ".bai").is_file()
        with pysam.AlignmentFile(path) as fh:
            assert list(fh.references) == list(genome.chroms)
            assert list(fh.lengths) == list(genome.chroms.values())
            stats = {r.contig: r.mapped for r in fh.get_index_statistics()}
            assert sum(stats.values()) == reads[b] > 1000
            assert set(c for c, n in stats.items() if n) <= set(CHROMS)
            prev = (-1, -1)
            for i, r in enumerate(fh.fetch("chrII")):  # coordinate-sorted, reference SEQ
                assert (r.reference_id, r.reference_start) >= prev
                prev = (r.reference_id, r.reference_start)
                if i < 200 and "N" not in r.cigarstring:
                    assert r.query_sequence == genome.fetch("chrII", r.reference_start, r.reference_end)
        idx = pysam.idxstats(path)
        assert idx.splitlines()[0].startswith("chrI\t")


def test_bigwigs_carry_genome_chromosomes(sim, genome):
    out, _ = sim
    t = read_targets(out / "targets.txt")
    for f in t["file"]:
        bw = pyBigWig.open(str(out / f))
        assert bw is not None
        assert bw.chroms() == dict(genome.chroms)
        assert bw.stats("chrII", type="sum", exact=True)[0] > 0
        bw.close()


def test_rnaseq_coverage_in_exons_and_stranded(sim, r64_dir, genome):
    out, _ = sim
    gtf = read_gtf(r64_dir / "genes.gtf")
    ex = gtf[(gtf["feature"] == "exon") & gtf["chrom"].isin(CHROMS)]
    t = read_targets(out / "targets.txt")
    for _, row in t[t["group"] == "rnaseq"].iterrows():
        strand = row["identifier"][-1]
        vals = _bw_values(out / row["file"], CHROMS)
        in_exon = same_strand = total = 0.0
        for c in CHROMS:
            mask = np.zeros(genome.chroms[c], bool)
            smask = np.zeros(genome.chroms[c], bool)
            for s, e, st in ex.loc[ex["chrom"] == c, ["start", "end", "strand"]].itertuples(index=False):
                mask[s:e] = True
                if st == strand:
                    smask[s:e] = True
            total += vals[c].sum()
            in_exon += vals[c][mask].sum()
            same_strand += vals[c][smask].sum()
        print(f"{row['identifier']}: {in_exon / total:.3f} of coverage in exons, "
              f"{same_strand / total:.3f} in exons of its strand")
        assert in_exon / total >= 0.90
        assert same_strand / total >= 0.85


def test_chipexo_enrichment_at_bound_sites(sim, genome):
    out, _ = sim
    sites = pd.read_csv(out / "truth" / "sites.bed", sep="\t", header=None,
                        names=["chrom", "start", "end", "factor", "score", "strand"])
    t = read_targets(out / "targets.txt")
    for _, row in t[t["group"] == "chipexo"].iterrows():
        fac = row["identifier"].split("_")[-1]
        vals = _bw_values(out / row["file"], CHROMS)
        near = tot = 0.0
        n_near = n_tot = 0
        for c in CHROMS:
            mask = np.zeros(genome.chroms[c], bool)
            for s, e in sites.loc[(sites["chrom"] == c) & (sites["factor"] == fac), ["start", "end"]].itertuples(index=False):
                mask[max(s - 50, 0):e + 50] = True
            near += vals[c][mask].sum()
            n_near += mask.sum()
            tot += vals[c].sum()
            n_tot += len(mask)
        ratio = (near / n_near) / (tot / n_tot)
        print(f"ChIP-exo {fac}: signal within 50 bp of {int((sites['factor'] == fac).sum())} bound sites "
              f"= {ratio:.1f}x the genome-wide mean")
        assert ratio >= 10


def test_mnase_phased_from_plus1_and_ndr(sim, r64_dir):
    out, _ = sim
    genes = genes_table(read_gtf(r64_dir / "genes.gtf"))
    genes = genes[genes["chrom"].isin(CHROMS) & (genes["gene_biotype"] == "protein_coding")]
    vals = _bw_values(out / "bigwig" / "mnase.bw", CHROMS)
    prof = np.zeros(1001)
    for g in genes.itertuples(index=False):
        v = vals[g.chrom]
        if g.strand == "+" and g.tss - 500 >= 0 and g.tss + 501 <= len(v):
            prof += v[g.tss - 500:g.tss + 501]
        elif g.strand == "-" and g.tss - 500 >= 0 and g.tss + 501 <= len(v):
            prof += v[g.tss - 500:g.tss + 501][::-1]
    smooth = np.convolve(prof, np.ones(21) / 21, mode="same")
    plus1 = smooth[500 + 60]
    ndr = smooth[500 - 100]
    plus2 = smooth[500 + 225]
    trough = smooth[500 + 142]
    print(f"MNase meta-profile: +1 {plus1:.1f}, +2 {plus2:.1f}, trough {trough:.1f}, NDR {ndr:.1f}")
    assert plus1 > 3 * ndr
    assert plus1 > 1.5 * trough and plus2 > trough


def test_truth_expression_and_regression(sim):
    out, _ = sim
    g = pd.read_csv(out / "truth" / "genes.tsv", sep="\t")
    model = json.loads((out / "truth" / "model.json").read_text())
    conds = [ln.split("\t")[0] for ln in (out / "truth" / "conditions.txt").read_text().splitlines()]
    assert conds[0] == "basal" and len(conds) == 4
    X = g[[f"motif_{f}" for f in model["factors"]]].to_numpy()
    A = np.column_stack([np.ones(len(X)), X])
    for c in conds:
        y = g[f"expr_{c}"].to_numpy()
        W = np.asarray(model["W"][c])
        # exact generative formula (file values rounded to 1e-6)
        np.testing.assert_allclose(y, model["expr_base"] + X @ W + g["noise"].to_numpy(), atol=1e-4)
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        resid = y - A @ coef
        r2 = 1 - resid.var() / y.var()
        sigma2 = resid @ resid / (len(y) - A.shape[1])
        se = np.sqrt(np.diag(sigma2 * np.linalg.inv(A.T @ A)))
        z = (coef[1:] - W) / se[1:]
        print(f"{c}: R2 {r2:.3f}, intercept {coef[0]:.2f} (true {model['expr_base']}), resid sd {resid.std():.3f}")
        for f, est, true, s in zip(model["factors"], coef[1:], W, se[1:]):
            print(f"   {f:5s} estimated {est:+.2f} ± {s:.2f}   designed {true:+.2f}")
        assert r2 > 0.5
        assert abs(coef[0] - model["expr_base"]) < 0.1
        assert 0.4 < resid.std() < 0.6
        assert np.all(np.abs(z) < 4.5), z
        big = np.abs(W) >= 1.5
        assert np.all(np.sign(coef[1:][big]) == np.sign(W[big]))
    # inducing a factor raises its targets
    gcn4 = g["motif_GCN4"] > 0
    delta = g["expr_induce_GCN4"] - g["expr_basal"]
    assert gcn4.sum() >= 5 and delta[gcn4].min() > 0 and np.all(delta[~gcn4] == 0)


def _read_vcf(path):
    header, rows = [], []
    for ln in Path(path).read_text().splitlines():
        if ln.startswith("#"):
            header.append(ln)
        else:
            c, pos, vid, ref, alt, qual, filt, info = ln.split("\t")
            d = dict(kv.split("=", 1) for kv in info.split(";"))
            rows.append({"chrom": c, "pos": int(pos), "id": vid, "ref": ref, "alt": alt, "gene": d["GENE"],
                         "cls": d["CLASS"], "lfc": np.array([float(x) for x in d["LFC"].split(",")])})
    return header, rows


def test_variants_vcf_valid_and_exact(sim, genome, r64_dir):
    out, _ = sim
    header, rows = _read_vcf(out / "truth" / "variants.vcf")
    assert header[0] == "##fileformat=VCFv4.2"
    contigs = [h for h in header if h.startswith("##contig")]
    assert contigs[0] == f"##contig=<ID=chrI,length={genome.chroms['chrI']}>" and len(contigs) == 16
    assert any(h.startswith("##INFO=<ID=LFC,Number=.") for h in header)
    assert header[-1].startswith("#CHROM\tPOS\tID\tREF\tALT")
    assert len(rows) >= 50
    order = {c: i for i, c in enumerate(genome.chroms)}
    keys = [(order[r["chrom"]], r["pos"]) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        assert genome.fetch(r["chrom"], r["pos"] - 1, r["pos"] - 1 + len(r["ref"])) == r["ref"]
        assert len(r["lfc"]) == 4
    classes = {r["cls"] for r in rows}
    assert classes == {"disrupt", "create", "neutral", "indel"}
    basal = np.array([r["lfc"][0] for r in rows])
    print(f"{len(rows)} variants: {(basal > 0).sum()} positive, {(basal < 0).sum()} negative, "
          f"{(basal == 0).sum()} zero basal LFC")
    assert (basal > 0).sum() >= 10 and (basal < 0).sum() >= 10
    assert all(np.all(r["lfc"] == 0) for r in rows if r["cls"] == "neutral")
    assert all(np.abs(r["lfc"][0]) >= 0.2 for r in rows if r["cls"] in ("disrupt", "create"))
    # LFC of SNVs agrees with an independent in-silico mutagenesis of the model
    cfg = SimConfig()
    from yeastzoi.genome import background_from_codes
    bg = background_from_codes(np.concatenate([genome.fetch_codes(c, 0, n) for c, n in genome.chroms.items()]))
    ms = sm.build_motifset(cfg, bg)
    W, _ = sm.condition_weights(ms, cfg, 4)
    genes = genes_table(read_gtf(r64_dir / "genes.gtf")).set_index("gene_id")
    checked = 0
    for r in rows:
        if len(r["ref"]) != 1 or len(r["alt"]) != 1:
            continue
        g = genes.loc[r["gene"]]
        codes = genome.fetch_codes(r["chrom"], 0, genome.chroms[r["chrom"]])
        prom = sm.promoter_codes(codes, int(g["tss"]), g["strand"], cfg.promoter_bp)
        dM = sm.snv_content_delta(prom, ms, cfg)
        p0 = r["pos"] - 1
        k = p0 - (g["tss"] - cfg.promoter_bp) if g["strand"] == "+" else g["tss"] + cfg.promoter_bp - p0
        b = "ACGT".index(r["alt"]) if g["strand"] == "+" else 3 - "ACGT".index(r["alt"])
        np.testing.assert_allclose(dM[k, b] @ W, r["lfc"], atol=2e-5)
        checked += 1
        if checked >= 25:
            break
    assert checked >= 15


def test_mpra_consistent_with_variants(sim, genome):
    out, _ = sim
    m = pd.read_csv(out / "truth" / "mpra.tsv", sep="\t")
    _, rows = _read_vcf(out / "truth" / "variants.vcf")
    lfc = {r["id"]: r["lfc"] for r in rows}
    assert set(m["variant_id"]) == set(lfc)
    assert (m["sequence"].str.len() == 500).all() and (m["distance"] == 0).all()
    ecols = [c for c in m.columns if c.startswith("expr_")]
    assert len(ecols) == 4
    for (vid, rep), grp in m.groupby(["variant_id", "reporter"]):
        ref = grp[grp["allele"] == "ref"].iloc[0]
        alt = grp[grp["allele"] == "alt"].iloc[0]
        np.testing.assert_allclose(alt[ecols].to_numpy(float) - ref[ecols].to_numpy(float), lfc[vid], atol=1e-4)
        assert ref["insert_end"] - ref["insert_start"] == 500
        tss = int(ref["reporter_tss"])
        expect = (tss - 500, tss) if ref["reporter_strand"] == "+" else (tss + 1, tss + 501)
        assert (int(ref["insert_start"]), int(ref["insert_end"])) == expect
    assert m["reporter"].nunique() == 2


def test_ref_promoter_sequences_match_genome(sim, genome, r64_dir):
    out, _ = sim
    m = pd.read_csv(out / "truth" / "mpra.tsv", sep="\t")
    g = pd.read_csv(out / "truth" / "genes.tsv", sep="\t").set_index("gene_id")
    from yeastzoi.genome import revcomp_seq
    for r in m[m["allele"] == "ref"].head(20).itertuples(index=False):
        gg = g.loc[r.gene]
        if gg["strand"] == "+":
            expect = genome.fetch(gg["chrom"], gg["tss"] - 500, gg["tss"])
        else:
            expect = revcomp_seq(genome.fetch(gg["chrom"], gg["tss"] + 1, gg["tss"] + 501))
        assert r.sequence == expect


def test_deterministic_and_idempotent(sim, r64_dir, tmp_path):
    out, s = sim
    again = simulate_genome(r64_dir, out, chroms=CHROMS, seed=3)
    assert again.get("reused") is True and again["variants"] == s["variants"]
    with pytest.raises(YeastzoiError, match="different settings"):
        simulate_genome(r64_dir, out, chroms=CHROMS, seed=4)
    # truth does not depend on depth: a cheap rerun with the same seed must match byte for byte
    other = tmp_path / "again"
    simulate_genome(r64_dir, other, chroms=CHROMS, seed=3, depth=0.05)
    for f in ("genes.tsv", "conditions.txt", "sites.bed", "variants.vcf", "mpra.tsv", "model.json"):
        assert (out / "truth" / f).read_bytes() == (other / "truth" / f).read_bytes(), f
    third = tmp_path / "seed4"
    simulate_genome(r64_dir, third, chroms=["chrI"], seed=4, depth=0.05)
    assert (third / "truth" / "sites.bed").read_text() != (out / "truth" / "sites.bed").read_text()


def test_keyed_rng_streams_are_pinned():
    """Every draw comes from keyed_rng: the stream of (seed, keys) is fixed by the keys'
    CRC-32s, whatever order streams are made in (refactors must keep the keys)."""
    import zlib

    from yeastzoi.simulate.config import keyed_rng

    a = keyed_rng(3, "rnaseq", "basal").random(4)
    keyed_rng(3, "mnase").random(10)
    np.testing.assert_array_equal(keyed_rng(3, "rnaseq", "basal").random(4), a)
    np.testing.assert_array_equal(
        np.random.default_rng([3, zlib.crc32(b"rnaseq"), zlib.crc32(b"basal")]).random(4), a)
    assert not np.array_equal(keyed_rng(3, "rnaseq", "induce_GCN4").random(4), a)

def test_cli_summary_and_errors(sim, r64_dir, tmp_path):
    out, _ = sim
    script = ROOT / "bin" / "yeastzoi_simulate.py"
    r = subprocess.run([sys.executable, str(script), str(r64_dir), str(out), "--chroms", ",".join(CHROMS),
                        "--seed", "3", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "SIMULATED" in r.stdout and "SIM_MNASE" in r.stdout
    r = subprocess.run([sys.executable, str(script), str(r64_dir), str(tmp_path / "x"), "--chroms", "chrNOPE", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and "chrNOPE" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_whole_genome_default(r64_dir, tmp_path):
    s = simulate_genome(r64_dir, tmp_path / "wg")
    assert len(s["chroms"]) == 16 and len(s["tracks"]) >= 12
    print(f"whole genome: {s['seconds']} s, {s['total_reads']} reads, {s['variants']} variants")
