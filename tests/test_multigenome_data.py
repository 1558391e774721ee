"""Many genomes with their own tracks in one track dataset (yeastzoi_data.py --genomes).

A SIMULATED two-strain panel of R64 (chrI, chrIII, chrVI) with per-genome bigWigs computed from
each genome's own sequence: splits follow the reference locus in every genome, the records'
genome feature matches sequences.bed, a tiny model trains and evaluates per genome; tiny
random genomes check the cross-genome homology filter and every bad input (one error line).
"""
import json
import shutil
from pathlib import Path

import numpy as np
import h5py
import pandas as pd
import pytest

from yeastzoi import YeastzoiError, cli, zoo_spec
from yeastzoi.coverage import write_bigwig, write_w5
from yeastzoi.genome import CoordMap, Genome, strain_map, write_genome_dir
from yeastzoi.genome.regions import merge_intervals

ROOT = Path(__file__).resolve().parents[1]
SEQ, CROP, POOL = 2048, 128, 16
TLEN = (SEQ - 2 * CROP) // POOL
TARGETS = ("\tidentifier\tfile\tsum_stat\tdescription\tgroup\n"
           "0\tgc\tgc.bw\tmean\tGC\tseq\n1\ta\ta.bw\tsum\tA bases\tseq\n")


def _main(script):
    import importlib.util
    spec = importlib.util.spec_from_file_location(script.replace(".py", ""), ROOT / "bin" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def _write_tracks(gdir, ext="bw"):
    """gc.EXT (31 bp running GC fraction) and a.EXT (1 on A bases) from the folder's own
    sequence (bigWig or w5), and targets.txt naming them."""
    gdir = Path(gdir)
    with Genome(gdir / "genome.fa") as g:
        sizes = dict(g.chroms)
        codes = {c: g.fetch_codes(c, 0, n) for c, n in sizes.items()}
    k = np.ones(31, np.float32) / 31
    write = write_bigwig if ext == "bw" else write_w5
    write(gdir / f"gc.{ext}", {c: np.convolve(np.isin(v, (1, 2)).astype(np.float32), k, "same")
                               for c, v in codes.items()}, sizes)
    write(gdir / f"a.{ext}", {c: (v == 0).astype(np.float32) for c, v in codes.items()}, sizes)
    (gdir / "targets.txt").write_text(TARGETS.replace(".bw", f".{ext}"))


def _bed(data):
    return pd.read_csv(data / "sequences.bed", sep="\t", header=None,
                       names=["chrom", "start", "end", "split", "genome", "ref_start", "ref_end"])


def _records(data, split):
    """(codes, targets, genome ids) of a split decoded with plain tf.data."""
    import tensorflow as tf
    files = sorted((data / "tfrecords").glob(f"{split}-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string), "target": tf.io.FixedLenFeature([], tf.string),
            "genome": tf.io.FixedLenFeature([], tf.int64)}
    out = []
    for rec in tf.data.TFRecordDataset([str(f) for f in files], compression_type="ZLIB"):
        ex = tf.io.parse_single_example(rec, spec)
        out.append((np.frombuffer(ex["sequence"].numpy(), np.uint8),
                    np.frombuffer(ex["target"].numpy(), np.float16).reshape(TLEN, 2).astype(np.float32),
                    int(ex["genome"])))
    return out


def _assert_loci_disjoint(bed):
    """No reference locus (input window, reference coordinates) lies in two splits."""
    for chrom, d in bed.groupby("chrom"):
        merged = {sp: merge_intervals(g[["ref_start", "ref_end"]].to_numpy()) for sp, g in d.groupby("split")}
        names = sorted(merged)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for s, e in merged[a]:
                    ov = (merged[b][:, 0] < e) & (merged[b][:, 1] > s)
                    assert not ov.any(), (chrom, a, b, s, e, merged[b][ov][:3])


# ============================================================================ the R64 panel
@pytest.fixture(scope="module")
def panel(r64_dir, tmp_path_factory):
    from yeastzoi.simulate.strains import simulate_panel
    d = tmp_path_factory.mktemp("panel")
    simulate_panel(r64_dir, d, n=2, divergence=0.005, chroms=["chrI", "chrIII", "chrVI"])
    for g in ("parent_subset", "sim_strain_01", "sim_strain_02"):
        _write_tracks(d / g, "w5")
    (d / "genomes.tsv").write_text("name\tgenome_dir\ttargets\n"
                                   "r64\tparent_subset\tparent_subset/targets.txt\n"
                                   "s1\tsim_strain_01\tsim_strain_01/targets.txt\n"
                                   "s2\tsim_strain_02\tsim_strain_02/targets.txt\n")
    return d


GENOME_DIRS = {"r64": "parent_subset", "s1": "sim_strain_01", "s2": "sim_strain_02"}


def test_two_strains_build_train_evaluate(panel, tmp_path, capsys):
    data = tmp_path / "data"
    rc = cli.call(_main("yeastzoi_data.py"), ["--genomes", str(panel / "genomes.tsv"), "-o", str(data),
                                              "-l", str(SEQ), "-c", str(CROP), "-w", str(POOL), "--stride", "8192",
                                              "-t", "chrI", "-v", "chrVI", "-r", "40", "-q"])
    assert rc == 0, capsys.readouterr().err
    st = json.loads((data / "statistics.json").read_text())
    assert st["genomes"] == ["r64", "s1", "s2"] and st["reference_genome"] == "r64" and st["num_genomes"] == 3
    bed = _bed(data)
    # the test chromosome is held out in every genome, and only it
    for g, per in st["genome_seqs"].items():
        assert per["test"] > 20 and per["valid"] > 20 and per["train"] > 20, (g, per)
        assert sum(per.values()) == (bed.genome == g).sum()
    assert set(bed[bed.split == "test"].chrom) == {"chrI"} and set(bed[bed.split == "valid"].chrom) == {"chrVI"}
    assert set(bed[bed.split == "train"].chrom) == {"chrIII"}
    assert st["straddling_dropped"] == {"r64": 0, "s1": 0, "s2": 0}
    # reference loci: the windows lifted through each strain's map; the reference's are themselves
    for g, d in bed.groupby("genome"):
        if g == "r64":
            assert (d.ref_start == d.start).all() and (d.ref_end == d.end).all()
            continue
        cmap = strain_map(panel / GENOME_DIRS[g])
        lifted = np.array([cmap.lift_region(c, s, e, to_strain=False) for c, s, e in zip(d.chrom, d.start, d.end)])
        np.testing.assert_array_equal(lifted, d[["ref_start", "ref_end"]].to_numpy())
        assert (d.start != d.ref_start).mean() > 0.5          # indels shift most strain windows
    _assert_loci_disjoint(bed)
    # records: genome ids as in sequences.bed, each genome's own sequence and own coverage
    seqs = {g: Genome(panel / dd / "genome.fa") for g, dd in GENOME_DIRS.items()}
    n_checked = 0
    for split in ("train", "valid", "test"):
        rows = bed[bed.split == split].reset_index(drop=True)
        recs = _records(data, split)
        assert len(recs) == len(rows) == st[f"{split}_seqs"]
        assert [r[2] for r in recs] == [st["genomes"].index(g) for g in rows.genome]
        for (codes, y, _), r in zip(recs[::5], rows.iloc[::5].itertuples()):
            want = seqs[r.genome].fetch_codes(r.chrom, r.start, r.end)
            np.testing.assert_array_equal(codes, want)
            a_per_bin = (want[CROP:SEQ - CROP] == 0).reshape(TLEN, POOL).sum(1)
            np.testing.assert_array_equal(y[:, 1], a_per_bin)     # 'a' track: A count per 16 bp bin
            n_checked += 1
    assert n_checked > 30
    assert (data / "genomes.tsv").read_text().splitlines()[1].startswith("0\tr64\t")

    # train a few steps on the dataset as it is, then evaluate per genome
    from test_trainer import SMALL
    from yeastzoi.train.loop import train
    run = tmp_path / "run"
    train(zoo_spec("tiny"), [data], run, overrides=SMALL + ["train.train_epochs_max=1", "train.steps_per_epoch_max=2",
                                                            "train.eval_steps_max=2"])
    assert (run / "model_best.h5").exists()
    ev = tmp_path / "eval"
    rc = cli.call(_main("yeastzoi_eval.py"), ["-", str(run / "model_best.h5"), str(data), "-o", str(ev),
                                              "--save-preds", "--gtf", str(panel / "parent_subset" / "genes.gtf"),
                                              "-q"])
    assert rc == 0, capsys.readouterr().err
    # gene-level R: the annotation is the reference's, so only the reference's windows own genes
    gv = pd.read_csv(ev / "gene_values.tsv", sep="\t")
    test_rows = bed[bed.split == "test"].reset_index(drop=True)
    assert len(gv) >= 5 and set(test_rows.genome[gv.window]) == {"r64"}
    by = pd.read_csv(ev / "tracks_genomes.tsv", sep="\t")
    assert list(by.genome.unique()) == ["r64", "s1", "s2"] and len(by) == 6
    for g, d in by.groupby("genome"):
        assert (d.n_seqs == st["genome_seqs"][g]["test"]).all()
    # per-genome Pearson R = numpy over that genome's bins of the model's own predictions
    from yeastzoi.model.seqnn import SeqNN
    recs = _records(data, "test")
    codes, ys, gids = (np.stack([r[i] for r in recs]) for i in range(3))
    x = np.eye(4, dtype=np.float32)[np.minimum(codes, 3)] * (codes < 4)[..., None]
    preds = np.asarray(SeqNN.from_file(run / "model_best.h5").predict(x), np.float64)
    with h5py.File(ev / "preds.h5") as h5:                   # the saved predictions, float16
        np.testing.assert_allclose(h5["preds"][:].astype(np.float64), preds, rtol=2e-3, atol=1e-3)
    for k, g in enumerate(st["genomes"]):
        p, y = preds[gids == k].reshape(-1, 2), ys[gids == k].reshape(-1, 2)
        for j, tid in enumerate(("gc", "a")):
            want = np.corrcoef(p[:, j], y[:, j])[0, 1]
            got = by[(by.genome == g) & (by.identifier == tid)].pearsonr.item()
            assert abs(got - want) < 1e-4, (g, tid, got, want)
    summ = pd.read_csv(ev / "summary_genomes.tsv", sep="\t")
    assert set(summ.genome) == {"r64", "s1", "s2"} and (ev / "violin_genomes.png").stat().st_size > 1000
    assert len(pd.read_csv(ev / "tracks.tsv", sep="\t")) == 2

    # sequences.bed that no longer matches the records: one-line errors
    good = (data / "sequences.bed").read_text()
    lines = good.splitlines()
    first_test = next(i for i, ln in enumerate(lines) if ln.split("\t")[3] == "test")
    f = lines[first_test].split("\t")
    f[4] = "s2" if f[4] != "s2" else "s1"
    for text, frag in [("\n".join(lines[:first_test] + ["\t".join(f)] + lines[first_test + 1:]) + "\n",
                        "the records' genome ids disagree with sequences.bed near row 0 of split test"),
                       (good.replace("\ts1\t", "\tzz\t"), "names genome(s) zz that statistics.json does not list"),
                       ("".join("\t".join(ln.split("\t")[:4]) + "\n" for ln in lines),
                        "has no genome column but statistics.json lists 3 genomes")]:
        (data / "sequences.bed").write_text(text)
        capsys.readouterr()
        assert cli.call(_main("yeastzoi_eval.py"), ["-", str(run / "model_best.h5"), str(data), "-o",
                                                    str(tmp_path / "ev2"), "--no-plots", "-q"]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
        assert len(err) == 1 and frag in err[0], err


def test_folds_split_reference_loci_across_strains(panel, tmp_path):
    from yeastzoi.data.genomes import build_genomes_track_dataset
    st = build_genomes_track_dataset(panel / "genomes.tsv", tmp_path / "f", seq_length=SEQ, crop_bp=CROP,
                                     pool_width=POOL, stride=3072, folds=3, homology=False)
    # arms halved: several fold contigs per chromosome, so fold boundaries fall inside chromosomes
    contigs = [c for f in st["fold_contigs"] for c in f]
    assert len(contigs) >= 6 and len({c.split(":")[0] for c in contigs}) == 3
    bed = _bed(tmp_path / "f")
    _assert_loci_disjoint(bed)
    # each window's reference locus lies inside one contig of its own fold
    spans = [(k, c.split(":")[0], *map(int, c.split(":")[1].split("-"))) for k, f in enumerate(st["fold_contigs"])
             for c in f]
    for r in bed.itertuples():
        hits = [k for k, ch, s, e in spans if ch == r.chrom and s <= r.ref_start and r.ref_end <= e]
        assert hits == [int(r.split[4:])], r
    # a locus has one fold in every genome: windows of the three genomes at the same reference start
    near = bed.groupby(["chrom", "split"]).genome.nunique()
    assert (near == 3).all()


# ============================================================================ tiny genomes
def _rand(rng, n):
    return "".join(rng.choice(list("ACGT"), n))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from yeastzoi.simulate.strains import simulate_strain
    d = tmp_path_factory.mktemp("tinymg")
    rng = np.random.default_rng(5)
    seqs = {"chrA": _rand(rng, 24_000), "chrB": _rand(rng, 16_000), "chrC": _rand(rng, 12_000)}
    write_genome_dir(d / "ref", list(seqs.items()), {"name": "toyref"}, gaps=[("chrA", 12_000, 12_100, "CEN")])
    simulate_strain(d / "ref", d / "st1", "st1", divergence=0.01, seed=1)
    # x: the reference's chromosome sizes, no map; its chrA 16-19 kb is the reference's chrC 4-7 kb
    # (a test locus), while its own chrC 4-7 kb is new sequence: only a cross-genome match
    x = dict(seqs)
    x["chrA"] = seqs["chrA"][:16_000] + seqs["chrC"][4_000:7_000] + seqs["chrA"][19_000:]
    x["chrC"] = seqs["chrC"][:4_000] + _rand(rng, 3_000) + seqs["chrC"][7_000:]
    write_genome_dir(d / "x", list(x.items()), {"name": "toyx"})
    for g in ("ref", "st1", "x"):
        _write_tracks(d / g)
    return d


def _sheet(d, rows, header="name\tgenome_dir\ttargets"):
    p = Path(d) / "genomes.tsv"
    p.write_text(header + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    return p


def test_homology_across_genomes(tiny, tmp_path):
    from yeastzoi.data.genomes import build_genomes_track_dataset
    sheet = _sheet(tiny, [("ref", "ref", "ref/targets.txt"), ("x", "x", "x/targets.txt")])
    kw = dict(seq_length=SEQ, crop_bp=CROP, pool_width=POOL, stride=1024, test_chroms="chrC", valid_chroms="chrB")
    build_genomes_track_dataset(sheet, tmp_path / "all", homology=False, **kw)
    st = build_genomes_track_dataset(sheet, tmp_path / "hom", **kw)
    key = lambda b: set(zip(b.genome, b.chrom, b.start))  # noqa: E731
    before, after = _bed(tmp_path / "all"), _bed(tmp_path / "hom")
    kept = key(after)
    removed = before[[k not in kept for k in zip(before.genome, before.chrom, before.start)]]
    assert len(removed) == st["homology"]["removed"] >= 3
    assert set(removed.genome) == {"x"} and set(removed.chrom) == {"chrA"}
    ov = np.minimum(removed.end, 19_000) - np.maximum(removed.start, 16_000)
    assert (ov > 0).all()
    big = before[(before.genome == "x") & (np.minimum(before.end, 19_000) - np.maximum(before.start, 16_000) >= 1024)]
    assert len(big) >= 3 and not (key(big) & key(after))
    # the reference's windows at the same locus stay: the filter is per window, not per locus
    assert ((after.genome == "ref") & (after.chrom == "chrA") & (after.start == big.start.iloc[0])).any()
    # folds (chrB | chrA arms | chrC): greedily, fold2 windows matching kept fold1 windows go, so
    # the reference's and the strain's chrC 4-7 kb windows match x's chrA copy and are removed
    sheet = _sheet(tiny, [("ref", "ref", "ref/targets.txt"), ("st1", "st1", "st1/targets.txt"),
                          ("x", "x", "x/targets.txt")])
    st = build_genomes_track_dataset(sheet, tmp_path / "folds", seq_length=SEQ, crop_bp=CROP, stride=1024, folds=3)
    assert st["fold_contigs"][2] == ["chrC:0-12000"] and st["homology"]["removed_by_fold"] == {"fold1": 0, "fold2": 8}
    f = _bed(tmp_path / "folds")
    assert st["genome_seqs"]["x"]["fold2"] - st["genome_seqs"]["ref"]["fold2"] == 4
    ref_c = f[(f.genome == "ref") & (f.chrom == "chrC")]
    assert not ((ref_c.start < 7_000 - 1024) & (ref_c.end > 4_000 + 1024)).any()


def test_identity_genome_and_reference_column(tiny, tmp_path):
    """A genome without a map but with the reference's sizes maps by identity; the reference
    column picks a row other than the first; the strain's windows lift to the reference."""
    from yeastzoi.data.genomes import read_genome_sheet
    sheet = _sheet(tiny, [("st1", "st1", "st1/targets.txt", "no"), ("x", "x", "x/targets.txt", ""),
                          ("ref", "ref", "ref/targets.txt", "yes")], header="name\tgenome_dir\ttargets\treference")
    gs = read_genome_sheet(sheet)
    assert [g.name for g in gs] == ["st1", "x", "ref"] and [g.reference for g in gs] == [False, False, True]
    assert gs[1].cmap is None and gs[0].cmap is not None and gs[0].strain_of == "toyref"
    s, e = gs[0].to_genome("chrA", [1000], [5000])
    assert (s[0], e[0]) == strain_map(tiny / "st1").lift_region("chrA", 1000, 5000)


def test_bed_options_are_reference_coordinates(tiny, tmp_path):
    """--limit (like -b/-u/-g) is read in reference coordinates and lifted into each genome."""
    from yeastzoi.data.genomes import build_genomes_track_dataset
    sheet = _sheet(tiny, [("ref", "ref", "ref/targets.txt"), ("st1", "st1", "st1/targets.txt")])
    (tmp_path / "limit.bed").write_text("chrA\t20000\t20500\n")
    build_genomes_track_dataset(sheet, tmp_path / "d", seq_length=SEQ, crop_bp=CROP, stride=256, test_chroms="chrC",
                                limit_bed=tmp_path / "limit.bed", homology=False)
    bed = _bed(tmp_path / "d")
    lo, hi = strain_map(tiny / "st1").lift_region("chrA", 20000, 20500)
    assert (lo, hi) != (20000, 20500)                          # indels before it shift the locus
    for g, (a, b) in (("ref", (20000, 20500)), ("st1", (lo, hi))):
        d = bed[bed.genome == g]
        assert len(d) >= 8 and ((d.start < b) & (d.end > a)).all()
        assert ((d.ref_start < 20500) & (d.ref_end > 20000)).all()
    # the same windows per reference locus: every st1 window lies on a reference window's locus
    assert len(bed[bed.genome == "st1"]) == len(bed[bed.genome == "ref"])


# ============================================================================ bad input
def _one_error(capsys, argv):
    capsys.readouterr()
    assert cli.call(_main("yeastzoi_data.py"), [str(a) for a in argv]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1, err
    return err[0]


def _copy(tiny, tmp_path, src, name, edit=None):
    out = tmp_path / name
    shutil.copytree(tiny / src, out)
    if edit:
        man = json.loads((out / "genome.json").read_text())
        edit(man, out)
        (out / "genome.json").write_text(json.dumps(man))
    return out


def _bad_cases(tiny, tmp):
    """(sheet rows or raw text, expected fragment) per bad input."""
    ref = (str(tiny / "ref"), str(tiny / "ref" / "targets.txt"))
    st1 = (str(tiny / "st1"), str(tiny / "st1" / "targets.txt"))
    cases = {}
    cases["missing_folder"] = ([("ref", *ref), ("gone", str(tmp / "nope"), ref[1])], "genome folder")
    other_ids = tmp / "other_ids.txt"
    other_ids.write_text(TARGETS.replace("\ta\ta.bw", "\tA_count\ta.bw"))
    cases["track_ids"] = ([("ref", *ref), ("st1", st1[0], str(other_ids))], "lacks a; adds A_count")
    swapped = tmp / "swapped.txt"
    swapped.write_text("\tidentifier\tfile\tsum_stat\n0\ta\ta.bw\tsum\n1\tgc\tgc.bw\tmean\n")
    cases["track_order"] = ([("ref", *ref), ("st1", st1[0], str(swapped))],
                            "track 0 is 'a' where the reference has 'gc'")
    other_tf = tmp / "other_tf.txt"
    other_tf.write_text(TARGETS.replace("\tgc.bw\tmean", "\tgc.bw\tmax"))
    cases["transform"] = ([("ref", *ref), ("st1", st1[0], str(other_tf))], "track 'gc' has sum_stat max but mean")
    wrong_ref = _copy(tiny, tmp, "st1", "wrong_ref", lambda m, o: m.update(strain_of="otherref"))
    cases["strain_of"] = ([("ref", *ref), ("w", str(wrong_ref), st1[1])],
                          "is a strain of 'otherref' (genome.json) but the sheet's reference is 'toyref'")
    no_map = _copy(tiny, tmp, "st1", "no_map", lambda m, o: (o / "reference_to_strain.chain").unlink())
    cases["no_map"] = ([("ref", *ref), ("n", str(no_map), st1[1])],
                       "declares strain_of 'toyref' but has no coordinate map")
    bad_map = _copy(tiny, tmp, "st1", "bad_map", lambda m, o: (m.pop("parent"), CoordMap.identity(
        {"chrA": 1, "chrB": 2, "chrC": 3}).write_chain(o / "reference_to_strain.chain")))
    cases["map_sizes"] = ([("ref", *ref), ("b", str(bad_map), st1[1])], "does not fit chrA")
    sized = _copy(tiny, tmp, "st1", "sized", lambda m, o: (m.pop("parent"), m.pop("strain_of", None),
                                                                (o / "reference_to_strain.chain").unlink()))
    cases["sizes_no_map"] = ([("ref", *ref), ("z", str(sized), st1[1])],
                             "has no coordinate map to the reference and chrA")
    extra = tmp / "extra"
    write_genome_dir(extra, [("chrA", "ACGT" * 6000), ("chrZ", "ACGT" * 100)], {"name": "extra"})
    cases["extra_chrom"] = ([("ref", *ref), ("e", str(extra), st1[1])], "chromosome(s) chrZ that the reference")
    cases["dup_name"] = ([("ref", *ref), ("ref", *st1)], "genome name 'ref' repeats line 2")
    cases["space_name"] = ([("r 1", *ref)], "genome name 'r 1' contains whitespace")
    cases["no_targets_file"] = ([("ref", ref[0], str(tmp / "none.txt"))], "targets sheet")
    cases["missing_column"] = ("name\tgenome_dir\nref\t" + ref[0] + "\n", "missing column 'targets'")
    cases["empty_cell"] = (f"name\tgenome_dir\ttargets\nref\t\t{ref[1]}\n", "empty genome_dir")
    cases["extra_field"] = (f"name\tgenome_dir\ttargets\nref\t{ref[0]}\t{ref[1]}\tx\n", "4 tab-separated fields")
    cases["no_rows"] = ("name\tgenome_dir\ttargets\n", "no genome rows")
    cases["two_refs"] = (f"name\tgenome_dir\ttargets\treference\nref\t{ref[0]}\t{ref[1]}\t1\n"
                         f"st1\t{st1[0]}\t{st1[1]}\t1\n", "the reference column marks 2 rows")
    cases["ref_value"] = (f"name\tgenome_dir\ttargets\treference\nref\t{ref[0]}\t{ref[1]}\tmaybe\n",
                          "reference 'maybe' is not yes/no")
    return cases


CASES = ["missing_folder", "track_ids", "track_order", "transform", "strain_of", "no_map", "map_sizes",
         "sizes_no_map", "extra_chrom", "dup_name", "space_name", "no_targets_file", "missing_column",
         "empty_cell", "extra_field", "no_rows", "two_refs", "ref_value"]


@pytest.mark.parametrize("case", CASES)
def test_bad_genome_sheets_are_one_line_errors(tiny, tmp_path, capsys, case):
    rows, frag = _bad_cases(tiny, tmp_path)[case]
    sheet = tmp_path / "genomes.tsv"
    sheet.write_text(rows if isinstance(rows, str) else
                     "name\tgenome_dir\ttargets\n" + "".join("\t".join(r) + "\n" for r in rows))
    out = tmp_path / "out"
    line = _one_error(capsys, ["--genomes", sheet, "-o", out, "-l", SEQ, "-c", CROP, "-t", "chrC", "--no-homology"])
    assert frag in line and str(sheet) in line, line
    assert not out.exists()


def test_bad_arguments_are_one_line_errors(tiny, tmp_path, capsys):
    sheet = _sheet(tmp_path, [("ref", str(tiny / "ref"), str(tiny / "ref" / "targets.txt")),
                              ("st1", str(tiny / "st1"), str(tiny / "st1" / "targets.txt"))])
    base = ["-o", tmp_path / "o", "-l", SEQ, "-c", CROP, "-t", "chrC", "--no-homology"]
    assert "not both" in _one_error(capsys, [tiny / "ref" / "genome.fa", tiny / "ref" / "targets.txt",
                                             "--genomes", sheet, *base])
    assert "give FASTA and TARGETS" in _one_error(capsys, base)
    assert "--gtf: with --genomes" in _one_error(capsys, ["--genomes", sheet, "--gtf", sheet, *base])
    line = _one_error(capsys, ["--genomes", sheet, "--min_exon", "0.1", *base])
    assert "--min_exon needs genes.gtf in every genome folder" in line and str(tiny / "ref") in line
    from yeastzoi.data.genomes import read_genome_sheet
    with pytest.raises(YeastzoiError, match="genome sheet not found"):
        read_genome_sheet(tmp_path / "absent.tsv")
    assert not (tmp_path / "o").exists()


def test_old_readers_and_layouts(tiny, tmp_path):
    """Records without the genome feature read as genome 0; sequences.bed layouts by column count."""
    from yeastzoi.data import read_sequences_bed, track_dataset
    from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_sequences_bed, write_statistics
    d = tmp_path / "old"
    with ShardWriter(d / "tfrecords", "test") as w:
        w.write(serialize_example(np.zeros(SEQ, np.uint8), np.ones((TLEN, 2))))
        w.write(serialize_example(np.zeros(SEQ, np.uint8), np.ones((TLEN, 2)), genome=3))
    write_statistics(d / "statistics.json", {"seq_length": SEQ, "target_length": TLEN, "num_targets": 2})
    x, y, g = next(iter(track_dataset(d, "test", batch_size=2, shuffle=False, with_genome=True)))
    assert g.numpy().tolist() == [0, 3] and x.shape == (2, SEQ, 4)
    x2, y2 = next(iter(track_dataset(d, "test", batch_size=2, shuffle=False)))   # what training reads
    np.testing.assert_array_equal(y2.numpy(), y.numpy())
    w = pd.DataFrame({"chrom": ["chrA"], "start": [5], "end": [9], "split": ["test"], "genome": ["g"],
                      "ref_start": [4], "ref_end": [8]})
    write_sequences_bed(d / "s.bed", w, extra=("genome", "ref_start", "ref_end"))
    assert (d / "s.bed").read_text() == "chrA\t5\t9\ttest\tg\t4\t8\n"
    assert read_sequences_bed(d / "s.bed").columns.tolist() == ["chrom", "start", "end", "split", "genome",
                                                                "ref_start", "ref_end"]
    (d / "s.bed").write_text("chrA\t5\t9\ttest\tg\t4\n")
    with pytest.raises(YeastzoiError, match="expected 4, 5 or 7 tab-separated columns"):
        read_sequences_bed(d / "s.bed")


def test_inside_labelled_drops_straddling_windows():
    from yeastzoi.data.genomes import inside_labelled
    from yeastzoi.data.windows import Contig
    labelled = [(Contig("chrA", 0, 100), "train"), (Contig("chrA", 100, 250), "test")]
    w = pd.DataFrame({"chrom": ["chrA"] * 4, "split": ["train", "test", "train", "test"],
                      "ref_start": [0, 100, 60, 150], "ref_end": [100, 250, 140, 260]})
    assert inside_labelled(w, labelled).tolist() == [True, True, False, False]


@pytest.mark.slow
def test_simulated_tracks_on_strain_folders(panel, tmp_path):
    """yeastzoi_simulate's generative tracks run on strain folders unchanged; the dataset builds."""
    from yeastzoi.data.genomes import build_genomes_track_dataset
    from yeastzoi.simulate.run import simulate_genome
    rows = []
    for name, g in GENOME_DIRS.items():
        simulate_genome(panel / g, tmp_path / f"sim_{name}", seed=0, depth=0.2, conditions=1)
        rows.append((name, str(panel / g), str(tmp_path / f"sim_{name}" / "targets.txt")))
    sheet = _sheet(tmp_path, rows)
    st = build_genomes_track_dataset(sheet, tmp_path / "d", seq_length=SEQ, crop_bp=CROP, pool_width=POOL,
                                     test_chroms="chrI", valid_chroms="chrVI")
    assert st["num_targets"] == 10 and all(v["test"] > 50 for v in st["genome_seqs"].values())
    _assert_loci_disjoint(_bed(tmp_path / "d"))
