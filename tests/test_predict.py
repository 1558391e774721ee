"""Genome-wide / region / BED prediction: tiling, exact stitching, untransform, rc, errors.

Most tests use a *position model*: a plain function whose output is a known function of
the genomic position. The test FASTA spells, in every 16 bp block k of a chromosome, the
number k in base 4 (8 digits) followed by filler, so the function can read back which
genomic bin each output bin covers (track 0 = k of the bin itself, track 1 = k of the
window's first output bin, i.e. which window predicted it). N (off-chromosome) blocks
decode to -1.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.genome.dna import codes_to_seq, revcomp_onehot
from yeastzoi.genome import Genome, write_fasta
from yeastzoi.genome import parse_region
from yeastzoi.model.geometry import Geometry, tile_region
from yeastzoi.model.loader import check_agreement
from yeastzoi.model.predictor import Predictor
from yeastzoi.score.predict_files import predict_bed, predict_to_bigwig
from yeastzoi.coverage import write_targets

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bin" / "yeastzoi_predict.py"
P = 16                      # pool width
META = {"seq_length": 256, "target_length": 8, "pool_width": P, "crop_bp": 64,
        "num_features": 4, "num_targets": 2, "target_ids": ["pos", "win"], "species": None}
DIGITS = 8
# chromosome lengths: last blocks have >= 8 bases (so they decode) or are complete
CHROMS = {"chrI": 1000, "chrII": 3000, "chrIII": 40, "chrIV": 2048}


def position_seq(length):
    blocks = []
    for k in range(-(-length // P)):
        digits = [(k >> (2 * j)) & 3 for j in range(DIGITS)]
        blocks.append(codes_to_seq(np.array(digits + [0] * (P - DIGITS), np.uint8)))
    return "".join(blocks)[:length]


def decode_blocks(x):
    """x (B, S, 4) one-hot → (B, S/P) block indices (-1 where a digit is N)."""
    B, S, _ = x.shape
    blk = x.reshape(B, S // P, P, 4)[:, :, :DIGITS]
    digit = blk.argmax(-1)
    valid = blk.max(-1).min(-1) > 0
    k = (digit * (4 ** np.arange(DIGITS))).sum(-1)
    return np.where(valid, k, -1)


def position_fn(x):
    k = decode_blocks(np.asarray(x))
    off = META["crop_bp"] // P
    out = k[:, off:off + META["target_length"]].astype(np.float32)
    win = np.repeat(out[:, :1], META["target_length"], axis=1)
    return np.stack([out, win], axis=-1)


@pytest.fixture(scope="module")
def fasta(tmp_path_factory):
    d = tmp_path_factory.mktemp("fa")
    return write_fasta(d / "pos.fa", [(c, position_seq(n)) for c, n in CHROMS.items()])


def read_bw(path):
    bw = pyBigWig.open(str(path))
    try:
        return dict(bw.chroms()), {c: bw.intervals(c) or () for c in bw.chroms()}
    finally:
        bw.close()


def test_tile_region_geometry():
    geo = Geometry.from_meta(META)
    assert (geo.span, geo.offset) == (128, 64)
    ws = tile_region("chrI", 1000, 0, 1000, geo)
    assert [w.start for w in ws] == [-64 + 128 * k for k in range(8)]
    assert [w.n_bins for w in ws] == [8] * 7 + [7]
    assert [w.padded for w in ws] == [True] + [False] * 6 + [True]
    starts, ends = ws[-1].bin_bounds(geo)
    assert starts[-1] == 992 and ends[-1] == 1000
    with pytest.raises(YeastzoiError, match="not inside"):
        tile_region("chrI", 1000, 900, 1001, geo)
    with pytest.raises(YeastzoiError, match="symmetric crop"):
        Geometry.from_meta({**META, "target_length": 7, "pool_width": 5, "crop_bp": None})
    with pytest.raises(YeastzoiError, match="crop_bp 64 disagrees"):
        Geometry.from_meta({**META, "target_length": 9})


def test_genome_stitching_exact(fasta, tmp_path):
    pred = Predictor([position_fn], META, batch_size=3)
    with Genome(fasta) as g:
        res = predict_to_bigwig(pred, g, tmp_path, untransform=False)
    assert res.windows == sum(-(-(-(-n // P)) // 8) for n in CHROMS.values())
    for tid in ("pos", "win"):
        chroms, ivs = read_bw(tmp_path / f"{tid}.bw")
        assert chroms == CHROMS
        for c, n in CHROMS.items():
            a = np.array(ivs[c])
            nb = -(-n // P)
            # every bin written exactly once, contiguous, last bin clipped at the end
            assert len(a) == nb
            np.testing.assert_array_equal(a[:, 0], np.arange(nb) * P)
            np.testing.assert_array_equal(a[:, 1], np.minimum(np.arange(1, nb + 1) * P, n))
            k = np.arange(nb)
            want = k if tid == "pos" else (k // 8) * 8
            np.testing.assert_array_equal(a[:, 2], want)
    tsv = pd.read_csv(tmp_path / "tracks.tsv", sep="\t")
    assert tsv["identifier"].tolist() == ["pos", "win"]
    assert tsv["file"].tolist() == ["pos.bw", "win.bw"]
    padded = (tmp_path / "padded.bed").read_text().splitlines()
    assert "chrI\t0\t128\tpadded" in padded and "chrI\t896\t1000\tpadded" in padded
    assert "chrIII\t0\t40\tpadded" in padded
    assert "chrIV\t0\t128\tpadded" in padded and "chrIV\t1920\t2048\tpadded" in padded
    assert len(padded) == 7


def test_region_equals_window_prediction(fasta, tmp_path):
    """Bins of a region inside one window equal that window's own prediction."""
    pred = Predictor([position_fn], META)
    geo = pred.geometry
    with Genome(fasta) as g:
        predict_to_bigwig(pred, g, tmp_path, regions=[("II", 1024, 2560)], untransform=False)
        # window 3 of the region: output [1024 + 3*128, +128)
        w = tile_region("chrII", 3000, 1024, 2560, geo)[3]
        direct = position_fn(pred.encode_windows(g, [w]))[0]
    chroms, ivs = read_bw(tmp_path / "win.bw")
    assert chroms == CHROMS and ivs["chrI"] == () and ivs["chrIV"] == ()
    a = np.array(ivs["chrII"])
    assert a[0, 0] == 1024 and a[-1, 1] == 2560 and len(a) == (2560 - 1024) // P
    sel = (a[:, 0] >= w.out_start) & (a[:, 0] < w.out_start + geo.span)
    np.testing.assert_array_equal(a[sel, 2], direct[:, 1])
    assert direct[0, 1] == w.out_start // P
    bw = pyBigWig.open(str(tmp_path / "pos.bw"))
    vals = np.array(bw.values("chrII", w.out_start, w.out_start + geo.span))
    bw.close()
    np.testing.assert_array_equal(vals, np.repeat(direct[:, 0], P))


