"""Masked-LM evaluation and its baselines: hand-computed k-mer / Markov probabilities and
weighted losses, and an end-to-end run on a tiny corpus whose numbers equal a direct
computation over the same masks."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yeastzoi import YeastzoiError
from yeastzoi.evaluate import KmerModel, MarkovModel, masked_metrics, position_weights, run_mlm_eval
from yeastzoi.model.params import apply_overrides, load_params
from yeastzoi.model.seqnn import SeqNN
from yeastzoi.data.tfrecords import ShardWriter, serialize_example, write_statistics

ROOT = Path(__file__).resolve().parents[1]
L = 2048


def _cli(script):
    """A bin/ script run in-process through yeastzoi.cli.call (its exit status; the output
    folder published on success), saving a TensorFlow import per call."""
    import importlib.util

    from yeastzoi import cli
    spec = importlib.util.spec_from_file_location(script.replace(".py", ""), ROOT / "bin" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return lambda argv: cli.call(mod.main, argv)


def _params(tmp, name="tiny_lm"):
    raw = apply_overrides(json.loads((ROOT / "json_params" / f"{name}.json").read_text()), ["model.seq_length=2048"])
    path = Path(tmp) / f"{name}.json"
    path.write_text(json.dumps(raw))
    return path


def _save_model(tmp, params_path, fname, num_features=None, seed=0):
    import keras
    keras.utils.set_random_seed(seed)
    seqnn = SeqNN(load_params(params_path)["model"], num_features=num_features)
    out = Path(tmp) / fname
    out.parent.mkdir(parents=True, exist_ok=True)
    seqnn.save(out)
    return out, seqnn


# ----------------------------------------------------------------------------- k-mer baseline
def test_kmer_hand_computed():
    """Corpus ACACA + A N C, k = 1 and 2 (see the KmerModel definition)."""
    m = KmerModel(k=2)
    m.fit_codes(np.array([0, 1, 0, 1, 0], np.uint8))
    m.fit_codes(np.array([0, 4, 1], np.uint8))        # the N is no centre and breaks contexts
    np.testing.assert_array_equal(m.count(0, 0)[0], [4, 3, 0, 0])
    t1 = m.count(0, 1)                                 # context code left·4 + right
    np.testing.assert_array_equal(t1[0], [0, 2, 0, 0])   # A_A → C twice
    np.testing.assert_array_equal(t1[5], [1, 0, 0, 0])   # C_C → A once
    assert t1.sum() == 3
    np.testing.assert_array_equal(m.count(0, 2)[5 * 16 + 0], [1, 0, 0, 0])   # AC_CA → A
    assert m.count(0, 2).sum() == 1
    p0 = np.array([5, 4, 1, 1]) / 11                   # (n + 1) / (N + 4)
    p_aa = np.array([10, 19, 2, 2]) / 33               # ([0,2,0,0] + 4·p0) / (2 + 4)
    p_cc = np.array([31, 16, 4, 4]) / 55               # ([1,0,0,0] + 4·p0) / (1 + 4)
    p_acca = np.array([179, 64, 16, 16]) / 275         # ([1,0,0,0] + 4·p_cc) / (1 + 4)
    #            0  1  2  3  4  5  6  7  8
    q = np.array([0, 1, 0, 1, 1, 2, 4, 3, 0], np.uint8)
    p = m.predict_proba(q)
    expect = [p0,        # window start
              p_aa,      # A_A (level 2 would need position -1)
              p_cc,      # C_C; level 2 (A C _ C C) unseen → stays at level 1
              p0,        # A_C unseen at level 1 → p0
              p0,        # C_G unseen
              p0,        # C_N: level 1 unavailable
              p0,        # centre N: G_T unseen
              p0,        # N_A unavailable
              p0]        # window end
    np.testing.assert_allclose(p, np.array(expect), rtol=1e-12)
    p2 = m.predict_proba(np.array([2, 0, 1, 3, 1, 0, 2], np.uint8))
    np.testing.assert_allclose(p2[3], p_acca, rtol=1e-12)   # A C _ C A: level 2 seen
    np.testing.assert_allclose(p2[2], p0, rtol=1e-12)       # G A _ T C: unseen at level 1
    # at= returns the selected rows only
    at = np.zeros(q.shape, bool)
    at[[1, 2]] = True
    np.testing.assert_allclose(m.predict_proba(q, at=at), np.array([p_aa, p_cc]), rtol=1e-12)
    # k = 1 stops at level 1; k = 0 is add-one on the composition
    m1 = KmerModel(k=1)
    m1.fit_codes(np.array([[0, 1, 0, 1, 0]], np.uint8))
    np.testing.assert_allclose(m1.predict_proba(np.array([0, 0, 0], np.uint8))[1],
                               (np.array([0, 2, 0, 0]) + 4 * np.array([4, 3, 1, 1]) / 9) / 6)
    m0 = KmerModel(k=0)
    m0.fit_codes(np.array([0, 1, 0, 1, 0], np.uint8))
    np.testing.assert_allclose(m0.predict_proba(np.array([3, 3], np.uint8)), [[4 / 9, 3 / 9, 1 / 9, 1 / 9]] * 2)
    with pytest.raises(YeastzoiError, match="0..8"):
        KmerModel(k=9)


def test_kmer_sparse_counts_equal_dense(monkeypatch):
    import yeastzoi.evaluate.baselines as B
    rng = np.random.default_rng(4)
    train = rng.integers(0, 4, (30, 400)).astype(np.uint8)
    train[3, 50:60] = 4
    query = rng.integers(0, 5, (5, 300)).astype(np.uint8)
    dense = KmerModel(3, num_species=2)
    for i in range(0, 30, 7):
        dense.fit_codes(train[i:i + 7], 0)
    monkeypatch.setattr(B, "DENSE_MAX_LEVEL", 1)
    sparse = KmerModel(3, num_species=2)
    for i in range(0, 30, 7):
        sparse.fit_codes(train[i:i + 7], 0)
    assert not sparse.counts[0][3].dense and sparse.counts[0][1].dense
    np.testing.assert_array_equal(dense.predict_proba(query), sparse.predict_proba(query))
    # a species never fitted uses the pooled counts
    np.testing.assert_array_equal(sparse.predict_proba(query, 1), dense.predict_proba(query, 0))
    np.testing.assert_allclose(dense.predict_proba(query).sum(-1), 1.0)


# ----------------------------------------------------------------------------- Markov baseline
P1 = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.2, 0.5, 0.1], [0.25, 0.25, 0.25, 0.25], [0.05, 0.05, 0.1, 0.8]])


def _chain(n, rng, P=P1):
    u = rng.random(n)
    cum = np.cumsum(P, 1)
    out = np.empty(n, np.uint8)
    s = 0
    for i in range(n):
        s = int(np.searchsorted(cum[s], u[i], side="right"))
        s = min(s, 3)
        out[i] = s
    return out


def _entropy_rate(P=P1):
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    return float(-(pi[:, None] * P * np.log(P)).sum()), pi


def test_markov_hand_computed():
    m = MarkovModel(order=1)
    m.fit_codes(np.array([0, 1, 0, 1, 0], np.uint8))
    p = m.predict_proba(np.array([2, 0, 1, 4, 1], np.uint8))
    np.testing.assert_allclose(p, [[4 / 9, 3 / 9, 1 / 9, 1 / 9],     # window start: order 0
                                   [1 / 4] * 4,                      # after G: unseen context, add-one
                                   [1 / 6, 3 / 6, 1 / 6, 1 / 6],     # after A: A→C twice
                                   [3 / 6, 1 / 6, 1 / 6, 1 / 6],     # after C: C→A twice
                                   [4 / 9, 3 / 9, 1 / 9, 1 / 9]])    # after N: order 0


def test_markov_order1_recovers_entropy():
    rng = np.random.default_rng(0)
    H, pi = _entropy_rate()
    train = _chain(200_000, rng)
    test = _chain(50_000, rng)
    m1 = MarkovModel(order=1)
    m1.fit_codes(train.reshape(100, 2000))
    probs = m1.predict_proba(test)
    ce = -np.log(probs[np.arange(test.size), test]).mean()
    assert abs(ce - H) < 0.01
    assert abs(m1.entropy_rate() - H) < 0.01
    np.testing.assert_allclose(m1._tables()[0][1], P1, atol=0.01)
    # order 0 only knows the base composition: CE ≈ entropy of π, clearly worse
    m0 = MarkovModel(order=0)
    m0.fit_codes(train)
    ce0 = -np.log(m0.predict_proba(test)[np.arange(test.size), test]).mean()
    assert abs(ce0 - float(-(pi * np.log(pi)).sum())) < 0.01 and ce0 > H + 0.1
    # a symmetric 1+1 context knows more than the preceding base alone
    k1 = KmerModel(k=1)
    k1.fit_codes(train.reshape(100, 2000))
    assert -np.log(k1.predict_proba(test)[np.arange(test.size), test]).mean() < ce - 0.01
    # back-off: position 0 has no context → order-0 probabilities; an N breaks the context
    seq = np.array([0, 1, 4, 2, 3], np.uint8)
    pp = m1.predict_proba(seq)
    np.testing.assert_allclose(pp[0], m1._tables()[0][0][0])
    np.testing.assert_allclose(pp[3], m1._tables()[0][0][0])
    np.testing.assert_allclose(pp[1], m1._tables()[0][1][0])
    np.testing.assert_allclose(pp.sum(-1), 1.0)
    with pytest.raises(YeastzoiError):
        MarkovModel(order=11)


# ----------------------------------------------------------------------------- weighted losses
def test_weighted_losses_hand_computed():
    probs = np.array([[0.5, 0.25, 0.125, 0.125],    # exon, no repeat;  true A: CE ln 2, correct
                      [0.25, 0.25, 0.25, 0.25],     # repeat, no exon;  true G: CE ln 4, wrong (argmax A)
                      [0.1, 0.2, 0.3, 0.4],         # exon and repeat;  true T: CE −ln 0.4, correct
                      [0.25, 0.5, 0.125, 0.125]])   # neither;          true A: CE ln 4, wrong
    true = np.array([0, 2, 3, 0])
    exon = np.array([1, 0, 1, 0])
    repeat = np.array([0, 1, 1, 0])
    np.testing.assert_allclose(position_weights(exon, repeat, "shorkie"), [0.1, 0.1, 0.01, 1.0])
    np.testing.assert_allclose(position_weights(exon, repeat, "exon_only"), [0.1, 1.0, 0.1, 1.0])
    r = masked_metrics(probs, true, exon, repeat)
    ln2, l04 = math.log(2), math.log(0.4)
    assert r["n_masked"] == 4
    assert r["ce"] == pytest.approx((5 * ln2 - l04) / 4) and r["ce"] == pytest.approx(1.0955067, abs=1e-7)
    assert r["accuracy"] == 0.5
    assert r["perplexity"] == pytest.approx(math.exp(r["ce"]))
    # Σ w·CE divided by the NUMBER of masked positions (4), not by Σw
    assert r["loss_shorkie"] == pytest.approx((0.1 * ln2 + 0.1 * 2 * ln2 - 0.01 * l04 + 2 * ln2) / 4)
    assert r["loss_shorkie"] == pytest.approx(0.4008504, abs=1e-7)
    assert r["loss_exon_only"] == pytest.approx((0.1 * ln2 + 2 * ln2 - 0.1 * l04 + 2 * ln2) / 4)
    assert r["loss_exon_only"] == pytest.approx(0.7333831, abs=1e-7)


# ----------------------------------------------------------------------------- end to end
def _lm_data(tmp, n_train=24, n_valid=2, n_test=4, seed=5):
    rng = np.random.default_rng(seed)
    d = Path(tmp) / "lm_data"
    rows = []
    for split, n in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        with ShardWriter(d / "tfrecords", split, seqs_per_file=8) as w:
            for i in range(n):
                sp = i % 2
                c = _chain(L, rng)
                if i == 1:
                    c[700:760] = 4                  # a run of N: never masked
                exon = np.zeros(L, np.uint8)
                exon[200:1200] = 1
                rep = np.zeros(L, np.uint8)
                rep[1500:1700] = 1                  # repeats only in intergenic sequence
                w.write(serialize_example(c, species=sp, mask=exon, repeat_mask=rep))
                rows.append((f"chr{split}{i}", 0, L, split, ["yA", "yB"][sp]))
    (d / "sequences.bed").write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    write_statistics(d / "statistics.json", {"seq_length": L, "seq_depth": 4, "seq_1hot": True,
                                             "num_species": 2, "species": ["yA", "yB"],
                                             "train_seqs": n_train, "valid_seqs": n_valid, "test_seqs": n_test})
    return d


def _decode(data, split):
    import tensorflow as tf
    from yeastzoi.data.pipeline import record_files
    from yeastzoi.data.tfrecords import parse_example
    out = []
    for rec in tf.data.TFRecordDataset(record_files(data, split), compression_type="ZLIB"):
        e = parse_example(rec, L, lm=True)
        out.append((e["sequence"].numpy(), int(e["species"]), e["mask"].numpy() > 0, e["repeat_mask"].numpy() > 0))
    return out


def test_mlm_eval_end_to_end(tmp_path):
    params = _params(tmp_path)
    model_path, seqnn = _save_model(tmp_path, params, "lm/model.h5", num_features=7)
    data = _lm_data(tmp_path)
    out = tmp_path / "out"
    rc = _cli("yeastzoi_eval_mlm.py")([str(params), str(model_path), str(data), "-o", str(out),
                                       "--markov-order", "1", "--kmer", "1", "--repeats", "2",
                                       "--split", "valid,test", "-q"])
    assert rc == 0
    t = pd.read_csv(out / "mlm_metrics.tsv", sep="\t")
    assert list(t.columns) == ["species", "split", "region", "model", "n_masked", "ce", "accuracy", "perplexity",
                               "loss_shorkie", "loss_exon_only"]
    assert list(dict.fromkeys(t["model"])) == ["lm", "markov1", "kmer1"]
    assert set(t["species"]) == {"yA", "yB", "all"} and set(t["split"]) == {"valid", "test"}
    assert set(t["region"]) == {"all", "genic", "intergenic"}
    for png in ("mlm_ce_test.png", "mlm_ce_valid.png", "mlm_ce_test_yA.png", "mlm_ce_test_yB.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    n_mask = int(0.15 * L)
    ti = t.set_index(["species", "split", "region", "model"])
    for model in ("lm", "markov1", "kmer1"):   # every model at the same positions
        assert ti.loc[("yA", "test", "all", model), "n_masked"] == 2 * 2 * n_mask     # 2 seqs × 2 repeats
        assert ti.loc[("all", "test", "all", model), "n_masked"] == 4 * 2 * n_mask
        assert ti.loc[("all", "valid", "all", model), "n_masked"] == 2 * 2 * n_mask
    assert t.groupby(["species", "split", "region"])["n_masked"].nunique().max() == 1
    np.testing.assert_allclose(t["perplexity"], np.exp(t["ce"]), rtol=1e-5)
    # genic positions weigh 0.1 under both weightings (no repeats there); intergenic weigh 1
    # under exon_only and 0.1 in repeats under shorkie
    g, ig, a = (t[t["region"] == r].set_index(["species", "split", "model"]) for r in ("genic", "intergenic", "all"))
    np.testing.assert_allclose(g["loss_shorkie"], 0.1 * g["ce"], rtol=1e-5)
    np.testing.assert_allclose(g["loss_exon_only"], 0.1 * g["ce"], rtol=1e-5)
    np.testing.assert_allclose(ig["loss_exon_only"], ig["ce"], rtol=1e-5)
    assert (ig["loss_shorkie"] < ig["ce"]).all() and (ig["loss_shorkie"] > 0.1 * ig["ce"]).all()
    np.testing.assert_allclose(a["loss_exon_only"] * a["n_masked"],
                               0.1 * g["ce"] * g["n_masked"] + ig["ce"] * ig["n_masked"], rtol=1e-5)
    # the baselines fitted on the train windows approach the chain's entropy rate; the
    # random-init LM is near uniform (ln 4), clearly worse
    H, _ = _entropy_rate()
    assert abs(ti.loc[("all", "test", "all", "markov1"), "ce"] - H) < 0.06
    assert ti.loc[("all", "test", "all", "kmer1"), "ce"] < ti.loc[("all", "test", "all", "markov1"), "ce"]
    assert ti.loc[("all", "test", "all", "lm"), "ce"] > H + 0.1
    # the summary: per split and region, the models side by side (species aggregated)
    s = json.loads((out / "mlm_summary.json").read_text())
    assert s["species"] == "all" and s["mask_seed"] == 1_000_003 and s["repeats"] == 2
    assert s["weightings"]["exon_only"]["repeat_loss_scale"] == 1.0
    assert set(s["splits"]) == {"valid", "test"} and s["splits"]["test"]["n_masked"] == 4 * 2 * n_mask
    assert set(s["splits"]["test"]["all"]) == {"lm", "markov1", "kmer1"}
    assert s["splits"]["test"]["genic"]["kmer1"]["ce"] == pytest.approx(
        ti.loc[("all", "test", "genic", "kmer1"), "ce"], abs=1e-6)
    assert s["reference"]["shorkie_r64_valid_loss_shorkie"] == 0.418

    # the baselines alone (no model) score the same masked positions
    rc = _cli("yeastzoi_eval_mlm.py")(["--baselines-only", str(data), "-o", str(tmp_path / "base"),
                                       "--markov-order", "1", "--kmer", "1", "--repeats", "2",
                                       "--split", "valid,test", "--no-plots", "-q"])
    assert rc == 0
    tb = pd.read_csv(tmp_path / "base" / "mlm_metrics.tsv", sep="\t")
    assert set(tb["model"]) == {"markov1", "kmer1"}
    pd.testing.assert_frame_equal(tb.reset_index(drop=True), t[t["model"] != "lm"].reset_index(drop=True))

    # every number equals a direct computation over the same masks (one repeat, the default seed)
    from yeastzoi.data.pipeline import lm_dataset
    from yeastzoi.evaluate import EVAL_SEED, evaluate_mlm, fit_kmer
    km = KmerModel(1, num_species=2)
    for codes, sp, _, _ in _decode(data, "train"):
        km.fit_codes(codes, sp)
    recs = _decode(data, "test")
    direct = {"lm": [], "kmer1": []}
    flags = []
    i = 0
    for x, y, w, m in lm_dataset(data, "test", batch_size=4, training=False, rc=False, seed=EVAL_SEED,
                                 shuffle=False):
        pr = seqnn.model.predict(x.numpy(), verbose=0).astype(np.float64)
        yy, sel = y.numpy(), m.numpy() > 0
        for b in range(len(yy)):
            codes, sp, exon, rep = recs[i]
            i += 1
            np.testing.assert_array_equal(codes, yy[b])
            direct["lm"].append((pr[b][sel[b]], yy[b][sel[b]]))
            direct["kmer1"].append((km.predict_proba(codes, sp)[sel[b]], yy[b][sel[b]]))
            flags.append((exon[sel[b]], rep[sel[b]]))
    exon, rep = (np.concatenate(f) for f in zip(*flags))
    t1 = evaluate_mlm(seqnn, data, ("test",), [fit_kmer(data, 1)], repeats=1).set_index(["species", "region", "model"])
    for model, pairs in direct.items():
        probs, true = (np.concatenate(v) for v in zip(*pairs))
        ref = masked_metrics(probs, true, exon, rep)
        for key in ("ce", "accuracy", "loss_shorkie", "loss_exon_only"):
            assert t1.loc[("all", "all", model), key] == pytest.approx(ref[key], abs=1e-6), (model, key)
        assert t1.loc[("all", "all", model), "n_masked"] == ref["n_masked"] == 4 * n_mask


def test_mlm_max_windows_and_bad_input(tmp_path):
    params = _params(tmp_path)
    data = _lm_data(tmp_path, n_train=2, n_valid=0, n_test=3)
    # --max-windows N: the first N windows of the split (the trainer's eval_steps_max × batch)
    run_mlm_eval(None, None, data, tmp_path / "mw", splits=("test",), markov_order=0, kmer=1, max_windows=2,
                 batch_size=4, plots=False)
    t = pd.read_csv(tmp_path / "mw" / "mlm_metrics.tsv", sep="\t").set_index(["species", "region", "model"])
    assert t.loc[("all", "all", "kmer1"), "n_masked"] == 2 * int(0.15 * L)
    assert t.loc[("yA", "all", "markov0"), "n_masked"] == t.loc[("yB", "all", "markov0"), "n_masked"] == int(0.15 * L)
    assert json.loads((tmp_path / "mw" / "mlm_summary.json").read_text())["max_windows"] == 2
    main = _cli("yeastzoi_eval_mlm.py")
    assert main([str(data), "-o", str(tmp_path / "o")]) == 2                  # one input without --baselines-only
    assert main(["--baselines-only", str(params), "m.h5", str(data), "-o", str(tmp_path / "o")]) == 2
    assert main(["--baselines-only", str(data), "-o", str(tmp_path / "o"), "--kmer", "9"]) == 2
    assert main(["--baselines-only", str(data), "-o", str(tmp_path / "o"), "--kmer", "-1",
                 "--markov-order", "-1"]) == 2
    assert main(["--baselines-only", str(data), "-o", str(tmp_path / "o"), "--split", "test,test"]) == 2
    # argument errors come before the heavy imports: one error line, no TensorFlow / Keras loaded
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('m', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); rc = m.main(sys.argv[2:]); "
            "print(rc, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code, str(ROOT / "bin" / "yeastzoi_eval_mlm.py"), "--baselines-only",
                          str(tmp_path / "nodata"), "-o", str(tmp_path / "o"), "-q"],
                         capture_output=True, text=True, timeout=120)
    assert res.stdout.split() == ["2", "False", "False"], res.stderr[-2000:]
    err = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "statistics.json" in err[0]
    # a missing split: one-line error
    with pytest.raises(YeastzoiError, match="no valid-") as e:
        run_mlm_eval(None, None, data, tmp_path / "o", splits=("valid",), markov_order=0, kmer=-1)
    assert "\n" not in str(e.value)


def test_mlm_bad_model(tmp_path):
    params = _params(tmp_path)
    model_path, _ = _save_model(tmp_path, params, "lm6/model.h5", num_features=6)   # 1 species
    data = _lm_data(tmp_path, n_train=2, n_valid=0, n_test=2)
    with pytest.raises(YeastzoiError, match="input channels") as e:
        run_mlm_eval(params, model_path, data, tmp_path / "out", markov_order=-1, kmer=-1)
    assert "\n" not in str(e.value)
