#!/usr/bin/env python
"""How far is the track recipe from what the SIMULATED data allow? A promoter-only ceiling.

    benchmarks/bench_promoter_ceiling.py --genome genome --sim sim -o promoter_ceiling [--seed 0]

The simulator's expression of a gene is a function of its 500 bp promoter only
(:mod:`yeastzoi.simulate.model`: motif occupancy × designed weights, plus a per-gene noise
term). This benchmark trains the smallest model with the right inductive bias for that
function — one convolution layer (128 filters × 15 bp, batch norm, ReLU) whose
activations are pooled over the promoter (max and mean), then a 64-unit layer and one output
per condition — on the
promoters of the training chromosomes' genes (valid chrXI, chrXIII, chrXV for early
stopping; test chrXII, chrXIV, chrXVI), with the simulator's per-gene log2 expression,
noise included, as the target (what a perfect RNA-seq would measure). It then scores the
truth variants by the predicted change between the REF and ALT promoters of
``truth/mpra.tsv`` and measures them with the same :func:`yeastzoi.plots.demo_truth.class_accuracy`
as ``bench_tracks.py``.

It is a diagnostic, not a yeastzoi model: it reads the simulator's own promoter definition
(TSS, strand, 500 bp), which a coverage model has to discover from 16 kb of sequence and
read coverage. Writes OUT/truth.tsv, OUT/summary.json and OUT/score_vs_truth.png.

``--library N`` adds N random promoters (bases drawn with the genome's composition) to the
training set, each labelled by the simulator's own expression function
(:func:`yeastzoi.simulate.model.promoter_content`, the designed weights of every condition,
plus Normal(0, ``expr_noise_sd``) noise): what an MPRA-scale library of measured promoters
would add to the ~3,300 training genes one genome offers.

``--examples N`` trains for exactly N examples (⌈N / 64⌉ steps of batch 64, reshuffled
repeats, no early stopping) instead of early-stopped epochs: the model's sample efficiency,
comparable with how many promoter rows a coverage-model run sees in its steps.
``--curve RUN_DIR ... -o OUT`` collects such runs' summary.json files into OUT/examples.tsv
and OUT/examples.png (sign accuracy and effect AUROC against examples seen).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

VALID = ("chrXI", "chrXIII", "chrXV")
TEST = ("chrXII", "chrXIV", "chrXVI")


def chromosome_codes(genome_dir: Path) -> dict:
    """chrom → uint8 codes (A0 C1 G2 T3 N4) of every chromosome of ``genome_dir/genome.fa``."""
    from yeastzoi.genome import Genome
    genome = Genome(genome_dir / "genome.fa")
    return {c: genome.fetch_codes(c, 0, n) for c, n in genome.chroms.items()}


def promoters(chrom_codes: dict, genes: pd.DataFrame, width: int) -> np.ndarray:
    """One-hot (G, width, 4) gene-oriented promoters (the ``width`` bp upstream of each TSS)."""
    from yeastzoi.genome.dna import codes_to_onehot
    from yeastzoi.simulate.model import promoter_codes
    return np.stack([codes_to_onehot(promoter_codes(chrom_codes[g.chrom], int(g.tss), g.strand, width))
                     for g in genes.itertuples()])


def random_library(chrom_codes: dict, n: int, width: int, conditions: int, seed: int):
    """(one-hot (n, width, 4), log2 expression (n, conditions)) of n random promoters labelled
    by the simulator's expression model (default :class:`~yeastzoi.simulate.config.SimConfig`)."""
    from yeastzoi.genome import background_from_codes
    from yeastzoi.genome.dna import codes_to_onehot
    from yeastzoi.simulate import model as sm
    from yeastzoi.simulate.config import SimConfig
    cfg = SimConfig()
    bg = background_from_codes(np.concatenate(list(chrom_codes.values())))
    ms = sm.build_motifset(cfg, bg)
    W, _ = sm.condition_weights(ms, cfg, conditions)
    rng = np.random.default_rng(seed)
    codes = rng.choice(4, size=(n, width), p=bg).astype(np.uint8)
    M = np.stack([sm.promoter_content(c, ms, cfg) for c in codes])
    return codes_to_onehot(codes), sm.expression(M, W, rng.normal(0, cfg.expr_noise_sd, n), cfg).astype(np.float32)


