"""Evaluation: per-track R equals a direct numpy computation, gene-level R, bad input
(masked-LM evaluation and its baselines: tests/test_eval_mlm.py)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.evaluate import (GeneSums, TrackStats, gene_exon_bins, gene_pearsonr,
                               pearsonr, r2_score, run_track_eval, summarize, track_groups)
from yeastzoi.model.params import apply_overrides, load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.coverage import untransform, write_targets
from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_sequences_bed, write_statistics

ROOT = Path(__file__).resolve().parents[1]
L, CROP, POOL = 2048, 128, 16
TLEN = (L - 2 * CROP) // POOL   # 112 bins
NT = 3
# test-window genes: (window, a, b): exons [a, b) and [b+100, b+200) bp after the window's t0
GENES = [(0, 40, 90), (0, 500, 700), (1, 16, 48), (2, 1000, 1100), (3, 300, 301), (4, 1500, 1590)]


def _cli(script):
    """main() of a bin/ script, loaded in-process (saves a TensorFlow import per call)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(script.replace(".py", ""), ROOT / "bin" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def _params(tmp, name="tiny", overrides=()):
    raw = json.loads((ROOT / "json_params" / f"{name}.json").read_text())
    base = ["model.seq_length=2048"] + (["model.trunk[6].cropping=8", f"model.head.units={NT}"]
                                        if name == "tiny" else [])
    raw = apply_overrides(raw, base + list(overrides))
    path = Path(tmp) / f"{name}_{'_'.join(o.split('=')[-1] for o in overrides)}.json"
    path.write_text(json.dumps(raw))
    return path


def _save_model(tmp, params_path, fname, num_features=None, seed=0, meta=None):
    import keras
    keras.utils.set_random_seed(seed)
    seqnn = SeqNN(load_params(params_path)["model"], num_features=num_features, meta=meta)
    out = Path(tmp) / fname
    out.parent.mkdir(parents=True, exist_ok=True)
    seqnn.save(out)
    return out, seqnn


def _track_data(tmp, model, n_test=5, n_train=2, seed=1):
    """Track data dir whose targets are the model's predictions + noise (so R is far from 0)."""
    rng = np.random.default_rng(seed)
    d = Path(tmp) / "data"
    rows, codes = [], {"train": [], "test": []}
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            c = rng.integers(0, 4, L).astype(np.uint8)
            if i == 1:
                c[100:300] = 4       # a run of N
            codes[split].append(c)
            start = (len(rows)) * (L - 2 * CROP)
            rows.append(("chrI", start, start + L, split))
    targets = pd.DataFrame({"identifier": ["t0", "t1", "t2"], "file": ["a.bw", "b.bw", "c.bw"],
                            "sum_stat": ["sum", "sum_sqrt", "mean"], "clip_soft": [np.nan, 2.0, np.nan],
                            "scale": [1.0, 0.5, 2.0], "description": ["RNA:a", "RNA:b", "CHIP:c"],
                            "group": ["", "", "ChIP"]})
    for split in ("train", "test"):
        x = np.stack([np.eye(4, dtype=np.float32)[np.minimum(c, 3)] * (c < 4)[:, None]
                      for c in codes[split]])
        p = np.asarray(model.predict(x, batch_size=4))
        y = np.abs(p + rng.normal(0, 1.0, p.shape) * p.std(axis=(0, 1)))
        y[..., 2] = rng.gamma(2.0, 1.0, y.shape[:-1])   # one track unrelated to the model
        with ShardWriter(d / "tfrecords", split, seqs_per_file=2) as w:
            for c, t in zip(codes[split], y):
                w.write(serialize_example(c, t.astype(np.float16)))
    write_targets(d / "targets.txt", targets)
    write_sequences_bed(d / "sequences.bed", pd.DataFrame(rows, columns=["chrom", "start", "end", "split"]))
    write_statistics(d / "statistics.json", {"seq_length": L, "seq_depth": 4, "seq_1hot": True,
                                             "target_length": TLEN, "num_targets": NT, "pool_width": POOL,
                                             "crop_bp": CROP, "train_seqs": n_train, "test_seqs": n_test,
                                             "num_species": 1})
    return d


def _decode_plain(data_dir, split):
    """Records decoded with plain tf.data (no yeastzoi reader): codes (N, L), targets (N, TLEN, NT)."""
    import tensorflow as tf
    files = sorted((Path(data_dir) / "tfrecords").glob(f"{split}-*.tfr"), key=lambda p: int(p.stem.split("-")[1]))
    spec = {"sequence": tf.io.FixedLenFeature([], tf.string), "target": tf.io.FixedLenFeature([], tf.string)}
    seqs, tars = [], []
    for rec in tf.data.TFRecordDataset([str(f) for f in files], compression_type="ZLIB"):
        ex = tf.io.parse_single_example(rec, spec)
        seqs.append(np.frombuffer(ex["sequence"].numpy(), np.uint8))
        tars.append(np.frombuffer(ex["target"].numpy(), np.float16).reshape(TLEN, NT).astype(np.float32))
    return np.stack(seqs), np.stack(tars)


@pytest.fixture(scope="module")
def track_setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    params = _params(tmp)
    model_path, seqnn = _save_model(tmp, params, "a/model.h5", seed=0)
    # the compared model takes species channels (like a fine-tuned LM trunk), the first does not
    model2_path, _ = _save_model(tmp, params, "b/model.h5", seed=7, num_features=7,
                                 meta={"species": ["yA", "yB"], "species_index": 1})
    data = _track_data(tmp, seqnn)
    gtf = tmp / "genes.gtf"
    # test windows: rows 2..6 → target regions [start+128, start+1920), starts 2*1792, 3*1792, ...
    t0 = [(2 + i) * (L - 2 * CROP) + CROP for i in range(5)]
    lines = []
    for k, (w, a, b) in enumerate(GENES):
        gid = f"G{k}"
        lines.append(f"chrI\tt\tgene\t{t0[w] + a + 1}\t{t0[w] + b + 200}\t.\t+\t.\tgene_id \"{gid}\";")
        lines.append(f"chrI\tt\texon\t{t0[w] + a + 1}\t{t0[w] + b}\t.\t+\t.\tgene_id \"{gid}\"; transcript_id \"{gid}.1\";")
        lines.append(f"chrI\tt\texon\t{t0[w] + b + 101}\t{t0[w] + b + 200}\t.\t+\t.\tgene_id \"{gid}\"; transcript_id \"{gid}.1\";")
    # a gene crossing a target-region edge (not evaluated) and one on an absent chromosome
    lines.append(f"chrI\tt\texon\t{t0[0] - 50}\t{t0[0] + 50}\t.\t+\t.\tgene_id \"EDGE\"; transcript_id \"E.1\";")
    lines.append("chrII\tt\texon\t100\t200\t.\t+\t.\tgene_id \"OTHER\"; transcript_id \"O.1\";")
    gtf.write_text("\n".join(lines) + "\n")
    return dict(tmp=tmp, params=params, model=model_path, model2=model2_path, data=data, gtf=gtf)


def test_eval_cli_matches_direct_numpy(track_setup):
    s = track_setup
    out = s["tmp"] / "out_cli"
    rc = _cli("yeastzoi_eval.py")([str(s["params"]), str(s["model"]), str(s["data"]), "-o", str(out),
                                   "--split", "test", "--gtf", str(s["gtf"]), "--compare", str(s["model2"]),
                                   "--labels", "ft,scratch", "--save-preds", "-q"])
    assert rc == 0
    tracks = pd.read_csv(out / "tracks.tsv", sep="\t")
    assert list(tracks.columns) == ["identifier", "description", "group", "pearsonr", "r2",
                                    "pearsonr_raw", "r2_raw"]
    assert list(tracks["group"]) == ["RNA", "RNA", "ChIP"]

    codes, y = _decode_plain(s["data"], "test")
    assert codes.shape == (5, L)
    x = (np.eye(4, dtype=np.float32)[np.minimum(codes, 3)] * (codes < 4)[..., None])
    seqnn = SeqNN.from_file(s["model"])
    p = np.asarray(seqnn.model.predict(x, verbose=0))
    pf, yf = p.reshape(-1, NT).astype(np.float64), y.reshape(-1, NT).astype(np.float64)
    for t in range(NT):
        r = np.corrcoef(pf[:, t], yf[:, t])[0, 1]
        r2 = 1 - ((yf[:, t] - pf[:, t]) ** 2).sum() / ((yf[:, t] - yf[:, t].mean()) ** 2).sum()
        assert abs(tracks["pearsonr"][t] - r) < 1e-5
        assert abs(tracks["r2"][t] - r2) < 1e-5
    assert tracks["pearsonr"][0] > 0.3 and tracks["pearsonr"][1] > 0.3   # targets derived from predictions
    from yeastzoi.coverage import read_targets
    tdf = read_targets(s["data"] / "targets.txt")
    pr = untransform(p, tdf).reshape(-1, NT).astype(np.float64)
    yr = untransform(y, tdf).reshape(-1, NT).astype(np.float64)
    for t in range(NT):
        assert abs(tracks["pearsonr_raw"][t] - np.corrcoef(pr[:, t], yr[:, t])[0, 1]) < 1e-5

    # gene level: G0..G5 evaluated, EDGE and OTHER not
    genes = pd.read_csv(out / "genes.tsv", sep="\t")
    assert list(genes["n_genes"]) == [6, 6, 6]
    gv = pd.read_csv(out / "gene_values.tsv", sep="\t")
    assert sorted(gv["gene_id"]) == [f"G{k}" for k in range(6)]
    assert list(gv["window"]) == [0, 0, 1, 2, 3, 4]
    gsum_p = np.zeros((6, NT))
    gsum_y = np.zeros((6, NT))
    for k, (w, a, b) in enumerate(GENES):
        # exons [a, b) and [b+100, b+200) relative to t0 (GTF is 1-based closed)
        bins = sorted(set(range(a // 16, (b - 1) // 16 + 1)) | set(range((b + 100) // 16, (b + 199) // 16 + 1)))
        gsum_p[k] = untransform(p[w], tdf)[bins].sum(0)
        gsum_y[k] = untransform(y[w], tdf)[bins].sum(0)
    for t in range(NT):
        expect = np.corrcoef(np.log2(1 + gsum_p[:, t]), np.log2(1 + gsum_y[:, t]))[0, 1]
        assert abs(genes["pearsonr"][t] - expect) < 1e-5

    # comparison outputs, summary, plots, predictions
    cmp_df = pd.read_csv(out / "compare.tsv", sep="\t")
    np.testing.assert_allclose(cmp_df["pearsonr_ft"], tracks["pearsonr"], atol=1e-6)
    t2 = pd.read_csv(out / "tracks_scratch.tsv", sep="\t")
    np.testing.assert_allclose(cmp_df["pearsonr_scratch"], t2["pearsonr"], atol=1e-6)
    assert not np.allclose(t2["pearsonr"], tracks["pearsonr"])
    x7 = np.concatenate([x, np.zeros(x.shape[:-1] + (1,), np.float32),
                         np.broadcast_to(np.array([0, 1], np.float32), x.shape[:-1] + (2,))], -1)
    p2 = np.asarray(SeqNN.from_file(s["model2"]).model.predict(x7, verbose=0)).reshape(-1, NT)
    for t in range(NT):
        assert abs(t2["pearsonr"][t] - np.corrcoef(p2[:, t], yf[:, t])[0, 1]) < 1e-5
    summ = pd.read_csv(out / "summary.tsv", sep="\t")
    row = summ[(summ["model"] == "ft") & (summ["group"] == "RNA")].iloc[0]
    assert row["n_tracks"] == 2
    assert abs(row["pearsonr_mean"] - tracks["pearsonr"][:2].mean()) < 1e-5
    assert abs(row["pearsonr_median"] - tracks["pearsonr"][:2].median()) < 1e-5
    assert "gene_pearsonr_mean" in summ.columns
    for png in ("violin_pearsonr.png", "violin_pearsonr_scratch.png", "violin_genes.png", "compare_pearsonr.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import h5py
    with h5py.File(out / "preds.h5") as h5:
        assert h5["preds"].shape == (5, TLEN, NT) and h5["preds"].dtype == np.float16
        np.testing.assert_allclose(h5["preds"][:].astype(np.float32), p, rtol=2e-3, atol=1e-3)
        assert list(h5["start"][:]) == [(2 + i) * (L - 2 * CROP) for i in range(5)]


def test_eval_rc_ensemble_runs(track_setup):
    s = track_setup
    out = run_track_eval(s["params"], s["model"], s["data"], s["tmp"] / "out_rc", split="train",
                         rc=True, shifts=[0, 1], plots=False)
    t = pd.read_csv(out["tracks"], sep="\t")
    assert t["pearsonr"].between(-1, 1).all() and len(t) == NT


def test_bad_inputs(track_setup, tmp_path):
    s = track_setup
    empty = tmp_path / "nodata"
    empty.mkdir()
    with pytest.raises(YeastzoiError, match="statistics.json") as e:
        run_track_eval(s["params"], s["model"], empty, tmp_path / "o")
    assert "\n" not in str(e.value)
    # wrong output length (crop 4 bins → 120 bins instead of 112)
    p_len = _params(tmp_path, overrides=["model.trunk[6].cropping=4"])
    m_len, _ = _save_model(tmp_path, p_len, "len/model.h5")
    with pytest.raises(YeastzoiError, match="output length") as e:
        run_track_eval(p_len, m_len, s["data"], tmp_path / "o")
    assert "\n" not in str(e.value)
    # wrong number of tracks
    p_nt = _params(tmp_path, overrides=["model.head.units=5"])
    m_nt, _ = _save_model(tmp_path, p_nt, "nt/model.h5")
    with pytest.raises(YeastzoiError, match="number of tracks") as e:
        run_track_eval(p_nt, m_nt, s["data"], tmp_path / "o")
    assert "\n" not in str(e.value)
    # the CLIs: one line on stderr, exit 2 (a data dir without statistics.json fails before TF loads)
    for script in ("yeastzoi_eval.py", "yeastzoi_eval_mlm.py"):
        res = subprocess.run([sys.executable, str(ROOT / "bin" / script), str(s["params"]), str(s["model"]),
                              str(empty), "-o", str(tmp_path / "o"), "-q"], capture_output=True, text=True,
                             timeout=300)
        assert res.returncode == 2
        err = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert len(err) == 1 and "statistics.json" in err[0], res.stderr[-2000:]
        assert "Traceback" not in res.stderr


# ----------------------------------------------------------------------------- statistics
def test_track_stats_streaming_matches_numpy():
    rng = np.random.default_rng(3)
    p = rng.normal(1000, 1, (7, 50, 4))          # large offset: shifted sums stay accurate
    y = p * 0.5 + rng.normal(1000, 1, p.shape)
    st = TrackStats(4)
    for i in range(7):
        st.update(p[i], y[i])
    pf, yf = p.reshape(-1, 4), y.reshape(-1, 4)
    np.testing.assert_allclose(st.pearsonr(), pearsonr(pf, yf), atol=1e-9)
    np.testing.assert_allclose(st.pearsonr(), [np.corrcoef(pf[:, t], yf[:, t])[0, 1] for t in range(4)], atol=1e-9)
    np.testing.assert_allclose(st.r2(), r2_score(yf, pf), rtol=1e-9)
    # float32 predictions nearly constant next to their mean (an untrained softplus head):
    # raw float32 sums would cancel; the shifted accumulator matches float64 numpy
    p32 = (0.69 + 1e-4 * rng.normal(size=(5, 112, 3))).astype(np.float32)
    y32 = (p32 + 1e-4 * rng.normal(size=p32.shape)).astype(np.float32)
    st32 = TrackStats(3)
    for i in range(5):
        st32.update(p32[i], y32[i])
    pf, yf = p32.reshape(-1, 3).astype(np.float64), y32.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(st32.pearsonr(), pearsonr(pf, yf), atol=1e-6)
    np.testing.assert_allclose(st32.r2(), r2_score(yf, pf), atol=1e-6)
    const = TrackStats(1)
    const.update(np.ones((5, 1)), np.arange(5.0)[:, None])
    assert np.isnan(const.pearsonr()[0])


def test_groups_and_summary():
    df = pd.DataFrame({"description": ["RNA:x", "RNA:y", "plain", "z"], "group": ["", "", "", "MNase"]})
    assert track_groups(df) == ["RNA", "RNA", "all", "MNase"]
    t = pd.DataFrame({"group": ["a", "a", "b"], "pearsonr": [0.2, 0.4, np.nan]})
    s = summarize(t, columns=("pearsonr",)).set_index("group")
    assert s.loc["a", "pearsonr_mean"] == pytest.approx(0.3)
    assert np.isnan(s.loc["b", "pearsonr_mean"])
    assert s.loc["all", "n_tracks"] == 3 and s.loc["all", "pearsonr_median"] == pytest.approx(0.3)


def test_gene_level_hand_made():
    # windows: input [start, start+2048), targets [start+128, start+1920), 16 bp bins
    windows = pd.DataFrame({"chrom": ["chrA", "chrA", "chrA"], "start": [0, 1792, 1000], "end": [2048, 3840, 3048]})
    exons = {"g1": [(160, 200), (300, 330)],     # window 0: bins 2-4 and 10-12
             "g2": [(100, 200)],                 # starts before window 0's targets: left out
             "g3": [(3700, 3720)],               # crosses window 1's target end (3712), beyond window 2: left out
             "g4": [(2008, 2024)],               # in windows 1 (centre 2816) and 2 (centre 2024) → 2, bin (2008-1128)//16 = 55
             "g5": [(2500, 2510), (2505, 2530)],  # merged-like overlap, windows 1 and 2 → 1 (centre 2816 vs 2024)
             "g6": [(10, 20)]}                   # on chrB: absent
    chrom = {g: "chrA" for g in exons}
    chrom["g6"] = "chrB"
    from yeastzoi.model.geometry import Geometry
    gb = gene_exon_bins(exons, chrom, windows, Geometry(seq_length=2048, target_length=112, pool_width=16))
    got = {r.gene_id: (r.window, list(b)) for r in gb.genes.itertuples()
           for g, b in gb.by_window[r.window] if gb.genes.gene_id[g] == r.gene_id}
    assert got["g1"] == (0, [2, 3, 4, 10, 11, 12])
    assert got["g4"] == (2, [55])
    # g5: span 2500-2530, centre 2515: |2816-2515|=301 vs |2024-2515|=491 → window 1; bins (2500-1920)//16=36 .. (2529-1920)//16=38
    assert got["g5"] == (1, [36, 37, 38])
    assert set(got) == {"g1", "g4", "g5"}
    # known values: per-window bins (112, 2 tracks); track 0 pred = truth, track 1 reversed ranks
    pred = np.zeros((3, 112, 2))
    true = np.zeros((3, 112, 2))
    pred[0, [2, 3, 4, 10, 11, 12], :] = 1.0          # g1 sums 6
    pred[2, 55, :] = 2.0                              # g4 sums 2
    pred[1, 36:39, :] = 4.0                           # g5 sums 12
    true[..., 0] = pred[..., 0]
    true[0, [2, 3, 4, 10, 11, 12], 1] = 0.5           # g1 3
    true[2, 55, 1] = 7.0                              # g4 7
    true[1, 36:39, 1] = 0.0                           # g5 0
    gs = GeneSums(gb, 2)
    for w in range(3):
        gs.update(w, pred[w], true[w])
    order = list(gb.genes["gene_id"])
    sums = dict(zip(order, gs.pred[:, 0]))
    assert sums == {"g1": 6.0, "g4": 2.0, "g5": 12.0}
    assert dict(zip(order, gs.true[:, 1])) == {"g1": 3.0, "g4": 7.0, "g5": 0.0}
    r = gene_pearsonr(gs.pred, gs.true, log_space=True)
    assert r[0] == pytest.approx(1.0)
    lp = np.log2(1 + np.array([6.0, 2.0, 12.0]))
    lt = np.log2(1 + np.array([3.0, 7.0, 0.0]))
    order_idx = [order.index(g) for g in ("g1", "g4", "g5")]
    assert r[1] == pytest.approx(np.corrcoef(lp, lt)[0, 1])
    assert r[1] == pytest.approx(-0.96112, abs=1e-4)   # by hand: Σdxdy = -3.11833, √(2.2557·4.6667) = 3.24451
    rr = gene_pearsonr(gs.pred[order_idx], gs.true[order_idx], log_space=False)
    assert rr[1] == pytest.approx(np.corrcoef([6, 2, 12], [3, 7, 0])[0, 1])


def test_fold_layout(track_setup, tmp_path):
    """--fold F: fold F is test, F+1 valid; sequences.bed rows may interleave folds."""
    from yeastzoi.evaluate.tracks import evaluate_tracks, split_records
    s = track_setup
    rng = np.random.default_rng(11)
    d = tmp_path / "folds"
    split_of = ["fold1", "fold0", "fold1", "fold2", "fold0", "fold1", "fold2"]   # bed order
    recs = {}
    for i, sp in enumerate(split_of):
        recs.setdefault(sp, []).append((i, rng.integers(0, 4, L).astype(np.uint8),
                                        rng.gamma(2.0, 1.0, (TLEN, NT)).astype(np.float16)))
    for sp, items in recs.items():
        with ShardWriter(d / "tfrecords", sp, seqs_per_file=2) as w:
            for _, c, t in items:
                w.write(serialize_example(c, t))
    rows = [("chrI", i * 5000, i * 5000 + L, sp) for i, sp in enumerate(split_of)]
    write_sequences_bed(d / "sequences.bed", pd.DataFrame(rows, columns=["chrom", "start", "end", "split"]))
    write_targets(d / "targets.txt", pd.DataFrame({"identifier": ["a", "b", "c"], "file": ["x", "y", "z"]}))
    write_statistics(d / "statistics.json", {"seq_length": L, "target_length": TLEN, "num_targets": NT,
                                             "pool_width": POOL, "crop_bp": CROP, "folds": 3})
    files, win = split_records(d, "valid", fold=0)
    assert [Path(f).name for f in files] == ["fold1-0.tfr", "fold1-1.tfr"]
    assert list(win["start"]) == [0, 10000, 25000]
    _, win = split_records(d, "train", fold=0)
    assert list(win["start"]) == [15000, 30000]
    from yeastzoi.model.loader import load_model
    seqnn = load_model(s["model"], load_params(s["params"]))
    res = evaluate_tracks(seqnn, d, "valid", fold=0, batch_size=2)
    assert res.n_seqs == 3 and res.n_bins == 3 * TLEN
    x = np.stack([np.eye(4, dtype=np.float32)[c] for _, c, _ in recs["fold1"]])
    y = np.stack([t.astype(np.float32) for _, _, t in recs["fold1"]]).reshape(-1, NT)
    p = np.asarray(seqnn.model.predict(x, verbose=0)).reshape(-1, NT)
    np.testing.assert_allclose(res.tracks["pearsonr"], [np.corrcoef(p[:, t], y[:, t])[0, 1] for t in range(NT)],
                               atol=1e-6)
    with pytest.raises(YeastzoiError, match="fold 3 out of range"):
        split_records(d, "test", fold=3)