def test_several_models_mean_std_and_untransform(fasta, tmp_path):
    def plus2(x):
        return position_fn(x) + 2.0

    sheet = pd.DataFrame({"identifier": ["pos", "win"], "file": ["a.bw", "b.bw"],
                          "clip": [65504.0] * 2, "clip_soft": [np.nan, np.nan],
                          "scale": [2.0, 1.0], "sum_stat": ["sum_sqrt", "sum"],
                          "strand_pair": [0, 1], "description": ["position", "window"]})
    sheet_path = tmp_path / "targets.txt"
    write_targets(sheet_path, sheet)
    from yeastzoi.coverage import read_targets
    df = read_targets(sheet_path)
    pred = Predictor([position_fn, plus2], META)
    with Genome(fasta) as g:
        predict_to_bigwig(pred, g, tmp_path / "raw", regions=[("chrI", 0, 1000)],
                          untransform=False, std=True, tracks=["pos"])
        predict_to_bigwig(pred, g, tmp_path / "un", regions=[("chrI", 0, 1000)],
                          targets_df=df, std=True)
    k = np.arange(63, dtype=np.float64)
    a = np.array(read_bw(tmp_path / "raw" / "pos.bw")[1]["chrI"])
    np.testing.assert_allclose(a[:, 2], k + 1)
    s = np.array(read_bw(tmp_path / "raw" / "pos.std.bw")[1]["chrI"])
    np.testing.assert_allclose(s[:, 2], 1.0)
    assert not (tmp_path / "raw" / "win.bw").exists()
    tsv = pd.read_csv(tmp_path / "un" / "tracks.tsv", sep="\t")
    assert tsv["description"].tolist() == ["position", "window"]
    assert tsv["std_file"].tolist() == ["pos.std.bw", "win.std.bw"]
    # mean in model space, then untransform: sum_sqrt inverse ((1+y)^2 - 1) / scale
    u = np.array(read_bw(tmp_path / "un" / "pos.bw")[1]["chrI"])
    np.testing.assert_allclose(u[:, 2], ((1 + (k + 1)) ** 2 - 1) / 2, rtol=1e-6)
    # std across the models' untransformed predictions
    us = np.array(read_bw(tmp_path / "un" / "pos.std.bw")[1]["chrI"])
    lo, hi = ((1 + k) ** 2 - 1) / 2, ((3 + k) ** 2 - 1) / 2
    np.testing.assert_allclose(us[:, 2], (hi - lo) / 2, rtol=1e-5)