def build_model(width: int, outputs: int):
    """Conv1D(128 × 15 bp) + batch norm + ReLU, then each filter's maximum and mean over the
    promoter (site presence and site count), a 64-unit layer and one output per condition."""
    import keras
    x = keras.Input((width, 4))
    h = keras.layers.Conv1D(128, 15, padding="same")(x)
    h = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(h))
    h = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling1D()(h), keras.layers.GlobalAveragePooling1D()(h)])
    h = keras.layers.Dense(64, activation="relu")(h)
    model = keras.Model(x, keras.layers.Dense(outputs)(h))
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def variant_frame(sim: Path, predict, conditions: list) -> pd.DataFrame:
    """Truth rows (:func:`yeastzoi.plots.demo_truth.truth_rows`) scored by the predicted
    LFC = f(ALT promoter) − f(REF promoter) of each condition (promoters from truth/mpra.tsv);
    ``conditions``: the condition of each output column of ``predict``."""
    from yeastzoi.genome.dna import codes_to_onehot, seq_to_codes
    from yeastzoi.plots.demo_truth import truth_rows
    mpra = pd.read_csv(sim / "truth" / "mpra.tsv", sep="\t").drop_duplicates(["variant_id", "allele"])
    seqs = mpra.pivot(index="variant_id", columns="allele", values="sequence")
    onehot = lambda s: np.stack([codes_to_onehot(seq_to_codes(x)) for x in s])
    delta = predict(onehot(seqs["alt"])) - predict(onehot(seqs["ref"]))   # (V, C)
    index, column = {v: i for i, v in enumerate(seqs.index)}, {c: i for i, c in enumerate(conditions)}
    return truth_rows(sim / "truth" / "variants.vcf",
                      lambda v, ci, cond: delta[index[v.id], column[cond]] if v.id in index else None)


