"""Builders end to end on tiny genomes: records decoded with plain tf.data equal the FASTA and
the transform of the coverage written in the test; errors are one line."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import tensorflow as tf

from yeastzoi import YeastzoiError
from yeastzoi.data.builders import build_lm_corpus, build_track_dataset
from yeastzoi.coverage import write_bigwig, write_w5
from yeastzoi.data.pipeline import fold_splits, lm_dataset, track_dataset
from yeastzoi.genome import write_fasta
from yeastzoi.coverage import transform_coverage

SEQ, POOL, CROP = 2048, 16, 256
SIZES = {"chrA": 30_000, "chrB": 21_000, "chrC": 17_500}


def _rand_seq(rng, n):
    return "".join(rng.choice(list("ACGT"), n))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(7)
    seqs = {c: _rand_seq(rng, n) for c, n in SIZES.items()}
    # chrA carries a 3 kb copy of chrC (test chromosome) → homologous train windows
    seqs["chrA"] = seqs["chrA"][:20_000] + seqs["chrC"][5_000:8_000] + seqs["chrA"][23_000:]
    seqs["chrB"] = seqs["chrB"][:1000] + "N" * 1500 + seqs["chrB"][2500:]   # an N run
    write_fasta(d / "genome.fa", list(seqs.items()))
    x = {c: np.arange(n, dtype=np.float32) for c, n in SIZES.items()}
    cov1 = {c: (5 + 4 * np.sin(v / 300.0)) for c, v in x.items()}                # smooth
    cov2 = {c: np.where((v // 500) % 3 == 0, 40.0, 0.0).astype(np.float32) for c, v in x.items()}  # blocks
    cov2["chrB"][7000:7100] = 5000.0                                               # a spike
    write_bigwig(d / "t1.bw", cov1, SIZES)
    write_bigwig(d / "t2.bw", cov2, SIZES)
    sheet = ("\tidentifier\tfile\tclip\tclip_soft\tscale\tsum_stat\tstrand_pair\tdescription\n"
             "0\tsmooth\tt1.bw\t384\t32\t0.5\tsum_sqrt\t0\tsmooth track\n"
             "1\tblocks\tt2.bw\t50\t10\t1\tmean\t1\tblock track\n"
             "2\tblocks_max\tt2.bw\t65504\t\t2\tmax\t2\tmax of blocks\n")
    (d / "targets.txt").write_text(sheet)
    (d / "gaps.bed").write_text("chrA\t14000\t14100\n")
    return d, seqs


def _plain(files, seq_length, tlen=None, ntar=None):
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string)}
    if tlen:
        spec["target"] = tf.io.FixedLenFeature([], tf.string)
    out = []
    for rec in tf.data.TFRecordDataset(files, compression_type="ZLIB"):
        ex = tf.io.parse_single_example(rec, spec)
        s = tf.io.decode_raw(ex["sequence"], tf.uint8).numpy()
        t = tf.io.decode_raw(ex["target"], tf.float16).numpy().reshape(tlen, ntar) if tlen else None
        out.append((s, t))
    return out


def _codes(seq):
    lut = {"A": 0, "C": 1, "G": 2, "T": 3}
    return np.array([lut.get(b, 4) for b in seq], np.uint8)


def test_track_dataset_matches_fasta_and_bigwig(tiny, tmp_path):
    d, seqs = tiny
    out = tmp_path / "data"
    stats = build_track_dataset(d / "genome.fa", d / "targets.txt", out, seq_length=SEQ, pool_width=POOL,
                                crop_bp=CROP, stride=1024, test_chroms="chrC", valid_chroms=["chrB"],
                                gaps_bed=d / "gaps.bed", seqs_per_file=5, max_n_frac=0.5)
    tlen = (SEQ - 2 * CROP) // POOL
    assert stats["target_length"] == tlen == 96 and stats["num_targets"] == 3
    bed = pd.read_csv(out / "sequences.bed", sep="\t", header=None, names=["chrom", "start", "end", "split"])
    assert (bed.end - bed.start == SEQ).all()
    # homology: train windows overlapping the copied chrC segment (chrA:20000-23000) are gone
    tr = bed[bed.split == "train"]
    assert not ((tr.chrom == "chrA") & (tr.start < 23000) & (tr.end > 20000)).any()
    assert stats["homology"]["removed"] >= 2
    # no window crosses the gap; windows start at the contig start and the last one is flush with the end
    a = bed[bed.chrom == "chrA"]
    assert not ((a.start < 14100) & (a.end > 14000)).any()
    assert stats["valid_seqs"] == (bed.split == "valid").sum() > 0
    bws = {f: pyBigWig.open(str(d / f)) for f in ("t1.bw", "t2.bw")}
    params = [("t1.bw", "sum_sqrt", 0.5, 32, 384), ("t2.bw", "mean", 1, 10, 50), ("t2.bw", "max", 2, None, 65504)]
    n_checked = 0
    for split in ("train", "valid", "test"):
        files = sorted((out / "tfrecords").glob(f"{split}-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
        recs = _plain([str(f) for f in files], SEQ, tlen, 3)
        rows = bed[bed.split == split].reset_index(drop=True)
        assert len(recs) == len(rows) == stats[f"{split}_seqs"]
        for (s, t), (_, r) in zip(recs, rows.iterrows()):
            np.testing.assert_array_equal(s, _codes(seqs[r.chrom][r.start:r.end]))
            for k, (f, ss, scale, cs, clip) in enumerate(params):
                raw = np.nan_to_num(np.array(bws[f].values(r.chrom, r.start + CROP, r.end - CROP)))
                exp = transform_coverage(raw, POOL, ss, scale, cs, clip).astype(np.float16)
                np.testing.assert_allclose(t[:, k].astype(np.float32), exp.astype(np.float32), rtol=1e-3, atol=1e-3)
            n_checked += 1
    assert n_checked == len(bed) > 20
    # the 5000 spike on chrB is hard-clipped at 50 in the mean track
    assert stats["test_seqs"] > 0
    st = json.loads((out / "statistics.json").read_text())
    assert st["seq_length"] == SEQ and st["pool_width"] == POOL and st["crop_bp"] == CROP
    assert (out / "targets.txt").exists()
    # the library reader yields the same numbers in sequences.bed order
    x, y = next(iter(track_dataset(out, "valid", batch_size=64, shuffle=False)))
    recs = _plain(sorted(str(p) for p in (out / "tfrecords").glob("valid-*.tfr"))[:1], SEQ, tlen, 3)
    np.testing.assert_array_equal(y.numpy()[0], recs[0][1].astype(np.float32))


def test_track_folds_and_blacklist(tiny, tmp_path):
    d, seqs = tiny
    out = tmp_path / "folds"
    (tmp_path / "black.bed").write_text("chrB\t6900\t7300\n")
    stats = build_track_dataset(d / "genome.fa", d / "targets.txt", out, seq_length=SEQ, pool_width=POOL,
                                crop_bp=CROP, folds=4, gaps_bed=d / "gaps.bed", blacklist_bed=tmp_path / "black.bed",
                                seqs_per_file=4, max_n_frac=0.5, homology=False)
    assert stats["folds"] == 4
    covered = sum(int(c.split(":")[1].split("-")[1]) - int(c.split(":")[1].split("-")[0])
                  for f in stats["fold_contigs"] for c in f)
    assert covered == sum(SIZES.values()) - 100                                # only the gap is outside
    bed = pd.read_csv(out / "sequences.bed", sep="\t", header=None, names=["chrom", "start", "end", "split"])
    assert sorted(bed.split.unique()) == [f"fold{k}" for k in range(4) if stats[f"fold{k}_seqs"] > 0]
    fs = fold_splits(out, 2)
    n = lambda fl: sum(1 for _ in tf.data.TFRecordDataset(fl, compression_type="ZLIB"))
    assert n(fs["test"]) == stats["fold2_seqs"] and n(fs["valid"]) == stats["fold3_seqs"]
    assert n(fs["train"]) == stats["fold0_seqs"] + stats["fold1_seqs"]
    # blacklisted bins over the chrB spike are clipped to the window median (max track)
    tlen = (SEQ - 2 * CROP) // POOL
    hit = 0
    for k in range(4):
        rows = bed[bed.split == f"fold{k}"].reset_index(drop=True)
        files = sorted((out / "tfrecords").glob(f"fold{k}-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
        for (s, t), (_, r) in zip(_plain([str(f) for f in files], SEQ, tlen, 3), rows.iterrows()):
            if r.chrom == "chrB" and r.start + CROP <= 7000 and r.end - CROP >= 7100:
                b0 = (7000 - r.start - CROP) // POOL
                others = np.delete(t[:, 2].astype(np.float32), np.arange(b0 - 7, b0 + 21))
                assert t[b0, 2] <= np.median(others) + 1e-3 and t[b0, 2] < 10000
                hit += 1
    assert hit >= 1


def test_track_errors(tiny, tmp_path):
    d, _ = tiny
    kw = dict(seq_length=SEQ, pool_width=POOL, crop_bp=CROP, test_chroms="chrC")
    with pytest.raises(YeastzoiError, match="not divisible by pool_width"):
        build_track_dataset(d / "genome.fa", d / "targets.txt", tmp_path / "o", **{**kw, "seq_length": 2050})
    with pytest.raises(YeastzoiError, match="chrZ"):
        build_track_dataset(d / "genome.fa", d / "targets.txt", tmp_path / "o", **{**kw, "test_chroms": "chrZ"})
    bad = tmp_path / "bad.txt"
    bad.write_text("\tidentifier\tfile\tsum_stat\n0\tx\t" + str(d / "t1.bw") + "\tsquare\n")
    with pytest.raises(YeastzoiError, match="sum_stat"):
        build_track_dataset(d / "genome.fa", bad, tmp_path / "o", **kw)
    write_w5(tmp_path / "nan.w5", {c: np.full(n, np.nan, np.float32) for c, n in SIZES.items()}, SIZES)
    nan_sheet = tmp_path / "nan.txt"
    nan_sheet.write_text(f"\tidentifier\tfile\n0\tnan\t{tmp_path / 'nan.w5'}\n")
    with pytest.raises(YeastzoiError, match="NaN over every window"):
        build_track_dataset(d / "genome.fa", nan_sheet, tmp_path / "o", homology=False, **kw)
    assert not list((tmp_path / "o" / "tfrecords").glob("*.tfr"))             # nothing half-written
    assert not (tmp_path / "o" / "statistics.json").exists()
    with pytest.raises(YeastzoiError, match="-f K"):
        build_track_dataset(d / "genome.fa", d / "targets.txt", tmp_path / "o", seq_length=SEQ, crop_bp=CROP)


def test_lm_corpus_two_species(tiny, tmp_path):
    d, seqs = tiny
    rng = np.random.default_rng(3)
    # species 2: random, plus a copy of a valid-chromosome stretch (chrB) that must be removed
    s2 = _rand_seq(rng, 12_000) + seqs["chrB"][10_000:14_000] + _rand_seq(rng, 8_000)
    s2 = s2[:2000] + s2[2000:2600].lower() + s2[2600:]                          # soft-masked run
    write_fasta(tmp_path / "sp2.fa", [("ctg1", s2)])
    (tmp_path / "ref.gtf").write_text(
        'chrA\tt\tgene\t101\t1000\t.\t+\t.\tgene_id "g1"; gene_name "G1"; gene_biotype "protein_coding";\n'
        'chrA\tt\ttranscript\t101\t1000\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
        'chrA\tt\texon\t101\t400\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n'
        'chrA\tt\texon\t601\t1000\t.\t+\t.\tgene_id "g1"; transcript_id "t1";\n')
    (tmp_path / "rep.bed").write_text("chrA\t300\t700\n")
    (tmp_path / "species.tsv").write_text(
        f"name\tfasta\tgtf\trepeats\nref\t{d / 'genome.fa'}\tref.gtf\trep.bed\nsp2\tsp2.fa\t\t\n")
    out = tmp_path / "lm"
    st = build_lm_corpus(tmp_path / "species.tsv", out, seq_length=SEQ, stride=1024, test_chroms=["chrC"],
                         valid_chroms=["chrB"], exon_trim=10, max_n_frac=0.5, seqs_per_file=8)
    assert st["species"] == ["ref", "sp2"] and st["num_species"] == 2
    bed = pd.read_csv(out / "sequences.bed", sep="\t", header=None, names=["chrom", "start", "end", "split", "sp"])
    assert set(bed[bed.sp == "sp2"].split) == {"train"}
    assert set(bed[bed.split != "train"].chrom) == {"chrB", "chrC"}
    sp2 = bed[bed.sp == "sp2"]
    assert not ((sp2.start < 16_000) & (sp2.end > 12_000)).any()               # homologous to chrB: removed
    assert st["report"]["homology_removed"]["sp2"] >= 3
    spec = {k: tf.io.FixedLenFeature([], tf.string) for k in ("sequence", "mask", "repeat_mask")}
    spec["species"] = tf.io.FixedLenFeature([], tf.int64)
    files = sorted((out / "tfrecords").glob("train-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
    rows = bed[bed.split == "train"].reset_index(drop=True)
    recs = list(tf.data.TFRecordDataset([str(f) for f in files], compression_type="ZLIB"))
    assert len(recs) == len(rows) == st["train_seqs"]
    full = {"ref": seqs, "sp2": {"ctg1": s2}}
    for rec, (_, r) in zip(recs, rows.iterrows()):
        ex = tf.io.parse_single_example(rec, spec)
        seq = tf.io.decode_raw(ex["sequence"], tf.uint8).numpy()
        np.testing.assert_array_equal(seq, _codes(full[r.sp][r.chrom][r.start:r.end].upper()))
        assert int(ex["species"]) == (0 if r.sp == "ref" else 1)
        m = tf.io.decode_raw(ex["mask"], tf.uint8).numpy()
        rp = tf.io.decode_raw(ex["repeat_mask"], tf.uint8).numpy()
        exp_m = np.zeros(SIZES.get(r.chrom, len(s2)), np.uint8)
        exp_r = np.zeros_like(exp_m)
        if r.sp == "ref" and r.chrom == "chrA":
            exp_m[110:390] = 1                                                  # exons 100-400, 600-1000 trimmed by 10
            exp_m[610:990] = 1
            exp_r[300:700] = 1
        if r.sp == "sp2":
            exp_r[2000:2600] = 1                                                # soft-masked bases
        np.testing.assert_array_equal(m, exp_m[r.start:r.end])
        np.testing.assert_array_equal(rp, exp_r[r.start:r.end])
    x, y, w, mm = next(iter(lm_dataset(out, "valid", 4, training=False, seed=0)))
    assert x.shape == (4, SEQ, 4 + 1 + 2) and np.all(x.numpy()[..., 5] == 1)
    np.testing.assert_array_equal(mm.numpy().sum(1), int(0.15 * SEQ))


def test_species_table_errors(tmp_path):
    (tmp_path / "s.tsv").write_text("name\tgenome\nx\ty.fa\n")
    with pytest.raises(YeastzoiError, match="missing column 'fasta'"):
        build_lm_corpus(tmp_path / "s.tsv", tmp_path / "o")
    (tmp_path / "s.tsv").write_text("name\tfasta\nx\tmissing.fa\n")
    with pytest.raises(YeastzoiError, match="missing.fa not found"):
        build_lm_corpus(tmp_path / "s.tsv", tmp_path / "o")


@pytest.mark.slow
def test_r64_lm_corpus_and_8_folds(r64_dir, tmp_path):
    tsv = tmp_path / "species.tsv"
    tsv.write_text(f"name\tfasta\tgtf\trepeats\nr64\t{r64_dir / 'genome.fa'}\t{r64_dir / 'genes.gtf'}\t{r64_dir / 'repeats.bed'}\n")
    st = build_lm_corpus(tsv, tmp_path / "lm")
    assert st["valid_seqs"] > 500 and st["test_seqs"] > 500 and st["train_seqs"] > 1000
    from yeastzoi.coverage import write_bigwig
    sizes = {l.split()[0]: int(l.split()[1]) for l in (r64_dir / "chrom.sizes").read_text().splitlines() if l.strip()}
    write_bigwig(tmp_path / "c.bw", {c: (1 + np.sin(np.arange(n) / 500.0)).astype(np.float32) for c, n in sizes.items()}, sizes)
    (tmp_path / "t.txt").write_text(f"\tidentifier\tfile\tsum_stat\n0\tc\t{tmp_path / 'c.bw'}\tsum\n")
    st = build_track_dataset(r64_dir / "genome.fa", tmp_path / "t.txt", tmp_path / "f8", folds=8,
                             gaps_bed=r64_dir / "gaps.bed")
    assert st["folds"] == 8 and all(st[f"fold{k}_seqs"] > 0 for k in range(8))


def test_homology_rules_and_folds():
    from yeastzoi.data.homology import fold_homology_filter, homology_filter
    rng = np.random.default_rng(11)
    a = rng.integers(0, 4, 40_000).astype(np.uint8)
    b = rng.integers(0, 4, 40_000).astype(np.uint8)
    mut = a[10_000:14_000].copy()
    flip = rng.random(4000) < 0.05                                              # 95 % identity copy
    mut[flip] = (mut[flip] + 1) % 4
    b[20_000:24_000] = mut
    b[30_000:30_300] = a[2_000:2_300]                                           # a short exact copy (300 bp)
    codes = {"a": a, "b": b}
    w = pd.DataFrame({"chrom": ["a", "b", "b", "b", "b"], "start": [0, 0, 18_000, 28_000, 5_000],
                      "end": [16_000, 4_000, 22_000, 32_000, 9_000],
                      "split": ["test", "train", "train", "train", "train"]})
    get = lambda sp, c, s, e: codes[c][s:e]  # noqa: E731
    kept, rep = homology_filter(w, get)
    assert kept.start.tolist() == [0, 0, 5_000]                                 # 95 % copy and 300 bp copy removed
    assert rep["removed"] == 2 and rep["removed_by_chrom"] == {"b": 2}
    # identity rule off, coverage rule only: the 300 bp copy (7.5 % of 4 kb) stays
    kept2, _ = homology_filter(w, get, min_identity=1.01, max_query_cov=0.1)
    assert kept2.start.tolist() == [0, 0, 28_000, 5_000]            # input order kept
    # min_block above 300 bp: the short copy no longer triggers the identity rule
    kept3, _ = homology_filter(w, get, min_block=1000)
    assert 28_000 in kept3.start.tolist() and 18_000 not in kept3.start.tolist()
    wf = w.assign(split=["fold0", "fold1", "fold1", "fold2", "fold0"])
    keptf, repf = fold_homology_filter(wf, get, 3)
    assert sorted(zip(keptf.chrom, keptf.start)) == [("a", 0), ("b", 0), ("b", 5_000)]
    assert repf["removed_by_fold"] == {"fold1": 1, "fold2": 1}


def test_cli_rebuild_replaces_shards_and_missing_chrom_warning(tiny, tmp_path, caplog):
    import subprocess
    import sys
    d, _ = tiny
    root = Path(__file__).resolve().parents[1]
    # a coverage file lacking chrB: a warning with counts, the build goes on (zeros there)
    sizes_ac = {c: n for c, n in SIZES.items() if c != "chrB"}
    write_bigwig(tmp_path / "ac.bw", {c: np.ones(n, np.float32) for c, n in sizes_ac.items()}, sizes_ac)
    (tmp_path / "t.txt").write_text(f"\tidentifier\tfile\n0\tac\t{tmp_path / 'ac.bw'}\n")
    out = tmp_path / "o"
    with caplog.at_level("WARNING"):
        build_track_dataset(d / "genome.fa", tmp_path / "t.txt", out, seq_length=SEQ, pool_width=POOL,
                            crop_bp=CROP, test_chroms="chrC", valid_chroms="chrB", seqs_per_file=2,
                            homology=False, max_n_frac=0.5)
    assert any("1 of 3 reference chromosomes" in r.getMessage() for r in caplog.records)
    n_small = len(list((out / "tfrecords").glob("*.tfr")))
    assert n_small > 10
    import importlib.util
    spec = importlib.util.spec_from_file_location("yeastzoi_data_cli", root / "bin" / "yeastzoi_data.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    rc = cli.main([str(d / "genome.fa"), str(tmp_path / "t.txt"), "-o", str(out), "-l", str(SEQ), "-w", str(POOL),
                   "-c", str(CROP), "-t", "chrC", "-v", "chrB", "-r", "1000", "--no-homology", "--max_n", "0.5", "-q"])
    assert rc == 0
    assert sorted(p.name for p in (out / "tfrecords").glob("*.tfr")) == ["test-0.tfr", "train-0.tfr", "valid-0.tfr"]
    vals = [y for _, y in track_dataset(out, "valid", batch_size=100, shuffle=False)][0].numpy()
    assert np.all(vals == 0)                                                   # chrB absent from the bigWig
    # the script as users run it: one-line error, exit status 2
    r = subprocess.run([sys.executable, str(root / "bin" / "yeastzoi_data.py"), str(d / "genome.fa"),
                        str(tmp_path / "t.txt"), "-o", str(out), "-l", "2050", "-t", "chrC"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error: seq_length 2050 is not divisible")