def test_bed_preds_h5(fasta, tmp_path):
    bed = pd.DataFrame({"chrom": ["chrII", "I"], "start": [256, 900], "end": [384, 1000],
                        "name": ["r1", "r2"]})
    pred = Predictor([position_fn], META)
    with Genome(fasta) as g:
        out = predict_bed(pred, g, bed, tmp_path / "preds.h5", untransform=False)
    with h5py.File(out) as h5:
        p = h5["preds"][:]
        assert p.dtype == np.float16 and p.shape == (2, 8, 2)
        assert [c.decode() for c in h5["chrom"][:]] == ["chrII", "chrI"]
        assert h5["start"][:].tolist() == [256, 900] and h5["end"][:].tolist() == [384, 1000]
        assert [n.decode() for n in h5["name"][:]] == ["r1", "r2"]
        assert [t.decode() for t in h5["target_ids"][:]] == ["pos", "win"]
        assert h5["window_start"][:].tolist() == [256, 886]
        assert h5["padded"][:].tolist() == [False, True]
        assert h5.attrs["pool_width"] == P
    np.testing.assert_array_equal(p[0, :, 0], np.arange(16, 24))
    bad = pd.DataFrame({"chrom": ["chrI"], "start": [900], "end": [1001]})
    with Genome(fasta) as g, pytest.raises(YeastzoiError, match="not inside"):
        predict_bed(pred, g, bad, tmp_path / "bad.h5", untransform=False)
    assert not (tmp_path / "bad.h5").exists()


def test_track_and_agreement_errors(fasta, tmp_path):
    pred = Predictor([position_fn], META)
    with Genome(fasta) as g:
        with pytest.raises(YeastzoiError, match="unknown track id.*nope"):
            predict_to_bigwig(pred, g, tmp_path, tracks=["nope"], untransform=False)
        with pytest.raises(YeastzoiError, match="no targets sheet"):
            predict_to_bigwig(pred, g, tmp_path)
        with pytest.raises(YeastzoiError, match="runs off chrI"):
            predict_to_bigwig(pred, g, tmp_path, regions=[("chrI", 500, 1200)], untransform=False)
        with pytest.raises(YeastzoiError, match="overlap"):
            predict_to_bigwig(pred, g, tmp_path, regions=[("chrI", 0, 500), ("chrI", 400, 600)],
                              untransform=False)
    with pytest.raises(YeastzoiError, match="target_length is 4"):
        check_agreement([META, {**META, "target_length": 4}], ["a.h5", "b.h5"])
    meta3 = {**META, "num_features": 8, "num_species": 3, "species": ["scer", "spom", "calb"]}
    # the species rule: --species, else the stored target species, else an error (never channel 0)
    assert Predictor([position_fn], meta3, species="calb").species_index == 2
    assert Predictor([position_fn], {**meta3, "species_index": 1}).species_index == 1
    with pytest.raises(YeastzoiError, match="3 species channels but its metadata names no target species"):
        Predictor([position_fn], meta3).species_index
    with pytest.raises(YeastzoiError, match="not one of the model's species"):
        Predictor([position_fn], meta3, species="human").species_index
    sp = Predictor([position_fn], meta3, species="2")
    with Genome(fasta) as g:
        x = sp.encode_windows(g, tile_region("chrI", 1000, 0, 128, sp.geometry))
    assert x.shape == (1, 256, 8) and x[0, :, 7].min() == 1 and x[0, :, 4:7].max() == 0
    assert parse_region("chrI:1,000-2,000") == ("chrI", 1000, 2000)
    with pytest.raises(YeastzoiError, match="chrom:start-end"):
        parse_region("chrI:1000")


# ----------------------------------------------------------------------------- real SeqNN
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from yeastzoi import zoo_spec
    from yeastzoi.model.params import load_params
    from yeastzoi.model.seqnn import SeqNN

    d = tmp_path_factory.mktemp("model")
    params_path = zoo_spec("tiny")
    sets = ["model.seq_length=2048", "model.trunk[6].cropping=16", "model.head.units=3"]
    params = load_params(params_path, sets)
    import keras
    keras.utils.set_random_seed(0)
    seqnn = SeqNN(params["model"], meta={"target_ids": ["p", "m", "u"]})
    path = seqnn.save(d / "model.h5")
    other = SeqNN(params["model"], meta={"target_ids": ["p", "m", "u"],
                                         "chroms": {"contig_1": 5000, "contig_2": 6000}})
    other_path = other.save(d / "other" / "model.h5")
    return params_path, sets, seqnn, path, other_path


@pytest.fixture(scope="module")
def random_fasta(tmp_path_factory):
    rng = np.random.default_rng(7)
    d = tmp_path_factory.mktemp("rfa")
    recs = [("chrI", codes_to_seq(rng.integers(0, 4, 5000).astype(np.uint8))),
            ("chrII", codes_to_seq(rng.integers(0, 4, 3000).astype(np.uint8)))]
    return write_fasta(d / "r.fa", recs)