def curve(run_dirs: list, out: Path) -> None:
    """Sample-efficiency table and plot of ``--examples`` runs (their summary.json files)."""
    import matplotlib.pyplot as plt
    from yeastzoi.fileio import save_figure
    rows = []
    for d in run_dirs:
        s = json.loads((Path(d) / "summary.json").read_text())
        rows.append({"run": Path(d).name, "seed": s["seed"], "library": s["library"], "examples": s["examples"],
                     "test_expression_r": s["test_expression_r"],
                     "sign_accuracy": s["sign_accuracy_disrupt_create_basal"],
                     "effect_auroc": s["effect_auroc_disrupt_create_basal"]})
    table = pd.DataFrame(rows).sort_values(["library", "seed", "examples"])
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "examples.tsv", sep="\t", index=False, float_format="%.4f")
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for (col, goal), color in zip((("sign_accuracy", 0.9), ("effect_auroc", 0.85)), ("C0", "C1")):
        for (seed, t), style in zip(table.groupby("seed"), ("-", "--", ":")):
            ax.plot(t["examples"], t[col], style, color=color, marker="o", label=f"{col.replace('_', ' ')}, seed {seed}")
        ax.axhline(goal, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("training examples seen (promoter-only model, SIMULATED)")
    ax.set_ylabel("disrupt + create variants, basal")
    ax.legend(fontsize=8)
    save_figure(fig, out / "examples.png")
    print(table.to_string(index=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genome", type=Path)
    ap.add_argument("--sim", type=Path)
    ap.add_argument("-o", "--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=500, help="promoter bp (the simulator's promoter_bp)")
    ap.add_argument("--library", type=int, default=0, help="random labelled promoters added to training [0]")
    ap.add_argument("--examples", type=int, default=0, help="train on exactly N examples (no early stopping)")
    ap.add_argument("--curve", nargs="+", type=Path, help="collect these --examples runs into OUT (no training)")
    a = ap.parse_args(argv)
    if a.curve:
        return curve(a.curve, a.out)
    if not (a.genome and a.sim):
        ap.error("--genome and --sim are required to train")
    import keras
    from scipy.stats import pearsonr
    from yeastzoi.fileio import write_json_atomic
    from yeastzoi.plots.demo_truth import class_accuracy, plot_score_vs_truth
    keras.utils.set_random_seed(a.seed)
    genes = pd.read_csv(a.sim / "truth" / "genes.tsv", sep="\t")
    expr_cols = [c for c in genes.columns if c.startswith("expr_")]
    chrom_codes = chromosome_codes(a.genome)
    X, Y = promoters(chrom_codes, genes, a.width), genes[expr_cols].to_numpy(np.float32)
    split = np.where(genes["chrom"].isin(TEST), "test", np.where(genes["chrom"].isin(VALID), "valid", "train"))
    Xtr, Ytr = X[split == "train"], Y[split == "train"]
    if a.library:
        Xl, Yl = random_library(chrom_codes, a.library, a.width, len(expr_cols), a.seed)
        Xtr, Ytr = np.concatenate([Xtr, Xl]), np.concatenate([Ytr, Yl])
    model = build_model(a.width, len(expr_cols))
    if a.examples:
        import tensorflow as tf
        steps = -(-a.examples // 64)
        ds = (tf.data.Dataset.from_tensor_slices((Xtr, Ytr)).shuffle(len(Xtr), seed=a.seed).repeat()
              .batch(64))
        per_epoch = min(steps, 250)
        hist = model.fit(ds, steps_per_epoch=per_epoch, epochs=-(-steps // per_epoch), verbose=0)
    else:
        stop = keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True)
        hist = model.fit(Xtr, Ytr, batch_size=64, epochs=150, verbose=0,
                         validation_data=(X[split == "valid"], Y[split == "valid"]), callbacks=[stop])
    predict = lambda x: model.predict(x, batch_size=256, verbose=0)
    test = split == "test"
    motif_part = (genes[expr_cols].to_numpy() - genes[["noise"]].to_numpy())[test]
    pred_test = predict(X[test])
    frame = variant_frame(a.sim, predict, [c.replace("expr_", "") for c in expr_cols])
    truth = class_accuracy(frame, test_chroms=list(TEST))
    a.out.mkdir(parents=True, exist_ok=True)
    truth.to_csv(a.out / "truth.tsv", sep="\t", index=False, float_format="%.4f")
    goal = truth[(truth["variants"] == "disrupt+create") & (truth["condition"] == "basal")].iloc[0]
    summary = {"SIMULATED": True, "seed": a.seed, "epochs": len(hist.history["loss"]), "library": a.library,
               "examples": a.examples or len(hist.history["loss"]) * len(Xtr),
               "genes": {s: int((split == s).sum()) for s in ("train", "valid", "test")},
               "test_expression_r": float(pearsonr(pred_test[:, 0], Y[test, 0])[0]),
               "test_motif_part_r": float(pearsonr(pred_test[:, 0], motif_part[:, 0])[0]),
               "sign_accuracy_disrupt_create_basal": float(goal["sign_accuracy"]),
               "effect_auroc_disrupt_create_basal": float(goal["effect_auroc"])}
    write_json_atomic(a.out / "summary.json", summary)
    plot_score_vs_truth(frame[frame["condition"] == "basal"], a.out / "score_vs_truth.png",
                        ylabel="predicted LFC (promoter-only ceiling model)")
    print(json.dumps(summary, indent=1))
    print(truth[truth["condition"] == "basal"].to_string(index=False))


if __name__ == "__main__":
    main()
