"""VCF/TSV reading: 1-based positions, aliases, REF check and --flip, multi-allelic split,
indels, symbolic alleles, gzip, line-numbered errors, shards (real files, no model)."""
import gzip

import numpy as np
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.score.variants import parse_shard, read_variants, shard_variants

HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("var")
    rng = np.random.default_rng(3)
    seqs = {"chrI": "".join(rng.choice(list("ACGT"), 500)), "chrII": "".join(rng.choice(list("ACGT"), 300))}
    g = Genome(write_fasta(d / "g.fa", list(seqs.items())))
    g.seqs = seqs
    return g


def _vcf(tmp_path, body, name="v.vcf"):
    p = tmp_path / name
    p.write_text(HEAD + body)
    return p


def test_vcf_split_alias_indel_symbolic(genome, tmp_path):
    s = genome.seqs["chrI"]
    alts = [b for b in "ACGT" if b != s[9]]
    body = (f"I\t10\trs1\t{s[9]}\t{','.join(alts)}\t.\tPASS\tAF=0.1;DB\n"
            f"chr1\t100\t.\t{s[99:102]}\t{s[99]}\t.\tPASS\t.\n"
            f"NC_001133.9\t200\t.\t{s[199]}\t<DEL>\t.\tPASS\t.\n"
            f"chrII\t5\tx\t{genome.seqs['chrII'][4]}\t*,{genome.seqs['chrII'][4]}TT\t.\t.\t.\n")
    vs, rep = read_variants(_vcf(tmp_path, body), genome)
    assert [v.id for v in vs] == ["rs1", "rs1_2", "rs1_3", f"chr1:100:{s[99:102]}:{s[99]}", "x"]
    assert {v.chrom for v in vs} == {"chrI", "chrII"} and vs[3].chrom_in == "chr1"
    assert vs[0].pos == 10 and vs[0].start == 9 and vs[0].info == {"AF": "0.1", "DB": True}
    assert vs[3].is_indel and vs[4].alt.endswith("TT")
    assert rep.records == 4 and rep.multiallelic == 2 and rep.skipped_symbolic == 2 and rep.indels == 2


def test_gzip_and_tsv(genome, tmp_path):
    s = genome.seqs["chrII"]
    p = tmp_path / "v.vcf.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(HEAD + f"chrII\t7\tg\t{s[6]}\tN\n")
    vs, _ = read_variants(p, genome)
    assert vs[0].alt == "N" and vs[0].ref == s[6]
    t = tmp_path / "v.tsv"
    t.write_text(f"snp\tchr\tposition\tref\talt\tbeta\nq\tII\t50\t{s[49].lower()}\tc\t-0.3\n")
    vs, _ = read_variants(t, genome)
    assert (vs[0].id, vs[0].chrom, vs[0].pos, vs[0].ref, vs[0].alt) == ("q", "chrII", 50, s[49], "C")
    assert vs[0].info == {"beta": "-0.3"}


def test_flip(genome, tmp_path):
    s = genome.seqs["chrI"]
    other = "ACGT".replace(s[300], "")[0]
    p = _vcf(tmp_path, f"chrI\t301\tx\t{other}\t{s[300]}\n")
    with pytest.raises(YeastzoiError, match=r"line 3: REF .* disagrees with the FASTA at chrI:301.*--flip"):
        read_variants(p, genome)
    vs, rep = read_variants(p, genome, flip=True)
    assert rep.flipped == 1 and vs[0].flipped and (vs[0].ref, vs[0].alt) == (s[300], other)
    third = [b for b in "ACGT" if b not in (s[300], other)][0]
    with pytest.raises(YeastzoiError, match="neither REF"):
        read_variants(_vcf(tmp_path, f"chrI\t301\tx\t{other}\t{third}\n", "n.vcf"), genome, flip=True)


@pytest.mark.parametrize("body,pattern", [
    ("chrI\t10\n", r"line 3: expected at least 5"),
    ("chrI\t0\t.\tA\tC\n", r"line 3: POS 0 must be >= 1"),
    ("chrI\tx1\t.\tA\tC\n", r"line 3: POS 'x1' is not an integer"),
    ("chrI\t10\t.\tA\tQ\n", r"line 3: ALT 'Q' is not a DNA allele"),
    ("chrZ\t10\t.\tA\tC\n", r"line 3: chromosome 'chrZ' is not in the FASTA"),
    ("chrII\t299\t.\tAAAA\tC\n", r"line 3: .* runs past the end of chrII"),
    ("", r"no variants to score \(0 records\)"),
    ("chrI\t10\t.\tA\t<DEL>\n", r"no variants to score \(1 records, 1 symbolic"),
])
def test_errors_name_the_line(genome, tmp_path, body, pattern):
    with pytest.raises(YeastzoiError, match=pattern) as e:
        read_variants(_vcf(tmp_path, body), genome)
    assert "\n" not in str(e.value)


def test_missing_file_and_tsv_header(tmp_path):
    with pytest.raises(YeastzoiError, match="not found"):
        read_variants(tmp_path / "nope.vcf")
    t = tmp_path / "t.tsv"
    t.write_text("chrom\tpos\tref\tallele2\nchrI\t1\tA\tC\n")
    with pytest.raises(YeastzoiError, match="line 1: TSV header lacks column"):
        read_variants(t)


def test_shards_keep_multiallelic_together(genome, tmp_path):
    s = genome.seqs["chrI"]
    body = ""
    for p in range(20, 30):
        alts = [b for b in "ACGT" if b != s[p - 1]]
        body += f"chrI\t{p}\t.\t{s[p - 1]}\t{','.join(alts[:1 + p % 2])}\n"
    vs, _ = read_variants(_vcf(tmp_path, body), genome)
    parts = [shard_variants(vs, parse_shard(f"{i}/3")) for i in (1, 2, 3)]
    assert [v.id for p in parts for v in p] == [v.id for v in vs]
    for a, b in zip(parts, parts[1:]):
        assert a[-1].line != b[0].line
    for bad in ("0/3", "4/3", "a/b"):
        with pytest.raises(YeastzoiError, match="--shard"):
            parse_shard(bad)