def load_cli():
    spec = importlib.util.spec_from_file_location("yeastzoi_predict_cli", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_cli(capsys, *args):
    """Run the script's main() in this process (no second TensorFlow import)."""
    capsys.readouterr()
    from yeastzoi import cli
    rc = cli.call(load_cli().main, [str(a) for a in args])
    return rc, capsys.readouterr().err


def test_cli_is_executable():
    r = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--genome" in r.stdout and "--no-untransform" in r.stdout


def test_rc_equals_mean_of_forward_and_revcomp(tiny_model, random_fasta, tmp_path, capsys):
    params_path, sets, seqnn, path, _ = tiny_model
    sheet = pd.DataFrame({"identifier": ["p", "m", "u"], "file": ["p.bw", "m.bw", "u.bw"],
                          "strand_pair": [1, 0, 2], "description": ["plus", "minus", "both"]})
    write_targets(tmp_path / "targets.txt", sheet)
    out = tmp_path / "out"
    argv = [params_path, path, "-f", random_fasta, "--region", "chrI:0-3072", "-o", out, "--rc",
            "--targets", tmp_path / "targets.txt", "--no-untransform", "--batch", "2", "-q"]
    for s in sets:
        argv += ["--set", s]
    rc, err = run_cli(capsys, *argv)
    assert rc == 0, err
    geo = Geometry.from_meta(seqnn.meta)
    assert (geo.seq_length, geo.target_length, geo.offset) == (2048, 96, 256)
    with Genome(random_fasta) as g:
        ws = tile_region("chrI", 5000, 0, 3072, geo)
        x = Predictor(seqnn).encode_windows(g, ws)
    fwd = np.asarray(seqnn.model(x, training=False))
    rev = np.asarray(seqnn.model(revcomp_onehot(x), training=False))[:, ::-1][..., [1, 0, 2]]
    want = ((fwd + rev) / 2).reshape(-1, 3)[:3072 // 16]
    assert np.abs(fwd - rev).max() > 1e-4  # the model is not rc-symmetric by itself
    for t, tid in enumerate(["p", "m", "u"]):
        a = np.array(read_bw(out / f"{tid}.bw")[1]["chrI"])
        assert len(a) == 3072 // 16
        np.testing.assert_allclose(a[:, 2], want[:, t], rtol=1e-5, atol=1e-6)
    chroms, _ = read_bw(out / "p.bw")
    assert chroms == {"chrI": 5000, "chrII": 3000}
    tsv = pd.read_csv(out / "tracks.tsv", sep="\t")
    assert tsv["identifier"].tolist() == ["p", "m", "u"]
    assert tsv["file"].tolist() == ["p.bw", "m.bw", "u.bw"]
    # --bed: a region centred on tiling window 1 gives that window's bins (float16)
    (tmp_path / "r.bed").write_text("chrI\t2300\t2308\tw1\n")
    argv = [params_path, path, "-f", random_fasta, "--bed", tmp_path / "r.bed", "-o", out,
            "--rc", "--targets", tmp_path / "targets.txt", "--no-untransform", "-q"]
    rc, err = run_cli(capsys, *argv + [a for s in sets for a in ("--set", s)])
    assert rc == 0, err
    with h5py.File(out / "preds.h5") as h5:
        assert h5["preds"].shape == (1, 96, 3) and h5["window_start"][0] == 1536
        np.testing.assert_allclose(h5["preds"][0], ((fwd + rev) / 2)[1], rtol=2e-3, atol=1e-4)
    # a rerun into the same folder with other options leaves none of the first run's files
    assert sorted(p.name for p in out.iterdir()) == [".yeastzoi-outputs.json", "preds.h5"]


def test_cli_bad_inputs_one_line(tiny_model, random_fasta, tmp_path, capsys):
    params_path, sets, _, path, other_path = tiny_model
    base = [params_path, path, "-f", random_fasta, "-o", tmp_path / "o", "--no-untransform"]
    sets_args = [a for s in sets for a in ("--set", s)]
    cases = [
        (base + ["--region", "chrI:4000-6000"] + sets_args, "runs off chrI"),
        (base + ["--region", "chrI:0-2000", "--tracks", "p,zz"] + sets_args, "unknown track id(s) zz"),
        ([params_path, other_path, "-f", random_fasta, "-o", tmp_path / "o", "--genome",
          "--no-untransform"] + sets_args, "none of the model metadata chromosome names match"),
        ([params_path, path, "-f", random_fasta, "-o", tmp_path / "o", "--genome"] + sets_args,
         "no targets sheet"),
    ]
    for argv, msg in cases:
        rc, err = run_cli(capsys, *argv)
        assert rc == 2, (argv, err)
        lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and msg in lines[0], err
        assert err.strip().splitlines()[-1] == lines[0]
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("*.bw"))
